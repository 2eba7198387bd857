"""What a run maximises: the expected cut, or the CVaR of the cut (Barkoutsos et al., Quantum 2020).

``objective="cvar:ALPHA"`` makes the oracle report, as its values, the mean cut of the best
``ALPHA`` fraction of outcomes: from the shots on a sampled target
(:class:`~hybrid.oracles.SampledOracle` with ``cvar_alpha``), from the exact output
distribution on exact targets (the ideal statevector, differentiable by autograd; the
noisy density matrix of ``fake:<device>``). The expected cut of the same readings stays in
``Evaluation.metadata["expected_cut"]`` (:func:`expected_cuts`), so results keep the
objective optimised apart from the quantities reported.

CVaR is not linear in the output distribution, so the per-gate parameter-shift rule does
not apply: CVaR runs take gradients by finite differences (default) or SPSA. Mitigation
extrapolates expectation values, not distributions: it is refused with CVaR.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..problems import MaxCutProblem, ProblemError
from .base import AutogradOracle, Charge, Evaluation, as_batch
from .noisy_exact import NoisyExactOracle
from .sampled import SampledOracle
from .statevector import STATEVECTOR_MAX_NODES, IdealOracle

EXPECTATION = "expectation"


@dataclass(frozen=True)
class Objective:
    """``expectation`` (alpha 1) or ``cvar`` with its fraction ``alpha`` in (0, 1]."""

    name: str = EXPECTATION
    alpha: float = 1.0

    @property
    def cvar(self) -> bool:
        return self.name == "cvar"

    def spec(self) -> str:
        return f"cvar:{self.alpha:g}" if self.cvar else EXPECTATION

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "alpha": self.alpha}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Objective":
        return cls(str(data["name"]), float(data["alpha"]))


def parse_objective(text: Any) -> Objective:
    """``"expectation"`` or ``"cvar:ALPHA"`` (0 < ALPHA <= 1) -> :class:`Objective`."""
    if isinstance(text, Objective):
        return text
    raw = str(text).strip().lower()
    if raw in ("", EXPECTATION, "mean"):
        return Objective()
    name, _, alpha = raw.partition(":")
    if name != "cvar":
        raise ProblemError(f"--objective {text!r}: use 'expectation' or 'cvar:ALPHA' with 0 < ALPHA <= 1, e.g. cvar:0.1")
    try:
        value = float(alpha)
    except ValueError:
        raise ProblemError(f"--objective {text!r}: ALPHA must be a number in (0, 1], e.g. cvar:0.1") from None
    if not 0 < value <= 1:
        raise ProblemError(f"--objective {text!r}: ALPHA must be in (0, 1], e.g. cvar:0.1")
    return Objective("cvar", value)


def cvar_of_distribution(probs, cuts, alpha: float):
    """CVaR-alpha of the cut under ``probs`` (``(..., dim)``): the mean of the best ``alpha`` mass.

    Works on numpy arrays and on torch tensors (differentiable in ``probs``).
    """
    torch_in = isinstance(probs, torch.Tensor)
    cuts_np = np.asarray(cuts.detach().cpu() if isinstance(cuts, torch.Tensor) else cuts, float)
    order = np.argsort(-cuts_np, kind="stable")
    if torch_in:
        p = probs[..., torch.as_tensor(order)]
        c = torch.as_tensor(cuts_np[order], dtype=p.dtype)
        taken = torch.clamp(torch.cumsum(p, -1), max=alpha)
        used = torch.diff(taken, dim=-1, prepend=torch.zeros_like(taken[..., :1]))
        return (used * c).sum(-1) / alpha
    p = np.asarray(probs, float)[..., order]
    taken = np.minimum(np.cumsum(p, -1), alpha)
    used = np.diff(taken, axis=-1, prepend=0.0)
    return (used * cuts_np[order]).sum(-1) / alpha


def expected_cuts(ev: Evaluation, values=None) -> np.ndarray:
    """The expected cuts of an evaluation's points (its ``energies`` unless an objective replaced them)."""
    found = ev.metadata.get("expected_cut") if ev.metadata else None
    return np.asarray(found if found is not None else (ev.energies if values is None else values), float)


class CVaRIdealOracle(AutogradOracle):
    """Exact CVaR of the ideal statevector's output distribution, differentiable by autograd."""

    method = "statevector"

    def __init__(self, problem: MaxCutProblem, p: int, alpha: float):
        self.inner = IdealOracle(problem, p)
        self.problem, self.p, self.alpha = problem, int(p), float(alpha)

    def expectation(self, theta: torch.Tensor) -> torch.Tensor:
        return cvar_of_distribution(self.inner.probabilities(theta), self.inner.cut, self.alpha)

    def _meta(self, points: np.ndarray) -> dict[str, Any]:
        with torch.no_grad():
            return {"expected_cut": self.inner.expectation(torch.as_tensor(points)).numpy().tolist(),
                    "objective": f"cvar:{self.alpha:g}"}

    def evaluate(self, params: Any, seed=None) -> Evaluation:
        ev = super().evaluate(params, seed)
        return dataclasses.replace(ev, metadata=self._meta(ev.params))

    def value_and_grad(self, theta: Any, seed=None):
        value, grad, ev = super().value_and_grad(theta, seed)
        return value, grad, dataclasses.replace(ev, metadata=self._meta(ev.params))


class CVaRCircuitOracle:
    """CVaR as the values of a circuit oracle: from its shots (sampled) or exact noisy probabilities."""

    def __init__(self, inner, alpha: float):
        if inner.gradient_rule.gate_level:
            raise ProblemError("--objective cvar needs --gradient fd or spsa (parameter shift holds for expectations only)")
        if isinstance(inner, SampledOracle) and abs(inner.cvar_alpha - alpha) > 1e-12:
            raise ProblemError(f"the sampled oracle computes CVaR at alpha {inner.cvar_alpha}, not {alpha}")
        if isinstance(inner, NoisyExactOracle) and inner.cut is None:
            raise ProblemError(
                "--objective cvar on noisy light cones: the cones give edge expectations, not the output "
                "distribution; use --shots N (sampled CVaR) or a smaller graph"
            )
        self.inner, self.alpha = inner, float(alpha)
        self.problem, self.p, self.target = inner.problem, inner.p, inner.target
        self.exact, self.method, self.gradient_rule = inner.exact, inner.method, inner.gradient_rule

    def charge(self, kind: str, points: int = 1) -> Charge:
        return self.inner.charge(kind, points)

    def evaluate(self, params: Any, seed=None, **job_hooks) -> Evaluation:
        if isinstance(self.inner, SampledOracle):
            ev = self.inner.evaluate(params, seed=seed, **job_hooks)
            values = ev.cvar
        else:
            start = time.perf_counter()
            batch = as_batch(params, self.p)
            probs = self.target.probabilities(self.inner.circuit, batch)
            ev = Evaluation(batch, probs @ self.inner.cut, np.zeros(batch.shape[0]),
                            wall_time=time.perf_counter() - start, metadata={"method": self.method})
            values = cvar_of_distribution(probs, self.inner.cut, self.alpha)
        meta = {**ev.metadata, "expected_cut": ev.energies.tolist(), "objective": f"cvar:{self.alpha:g}"}
        return dataclasses.replace(ev, energies=np.asarray(values, float), metadata=meta)

    def value_and_grad(self, theta: Any, seed=None, **job_hooks):
        return self.gradient_rule.value_and_grad(self, theta, seed, **job_hooks)


def objective_gradient(objective: Any, gradient: str | None) -> str | None:
    """The gradient rule a run uses: CVaR runs default to finite differences."""
    return "fd" if parse_objective(objective).cvar and gradient is None else gradient


def with_objective(oracle, objective: Any):
    """``oracle`` reporting ``objective`` as its values (unchanged for ``expectation``)."""
    obj = parse_objective(objective)
    if not obj.cvar:
        return oracle
    if isinstance(oracle, IdealOracle):
        return CVaRIdealOracle(oracle.problem, oracle.p, obj.alpha)
    if isinstance(oracle, (SampledOracle, NoisyExactOracle)):
        return CVaRCircuitOracle(oracle, obj.alpha)
    raise ProblemError(
        f"--objective {obj.spec()} needs the output distribution: ideal statevector, exact fake:<device> "
        f"or shots without mitigation (got {type(oracle).__name__}); use --objective expectation or drop --mitigation"
    )
