"""max_qpu_seconds: every call is charged its estimated quantum seconds before it is made;
a call that would overspend is not made, and the run reports the best point it found."""

from __future__ import annotations

import numpy as np
import pytest

from backends import get_target
from backends.usage import usage_records
from hybrid.oracle_factory import make_oracle
from hybrid.selection import final_reserve
from hybrid.optimize import BudgetError, optimize_graph
from hybrid.problems import regular_graph

SEED = 3
P = 1
SHOTS = 500
#: Float slack of a sum of per-job seconds against the budget.
SUM_TOL = 1e-9


@pytest.fixture(scope="module")
def problem():
    return regular_graph(6, 3, seed=SEED).with_max_cut()


class Counter:
    """Counts the jobs a target actually runs (each ``sample`` call is one job)."""

    def __init__(self, target):
        self.jobs = 0
        inner = target.sample

        def sample(*args, **kwargs):
            self.jobs += 1
            return inner(*args, **kwargs)

        target.sample = sample  # the instance's own: capabilities and everything else untouched


def _oracle(problem, gradient="param_shift"):
    oracle = make_oracle(problem, P, get_target("fake:torino"), shots=SHOTS, gradient=gradient)
    return oracle, Counter(oracle.target)


@pytest.mark.parametrize("optimizer", ["spsa:50", "adam:50", "cobyla:50"])
def test_no_call_is_made_past_the_qpu_budget(problem, optimizer):
    oracle, counting = _oracle(problem)
    one_eval = oracle.charge("evaluate", 1).qpu_seconds
    budget = 6.5 * one_eval  # well below what 50 steps need
    res = optimize_graph(problem, oracle, p=P, init="fixed", optimizer=optimizer, max_qpu_seconds=budget, seed=SEED)
    assert res.budget_stop == "max_qpu_seconds"
    assert res.qpu_seconds <= budget + SUM_TOL
    assert counting.jobs == res.qpu_jobs == len(res.history)  # every call made is one charged job
    # the next call the optimiser wanted would have overspent: the run stopped at most one call short
    largest = max(oracle.charge("evaluate", 2).qpu_seconds, oracle.charge("value_and_grad", 1).qpu_seconds)
    _, reserve = final_reserve(oracle, None, None, free_qpu_seconds=budget)  # select + final batches
    assert reserve.qpu_seconds >= 2 * one_eval  # two jobs, each with its overhead
    assert res.qpu_seconds > budget - largest - reserve.qpu_seconds
    assert res.history[-1]["phase"] == "final"  # the best point, re-measured inside the budget
    assert res.final_params == res.best_params and res.ar_final is not None
    assert res.max_qpu_seconds == budget


def test_charges_match_what_the_target_recorded(problem):
    oracle, _ = _oracle(problem)
    charge = oracle.charge("evaluate", 3)
    ev = oracle.evaluate(np.tile([0.4, 0.3], (3, 1)), seed=SEED)
    (job,) = usage_records(ev.metadata)
    assert job.estimated_seconds == pytest.approx(charge.qpu_seconds)
    assert job.estimate.circuits == 3 and job.estimate.shots == SHOTS
    assert charge.qpu_seconds >= SHOTS * 3 * job.estimate.rep_delay_s
    grad = oracle.charge("value_and_grad", 1)
    assert grad.evaluations == oracle.gradient_rule.num_points(oracle)
    assert grad.qpu_seconds == pytest.approx(job.estimate.job_overhead_s + grad.evaluations * (
        (charge.qpu_seconds - job.estimate.job_overhead_s) / 3))


def test_a_budget_below_one_call_measures_nothing_and_says_so(problem):
    oracle, counting = _oracle(problem)
    tiny = 0.5 * oracle.charge("evaluate", 1).qpu_seconds
    res = optimize_graph(problem, oracle, p=P, init="fixed", optimizer="spsa:5", max_qpu_seconds=tiny, seed=SEED)
    assert counting.jobs == 0 and res.qpu_seconds == 0.0
    assert res.budget_stop == "max_qpu_seconds" and res.ar_final is None
    assert res.final_params == res.init_params  # the start is the answer


def test_phase_one_that_does_not_fit_names_the_qpu_budget(problem):
    oracle, counting = _oracle(problem)
    with pytest.raises(BudgetError, match="max_qpu_seconds"):
        optimize_graph(problem, oracle, p=P, init="random:4", optimizer="spsa:5",
                       max_qpu_seconds=oracle.charge("evaluate", 4).qpu_seconds, seed=SEED)  # no room for the reserve
    assert counting.jobs == 0
    with pytest.raises(BudgetError, match="max_qpu_seconds must be >= 0"):
        optimize_graph(problem, oracle, p=P, init="fixed", optimizer="spsa:5", max_qpu_seconds=-1.0, seed=SEED)


def test_exact_oracles_cost_no_qpu_seconds(problem):
    res = optimize_graph(problem, make_oracle(problem, P, "ideal"), p=P, init="fixed", optimizer="adam:3",
                         max_qpu_seconds=0.0, seed=SEED)
    assert res.qpu_seconds == 0.0 and res.budget_stop is None and res.evaluations > 0


def test_random_starts_are_measured_in_one_job(problem):
    oracle, counting = _oracle(problem)
    res = optimize_graph(problem, oracle, p=P, init="random:5", optimizer="spsa:0", seed=SEED)
    phase_one = [h for h in res.history if h["phase"] == "phase1"]
    assert len(phase_one) == 1 and len(phase_one[0]["energies"]) == 5
    # the five proposals in one job, then the selection and the final re-measurement (one job each)
    assert res.phase1_evaluations == 5 and counting.jobs == 3
    assert [h["phase"] for h in res.history] == ["phase1", "select", "final"]
    assert res.ar_init == pytest.approx(res.history[-1]["energies"][0] / problem.max_cut)  # a fresh reading
    # the same points start() evaluates one by one
    from hybrid.strategies import get_strategy

    seen = []
    get_strategy("random:5").start(problem, P, evaluate=lambda th: seen.append(th) or 0.0,
                                   seed=np.random.default_rng(SEED))
    assert np.allclose(get_strategy("random:5").proposals(problem, P, np.random.default_rng(SEED)), seen)


@pytest.mark.parametrize("optimizer", ["spsa:2", "cobyla:2", "cobyla:6", "adam:2", "spsa:0"])
def test_the_usage_plan_predicts_the_jobs_a_run_makes(problem, optimizer):
    from hybrid.usage_plan import plan_usage

    oracle, counting = _oracle(problem)
    plan = plan_usage([problem], {"0:" + str(problem.id): oracle}, p=P, init="fixed", optimizer=optimizer,
                      target_spec="fake:torino")
    res = optimize_graph(problem, oracle, p=P, init="fixed", optimizer=optimizer, seed=SEED)
    assert res.qpu_jobs == counting.jobs
    if res.stopped_early:  # an early stop spends less than planned, never more
        assert plan.jobs >= res.qpu_jobs and plan.quantum_seconds >= 0.85 * res.qpu_seconds
    else:
        assert plan.jobs == res.qpu_jobs
        assert plan.quantum_seconds == pytest.approx(res.qpu_seconds, rel=0.15)
