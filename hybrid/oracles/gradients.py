"""Gradient rules for circuit oracles: each wraps an oracle's *batch* evaluation.

A rule turns one point ``theta`` into a batch of points, has the oracle evaluate the
whole batch in one call (one simulator call or one job: value and shifted points
together), and combines the energies into ``(value, gradient, evaluation)``. It also
says how many points that call runs (:meth:`num_points`), which the oracle's budget
charge uses. The same rules serve the sampled, the exact noisy and the mitigated
oracles; the statevector oracles differentiate by autograd instead.

``fd``
    Finite differences in ``theta``, central (``4p`` extra points) or forward (``2p``).
``param_shift``
    The exact two-term rule per rotation gate of :func:`hybrid.ansatz.qaoa_gate_circuit`
    (``RZZ(phi)``, ``RX(phi)``; shift ``pi/2``), ``dE/dtheta = J @ dE/dphi``; unbiased
    under shot noise, ``2p(m + n)`` extra points. The oracle evaluates the gate-level
    circuit (:meth:`evaluate_gates`), for its plain values too, so values and gradients
    share one ISA circuit.
``spsa``
    Simultaneous perturbation: two points ``theta +- c delta`` with a random sign vector
    ``delta``; ``g = (E+ - E-) / (2c) delta`` is an unbiased estimate of the gradient up
    to O(c^2) in expectation over ``delta``; 2 extra points at any size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..ansatz import qaoa_gate_circuit
from ..problems import ProblemError, as_rng
from .base import FD_STEP, as_batch

#: Gradient rules by name (``make_oracle(..., gradient=NAME)``).
GRADIENTS = ("param_shift", "fd", "spsa")
FD_MODES = ("central", "forward")
#: SPSA perturbation size (radians).
SPSA_STEP = 0.1


def gate_level(oracle) -> tuple:
    """The oracle's gate-level circuit and Jacobian ``d phi / d theta`` (built once, kept on the oracle)."""
    if oracle._gates is None:
        oracle._gates = qaoa_gate_circuit(oracle.problem, oracle.p)
    return oracle._gates


def fd_value_and_grad(oracle, theta: Any, step: float, mode: str, seed, **job_hooks):
    """Value and finite-difference gradient; the value and every shifted point in one batch."""
    theta = as_batch(theta, oracle.p)[0]
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


@dataclass(frozen=True)
class FiniteDifference:
    """Central or forward differences with step ``step`` in every angle."""

    step: float = FD_STEP
    mode: str = "central"
    name: ClassVar[str] = "fd"
    gate_level: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.mode not in FD_MODES:
            raise ProblemError(f"fd_mode must be 'central' or 'forward', got {self.mode!r}")
        if not (isinstance(self.step, (int, float)) and math.isfinite(self.step) and self.step > 0):
            raise ProblemError(f"fd_step must be a finite number > 0, got {self.step!r}")
        object.__setattr__(self, "step", float(self.step))

    def num_points(self, oracle) -> int:
        dim = 2 * oracle.p
        return 1 + (2 * dim if self.mode == "central" else dim)

    def value_and_grad(self, oracle, theta: Any, seed: int | np.random.Generator | None = None, **job_hooks):
        return fd_value_and_grad(oracle, theta, self.step, self.mode, seed, **job_hooks)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "step": self.step, "mode": self.mode}


@dataclass(frozen=True)
class ParameterShift:
    """The exact per-gate two-term rule on the gate-level circuit."""

    name: ClassVar[str] = "param_shift"
    gate_level: ClassVar[bool] = True

    def num_points(self, oracle) -> int:
        return 1 + 2 * gate_level(oracle)[1].shape[1]

    def value_and_grad(self, oracle, theta: Any, seed: int | np.random.Generator | None = None, **job_hooks):
        theta = as_batch(theta, oracle.p)[0]
        jac = gate_level(oracle)[1]
        phi = jac.T @ theta
        shifts = np.eye(phi.size) * (math.pi / 2)
        ev = oracle.evaluate_gates(np.vstack([phi[None, :], phi + shifts, phi - shifts]), seed=seed, **job_hooks)
        e = ev.energies
        grad_phi = (e[1 : 1 + phi.size] - e[1 + phi.size :]) / 2
        return float(e[0]), jac @ grad_phi, ev

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name}


@dataclass(frozen=True)
class SPSA:
    """One simultaneous-perturbation estimate per call, direction drawn from ``seed``."""

    step: float = SPSA_STEP
    name: ClassVar[str] = "spsa"
    gate_level: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not (isinstance(self.step, (int, float)) and math.isfinite(self.step) and self.step > 0):
            raise ProblemError(f"spsa_step must be a finite number > 0, got {self.step!r}")
        object.__setattr__(self, "step", float(self.step))

    def num_points(self, oracle) -> int:
        return 3

    def value_and_grad(self, oracle, theta: Any, seed: int | np.random.Generator | None = None, **job_hooks):
        theta = as_batch(theta, oracle.p)[0]
        rng = as_rng(seed)
        delta = rng.choice([-1.0, 1.0], size=theta.size)
        points = np.vstack([theta[None, :], theta + self.step * delta, theta - self.step * delta])
        ev = oracle.evaluate(points, seed=rng if seed is not None else None, **job_hooks)
        e = ev.energies
        return float(e[0]), (e[1] - e[2]) / (2 * self.step) * delta, ev

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "step": self.step}


def gradient_rule(
    name: str, *, fd_step: float = FD_STEP, fd_mode: str = "central", spsa_step: float = SPSA_STEP
) -> FiniteDifference | ParameterShift | SPSA:
    """The rule called ``name`` (one of :data:`GRADIENTS`) with its step options."""
    if name == "fd":
        return FiniteDifference(fd_step, fd_mode)
    if name == "param_shift":
        return ParameterShift()
    if name == "spsa":
        return SPSA(spsa_step)
    raise ProblemError(f"gradient must be 'param_shift' or 'fd' or 'spsa', got {name!r}")
