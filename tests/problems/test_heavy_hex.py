"""Graphs native to a device's coupling map, their specs, and the SWAP-free layout on fake devices."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from hybrid.ansatz import qaoa_circuit
from hybrid.device_graphs import device_coupling_graph, heavy_hex_graph, load_graphs
from hybrid.problems import (
    MaxCutProblem,
    ProblemError,
    heavy_hex_lattice,
    parse_heavy_hex_spec,
    physical_qubits,
)

SEED = 5
#: Sizes of the generated subgraphs checked.
SIZES = (2, 12, 60, 129)


@pytest.mark.parametrize("n", SIZES)
def test_heavy_hex_subgraph_is_connected_and_native(n):
    problem = heavy_hex_graph("torino", n, seed=SEED)
    _, coupling = device_coupling_graph("torino")
    qubits = physical_qubits(problem, "torino")
    assert problem.n == n and len(set(qubits)) == n and list(qubits) == sorted(qubits)
    assert nx.is_connected(problem.to_networkx())
    for u, v, _ in problem.edges:
        assert coupling.has_edge(qubits[u], qubits[v])
    # induced: every coupler among the chosen qubits is an edge
    assert problem.m == coupling.subgraph(qubits).number_of_edges()
    assert max(problem.degrees(weighted=False)) <= 3


def test_whole_device_and_seeds():
    whole = heavy_hex_graph("torino")
    assert (whole.n, whole.m) == (129, 139)  # the largest healthy component (backends.broken)
    a = heavy_hex_graph("fez", 40, seed=1)
    assert a == heavy_hex_graph("fez", 40, seed=1)
    assert physical_qubits(a, "fez") != physical_qubits(heavy_hex_graph("fez", 40, seed=2), "fez")
    assert physical_qubits(a, "torino") is None


def test_weighted_and_json_round_trip(tmp_path):
    problem = heavy_hex_graph("torino", 30, seed=SEED, weights="uniform:0.1,1.0")
    assert problem.is_weighted
    path = tmp_path / "g.json"
    path.write_text(json.dumps([problem.to_dict()]))
    back = load_graphs(path)[0]
    assert back.edges == problem.edges
    assert physical_qubits(back, "torino") == physical_qubits(problem, "torino")


def test_spec_parsing_and_errors():
    assert parse_heavy_hex_spec("heavyhex:torino") == {"device": "torino", "n": None, "weights": None, "seed": 0}
    spec = parse_heavy_hex_spec("heavyhex:fez:100:weighted:seed=3")
    assert spec["n"] == 100 and spec["weights"] and spec["seed"] == 3
    (g,) = load_graphs("heavyhex:torino:20")
    assert g.n == 20 and isinstance(g, MaxCutProblem)
    with pytest.raises(ProblemError, match="unknown part 'heavy'"):
        parse_heavy_hex_spec("heavyhex:torino:heavy")
    with pytest.raises(ProblemError, match=r"expected heavyhex:DEVICE"):
        parse_heavy_hex_spec("heavyhex:")
    with pytest.raises(ProblemError, match=r"n must be an integer in \[2, 129\]"):
        heavy_hex_graph("torino", 500)


def test_heavy_hex_lattice_shape():
    lattice = heavy_hex_lattice(3, 3)
    degrees = sorted(set(lattice.degrees(weighted=False)))
    assert degrees == [2.0, 3.0] or degrees == [1.0, 2.0, 3.0]
    assert nx.is_bipartite(lattice.to_networkx())


def test_circuit_carries_physical_qubits_and_fake_device_uses_them():
    from backends import get_target

    problem = heavy_hex_graph("torino", 8, seed=SEED)
    circuit = qaoa_circuit(problem, 1)
    assert circuit.metadata["physical_qubits"] == list(physical_qubits(problem, "torino"))
    comp = get_target("fake:torino").compiled(circuit)
    assert comp.initial_layout == physical_qubits(problem, "torino")
    assert comp.active == physical_qubits(problem, "torino")
    assert comp.two_qubit_gates == 2 * problem.m  # two CZ per RZZ, no SWAP
