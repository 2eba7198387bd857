"""Closed-form angle schedules: pure functions of a graph, no fitted data, no evaluations.

The fixed-angle formula, TQA, the linear ramp of LR-QAOA, INTERP and uniform
random angles. They sit below both the start strategies (:mod:`hybrid.strategies`)
and meta-training (:mod:`hybrid.meta`), which both build on them; neither of those
is imported here.

Angles follow the convention of :mod:`hybrid.ansatz`. For weighted graphs gamma is
the unit-graph value divided by the mean edge weight (:func:`hybrid.ansatz.weight_scale`);
:func:`normalise` / :func:`denormalise` convert between actual angles and these
mean-weight units (``[gamma * w, beta]``).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .ansatz import join_params, split_params, weight_scale
from .problems import MaxCutProblem, as_rng

#: TQA time step used when nothing was tuned (Sack & Serbyn 2021: ~0.75 near-optimal for 3-regular graphs).
TQA_DT = 0.75


def scale_vector(problem: MaxCutProblem, p: int) -> np.ndarray:
    """``[w, .., w, 1, .., 1]``: normalised angles are actual angles times this."""
    return np.concatenate([np.full(p, weight_scale(problem)), np.ones(p)])


def normalise(theta: Sequence[float], problem: MaxCutProblem) -> np.ndarray:
    theta = np.asarray(theta, float)
    return theta * scale_vector(problem, theta.size // 2)


def denormalise(theta: Sequence[float], problem: MaxCutProblem) -> np.ndarray:
    theta = np.asarray(theta, float)
    return theta / scale_vector(problem, theta.size // 2)


def mean_degree(problem: MaxCutProblem) -> float:
    """Mean weighted degree in units of the mean edge weight (the plain mean degree for unit graphs)."""
    return float(np.mean(problem.degrees(weighted=True))) / weight_scale(problem)


def fixed_angle_gamma(d: float) -> float:
    """``arctan(1/sqrt(d-1))``, the p = 1 optimum on the d-regular tree; ``pi/2`` for ``d <= 1``."""
    return math.atan(1.0 / math.sqrt(d - 1.0)) if d > 1.0 else math.pi / 2


def fixed_angle_params(problem: MaxCutProblem, p: int = 1) -> np.ndarray:
    """Fixed-angle formula: ``gamma = arctan(1/sqrt(d-1))``, ``beta = pi/8`` at p = 1.

    ``d`` is :func:`mean_degree`, gamma is divided by the mean weight. For ``p > 1``
    the p = 1 angles are grown by INTERP.
    """
    theta = np.array([fixed_angle_gamma(mean_degree(problem)) / weight_scale(problem), math.pi / 8])
    while theta.size // 2 < p:
        theta = interp_params(theta)
    return theta


def tqa_params(problem: MaxCutProblem, p: int, dt: float = TQA_DT) -> np.ndarray:
    """Trotterised quantum annealing: ``gamma_l = (l - 1/2)/p dt``, ``beta_l = (1 - (l - 1/2)/p) dt``."""
    frac = (np.arange(1, p + 1) - 0.5) / p
    return join_params(frac * dt / weight_scale(problem), (1 - frac) * dt)


def lrqaoa_params(problem: MaxCutProblem, p: int, delta_gamma: float, delta_beta: float) -> np.ndarray:
    """Linear-ramp QAOA: ``gamma_l = l/p dgamma``, ``beta_l = (1 - (l-1)/p) dbeta`` for ``l = 1..p``."""
    layer = np.arange(1, p + 1)
    return join_params(layer / p * delta_gamma / weight_scale(problem), (1 - (layer - 1) / p) * delta_beta)


def interp_params(theta: Sequence[float]) -> np.ndarray:
    """INTERP (Zhou et al. 2020): depth-p angles -> a depth-(p+1) start.

    ``x'_i = (i-1)/p x_{i-1} + (p-i+1)/p x_i`` for ``i = 1..p+1``, with ``x_0 = x_{p+1} = 0``.
    """
    gammas, betas = split_params(theta)
    p = gammas.size

    def grow(x: np.ndarray) -> np.ndarray:
        padded = np.concatenate([[0.0], x, [0.0]])
        i = np.arange(1, p + 2)
        return (i - 1) / p * padded[i - 1] + (p - i + 1) / p * padded[i]

    return join_params(grow(gammas), grow(betas))


def interp_to(theta: Sequence[float], p: int) -> np.ndarray:
    """Grow ``theta`` by INTERP until it has depth ``p`` (unchanged when it already has)."""
    theta = np.asarray(theta, float)
    if theta.size // 2 > p:
        raise ValueError(f"INTERP grows depth: the angles have p={theta.size // 2} > requested p={p}")
    while theta.size // 2 < p:
        theta = interp_params(theta)
    return theta


def random_params(problem: MaxCutProblem, p: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
    """Uniform over the fundamental domain: gamma in [0, pi)/w, beta in [-pi/4, pi/4)."""
    rng = as_rng(seed)
    gammas = rng.uniform(0.0, math.pi, size=p) / weight_scale(problem)
    betas = rng.uniform(-math.pi / 4, math.pi / 4, size=p)
    return join_params(gammas, betas)
