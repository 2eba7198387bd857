"""Phase II: classical refinement of QAOA parameters on a cost oracle.

:func:`descend` is gradient ascent on the expected cut (SGD or Adam) with the
paper's stopping rule: stop at the first step ``k >= 1`` where the energy changed
by at most ``tol``; ``steps`` is the number of updates taken (``max_steps`` when
the rule never fired).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .problems import ProblemError

#: Adam moments (Kingma & Ba defaults).
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


@dataclass(frozen=True)
class DescentResult:
    theta: np.ndarray  # final parameters
    thetas: np.ndarray  # (K+1, 2p): start, then after every update
    energies: np.ndarray  # (K+1,) expected cut at each of them
    steps: int
    converged: bool
    evaluations: int

    def energy_after(self, k: int) -> float:
        """Expected cut after ``k`` updates (the final one if the run stopped earlier)."""
        return float(self.energies[min(k, self.steps)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "theta": self.theta.tolist(),
            "thetas": self.thetas.tolist(),
            "energies": self.energies.tolist(),
            "steps": self.steps,
            "converged": self.converged,
            "evaluations": self.evaluations,
        }


def descend(
    oracle,
    theta0: Any,
    *,
    optimizer: str = "sgd",
    lr: float = 1e-3,
    max_steps: int = 300,
    tol: float = 1e-6,
    seed: int | np.random.Generator | None = None,
) -> DescentResult:
    """Maximise ``<C>`` from ``theta0`` with gradients from ``oracle.value_and_grad``."""
    if optimizer not in ("sgd", "adam"):
        raise ProblemError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    if lr <= 0 or max_steps < 0:
        raise ProblemError(f"need lr > 0 and max_steps >= 0, got lr={lr}, max_steps={max_steps}")
    theta = np.array(theta0, dtype=float)
    value, grad, _ = oracle.value_and_grad(theta, seed=seed)
    thetas, energies = [theta.copy()], [value]
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    converged = False
    for k in range(1, max_steps + 1):
        if optimizer == "sgd":
            theta = theta + lr * grad
        else:
            b1, b2 = ADAM_BETAS
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * grad**2
            theta = theta + lr * (m / (1 - b1**k)) / (np.sqrt(v / (1 - b2**k)) + ADAM_EPS)
        value, grad, _ = oracle.value_and_grad(theta, seed=seed)
        thetas.append(theta.copy())
        energies.append(value)
        if abs(energies[-1] - energies[-2]) <= tol:
            converged = True
            break
    steps = len(energies) - 1
    return DescentResult(theta, np.array(thetas), np.array(energies), steps, converged, evaluations=steps + 1)
