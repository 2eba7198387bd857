"""Max cut beyond brute force: Goemans-Williamson + local search, certified upper bounds."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid.maxcut import (
    BOUND_EIGENVALUE,
    BOUND_SDP,
    METHOD_GW,
    CutResult,
    best_known_cut,
    burer_monteiro,
    goemans_williamson,
    is_certified,
    local_search_max_cut,
    sdp_upper_bound,
)
from hybrid.device_graphs import heavy_hex_graph
from hybrid.optimize import ar_definition
from hybrid.problems import (
    MAX_CUT_EXACT,
    MAX_CUT_HEURISTIC,
    brute_force_max_cut,
    from_edges,
    heuristic_max_cut,
    paper_graph,
    regular_graph,
)

SEED = 2024
#: Float slack of the cut and bound comparisons.
TOL = 1e-9
#: Small graphs checked against brute force.
SMALL = [
    regular_graph(16, 3, seed=1),
    regular_graph(18, 5, seed=2, weights="integer:5"),
    paper_graph(16, 6, seed=3, weights="uniform:0.1,1.0"),
    paper_graph(14, 9, seed=4),
]


@pytest.mark.parametrize("problem", SMALL)
def test_gw_reaches_brute_force_and_bound_holds(problem):
    exact, _ = brute_force_max_cut(problem)
    found = goemans_williamson(problem, seed=SEED)
    assert found.method == METHOD_GW
    assert abs(found.value - exact) <= TOL * max(1.0, exact)  # small graphs: optimum found
    assert found.upper_bound >= exact - TOL
    assert found.sdp_value >= exact - 1e-6
    sides = np.array(found.sides)
    assert sum(w for u, v, w in problem.edges if sides[u] != sides[v]) == pytest.approx(found.value)


@pytest.mark.parametrize("problem", SMALL)
def test_eigenvalue_bound_is_weaker_but_valid(problem):
    exact, _ = brute_force_max_cut(problem)
    eig, method = sdp_upper_bound(problem, None)
    v, _ = burer_monteiro(problem, seed=SEED)
    sdp, sdp_method = sdp_upper_bound(problem, v)
    assert (method, sdp_method) == (BOUND_EIGENVALUE, BOUND_SDP)
    assert eig >= sdp - 1e-6 >= exact - 1e-6


def test_odd_cycle_bound_is_not_certified():
    ring = from_edges([(i, (i + 1) % 9) for i in range(9)])
    found = best_known_cut(ring, seed=SEED)
    assert found.value == 8.0
    assert found.upper_bound > 8.0 and not is_certified(found)


def test_bipartite_device_graph_is_certified_exact():
    problem = heavy_hex_graph("torino", weights="uniform:0.1,1.0").with_max_cut()
    assert problem.max_cut == pytest.approx(problem.total_weight)  # heavy-hex is bipartite
    assert problem.max_cut_source == MAX_CUT_EXACT
    assert "certified" in ar_definition(problem)


def test_large_graph_uses_heuristic_and_says_so():
    problem = regular_graph(60, 3, seed=5).with_max_cut()
    assert problem.max_cut_source == MAX_CUT_HEURISTIC
    assert problem.meta["max_cut_upper_bound"] >= problem.max_cut
    assert problem.meta["max_cut_method"] in (METHOD_GW, "local-search")
    assert ar_definition(problem).startswith("expected cut / best-known cut")
    assert local_search_max_cut(problem, restarts=4, seed=SEED).value <= problem.max_cut + TOL


def test_heuristic_max_cut_keeps_its_contract():
    problem = SMALL[0]
    value, z = heuristic_max_cut(problem, seed=SEED)
    assert value == pytest.approx(problem.cut_of(z))
    assert value <= brute_force_max_cut(problem)[0] + TOL


def test_cut_result_round_trip():
    found = goemans_williamson(SMALL[1], seed=SEED)
    assert CutResult.from_dict(found.to_dict()) == found
