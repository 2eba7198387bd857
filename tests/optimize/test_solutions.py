"""Every run returns its solution: the best sampled bitstring, its cut on the graph, and a 1-flip polish."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid.oracle_factory import make_oracle
from hybrid.optimize import optimize_graph
from hybrid.problems import MaxCutProblem, ProblemError, erdos_renyi, regular_graph
from hybrid.solutions import SOLUTION_SHOTS, assignment, cut_value, from_samples, polish, solve

SEED = 11
P = 1
SHOTS = 300
TOL = 1e-9


def brute_cut(problem: MaxCutProblem, bits: str) -> float:
    """The cut straight from the edge list (the reference for cut_value)."""
    return sum(w for u, v, w in problem.edges if bits[u] != bits[v])


@pytest.fixture(scope="module")
def problem():
    return regular_graph(8, 3, seed=SEED, id="r8").with_max_cut()


def weighted_graph(n: int, seed: int) -> MaxCutProblem:
    rng = np.random.default_rng(seed)
    edges = [(u, v, float(rng.uniform(0.1, 2.0))) for u, v in itertools.combinations(range(n), 2) if rng.random() < 0.6]
    return MaxCutProblem(n, tuple(edges) or ((0, 1, 1.0),)).with_max_cut()


def test_cut_value_matches_the_edge_list_on_every_bitstring(problem):
    for key in range(2**problem.n):
        bits = "".join(str((key >> i) & 1) for i in range(problem.n))
        assert cut_value(problem, bits) == pytest.approx(brute_cut(problem, bits), abs=TOL)
    assert max(cut_value(problem, "".join(b)) for b in itertools.product("01", repeat=problem.n)) == problem.max_cut


def test_cut_value_rejects_a_bitstring_of_the_wrong_length(problem):
    with pytest.raises(ProblemError, match="must have 8 characters"):
        cut_value(problem, "0101")


@settings(max_examples=30, deadline=None)
@given(st.integers(3, 9), st.integers(0, 10_000), st.data())
def test_polish_never_lowers_the_cut_and_ends_at_a_1flip_optimum(n, seed, data):
    pr = weighted_graph(n, seed)
    bits = data.draw(st.text(alphabet="01", min_size=n, max_size=n))
    out, cut = polish(pr, bits)
    assert cut >= cut_value(pr, bits) - TOL
    assert cut == pytest.approx(brute_cut(pr, out), abs=TOL)
    for i in range(n):  # no single flip improves the polished cut
        flipped = out[:i] + ("1" if out[i] == "0" else "0") + out[i + 1:]
        assert cut_value(pr, flipped) <= cut + TOL


def test_from_samples_takes_the_best_and_reports_the_polish_gain_separately(problem):
    worst = "0" * problem.n  # cut 0: polishing it must gain
    sol = from_samples(problem, [worst], shots=1, source="test")
    assert sol.best_cut == 0 and sol.polished_cut > 0
    assert sol.polish_gain == pytest.approx(sol.polished_cut - sol.best_cut)
    assert sol.assignment == assignment(worst) == {str(i): 0 for i in range(problem.n)}
    assert sol.best_known_cut == problem.max_cut and sol.best_known_source == "exact"
    assert sol.ratio == 0 and sol.polished_ratio == pytest.approx(sol.polished_cut / problem.max_cut)


@pytest.mark.parametrize("target, nodes", [
    ("ideal", 8),
    ("fake:manila", 4),  # the exact noisy density matrix; a 5-qubit device keeps it fast
    pytest.param("fake:torino", 8, marks=pytest.mark.slow),  # layout search on 133 qubits: tens of seconds
])
def test_exact_modes_sample_the_exact_final_state(target, nodes):
    problem = regular_graph(nodes, 3, seed=SEED).with_max_cut()
    oracle = make_oracle(problem, P, target)
    sol = solve(problem, P, oracle, np.array([0.6, 0.39]), seed=SEED)
    assert sol.solution_shots == SOLUTION_SHOTS and "exact final state" in sol.solution_source
    assert target.split(":")[0] in sol.solution_source
    assert sol.best_cut == pytest.approx(brute_cut(problem, sol.best_bitstring), abs=TOL)
    assert sol.best_cut == problem.max_cut  # 1024 shots of a p = 1 state on <= 8 nodes hit the optimum
    assert sol.polished_cut >= sol.best_cut


def test_every_run_reports_its_solution_checked_against_the_graph():
    pr = erdos_renyi(7, 0.5, seed=SEED, weights="uniform:0.5,1.5", id="w7").with_max_cut()
    for target, shots in (("ideal", None), ("aer", SHOTS)):
        oracle = make_oracle(pr, P, target, shots=shots, gradient="fd" if shots else None)
        res = optimize_graph(pr, oracle, p=P, init="fixed", optimizer="adam:3", seed=SEED, target=target)
        sol = res.solution
        assert res.best_bitstring == sol["best_bitstring"] and res.best_cut == sol["best_cut"]
        assert sol["best_cut"] == pytest.approx(brute_cut(pr, sol["best_bitstring"]), abs=TOL)
        assert sol["polished_cut"] == pytest.approx(brute_cut(pr, sol["polished_bitstring"]), abs=TOL)
        assert sol["polished_cut"] >= sol["best_cut"] and sol["best_known_cut"] == pr.max_cut
        assert sol["best_cut"] <= pr.max_cut + TOL
        summary = res.summary()
        assert summary["polished_cut"] == sol["polished_cut"] and summary["best_known_source"] == "exact"
        if shots:  # the run's own shots: no extra sampling
            assert sol["solution_shots"] == res.shots and "measurements" in sol["solution_source"]


def test_samples_beyond_the_statevector_come_from_a_capped_mps_and_name_the_cap():
    from hybrid.solutions import SOLUTION_MAX_BOND, STATEVECTOR_SAMPLE_MAX_NODES, cut_value, exact_counts, key_to_bitstring

    problem = regular_graph(STATEVECTOR_SAMPLE_MAX_NODES + 6, 3, seed=1).with_max_cut()
    counts, how = exact_counts(problem, 2, None, [0.4, 0.3, 0.5, 0.2], 64, seed=0)
    assert sum(counts.values()) == 64 and f"bond dimension <= {SOLUTION_MAX_BOND}" in how
    cuts = [cut_value(problem, key_to_bitstring(int(k), problem.n)) for k in counts]
    assert max(cuts) <= problem.max_cut
