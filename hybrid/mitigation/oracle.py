"""The mitigated oracle: template circuit -> target ISA -> transforms -> one ``run_isa`` batch
-> post-processors -> energies.

The transforms run in the order ZNE folds (:mod:`.zne`), DD padding (:mod:`.dd`), REM
calibration circuits (:mod:`.rem`, leading the batch); every circuit of an evaluation
(all points, all scale factors, the calibration) goes to the target in one job. The
post-processors run in reverse: REM turns each circuit's outcomes into a mitigated
energy, ZNE extrapolates each point's per-scale energies. With two-qubit folding the
parametrised ISA template is folded (and padded) once per scale and bound per point.

Gradients come from a rule of :mod:`hybrid.oracles.gradients` applied to this oracle's
batch evaluation, so finite differences, parameter shift and SPSA all see the mitigated
energies.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Sequence

import numpy as np
from qiskit import QuantumCircuit

from backends.capabilities import Capability, supports
from backends.transpile import two_qubit_count

from ..ansatz import qaoa_circuit
from ..oracles.base import DEFAULT_SHOTS, FD_STEP, Charge, Evaluation, as_batch, job_qpu_seconds, run_or_attach
from ..oracles.gradients import GRADIENTS, FiniteDifference, gate_level, gradient_rule
from ..oracles.sampled import bitstring, counts_statistics, top_samples
from ..problems import MaxCutProblem, ProblemError, as_rng
from . import dd, rem, zne
from ._circuits import transpiler_target
from .spec import MitigationError, MitigationSpec, parse_mitigation

#: Shot-aware finite-difference step of sampled oracles: clip((amp / sqrt(shots))^(1/3)).
FD_STEP_MIN = 0.02
FD_STEP_MAX = 0.3


def _resolve_target(target: Any):
    if isinstance(target, str):
        from backends import get_target

        return get_target(target)
    return target


@dataclasses.dataclass
class _Results:
    """One run's outcomes on their way back through the post-processors.

    ``calibration``: the leading calibration outcomes; ``outcomes``: one per transformed
    circuit; ``values``/``errors``: per-circuit energies (mitigated by the post-processors so
    far), ``raw``/``raw_err`` as measured; ``energies``/``stderr``: one per point, once a
    post-processor combines the circuits of a point (the per-circuit values otherwise).
    """

    calibration: list
    outcomes: list
    values: list
    errors: list
    raw: list
    raw_err: list
    stats: list
    energies: list | None = None
    stderr: list | None = None


class _ZneStage:
    """ZNE: folds every circuit into one copy per scale factor; extrapolates each point's energies."""

    per_circuit = True

    def __init__(self, spec: MitigationSpec, tt: Any, seed: int, asymptote: float):
        self.spec, self._tt, self._seed, self._asymptote = spec, tt, seed, asymptote
        self.ctx = zne.ZneContext(tuple(spec.scale_factors), tuple(spec.scale_factors), spec.factory)
        self.commutes_with_binding = spec.fold == "two_qubit"

    def transform(self, circuits: list[QuantumCircuit]) -> list[QuantumCircuit]:
        folded, self.ctx = zne.transform(circuits, self.spec, self._tt, seed=self._seed)
        return folded

    def postprocess(self, results: _Results) -> _Results:
        values, errors = zne.postprocess(results.values, self.ctx, results.errors, asymptote=self._asymptote)
        results.energies, results.stderr = [float(v) for v in values], [float(e) for e in errors]
        return results

    def amplification(self) -> float:
        """sum |c_i| of the (linear-fit, for the exponential factory) extrapolation coefficients."""
        factory = self.spec.factory if self.spec.factory in ("richardson", "linear") else "linear"
        return float(np.abs(zne.extrapolation_coefficients(factory, self.ctx.noise_scales)).sum())


class _DdStage:
    """DD: pads every circuit (or asks the Runtime Sampler to); no post-processing."""

    per_circuit = True
    commutes_with_binding = True

    def __init__(self, spec: MitigationSpec, target: Any):
        self.spec, self.target = spec, target
        self.run_options: dict[str, Any] = dd.run_options(spec, target)

    def transform(self, circuits: list[QuantumCircuit]) -> list[QuantumCircuit]:
        return dd.transform(circuits, self.spec, self.target)

    def postprocess(self, results: _Results) -> _Results:
        return results

    def describe(self) -> str:
        return "sampler option" if self.run_options else f"PadDynamicalDecoupling {self.spec.dd_sequence}"


class _RemStage:
    """REM: leads the batch with calibration circuits while the confusion is unknown; corrects
    every circuit's outcomes with the inverse confusion."""

    per_circuit = False

    def __init__(self, spec: MitigationSpec, target: Any, isa: QuantumCircuit, cut: Any, measured):
        self.target, self.isa, self.cut, self.measured = target, isa, cut, measured
        self.ctx = rem.device_context(spec, target, isa)
        self.inverse: rem.ReadoutMitigator | None = None
        self.record: dict[str, Any] | None = None
        if self.ctx.confusion is not None:
            self.inverse = rem.mitigator(self.ctx)
            self.record = {"source": "device", "physical_qubits": list(measured)}

    @property
    def pending(self) -> bool:
        """Whether the next run has to calibrate."""
        return self.inverse is None

    def transform(self, circuits: list[QuantumCircuit]) -> list[QuantumCircuit]:
        if not self.pending:
            return list(circuits)
        circuits, ctx = rem.transform(circuits, self.ctx, self.target, isa=self.isa)
        self.calibration_circuits = ctx.calibration_circuits
        return circuits

    def postprocess(self, results: _Results) -> _Results:
        if results.calibration:
            zero, one = (o.get("counts", o.get("probs")) for o in results.calibration[:2])
            self.ctx = rem.calibrate([zero, one], dataclasses.replace(self.ctx, calibration_circuits=2))
            self.inverse = rem.mitigator(self.ctx)
            self.record = {
                "source": "calibrate",
                "physical_qubits": None if self.measured is None else list(self.measured),
                "confusion": [np.asarray(m).tolist() for m in self.ctx.confusion],
            }
        outcomes = [o["counts"] if o.get("counts") is not None else o.get("probs") for o in results.outcomes]
        means, errors = rem.postprocess(outcomes, self.ctx, self.cut, inverse=self.inverse)
        results.values, results.errors = [float(m) for m in means], [float(e) for e in errors]
        return results


class MitigatedOracle:
    """Mitigated ``<C>`` of QAOA points on any target with ``run_isa`` (see the module doc).

    ``shots`` is per circuit (each scale factor, each calibration circuit); the
    ``Evaluation.shots`` of a call is the total spent. ``shots=None`` uses the exact
    noisy distributions of ``target.exact_isa_probabilities`` (``fake:`` targets): no
    shot noise, standard errors 0, deterministic, to measure mitigation bias.
    ``gradient`` (``None``: ``"fd"``) names the rule of :meth:`value_and_grad`.
    ``fd_step=None`` picks a shot-aware central-difference step:
    ``clip((a / sqrt(shots))^(1/3), FD_STEP_MIN, FD_STEP_MAX)``
    (``a`` = sum |c_i| of the extrapolation coefficients, the noise amplification of
    ZNE; 1 without ZNE; the linear-fit value for the exponential factory), which
    balances the O(h^2) truncation error against the O(sigma / h) shot error.
    ``gradient="param_shift"`` runs the gate-level circuit (one angle per rotation gate)
    for values and gradients alike.
    """

    exact = False
    method = None

    def __init__(
        self,
        problem: MaxCutProblem,
        p: int,
        target: Any,
        spec: MitigationSpec | str,
        shots: int | None = DEFAULT_SHOTS,
        seed: int | np.random.Generator | None = None,
        *,
        fd_step: float | None = None,
        gradient: str | None = None,
    ):
        """Check the target, shots and gradient against the techniques, then prepare each technique."""
        self.problem, self.p = problem, int(p)
        self.target = _resolve_target(target)
        self.spec = parse_mitigation(spec)
        if shots is not None and (isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1):
            raise MitigationError(f"shots must be a positive integer (or None for exact), got {shots!r}")
        if gradient is not None and gradient not in GRADIENTS:
            raise ProblemError(f"gradient must be 'param_shift' or 'fd' or 'spsa', got {gradient!r}")
        self.shots = None if shots is None else int(shots)
        self._check_target(problem)
        self._rng = as_rng(seed)
        self._fold_seed = int(seed) if isinstance(seed, (int, np.integer)) else 0
        self.gradient = gradient or "fd"
        self._gates: tuple | None = None
        # The template: the gate-level circuit when values and parameter-shift gradients share it.
        self.circuit = gate_level(self)[0] if gradient == "param_shift" else qaoa_circuit(problem, self.p, measure=True)
        # By name: a cached ISA circuit may hold equal-named parameters of another circuit.
        self._param_index = {param.name: i for i, param in enumerate(self.circuit.parameters)}
        self.isa = self.target.isa_circuit(self.circuit)
        self._tt = transpiler_target(self.target)
        self.cut = problem.cut_values() if problem.n <= 24 else None
        self.scales = self.spec.scale_factors if self.spec.zne else (1.0,)
        self.base_two_qubit = two_qubit_count(self.isa)
        self._prepare_techniques()
        amp = self._zne.amplification() if self._zne is not None else 1.0
        if fd_step is not None:
            self.fd_step = float(fd_step)
        elif self.shots is None:
            self.fd_step = FD_STEP
        else:
            self.fd_step = float(np.clip((amp / math.sqrt(self.shots)) ** (1 / 3), FD_STEP_MIN, FD_STEP_MAX))
        self.gradient_rule = (
            FiniteDifference(self.fd_step, "central") if self.gradient == "fd" else gradient_rule(self.gradient)
        )

    def _check_target(self, problem: MaxCutProblem) -> None:
        """Raise naming the fix when the target cannot run the techniques at these shots on ``problem``."""
        if not supports(self.target, Capability.ISA_EXECUTION):
            raise MitigationError(f"target {self.target.spec!r} has no run_isa; mitigation needs it")
        if self.shots is None:
            if not supports(self.target, Capability.EXACT_ISA):
                raise MitigationError(
                    f"shots=None needs exact probabilities, which {self.target.spec!r} does not offer; "
                    "pass shots"
                )
            self.exact = True
        self.target.check_fits(problem.n)
        if self.spec.rem and problem.n > rem.REM_MAX_BITS:
            raise MitigationError(
                f"readout mitigation supports at most {rem.REM_MAX_BITS} nodes, got n={problem.n}; drop rem"
            )
        if problem.n > 24 and (self.exact or self.spec.rem):
            raise MitigationError(
                f"exact distributions and readout mitigation need n <= 24 nodes, got n={problem.n}"
            )

    def _prepare_techniques(self) -> None:
        """The spec's techniques in transform order (ZNE, DD, REM), and the per-point circuits as
        parametrised templates when every per-circuit transform commutes with binding."""
        self._dd = _DdStage(self.spec, self.target) if self.spec.dd else None
        self._run_kwargs: dict[str, Any] = self._dd.run_options if self._dd is not None else {}
        self._zne = (
            _ZneStage(self.spec, self._tt, self._fold_seed, self.problem.mixed_value) if self.spec.zne else None
        )
        self._per_circuit = [t for t in (self._zne, self._dd) if t is not None]
        self._templates: list[QuantumCircuit] | None = None
        self._usage_templates: list[QuantumCircuit] | None = None
        if all(t.commutes_with_binding for t in self._per_circuit):
            self._templates = self._transform([self.isa], self._per_circuit)
        measured = (
            self.target.measured_physical_qubits(self.isa)
            if supports(self.target, Capability.CALIBRATION)
            else None
        )
        self.measured_qubits = tuple(measured) if measured is not None else None
        self._rem = _RemStage(self.spec, self.target, self.isa, self.cut, measured) if self.spec.rem else None
        self.techniques = self._per_circuit + ([self._rem] if self._rem is not None else [])

    @property
    def noise_scales(self) -> tuple[float, ...]:
        """The noise scale of each scale factor: realised by two-qubit folding, else as requested."""
        return self._zne.ctx.noise_scales if self._zne is not None else tuple(self.scales)

    @staticmethod
    def _transform(circuits: list[QuantumCircuit], techniques) -> list[QuantumCircuit]:
        for technique in techniques:
            circuits = technique.transform(circuits)
        return circuits

    # -------------------------------------------------------------- circuits
    def _bind(self, template: QuantumCircuit, row: np.ndarray) -> QuantumCircuit:
        return template.assign_parameters(
            {param: float(row[self._param_index[param.name]]) for param in template.parameters}
        )

    def _template_row(self, point: Sequence[float]) -> np.ndarray:
        """A QAOA point as the values of the template's parameters (gate angles for ``param_shift``)."""
        row = as_batch(point, self.p)[0]
        return row @ gate_level(self)[1] if self.gradient_rule.gate_level else row

    def circuits_for(self, point: Sequence[float]) -> list[QuantumCircuit]:
        """The bound ISA circuits run for one QAOA point, one per scale factor."""
        return self._circuits_for_row(self._template_row(point))

    def _circuits_for_row(self, row: np.ndarray) -> list[QuantumCircuit]:
        return self._point_circuits(row[None, :])

    def _point_circuits(self, rows: np.ndarray) -> list[QuantumCircuit]:
        """Each row's circuits in order, one per scale factor: the per-circuit transforms (ZNE
        folds, DD padding) of the bound base circuit, or the templates they made, bound."""
        if self._templates is not None:
            return [self._bind(t, row) for row in rows for t in self._templates]
        return self._transform([self._bind(self.isa, row) for row in rows], self._per_circuit)

    # -------------------------------------------------------------- evaluation
    @property
    def supports_jobs(self) -> bool:
        """Whether the target submits jobs with ids that can be fetched again (``ibm:``)."""
        return supports(self.target, Capability.JOBS)

    def charge(self, kind: str, points: int = 1) -> Charge:
        """Budget charge of a call: its points, and the shots of every scale-factor circuit
        plus the readout calibration circuits when this call will run them."""
        count = points * self.gradient_rule.num_points(self) if kind == "value_and_grad" else points
        if self.shots is None:
            return Charge(count)
        shots = count * len(self.scales) * self.shots
        per_point = self._usage_circuits()
        main, main_points, seconds = list(per_point), [count] * len(per_point), 0.0
        if self.spec.rem and self.spec.rem_source == "calibrate" and self._rem.pending:
            cal_shots = self.spec.calibration_shots or self.shots
            shots += 2 * cal_shots
            cal = rem.calibration_circuits(self.isa, self._tt)
            if cal_shots != self.shots:  # a separate job, run first
                seconds += job_qpu_seconds(self.target, cal, cal_shots, isa=True)
            else:
                main, main_points = cal + main, [1] * len(cal) + main_points
        seconds += job_qpu_seconds(self.target, main, self.shots, main_points, isa=True)
        return Charge(count, shots, seconds)

    def _usage_circuits(self) -> list[QuantumCircuit]:
        """The ISA circuits one point runs (one per scale factor), as the usage model times them."""
        if self._usage_templates is None:
            self._usage_templates = (
                list(self._templates) if self._templates is not None
                else self._circuits_for_row(np.zeros(len(self._param_index)))
            )
        return self._usage_templates

    def _run(self, circuits, offset, calibrate, seed, on_submit, attach_job):
        """Run ``circuits`` (the first ``offset`` are calibration); returns outcomes and costs."""
        if self.exact:
            probs = self.target.exact_isa_probabilities(circuits)
            return [{"probs": row} for row in probs], (), 0, {}
        run_seed = seed if seed is not None else self._rng
        cal_shots = self.spec.calibration_shots or self.shots
        jobs = []
        if calibrate and cal_shots != self.shots:
            # Calibration with its own shot count: a separate job, run first.
            jobs.append(self.target.run_isa(circuits[:offset], cal_shots, seed=run_seed, **self._run_kwargs))
            main = circuits[offset:]
        else:
            main = circuits
        result = run_or_attach(
            self.target, attach_job=attach_job, on_submit=on_submit, jobs=self.supports_jobs,
            submit=lambda: self.target.submit_isa(main, self.shots, **self._run_kwargs),
            run=lambda: self.target.run_isa(main, self.shots, seed=run_seed, **self._run_kwargs),
        )
        if attach_job is not None and len(result.counts) != len(main):
            raise MitigationError(
                f"job {', '.join(result.job_ids) or 'attached'} holds {len(result.counts)} circuits but this evaluation needs "
                f"{len(main)} (calibration circuits are only in an oracle's first job); "
                "evaluate again without attach_job"
            )
        jobs.append(result)
        outcomes = [{"counts": c} for job in jobs for c in job.counts]
        job_ids = tuple(j for job in jobs for j in job.job_ids)
        shots_spent = cal_shots * offset + self.shots * (len(circuits) - offset)
        meta = dict(result.metadata)
        meta["usage"] = [u for job in jobs for u in job.metadata.get("usage") or ()]
        return outcomes, job_ids, shots_spent, meta

    def evaluate(
        self,
        params: Any,
        seed: int | np.random.Generator | None = None,
        *,
        on_submit=None,
        attach_job: Any = None,
    ) -> Evaluation:
        """Mitigated expected cuts of a parameter batch, all circuits in one job.

        With a job-based target (``ibm:``), ``on_submit(job)`` is called with the job's
        record as soon as it is accepted and ``attach_job`` fetches an earlier job (record,
        its dict or id) instead of
        submitting (as :class:`hybrid.oracles.SampledOracle` does). A calibration with
        its own ``calibration_shots`` is a separate job outside these hooks.
        """
        batch = as_batch(params, self.p)
        if not self.gradient_rule.gate_level:
            return self._evaluate_rows(batch, seed, on_submit, attach_job)
        ev = self._evaluate_rows(batch @ gate_level(self)[1], seed, on_submit, attach_job)
        return dataclasses.replace(ev, params=batch)

    def evaluate_gates(self, points: Any, seed: int | np.random.Generator | None = None, **job_hooks) -> Evaluation:
        """Mitigated energies of gate-level points (one angle per rotation gate; ``gradient="param_shift"``)."""
        if not self.gradient_rule.gate_level:
            raise MitigationError("gate-level points need the gate-level template: build the oracle with gradient='param_shift'")
        return self._evaluate_rows(np.atleast_2d(np.asarray(points, float)), seed, **job_hooks)

    def _evaluate_rows(self, batch: np.ndarray, seed, on_submit=None, attach_job=None) -> Evaluation:
        """Every row's circuits, transformed by each technique in order, in one ``run_isa`` job
        (:meth:`_run`), then post-processed by the techniques in reverse order."""
        start = time.perf_counter()
        calibrate = self._rem is not None and self._rem.pending
        circuits = self._point_circuits(batch)
        if calibrate:
            circuits = self._rem.transform(circuits)
        offset = self._rem.calibration_circuits if calibrate else 0
        outcomes, job_ids, shots_spent, run_meta = self._run(
            circuits, offset, calibrate, seed, on_submit, attach_job
        )
        results = self._measured(outcomes[:offset], outcomes[offset:])
        for technique in reversed(self.techniques):
            results = technique.postprocess(results)
        return self._evaluation(batch, circuits, offset, results, job_ids, shots_spent, run_meta, start)

    def _measured(self, calibration: list, outcomes: list) -> _Results:
        """The unmitigated energy (and count statistics) of every circuit's outcomes."""
        values, errors, stats = [], [], []
        for out in outcomes:
            counts = out.get("counts")
            if counts is not None:
                stat = counts_statistics(self.problem, counts)
                value, error = stat["mean"], stat["stderr"]
            else:
                stat, value, error = None, float(out.get("probs") @ self.cut), 0.0
            values.append(value)
            errors.append(error)
            stats.append(stat)
        return _Results(calibration, outcomes, list(values), list(errors), values, errors, stats)

    def _evaluation(self, batch, circuits, offset, results, job_ids, shots_spent, run_meta, start) -> Evaluation:
        """The :class:`Evaluation` of post-processed ``results``, with the costs and each technique's record."""
        num_scales, points = len(self.scales), batch.shape[0]

        def per_point(xs: list) -> list:
            return [xs[b * num_scales:(b + 1) * num_scales] for b in range(points)]

        unscaled = [s for s in results.stats[::num_scales] if s is not None]
        best = max(unscaled, key=lambda s: s["best_cut"], default=None)
        two_q = [two_qubit_count(c) for c in circuits[offset:offset + num_scales]] if points else []
        cost = {
            "circuits": len(circuits),
            "circuits_per_point": num_scales,
            "calibration_circuits": offset,
            "two_qubit_gates_per_point": int(sum(two_q)),
            "two_qubit_gates_unmitigated": self.base_two_qubit,
            "circuit_ratio": float(num_scales + offset / max(points, 1)),
            "two_qubit_ratio": float(sum(two_q) / self.base_two_qubit) if self.base_two_qubit else 1.0,
            "shots": shots_spent,
            "shots_unmitigated": 0 if self.shots is None else self.shots * points,
        }
        metadata = {
            "mitigation": self.spec.to_dict(),
            "target": self.target.spec,
            "exact": self.exact,
            "scale_factors": list(self.scales),
            "noise_scales": list(self.noise_scales),
            "scale_energies": per_point(results.values),
            "scale_stderr": per_point(results.errors),
            "raw_energies": per_point(results.raw),
            "raw_stderr": per_point(results.raw_err),
            "cost": cost,
            "dd": None if self._dd is None else self._dd.describe(),
            "rem": None if self._rem is None else self._rem.record,
            "run": run_meta,
            "usage": run_meta.get("usage") or [],
        }
        return Evaluation(
            params=batch,
            energies=np.asarray(results.values if results.energies is None else results.energies),
            stderr=np.asarray(results.errors if results.stderr is None else results.stderr),
            shots=int(shots_spent),
            best_cut=None if best is None else best["best_cut"],
            best_bitstring=None if best is None else bitstring(best["best_key"], self.problem.n),
            job_ids=job_ids,
            samples=top_samples(self.problem, unscaled),
            wall_time=time.perf_counter() - start,
            metadata=metadata,
        )

    def value_and_grad(self, theta: Any, seed: int | np.random.Generator | None = None, **job_hooks):
        """Value and gradient by :attr:`gradient_rule`; the value and all shifted points run in one job.

        ``job_hooks`` (``on_submit``, ``attach_job``) go to the batch evaluation.
        """
        return self.gradient_rule.value_and_grad(self, theta, seed, **job_hooks)

    def describe(self) -> dict[str, Any]:
        return {
            "mitigation": self.spec.to_dict(),
            "target": self.target.spec,
            "shots": self.shots,
            "fd_step": self.fd_step,
            "noise_scales": list(self.noise_scales),
            "two_qubit_gates": self.base_two_qubit,
        }
