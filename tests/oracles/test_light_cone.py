"""The exact light-cone oracle: agreement with the statevector, cone caching, errors."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from hybrid.oracle_factory import make_oracle
from hybrid.oracles import IdealOracle, P1ClosedForm, ideal_oracle
from hybrid.oracles import LightConeError, LightConeOracle, edge_light_cone
from hybrid.oracles.light_cone import _isomorphic, cone_sizes
from hybrid.problems import ProblemError, from_edges, from_networkx, paper_graph, regular_graph

SEED = 11
#: Light cone vs statevector (both exact, float64).
EXACT_TOL = 1e-9
#: Parameter points per comparison.
POINTS = 3


def _compare(problem, p, rng):
    theta = torch.tensor(rng.uniform(-1.2, 1.2, (POINTS, 2 * p)))
    ref = IdealOracle(problem, p).expectation(theta)
    cone = LightConeOracle(problem, p).expectation(theta)
    return float((ref - cone).abs().max())


@pytest.mark.parametrize(
    "problem,p",
    [
        (regular_graph(12, 3, seed=1), 1),
        (regular_graph(12, 3, seed=1), 2),
        (regular_graph(16, 3, seed=2), 3),
        (paper_graph(10, 4, seed=3, weights="uniform:0.2,1.5"), 2),
        (paper_graph(12, 3, seed=4, weights="integer:4"), 3),
        (from_edges([(i, (i + 1) % 14) for i in range(14)]), 3),
    ],
)
def test_light_cone_matches_statevector(problem, p):
    assert _compare(problem, p, np.random.default_rng(SEED)) <= EXACT_TOL


def test_light_cone_gradient_matches_statevector():
    problem = paper_graph(11, 4, seed=5, weights="uniform:0.3,1.2")
    theta = np.random.default_rng(SEED).uniform(-1, 1, 4)
    v_ref, g_ref, _ = IdealOracle(problem, 2).value_and_grad(theta)
    v, g, ev = LightConeOracle(problem, 2).value_and_grad(theta)
    assert abs(v - v_ref) <= EXACT_TOL
    assert np.max(np.abs(g - g_ref)) <= EXACT_TOL
    assert ev.energies.shape == (1,)


def test_light_cone_matches_closed_form_at_scale():
    problem = regular_graph(200, 3, seed=6, weights="uniform:0.5,1.5")
    theta = torch.tensor([[0.4, 0.3], [-0.9, 0.1]], dtype=torch.float64)
    diff = LightConeOracle(problem, 1).expectation(theta) - P1ClosedForm(problem).expectation(theta)
    assert float(diff.abs().max()) <= EXACT_TOL


def test_cycle_has_one_cone_class():
    ring = from_edges([(i, (i + 1) % 40) for i in range(40)])
    oracle = LightConeOracle(ring, 2)
    assert oracle.num_classes == 1
    assert oracle.classes[0].count == 40 and oracle.classes[0].num_qubits == 6


def test_weights_split_cone_classes():
    edges = [(i, (i + 1) % 40, 1.0 if i % 2 else 2.0) for i in range(40)]
    oracle = LightConeOracle(from_edges(edges), 1)
    # two classes: the edge of weight 1 between weight-2 edges, and the reverse
    assert oracle.num_classes == 2
    assert sorted(c.count for c in oracle.classes) == [20, 20]
    assert sorted(c.weight for c in oracle.classes) == [20.0, 40.0]


def test_three_regular_cones_are_few():
    problem = regular_graph(400, 3, seed=7)
    oracle = LightConeOracle(problem, 2)
    assert sum(c.count for c in oracle.classes) == problem.m
    assert oracle.num_classes <= 12
    assert oracle.largest_cone == 14


def test_exact_check_separates_what_refinement_cannot():
    hexagon = [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (3, 4, 1.0), (4, 5, 1.0), (0, 5, 1.0)]
    triangles = [(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0), (3, 4, 1.0), (4, 5, 1.0), (3, 5, 1.0)]
    same = [0] * 6  # colour refinement gives every node the same colour in both
    assert not _isomorphic(6, hexagon, same, triangles, same)
    relabelled = [(0, 1, 1.0), (1, 3, 1.0), (3, 2, 1.0), (2, 5, 1.0), (5, 4, 1.0), (0, 4, 1.0)]
    assert _isomorphic(6, hexagon, same, [(min(a, b), max(a, b), w) for a, b, w in relabelled], same)


def test_edge_light_cone_drops_boundary_edges():
    ring = from_edges([(i, (i + 1) % 10) for i in range(10)] + [(2, 8)])
    nodes, edges, dist = edge_light_cone(ring, 0, 1, 1)
    assert nodes[:2] == (0, 1) and set(nodes[2:]) == {2, 9}
    assert dist == (0, 0, 1, 1)
    # (2, 8) and (8, 9) leave the ball; no edge joins the two distance-1 nodes
    assert len(edges) == 3
    with pytest.raises(ProblemError, match=r"\(0, 5\) is not an edge"):
        edge_light_cone(ring, 0, 5, 1)


def test_too_large_cone_is_refused_with_edge_and_alternative():
    problem = regular_graph(60, 3, seed=8)
    assert cone_sizes(problem, 3).max() > 24
    with pytest.raises(LightConeError, match=r"edge \(\d+, \d+\) has a light cone of \d+ qubits at p=3.*p <= 2 fits.*shots"):
        LightConeOracle(problem, 3)
    with pytest.raises(LightConeError, match="max_cone_qubits=10"):
        LightConeOracle(problem, 2, max_cone_qubits=10)
    with pytest.raises(ProblemError, match="max_cone_qubits must be an integer in"):
        LightConeOracle(problem, 1, max_cone_qubits=40)


def test_ideal_oracle_picks_light_cones_beyond_the_statevector():
    big = regular_graph(40, 3, seed=9)
    assert isinstance(ideal_oracle(big, 2), LightConeOracle)
    assert isinstance(make_oracle(big, 2, "ideal"), LightConeOracle)
    assert isinstance(ideal_oracle(big, 1), P1ClosedForm)
    assert isinstance(ideal_oracle(regular_graph(10, 3, seed=9), 2), IdealOracle)


def test_heavy_hex_cone_sizes_at_depth():
    hexes = nx.hexagonal_lattice_graph(4, 4)
    heavy = nx.Graph()
    index = {x: i for i, x in enumerate(sorted(hexes.nodes))}
    k = len(index)
    for a, b in hexes.edges:
        heavy.add_edge(index[a], k)
        heavy.add_edge(k, index[b])
        k += 1
    problem = from_networkx(heavy)
    assert [int(cone_sizes(problem, p).max()) for p in (1, 2, 3)] == [5, 9, 15]


def test_a_budgeted_run_on_a_graph_beyond_the_statevector():
    """The light-cone oracle is charged like the statevector: a run stays inside its budget."""
    from hybrid.optimize import optimize_graph

    problem = regular_graph(40, 3, seed=0).with_max_cut()
    oracle = ideal_oracle(problem, 2)
    assert isinstance(oracle, LightConeOracle)
    assert oracle.charge("value_and_grad", 1).evaluations == 1 + 4 * 2
    res = optimize_graph(problem, oracle, p=2, init="fixed", optimizer="cobyla:20", max_evaluations=6, seed=0)
    assert res.evaluations == 6 and res.ideal_ar_final >= res.ideal_ar_init


def test_run_validation_plans_light_cones_and_noisy_cones_at_device_scale(tmp_path):
    """Device-scale runs are estimated by the oracle they will use, not refused as statevectors."""
    from hybrid.problems import save_graphs
    from hybrid.runs import RunConfig
    from hybrid.validation import InputError, validate_run_config

    def cfg(graphs, backend, p):
        return RunConfig(graphs=graphs, backend=backend, init="fixed", p=p, optimizer="cobyla:2", out=str(tmp_path / "o"))

    _, problems, _, est = validate_run_config(cfg("heavyhex:torino", "ideal", 2))
    assert problems[0].n == 129 and est.method == "exact light cones" and est.memory_bytes < 2**30
    _, _, _, est = validate_run_config(cfg("heavyhex:torino", "fake:torino", 1))
    assert est.method == "noisy light cones" and est.memory_bytes < 2**30
    big = save_graphs([regular_graph(200, 3, seed=0).with_max_cut()], tmp_path / "r200.json")
    with pytest.raises(InputError, match=r"--p 3: graph .* has a 3\d-qubit light cone.*use --p 1"):
        validate_run_config(cfg(str(big), "ideal", 3))
