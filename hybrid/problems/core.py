"""Max-Cut problems: the validated graph, JSON I/O, the cut diagonal and exact optima.

Conventions (used everywhere in the project):

* nodes are ``0..n-1``; qubit ``i`` is node ``i``; an outcome index ``z`` has node
  ``i`` on side ``(z >> i) & 1`` (qiskit's little-endian order);
* the cut value is ``C(z) = sum_e w_e [z_u != z_v]`` and we *maximise* it;
* the approximation ratio of an expected cut is ``<C> / max_cut``.

Ising and QUBO problems are the same object with two more terms (:mod:`.ising` builds them):
``C(z) = sum_e w_e [z_u != z_v] + sum_i h_i z_i + offset``, edge weights of either sign,
still maximised; the problem's ``sense`` says whether the user's objective is ``C``
(``"max"``) or ``-C`` (``"min"``: a QUBO ``x^T Q x`` or an Ising energy to minimise). Their
approximation ratio is ``(<C> - C_min) / (C_max - C_min)``, which is ``<C> / max_cut`` for
Max-Cut with positive weights (``C_min = 0``, the empty cut), so Max-Cut numbers are unchanged.

The JSON format (read by :mod:`.files`) is the one of ``shared/benchmarks/paper_maxcut_graphs.json``: a list
of objects with ``id``, ``n``, ``edges`` (``[[u, v, w], ...]``) and optionally
``max_cut`` (plus free-form extra fields, which are kept in ``meta``).

Longer than 600 lines: the problem class, its validation, its values (the diagonal, brute force)
and the check of a given optimum share one definition of ``C``.

This module sits at the bottom of the data flow: it imports only :mod:`hybrid.maxcut`
(classical cut algorithms and bounds; lazily, as it loads scipy) and qiskit's ``SparsePauliOp``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Sequence

import networkx as nx
import numpy as np

#: Largest n solved by brute force by default (2^(n-1) cut values, float64).
BRUTE_FORCE_MAX_NODES = 26
#: A given ``max_cut`` is checked by brute force up to this many nodes (n = 20: ~0.1 s).
MAX_CUT_CHECK_BRUTE_NODES = 20
#: Above brute force, a given ``max_cut`` is checked against the SDP dual bound up to this many
#: nodes (n = 1000: ~4 s on a loaded 2-core machine) and the eigenvalue bound ``n/4 lambda_max(L)`` beyond.
MAX_CUT_CHECK_SDP_NODES = 1000
#: Sweeps of the SDP ascent in the check: any point gives a valid (if looser) dual bound.
MAX_CUT_CHECK_SDP_SWEEPS = 40
#: Above this many nodes ``with_max_cut`` uses 1-flip local search and the eigenvalue bound instead of
#: Goemans-Williamson (whose rank-sqrt(2n) SDP takes hours at n = 100,000).
MAX_CUT_GW_MAX_NODES = 5000
#: Relative slack of the ``max_cut`` check (rounding in the file's decimal digits).
MAX_CUT_CHECK_RTOL = 1e-6
#: Chunk of outcomes evaluated at once in brute force (memory bound, 8 bytes each).
_BRUTE_FORCE_CHUNK_BITS = 22

#: Graph specs beginning with this name a device's coupling map (:mod:`hybrid.device_graphs`).
DEVICE_SPEC_PREFIX = "heavyhex:"

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
    #: Linear terms ``h_i`` on ``z_i`` (one per node), or None for none (Max-Cut).
    fields: tuple[float, ...] | None = None
    #: Constant added to every value.
    offset: float = 0.0
    #: ``"max"``: the user's objective is ``C``; ``"min"``: it is ``-C`` (QUBO, Ising energy).
    sense: str = "max"
    #: ``C_min``, the lowest value (0 for Max-Cut with positive weights); filled by ``with_max_cut``.
    min_value: float | None = None

    def __post_init__(self) -> None:
        _validate_normalised(self.n, self.edges)
        _validate_terms(self)
        if self.is_max_cut:
            object.__setattr__(self, "min_value", 0.0)
        if self.max_cut is not None:
            if not math.isfinite(self.max_cut) or (self.is_max_cut and self.max_cut <= 0):
                raise ProblemError(f"max_cut must be a positive finite number, got {self.max_cut!r}")
            if self.max_cut > self.value_upper_bound + 1e-9 * max(1.0, abs(self.value_upper_bound)):
                what = "the total edge weight" if self.is_max_cut else "the sum of the positive terms"
                raise ProblemError(
                    f"max_cut={self.max_cut} exceeds {what} {self.value_upper_bound}; "
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

    @property
    def is_max_cut(self) -> bool:
        """Plain Max-Cut: positive weights, no fields, no offset (then ``C_min = 0``)."""
        return self.fields is None and self.offset == 0.0 and all(w > 0 for _, _, w in self.edges)

    @property
    def field_array(self) -> np.ndarray:
        """The linear terms ``h`` as an ``(n,)`` array (zeros for Max-Cut)."""
        return np.zeros(self.n) if self.fields is None else np.asarray(self.fields, dtype=float)

    @property
    def value_upper_bound(self) -> float:
        """``offset`` plus every positive edge weight and field: no assignment scores more."""
        h = self.field_array
        return float(self.offset + sum(w for _, _, w in self.edges if w > 0) + h[h > 0].sum())

    @property
    def mixed_value(self) -> float:
        """``<C>`` of the maximally mixed state (and of ``|+>^n``): ``sum w / 2 + sum h / 2 + offset``.

        The asymptote of depolarised energies (ZNE) and the natural scale of ``C``.
        """
        return float(self.total_weight / 2 + self.field_array.sum() / 2 + self.offset)

    @property
    def cost_scale(self) -> float:
        """The scale of ``C`` known without solving: the total weight for Max-Cut, ``sum |w| + sum |h|`` beyond."""
        if self.is_max_cut:
            return self.total_weight
        return float(np.abs(self.weights).sum() + np.abs(self.field_array).sum())

    @property
    def cost_floor(self) -> float:
        """``mixed_value - cost_scale / 2``: 0 for Max-Cut, so ``(C - floor) / scale`` is the cut over the total weight."""
        return self.mixed_value - self.cost_scale / 2

    def objective_value(self, value: float) -> float:
        """A value of ``C`` in the user's terms: ``C`` when ``sense`` is ``max``, ``-C`` when ``min``."""
        return float(value) if self.sense == "max" else -float(value)

    def cut_graph(self) -> "MaxCutProblem":
        """The same values as a plain cut on ``n + 1`` nodes (offset aside): node ``n`` is an anchor
        on side 0 joined to node ``i`` by an edge of weight ``h_i``, since ``z_i = [z_i != z_anchor]``.

        Cuts are symmetric under flipping every side, so the best cut of this graph, with the anchor
        put back on side 0, is the best assignment of the problem. Classical solvers use it.
        """
        if self.fields is None:
            return replace(self, offset=0.0, meta={}) if self.offset else self
        edges = list(self.edges) + [(i, self.n, float(h)) for i, h in enumerate(self.fields) if h != 0.0]
        return MaxCutProblem(n=self.n + 1, edges=tuple(sorted(edges)), id=self.id)

    def negated(self) -> "MaxCutProblem":
        """``-C`` as a problem (its maximum is ``-C_min``)."""
        fields = None if self.fields is None else tuple(-h for h in self.fields)
        return MaxCutProblem(n=self.n, edges=tuple((u, v, -w) for u, v, w in self.edges), id=self.id,
                             fields=fields, offset=-self.offset, sense="min" if self.sense == "max" else "max")

    def degrees(self, weighted: bool = True) -> np.ndarray:
        """Degree of every node: the sum of ``|w|`` over its edges (``weighted``; the weighted degree
        for Max-Cut, the coupling strength for Ising problems), or the count of its edges."""
        deg = np.zeros(self.n)
        for u, v, w in self.edges:
            inc = abs(w) if weighted else 1.0
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
        """The diagonal ``C(z)`` for all ``2^n`` outcomes (float64): the cut, plus fields and offset."""
        return cut_diagonal(self)

    def cut_of(self, bits: int | Sequence[int]) -> float:
        """``C`` of one assignment (an outcome integer or a 0/1 sequence): the cut, fields and offset."""
        if isinstance(bits, (int, np.integer)):
            side = [(int(bits) >> i) & 1 for i in range(self.n)]
        else:
            side = [int(b) for b in bits]
            if len(side) != self.n:
                raise ProblemError(f"assignment has {len(side)} entries, the graph has {self.n} nodes")
        value = float(sum(w for u, v, w in self.edges if side[u] != side[v]))
        if self.fields is not None:
            value += float(sum(h for h, b in zip(self.fields, side) if b))
        return value + self.offset

    def values_of(self, sides: np.ndarray) -> np.ndarray:
        """``C`` of many assignments at once: ``sides`` is ``(k, n)`` of 0/1; returns ``(k,)``."""
        sides = np.asarray(sides)
        ends = self.edge_array
        out = (sides[:, ends[:, 0]] != sides[:, ends[:, 1]]) @ self.weights
        if self.fields is not None:
            out = out + sides @ self.field_array
        return out + self.offset

    def with_max_cut(self, max_nodes: int = BRUTE_FORCE_MAX_NODES, seed=None) -> "MaxCutProblem":
        """This problem with ``max_cut`` (and, beyond Max-Cut, ``min_value``) filled in; for Max-Cut:
        brute force up to ``max_nodes``, else
        the best-known cut of Goemans-Williamson + local search (:mod:`hybrid.maxcut`; above
        :data:`MAX_CUT_GW_MAX_NODES`, local search and the eigenvalue bound), marked ``"heuristic"``, or ``"exact"`` when the SDP upper bound certifies it;
        ``meta`` records ``max_cut_method``, ``max_cut_upper_bound`` and ``max_cut_bound_method``."""
        if not self.is_max_cut:
            return _with_extremes(self, max_nodes, seed)
        if self.max_cut is not None:
            return self
        if self.n <= max_nodes:
            value, _ = brute_force_max_cut(self)
            return replace(self, max_cut=value, max_cut_source=MAX_CUT_EXACT)
        from ..maxcut import best_known_cut, is_certified  # lazily: scipy adds ~0.8 s to every import

        if self.n > MAX_CUT_GW_MAX_NODES:
            from ..maxcut import BOUND_EIGENVALUE, CutResult, eigenvalue_upper_bound, local_search_max_cut

            cut = local_search_max_cut(self, restarts=4, seed=seed)
            found = CutResult(cut.value, cut.sides, cut.method, eigenvalue_upper_bound(self), BOUND_EIGENVALUE)
        else:
            found = best_known_cut(self, seed=seed)
        meta = dict(self.meta, max_cut_method=found.method, max_cut_upper_bound=found.upper_bound,
                    max_cut_bound_method=found.bound_method)
        source = MAX_CUT_EXACT if is_certified(found) else MAX_CUT_HEURISTIC
        return replace(self, max_cut=found.value, max_cut_source=source, meta=meta)

    def approximation_ratio(self, expected_cut: float | np.ndarray) -> float | np.ndarray:
        """``(<C> - C_min) / (max_cut - C_min)`` (computing them if needed): ``<C> / max_cut`` for Max-Cut."""
        known = self if self.max_cut is not None and self.min_value is not None else self.with_max_cut()
        low, span = known.min_value, known.max_cut - known.min_value
        if span <= 0:
            raise ProblemError("every assignment has the same value: the approximation ratio is undefined")
        if np.ndim(expected_cut):
            return (np.asarray(expected_cut) - low) / span
        return (float(expected_cut) - low) / span

    @property
    def ar_definition(self) -> str:
        """What the approximation ratio divides, in words."""
        best = "max cut" if self.max_cut_source == MAX_CUT_EXACT else "best-known cut"
        if self.is_max_cut:
            return f"expected cut / {best}"
        return f"(<C> - C_min) / ({'C_max' if self.max_cut_source == MAX_CUT_EXACT else 'best-known C'} - C_min)"

    def cost_operator(self):
        """``C = sum_e w_e (I - Z_u Z_v) / 2 + sum_i h_i (I - Z_i) / 2 + offset`` as a ``SparsePauliOp``."""
        from qiskit.quantum_info import SparsePauliOp

        terms = [("ZZ", [u, v], -w / 2.0) for u, v, w in self.edges]
        terms += [("Z", [i], -h / 2.0) for i, h in enumerate(self.field_array) if h != 0.0]
        terms.append(("", [], self.mixed_value))
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
        if not self.is_max_cut:
            data["fields"] = None if self.fields is None else list(self.fields)
            data["offset"] = self.offset
            data["sense"] = self.sense
            if self.min_value is not None:
                data["min_value"] = self.min_value
        data.update({k: v for k, v in self.meta.items() if k not in data})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "graph") -> "MaxCutProblem":
        if not isinstance(data, dict):
            raise ProblemError(f"{where}: expected an object with 'n' and 'edges', got {type(data).__name__}")
        if any(key in data for key in ISING_KEYS):
            raise ProblemError(f"{where}: a 'qubo' or 'ising' object is read by hybrid.problems.problem_from_dict")
        if "edges" not in data:
            raise ProblemError(f"{where}: missing 'edges' (a list of [u, v, w] or [u, v]), or a 'qubo' or 'ising' entry")
        edges = data["edges"]
        if not isinstance(edges, list):
            raise ProblemError(f"{where}: 'edges' must be a list of [u, v, w], got {type(edges).__name__}")
        known = {"id", "n", "m", "edges", "max_cut", "max_cut_source", "labels", "fields", "offset", "sense", "min_value"}
        meta = {k: v for k, v in data.items() if k not in known}
        _check_node_ids(edges, data.get("n"), where)
        n = data.get("n")
        if n is None and edges:  # nodes are 0..n-1 as written: never relabelled, gaps are isolated nodes
            n = max(int(x) for e in edges for x in e[:2]) + 1
        problem = from_edges(
            edges,
            n=n,
            id=data.get("id"),
            where=where,
            labels=data.get("labels"),
            meta=meta,
        )
        if "m" in data and data["m"] is not None and int(data["m"]) != problem.m:
            raise ProblemError(f"{where}: 'm'={data['m']} but {problem.m} edges are listed")
        problem = _with_terms(problem, data, where)
        if data.get("max_cut") is not None:
            source = data.get("max_cut_source", MAX_CUT_EXACT)
            problem = replace(problem, max_cut=float(data["max_cut"]), max_cut_source=source)
        return problem


#: Keys of a graph-file object that describe a QUBO or an Ising problem (:mod:`.ising`).
ISING_KEYS = ("qubo", "ising")
#: ``sense`` values.
SENSES = ("max", "min")


# ---------------------------------------------------------------------------- validation
def _validate_terms(problem: "MaxCutProblem") -> None:
    if problem.fields is not None:
        if len(problem.fields) != problem.n:
            raise ProblemError(f"fields has {len(problem.fields)} entries for n={problem.n} nodes")
        fields = tuple(float(h) for h in problem.fields)
        if not all(math.isfinite(h) for h in fields):
            raise ProblemError("fields must be finite numbers")
        object.__setattr__(problem, "fields", fields if any(fields) else None)
    if not (isinstance(problem.offset, (int, float, np.integer, np.floating)) and math.isfinite(problem.offset)):
        raise ProblemError(f"offset must be a finite number, got {problem.offset!r}")
    object.__setattr__(problem, "offset", float(problem.offset) + 0.0)  # no -0.0
    if problem.sense not in SENSES:
        raise ProblemError(f"sense must be one of {SENSES}, got {problem.sense!r}")


def _with_terms(problem: "MaxCutProblem", data: dict[str, Any], where: str) -> "MaxCutProblem":
    """The ``fields``, ``offset``, ``sense`` and ``min_value`` of a graph-file object, checked."""
    fields = data.get("fields")
    if fields is not None and (not isinstance(fields, list) or len(fields) != problem.n
                               or any(isinstance(h, bool) or not isinstance(h, (int, float)) for h in fields)):
        raise ProblemError(f"{where}: 'fields' must be a list of {problem.n} numbers (one per node)")
    offset = data.get("offset", 0.0)
    if isinstance(offset, bool) or not isinstance(offset, (int, float)):
        raise ProblemError(f"{where}: 'offset' must be a number, got {offset!r}")
    try:
        out = replace(problem, fields=None if fields is None else tuple(float(h) for h in fields),
                      offset=float(offset), sense=data.get("sense", "max"))
    except ProblemError as exc:
        raise ProblemError(f"{where}: {exc}") from exc
    if data.get("min_value") is not None and not out.is_max_cut:
        out = replace(out, min_value=float(data["min_value"]))
    return out


def _with_extremes(problem: "MaxCutProblem", max_nodes: int, seed) -> "MaxCutProblem":
    """``max_cut`` (= ``C_max``) and ``min_value`` of a problem beyond plain Max-Cut.

    Exact by brute force over :meth:`MaxCutProblem.cut_graph` up to ``max_nodes``; above, the
    best of 1-flip local search with restarts (``heuristic``: the ratio may then read high).
    """
    out = problem
    for upper in (True, False):
        have = out.max_cut if upper else out.min_value
        if have is not None:
            continue
        side = problem if upper else problem.negated()
        if side.n <= max_nodes:
            value, _ = brute_force_max_cut(side, max_nodes=max_nodes)  # the offset included
            source = MAX_CUT_EXACT
        else:
            from ..maxcut import local_search_max_cut

            value = local_search_max_cut(side.cut_graph(), restarts=64, seed=seed).value + side.offset
            source = MAX_CUT_HEURISTIC
        if upper:
            meta = dict(out.meta, max_cut_method="brute-force" if source == MAX_CUT_EXACT else "local-search")
            out = replace(out, max_cut=float(value), max_cut_source=source, meta=meta)
        else:
            out = replace(out, min_value=float(-value))
    return out


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
        if not (isinstance(w, float) and math.isfinite(w) and w != 0):
            raise ProblemError(f"edge ({u}, {v}) has weight {w!r}; weights must be finite and nonzero")


def _check_node_ids(edges: list, n: Any, where: str) -> None:
    """Graph files name nodes by the integers ``0..n-1``: no strings, floats, bools, negatives or gaps past n."""
    if n is not None and (isinstance(n, bool) or not _is_int_label(n) or n < 1):
        raise ProblemError(f"{where}: 'n' must be a positive integer, got {n!r}")
    for k, item in enumerate(edges):
        if not isinstance(item, (list, tuple)) or len(item) not in (2, 3):
            raise ProblemError(f"{where}: edge #{k} must be [u, v] or [u, v, w], got {item!r}")
        for x in item[:2]:
            if not _is_int_label(x):
                raise ProblemError(
                    f"{where}: edge #{k} names node {x!r}; nodes are the integers 0..n-1 (relabel the graph)"
                )
            if x < 0 or (n is not None and x >= n):
                bound = f"0..{n - 1}" if n is not None else "0..n-1"
                raise ProblemError(f"{where}: edge #{k} names node {x}, outside {bound}; fix the edge or 'n'")


def check_max_cut(problem: "MaxCutProblem", where: str = "graph", *, seed=0) -> None:
    """Refuse a given ``max_cut`` that is not the optimum: below a cut found or above an upper bound.

    Brute force up to :data:`MAX_CUT_CHECK_BRUTE_NODES` (the value must be the optimum);
    above, 1-flip local search gives a cut the value may not undercut, and the SDP dual bound
    (the eigenvalue bound above :data:`MAX_CUT_CHECK_SDP_NODES`) one it may not exceed.
    """
    given = problem.max_cut
    if given is None:
        return
    slack = MAX_CUT_CHECK_RTOL * max(1.0, abs(given))
    advice = "fix the max_cut field or drop it (it is then computed)"
    if not problem.is_max_cut:
        if problem.n > MAX_CUT_CHECK_BRUTE_NODES:
            from ..maxcut import local_search_max_cut

            found = local_search_max_cut(problem.cut_graph(), restarts=4, seed=seed).value + problem.offset
            if given < found - slack:
                raise ProblemError(f"{where}: max_cut={given:g} is below a value of {found:g} found by local search; {advice}")
            return
        exact, _ = brute_force_max_cut(problem)
        if abs(given - exact) > slack:
            raise ProblemError(f"{where}: max_cut={given:g} but the largest value of C is {exact:g} (brute force); {advice}")
        return
    if problem.n <= MAX_CUT_CHECK_BRUTE_NODES:
        exact, _ = brute_force_max_cut(problem)
        if abs(given - exact) > slack:
            raise ProblemError(f"{where}: max_cut={given:g} but the maximum cut is {exact:g} (brute force); {advice}")
        return
    from ..maxcut import BOUND_EIGENVALUE, burer_monteiro, eigenvalue_upper_bound, local_search_max_cut, sdp_upper_bound

    small = problem.n <= MAX_CUT_CHECK_SDP_NODES
    found = local_search_max_cut(problem, restarts=4 if small else 1, seed=seed).value
    if given < found - slack:
        raise ProblemError(f"{where}: max_cut={given:g} is below a cut of {found:g} found by local search; {advice}")
    if small:
        v, _ = burer_monteiro(problem, seed=seed, max_sweeps=MAX_CUT_CHECK_SDP_SWEEPS)
        bound, method = sdp_upper_bound(problem, v)
    else:
        bound, method = eigenvalue_upper_bound(problem), BOUND_EIGENVALUE
    if given > bound + slack:
        raise ProblemError(f"{where}: max_cut={given:g} is above the {method} upper bound {bound:g}; {advice}")


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
        if w == 0:
            raise ProblemError(
                f"{where}: edge #{k} ({u!r}, {v!r}) has weight 0; drop zero-weight edges "
                "(negative weights are allowed: the ratio is then (<C> - C_min) / (C_max - C_min))"
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
    if num_nodes is None and (problem.fields is not None or problem.offset):
        diag += _linear_bits(problem.field_array) + problem.offset
    return diag


def _weight_matrix(problem: MaxCutProblem) -> np.ndarray:
    wmat = np.zeros((problem.n, problem.n))
    for u, v, w in problem.edges:
        wmat[u, v] = wmat[v, u] = w
    return wmat


def brute_force_max_cut(problem: MaxCutProblem, max_nodes: int = BRUTE_FORCE_MAX_NODES) -> tuple[float, int]:
    """Exact maximum cut and one optimal outcome (node ``n-1`` fixed to side 0).

    Vectorised over ``2^(n-1)`` assignments in chunks; n = 24 takes a few seconds. Beyond
    Max-Cut (fields, offset) the largest ``C`` and an outcome reaching it, over the problem's
    :meth:`~MaxCutProblem.cut_graph` (one node more).
    """
    if problem.fields is not None or problem.offset:
        if problem.n > max_nodes:
            raise ProblemError(f"brute force is limited to n <= {max_nodes} (got n={problem.n})")
        value, z = brute_force_max_cut(problem.cut_graph(), max_nodes=max_nodes + 1)
        if (z >> problem.n) & 1:  # the anchor on side 1: flip every side
            z ^= (1 << (problem.n + 1)) - 1
        return value + problem.offset, z & ((1 << problem.n) - 1)
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
    from ..maxcut import local_search_max_cut

    result = local_search_max_cut(problem, restarts=restarts, seed=seed)
    return result.value, sum(1 << i for i, s in enumerate(result.sides) if s)


