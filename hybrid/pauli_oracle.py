"""Noisy ``<C>`` at device scale by Pauli propagation under the twirled device noise.

For ``fake:<device>`` targets with :data:`backends.capabilities.Capability.PAULI_PROPAGATION`
(:mod:`backends.pauli_prop`): the ISA circuit is propagated in the Heisenberg picture with
the Pauli twirl of every gate's device error, readout folded in exactly. Any number of
qubits; the cost grows with depth, and small terms are truncated (per depth defaults,
:data:`backends.pauli_prop.DEFAULT_TRUNCATION`), the truncated one-norm reported in every
evaluation's metadata as an upper bound on the error (loose at p = 3);
:meth:`PauliPropOracle.truncation_estimate` gives the a-posteriori estimate.

Mitigation at scale, exactly from the model:

* ``rem``: the readout un-folded (``z -> z``), what inverting the exact confusion
  matrices gives;
* ``zne``: the Pauli-Lindblad rates multiplied by each scale factor, then extrapolated as
  :mod:`hybrid.mitigation.zne` does. ``zne_noise="two_qubit"`` (default) scales only the
  two-qubit gates' rates (under the twirled noise exactly what two-qubit folding does);
  ``"all"`` scales every gate (the ideal noise amplification). The default is the one that
  matched exact folded-circuit density matrices better (tests/bench/bench_scale_oracles.py).

Gradients by a rule of :mod:`hybrid.oracles.gradients` (``fd``, ``param_shift``, ``spsa``),
every point of a call in one batch.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from backends.capabilities import Capability, require
from backends.pauli_prop import METHOD, NOISE_SCALINGS, default_truncation

from .ansatz import field_terms, qaoa_circuit
from .mitigation import zne
from .mitigation.spec import MitigationError, MitigationSpec, parse_mitigation
from .problems import MaxCutProblem, ProblemError
from .oracles.base import FD_STEP, Charge, Evaluation, as_batch
from .oracles.gradients import FD_MODES, GRADIENTS, gate_level, gradient_rule

#: Which gates' rates ZNE amplifies by default (see the module doc).
DEFAULT_ZNE_NOISE = "two_qubit"


class PauliPropOracle:
    """Noisy (optionally mitigated) ``<C>`` by Pauli propagation of the twirled device noise."""

    exact = True  # deterministic values (no shot noise); approximate by twirl and truncation
    method = METHOD

    def __init__(
        self,
        problem: MaxCutProblem,
        p: int,
        target,
        *,
        mitigation: MitigationSpec | str = "none",
        fd_step: float = FD_STEP,
        fd_mode: str = "central",
        gradient: str = "fd",
        atol: float | None = None,
        max_terms: int | None = None,
        zne_noise: str = DEFAULT_ZNE_NOISE,
    ):
        require(target, Capability.PAULI_PROPAGATION, "the Pauli-propagation oracle",
                "use a fake:<device> target or method='density_matrix'")
        if fd_mode not in FD_MODES:
            raise ProblemError(f"fd_mode must be 'central' or 'forward', got {fd_mode!r}")
        if gradient not in GRADIENTS:
            raise ProblemError(f"gradient must be 'param_shift' or 'fd' or 'spsa', got {gradient!r}")
        if zne_noise not in NOISE_SCALINGS:
            raise MitigationError(f"zne_noise must be one of {', '.join(NOISE_SCALINGS)}, got {zne_noise!r}")
        self.spec = parse_mitigation(mitigation)
        if self.spec.dd:
            raise MitigationError(
                "dynamical decoupling has no effect in the Pauli-propagation model (no idle noise); "
                "drop dd from the mitigation or use shots"
            )
        target.check_fits(problem.n)
        self.problem, self.p, self.target = problem, int(p), target
        self.gradient = gradient
        self.fd_step, self.fd_mode = float(fd_step), fd_mode
        self.gradient_rule = gradient_rule(gradient, fd_step=self.fd_step, fd_mode=fd_mode)
        default_atol, default_terms = default_truncation(self.p)
        self.atol = float(default_atol if atol is None else atol)
        self.max_terms = int(default_terms if max_terms is None else max_terms)
        if self.atol < 0 or self.max_terms < 1:
            raise ProblemError(f"atol must be >= 0 and max_terms >= 1, got atol={atol!r}, max_terms={max_terms!r}")
        self.zne_noise = zne_noise
        self.scales = tuple(self.spec.scale_factors) if self.spec.zne else (1.0,)
        self.circuit = qaoa_circuit(problem, self.p, measure=True)
        self._gates: tuple | None = None
        self._pairs = [(u, v) for u, v, _ in problem.edges]
        self._weights = problem.weights
        fields = field_terms(problem)  # <Z_i> as the pair (i, i)
        if fields:
            self._pairs += [(i, i) for i, _ in fields]
            self._weights = np.concatenate([self._weights, [h for _, h in fields]])

    def propagation(self, gates: bool = False):
        """The prepared propagation of the QAOA circuit (``gates``: the gate-level one)."""
        circuit = gate_level(self)[0] if gates else self.circuit
        return self.target.pauli_propagation(circuit, self._pairs)

    def charge(self, kind: str, points: int = 1) -> Charge:
        """Budget charge of a call: every simulated point is one evaluation (no shots)."""
        return Charge(points * self.gradient_rule.num_points(self) if kind == "value_and_grad" else points)

    def _run(self, batch: np.ndarray, gates: bool) -> Evaluation:
        start = time.perf_counter()
        prop = self.propagation(gates)
        per_scale, truncated, terms = [], [], []
        for scale in self.scales:
            res = prop.energies(batch, self._weights, atol=self.atol, max_terms=self.max_terms,
                                readout=not self.spec.rem, noise_scale=scale, scaling=self.zne_noise)
            per_scale.append(res.energies + self.problem.offset if self.problem.offset else res.energies)
            truncated.append(res.truncated)
            terms.append(res.terms)
        per_scale = np.array(per_scale).T  # (B, scales)
        if self.spec.zne:
            ctx = zne.ZneContext(self.scales, self.scales, self.spec.factory)
            energies, _ = zne.postprocess(per_scale.ravel(), ctx, asymptote=self.problem.mixed_value)
        else:
            energies = per_scale[:, 0]
        truncated = np.array(truncated).T
        meta = {
            "oracle_method": "pauli_prop",
            "method": METHOD,
            "twirled": True,
            "target": self.target.spec,
            "atol": self.atol,
            "max_terms": self.max_terms,
            "truncated_weight": truncated.max(axis=1).tolist(),
            "truncated_fraction": (truncated.max(axis=1) / np.maximum(np.abs(energies), 1e-300)).tolist(),
            "terms": np.array(terms).T.tolist(),
            "setup_seconds": prop.setup_time,
            "mitigation": self.spec.to_dict(),
        }
        if self.spec.zne:
            meta.update({"zne_noise": self.zne_noise, "noise_scales": list(self.scales),
                         "scale_energies": per_scale.tolist()})
        return Evaluation(batch, np.asarray(energies, float), np.zeros(len(batch)),
                          wall_time=time.perf_counter() - start, metadata=meta)

    def evaluate(self, params: Any, seed: int | np.random.Generator | None = None) -> Evaluation:
        batch = as_batch(params, self.p)
        if not self.gradient_rule.gate_level:
            return self._run(batch, gates=False)
        return dataclasses.replace(self._run(batch @ gate_level(self)[1], gates=True), params=batch)

    def evaluate_gates(self, points: Any, seed: int | np.random.Generator | None = None) -> Evaluation:
        """Energies of gate-level points (one angle per rotation gate of the gate-level circuit)."""
        return self._run(np.atleast_2d(np.asarray(points, float)), gates=True)

    def truncation_estimate(self, params: Any, factor: float = 10.0) -> dict[str, Any]:
        """A-posteriori truncation error at ``params``: the energy at ``atol`` against ``atol / factor``.

        Not a bound: the tighter value is itself truncated. The one-norm bound of the dropped
        terms (``truncated_weight``) is reported beside it. Noisy energies (no mitigation).
        """
        if factor <= 1:
            raise ProblemError(f"factor must be > 1 (the tighter atol is atol / factor), got {factor!r}")
        batch = as_batch(params, self.p)
        prop = self.propagation()
        out = []
        for atol in (self.atol, self.atol / factor):
            start = time.perf_counter()
            res = prop.energies(batch, self.problem.weights, atol=atol, max_terms=self.max_terms)
            out.append((res, time.perf_counter() - start))
        (base, t_base), (tight, t_tight) = out
        diff = np.abs(base.energies - tight.energies)
        return {"atol": self.atol, "tighter_atol": self.atol / factor,
                "energies": base.energies.tolist(), "tighter_energies": tight.energies.tolist(),
                "estimate": diff.tolist(),
                "relative_estimate": (diff / np.maximum(np.abs(tight.energies), 1e-300)).tolist(),
                "truncated_weight": base.truncated.tolist(), "seconds": t_base, "tighter_seconds": t_tight}

    def value_and_grad(self, theta: Any, seed: int | np.random.Generator | None = None):
        """Value and gradient by :attr:`gradient_rule`; all points of the rule in one batch."""
        return self.gradient_rule.value_and_grad(self, theta, seed)

    def describe(self) -> dict[str, Any]:
        return {"oracle_method": "pauli_prop", "method": METHOD, "twirled": True, "target": self.target.spec,
                "atol": self.atol, "max_terms": self.max_terms, "mitigation": self.spec.to_dict(),
                "zne_noise": self.zne_noise if self.spec.zne else None}
