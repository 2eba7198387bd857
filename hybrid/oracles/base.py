"""The oracle contract: :class:`Evaluation`, the :class:`Oracle` Protocol, budget charges, batching.

Every oracle maps a batch of QAOA parameters ``(B, 2p)`` (gammas then betas) to expected
cuts ``<C>`` (maximised) in one call, and declares what a call costs as a :class:`Charge`
(:mod:`hybrid.optimize` spends budgets with it). Oracles that differentiate by autograd
share :class:`AutogradOracle`; the others take a gradient rule from
:mod:`hybrid.oracles.gradients`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np
import torch

from ..problems import MaxCutProblem, ProblemError

#: Default step of finite-difference gradients on exact oracles.
FD_STEP = 1e-4
#: Shots used when a target has no exact mode and none were asked for.
DEFAULT_SHOTS = 4000


@dataclass(frozen=True)
class Charge:
    """What one oracle call costs: parameter points, shots (calibration included) and the
    estimated QPU quantum seconds of its jobs (:mod:`backends.usage`; 0 on simulators
    that model no QPU and on exact evaluations)."""

    evaluations: int
    shots: int = 0
    qpu_seconds: float = 0.0

    def __add__(self, other: "Charge") -> "Charge":
        return Charge(
            self.evaluations + other.evaluations, self.shots + other.shots, self.qpu_seconds + other.qpu_seconds
        )

    def to_dict(self) -> dict[str, Any]:
        return {"evaluations": self.evaluations, "shots": self.shots, "qpu_seconds": self.qpu_seconds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Charge":
        return cls(int(data["evaluations"]), int(data.get("shots", 0)), float(data.get("qpu_seconds", 0.0)))


def job_qpu_seconds(target: Any, circuits: list, shots: int, points: list[int] | None = None, *, isa: bool = False) -> float:
    """Estimated quantum seconds of one job of ``circuits`` on ``target`` (0 when it models no QPU)."""
    from backends.capabilities import Capability, supports

    if target is None or not supports(target, Capability.QPU_USAGE):
        return 0.0
    return float(target.estimate_usage(circuits, shots, points, isa=isa).quantum_seconds)


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
    #: the best distinct sampled bitstrings (best cut first), for the run's solution
    samples: tuple[str, ...] = ()
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
            "samples": list(self.samples),
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
            samples=tuple(data.get("samples", ())),
            wall_time=float(data.get("wall_time", 0.0)),
            metadata=dict(data.get("metadata", {})),
        )


class Oracle(Protocol):
    problem: MaxCutProblem
    p: int
    exact: bool  # deterministic values (no shot noise)
    method: str | None  # how values are computed ("statevector", "density-matrix", ...); None: per call
    target: Any  # the backends target it runs on; None for oracles that need none

    def evaluate(self, params: np.ndarray, seed: int | np.random.Generator | None = None) -> Evaluation: ...

    def value_and_grad(
        self, theta: np.ndarray, seed: int | np.random.Generator | None = None
    ) -> tuple[float, np.ndarray, Evaluation]: ...

    def charge(self, kind: str, points: int = 1) -> Charge: ...


def exact_gradient_charge(p: int, kind: str, points: int) -> Charge:
    """What a call costs on an exact oracle: points; an autograd gradient as central differences."""
    if kind == "value_and_grad":
        return Charge(points * (1 + 4 * p))
    if kind == "evaluate":
        return Charge(points)
    raise ProblemError(f"charge kind must be 'evaluate' or 'value_and_grad', got {kind!r}")


def as_batch(params: Any, p: int) -> np.ndarray:
    """``params`` as a ``(B, 2p)`` float batch (one point may be given as a vector)."""
    arr = np.asarray(params, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2 * p:
        raise ProblemError(f"params must have shape (B, {2 * p}) for p={p} (gammas then betas), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ProblemError("params contain NaN or inf")
    return arr


class AutogradOracle:
    """Exact oracles differentiable in torch: subclasses define ``expectation(theta)``
    (a tensor ``(..., 2p)`` -> ``(...)``) and set ``problem`` and ``p``."""

    exact = True
    method: str | None = None
    target = None  # computed in torch, on no backends target

    def evaluate(self, params: Any, seed: int | np.random.Generator | None = None) -> Evaluation:
        start = time.perf_counter()
        batch = as_batch(params, self.p)
        with torch.no_grad():
            energies = self.expectation(torch.as_tensor(batch)).cpu().numpy()
        return Evaluation(batch, energies, np.zeros_like(energies), wall_time=time.perf_counter() - start)

    def charge(self, kind: str, points: int = 1) -> Charge:
        """Budget charge of a call (:mod:`hybrid.optimize`): a gradient counts as central differences."""
        return exact_gradient_charge(self.p, kind, points)

    def value_and_grad(self, theta: Any, seed: int | np.random.Generator | None = None):
        start = time.perf_counter()
        t = torch.tensor(as_batch(theta, self.p)[0], dtype=torch.float64, requires_grad=True)
        with torch.enable_grad():  # also inside no_grad contexts (e.g. a custom autograd forward)
            value = self.expectation(t)
            (grad,) = torch.autograd.grad(value, t)
        energy = np.array([float(value.detach())])
        ev = Evaluation(t.detach().numpy()[None, :], energy, np.zeros(1), wall_time=time.perf_counter() - start)
        return float(energy[0]), grad.numpy(), ev


def run_or_attach(target, *, attach_job: Any = None, on_submit: Callable[[Any], None] | None = None, jobs: bool,
                  submit: Callable[[], Any], run: Callable[[], Any]):
    """The one submit / attach / run dispatch of every circuit oracle (sampled and mitigated).

    ``attach_job`` (a stored job record or id): fetch that job, never resubmit it. Otherwise, on a
    job-based target (``jobs``) with ``on_submit``: ``submit()`` a job, hand its record to
    ``on_submit`` the moment it is accepted (the ledger writes it), then fetch its result.
    Otherwise ``run()`` in process. Returns the target's ``SampleResult``.
    """
    if attach_job is not None:
        return target.fetch(attach_job)
    if on_submit is not None and jobs:
        job = submit()
        on_submit(job)
        return target.fetch(job)
    return run()

