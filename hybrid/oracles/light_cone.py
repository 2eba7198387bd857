"""Exact ideal QAOA ``<C>`` from edge light cones, isomorphic cones simulated once.

For depth ``p``, ``<Z_u Z_v>`` depends only on the nodes within distance ``p`` of
``{u, v}`` (Heisenberg picture: the mixer keeps the support of an operator, one
cost layer adds the neighbours of the support, and cost gates on edges that do not
touch the support commute with the operator). The cone of edge ``(u, v)`` is the
subgraph induced by that ball, less the edges whose endpoints are both at distance
exactly ``p`` (they never touch the support, so they cancel exactly). Simulating
the cone as a statevector gives ``<Z_u Z_v>`` exactly, and

    <C> = sum_e w_e (1 - <Z_u Z_v>_e) / 2.

Many edges have the same cone up to an isomorphism that keeps the edge ``{u, v}``
and the weights (a random 3-regular graph of 1000 nodes has about ten distinct
cones at p = 2; a heavy-hex lattice a few dozen at p = 3). Cones are grouped by a
Weisfeiler-Lehman colour refinement (rooted at ``{u, v}``, weights on the edges),
and each group is checked by an exact isomorphism search, so two cones share a
simulation only when they are isomorphic. The distinct cones of one size are
simulated together as one batched torch statevector run, so values are
differentiable (autograd) in the parameters.

Ising and QUBO problems (fields ``h``, edge weights of either sign) add the fields to the
cones (a field on a node at distance exactly ``p`` never touches the support and is
dropped, like the boundary edges), and one node cone per nonzero field for ``<Z_i>``: the
ball of radius ``p`` around ``i``. Cones are then isomorphic only when the fields and the
kind of root (an edge or a node) match too, and

    <C> = sum_e w_e (1 - <Z_u Z_v>_e) / 2 + sum_i h_i (1 - <Z_i>) / 2 + offset.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from backends.progress import progress_bar

from ..problems import MaxCutProblem, ProblemError, from_edges
from .base import AutogradOracle
from .statevector import STATEVECTOR_MAX_NODES, IdealOracle

#: Largest light cone (qubits) simulated exactly; a cone state takes 16 * 2^k bytes per point.
MAX_CONE_QUBITS = 24
#: Memory for one batched cone run (bytes of complex128 amplitudes, times the autograd overhead).
_CHUNK_BYTES = 2**28
#: Amplitude tensors kept per layer and row by autograd, roughly (sizes the chunks).
_TENSORS_PER_LAYER = 8


class LightConeError(ProblemError):
    """A light cone too large to simulate exactly; the message names the edge and the way out."""


@dataclass(frozen=True)
class ConeClass:
    """One distinct light cone: its local graph and the edges of the problem that share it.

    Local node 0 and 1 are the edge's endpoints; ``edges`` are ``(a, b, w)`` in local
    labels; ``members`` are the problem's edges ``(u, v)`` with this cone, and
    ``weight`` the sum of their weights (the class contributes
    ``weight * (1 - <Z_0 Z_1>) / 2``). ``fields`` are the local fields (None: none).
    A node cone (``root == "node"``, fields only) is rooted at local node 0 alone: its
    ``members`` are ``(i,)`` and ``weight`` the sum of their fields (it contributes
    ``weight * (1 - <Z_0>) / 2``).
    """

    num_qubits: int
    edges: tuple[tuple[int, int, float], ...]
    members: tuple[tuple[int, ...], ...]
    weight: float
    fields: tuple[float, ...] | None = None
    root: str = "edge"

    @property
    def count(self) -> int:
        return len(self.members)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "num_qubits": self.num_qubits,
            "edges": [list(e) for e in self.edges],
            "members": [list(m) for m in self.members],
            "weight": self.weight,
        }
        if self.fields is not None:
            data["fields"] = list(self.fields)
        if self.root != "edge":
            data["root"] = self.root
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ConeClass":
        fields = data.get("fields")
        return cls(
            num_qubits=int(data["num_qubits"]),
            edges=tuple((int(a), int(b), float(w)) for a, b, w in data["edges"]),
            members=tuple(tuple(int(x) for x in m) for m in data["members"]),
            weight=float(data["weight"]),
            fields=None if fields is None else tuple(float(h) for h in fields),
            root=str(data.get("root", "edge")),
        )


def _adjacency(problem: MaxCutProblem) -> list[dict[int, float]]:
    nbrs: list[dict[int, float]] = [dict() for _ in range(problem.n)]
    for u, v, w in problem.edges:
        nbrs[u][v] = w
        nbrs[v][u] = w
    return nbrs


def _ball(nbrs: list[dict[int, float]], u: int, v: int | None, p: int, limit: int | None = None):
    """Nodes within distance ``p`` of ``{u, v}`` in BFS order (u, v first) and their distances.

    ``v=None``: the ball around the single node ``u``. Stops early (returns what it has)
    once more than ``limit`` nodes are found.
    """
    order = [u] if v is None else [u, v]
    dist = {x: 0 for x in order}
    frontier = list(order)
    for d in range(1, p + 1):
        nxt = []
        for x in frontier:
            for y in sorted(nbrs[x]):
                if y not in dist:
                    dist[y] = d
                    nxt.append(y)
        order.extend(nxt)
        frontier = nxt
        if limit is not None and len(order) > limit:
            break
    return order, dist


def edge_light_cone(problem: MaxCutProblem, u: int, v: int, p: int, *, _nbrs=None):
    """The light cone of edge ``(u, v)`` at depth ``p``.

    Returns ``(nodes, edges, dist)``: the problem's nodes in local order (``u``, ``v``,
    then by distance), the cone's edges ``(a, b, w)`` in local labels (``a < b``), and
    each local node's distance from ``{u, v}``.
    """
    nbrs = _nbrs if _nbrs is not None else _adjacency(problem)
    if v not in nbrs[u]:
        raise ProblemError(f"({u}, {v}) is not an edge of the graph")
    return _cone(nbrs, u, v, p)


def node_light_cone(problem: MaxCutProblem, i: int, p: int, *, _nbrs=None):
    """The light cone of ``<Z_i>`` at depth ``p``: the ball of radius ``p`` around ``i``.

    Returns ``(nodes, edges, dist, fields)`` as :func:`edge_light_cone` (node ``i`` is local
    node 0), plus the local fields (0 on the nodes at distance ``p``, which never touch the support).
    """
    nbrs = _nbrs if _nbrs is not None else _adjacency(problem)
    nodes, edges, dist = _cone(nbrs, i, None, p)
    return nodes, edges, dist, _local_fields(problem, nodes, dist, p)


def _local_fields(problem: MaxCutProblem, nodes, dist, p: int) -> tuple[float, ...]:
    """The fields of a cone's nodes in local order; 0 at distance ``p`` (they cancel exactly)."""
    h = problem.field_array
    return tuple(float(h[x]) if d < p else 0.0 for x, d in zip(nodes, dist))


def _cone(nbrs, u: int, v: int | None, p: int):
    order, dist = _ball(nbrs, u, v, p)
    local = {x: i for i, x in enumerate(order)}
    edges = []
    for x in order:
        for y, w in nbrs[x].items():
            j = local.get(y)
            if j is None or local[x] >= j:
                continue
            if dist[x] == p and dist[y] == p:
                continue  # never touches the support: cancels exactly
            edges.append((local[x], j, w))
    edges.sort()
    return tuple(order), tuple(edges), tuple(dist[x] for x in order)


# ---------------------------------------------------------------------------- isomorphism
def _refine(k: int, edges: Sequence[tuple[int, int, float]], dist: Sequence[int],
            fields: Sequence[float] | None = None) -> list[int]:
    """Weisfeiler-Lehman colours (isomorphism-invariant ints), rooted by distance from the edge
    (and starting from the fields, when given)."""
    adj: list[list[tuple[float, int]]] = [[] for _ in range(k)]
    for a, b, w in edges:
        adj[a].append((w, b))
        adj[b].append((w, a))
    if fields is None:
        colors = [hash(("d", d)) for d in dist]
    else:
        colors = [hash(("d", d, h)) for d, h in zip(dist, fields)]
    classes = len(set(colors))
    for _ in range(k):
        colors = [hash((colors[x], tuple(sorted((w, colors[y]) for w, y in adj[x])))) for x in range(k)]
        new = len(set(colors))
        if new == classes:
            break
        classes = new
    return colors


def _cone_key(k: int, edges, colors) -> tuple:
    pairs = tuple(sorted((min(colors[a], colors[b]), max(colors[a], colors[b]), w) for a, b, w in edges))
    return (k, len(edges), tuple(sorted(colors)), pairs)


def _isomorphic(k: int, e1, c1, e2, c2, *, f1=None, f2=None, roots: int = 2) -> bool:
    """Exact check: a bijection keeping colours, the root (edge {0, 1}, or node 0 when
    ``roots=1``), the fields ``f1``/``f2`` (when given) and weighted adjacency.

    Backtracking over colour classes; the refinement makes it near-linear in practice.
    """
    adj1 = [dict() for _ in range(k)]
    adj2 = [dict() for _ in range(k)]
    for a, b, w in e1:
        adj1[a][b] = adj1[b][a] = w
    for a, b, w in e2:
        adj2[a][b] = adj2[b][a] = w
    by_color: dict[int, list[int]] = {}
    for y in range(k):
        by_color.setdefault(c2[y], []).append(y)
    # visit nodes so that each has a mapped neighbour when possible (BFS from the root edge)
    order, seen = [], set()
    for start in range(k):
        if start in seen:
            continue
        queue = [start]
        seen.add(start)
        while queue:
            x = queue.pop(0)
            order.append(x)
            for y in sorted(adj1[x]):
                if y not in seen:
                    seen.add(y)
                    queue.append(y)
    mapping: dict[int, int] = {}
    used: set[int] = set()

    def candidates(x: int):
        if x < roots:
            return [y for y in range(roots) if c2[y] == c1[x]]
        for y, _ in adj1[x].items():
            if y in mapping:  # a mapped neighbour narrows the choice to its neighbours
                return [z for z in adj2[mapping[y]] if c2[z] == c1[x] and z >= roots]
        return [z for z in by_color.get(c1[x], ()) if z >= roots]

    def consistent(x: int, z: int) -> bool:
        if len(adj1[x]) != len(adj2[z]):
            return False
        if f1 is not None and f1[x] != f2[z]:
            return False
        for y, w in adj1[x].items():
            if y in mapping and adj2[z].get(mapping[y]) != w:
                return False
        return True

    def extend(i: int) -> bool:
        if i == len(order):
            return True
        x = order[i]
        for z in candidates(x):
            if z in used or not consistent(x, z):
                continue
            mapping[x] = z
            used.add(z)
            if extend(i + 1):
                return True
            del mapping[x]
            used.discard(z)
        return False

    return extend(0)


# ---------------------------------------------------------------------------- oracle
class LightConeOracle(AutogradOracle):
    """Exact ideal ``<C>`` for graphs of any size whose edge light cones fit in a statevector.

    ``expectation(theta)`` takes ``(..., 2p)`` and returns ``(...)`` with autograd.
    ``classes`` lists the distinct cones; ``build_time`` the seconds spent finding them.
    A cone above ``max_cone_qubits`` raises :class:`LightConeError` naming the edge.
    """

    exact = True
    method = "light-cone"

    def __init__(
        self,
        problem: MaxCutProblem,
        p: int,
        *,
        max_cone_qubits: int = MAX_CONE_QUBITS,
        device: str | torch.device = "cpu",
        verify: bool = True,
    ):
        if not isinstance(p, (int, np.integer)) or p < 1:
            raise ProblemError(f"p must be a positive integer, got {p!r}")
        if not isinstance(max_cone_qubits, (int, np.integer)) or not 2 <= max_cone_qubits <= STATEVECTOR_MAX_NODES:
            raise ProblemError(
                f"max_cone_qubits must be an integer in [2, {STATEVECTOR_MAX_NODES}], got {max_cone_qubits!r}"
            )
        start = time.perf_counter()
        self.problem, self.p, self.device = problem, int(p), torch.device(device)
        self.max_cone_qubits = int(max_cone_qubits)
        nbrs = _adjacency(problem)
        self._check_sizes(nbrs)
        groups: dict[tuple, list[list]] = {}  # key -> [[edges, colors, members, weight, fields], ...]
        has_fields = problem.fields is not None
        field_nodes = [(i, h) for i, h in enumerate(problem.field_array) if h != 0.0] if has_fields else []
        with progress_bar("light cones: classifying edges", problem.m + len(field_nodes)) as bar:
            for u, v, w in problem.edges:
                nodes, edges, dist = edge_light_cone(problem, u, v, self.p, _nbrs=nbrs)
                fields = _local_fields(problem, nodes, dist, self.p) if has_fields else None
                self._classify(groups, "edge", (u, v), w, edges, dist, fields, verify)
                bar.advance()
            for i, h in field_nodes:
                _, edges, dist, fields = node_light_cone(problem, i, self.p, _nbrs=nbrs)
                self._classify(groups, "node", (i,), h, edges, dist, fields, verify)
                bar.advance()
        classes = []
        for key, bucket in groups.items():
            root = "node" if key[0] == "node" else "edge"
            size = key[1] if root == "node" else key[0]
            for edges, _, members, weight, fields in bucket:
                classes.append(ConeClass(size, tuple(edges), tuple(members), float(weight), fields, root))
        classes.sort(key=lambda c: (c.num_qubits, -c.count))
        self.classes: tuple[ConeClass, ...] = tuple(classes)
        self._groups = self._build_groups()
        self.build_time = time.perf_counter() - start

    @staticmethod
    def _classify(groups, root: str, member, weight: float, edges, dist, fields, verify: bool) -> None:
        """Add one cone to its isomorphism class in ``groups`` (a new class when none matches)."""
        k = len(dist)
        if fields is not None and not any(fields):
            fields = None
        colors = _refine(k, edges, dist, fields)
        key = _cone_key(k, edges, colors)
        if root == "node":
            key = ("node",) + key
        roots = 1 if root == "node" else 2
        bucket = groups.setdefault(key, [])
        for entry in bucket:
            if (entry[4] is None) != (fields is None):
                continue
            if not verify or _isomorphic(k, edges, colors, entry[0], entry[1], f1=fields, f2=entry[4], roots=roots):
                entry[2].append(member)
                entry[3] += weight
                break
        else:
            bucket.append([edges, colors, [member], weight, fields])

    # ---------------------------------------------------------------- checks
    def _check_sizes(self, nbrs) -> None:
        limit = self.max_cone_qubits
        for u, v, _ in self.problem.edges:
            order, _ = _ball(nbrs, u, v, self.p, limit=limit)
            if len(order) > limit:
                full, _ = _ball(nbrs, u, v, self.p)
                fits = self.largest_depth(self.problem, limit, _nbrs=nbrs)
                lower = f"p <= {fits} fits" if fits >= 1 else "no depth fits"
                raise LightConeError(
                    f"edge ({u}, {v}) has a light cone of {len(full)} qubits at p={self.p}, above "
                    f"max_cone_qubits={limit} (a cone needs 16 * 2^k bytes per point): exact light "
                    f"cones need sparse graphs and small p ({lower} for this graph). Lower p, use a "
                    "sparser graph, or estimate the energy from shots on a sampling target instead "
                    "(make_oracle(problem, p, target, shots=...))"
                )

    @staticmethod
    def largest_depth(problem: MaxCutProblem, max_cone_qubits: int = MAX_CONE_QUBITS, *, _nbrs=None, max_p: int = 8) -> int:
        """The largest ``p <= max_p`` at which every edge's cone has at most ``max_cone_qubits`` qubits (0: none)."""
        nbrs = _nbrs if _nbrs is not None else _adjacency(problem)
        best = 0
        for p in range(1, max_p + 1):
            for u, v, _ in problem.edges:
                order, _ = _ball(nbrs, u, v, p, limit=max_cone_qubits)
                if len(order) > max_cone_qubits:
                    return best
            best = p
        return best

    # ---------------------------------------------------------------- simulation
    def _build_groups(self):
        if self.problem.fields is None:
            by_size: dict[int, list[int]] = {}
            for i, c in enumerate(self.classes):
                by_size.setdefault(c.num_qubits, []).append(i)
            groups = []
            for k, indices in sorted(by_size.items()):
                problems = [from_edges(self.classes[i].edges, n=k) for i in indices]
                sim = IdealOracle(problems[0], self.p, device=self.device)
                cuts = torch.stack([torch.as_tensor(pr.cut_values(), dtype=torch.float64) for pr in problems])
                z = torch.arange(2**k)
                zz = (1 - 2 * ((z & 1) ^ ((z >> 1) & 1))).to(torch.float64)
                weights = torch.tensor([self.classes[i].weight for i in indices], dtype=torch.float64)
                groups.append((k, sim, cuts.to(self.device), zz.to(self.device), weights.to(self.device)))
            return groups
        return self._build_field_groups()

    def _build_field_groups(self):
        """Groups by (size, root) with fields on the cone diagonals; node cones observe ``Z_0``."""
        by_size: dict[tuple[int, str], list[int]] = {}
        for i, c in enumerate(self.classes):
            by_size.setdefault((max(c.num_qubits, 2), c.root), []).append(i)  # a lone node runs on 2 qubits
        groups = []
        for (k, root), indices in sorted(by_size.items()):
            sim = IdealOracle(from_edges([(0, 1)], n=k), self.p, device=self.device)
            cuts = torch.stack([torch.as_tensor(_cone_diagonal(k, self.classes[i].edges, self.classes[i].fields))
                                for i in indices])
            z = torch.arange(2**k)
            parity = (z & 1) if root == "node" else ((z & 1) ^ ((z >> 1) & 1))
            obs = (1 - 2 * parity).to(torch.float64)
            weights = torch.tensor([self.classes[i].weight for i in indices], dtype=torch.float64)
            groups.append((k, sim, cuts.to(self.device), obs.to(self.device), weights.to(self.device)))
        return groups

    def zz_expectations(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """``<Z_0 Z_1>`` of every class (``<Z_0>`` of node cones), per size group: tensors ``(K, B)``
        for ``theta`` (B, 2p)."""
        flat = torch.as_tensor(theta, dtype=torch.float64, device=self.device).reshape(-1, 2 * self.p)
        batch = flat.shape[0]
        out = []
        with progress_bar("light cones", len(self.classes)) as bar:
            for k, sim, cuts, zz, _ in self._groups:
                num = cuts.shape[0]
                rows = max(1, _CHUNK_BYTES // (16 * 2**k * (1 + _TENSORS_PER_LAYER * self.p)))
                per = max(1, rows // batch)  # classes per chunk (all points of a class together)
                parts = []
                for lo in range(0, num, per):
                    c = cuts[lo : lo + per]
                    reps = c.shape[0]
                    theta_rows = flat.repeat(reps, 1)  # class-major: class i, point b at i * batch + b
                    cut_rows = c.repeat_interleave(batch, dim=0)
                    probs = sim._probabilities(theta_rows, cut_rows)
                    parts.append((probs @ zz).reshape(reps, batch))
                    bar.advance(reps)
                out.append(torch.cat(parts, 0))
        return out

    def expectation(self, theta: torch.Tensor) -> torch.Tensor:
        theta = torch.as_tensor(theta, dtype=torch.float64, device=self.device)
        if theta.shape[-1] != 2 * self.p:
            raise ProblemError(f"theta must end in 2p={2 * self.p} entries (gammas then betas), got {tuple(theta.shape)}")
        shape = theta.shape[:-1]
        total = None
        for (k, _, _, _, weights), zz in zip(self._groups, self.zz_expectations(theta)):
            part = (weights[:, None] * (1 - zz) / 2).sum(0)
            total = part if total is None else total + part
        if self.problem.offset:
            total = total + self.problem.offset
        return total.reshape(shape)

    # ---------------------------------------------------------------- reporting
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def largest_cone(self) -> int:
        return max(c.num_qubits for c in self.classes)

    def describe(self) -> dict[str, Any]:
        sizes: dict[int, int] = {}
        for c in self.classes:
            sizes[c.num_qubits] = sizes.get(c.num_qubits, 0) + 1
        return {
            "method": self.method,
            "p": self.p,
            "edges": self.problem.m,
            "distinct_cones": self.num_classes,
            **({"node_cones": sum(c.root == "node" for c in self.classes)} if self.problem.fields is not None else {}),
            "largest_cone_qubits": self.largest_cone,
            "cones_by_size": {str(k): v for k, v in sorted(sizes.items())},
            "build_seconds": round(self.build_time, 4),
        }


def _cone_diagonal(k: int, edges, fields) -> np.ndarray:
    """``C(z)`` of a cone on ``k`` qubits: its cut plus its fields (offsets are global phases)."""
    z = np.arange(2**k)
    bits = (z[:, None] >> np.arange(k)) & 1
    diag = np.zeros(2**k)
    for a, b, w in edges:
        diag += w * (bits[:, a] ^ bits[:, b])
    if fields is not None:
        diag += bits[:, : len(fields)] @ np.asarray(fields, dtype=float)
    return diag


def cone_sizes(problem: MaxCutProblem, p: int) -> np.ndarray:
    """Qubits in each edge's light cone at depth ``p`` (edge order of ``problem.edges``)."""
    nbrs = _adjacency(problem)
    return np.array([len(_ball(nbrs, u, v, p)[0]) for u, v, _ in problem.edges], dtype=int)
