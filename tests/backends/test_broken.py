"""Couplers and qubits a device marks broken: found from the backend, never in a layout."""

from __future__ import annotations

import networkx as nx
import pytest

from backends import TargetError, get_target
from backends.broken import BrokenHardware, broken_hardware, healthy_edges, healthy_target
from backends.devices import load_fake_backend
from hybrid.ansatz import qaoa_circuit
from hybrid.problems import from_edges, regular_graph

#: FakeTorino's couplers with CZ error 1.0 and its qubit with readout error >= 0.5.
TORINO_BROKEN_COUPLERS = (
    (15, 19), (19, 20), (21, 34), (57, 58), (58, 59), (74, 86), (85, 86), (86, 87), (96, 97), (97, 98), (97, 110),
)
TORINO_BROKEN_QUBITS = (86,)
#: Transpiler seeds tried per graph in the layout check.
LAYOUT_TRIALS = 3


@pytest.fixture(scope="module")
def torino():
    return load_fake_backend("torino")


def _two_qubit_pairs(isa):
    return {
        tuple(sorted(isa.find_bit(q).index for q in inst.qubits))
        for inst in isa.data
        if len(inst.qubits) == 2 and inst.operation.name not in ("barrier", "measure")
    }


def test_torino_broken_hardware_is_read_from_the_backend(torino):
    broken = broken_hardware(torino)
    assert broken.couplers == TORINO_BROKEN_COUPLERS and broken.qubits == TORINO_BROKEN_QUBITS
    for a, b in broken.couplers:
        assert torino.target["cz"][(a, b) if (a, b) in torino.target["cz"] else (b, a)].error >= 1.0
    assert BrokenHardware.from_dict(broken.to_dict()) == broken
    edges = healthy_edges(torino)
    assert not set(edges) & set(TORINO_BROKEN_COUPLERS) and all(86 not in e for e in edges)
    graph = nx.Graph(edges)
    largest = max(nx.connected_components(graph), key=len)
    assert (len(largest), graph.subgraph(largest).number_of_edges()) == (129, 139)


def test_healthy_target_drops_only_the_broken_couplers(torino):
    target = healthy_target(torino)
    pairs = {tuple(sorted(q)) for q in target["cz"]}
    assert not pairs & set(TORINO_BROKEN_COUPLERS)
    assert len(pairs) == len({tuple(sorted(q)) for q in torino.target["cz"]}) - len(TORINO_BROKEN_COUPLERS)
    assert (86,) in target["measure"] and (86,) in target["sx"]  # left isolated, not removed
    assert healthy_target(torino) is target  # cached


@pytest.mark.parametrize("problem", [regular_graph(8, 3, seed=4), from_edges([(i, (i + 1) % 10) for i in range(10)])])
def test_layouts_never_use_a_broken_coupler(problem):
    target = get_target("fake:torino", layout_trials=LAYOUT_TRIALS)
    isa = target.isa_circuit(qaoa_circuit(problem, 1))
    assert not _two_qubit_pairs(isa) & set(TORINO_BROKEN_COUPLERS)


def test_native_layout_onto_a_broken_coupler_is_refused():
    """A graph file that names physical qubits across a broken coupler is not run on it."""
    problem = from_edges([(0, 1), (1, 2)], n=3, meta={"device": "torino", "physical_qubits": [15, 19, 20]})
    with pytest.raises(TargetError, match="not all healthy couplers of fake:torino"):
        get_target("fake:torino").compiled(qaoa_circuit(problem, 1))
