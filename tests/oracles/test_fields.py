"""Ideal and sampled oracles on Ising and QUBO problems (fields, offsets, negative weights):
the p = 1 closed form and the light cones against the statevector, cone sharing by field,
and shot estimates of the full objective."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from hybrid.ansatz import qaoa_circuit
from hybrid.device_graphs import heavy_hex_graph
from hybrid.oracles import IdealOracle, LightConeOracle, P1ClosedForm
from hybrid.oracles.light_cone import ConeClass, LightConeError, node_light_cone
from hybrid.oracles.objective import cvar_of_distribution
from hybrid.oracle_factory import make_oracle, objective_oracle
from hybrid.problems import MaxCutProblem, from_edges, from_networkx, regular_graph
from hybrid.problems.ising import glover_qubo, random_qubo, sk_instance

SEED = 5
#: Closed form vs statevector (float64).
CLOSED_FORM_TOL = 1e-10
#: Light cones vs statevector (float64).
EXACT_TOL = 1e-9


def ising(problem: MaxCutProblem, seed: int, *, isolated: int = 0, offset: float = 0.3) -> MaxCutProblem:
    """``problem``'s graph with random +-J weights, random fields (some zero) and an offset."""
    rng = np.random.default_rng(seed)
    edges = tuple((u, v, float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5))) for u, v, _ in problem.edges)
    n = problem.n + isolated
    h = rng.normal(size=n)
    h[rng.random(n) < 0.2] = 0.0
    return MaxCutProblem(n=n, edges=edges, fields=tuple(h), offset=offset)


def statevector_energy(problem, theta):
    circuit = qaoa_circuit(problem, len(theta) // 2, measure=False).assign_parameters(theta)
    return Statevector(circuit).expectation_value(problem.cost_operator()).real


# ---------------------------------------------------------------------------- p = 1 closed form
@pytest.mark.parametrize("make", [
    lambda: sk_instance(8, seed=1),
    lambda: random_qubo(9, seed=2),
    lambda: random_qubo(10, density=0.3, seed=3),
    lambda: glover_qubo(),
    lambda: glover_qubo().negated(),
    lambda: ising(regular_graph(10, 3, seed=4), 4, isolated=1),
])
def test_closed_form_with_fields_matches_statevector(make):
    problem = make()
    theta = torch.tensor(np.random.default_rng(SEED).uniform(-1.5, 1.5, (6, 2)))
    diff = P1ClosedForm(problem).expectation(theta) - IdealOracle(problem, 1).expectation(theta)
    assert float(diff.abs().max()) <= CLOSED_FORM_TOL


def test_closed_form_with_fields_matches_qiskit_and_has_exact_gradients():
    problem = random_qubo(7, seed=6)
    theta = np.array([0.21, -0.37])
    assert float(P1ClosedForm(problem).expectation(torch.tensor(theta))) == pytest.approx(
        statevector_energy(problem, theta), abs=CLOSED_FORM_TOL)
    v, g, _ = P1ClosedForm(problem).value_and_grad(theta)
    v_ref, g_ref, _ = IdealOracle(problem, 1).value_and_grad(theta)
    assert abs(v - v_ref) <= CLOSED_FORM_TOL and np.max(np.abs(g - g_ref)) <= 1e-9


def test_closed_form_fields_at_scale_match_light_cones():
    problem = ising(heavy_hex_graph("torino", 100, seed=1), 7)
    theta = torch.tensor([[0.4, 0.3], [-0.9, 0.1]], dtype=torch.float64)
    diff = LightConeOracle(problem, 1).expectation(theta) - P1ClosedForm(problem).expectation(theta)
    assert float(diff.abs().max()) <= EXACT_TOL


# ---------------------------------------------------------------------------- light cones
@pytest.mark.parametrize("graph,p", [
    ("heavyhex", 1), ("heavyhex", 2), ("heavyhex", 3), ("regular", 2), ("regular", 3),
])
def test_light_cones_with_fields_match_statevector(graph, p):
    base = heavy_hex_graph("torino", 18, seed=3) if graph == "heavyhex" else from_networkx(nx.random_regular_graph(3, 14, seed=2))
    problem = ising(base, p, isolated=1 if graph == "regular" else 0)
    oracle = LightConeOracle(problem, p)
    assert sum(c.root == "node" for c in oracle.classes) > 0
    theta = torch.tensor(np.random.default_rng(SEED + p).uniform(-1.2, 1.2, (3, 2 * p)))
    diff = oracle.expectation(theta) - IdealOracle(problem, p).expectation(theta)
    assert float(diff.abs().max()) <= EXACT_TOL


def test_light_cone_gradient_with_fields_matches_statevector():
    problem = ising(regular_graph(12, 3, seed=8), 8)
    theta = np.random.default_rng(SEED).uniform(-1, 1, 4)
    v_ref, g_ref, _ = IdealOracle(problem, 2).value_and_grad(theta)
    v, g, _ = LightConeOracle(problem, 2).value_and_grad(theta)
    assert abs(v - v_ref) <= EXACT_TOL and np.max(np.abs(g - g_ref)) <= EXACT_TOL


def test_cones_are_shared_only_when_the_fields_match():
    ring = [(min(i, (i + 1) % 12), max(i, (i + 1) % 12), 1.0) for i in range(12)]
    same = LightConeOracle(MaxCutProblem(n=12, edges=tuple(sorted(ring)), fields=(0.5,) * 12), 2)
    assert [(c.root, c.num_qubits, c.count) for c in same.classes] == [("node", 5, 12), ("edge", 6, 12)]
    # one different field splits the classes of the cones that reach it (within distance 1 < p)
    fields = (0.5,) * 11 + (-0.5,)
    split = LightConeOracle(MaxCutProblem(n=12, edges=tuple(sorted(ring)), fields=fields), 2)
    assert split.num_classes > same.num_classes
    assert tuple(ConeClass.from_dict(c.to_dict()) for c in split.classes) == split.classes
    theta = torch.tensor([[0.3, -0.4, 0.7, 0.2]])
    problem = MaxCutProblem(n=12, edges=tuple(sorted(ring)), fields=fields)
    assert float((split.expectation(theta) - IdealOracle(problem, 2).expectation(theta)).abs().max()) <= EXACT_TOL


def test_node_cone_drops_fields_at_distance_p():
    problem = MaxCutProblem(n=5, edges=((0, 1, 1.0), (1, 2, -1.0), (2, 3, 2.0), (3, 4, 1.0)), fields=(1, 2, 3, 4, 5))
    nodes, edges, dist, fields = node_light_cone(problem, 2, 1)
    assert nodes[0] == 2 and set(nodes) == {1, 2, 3} and dist == (0, 1, 1)
    assert fields == (3.0, 0.0, 0.0) and len(edges) == 2


@pytest.mark.parametrize("p", [1, 2])
def test_light_cones_of_dense_problems_with_an_offset_match_statevector(p):
    problem = sk_instance(9, seed=3)  # no fields, an offset, couplings of both signs
    theta = torch.tensor(np.random.default_rng(SEED).uniform(-1, 1, (2, 2 * p)))
    diff = LightConeOracle(problem, p).expectation(theta) - IdealOracle(problem, p).expectation(theta)
    assert float(diff.abs().max()) <= EXACT_TOL


def test_light_cone_refusal_with_fields():
    problem = ising(regular_graph(60, 3, seed=8), 9)
    with pytest.raises(LightConeError, match=r"edge \(\d+, \d+\) has a light cone of \d+ qubits at p=3"):
        LightConeOracle(problem, 3)


# ---------------------------------------------------------------------------- shots and CVaR
def test_sampled_values_include_fields_and_offset():
    problem = random_qubo(6, seed=9)
    theta = np.array([0.3, 0.2])
    exact = IdealOracle(problem, 1).evaluate(theta).energies[0]
    ev = make_oracle(problem, 1, "aer", shots=20000).evaluate(theta, seed=1)
    assert abs(ev.energies[0] - exact) <= 5 * ev.stderr[0] + 1e-9
    assert abs(exact - problem.total_weight / 2) > 10 * ev.stderr[0]  # fields and offset matter here


def test_cvar_uses_the_full_objective():
    problem = random_qubo(6, seed=10)
    theta = np.array([0.3, 0.2])
    probs = IdealOracle(problem, 1).probabilities(torch.tensor(theta)).numpy()
    exact = float(cvar_of_distribution(probs, problem.cut_values(), 0.2))
    assert objective_oracle(problem, 1, "ideal", objective="cvar:0.2").evaluate(theta).energies[0] == pytest.approx(exact, abs=1e-9)
    ev = objective_oracle(problem, 1, "aer", shots=20000, objective="cvar:0.2").evaluate(theta, seed=2)
    assert abs(ev.energies[0] - exact) <= 0.05 * (problem.cut_values().max() - problem.cut_values().min())


def test_counts_beyond_the_diagonal_include_fields_and_offset():
    from hybrid.oracles import counts_statistics

    problem = ising(regular_graph(30, 3, seed=11), 11, offset=-2.0)
    rng = np.random.default_rng(SEED)
    keys = [int(k) for k in rng.integers(0, 2**30, 5)]
    counts = {k: i + 1 for i, k in enumerate(keys)}
    values = np.array([problem.cut_of(k) for k in keys])
    stats = counts_statistics(problem, counts)
    assert stats["mean"] == pytest.approx(values @ np.arange(1, 6) / 15, abs=1e-9)
    assert stats["best_cut"] == pytest.approx(values.max(), abs=1e-9)
