"""Ising and QUBO problems, written as cuts with fields so every oracle runs them.

A problem here is ``C(z) = sum_e w_e [z_u != z_v] + sum_i h_i z_i + offset`` over bits
``z_i`` (node ``i`` = qubit ``i``; ``Z_i = 1 - 2 z_i``), maximised (see :mod:`.core`). The
usual forms map onto it exactly:

* **QUBO** ``f(x) = x^T Q x + q^T x + c`` over ``x in {0, 1}^n`` (``Q`` need not be
  symmetric; its diagonal is linear since ``x_i^2 = x_i``), minimised by default. With
  ``a_uv = Q_uv + Q_vu`` and ``x_u x_v = (x_u + x_v - [x_u != x_v]) / 2``, ``C = -f`` has
  ``w_uv = a_uv / 2``, ``h_i = -(Q_ii + q_i) - sum_{v != i} a_iv / 2`` and ``offset = -c``; a
  maximised QUBO keeps ``C = f`` (every sign flipped).
* **Ising** ``H(s) = sum J_uv s_u s_v + sum h_i s_i + c`` over spins ``s_i = 1 - 2 z_i`` (the
  eigenvalue of ``Z_i``), minimised: ``C = -H`` has ``w_uv = 2 J_uv``, ``h_i = 2 h_i``,
  ``offset = -(sum J + sum h + c)``.
* **``SparsePauliOp``** of ``I``, ``Z_i`` and ``Z_u Z_v`` terms with real coefficients: the
  Ising energy above (the Hamiltonian QAOA minimises in Qiskit's tutorials).
* **``QuadraticProgram``** (``qiskit-optimization``, the ``optimization`` extra): binary
  variables; constraints become penalties through its ``QuadraticProgramToQubo``.

Every problem keeps its ``sense``: results report ``C`` (the value maximised) and the
objective in the user's terms (:meth:`~hybrid.problems.MaxCutProblem.objective_value`).

Families with known optima for tests and benchmarks: Sherrington-Kirkpatrick instances
(:func:`sk_instance`), random QUBOs (:func:`random_qubo`), and the worked QUBO of Glover,
Kochenberger and Du, "Quantum Bridge Analytics I: a tutorial on formulating and using QUBO
models", 4OR 17 (2019), Sec. 2 (:func:`glover_qubo`, minimum -11 at x = 1001).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .core import MaxCutProblem, ProblemError, as_rng

#: Largest |coefficient| ratio kept as a term: smaller couplings are dropped as rounding noise.
_ZERO = 1e-12


def _build(n: int, pairs: dict[tuple[int, int], float], fields: np.ndarray, offset: float, *, sense: str,
           id=None, where: str, meta: dict[str, Any]) -> MaxCutProblem:
    scale = max([abs(w) for w in pairs.values()] + [float(np.abs(fields).max(initial=0.0)), 1e-300])
    edges = tuple((u, v, float(w)) for (u, v), w in sorted(pairs.items()) if abs(w) > _ZERO * scale)
    if not edges:
        raise ProblemError(f"{where}: the problem has no quadratic term; it is solved bit by bit, QAOA is not needed")
    h = tuple(float(x) if abs(x) > _ZERO * scale else 0.0 for x in fields)
    return MaxCutProblem(n=n, edges=edges, id=id, fields=h, offset=float(offset), sense=sense, meta=meta)


def _check_sense(sense: str, where: str) -> str:
    if sense not in ("min", "max"):
        raise ProblemError(f"{where}: 'sense' must be 'min' or 'max', got {sense!r}")
    return sense


def from_qubo(Q, linear: Sequence[float] | None = None, constant: float = 0.0, *, sense: str = "min",
              id=None, where: str = "qubo", meta: dict[str, Any] | None = None) -> MaxCutProblem:
    """The QUBO ``f(x) = x^T Q x + linear . x + constant`` (``sense``: ``min`` or ``max``) as a problem.

    ``C = -f`` when minimised, ``C = f`` when maximised; ``sense`` is kept so results can report ``f``.
    """
    Q = np.asarray(Q, dtype=float)
    if Q.ndim != 2 or Q.shape[0] != Q.shape[1] or Q.shape[0] < 2:
        raise ProblemError(f"{where}: the QUBO matrix must be square, n x n with n >= 2, got shape {Q.shape}")
    if not np.isfinite(Q).all():
        raise ProblemError(f"{where}: the QUBO matrix has a non-finite entry")
    n = Q.shape[0]
    q = np.zeros(n) if linear is None else np.asarray(linear, dtype=float)
    if q.shape != (n,) or not np.isfinite(q).all():
        raise ProblemError(f"{where}: 'linear' must be {n} finite numbers")
    if not math.isfinite(float(constant)):
        raise ProblemError(f"{where}: 'constant' must be finite")
    sign = -1.0 if _check_sense(sense, where) == "min" else 1.0
    a = Q + Q.T
    # sign * f = sum_{u<v} sign a_uv x_u x_v + sum_i sign (Q_ii + q_i) x_i + sign c, and
    # x_u x_v = (x_u + x_v - [x_u != x_v]) / 2
    pairs = {(u, v): -sign * a[u, v] / 2 for u in range(n) for v in range(u + 1, n) if a[u, v] != 0}
    off_diagonal = a - np.diag(np.diag(a))
    fields = sign * (np.diag(Q) + q) + sign * off_diagonal.sum(1) / 2
    info = dict(meta or {})
    info.setdefault("problem_class", "qubo")
    return _build(n, pairs, fields, sign * float(constant), sense=sense, id=id, where=where, meta=info)


def from_ising(couplings: Sequence[Sequence[float]], fields: Sequence[float] | None = None, constant: float = 0.0,
               *, n: int | None = None, id=None, where: str = "ising", meta: dict[str, Any] | None = None) -> MaxCutProblem:
    """The Ising energy ``H(s) = sum J_uv s_u s_v + sum h_i s_i + constant`` (minimised) as a problem.

    ``couplings`` are ``[u, v, J]``; spins ``s_i = 1 - 2 z_i`` are the eigenvalues of ``Z_i``.
    """
    items = [tuple(c) for c in couplings]
    if n is None:
        n = max([max(int(c[0]), int(c[1])) + 1 for c in items] + [len(fields) if fields is not None else 0])
    h = np.zeros(n) if fields is None else np.asarray(fields, dtype=float)
    if h.shape != (n,) or not np.isfinite(h).all():
        raise ProblemError(f"{where}: 'h' must be {n} finite numbers")
    pairs: dict[tuple[int, int], float] = {}
    total = 0.0
    for k, item in enumerate(items):
        if len(item) != 3:
            raise ProblemError(f"{where}: coupling #{k} must be [u, v, J], got {list(item)!r}")
        u, v, J = item
        if isinstance(u, bool) or isinstance(v, bool) or not float(u).is_integer() or not float(v).is_integer():
            raise ProblemError(f"{where}: coupling #{k} names spins {u!r}, {v!r}; spins are the integers 0..n-1")
        u, v, J = int(u), int(v), float(J)
        if not (0 <= u < n and 0 <= v < n) or u == v or not math.isfinite(J):
            raise ProblemError(f"{where}: coupling #{k} ({u}, {v}, {J}) needs two distinct spins in 0..{n - 1} and a finite J")
        key = (min(u, v), max(u, v))
        pairs[key] = pairs.get(key, 0.0) + 2 * J  # s_u s_v = 1 - 2 [z_u != z_v], and C = -H
        total += J
    info = dict(meta or {})
    info.setdefault("problem_class", "ising")
    return _build(n, pairs, 2 * h, -(total + float(h.sum()) + float(constant)), sense="min", id=id, where=where, meta=info)


def from_sparse_pauli_op(op, *, id=None, where: str = "operator", meta: dict[str, Any] | None = None) -> MaxCutProblem:
    """A diagonal ``SparsePauliOp`` of ``I``, ``Z_i`` and ``Z_u Z_v`` terms, as the Ising energy it is (minimised)."""
    from qiskit.quantum_info import SparsePauliOp

    if not isinstance(op, SparsePauliOp):
        raise ProblemError(f"{where}: expected a qiskit SparsePauliOp, got {type(op).__name__}")
    op = op.simplify()
    n = op.num_qubits
    couplings, fields, constant = [], np.zeros(n), 0.0
    for label, qubits, coeff in op.to_sparse_list():
        if abs(np.imag(coeff)) > 1e-12:
            raise ProblemError(f"{where}: the term {label} on {list(qubits)} has a complex coefficient {coeff}")
        c = float(np.real(coeff))
        if set(label) - {"Z"}:
            raise ProblemError(f"{where}: the term {label} on {list(qubits)} is not diagonal: only I, Z and ZZ terms are a cost")
        if len(qubits) == 0:
            constant += c
        elif len(qubits) == 1:
            fields[qubits[0]] += c
        elif len(qubits) == 2:
            couplings.append([qubits[0], qubits[1], c])
        else:
            raise ProblemError(f"{where}: the term Z^{len(qubits)} on {list(qubits)} acts on more than two qubits")
    info = dict(meta or {})
    info.setdefault("problem_class", "ising")
    return from_ising(couplings, fields, constant, n=n, id=id, where=where, meta=info)


def from_quadratic_program(qp, *, id=None, penalty: float | None = None) -> MaxCutProblem:
    """A ``qiskit_optimization.QuadraticProgram`` over binary variables (constraints as penalties)."""
    try:
        from qiskit_optimization.converters import QuadraticProgramToQubo
    except ImportError as exc:  # pragma: no cover - the extra is installed with dev
        raise ProblemError("QuadraticProgram input needs qiskit-optimization: pip install -e '.[optimization]'") from exc
    if qp.get_num_vars() < 2:
        raise ProblemError(f"{qp.name or 'program'}: needs at least two binary variables")
    if qp.linear_constraints or qp.quadratic_constraints or any(v.vartype.name != "BINARY" for v in qp.variables):
        qp = QuadraticProgramToQubo(penalty=penalty).convert(qp)
    obj = qp.objective
    sense = "min" if obj.sense.name == "MINIMIZE" else "max"
    names = [v.name for v in qp.variables]
    return from_qubo(obj.quadratic.to_array(), obj.linear.to_array(), float(obj.constant), sense=sense,
                     id=id if id is not None else (qp.name or None), where=qp.name or "program",
                     meta={"problem_class": "quadratic-program", "variables": names})


def from_dict(data: dict[str, Any], where: str = "problem") -> MaxCutProblem:
    """A graph-file object with a ``qubo`` or ``ising`` entry.

    * ``{"id": ..., "qubo": [[...], ...], "linear": [...], "constant": c, "sense": "min"}``;
    * ``{"id": ..., "ising": {"J": [[u, v, J], ...], "h": [...], "constant": c}}`` (minimised).

    ``max_cut`` (the largest ``C``) may be given and is checked like a graph's.
    """
    from dataclasses import replace

    known = {"id", "qubo", "linear", "constant", "sense", "ising", "max_cut", "max_cut_source", "min_value", "n"}
    meta = {k: v for k, v in data.items() if k not in known}
    if "qubo" in data and "ising" in data:
        raise ProblemError(f"{where}: give either 'qubo' or 'ising', not both")
    if "qubo" in data:
        matrix = data["qubo"]
        if not isinstance(matrix, list) or not all(isinstance(r, list) for r in matrix):
            raise ProblemError(f"{where}: 'qubo' must be a square matrix (a list of rows)")
        problem = from_qubo(matrix, data.get("linear"), data.get("constant", 0.0), sense=data.get("sense", "min"),
                            id=data.get("id"), where=where, meta=meta)
    else:
        spec = data["ising"]
        if not isinstance(spec, dict) or "J" not in spec:
            raise ProblemError(f"{where}: 'ising' must be an object with 'J' ([[u, v, J], ...]), 'h' and 'constant'")
        problem = from_ising(spec["J"], spec.get("h"), spec.get("constant", 0.0), n=data.get("n"), id=data.get("id"),
                             where=where, meta=meta)
    if data.get("max_cut") is not None:
        problem = replace(problem, max_cut=float(data["max_cut"]), max_cut_source=data.get("max_cut_source", "exact"))
    return problem


# ---------------------------------------------------------------------------- families
def sk_instance(n: int, *, seed=None, id=None) -> MaxCutProblem:
    """A Sherrington-Kirkpatrick instance: ``H = sum_{u<v} J_uv s_u s_v / sqrt(n)``, ``J_uv = +-1`` at random."""
    rng = as_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n, n))
    couplings = [[u, v, signs[u, v] / math.sqrt(n)] for u in range(n) for v in range(u + 1, n)]
    return from_ising(couplings, None, n=n, id=id, where="sk", meta={"problem_class": "sk"})


def random_qubo(n: int, *, density: float = 0.5, seed=None, id=None) -> MaxCutProblem:
    """A random QUBO to minimise: each pair coupled with probability ``density``, integer entries in
    ``[-10, 10]`` (off-diagonal) and ``[-10, 10]`` (diagonal), as in the QUBO benchmarks of Glover et al."""
    rng = as_rng(seed)
    Q = np.zeros((n, n))
    for u in range(n):
        Q[u, u] = rng.integers(-10, 11)
        for v in range(u + 1, n):
            if rng.random() < density:
                Q[u, v] = rng.integers(-10, 11)
    if not np.triu(Q, 1).any():
        Q[0, 1] = 1.0
    return from_qubo(Q, id=id, where="random_qubo", meta={"problem_class": "qubo", "density": density})


def glover_qubo() -> MaxCutProblem:
    """The worked QUBO of Glover, Kochenberger and Du (2019), Sec. 2: minimise
    ``-5x1 - 3x2 - 8x3 - 6x4 + 4x1x2 + 8x1x3 + 2x2x3 + 10x3x4``; the minimum is -11 at ``x = (1, 0, 0, 1)``."""
    Q = np.array([[-5, 2, 4, 0], [2, -3, 1, 0], [4, 1, -8, 5], [0, 0, 5, -6]], dtype=float)
    return from_qubo(Q, id="glover2019", meta={"problem_class": "qubo", "source": "Glover, Kochenberger, Du, 4OR 2019, Sec. 2"})
