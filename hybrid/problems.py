"""Max-Cut problems: graphs, validation, JSON I/O, the cut diagonal and exact optima.

Conventions (used everywhere in the project):

* nodes are ``0..n-1``; qubit ``i`` is node ``i``; an outcome index ``z`` has node
  ``i`` on side ``(z >> i) & 1`` (qiskit's little-endian order);
* the cut value is ``C(z) = sum_e w_e [z_u != z_v]`` and we *maximise* it;
* the approximation ratio of an expected cut is ``<C> / max_cut``.

The JSON format is the one of ``shared/benchmarks/paper_maxcut_graphs.json``: a list
of objects with ``id``, ``n``, ``edges`` (``[[u, v, w], ...]``) and optionally
``max_cut`` (plus free-form extra fields, which are kept in ``meta``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import networkx as nx
import numpy as np

#: Largest n solved by brute force by default (2^(n-1) cut values, float64).
BRUTE_FORCE_MAX_NODES = 26
#: Chunk of outcomes evaluated at once in brute force (memory bound, 8 bytes each).
_BRUTE_FORCE_CHUNK_BITS = 22

MAX_CUT_EXACT = "exact"
MAX_CUT_HEURISTIC = "heuristic"


class ProblemError(ValueError):
    """A graph or graph file that cannot be used; the message says what to fix."""


SeedLike = "int | np.random.Generator | None"


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """The project's one ``seed`` convention: an int, a Generator, or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None:
        return np.random.default_rng(int(seed))
    return np.random.default_rng()


@dataclass(frozen=True)
class MaxCutProblem:
    """A validated weighted graph for Max-Cut.

    ``edges`` are ``(u, v, w)`` with ``0 <= u < v < n``, sorted, unique, ``w > 0``
    finite. ``labels[i]`` is the original label of node ``i`` when the input used
    other labels (None when the input was already ``0..n-1``). ``max_cut`` is the
    exact optimum when ``max_cut_source == "exact"``, or the best cut found by a
    classical heuristic when it is ``"heuristic"`` (then ARs are relative to it).
    """

    n: int
    edges: tuple[tuple[int, int, float], ...]
    id: int | str | None = None
    max_cut: float | None = None
    max_cut_source: str | None = None
    labels: tuple[Any, ...] | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        _validate_normalised(self.n, self.edges)
        if self.max_cut is not None:
            if not math.isfinite(self.max_cut) or self.max_cut <= 0:
                raise ProblemError(f"max_cut must be a positive finite number, got {self.max_cut!r}")
            if self.max_cut > self.total_weight * (1 + 1e-9):
                raise ProblemError(
                    f"max_cut={self.max_cut} exceeds the total edge weight {self.total_weight}; "
                    "fix or drop the max_cut field"
                )
            if self.max_cut_source not in (MAX_CUT_EXACT, MAX_CUT_HEURISTIC):
                object.__setattr__(self, "max_cut_source", MAX_CUT_EXACT)

    # ------------------------------------------------------------------ basics
    @property
    def m(self) -> int:
        return len(self.edges)

    @property
    def weights(self) -> np.ndarray:
        return np.array([w for _, _, w in self.edges], dtype=float)

    @property
    def edge_array(self) -> np.ndarray:
        """``(m, 2)`` int array of endpoints."""
        return np.array([(u, v) for u, v, _ in self.edges], dtype=np.int64).reshape(-1, 2)

    @property
    def total_weight(self) -> float:
        return float(sum(w for _, _, w in self.edges))

    @property
    def is_weighted(self) -> bool:
        return any(w != 1.0 for _, _, w in self.edges)

    def degrees(self, weighted: bool = True) -> np.ndarray:
        deg = np.zeros(self.n)
        for u, v, w in self.edges:
            inc = w if weighted else 1.0
            deg[u] += inc
            deg[v] += inc
        return deg

    def to_networkx(self) -> nx.Graph:
        g = nx.Graph()
        g.add_nodes_from(range(self.n))
        g.add_weighted_edges_from(self.edges)
        return g

    # ------------------------------------------------------------------ Max-Cut
    def cut_values(self) -> np.ndarray:
        """The cut diagonal ``C(z)`` for all ``2^n`` outcomes (float64)."""
        return cut_diagonal(self)

    def cut_of(self, bits: int | Sequence[int]) -> float:
        """Cut value of one assignment (an outcome integer or a 0/1 sequence)."""
        if isinstance(bits, (int, np.integer)):
            side = [(int(bits) >> i) & 1 for i in range(self.n)]
        else:
            side = [int(b) for b in bits]
            if len(side) != self.n:
                raise ProblemError(f"assignment has {len(side)} entries, the graph has {self.n} nodes")
        return float(sum(w for u, v, w in self.edges if side[u] != side[v]))

    def with_max_cut(self, max_nodes: int = BRUTE_FORCE_MAX_NODES, seed=None) -> "MaxCutProblem":
        """This problem with ``max_cut`` filled in: brute force up to ``max_nodes``, else
        the best-known cut of Goemans-Williamson + local search (:mod:`hybrid.maxcut`),
        marked ``"heuristic"``, or ``"exact"`` when the SDP upper bound certifies it;
        ``meta`` records ``max_cut_method``, ``max_cut_upper_bound`` and ``max_cut_bound_method``."""
        if self.max_cut is not None:
            return self
        if self.n <= max_nodes:
            value, _ = brute_force_max_cut(self)
            return replace(self, max_cut=value, max_cut_source=MAX_CUT_EXACT)
        from .maxcut import best_known_cut, is_certified

        found = best_known_cut(self, seed=seed)
        meta = dict(self.meta, max_cut_method=found.method, max_cut_upper_bound=found.upper_bound,
                    max_cut_bound_method=found.bound_method)
        source = MAX_CUT_EXACT if is_certified(found) else MAX_CUT_HEURISTIC
        return replace(self, max_cut=found.value, max_cut_source=source, meta=meta)

    def approximation_ratio(self, expected_cut: float | np.ndarray) -> float | np.ndarray:
        """``<C> / max_cut`` (computing ``max_cut`` if needed)."""
        max_cut = self.max_cut if self.max_cut is not None else self.with_max_cut().max_cut
        return np.asarray(expected_cut) / max_cut if np.ndim(expected_cut) else float(expected_cut) / max_cut

    def cost_operator(self):
        """The cut operator ``C = sum_e w_e (I - Z_u Z_v) / 2`` as a ``SparsePauliOp``."""
        from qiskit.quantum_info import SparsePauliOp

        terms = [("ZZ", [u, v], -w / 2.0) for u, v, w in self.edges]
        terms.append(("", [], self.total_weight / 2.0))
        return SparsePauliOp.from_sparse_list(terms, num_qubits=self.n).simplify()

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "n": self.n, "m": self.m}
        data["edges"] = [[u, v, w] for u, v, w in self.edges]
        if self.max_cut is not None:
            data["max_cut"] = self.max_cut
            data["max_cut_source"] = self.max_cut_source
        if self.labels is not None:
            data["labels"] = list(self.labels)
        data.update({k: v for k, v in self.meta.items() if k not in data})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "graph") -> "MaxCutProblem":
        if not isinstance(data, dict):
            raise ProblemError(f"{where}: expected an object with 'n' and 'edges', got {type(data).__name__}")
        if "edges" not in data:
            raise ProblemError(f"{where}: missing 'edges' (a list of [u, v, w] or [u, v])")
        edges = data["edges"]
        if not isinstance(edges, list):
            raise ProblemError(f"{where}: 'edges' must be a list of [u, v, w], got {type(edges).__name__}")
        known = {"id", "n", "m", "edges", "max_cut", "max_cut_source", "labels"}
        meta = {k: v for k, v in data.items() if k not in known}
        problem = from_edges(
            edges,
            n=data.get("n"),
            id=data.get("id"),
            where=where,
            labels=data.get("labels"),
            meta=meta,
        )
        if "m" in data and data["m"] is not None and int(data["m"]) != problem.m:
            raise ProblemError(f"{where}: 'm'={data['m']} but {problem.m} edges are listed")
        if data.get("max_cut") is not None:
            source = data.get("max_cut_source", MAX_CUT_EXACT)
            problem = replace(problem, max_cut=float(data["max_cut"]), max_cut_source=source)
        return problem


# ---------------------------------------------------------------------------- validation
def _validate_normalised(n: Any, edges: Any) -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ProblemError(f"n must be a positive integer, got {n!r}")
    if len(edges) == 0:
        raise ProblemError("the graph has no edges; Max-Cut needs at least one edge")
    seen = set()
    for u, v, w in edges:
        if not (0 <= u < v < n):
            raise ProblemError(f"edge ({u}, {v}) is not normalised (need 0 <= u < v < n={n})")
        if (u, v) in seen:
            raise ProblemError(f"duplicate edge ({u}, {v})")
        seen.add((u, v))
        if not (isinstance(w, float) and math.isfinite(w) and w > 0):
            raise ProblemError(f"edge ({u}, {v}) has weight {w!r}; weights must be finite and > 0")


def _is_int_label(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def from_edges(
    edges: Iterable[Sequence[Any]],
    n: int | None = None,
    *,
    id: int | str | None = None,
    where: str = "graph",
    labels: Sequence[Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> MaxCutProblem:
    """Build a validated problem from ``[u, v]`` or ``[u, v, w]`` items.

    Integer labels ``0..n-1`` are used as they are. Any other labels (strings,
    gaps, non-integers) are relabelled ``0..n-1`` in sorted order and the original
    labels kept in ``problem.labels``. Self-loops, duplicate edges (in either
    orientation) and non-finite, negative or zero weights are rejected.
    """
    raw = []
    for k, item in enumerate(edges):
        if not isinstance(item, (list, tuple)) or len(item) not in (2, 3):
            raise ProblemError(f"{where}: edge #{k} must be [u, v] or [u, v, w], got {item!r}")
        u, v = item[0], item[1]
        w = item[2] if len(item) == 3 else 1.0
        if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)):
            raise ProblemError(f"{where}: edge #{k} ({u!r}, {v!r}) has a non-numeric weight {w!r}")
        w = float(w)
        if not math.isfinite(w):
            raise ProblemError(f"{where}: edge #{k} ({u!r}, {v!r}) has weight {w}; weights must be finite")
        if w <= 0:
            raise ProblemError(
                f"{where}: edge #{k} ({u!r}, {v!r}) has weight {w}; Max-Cut here needs weights > 0 "
                "(drop zero-weight edges)"
            )
        if u == v:
            raise ProblemError(f"{where}: edge #{k} is a self-loop on node {u!r}; remove it")
        raw.append((u, v, w))
    if not raw:
        raise ProblemError(f"{where}: the graph has no edges; Max-Cut needs at least one edge")

    nodes = {x for u, v, _ in raw for x in (u, v)}
    if n is not None:
        if isinstance(n, bool) or not _is_int_label(n) or n < 1:
            raise ProblemError(f"{where}: 'n' must be a positive integer, got {n!r}")
        n = int(n)
    given_labels = list(labels) if labels is not None else None
    ints = all(_is_int_label(x) for x in nodes)
    as_is = ints and min(nodes) >= 0 and (
        (n is not None and max(nodes) < n) or (n is None and len(nodes) == max(nodes) + 1)
    )
    if as_is:
        size = n if n is not None else max(nodes) + 1
        index = {x: int(x) for x in nodes}
        new_labels = tuple(given_labels) if given_labels is not None else None
        if new_labels is not None and len(new_labels) != size:
            raise ProblemError(f"{where}: 'labels' has {len(new_labels)} entries for n={size}")
    else:
        try:
            ordered = sorted(nodes)
        except TypeError:
            ordered = sorted(nodes, key=repr)
        if n is not None and len(ordered) > n:
            raise ProblemError(f"{where}: {len(ordered)} distinct node labels but n={n}")
        size = n if n is not None else len(ordered)
        index = {x: i for i, x in enumerate(ordered)}
        new_labels = tuple(ordered) + tuple(f"isolated_{i}" for i in range(len(ordered), size))

    normalised: dict[tuple[int, int], float] = {}
    for k, (u, v, w) in enumerate(raw):
        a, b = sorted((index[u], index[v]))
        if (a, b) in normalised:
            raise ProblemError(f"{where}: duplicate edge ({u!r}, {v!r}); merge it into one weighted edge")
        normalised[(a, b)] = w
    edge_tuple = tuple((a, b, normalised[(a, b)]) for a, b in sorted(normalised))
    return MaxCutProblem(n=size, edges=edge_tuple, id=id, labels=new_labels, meta=dict(meta or {}))


def from_networkx(graph: nx.Graph, *, id: int | str | None = None, weight: str = "weight") -> MaxCutProblem:
    """A problem from a networkx graph (isolated nodes are kept)."""
    if graph.is_directed() or graph.is_multigraph():
        raise ProblemError("graph must be a simple undirected networkx.Graph")
    nodes = list(graph.nodes)
    edges = [(u, v, d.get(weight, 1.0)) for u, v, d in graph.edges(data=True)]
    if all(_is_int_label(x) for x in nodes) and sorted(nodes) == list(range(len(nodes))):
        return from_edges(edges, n=len(nodes), id=id)
    index = {x: i for i, x in enumerate(sorted(nodes, key=repr))}
    problem = from_edges([(index[u], index[v], w) for u, v, w in edges], n=len(nodes), id=id)
    return replace(problem, labels=tuple(sorted(nodes, key=repr)))


# ---------------------------------------------------------------------------- JSON I/O
def load_graphs(path: str | Path) -> list[MaxCutProblem]:
    """Read a graph file: a JSON list of graph objects (or ``{"graphs": [...]}``, or one object).

    ``heavyhex:DEVICE[:N][:weighted][:seed=S]`` instead of a path generates one graph
    native to a fake device's coupling map (:func:`parse_heavy_hex_spec`).
    """
    if str(path).startswith(HEAVY_HEX_PREFIX):
        return [heavy_hex_graph(**parse_heavy_hex_spec(str(path)))]
    path = Path(path)
    if not path.exists():
        raise ProblemError(f"graph file {str(path)!r} does not exist")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProblemError(f"{path}: not a JSON graph file ({exc}); expected a list of {{'n', 'edges'}} objects") from exc
    if isinstance(data, dict) and "graphs" in data:
        data = data["graphs"]
    elif isinstance(data, dict) and "edges" in data:
        data = [data]
    if not isinstance(data, list) or not data:
        raise ProblemError(f"{path}: expected a non-empty JSON list of graph objects with 'n' and 'edges'")
    problems = []
    for k, item in enumerate(data):
        problem = MaxCutProblem.from_dict(item, where=f"{path.name}[{k}]")
        if problem.id is None:
            problem = replace(problem, id=k)
        problems.append(problem)
    return problems


def save_graphs(problems: Sequence[MaxCutProblem], path: str | Path) -> Path:
    """Write problems in the benchmark JSON format (one object per line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ",\n".join(json.dumps(p.to_dict()) for p in problems)
    path.write_text("[\n" + lines + "\n]\n")
    return path


# ---------------------------------------------------------------------------- generators
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
HEAVY_HEX_PREFIX = "heavyhex:"
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


def device_coupling_graph(device: str) -> tuple[str, nx.Graph]:
    """``(normalised name, undirected coupling graph)`` of a ``qiskit_ibm_runtime`` fake device."""
    from backends.devices import load_fake_backend, normalise_device_name

    backend = load_fake_backend(device)
    graph = nx.Graph()
    graph.add_nodes_from(range(backend.num_qubits))
    graph.add_edges_from((int(a), int(b)) for a, b in backend.coupling_map.get_edges() if a != b)
    return normalise_device_name(device), graph


def heavy_hex_graph(
    device: str, n: int | None = None, *, seed: int | np.random.Generator | None = None,
    weights: str | None = None, id: int | str | None = None,
) -> MaxCutProblem:
    """A connected subgraph of ``device``'s coupling map with ``n`` nodes (all qubits if None).

    Node ``i`` is physical qubit ``meta["physical_qubits"][i]`` (ascending), and every
    edge is a coupler, so the identity layout onto those qubits needs no SWAPs
    (``fake:<device>`` uses it). The ``n`` qubits grow from a random qubit by adding a
    random neighbour of the set, so the subgraph is connected; edges are all couplers
    among them.
    """
    name, coupling = device_coupling_graph(device)
    total = coupling.number_of_nodes()
    if n is not None and (not isinstance(n, (int, np.integer)) or not 2 <= n <= total):
        raise ProblemError(f"n must be an integer in [2, {total}] for {name} ({total} qubits), got {n!r}")
    rng = as_rng(seed if seed is not None else 0)
    if n is None or n == total:
        chosen = sorted(max(nx.connected_components(coupling), key=len))
    else:
        start = int(rng.integers(total))
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
    """``heavyhex:DEVICE[:N][:weighted][:seed=S]`` -> keyword arguments of :func:`heavy_hex_graph`."""
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


# ---------------------------------------------------------------------------- cut values
def _linear_bits(coeffs: np.ndarray) -> np.ndarray:
    """``s[z] = sum_i coeffs[i] * bit_i(z)`` for all ``z < 2^len(coeffs)`` by doubling."""
    s = np.zeros(1)
    for c in coeffs:
        s = np.concatenate([s, s + c])
    return s


def cut_diagonal(problem: MaxCutProblem, num_nodes: int | None = None) -> np.ndarray:
    """``C(z)`` for every ``z`` over the first ``num_nodes`` nodes (default all).

    Built by doubling, O(2^n) memory and time: adding node ``k`` splits each value
    into ``z_k = 0`` (edges to earlier nodes with bit 1 are cut) and ``z_k = 1``.
    Edges to nodes ``>= num_nodes`` are ignored.
    """
    n = problem.n if num_nodes is None else num_nodes
    wmat = _weight_matrix(problem)
    diag = np.zeros(1)
    for k in range(n):
        s = _linear_bits(wmat[k, :k])
        total = wmat[k, :k].sum()
        diag = np.concatenate([diag + s, diag + (total - s)])
    return diag


def _weight_matrix(problem: MaxCutProblem) -> np.ndarray:
    wmat = np.zeros((problem.n, problem.n))
    for u, v, w in problem.edges:
        wmat[u, v] = wmat[v, u] = w
    return wmat


def brute_force_max_cut(problem: MaxCutProblem, max_nodes: int = BRUTE_FORCE_MAX_NODES) -> tuple[float, int]:
    """Exact maximum cut and one optimal outcome (node ``n-1`` fixed to side 0).

    Vectorised over ``2^(n-1)`` assignments in chunks; n = 24 takes a few seconds.
    """
    n = problem.n
    if n > max_nodes:
        raise ProblemError(
            f"brute force is limited to n <= {max_nodes} (got n={n}); use heuristic_max_cut or raise max_nodes"
        )
    if n == 1:
        return 0.0, 0
    wmat = _weight_matrix(problem)
    free = n - 1  # node n-1 stays on side 0: C(z) = C(~z)
    low = min(free, _BRUTE_FORCE_CHUNK_BITS)
    base = cut_diagonal(problem, num_nodes=low)  # cuts among the low nodes
    # Edges from the high nodes (low..n-1) to the low nodes, for each low assignment:
    # with high node h on side b, edge (l, h) is cut iff z_l != b.
    to_low = [_linear_bits(wmat[h, :low]) for h in range(low, n)]
    high_w = wmat[low:, low:]
    best, best_z = -np.inf, 0
    for hz in range(2 ** (free - low)):
        hbits = [(hz >> j) & 1 for j in range(free - low)] + [0]
        values = base.copy()
        for j, b in enumerate(hbits):
            h_total = wmat[low + j, :low].sum()
            values += (h_total - to_low[j]) if b else to_low[j]
        inner = sum(high_w[a, c] for a in range(len(hbits)) for c in range(a) if hbits[a] != hbits[c])
        k = int(np.argmax(values))
        if values[k] + inner > best:
            best = float(values[k] + inner)
            best_z = k | (hz << low)
    return best, best_z


def heuristic_max_cut(problem: MaxCutProblem, *, restarts: int = 64, seed=None) -> tuple[float, int]:
    """Best 1-flip local-search cut over random restarts and its outcome integer (see :mod:`hybrid.maxcut`)."""
    from .maxcut import local_search_max_cut

    result = local_search_max_cut(problem, restarts=restarts, seed=seed)
    return result.value, sum(1 << i for i, s in enumerate(result.sides) if s)


# ---------------------------------------------------------------------------- features
FEATURE_NAMES = ("inv_sqrt_n", "degree_angle", "degree_spread", "edge_density", "triangle_density")


def graph_features(problem: MaxCutProblem) -> np.ndarray:
    """Instance features for the sequence models, bounded so they extrapolate in n.

    * ``inv_sqrt_n``: ``1 / sqrt(n)``;
    * ``degree_angle``: ``arctan(1 / sqrt(d - 1))`` of the mean weighted degree ``d``
      (in units of the mean edge weight; ``pi/2`` for ``d <= 1``): the mean degree
      mapped to the fixed-angle gamma, which tracks the p = 1 optimum closely;
    * ``degree_spread``: standard deviation over mean of the weighted degree;
    * ``edge_density``: ``2m / n(n-1)``;
    * ``triangle_density``: triangles over ``C(n, 3)``.
    """
    n = problem.n
    wbar = float(np.mean(problem.weights))
    deg = problem.degrees(weighted=True) / wbar
    mean_deg = float(deg.mean())
    angle = math.atan(1.0 / math.sqrt(mean_deg - 1.0)) if mean_deg > 1.0 else math.pi / 2
    density = 2 * problem.m / (n * (n - 1)) if n > 1 else 0.0
    triangles = sum(nx.triangles(problem.to_networkx()).values()) / 3
    tri_density = triangles / math.comb(n, 3) if n >= 3 else 0.0
    spread = float(deg.std()) / mean_deg if mean_deg > 0 else 0.0
    return np.array([1.0 / math.sqrt(n), angle, spread, density, tri_density], dtype=float)


#: Names of :func:`family_features`, in order.
FAMILY_FEATURE_NAMES = (
    "inv_sqrt_n",
    "degree_angle",
    "degree_spread",
    "edge_density",
    "transitivity",
    "weight_spread",
    "degree_regularity",
    "inv_mean_degree",
)


def family_features(problem: MaxCutProblem) -> np.ndarray:
    """Instance features that tell the graph families apart, bounded and O(m) to compute.

    Every entry lies in ``[0, 1]`` (``degree_angle`` in ``[0, pi/2]``) whatever ``n``,
    so a model trained on n <= 12 sees familiar inputs at n = 1000:

    * ``inv_sqrt_n``: ``1 / sqrt(n)``;
    * ``degree_angle``: ``arctan(1 / sqrt(d - 1))`` of the mean weighted degree ``d`` in
      units of the mean edge weight (``pi/2`` for ``d <= 1``): the fixed-angle gamma;
    * ``degree_spread``: coefficient of variation of the weighted degree, ``min(., 1)``;
    * ``edge_density``: ``2m / n(n-1)`` (dense G(n, k/n) graphs versus sparse families);
    * ``transitivity``: ``3 * triangles / connected triples`` (0 for trees and
      triangle-free graphs; about the edge probability for G(n, p)); counted over
      edges by neighbour-set intersection, ``O(m * d_max)``;
    * ``weight_spread``: coefficient of variation of the edge weights, ``min(., 1)``
      (0 for unit graphs; about 0.47 for uniform weights on [0.1, 1]);
    * ``degree_regularity``: fraction of nodes whose (unweighted) degree is the most
      common one (1 for regular graphs);
    * ``inv_mean_degree``: ``1 / mean unweighted degree`` (0 for an edgeless graph).
    """
    n, m = problem.n, problem.m
    w = problem.weights
    wbar = float(np.mean(w)) if m else 1.0
    deg_w = problem.degrees(weighted=True) / wbar
    mean_w = float(deg_w.mean()) if n else 0.0
    angle = math.atan(1.0 / math.sqrt(mean_w - 1.0)) if mean_w > 1.0 else math.pi / 2
    spread = min(float(deg_w.std()) / mean_w, 1.0) if mean_w > 0 else 0.0
    density = 2 * m / (n * (n - 1)) if n > 1 else 0.0
    nbrs: list[set[int]] = [set() for _ in range(n)]
    for u, v, _ in problem.edges:
        nbrs[u].add(v)
        nbrs[v].add(u)
    closed = sum(len(nbrs[u] & nbrs[v]) for u, v, _ in problem.edges)  # 3 per triangle
    deg = np.array([len(s) for s in nbrs], dtype=float)
    triples = float((deg * (deg - 1) / 2).sum())
    transitivity = closed / triples if triples > 0 else 0.0
    weight_spread = min(float(np.std(w)) / wbar, 1.0) if m else 0.0
    regularity = float(np.bincount(deg.astype(int)).max()) / n if n else 0.0
    inv_degree = 1.0 / float(deg.mean()) if m else 0.0
    return np.array(
        [1.0 / math.sqrt(n), angle, spread, density, transitivity, weight_spread, regularity, inv_degree], dtype=float
    )
