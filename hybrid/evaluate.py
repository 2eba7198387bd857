"""Cost oracles: QAOA parameters (a batch) -> expected cuts (+ gradients).

* :class:`IdealOracle`: exact noiseless expectation, differentiable in torch
  (precomputed cut diagonal, batched statevector); :func:`p1_expectation` is the
  closed form at p = 1 for large sparse graphs (also differentiable).
* :class:`SampledOracle`: shots on any target: mean cut, standard error, CVaR and
  the best sampled cut.
* :class:`NoisyExactOracle`: the exact noisy expectation on a target that offers
  exact probabilities (``fake:<device>``: a density matrix of the active qubits
  only, readout error applied exactly); gradients by central or forward
  differences, all shifted points in one simulator call.

All oracles report the *expected cut* ``<C>`` (maximised); divide by
``problem.max_cut`` for the approximation ratio.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch

from backends.capabilities import Capability, supports

from .ansatz import qaoa_circuit, weight_scale
from .problems import MaxCutProblem, ProblemError, as_rng

#: Largest n simulated as a full statevector by the ideal oracle.
STATEVECTOR_MAX_NODES = 24
#: Qubits per dense block of the mixer in the statevector oracle.
MIXER_BLOCK_QUBITS = 4
#: Default step of finite-difference gradients on exact oracles.
FD_STEP = 1e-4


@dataclass(frozen=True)
class Evaluation:
    """Energies of a parameter batch (expected cut per point) and what they cost."""

    params: np.ndarray
    energies: np.ndarray
    stderr: np.ndarray
    shots: int = 0
    cvar: np.ndarray | None = None
    best_cut: float | None = None
    best_bitstring: str | None = None
    job_ids: tuple[str, ...] = ()
    wall_time: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def num_points(self) -> int:
        return int(self.energies.shape[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params.tolist(),
            "energies": self.energies.tolist(),
            "stderr": self.stderr.tolist(),
            "shots": self.shots,
            "cvar": None if self.cvar is None else self.cvar.tolist(),
            "best_cut": self.best_cut,
            "best_bitstring": self.best_bitstring,
            "job_ids": list(self.job_ids),
            "wall_time": self.wall_time,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Evaluation":
        return cls(
            params=np.asarray(data["params"], float),
            energies=np.asarray(data["energies"], float),
            stderr=np.asarray(data["stderr"], float),
            shots=int(data.get("shots", 0)),
            cvar=None if data.get("cvar") is None else np.asarray(data["cvar"], float),
            best_cut=data.get("best_cut"),
            best_bitstring=data.get("best_bitstring"),
            job_ids=tuple(data.get("job_ids", ())),
            wall_time=float(data.get("wall_time", 0.0)),
            metadata=dict(data.get("metadata", {})),
        )


class Oracle(Protocol):
    problem: MaxCutProblem
    p: int
    exact: bool

    def evaluate(self, params: np.ndarray, seed: int | np.random.Generator | None = None) -> Evaluation: ...

    def value_and_grad(
        self, theta: np.ndarray, seed: int | np.random.Generator | None = None
    ) -> tuple[float, np.ndarray, Evaluation]: ...


def exact_gradient_charge(p: int, kind: str, points: int):
    """What a call costs on an exact oracle: points; an autograd gradient as central differences."""
    from .optimize import Charge

    if kind == "value_and_grad":
        return Charge(points * (1 + 4 * p))
    if kind == "evaluate":
        return Charge(points)
    raise ProblemError(f"charge kind must be 'evaluate' or 'value_and_grad', got {kind!r}")


def _as_batch(params: Any, p: int) -> np.ndarray:
    arr = np.asarray(params, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2 * p:
        raise ProblemError(f"params must have shape (B, {2 * p}) for p={p} (gammas then betas), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ProblemError("params contain NaN or inf")
    return arr


# ---------------------------------------------------------------------------- ideal, torch
class IdealOracle:
    """Exact noiseless ``<C>`` by a batched torch statevector (differentiable).

    ``expectation(theta)`` accepts a tensor ``(..., 2p)`` and returns ``(...)``
    with autograd. The cut diagonal is computed once.
    """

    exact = True
    method = "statevector"

    def __init__(self, problem: MaxCutProblem, p: int, *, device: str | torch.device = "cpu"):
        if problem.n > STATEVECTOR_MAX_NODES:
            raise ProblemError(
                f"the statevector oracle is limited to n <= {STATEVECTOR_MAX_NODES} (got n={problem.n}); "
                "use p1_expectation (p = 1) or a sampled target"
            )
        if p < 1:
            raise ProblemError(f"p must be >= 1, got {p}")
        self.problem, self.p, self.device = problem, int(p), torch.device(device)
        self.cut = torch.as_tensor(problem.cut_values(), dtype=torch.float64, device=self.device)
        n = problem.n
        self._dim = 2**n
        block = MIXER_BLOCK_QUBITS
        self._blocks = [block] * (n // block) + ([n % block] if n % block else [])

    def _mix(self, state: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """``exp(-i beta sum_j X_j)``: ``RX(2 beta)^{(x) k}`` blocks applied as matmuls.

        The mixer is the same on every qubit, so a block of ``k`` qubits is one
        ``2^k x 2^k`` symmetric matrix; blocks are applied along the axes of the
        reshaped state (much faster than ``n`` single-qubit updates).
        """
        batch = state.shape[0]
        c = torch.cos(beta).to(state.dtype).view(batch, 1, 1)
        s = (-1j * torch.sin(beta)).to(state.dtype).view(batch, 1, 1)
        rx = torch.cat([torch.cat([c, s], 2), torch.cat([s, c], 2)], 1)  # (B, 2, 2)
        blocks: dict[int, torch.Tensor] = {}
        rest = state.shape[1]
        for k in self._blocks:
            if k not in blocks:
                u = rx
                for _ in range(k - 1):
                    d = u.shape[1]
                    u = torch.einsum("bij,bkl->bikjl", u, rx).reshape(batch, 2 * d, 2 * d)
                blocks[k] = u
            rest //= 2**k
            # state index = high * 2^k * rest + mid * rest + low; block acts on ``mid``
            view = state.reshape(batch, -1, 2**k, rest)
            state = torch.matmul(blocks[k].unsqueeze(1), view).reshape(batch, -1)
        return state

    def probabilities(self, theta: torch.Tensor) -> torch.Tensor:
        theta = torch.as_tensor(theta, dtype=torch.float64, device=self.device)
        shape = theta.shape[:-1]
        flat = theta.reshape(-1, 2 * self.p)
        probs = self._probabilities(flat, self.cut[None, :])
        return probs.reshape(*shape, self._dim)

    def _probabilities(self, flat: torch.Tensor, cut: torch.Tensor) -> torch.Tensor:
        """``flat``: (B, 2p); ``cut``: (1, dim) shared or (B, dim) one diagonal per row."""
        batch = flat.shape[0]
        state = torch.full((batch, self._dim), 1 / math.sqrt(self._dim), dtype=torch.complex128, device=self.device)
        for layer in range(self.p):
            gamma, beta = flat[:, layer], flat[:, self.p + layer]
            state = state * torch.exp(-1j * gamma[:, None] * cut)
            state = self._mix(state, beta)
        return state.real**2 + state.imag**2

    def expectation(self, theta: torch.Tensor) -> torch.Tensor:
        return self.probabilities(theta) @ self.cut

    def evaluate(self, params: Any, seed: int | np.random.Generator | None = None) -> Evaluation:
        start = time.perf_counter()
        batch = _as_batch(params, self.p)
        with torch.no_grad():
            energies = self.expectation(torch.as_tensor(batch)).cpu().numpy()
        return Evaluation(batch, energies, np.zeros_like(energies), wall_time=time.perf_counter() - start)

    def charge(self, kind: str, points: int = 1):
        """Budget charge of a call (:mod:`hybrid.optimize`): a gradient counts as central differences."""
        return exact_gradient_charge(self.p, kind, points)

    def value_and_grad(self, theta: Any, seed: int | np.random.Generator | None = None):
        start = time.perf_counter()
        t = torch.tensor(_as_batch(theta, self.p)[0], dtype=torch.float64, requires_grad=True)
        with torch.enable_grad():  # also inside no_grad contexts (e.g. a custom autograd forward)
            value = self.expectation(t)
            (grad,) = torch.autograd.grad(value, t)
        energy = np.array([float(value.detach())])
        ev = Evaluation(t.detach().numpy()[None, :], energy, np.zeros(1), wall_time=time.perf_counter() - start)
        return float(energy[0]), grad.numpy(), ev


class StackedIdealOracle:
    """Exact ideal ``<C>`` of many graphs at once: row ``g`` of ``theta`` runs on graph ``g``.

    Graphs are grouped by size; each group is one batched statevector run.
    Used by meta-training, where a meta-batch holds many graphs.
    """

    exact = True

    def __init__(self, problems: Sequence[MaxCutProblem], p: int, *, device: str | torch.device = "cpu"):
        if not problems:
            raise ProblemError("StackedIdealOracle needs at least one problem")
        self.problems, self.p = list(problems), int(p)
        groups: dict[int, list[int]] = {}
        for index, problem in enumerate(self.problems):
            groups.setdefault(problem.n, []).append(index)
        self._groups = []
        for n, indices in sorted(groups.items()):
            sim = IdealOracle(self.problems[indices[0]], self.p, device=device)
            cuts = torch.stack([torch.as_tensor(self.problems[i].cut_values(), dtype=torch.float64) for i in indices])
            self._groups.append((sim, torch.tensor(indices), cuts.to(sim.device)))

    def expectation(self, theta: torch.Tensor) -> torch.Tensor:
        """``theta``: (G, 2p) -> (G,) expected cuts, differentiable."""
        theta = torch.as_tensor(theta, dtype=torch.float64)
        if theta.shape != (len(self.problems), 2 * self.p):
            raise ProblemError(f"theta must have shape ({len(self.problems)}, {2 * self.p}), got {tuple(theta.shape)}")
        out = torch.zeros(len(self.problems), dtype=torch.float64, device=theta.device)
        for sim, indices, cuts in self._groups:
            probs = sim._probabilities(theta[indices], cuts)
            out = out.index_put((indices,), (probs * cuts).sum(-1))
        return out

    def moments(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``theta``: (G, 2p) -> ``(<C>, Var(C))``, each (G,); ``<C>`` differentiable.

        ``Var(C) = <C^2> - <C>^2`` of the cut in the exact output distribution: the
        variance of a single shot, so a ``shots``-shot estimate has variance ``Var(C)/shots``.
        """
        theta = torch.as_tensor(theta, dtype=torch.float64)
        if theta.shape != (len(self.problems), 2 * self.p):
            raise ProblemError(f"theta must have shape ({len(self.problems)}, {2 * self.p}), got {tuple(theta.shape)}")
        mean = torch.zeros(len(self.problems), dtype=torch.float64, device=theta.device)
        var = torch.zeros(len(self.problems), dtype=torch.float64, device=theta.device)
        for sim, indices, cuts in self._groups:
            probs = sim._probabilities(theta[indices], cuts)
            first = (probs * cuts).sum(-1)
            second = (probs.detach() * cuts**2).sum(-1)
            mean = mean.index_put((indices,), first)
            var = var.index_put((indices,), (second - first.detach() ** 2).clamp_min(0.0))
        return mean, var


# ---------------------------------------------------------------------------- p = 1 closed form
class P1ClosedForm:
    """Exact p = 1 ``<C>`` for weighted graphs of any size, per edge, in torch.

    For edge (u, v) of weight w, with the other neighbours k of u and of v
    (a missing edge has weight 0), in our convention:

    <Z_u Z_v> = -1/2 sin(4b) sin(g w) [prod_k cos(g w_uk) + prod_k cos(g w_vk)]
                - 1/2 sin^2(2b) [prod_k cos(g (w_uk + w_vk)) - prod_k cos(g (w_uk - w_vk))]
    """

    exact = True
    method = "closed-form"

    def __init__(self, problem: MaxCutProblem, *, device: str | torch.device = "cpu"):
        self.problem, self.p, self.device = problem, 1, torch.device(device)
        wu, wv = _p1_neighbour_weights(problem)
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float64, device=self.device)  # noqa: E731
        self.wu, self.wv = as_t(wu), as_t(wv)
        self.w = as_t(problem.weights)

    def expectation(self, theta: torch.Tensor) -> torch.Tensor:
        theta = torch.as_tensor(theta, dtype=torch.float64, device=self.device)
        g = theta[..., 0][..., None, None]
        b = theta[..., 1][..., None]
        pu = torch.cos(g * self.wu).prod(-1)
        pv = torch.cos(g * self.wv).prod(-1)
        qp = torch.cos(g * (self.wu + self.wv)).prod(-1)
        qm = torch.cos(g * (self.wu - self.wv)).prod(-1)
        gw = g[..., 0] * self.w
        zz = -0.5 * torch.sin(4 * b) * torch.sin(gw) * (pu + pv) - 0.5 * torch.sin(2 * b) ** 2 * (qp - qm)
        return (self.w * (1 - zz) / 2).sum(-1)

    evaluate = IdealOracle.evaluate
    value_and_grad = IdealOracle.value_and_grad
    charge = IdealOracle.charge


#: Edges handled at once when building the closed form (bounds the ``(m, d, d)`` match tensor).
_P1_EDGE_CHUNK = 1 << 16


def _p1_neighbour_weights(problem: MaxCutProblem) -> tuple[np.ndarray, np.ndarray]:
    """Per edge ``(u, v)``, the weights ``w_uk`` and ``w_vk`` over the other neighbours ``k``.

    Vectorised with a padded neighbour table: row ``e`` lists first ``u``'s neighbours
    (with ``w_vk`` where ``k`` is also a neighbour of ``v``), then ``v``'s neighbours that
    are not ``u``'s (with ``w_uk = 0``). Padding entries have both weights 0, which
    contributes ``cos(0) = 1`` to every product.
    """
    n, ends, w = problem.n, problem.edge_array, problem.weights
    src = np.concatenate([ends[:, 0], ends[:, 1]])
    dst = np.concatenate([ends[:, 1], ends[:, 0]])
    ww = np.concatenate([w, w])
    order = np.lexsort((dst, src))
    src, dst, ww = src[order], dst[order], ww[order]
    deg = np.bincount(src, minlength=n)
    width = int(deg.max())
    start = np.concatenate([[0], np.cumsum(deg)[:-1]])
    slot = np.arange(src.size) - start[src]
    nb = np.full((n, width), -1, dtype=np.int64)
    nw = np.zeros((n, width))
    nb[src, slot] = dst
    nw[src, slot] = ww
    m = len(w)
    wu = np.zeros((m, 2 * width))
    wv = np.zeros((m, 2 * width))
    for lo in range(0, m, _P1_EDGE_CHUNK):
        u, v = ends[lo : lo + _P1_EDGE_CHUNK, 0], ends[lo : lo + _P1_EDGE_CHUNK, 1]
        a, aw = nb[u], np.where(nb[u] == v[:, None], 0.0, nw[u])  # u's side, v itself dropped
        b, bw = nb[v], np.where(nb[v] == u[:, None], 0.0, nw[v])
        a = np.where(nb[u] == v[:, None], -1, a)
        b = np.where(nb[v] == u[:, None], -1, b)
        eq = (a[:, :, None] == b[:, None, :]) & (a[:, :, None] >= 0)  # common neighbours
        wu[lo : lo + len(u), :width] = aw
        wv[lo : lo + len(u), :width] = (eq * bw[:, None, :]).sum(-1)
        wv[lo : lo + len(u), width:] = np.where(eq.any(1), 0.0, bw)
    return wu, wv


def p1_expectation(problem: MaxCutProblem, gamma: float, beta: float) -> float:
    """Closed-form exact ``<C>`` at p = 1 (milliseconds even for 10,000 nodes)."""
    return float(P1ClosedForm(problem).expectation(torch.tensor([gamma, beta], dtype=torch.float64)))


def ideal_oracle(problem: MaxCutProblem, p: int, *, device: str | torch.device = "cpu"):
    """The fastest exact ideal oracle.

    The closed form at p = 1 (n > 12), the statevector while it fits
    (n <= :data:`STATEVECTOR_MAX_NODES`), else the light-cone oracle
    (:class:`hybrid.oracles.LightConeOracle`), which raises
    :class:`hybrid.oracles.LightConeError` when an edge's cone is too large.
    """
    if p == 1 and problem.n > 12:
        return P1ClosedForm(problem, device=device)
    if problem.n <= STATEVECTOR_MAX_NODES:
        return IdealOracle(problem, p, device=device)
    from .oracles.light_cone import LightConeOracle

    return LightConeOracle(problem, p, device=device)


# ---------------------------------------------------------------------------- sampled, any target
def _cut_lookup(problem: MaxCutProblem):
    if problem.n <= STATEVECTOR_MAX_NODES:
        diag = problem.cut_values()
        return lambda keys: diag[np.asarray(keys, dtype=np.int64)]
    edges = problem.edge_array
    w = problem.weights

    def lookup(keys):
        keys = np.asarray([int(k) for k in keys], dtype=object)
        bits = np.array([[(k >> i) & 1 for i in range(problem.n)] for k in keys], dtype=np.int8)
        return (bits[:, edges[:, 0]] != bits[:, edges[:, 1]]) @ w

    return lookup


def counts_statistics(problem: MaxCutProblem, counts: dict[int, int], cvar_alpha: float = 1.0) -> dict[str, Any]:
    """Mean cut, its standard error, CVaR-alpha (mean of the best alpha fraction) and the best cut."""
    if not counts:
        raise ProblemError("counts are empty: the job returned no shots")
    if not 0 < cvar_alpha <= 1:
        raise ProblemError(f"cvar_alpha must be in (0, 1], got {cvar_alpha}")
    keys = list(counts)
    cuts = _cut_lookup(problem)(keys)
    freq = np.array([counts[k] for k in keys], dtype=float)
    shots = freq.sum()
    mean = float(freq @ cuts / shots)
    var = float(freq @ (cuts - mean) ** 2 / max(shots - 1, 1))
    order = np.argsort(-cuts)
    need = cvar_alpha * shots
    taken = np.minimum(np.cumsum(freq[order]), need)
    used = np.diff(np.concatenate([[0.0], taken]))
    cvar = float(used @ cuts[order] / need)
    best = int(order[0])
    return {
        "mean": mean,
        "stderr": math.sqrt(var / shots),
        "cvar": cvar,
        "best_cut": float(cuts[best]),
        "best_key": int(keys[best]),
        "shots": int(shots),
    }


def bitstring(key: int, n: int) -> str:
    """Outcome integer -> bitstring with node 0 first (node i is character i)."""
    return "".join(str((key >> i) & 1) for i in range(n))


class SampledOracle:
    """``<C>`` estimated from shots on any target.

    Gradients (:meth:`value_and_grad`), all shifted points in one job:

    * ``gradient="param_shift"`` (default): the exact two-term rule per rotation gate
      (:func:`hybrid.ansatz.qaoa_gate_circuit`), unbiased under shot noise, at
      ``2 p (m + n)`` extra circuits;
    * ``gradient="fd"``: central differences in ``theta`` with step ``fd_step``
      (``4p`` extra circuits; biased by O(step^2), cheaper for large graphs).
    """

    exact = False

    def __init__(
        self,
        problem: MaxCutProblem,
        p: int,
        target,
        *,
        shots: int = 4000,
        cvar_alpha: float = 1.0,
        fd_step: float = 0.1,
        gradient: str = "param_shift",
    ):
        if shots < 1:
            raise ProblemError(f"shots must be >= 1, got {shots}")
        if gradient not in ("param_shift", "fd"):
            raise ProblemError(f"gradient must be 'param_shift' or 'fd', got {gradient!r}")
        target.check_fits(problem.n)
        self.problem, self.p, self.target = problem, int(p), target
        self.shots, self.cvar_alpha, self.fd_step = int(shots), float(cvar_alpha), float(fd_step)
        self.gradient, self.fd_mode = gradient, "central"
        self.circuit = qaoa_circuit(problem, p, measure=True)
        self._gates: tuple | None = None

    @property
    def supports_jobs(self) -> bool:
        """Whether the target submits jobs with ids that can be fetched again (``ibm:``)."""
        return supports(self.target, Capability.JOBS)

    def charge(self, kind: str, points: int = 1):
        """Budget charge of a call: every circuit point is one evaluation of ``shots`` shots."""
        from .optimize import Charge

        count = points * _gradient_points(self) if kind == "value_and_grad" else points
        return Charge(count, count * self.shots)

    def evaluate(
        self,
        params: Any,
        seed: int | np.random.Generator | None = None,
        *,
        on_submit: Callable[[str], None] | None = None,
        attach_job: str | None = None,
    ) -> Evaluation:
        """Sample a parameter batch in one job.

        With a job-based target, ``on_submit(job_id)`` is called the moment the job is
        accepted (before waiting), and ``attach_job`` fetches an earlier job by id
        instead of submitting anything.
        """
        batch = _as_batch(params, self.p)
        if self.gradient == "fd":
            return self._sample(self.circuit, batch, seed, on_submit, attach_job)
        # the gate-level circuit, so values and parameter-shift gradients share one ISA circuit
        circuit, jac = _gate_circuit(self)
        ev = self._sample(circuit, batch @ jac, seed, on_submit, attach_job)
        return dataclasses.replace(ev, params=batch)

    def _sample(self, circuit, batch: np.ndarray, seed, on_submit=None, attach_job=None) -> Evaluation:
        start = time.perf_counter()
        if attach_job is not None:
            result = self.target.fetch(attach_job)
        elif on_submit is not None and self.supports_jobs:
            job = self.target.submit(circuit, batch, self.shots)
            on_submit(job.job_id)
            result = self.target.fetch(job)
        else:
            result = self.target.sample(circuit, batch, self.shots, seed=seed)
        stats = [counts_statistics(self.problem, c, self.cvar_alpha) for c in result.counts]
        best = max(stats, key=lambda s: s["best_cut"])
        return Evaluation(
            params=batch,
            energies=np.array([s["mean"] for s in stats]),
            stderr=np.array([s["stderr"] for s in stats]),
            shots=self.shots * batch.shape[0],
            cvar=np.array([s["cvar"] for s in stats]),
            best_cut=best["best_cut"],
            best_bitstring=bitstring(best["best_key"], self.problem.n),
            job_ids=tuple(result.job_ids),
            wall_time=time.perf_counter() - start,
            metadata=dict(result.metadata),
        )

    def value_and_grad(self, theta: Any, seed: int | np.random.Generator | None = None, **job_hooks):
        if self.gradient == "fd":
            return _fd_value_and_grad(self, theta, self.fd_step, "central", seed, **job_hooks)
        return _param_shift_value_and_grad(
            self, theta, lambda circuit, points: self._sample(circuit, points, seed, **job_hooks)
        )


# ---------------------------------------------------------------------------- exact noisy
#: How :class:`NoisyExactOracle` computes energies: ``auto`` picks light cones when the
#: whole-circuit density matrix is too large for the target.
NOISY_METHODS = ("auto", "density-matrix", "light-cone")


class NoisyExactOracle:
    """Exact noisy ``<C>`` on a target with ``probabilities`` (e.g. ``fake:torino``).

    ``method="auto"``: the whole-circuit density matrix of the active qubits when it fits
    the target's ``max_exact_qubits``, else the target's noisy light cones (one small
    density matrix per edge, :mod:`backends.noisy_cones`); ``self.method`` says which.
    """

    exact = True

    def __init__(
        self,
        problem: MaxCutProblem,
        p: int,
        target,
        *,
        fd_step: float = FD_STEP,
        fd_mode: str = "central",
        gradient: str = "fd",
        method: str = "auto",
    ):
        if not getattr(target, "exact", False):
            raise ProblemError(f"target {target.spec!r} has no exact probabilities; use SampledOracle with shots")
        if fd_mode not in ("central", "forward"):
            raise ProblemError(f"fd_mode must be 'central' or 'forward', got {fd_mode!r}")
        if gradient not in ("param_shift", "fd"):
            raise ProblemError(f"gradient must be 'param_shift' or 'fd', got {gradient!r}")
        self.gradient = gradient
        self._gates: tuple | None = None
        if method not in NOISY_METHODS:
            raise ProblemError(f"method must be one of {', '.join(NOISY_METHODS)}, got {method!r}")
        target.check_fits(problem.n)
        self.problem, self.p, self.target = problem, int(p), target
        self.fd_step, self.fd_mode = float(fd_step), fd_mode
        self.circuit = qaoa_circuit(problem, p, measure=True)
        cones = method == "light-cone" or (
            method == "auto" and supports(target, Capability.NOISY_CONES) and target.uses_light_cones(self.circuit)
        )
        if cones and not supports(target, Capability.NOISY_CONES):
            raise ProblemError(f"target {target.spec!r} has no noisy light cones; use method='density-matrix'")
        self.method = "noisy-light-cone" if cones else "density-matrix"
        self._cones = None
        self.cut = None if cones else problem.cut_values()

    # ---------------------------------------------------------------- noisy light cones
    def cones(self):
        """The target's noisy light cones of every edge (built once; the logical cones are the fallback)."""
        if self._cones is None:
            from .oracles.light_cone import _adjacency, _ball

            nbrs = _adjacency(self.problem)
            pairs = [(u, v) for u, v, _ in self.problem.edges]
            fallback = [_ball(nbrs, u, v, self.p)[0] for u, v in pairs]
            self._cones = self.target.noisy_cones(self.circuit, pairs, fallback)
        return self._cones

    def _cone_energies(self, theta: torch.Tensor) -> torch.Tensor:
        zz = self.cones().zz_torch(theta)
        return ((1 - zz) / 2) @ torch.as_tensor(self.problem.weights, dtype=torch.float64)

    def _cone_evaluation(self, batch: np.ndarray, energies: np.ndarray, start: float) -> Evaluation:
        meta = {"method": self.method, **self.cones().describe()}
        return Evaluation(batch, energies, np.zeros_like(energies), wall_time=time.perf_counter() - start, metadata=meta)

    def charge(self, kind: str, points: int = 1):
        """Budget charge of a call: every simulated point is one evaluation (no shots)."""
        from .optimize import Charge

        return Charge(points * _gradient_points(self) if kind == "value_and_grad" else points)

    def _exact(self, circuit, points: np.ndarray) -> Evaluation:
        start = time.perf_counter()
        energies = self.target.probabilities(circuit, points) @ self.cut
        return Evaluation(points, energies, np.zeros_like(energies), wall_time=time.perf_counter() - start)

    def evaluate(self, params: Any, seed: int | np.random.Generator | None = None) -> Evaluation:
        batch = _as_batch(params, self.p)
        if self.cut is None:
            start = time.perf_counter()
            with torch.no_grad():
                energies = self._cone_energies(torch.as_tensor(batch)).numpy()
            return self._cone_evaluation(batch, energies, start)
        if self.gradient == "fd":
            return self._exact(self.circuit, batch)
        circuit, jac = _gate_circuit(self)
        return dataclasses.replace(self._exact(circuit, batch @ jac), params=batch)

    def value_and_grad(self, theta: Any, seed: int | np.random.Generator | None = None):
        """Value and gradient; all shifted points in one simulator call.

        ``gradient="fd"`` (default): central (or forward) differences, ``4p`` (``2p``)
        extra points. ``gradient="param_shift"``: the exact per-gate rule on the same
        noisy circuit, ``2p(m + n)`` extra points. With noisy light cones: exact gradients by
        autograd through the cone density matrices (one forward and one backward pass).
        """
        if self.cut is None:
            start = time.perf_counter()
            point = _as_batch(theta, self.p)
            value, grad = self.cones().energy_and_grad(point[0], self.problem.weights)
            return value, grad, self._cone_evaluation(point, np.array([value]), start)
        if self.gradient == "fd":
            return _fd_value_and_grad(self, theta, self.fd_step, self.fd_mode, seed)
        return _param_shift_value_and_grad(self, theta, self._exact)


def _gradient_points(oracle) -> int:
    """Points one ``value_and_grad`` of a circuit oracle runs (value + shifted points)."""
    if oracle.gradient == "param_shift":
        return 1 + 2 * _gate_circuit(oracle)[1].shape[1]
    dim = 2 * oracle.p
    return 1 + (2 * dim if oracle.fd_mode == "central" else dim)


def _gate_circuit(oracle) -> tuple:
    """The oracle's gate-level circuit and Jacobian (built once)."""
    if oracle._gates is None:
        from .ansatz import qaoa_gate_circuit

        oracle._gates = qaoa_gate_circuit(oracle.problem, oracle.p)
    return oracle._gates


def _param_shift_value_and_grad(oracle, theta: Any, run: Callable[[Any, np.ndarray], Evaluation]):
    """Value and exact parameter-shift gradient: ``run(circuit, points)`` evaluates one batch."""
    theta = _as_batch(theta, oracle.p)[0]
    circuit, jac = _gate_circuit(oracle)
    phi = jac.T @ theta
    shifts = np.eye(phi.size) * (math.pi / 2)
    ev = run(circuit, np.vstack([phi[None, :], phi + shifts, phi - shifts]))
    e = ev.energies
    grad_phi = (e[1 : 1 + phi.size] - e[1 + phi.size :]) / 2
    return float(e[0]), jac @ grad_phi, ev


def _fd_value_and_grad(oracle, theta: Any, step: float, mode: str, seed, **job_hooks):
    theta = _as_batch(theta, oracle.p)[0]
    dim = theta.size
    shifts = np.eye(dim) * step
    if mode == "central":
        points = np.vstack([theta[None, :], theta + shifts, theta - shifts])
    else:
        points = np.vstack([theta[None, :], theta + shifts])
    ev = oracle.evaluate(points, seed=seed, **job_hooks)
    e = ev.energies
    if mode == "central":
        grad = (e[1 : 1 + dim] - e[1 + dim :]) / (2 * step)
    else:
        grad = (e[1 : 1 + dim] - e[0]) / step
    return float(e[0]), grad, ev


# ---------------------------------------------------------------------------- fitted constant
def fit_constant(
    problems: Sequence[MaxCutProblem],
    p: int = 1,
    *,
    restarts: int = 8,
    steps: int = 200,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """The single ``theta`` (in mean-weight units) maximising the mean AR over ``problems``.

    Multi-start L-BFGS on exact ideal oracles; gamma is scaled by each graph's mean
    weight (actual angles: :func:`hybrid.schedules.denormalise`).
    """
    if not problems:
        raise ProblemError("fit_constant needs at least one problem")
    rng = as_rng(seed)
    problems = [pr.with_max_cut() for pr in problems]
    scales = torch.tensor([[weight_scale(pr)] * p + [1.0] * p for pr in problems], dtype=torch.float64)
    max_cuts = torch.tensor([pr.max_cut for pr in problems], dtype=torch.float64)
    if max(pr.n for pr in problems) <= 16:
        stacked = StackedIdealOracle(problems, p)

        def cuts(theta: torch.Tensor) -> torch.Tensor:
            return stacked.expectation(theta[None, :] / scales)
    else:
        oracles = [ideal_oracle(pr, p) for pr in problems]

        def cuts(theta: torch.Tensor) -> torch.Tensor:
            return torch.stack([o.expectation(theta / s) for o, s in zip(oracles, scales)])

    def mean_ar(theta: torch.Tensor) -> torch.Tensor:
        return (cuts(theta) / max_cuts).mean()

    from .ansatz import canonical_params
    from .schedules import fixed_angle_params, tqa_params

    starts = [fixed_angle_params(problems[0], p) * np.concatenate([np.full(p, weight_scale(problems[0])), np.ones(p)])]
    starts.append(tqa_params(problems[0], p) * np.concatenate([np.full(p, weight_scale(problems[0])), np.ones(p)]))
    while len(starts) < restarts:
        starts.append(np.concatenate([rng.uniform(0, math.pi / 2, p), rng.uniform(-math.pi / 4, math.pi / 4, p)]))
    best, best_val = None, -np.inf
    for start in starts:
        theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([theta], lr=1, max_iter=steps, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = -mean_ar(theta)
            loss.backward()
            return loss

        opt.step(closure)
        val = float(mean_ar(theta.detach()))
        if val > best_val:
            best, best_val = theta.detach().numpy().copy(), val
    return canonical_params(best)


#: Shots used when a target has no exact mode and none were asked for.
DEFAULT_SHOTS = 4000


def make_oracle(
    problem: MaxCutProblem,
    p: int,
    target: Any = "ideal",
    *,
    shots: int | None = None,
    mitigation: Any = "none",
    gradient: str | None = None,
    **options,
):
    """The oracle for a target spec or object: the one constructor every caller uses.

    ``shots=None`` means exact where the target allows it (``ideal``: torch
    statevector, p = 1 closed form, or light cones when the statevector does not fit; ``fake:<device>``: exact noisy density
    matrix, also under mitigation); otherwise, or for ``aer``/``local``/``ibm``, shots are sampled
    (``DEFAULT_SHOTS`` when not given). ``mitigation`` is a spec such as ``"zne+rem"``
    (:func:`hybrid.mitigation.parse_mitigation`); ``gradient`` is ``"param_shift"`` or ``"fd"``.
    """
    from backends import get_target

    if isinstance(target, str):
        if target == "ideal" and shots is None and mitigation == "none" and gradient is None:
            return ideal_oracle(problem, p)
        target = get_target(target)
    if mitigation != "none":
        from .mitigation import make_mitigated_oracle

        if shots is None and not supports(target, Capability.EXACT_ISA):
            shots = DEFAULT_SHOTS
        return make_mitigated_oracle(problem, p, target, mitigation, shots=shots, **options)
    if gradient is not None:
        options["gradient"] = gradient
    if shots is None and target.exact:
        if target.kind == "ideal":
            return ideal_oracle(problem, p)
        return NoisyExactOracle(problem, p, target, **options)
    return SampledOracle(problem, p, target, shots=shots or DEFAULT_SHOTS, **options)
