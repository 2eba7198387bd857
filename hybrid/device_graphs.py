"""Graphs native to a device, graph specs resolved to graphs, and graph files laid onto a device.

The graph layer (:mod:`hybrid.problems`) does not import ``backends``; it builds a
device-native graph from a coupling graph it is handed
(:func:`hybrid.problems.coupling_subgraph`). This module sits above the backends: it
fetches a fake device's coupling map through :mod:`backends.devices` and resolves the
graph specs accepted wherever a graph file is (``--graphs``, configs):

* a path to a JSON graph file (:func:`hybrid.problems.load_graphs`);
* ``heavyhex:DEVICE[:N][:weighted][:seed=S]``: one connected ``N``-node subgraph of the
  device's **healthy** coupling map (:func:`heavy_hex_graph`).

**Broken hardware.** Couplers and qubits the device marks broken are left out
(:mod:`backends.broken`: a gate error of 1, a readout error of at least 0.5, or the
backend's ``faulty_gates``/``faulty_qubits``); the healthy graph's largest connected
component is what ``heavyhex:DEVICE`` uses (FakeTorino: 129 qubits, 139 couplers).

**Graph files native to a device.** A device-native graph is one whose nodes carry
``meta["device"]`` and ``meta["physical_qubits"]``: the circuit keeps them
(:func:`hybrid.ansatz.qaoa_circuit`), ``fake:<device>`` lays it out onto them without
SWAPs, and the scale oracles (noisy light cones, device-scale samples) apply.
:func:`embed_graph` gives a plain graph file those qubits when its graph is a subgraph
of the healthy coupling map, found by VF2 subgraph isomorphism (rustworkx) and scored
by :func:`embedding_score`; :func:`place_on_device` does it for a run's graphs.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from backends.broken import broken_hardware, healthy_edges
from backends.devices import load_fake_backend, normalise_device_name

from .problems import DEVICE_SPEC_PREFIX, MaxCutProblem, ProblemError, coupling_subgraph, parse_heavy_hex_spec
from .problems import load_graphs as load_graph_file

#: VF2 states visited per search at most (rustworkx ``call_limit``): bounds the time a graph
#: that does not embed can take to be refused (FakeTorino: the 129-node component is found in
#: 2 ms; a 100-node path, which VF2 cannot settle, is given up after ~3 s).
EMBED_CALL_LIMIT = 2_000_000
#: Embeddings taken from the plain VF2 order before the search is spread over the device.
EMBED_FIRST_MAPPINGS = 256
#: With more embeddings than that, each device qubit anchors the pattern's highest-degree
#: node in turn and this many embeddings around it are scored.
EMBED_PER_ANCHOR = 256
#: VF2 states visited per anchored search at most.
EMBED_ANCHOR_CALL_LIMIT = 200_000
#: The anchored sweep stops after scoring this many embeddings in all.
EMBED_MAX_MAPPINGS = 20_000
#: Two-qubit gates per edge and QAOA layer (RZZ = 2 CZ on IBM heavy-hex devices), in the score.
EMBED_GATES_PER_EDGE = 2


class EmbeddingError(ProblemError):
    """A graph that does not embed in a device's healthy coupling map; the message says what it would take."""


# ---------------------------------------------------------------------------- coupling graphs
def device_coupling_graph(device: str, *, healthy: bool = True) -> tuple[str, nx.Graph]:
    """``(normalised name, undirected coupling graph)`` of a ``qiskit_ibm_runtime`` fake device.

    ``healthy=True`` (default): the largest connected component of the coupling map without
    its broken couplers and qubits (:mod:`backends.broken`); ``False``: every qubit and coupler.
    """
    backend = load_fake_backend(device)
    graph = nx.Graph()
    if healthy:
        graph.add_edges_from(healthy_edges(backend))
        graph = graph.subgraph(max(nx.connected_components(graph), key=len)).copy()
    else:
        graph.add_nodes_from(range(backend.num_qubits))
        graph.add_edges_from((int(a), int(b)) for a, b in backend.coupling_map.get_edges() if a != b)
    return normalise_device_name(device), graph


def heavy_hex_graph(
    device: str, n: int | None = None, *, seed: int | np.random.Generator | None = None,
    weights: str | None = None, id: int | str | None = None,
) -> MaxCutProblem:
    """A connected subgraph of ``device``'s healthy coupling map with ``n`` nodes (all its qubits if None).

    Node ``i`` is physical qubit ``meta["physical_qubits"][i]``, every edge is a healthy
    coupler (see :func:`hybrid.problems.coupling_subgraph`, which builds it).
    """
    name, coupling = device_coupling_graph(device)
    return coupling_subgraph(coupling, name, n, seed=seed, weights=weights, id=id)


def load_graphs(spec: str | Path) -> list[MaxCutProblem]:
    """The graphs of a graph file or of a ``heavyhex:DEVICE[:N][:weighted][:seed=S]`` spec."""
    if str(spec).startswith(DEVICE_SPEC_PREFIX):
        return [heavy_hex_graph(**parse_heavy_hex_spec(str(spec)))]
    return load_graph_file(spec)


# ---------------------------------------------------------------------------- embeddings
@dataclass(frozen=True)
class Embedding:
    """Where a graph sits on a device: node ``i`` on ``physical_qubits[i]``, and how it was found.

    ``score`` is :func:`embedding_score` of the chosen embedding, ``first_score`` that of
    the first one VF2 found; ``scored`` embeddings were compared (all of them when
    ``exhaustive``); ``seconds`` is the search's wall time.
    """

    device: str
    physical_qubits: tuple[int, ...]
    score: float
    first_score: float
    scored: int
    exhaustive: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["physical_qubits"] = list(self.physical_qubits)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Embedding":
        return cls(
            str(data["device"]), tuple(int(q) for q in data["physical_qubits"]), float(data["score"]),
            float(data["first_score"]), int(data["scored"]), bool(data["exhaustive"]), float(data["seconds"]),
        )


def _error_tables(backend: Any) -> tuple[dict[tuple[int, int], float], dict[int, float]]:
    """(lowest two-qubit gate error per coupler, readout error per qubit) from ``backend.target``."""
    target = backend.target
    two: dict[tuple[int, int], float] = {}
    readout: dict[int, float] = {}
    for name in target.operation_names:
        props = target[name]
        if not props or None in props:
            continue
        for qargs, p in props.items():
            if p is None or p.error is None or qargs is None:
                continue
            if len(qargs) == 2:
                key = (min(qargs), max(qargs))
                two[key] = min(two.get(key, 1.0), float(p.error))
            elif name == "measure":
                readout[int(qargs[0])] = float(p.error)
    return two, readout


def embedding_score(problem: MaxCutProblem, qubits, two: dict, readout: dict) -> float:
    """``sum_edges 2 * e_2q(coupler) + sum_(nodes with an edge) e_readout(qubit)``.

    About the expected number of gate errors in one QAOA cost layer (two CZ per edge)
    plus readout errors: lower is better. Isolated nodes never enter the cut and are
    not scored.
    """
    used = {u for u, v, _ in problem.edges} | {v for u, v, _ in problem.edges}
    gates = sum(two.get((min(qubits[u], qubits[v]), max(qubits[u], qubits[v])), 1.0) for u, v, _ in problem.edges)
    return float(EMBED_GATES_PER_EDGE * gates + sum(readout.get(qubits[i], 1.0) for i in used))


# (device, n, unweighted edges) -> Embedding, or the EmbeddingError message
_EMBEDDINGS: dict[tuple, Embedding | str] = {}


def embed_graph(problem: MaxCutProblem, device: str, *, where: str = "graph") -> Embedding:
    """The lowest-:func:`embedding_score` placement of ``problem`` on ``device``'s healthy coupling map.

    Every edge lands on a healthy coupler, so the layout needs no SWAPs. Nodes with edges
    are matched by VF2 (rustworkx ``vf2_mapping``, ``subgraph=True``, not induced, bounded by
    :data:`EMBED_CALL_LIMIT`): all embeddings are scored when there are at most
    :data:`EMBED_FIRST_MAPPINGS`, else each healthy qubit anchors the pattern in turn
    (:data:`EMBED_PER_ANCHOR` each, :data:`EMBED_MAX_MAPPINGS` in all). Isolated nodes go to
    free healthy qubits by readout error, then to any free qubit (their outcome never enters
    the cut). Cached per (graph, device). Raises :class:`EmbeddingError` naming ``where``,
    the SWAPs and active qubits a routed layout would take, and the fix.
    """
    name = normalise_device_name(device)
    key = (name, problem.n, tuple((u, v) for u, v, _ in problem.edges))
    hit = _EMBEDDINGS.get(key)
    if hit is None:
        try:
            hit = _search(problem, name)
        except EmbeddingError as exc:
            hit = str(exc)
        _EMBEDDINGS[key] = hit
    if isinstance(hit, str):
        raise EmbeddingError(f"{where}: graph {problem.id!r} {hit}")
    return hit


def _search(problem: MaxCutProblem, name: str) -> Embedding:
    import rustworkx as rx

    started = time.perf_counter()
    backend = load_fake_backend(name)
    broken = broken_hardware(backend)
    edges = healthy_edges(backend, broken)
    healthy_qubits = sorted({q for e in edges for q in e})
    used = sorted({u for u, v, _ in problem.edges} | {v for u, v, _ in problem.edges})
    if problem.n > backend.num_qubits or len(used) > len(healthy_qubits):
        raise EmbeddingError(_not_embeddable(problem, name, backend, broken, len(healthy_qubits)))
    device = rx.PyGraph()
    device.add_nodes_from(healthy_qubits)
    index = {q: i for i, q in enumerate(healthy_qubits)}
    device.add_edges_from_no_data([(index[a], index[b]) for a, b in edges])
    local = {v: i for i, v in enumerate(used)}
    pattern = rx.PyGraph()
    pattern.add_nodes_from(range(len(used)))
    pattern.add_edges_from_no_data([(local[u], local[v]) for u, v, _ in problem.edges])
    two, readout = _error_tables(backend)

    def placement(mapping) -> tuple[int, ...]:
        qubits = [-1] * problem.n
        for d, p in mapping.items():
            qubits[used[p]] = healthy_qubits[d]
        return tuple(qubits)

    def vf2(matcher=None):
        return rx.vf2_mapping(
            device, pattern, subgraph=True, induced=False, id_order=False, node_matcher=matcher,
            call_limit=EMBED_CALL_LIMIT if matcher is None else EMBED_ANCHOR_CALL_LIMIT,
        )

    found: dict[tuple[int, ...], float] = {}
    first = None
    exhaustive = True
    for k, mapping in enumerate(vf2()):
        if k >= EMBED_FIRST_MAPPINGS:
            exhaustive = False
            break
        q = placement(mapping)
        found[q] = embedding_score(problem, q, two, readout)
        first = q if first is None else first
    if first is None:
        raise EmbeddingError(_not_embeddable(problem, name, backend, broken, len(healthy_qubits)))
    if not exhaustive:  # spread the search: anchor the highest-degree node on each qubit in turn
        anchor = max(range(len(used)), key=lambda i: (pattern.degree(i), -i))
        for d in range(len(healthy_qubits)):
            if len(found) >= EMBED_MAX_MAPPINGS:
                break
            if device.degree(d) < pattern.degree(anchor):
                continue
            target_qubit = healthy_qubits[d]
            matcher = _anchor_matcher(anchor, target_qubit)
            for k, mapping in enumerate(vf2(matcher)):
                if k >= EMBED_PER_ANCHOR:
                    break
                q = placement(mapping)
                if q not in found:
                    found[q] = embedding_score(problem, q, two, readout)
    best = min(found, key=lambda q: (found[q], q))
    qubits = _place_isolated(list(best), healthy_qubits, readout, backend.num_qubits)
    return Embedding(name, qubits, found[best], found[first], len(found), exhaustive, time.perf_counter() - started)


def _anchor_matcher(anchor: int, qubit: int):
    return lambda device_qubit, pattern_node: pattern_node != anchor or device_qubit == qubit


def _place_isolated(qubits: list[int], healthy: list[int], readout: dict, total: int) -> tuple[int, ...]:
    taken = {q for q in qubits if q >= 0}
    free = sorted((q for q in healthy if q not in taken), key=lambda q: (readout.get(q, 1.0), q))
    free += [q for q in range(total) if q not in taken and q not in set(free)]
    it = iter(free)
    return tuple(q if q >= 0 else next(it) for q in qubits)


def _not_embeddable(problem: MaxCutProblem, name: str, backend: Any, broken, healthy_count: int) -> str:
    swaps, active = routed_cost(problem, name)
    if swaps < 0:
        routing = (f"it has more nodes than the {active} qubits of the largest healthy component, so no layout "
                   "fits, routed or not")
    else:
        routing = f"laid out with routing, one QAOA layer would add {swaps} SWAPs and touch {active} active qubits"
    through_broken = ""
    if broken.couplers and problem.n <= backend.num_qubits and _embeds_with_broken(problem, backend):
        through_broken = f" (it is a subgraph of the full coupling map only through broken couplers {list(broken.couplers)})"
    return (
        f"(n={problem.n}, m={problem.m}) does not embed in the healthy coupling map of {name} "
        f"({healthy_count} qubits; couplers and qubits the device marks broken excluded, see backends.broken; "
        f"VF2 found no embedding within {EMBED_CALL_LIMIT:,} search states)"
        f"{through_broken}: {routing}, and device-scale simulation needs a SWAP-free layout; give a graph whose edges are "
        f"healthy couplers of {name} (e.g. heavyhex:{name}:N), or one small enough for the exact density matrix"
    )


def _embeds_with_broken(problem: MaxCutProblem, backend: Any) -> bool:
    import rustworkx as rx

    device = rx.PyGraph()
    device.add_nodes_from(range(backend.num_qubits))
    device.add_edges_from_no_data(sorted({(min(a, b), max(a, b)) for a, b in backend.coupling_map.get_edges() if a != b}))
    pattern = rx.PyGraph()
    pattern.add_nodes_from(range(problem.n))
    pattern.add_edges_from_no_data([(u, v) for u, v, _ in problem.edges])
    for _ in rx.vf2_mapping(device, pattern, subgraph=True, induced=False, id_order=False, call_limit=EMBED_CALL_LIMIT):
        return True
    return False


def routed_cost(problem: MaxCutProblem, device: str, seed: int = 0) -> tuple[int, int]:
    """``(SWAPs, active qubits)`` of one QAOA cost layer laid out and routed by Sabre on the
    largest healthy component of ``device`` (a quick transpile: one layout and one routing trial)."""
    from qiskit import QuantumCircuit
    from qiskit.transpiler import CouplingMap, PassManager
    from qiskit.transpiler.passes import SabreLayout

    _, coupling = device_coupling_graph(device)
    qubits = sorted(coupling.nodes)
    if problem.n > len(qubits):
        return -1, len(qubits)
    index = {q: i for i, q in enumerate(qubits)}
    cmap = CouplingMap([[index[a], index[b]] for a, b in coupling.edges] + [[index[b], index[a]] for a, b in coupling.edges])
    layer = QuantumCircuit(problem.n)
    for u, v, _ in problem.edges:
        layer.cz(u, v)
    routed = PassManager(SabreLayout(cmap, seed=seed, max_iterations=1, swap_trials=1, layout_trials=1)).run(layer)
    swaps = sum(1 for inst in routed.data if inst.operation.name == "swap")
    active = {routed.find_bit(q).index for inst in routed.data for q in inst.qubits}
    return swaps, len(active)


def place_on_device(problems: list[MaxCutProblem], target: Any, *, where: str = "--graphs") -> list[MaxCutProblem]:
    """``problems`` with the graphs too large for ``target``'s exact density matrix laid onto its device.

    Only ``fake:<device>`` targets; graphs already native to the device (``heavyhex:`` specs,
    files that carry ``physical_qubits``) and graphs the exact density matrix holds
    (``n <= max_exact_qubits``: a routed layout is exact there) are kept as they are. The
    others get ``meta`` ``device``, ``physical_qubits`` (from :func:`embed_graph`) and
    ``embedding`` (its record), exactly as a ``heavyhex:`` spec carries them, or raise
    :class:`EmbeddingError` naming ``where``.
    """
    from .problems import physical_qubits

    if target.kind != "fake":
        return problems
    out = []
    for pr in problems:
        if pr.n <= target.max_exact_qubits or physical_qubits(pr, target.device) is not None:
            out.append(pr)
            continue
        emb = embed_graph(pr, target.device, where=where)
        meta = dict(pr.meta, device=emb.device, physical_qubits=list(emb.physical_qubits), embedding=emb.to_dict())
        out.append(replace(pr, meta=meta))
    return out
