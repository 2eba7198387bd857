"""The exact noisy ``<C>`` on a target with exact probabilities (``fake:<device>``).

A density matrix of the circuit's active qubits with readout error applied exactly (the
energy is its outcome distribution times the diagonal ``C(z)``: cut, fields and offset), or,
when that is too large, the target's noisy light cones (:mod:`backends.noisy_cones`: one per
edge for ``<Z_u Z_v>`` and one per node with a field for ``<Z_i>``, readout included).
Gradients by a rule of :mod:`hybrid.oracles.gradients` (all shifted points in one
simulator call), or by autograd through the noisy cones.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import torch

from backends.capabilities import Capability, supports

from ..ansatz import field_terms, qaoa_circuit
from ..problems import MaxCutProblem, ProblemError
from .base import FD_STEP, Charge, Evaluation, as_batch
from .gradients import FD_MODES, GRADIENTS, gate_level, gradient_rule
from .light_cone import _adjacency, _ball


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
        if not target.exact:
            raise ProblemError(f"target {target.spec!r} has no exact probabilities; use SampledOracle with shots")
        if fd_mode not in FD_MODES:
            raise ProblemError(f"fd_mode must be 'central' or 'forward', got {fd_mode!r}")
        if gradient not in GRADIENTS:
            raise ProblemError(f"gradient must be 'param_shift' or 'fd' or 'spsa', got {gradient!r}")
        self.gradient = gradient
        self._gates: tuple | None = None
        if method not in NOISY_METHODS:
            raise ProblemError(f"method must be one of {', '.join(NOISY_METHODS)}, got {method!r}")
        target.check_fits(problem.n)
        self.problem, self.p, self.target = problem, int(p), target
        self.fd_step, self.fd_mode = float(fd_step), fd_mode
        self.gradient_rule = gradient_rule(gradient, fd_step=self.fd_step, fd_mode=fd_mode)
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
        """The target's noisy light cones of every edge, and of every node with a field (the pair
        ``(i, i)``: ``<Z_i>``); built once, the logical cones are the fallback."""
        if self._cones is None:
            nbrs = _adjacency(self.problem)
            pairs = [(u, v) for u, v, _ in self.problem.edges]
            fallback = [_ball(nbrs, u, v, self.p)[0] for u, v in pairs]
            for i, _ in field_terms(self.problem):
                pairs.append((i, i))
                fallback.append(_ball(nbrs, i, None, self.p)[0])
            self._cones = self.target.noisy_cones(self.circuit, pairs, fallback)
        return self._cones

    def _cone_weights(self) -> np.ndarray:
        """The coefficient of ``(1 - <Z Z>) / 2`` per cone: edge weights, then the fields."""
        fields = [h for _, h in field_terms(self.problem)]
        return np.concatenate([self.problem.weights, fields]) if fields else self.problem.weights

    def _cone_energies(self, theta: torch.Tensor) -> torch.Tensor:
        zz = self.cones().zz_torch(theta)
        energies = ((1 - zz) / 2) @ torch.as_tensor(self._cone_weights(), dtype=torch.float64)
        return energies + self.problem.offset if self.problem.offset else energies

    def _cone_evaluation(self, batch: np.ndarray, energies: np.ndarray, start: float) -> Evaluation:
        meta = {"method": self.method, **self.cones().describe()}
        return Evaluation(batch, energies, np.zeros_like(energies), wall_time=time.perf_counter() - start, metadata=meta)

    def charge(self, kind: str, points: int = 1) -> Charge:
        """Budget charge of a call: every simulated point is one evaluation (no shots)."""
        return Charge(points * self.gradient_rule.num_points(self) if kind == "value_and_grad" else points)

    def _exact(self, circuit, points: np.ndarray) -> Evaluation:
        start = time.perf_counter()
        energies = self.target.probabilities(circuit, points) @ self.cut
        return Evaluation(points, energies, np.zeros_like(energies), wall_time=time.perf_counter() - start)

    def evaluate(self, params: Any, seed: int | np.random.Generator | None = None) -> Evaluation:
        batch = as_batch(params, self.p)
        if self.cut is None:
            start = time.perf_counter()
            with torch.no_grad():
                energies = self._cone_energies(torch.as_tensor(batch)).numpy()
            return self._cone_evaluation(batch, energies, start)
        if not self.gradient_rule.gate_level:
            return self._exact(self.circuit, batch)
        circuit, jac = gate_level(self)
        return dataclasses.replace(self._exact(circuit, batch @ jac), params=batch)

    def evaluate_gates(self, points: Any, seed: int | np.random.Generator | None = None) -> Evaluation:
        """Exact noisy energies of gate-level points (one angle per rotation gate), one simulator call."""
        if self.cut is None:
            raise ProblemError("noisy light cones take QAOA angles only; use gradient='fd' or method='density-matrix'")
        return self._exact(gate_level(self)[0], np.atleast_2d(np.asarray(points, float)))

    def value_and_grad(self, theta: Any, seed: int | np.random.Generator | None = None):
        """Value and gradient; all shifted points in one simulator call.

        ``gradient="fd"`` (default): central (or forward) differences, ``4p`` (``2p``)
        extra points. ``gradient="param_shift"``: the exact per-gate rule on the same
        noisy circuit, ``2p(m + n)`` extra points. ``gradient="spsa"``: 2 extra points. With noisy light cones: exact gradients by
        autograd through the cone density matrices (one forward and one backward pass).
        """
        if self.cut is None:
            start = time.perf_counter()
            point = as_batch(theta, self.p)
            value, grad = self.cones().energy_and_grad(point[0], self._cone_weights())
            value += self.problem.offset
            return value, grad, self._cone_evaluation(point, np.array([value]), start)
        return self.gradient_rule.value_and_grad(self, theta, seed)
