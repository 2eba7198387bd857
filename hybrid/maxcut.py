"""Max cut beyond brute force: a strong heuristic cut and a certified upper bound.

* :func:`goemans_williamson`: the Max-Cut SDP ``max 1/4 <L, X>, diag(X) = 1, X >= 0``
  solved in Burer-Monteiro form ``X = V V^T`` (unit rows of rank ``r ~ sqrt(2n)``,
  above which every local optimum is global for almost all costs) by block
  coordinate ascent: each row becomes ``-normalise(sum_j w_ij v_j)``, all rows of one
  colour class of a proper node colouring at once (they do not interact, so this is
  exactly the sequential "mixing" update); then random-hyperplane rounding and
  1-flip local search on every rounded cut.
* :func:`sdp_upper_bound`: a certified bound from the SDP dual: for any ``y``,
  ``max cut <= sum(y) - n * lambda_min(Diag(y) - L/4)``, with ``y`` taken from the
  Burer-Monteiro solution (tight at the SDP optimum); the eigenvalue bound
  ``n/4 * lambda_max(L)`` is the case ``y = 0``.
* :func:`local_search_max_cut`: randomised 1-flip local search with restarts.

:func:`best_known_cut` combines them and says what it used.

The functions take any problem with ``n``, ``edge_array`` and ``weights`` (a
:class:`~hybrid.problems.MaxCutProblem`) and import nothing from the project, so
:mod:`hybrid.problems` can use them (one direction only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse

#: Rounding hyperplanes per Goemans-Williamson run.
GW_ROUNDINGS = 64
#: Sweeps of the Burer-Monteiro coordinate ascent (stops earlier at ``GW_TOL``).
GW_MAX_SWEEPS = 500
#: Relative change of the SDP objective at which the ascent stops.
GW_TOL = 1e-9
#: Dense eigenvalue problems up to this size; sparse Lanczos (with a residual correction) above.
DENSE_EIG_MAX = 3000

#: Lanczos tolerance and iteration cap of :func:`eigenvalue_upper_bound` (the residual is added to the bound).
EIG_BOUND_TOL, EIG_BOUND_MAXITER = 1e-3, 3000

METHOD_GW = "goemans-williamson+local-search"
METHOD_LOCAL = "local-search"
BOUND_SDP = "sdp-dual"
BOUND_EIGENVALUE = "eigenvalue"


@dataclass(frozen=True)
class CutResult:
    """A cut (``sides[i]`` in {0, 1}), its value, how it was found, and an upper bound if computed."""

    value: float
    sides: tuple[int, ...]
    method: str
    upper_bound: float | None = None
    bound_method: str | None = None
    sdp_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "sides": list(self.sides),
            "method": self.method,
            "upper_bound": self.upper_bound,
            "bound_method": self.bound_method,
            "sdp_value": self.sdp_value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CutResult":
        return cls(
            value=float(data["value"]),
            sides=tuple(int(s) for s in data["sides"]),
            method=str(data["method"]),
            upper_bound=None if data.get("upper_bound") is None else float(data["upper_bound"]),
            bound_method=data.get("bound_method"),
            sdp_value=None if data.get("sdp_value") is None else float(data["sdp_value"]),
        )


def _rng(seed) -> np.random.Generator:
    """The ``seed`` convention (int, Generator or None; None means 0 here): a Generator passes through."""
    return np.random.default_rng(seed if seed is not None else 0)


def weight_matrix(problem) -> sparse.csr_matrix:
    """Symmetric sparse ``W`` with ``W[u, v] = W[v, u] = w``."""
    ends, w = problem.edge_array, problem.weights
    rows = np.concatenate([ends[:, 0], ends[:, 1]])
    cols = np.concatenate([ends[:, 1], ends[:, 0]])
    return sparse.csr_matrix((np.concatenate([w, w]), (rows, cols)), shape=(problem.n, problem.n))


def cut_value(wmat: sparse.csr_matrix, spins: np.ndarray) -> float:
    """``sum_{i<j} w_ij (1 - s_i s_j) / 2`` for spins ``s`` in {-1, +1}."""
    total = wmat.sum() / 2
    return float((total - spins @ (wmat @ spins) / 2) / 2)


def one_flip(wmat: sparse.csr_matrix, spins: np.ndarray) -> np.ndarray:
    """Flip the best improving node until none improves (a 1-flip local optimum)."""
    spins = spins.astype(float).copy()
    field = wmat @ spins
    gain = spins * field  # cut gain of flipping i: sum_j w_ij s_i s_j
    indptr, indices, data = wmat.indptr, wmat.indices, wmat.data
    while True:
        i = int(np.argmax(gain))
        if gain[i] <= 1e-12:
            return spins
        spins[i] = -spins[i]
        nb, w = indices[indptr[i] : indptr[i + 1]], data[indptr[i] : indptr[i + 1]]
        field[nb] += 2 * spins[i] * w
        gain[nb] = spins[nb] * field[nb]
        gain[i] = -gain[i]


def local_search_max_cut(problem, *, restarts: int = 64, seed=None) -> CutResult:
    """Best of ``restarts`` random starts, each taken to a 1-flip local optimum."""
    rng = _rng(seed)
    wmat = weight_matrix(problem)
    best, best_spins = -np.inf, None
    for _ in range(restarts):
        spins = one_flip(wmat, rng.integers(0, 2, size=problem.n) * 2.0 - 1)
        value = cut_value(wmat, spins)
        if value > best:
            best, best_spins = value, spins
    return CutResult(best, tuple(int(s > 0) for s in best_spins), METHOD_LOCAL)


def burer_monteiro(problem, *, rank: int | None = None, seed=None, max_sweeps: int = GW_MAX_SWEEPS, tol: float = GW_TOL):
    """Unit rows ``V`` (n, rank) at a stationary point of the Max-Cut SDP, and the SDP objective."""
    rng = _rng(seed)
    n = problem.n
    rank = rank or max(2, int(math.ceil(math.sqrt(2 * n))) + 1)
    wmat = weight_matrix(problem)
    colours = nx.greedy_color(problem.to_networkx(), strategy="largest_first")
    classes: dict[int, list[int]] = {}
    for node, c in colours.items():
        classes.setdefault(c, []).append(node)
    blocks = [(np.array(nodes), wmat[nodes]) for _, nodes in sorted(classes.items())]
    v = rng.standard_normal((n, rank))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    total = wmat.sum() / 2
    previous = -np.inf
    for _ in range(max_sweeps):
        for nodes, rows in blocks:
            g = rows @ v
            norm = np.linalg.norm(g, axis=1, keepdims=True)
            keep = norm[:, 0] > 1e-15
            v[nodes[keep]] = -g[keep] / norm[keep]
        value = float((total - np.sum(v * (wmat @ v)) / 2) / 2)
        if value - previous <= tol * max(1.0, abs(value)):
            break
        previous = value
    return v, value


def _lambda_min(matrix: sparse.spmatrix) -> float:
    """A certified lower estimate of the smallest eigenvalue of a symmetric sparse matrix."""
    n = matrix.shape[0]
    if n <= DENSE_EIG_MAX:
        return float(np.linalg.eigvalsh(matrix.toarray())[0])
    from scipy.sparse.linalg import eigsh

    vals, vecs = eigsh(matrix, k=1, which="SA", tol=1e-8)
    residual = float(np.linalg.norm(matrix @ vecs[:, 0] - vals[0] * vecs[:, 0]))
    return float(vals[0]) - residual  # the true eigenvalue nearest a Ritz value is within the residual


def sdp_upper_bound(problem, v: np.ndarray | None = None) -> tuple[float, str]:
    """Certified upper bound on the max cut: the SDP dual at ``y`` from ``v`` (eigenvalue bound if None)."""
    wmat = weight_matrix(problem)
    degree = np.asarray(wmat.sum(axis=1)).ravel()
    lap = sparse.diags(degree) - wmat
    n = problem.n
    if v is None:
        y, method = np.zeros(n), BOUND_EIGENVALUE
    else:
        y = (degree + np.linalg.norm(wmat @ v, axis=1)) / 4  # complementary slackness at the optimum
        method = BOUND_SDP
    mu = _lambda_min(sparse.diags(y) - lap / 4)
    return float(y.sum() - n * mu), method


def eigenvalue_upper_bound(problem) -> float:
    """``n/4 * lambda_max(L)`` by sparse Lanczos (residual added): cheap at any n, looser than the SDP dual."""
    from scipy.sparse.linalg import ArpackNoConvergence, eigsh

    wmat = weight_matrix(problem)
    lap = sparse.diags(np.asarray(wmat.sum(axis=1)).ravel()) - wmat
    n = problem.n
    if n <= 64:
        lam = float(np.linalg.eigvalsh(lap.toarray())[-1])
    else:
        try:
            vals, vecs = eigsh(lap.astype(float), k=1, which="LA", tol=EIG_BOUND_TOL, maxiter=EIG_BOUND_MAXITER)
        except ArpackNoConvergence:
            return _positive_weight(problem)
        lam = float(vals[0]) + float(np.linalg.norm(lap @ vecs[:, 0] - vals[0] * vecs[:, 0]))
    return min(n / 4 * lam, _positive_weight(problem))


def _positive_weight(problem) -> float:
    """The sum of the positive weights, a cut no cut exceeds (the total weight for Max-Cut)."""
    w = problem.weights
    return float(problem.total_weight) if (w > 0).all() else float(w[w > 0].sum())


def goemans_williamson(problem, *, seed=None, roundings: int = GW_ROUNDINGS, rank: int | None = None, bound: bool = True) -> CutResult:
    """Goemans-Williamson rounding of the Burer-Monteiro SDP solution, then 1-flip local search."""
    rng = _rng(seed)
    v, sdp = burer_monteiro(problem, rank=rank, seed=rng)
    wmat = weight_matrix(problem)
    planes = rng.standard_normal((v.shape[1], roundings))
    signs = np.where(v @ planes >= 0, 1.0, -1.0)
    best, best_spins = -np.inf, None
    for k in range(roundings):
        spins = one_flip(wmat, signs[:, k])
        value = cut_value(wmat, spins)
        if value > best:
            best, best_spins = value, spins
    upper, method = sdp_upper_bound(problem, v) if bound else (None, None)
    if upper is not None:
        eig, _ = sdp_upper_bound(problem, None)
        if eig < upper:
            upper, method = eig, BOUND_EIGENVALUE
        upper = max(min(upper, _positive_weight(problem)), best)  # rounding: never below a cut found
    return CutResult(best, tuple(int(s > 0) for s in best_spins), METHOD_GW, upper, method, sdp)


#: Relative gap under which the bound certifies the cut as optimal.
CERTIFIED_GAP = 1e-7


def is_certified(result: CutResult) -> bool:
    """Whether the upper bound proves the cut optimal (relative gap <= :data:`CERTIFIED_GAP`)."""
    return result.upper_bound is not None and result.upper_bound - result.value <= CERTIFIED_GAP * max(1.0, result.value)


def best_known_cut(problem, *, seed=None, bound: bool = True) -> CutResult:
    """The better of Goemans-Williamson (+ local search) and plain local search, with the SDP bound."""
    gw = goemans_williamson(problem, seed=seed, bound=bound)
    ls = local_search_max_cut(problem, restarts=16, seed=seed)
    if ls.value > gw.value + 1e-12:
        return CutResult(ls.value, ls.sides, METHOD_LOCAL, gw.upper_bound, gw.bound_method, gw.sdp_value)
    return gw
