"""The CVaR objective: on a known distribution, from counts, exactly (autograd) and in a run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybrid.oracles import counts_statistics
from hybrid.oracle_factory import make_oracle, objective_oracle
from hybrid.oracles.objective import (
    CVaRIdealOracle,
    cvar_of_distribution,
    parse_objective,
    with_objective,
)
from hybrid.optimize import optimize_graph
from hybrid.problems import ProblemError, regular_graph
from hybrid.validation import InputError, check_objective

SEED = 3
P = 1
SHOTS = 400
TOL = 1e-12
GRAD_TOL = 1e-6
FD_STEP = 1e-5
PROBS = np.array([0.5, 0.3, 0.2])
CUTS = np.array([1.0, 3.0, 2.0])


@pytest.fixture(scope="module")
def problem():
    return regular_graph(6, 3, seed=SEED, id="r6").with_max_cut()


@pytest.mark.parametrize("alpha, expected", [(0.1, 3.0), (0.3, 3.0), (0.4, (0.3 * 3 + 0.1 * 2) / 0.4), (1.0, 1.8)])
def test_cvar_of_a_known_distribution(alpha, expected):
    assert cvar_of_distribution(PROBS, CUTS, alpha) == pytest.approx(expected, abs=TOL)
    as_torch = cvar_of_distribution(torch.as_tensor(PROBS), CUTS, alpha)
    assert float(as_torch) == pytest.approx(expected, abs=TOL)


def test_cvar_from_counts_matches_the_distribution(problem):
    rng = np.random.default_rng(SEED)
    keys = rng.choice(2**problem.n, size=12, replace=False)
    freq = rng.integers(1, 50, size=12)
    counts = {int(k): int(f) for k, f in zip(keys, freq)}
    cuts = problem.cut_values()[keys]
    for alpha in (0.05, 0.25, 1.0):
        stats = counts_statistics(problem, counts, alpha)
        assert stats["cvar"] == pytest.approx(cvar_of_distribution(freq / freq.sum(), cuts, alpha), abs=1e-9)
    assert counts_statistics(problem, counts, 1.0)["cvar"] == pytest.approx(counts_statistics(problem, counts)["mean"])


def test_exact_cvar_is_at_least_the_expected_cut_and_its_gradient_is_right(problem):
    oracle = CVaRIdealOracle(problem, P, 0.2)
    theta = np.array([0.5, 0.3])
    ev = oracle.evaluate(theta)
    assert ev.energies[0] >= ev.metadata["expected_cut"][0]
    expected = make_oracle(problem, P).evaluate(theta).energies[0]
    assert ev.metadata["expected_cut"][0] == pytest.approx(expected, abs=1e-10)
    value, grad, _ = oracle.value_and_grad(theta)
    for i in range(2):
        shift = np.eye(2)[i] * FD_STEP
        fd = (oracle.evaluate(theta + shift).energies[0] - oracle.evaluate(theta - shift).energies[0]) / (2 * FD_STEP)
        assert grad[i] == pytest.approx(fd, abs=GRAD_TOL)


def test_sampled_cvar_keeps_the_expected_cut_apart(problem):
    oracle = objective_oracle(problem, P, "aer", objective="cvar:0.1", shots=SHOTS)
    assert oracle.gradient_rule.name == "fd"
    ev = oracle.evaluate(np.array([[0.5, 0.3], [0.2, 0.1]]), seed=SEED)
    assert np.all(ev.energies >= np.asarray(ev.metadata["expected_cut"]))
    assert np.all(ev.energies <= problem.max_cut)


def test_a_cvar_run_reports_objective_and_expected_cut_separately(problem):
    for target, shots in (("ideal", None), ("fake:torino", None), ("aer", SHOTS)):
        oracle = objective_oracle(problem, P, target, objective="cvar:0.25", shots=shots)
        res = optimize_graph(problem, oracle, p=P, init="fixed", optimizer="adam:3", seed=SEED, target=target,
                             objective="cvar:0.25")
        assert res.objective == "cvar:0.25"
        assert res.objective_final >= res.ar_final and res.objective_init >= res.ar_init
        assert res.ar_final <= 1.0 and res.solution["best_cut"] <= problem.max_cut


def test_objective_errors_name_the_flag_and_the_fix(problem):
    with pytest.raises(ProblemError, match="ALPHA must be in"):
        parse_objective("cvar:1.5")
    with pytest.raises(ProblemError, match="use 'expectation' or 'cvar:ALPHA'"):
        parse_objective("median")
    with pytest.raises(InputError, match="drop --mitigation"):
        check_objective("cvar:0.1", "zne+rem")
    with pytest.raises(InputError, match="use --gradient fd"):
        check_objective("cvar:0.1", "none", "param_shift")
    assert check_objective("CVaR:0.10") == "cvar:0.1" and check_objective("expectation") == "expectation"
    with pytest.raises(ProblemError, match="needs --gradient fd or spsa"):
        with_objective(make_oracle(problem, P, "aer", shots=SHOTS, cvar_alpha=0.1), "cvar:0.1")
