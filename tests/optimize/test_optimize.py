"""Phase I + Phase II on one graph: exact budgets, the best point, the one gradient loop."""

import numpy as np
import pytest

from hybrid.oracle_factory import make_oracle
from hybrid.oracles import Charge, Evaluation
from hybrid.optimize import (
    BudgetError,
    ascend,
    descend,
    optimize_graph,
)
from hybrid.problems import regular_graph

SEED = 7
P = 1
SHOTS = 200
#: Evaluations of one exact gradient: value + central differences in 2p parameters.
GRAD_POINTS = 1 + 4 * P


@pytest.fixture(scope="module")
def problem():
    return regular_graph(8, 3, seed=SEED).with_max_cut()


@pytest.mark.parametrize("optimizer", ["adam:8", "sgd:8", "spsa:8", "cobyla:8"])
def test_every_optimizer_improves_from_a_poor_start(problem, optimizer):
    oracle = make_oracle(problem, P, "ideal")
    res = optimize_graph(problem, oracle, p=P, init="tqa:0.2", optimizer=optimizer, seed=SEED)
    assert res.ideal_ar_final > res.ideal_ar_init + 1e-3, optimizer
    assert res.ar_final == pytest.approx(res.ideal_ar_final, abs=1e-12)  # exact target: best value is exact


@pytest.mark.parametrize("budget", [1, 5, 7, 12, 23])
@pytest.mark.parametrize("optimizer", ["adam:50", "spsa:50", "cobyla:50"])
def test_max_evaluations_is_never_exceeded_exact(problem, optimizer, budget):
    oracle = make_oracle(problem, P, "ideal")
    res = optimize_graph(problem, oracle, p=P, init="tqa:0.2", optimizer=optimizer, max_evaluations=budget,
                         tol=0.0, seed=SEED)
    assert res.evaluations <= budget
    # the run uses the budget up to less than one more call
    largest_call = GRAD_POINTS if optimizer.startswith("adam") else 2
    assert res.evaluations > budget - largest_call


@pytest.mark.parametrize("optimizer", ["adam:50", "spsa:50", "cobyla:50"])
def test_max_shots_and_evaluations_are_exact_with_shots(problem, optimizer):
    oracle = make_oracle(problem, P, "aer", shots=SHOTS, gradient="fd")
    res = optimize_graph(problem, oracle, p=P, init="fixed", optimizer=optimizer, max_evaluations=11,
                         max_shots=2000, seed=SEED)
    assert res.evaluations <= 11 and res.shots <= 2000
    assert res.shots == SHOTS * res.evaluations
    phases = [h["phase"] for h in res.history]
    assert phases[-1] == "final"  # the best point re-measured, inside the budget


def test_sampled_run_returns_the_remeasured_best_point(problem):
    oracle = make_oracle(problem, P, "aer", shots=SHOTS)
    res = optimize_graph(problem, oracle, p=P, init="fixed", optimizer="spsa:6", seed=SEED)
    select, final = res.history[-2], res.history[-1]
    assert (select["phase"], final["phase"]) == ("select", "final")
    fresh = [row["fresh"] for row in res.selection["candidates"]]
    chosen = res.selection["candidates"][int(np.argmax(fresh))]["params"]
    assert res.final_params == chosen == res.best_params  # picked by the fresh values
    points = final.get("points") or [final["params"]]
    assert res.ar_init == pytest.approx(final["energies"][0] / problem.max_cut)  # the start, re-measured
    assert res.ar_final == pytest.approx(final["energies"][len(points) - 1] / problem.max_cut)
    assert points[-1] == res.final_params


def test_best_point_not_last_point(problem):
    """Adam with a far too large rate leaves the (near-optimal) fixed-angle start: the start is reported."""
    oracle = make_oracle(problem, P, "ideal")
    res = optimize_graph(problem, oracle, p=P, init="fixed", optimizer="adam:3", lr=0.5, seed=SEED)
    values = [h["energy"] for h in res.history]
    assert res.ar_final * problem.max_cut == pytest.approx(max(values))
    assert res.final_params == res.history[int(np.argmax(values))]["params"] == res.init_params
    assert res.last_params != res.final_params  # the optimiser ended elsewhere


def test_zero_budget_returns_the_start_unmeasured(problem):
    res = optimize_graph(problem, make_oracle(problem, P, "ideal"), p=P, init="fixed", optimizer="adam:5",
                         max_evaluations=0, seed=SEED)
    assert res.evaluations == 0 and res.ar_init is None and res.ar_final is None
    assert res.final_params == res.init_params
    assert res.ideal_ar_final == res.ideal_ar_init > 0.5


def test_learned_start_needs_its_phase_one_budget(problem):
    with pytest.raises(BudgetError, match="spends 10 evaluations in Phase I but max_evaluations=5"):
        optimize_graph(problem, make_oracle(problem, P, "ideal"), p=P, init="learned", optimizer="adam:5",
                       max_evaluations=5, seed=SEED)
    res = optimize_graph(problem, make_oracle(problem, P, "ideal"), p=P, init="learned", optimizer="cobyla:20",
                         max_evaluations=15, seed=SEED)
    assert res.phase1_evaluations == 10 and res.evaluations == 15
    phase1 = [h["energy"] for h in res.history if h["phase"] == "phase1"]
    assert res.ar_init * problem.max_cut == pytest.approx(max(phase1))  # Phase I hands over its best proposal


class _Overspender:
    """An oracle that runs more shots than it declares."""

    exact, method, target = False, None, None

    def __init__(self, inner):
        self.inner, self.problem, self.p = inner, inner.problem, inner.p

    def charge(self, kind, points=1):
        return Charge(points, points)  # declares 1 shot per point

    def evaluate(self, params, seed=None):
        return self.inner.evaluate(params, seed=seed)

    def value_and_grad(self, theta, seed=None):
        return self.inner.value_and_grad(theta, seed=seed)


def test_an_oracle_that_overspends_fails(problem):
    oracle = _Overspender(make_oracle(problem, P, "aer", shots=SHOTS))
    with pytest.raises(BudgetError, match="spent 200 shots on a call charged 1"):
        optimize_graph(problem, oracle, p=P, init="fixed", optimizer="cobyla:3", seed=SEED)


def test_ascend_stopping_rule_and_descend_match_by_hand():
    # f(x) = -(x - 1)^2: gradient 2 (1 - x); SGD with lr 0.25 halves the distance to 1 each step
    def vg(x):
        return -float((x[0] - 1) ** 2), np.array([2 * (1 - x[0])])

    traj = ascend(vg, [0.0], optimizer="sgd", lr=0.25, max_steps=50, tol=1e-4)
    expected = [1 - 0.5**k for k in range(traj.steps + 1)]
    assert np.allclose(traj.thetas[:, 0], expected)
    assert traj.converged and abs(traj.energies[-1] - traj.energies[-2]) <= 1e-4
    assert abs(traj.energies[-2] - traj.energies[-3]) > 1e-4  # it stopped at the first step that met the rule

    class Quadratic:
        def value_and_grad(self, theta, seed=None):
            value, grad = vg(theta)
            return value, grad, Evaluation(np.atleast_2d(theta), np.array([value]), np.zeros(1))

    again = descend(Quadratic(), [0.0], optimizer="sgd", lr=0.25, max_steps=50, tol=1e-4)
    assert np.array_equal(again.thetas, traj.thetas) and again.steps == traj.steps


def test_bad_budgets_are_named(problem):
    with pytest.raises(BudgetError, match="max_evaluations must be >= 0"):
        optimize_graph(problem, make_oracle(problem, P, "ideal"), p=P, init="fixed", max_evaluations=-1)
    with pytest.raises(BudgetError, match="max_shots must be >= 0"):
        optimize_graph(problem, make_oracle(problem, P, "ideal"), p=P, init="fixed", max_shots=-5)
