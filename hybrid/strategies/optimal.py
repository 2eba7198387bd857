"""Per-graph optimised angles on the exact ideal simulator (fitting data and best-known ARs).

:func:`optimise_angles` grows depth one layer at a time: at depth ``q`` it starts
L-BFGS (autograd through :func:`hybrid.oracles.ideal_oracle`) from INTERP of the
best depth-``q - 1`` angles, from the fixed-angle point, from TQA and from a few
uniformly random points, and keeps the best (ties, within ``TIE_AR``, go to the
earlier start). Angles are folded into the canonical
domain (:func:`hybrid.ansatz.canonical_params`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..ansatz import canonical_params
from ..oracle_factory import make_oracle
from ..problems import MaxCutProblem, as_rng
from ..schedules import fixed_angle_params, interp_params, random_params, tqa_params
from .base import check_depth

#: Random restarts per depth besides INTERP, fixed-angle and TQA.
RANDOM_RESTARTS = 2
#: L-BFGS iterations per start.
LBFGS_ITERS = 100
#: AR by which a later start must beat an earlier one to replace it (keeps the INTERP branch on ties,
#: so fitted medians and regressions do not mix equivalent branches of the landscape).
TIE_AR = 1e-6


@dataclass(frozen=True)
class OptimisedAngles:
    """Best angles found for depths 1..p (``thetas[q-1]`` at depth q) and their exact ARs."""

    graph_id: Any
    thetas: tuple[np.ndarray, ...]
    ars: tuple[float, ...]

    @property
    def theta(self) -> np.ndarray:
        return self.thetas[-1]

    @property
    def ar(self) -> float:
        return self.ars[-1]

    def to_dict(self) -> dict[str, Any]:
        return {"graph_id": self.graph_id, "thetas": [t.tolist() for t in self.thetas], "ars": list(self.ars)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "OptimisedAngles":
        return cls(data["graph_id"], tuple(np.asarray(t, float) for t in data["thetas"]), tuple(float(a) for a in data["ars"]))


def local_maximum(problem: MaxCutProblem, theta0: np.ndarray, iters: int = LBFGS_ITERS) -> tuple[np.ndarray, float]:
    """L-BFGS from ``theta0`` on the exact ideal ``<C>``; returns ``(theta, <C>)``."""
    p = len(theta0) // 2
    oracle = make_oracle(problem, p, "ideal")
    theta = torch.tensor(np.asarray(theta0, float), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([theta], lr=1, max_iter=iters, line_search_fn="strong_wolfe")
    scale = problem.cost_scale

    def closure():
        opt.zero_grad()
        loss = -oracle.expectation(theta) / scale
        loss.backward()
        return loss

    opt.step(closure)
    best = theta.detach().numpy().copy()
    return best, float(oracle.evaluate(best).energies[0])


def optimise_angles(
    problem: MaxCutProblem,
    p: int,
    seed: int | np.random.Generator | None = None,
    *,
    restarts: int = RANDOM_RESTARTS,
    iters: int = LBFGS_ITERS,
) -> OptimisedAngles:
    """Multi-start exact optimisation with recursion in depth (see the module docstring)."""
    p = check_depth(p)
    problem = problem.with_max_cut()
    rng = as_rng(seed)
    thetas, ars = [], []
    for q in range(1, p + 1):
        starts = [fixed_angle_params(problem, q), tqa_params(problem, q)]
        if thetas:
            starts.insert(0, interp_params(thetas[-1]))
        starts += [random_params(problem, q, rng) for _ in range(restarts)]
        best, best_value = None, -np.inf
        for start in starts:
            theta, value = local_maximum(problem, start, iters)
            # structured starts come first and keep ties: a random restart must beat them by TIE_AR
            if value > best_value + TIE_AR * (problem.max_cut - problem.min_value):
                best, best_value = theta, value
        thetas.append(canonical_params(best))
        ars.append(problem.approximation_ratio(best_value))
    return OptimisedAngles(problem.id, tuple(thetas), tuple(ars))
