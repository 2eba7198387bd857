"""Graph generators: the random families, heavy-hex lattices and subgraphs of a coupling map.

Every generator takes one ``seed`` (``int | numpy.random.Generator | None``) and
returns a validated :class:`~hybrid.problems.core.MaxCutProblem`. Graphs native to a
device are built here from a coupling graph handed in by the caller; fetching a
device's coupling map goes through the backends, in :mod:`hybrid.device_graphs`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable

import networkx as nx
import numpy as np

from .core import DEVICE_SPEC_PREFIX, MaxCutProblem, ProblemError, as_rng, from_edges


def _with_weights(graph: nx.Graph, weights: str | None, rng: np.random.Generator) -> list[tuple[int, int, float]]:
    edges = sorted((min(u, v), max(u, v)) for u, v in graph.edges)
    if weights is None or weights == "unit":
        return [(u, v, 1.0) for u, v in edges]
    kind, _, arg = weights.partition(":")
    if kind == "uniform":
        lo, hi = (float(x) for x in (arg or "0.1,1.0").split(","))
        if not (0 < lo <= hi):
            raise ProblemError(f"weights 'uniform:{arg}' needs 0 < low <= high")
        values = rng.uniform(lo, hi, size=len(edges))
    elif kind == "integer":
        hi = int(arg or 10)
        values = rng.integers(1, hi + 1, size=len(edges)).astype(float)
    else:
        raise ProblemError(f"unknown weights {weights!r}; use 'unit', 'uniform:LOW,HIGH' or 'integer:MAX'")
    return [(u, v, float(round(w, 6))) for (u, v), w in zip(edges, values)]


def erdos_renyi(
    n: int,
    p: float,
    *,
    seed: int | np.random.Generator | None = None,
    weights: str | None = None,
    connected: bool = False,
    id: int | str | None = None,
    max_tries: int = 1000,
) -> MaxCutProblem:
    """G(n, p), resampled until it has at least one edge (and is connected if asked)."""
    if n < 2:
        raise ProblemError(f"n must be >= 2 for a graph with edges, got {n}")
    if not (0 < p <= 1):
        raise ProblemError(f"edge probability p must be in (0, 1], got {p}")
    rng = as_rng(seed)
    for _ in range(max_tries):
        g = nx.gnp_random_graph(n, p, seed=int(rng.integers(2**31)))
        if g.number_of_edges() and (not connected or nx.is_connected(g)):
            return from_edges(_with_weights(g, weights, rng), n=n, id=id, meta={"family": f"G({n},{p:.4g})"})
    raise ProblemError(f"no {'connected ' if connected else ''}G({n}, {p}) found in {max_tries} tries; raise p")


def paper_graph(n: int, k: int, *, seed=None, weights: str | None = None, id=None) -> MaxCutProblem:
    """The paper's family: G(n, k/n) with 3 <= k <= n-1."""
    if not (1 <= k <= n):
        raise ProblemError(f"k must be in [1, n], got k={k}, n={n}")
    problem = erdos_renyi(n, k / n, seed=seed, weights=weights, id=id)
    return replace(problem, meta={"family": "paper", "k": k})


def paper_dataset(ns: Iterable[int] = range(6, 10), per_nk: int = 56, *, seed=None, weights=None) -> list[MaxCutProblem]:
    """The paper's training distribution: ``per_nk`` graphs G(n, k/n) per n and k = 3..n-1."""
    rng = as_rng(seed)
    out = []
    for n in ns:
        for k in range(3, n):
            for _ in range(per_nk):
                out.append(paper_graph(n, k, seed=rng, weights=weights, id=len(out)))
    return out


def regular_graph(n: int, d: int, *, seed=None, weights: str | None = None, id=None) -> MaxCutProblem:
    """A uniformly random d-regular graph."""
    if d < 1 or d >= n or (n * d) % 2:
        raise ProblemError(f"no {d}-regular graph on {n} nodes (need 1 <= d < n and n*d even)")
    rng = as_rng(seed)
    g = nx.random_regular_graph(d, n, seed=int(rng.integers(2**31)))
    return from_edges(_with_weights(g, weights, rng), n=n, id=id, meta={"family": f"{d}-regular"})


# ---------------------------------------------------------------------------- heavy-hex
HEAVY_HEX_PREFIX = DEVICE_SPEC_PREFIX
#: Edge weights of ``heavyhex:...:weighted``.
HEAVY_HEX_WEIGHTS = "uniform:0.1,1.0"


def heavy_hex_lattice(rows: int, cols: int, *, weights: str | None = None, seed=None, id=None) -> MaxCutProblem:
    """A heavy-hex lattice: the ``rows x cols`` hexagonal lattice with a node on every edge."""
    if rows < 1 or cols < 1:
        raise ProblemError(f"rows and cols must be >= 1, got rows={rows}, cols={cols}")
    hexes = nx.hexagonal_lattice_graph(rows, cols)
    index = {x: i for i, x in enumerate(sorted(hexes.nodes))}
    heavy, k = nx.Graph(), len(index)
    for a, b in sorted(hexes.edges):
        heavy.add_edge(index[a], k)
        heavy.add_edge(k, index[b])
        k += 1
    edges = _with_weights(heavy, weights, as_rng(seed))
    return from_edges(edges, n=k, id=id, meta={"family": f"heavyhex-lattice({rows},{cols})"})


def coupling_subgraph(
    coupling: nx.Graph, device: str, n: int | None = None, *, seed: int | np.random.Generator | None = None,
    weights: str | None = None, id: int | str | None = None,
) -> MaxCutProblem:
    """A connected subgraph of the coupling graph ``coupling`` of ``device`` with ``n`` nodes (all qubits if None).

    Node ``i`` is physical qubit ``meta["physical_qubits"][i]`` (ascending), and every
    edge is a coupler, so the identity layout onto those qubits needs no SWAPs
    (``fake:<device>`` uses it). The ``n`` qubits grow from a random qubit of the largest
    connected component by adding a random neighbour of the set, so the subgraph is
    connected; edges are all couplers among them. ``device`` is the device's normalised name (recorded in ``meta``);
    :func:`hybrid.device_graphs.heavy_hex_graph` fetches both from a fake device.
    """
    name = device
    nodes = sorted(max(nx.connected_components(coupling), key=len))
    total = len(nodes)
    if n is not None and (not isinstance(n, (int, np.integer)) or not 2 <= n <= total):
        raise ProblemError(
            f"n must be an integer in [2, {total}] for {name} ({total} qubits in its largest connected "
            f"healthy coupling component), got {n!r}"
        )
    rng = as_rng(seed if seed is not None else 0)
    if n is None or n == total:
        chosen = nodes
    else:
        start = nodes[int(rng.integers(total))]
        chosen_set, frontier = {start}, set(coupling[start])
        while len(chosen_set) < n:
            nxt = sorted(frontier)[int(rng.integers(len(frontier)))]
            chosen_set.add(nxt)
            frontier |= set(coupling[nxt])
            frontier -= chosen_set
        chosen = sorted(chosen_set)
    local = {q: i for i, q in enumerate(chosen)}
    sub = nx.relabel_nodes(coupling.subgraph(chosen), local)
    edges = _with_weights(sub, weights, rng)
    meta = {"family": f"heavyhex:{name}", "device": name, "physical_qubits": [int(q) for q in chosen]}
    return from_edges(edges, n=len(chosen), id=id if id is not None else f"heavyhex-{name}-{len(chosen)}", meta=meta)


def parse_heavy_hex_spec(spec: str) -> dict[str, Any]:
    """``heavyhex:DEVICE[:N][:weighted][:seed=S]`` -> keyword arguments of :func:`hybrid.device_graphs.heavy_hex_graph`."""
    parts = spec[len(HEAVY_HEX_PREFIX):].split(":") if spec.startswith(HEAVY_HEX_PREFIX) else []
    if not parts or not parts[0]:
        raise ProblemError(f"graph spec {spec!r}: expected heavyhex:DEVICE[:N][:weighted][:seed=S], e.g. heavyhex:torino:100")
    out: dict[str, Any] = {"device": parts[0], "n": None, "weights": None, "seed": 0}
    for part in parts[1:]:
        if part.isdigit():
            out["n"] = int(part)
        elif part == "weighted":
            out["weights"] = HEAVY_HEX_WEIGHTS
        elif part.startswith("seed=") and part[5:].isdigit():
            out["seed"] = int(part[5:])
        else:
            raise ProblemError(f"graph spec {spec!r}: unknown part {part!r}; use a node count, 'weighted' or 'seed=S'")
    return out


def physical_qubits(problem: MaxCutProblem, device: str) -> tuple[int, ...] | None:
    """The physical qubits of a graph native to ``device`` (None when it is not one)."""
    qubits = problem.meta.get("physical_qubits")
    ok = qubits is not None and problem.meta.get("device") == device and len(qubits) == problem.n
    return tuple(int(q) for q in qubits) if ok else None


