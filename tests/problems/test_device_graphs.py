"""Device graphs without broken couplers, and graph files laid onto a device by subgraph isomorphism."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import networkx as nx
import numpy as np
import pytest

from backends import get_target
from backends.broken import broken_hardware
from backends.devices import load_fake_backend
from hybrid.ansatz import qaoa_circuit
from hybrid.device_graphs import (
    Embedding,
    EmbeddingError,
    _error_tables,
    device_coupling_graph,
    embed_graph,
    embedding_score,
    heavy_hex_graph,
)
from hybrid.problems import from_edges, physical_qubits, regular_graph, save_graphs

SEED = 3
#: Size of the device-native subgraph written as a shuffled file.
SUBGRAPH_NODES = 20
#: Noisy energy of the file vs the spec on the same qubits: the same gates on the same qubits
#: (gate order and orientation follow the physical qubits; measured 0 to 4e-15).
SAME_QUBITS_TOL = 1e-9
THETA = np.array([0.6, 0.39])


def _shuffled_file(problem, seed, path):
    rng = random.Random(seed)
    perm = list(range(problem.n))
    rng.shuffle(perm)
    edges = [[perm[u], perm[v], w] for u, v, w in problem.edges]
    rng.shuffle(edges)
    path.write_text(json.dumps([{"id": path.stem, "n": problem.n, "edges": edges}]))
    return perm


def _cfg(graphs, tmp_path, p=1):
    from hybrid.runs import RunConfig

    return RunConfig(graphs=str(graphs), backend="fake:torino", init="fixed", p=p, optimizer="cobyla:2",
                     out=str(tmp_path / "out"))


def test_heavy_hex_graphs_leave_out_broken_couplers():
    broken = set(broken_hardware(load_fake_backend("torino")).couplers)
    assert len(broken) == 11
    whole = heavy_hex_graph("torino")
    qubits = physical_qubits(whole, "torino")
    used = {tuple(sorted((qubits[u], qubits[v]))) for u, v, _ in whole.edges}
    assert (whole.n, whole.m) == (129, 139) and not used & broken and 86 not in qubits
    _, full = device_coupling_graph("torino", healthy=False)
    assert (full.number_of_nodes(), full.number_of_edges()) == (133, 150)
    for seed in range(5):
        part = heavy_hex_graph("torino", 60, seed=seed)
        q = physical_qubits(part, "torino")
        assert not {tuple(sorted((q[u], q[v]))) for u, v, _ in part.edges} & broken


def test_shuffled_subgraph_file_embeds_without_swaps(tmp_path):
    from hybrid.validation import validate_run_config

    spec = heavy_hex_graph("torino", SUBGRAPH_NODES, seed=SEED)
    path = tmp_path / "sub20.json"
    _shuffled_file(spec, SEED, path)
    _, (problem,), target, estimate = validate_run_config(_cfg(path, tmp_path))
    qubits = physical_qubits(problem, "torino")
    assert qubits is not None and estimate.method == "noisy light cones"
    _, healthy = device_coupling_graph("torino")
    assert all(healthy.has_edge(qubits[u], qubits[v]) for u, v, _ in problem.edges)
    comp = target.compiled(qaoa_circuit(problem, 1))
    assert comp.two_qubit_gates == 2 * problem.m and comp.active == tuple(sorted(qubits))  # no SWAP
    emb = Embedding.from_dict(problem.meta["embedding"])
    assert emb.physical_qubits == qubits and emb.score <= emb.first_score
    two, readout = _error_tables(load_fake_backend("torino"))
    assert emb.score == pytest.approx(embedding_score(problem, qubits, two, readout))
    assert emb.score <= embedding_score(spec, physical_qubits(spec, "torino"), two, readout)
    assert embed_graph(problem, "torino") is embed_graph(problem, "torino")  # cached per (graph, device)


@pytest.mark.slow
def test_embedded_file_energy_equals_the_spec_on_the_same_qubits(tmp_path):
    from hybrid.oracle_factory import make_oracle
    from hybrid.validation import validate_run_config

    spec = heavy_hex_graph("torino", SUBGRAPH_NODES, seed=SEED)
    path = tmp_path / "sub20.json"
    perm = _shuffled_file(spec, SEED, path)
    _, (problem,), target, _ = validate_run_config(_cfg(path, tmp_path))
    qubits = physical_qubits(problem, "torino")
    same = replace(spec, meta=dict(spec.meta, physical_qubits=[qubits[perm[j]] for j in range(spec.n)]))
    a = make_oracle(problem, 1, target)
    b = make_oracle(same, 1, target)
    assert a.method == b.method == "noisy-light-cone"
    ea, eb = a.evaluate(THETA).energies[0], b.evaluate(THETA).energies[0]
    ideal = make_oracle(problem, 1, "ideal").evaluate(THETA).energies[0]
    assert abs(ea - eb) <= SAME_QUBITS_TOL and abs(ideal - ea) > 0.1


@pytest.mark.parametrize("edges,name", [([(0, 1), (1, 2), (0, 2)], "triangle"),
                                        ([(a, b) for a in range(4) for b in range(a + 1, 4)], "k4")])
def test_graph_that_does_not_embed_is_named(edges, name):
    problem = from_edges(edges, id=name)
    with pytest.raises(EmbeddingError, match=rf"{name}.json: graph '{name}' .*does not embed in the healthy "
                                             r"coupling map of torino.*would add \d+ SWAPs and touch \d+ active qubits"):
        embed_graph(problem, "torino", where=f"{name}.json")


def test_large_graph_that_does_not_embed_is_refused_by_validation(tmp_path):
    from hybrid.validation import InputError, validate_run_config

    path = save_graphs([regular_graph(30, 3, seed=0)], tmp_path / "r30.json")
    with pytest.raises(InputError, match=r"--graphs .*r30.json: graph .* does not embed.*SWAPs.*heavyhex:torino:N"):
        validate_run_config(_cfg(path, tmp_path))


def test_whole_coupling_graph_file_runs_without_its_broken_couplers(tmp_path):
    """133 qubits written as a file: accepted without broken couplers, refused (not by memory) with them."""
    from hybrid.validation import InputError, validate_run_config

    _, full = device_coupling_graph("torino", healthy=False)
    broken = set(broken_hardware(load_fake_backend("torino")).couplers)
    kept = [(a, b, 1.0) for a, b in sorted(full.edges) if (min(a, b), max(a, b)) not in broken]
    path = save_graphs([from_edges(kept, n=133, id="torino133")], tmp_path / "torino133.json")
    _, (problem,), _, estimate = validate_run_config(_cfg(path, tmp_path))
    qubits = physical_qubits(problem, "torino")
    assert problem.n == 133 and len(set(qubits)) == 133 and estimate.method == "noisy light cones"
    assert all((min(qubits[u], qubits[v]), max(qubits[u], qubits[v])) not in broken for u, v, _ in problem.edges)
    assert estimate.memory_bytes < 2**30
    whole = save_graphs([from_edges([(a, b, 1.0) for a, b in full.edges], n=133, id="all")], tmp_path / "all.json")
    with pytest.raises(InputError, match=r"all.json: graph 'all' .*only through broken couplers"):
        validate_run_config(_cfg(whole, tmp_path))


def test_129_node_component_file_lands_on_the_spec_qubits(tmp_path):
    from hybrid.validation import validate_run_config

    spec = heavy_hex_graph("torino")
    path = tmp_path / "t129.json"
    perm = _shuffled_file(spec, SEED, path)
    _, (problem,), _, _ = validate_run_config(_cfg(path, tmp_path))
    qubits = physical_qubits(problem, "torino")
    assert [qubits[perm[j]] for j in range(spec.n)] == list(physical_qubits(spec, "torino"))
    assert nx.is_connected(problem.to_networkx())
