"""QPU usage: the quantum seconds one job locks a QPU for, and what a session is billed.

IBM bills *usage* (IBM Quantum docs, "Workload usage"):

* **job and batch mode**: the quantum seconds the QPU is locked for each job, summed;
* **session mode**: the wall-clock time the session is active, from its first job's
  start until it is closed (or its last job ends, whichever is later), classical work
  between jobs included.

The model of one job's quantum seconds (:meth:`UsageModel.estimate`)::

    quantum_seconds = job_overhead
                    + circuits * circuit_overhead
                    + shots * sum over circuits (scheduled duration + rep_delay)

* ``circuits`` counts every circuit the QPU executes: each bound circuit of the job,
  each parameter point of a parametrised PUB. Shots run column-wise (shot 0 of every
  circuit, then shot 1, ...), with ``rep_delay`` after every circuit execution (IBM
  docs, "Qubit initialization").
* ``scheduled duration`` is the as-soon-as-possible schedule of the ISA circuit with the
  device's own instruction durations (transpiler ``Target``: gates, ``measure``,
  ``reset``; ``delay`` by its own duration); ``rz`` is virtual (0 s).
* ``rep_delay`` is the backend's ``default_rep_delay`` (250 us on FakeTorino).
* ``job_overhead`` and ``circuit_overhead`` are not published per device. IBM's guide
  ("Estimate job run time") shows ``usage_estimation`` of 4.1 quantum seconds for one
  2-qubit Bell circuit at the Sampler's default 4096 shots; with a 250 us rep delay
  and a few microseconds of circuit, the shots take about 1.0 s, so about 3 s is fixed
  cost. That single example cannot split it between the job and its one circuit, so
  :data:`JOB_OVERHEAD_S` carries all of it and :data:`CIRCUIT_OVERHEAD_S` is 0 until
  recorded ``job.usage()`` values of multi-circuit jobs say otherwise (the ledger keeps
  both the estimate and IBM's figures of every ``ibm:`` job for that comparison).

Where a backend has no figure, the named fallbacks below are FakeTorino's (DESIGN.md,
checked against ``qiskit_ibm_runtime.fake_provider.FakeTorino``); every estimate says
how many instructions used one (``fallback_instructions``) and where the rep delay
came from (``rep_delay_source``).

A session's bill is recorded as :class:`SessionUsage` (opened, first job submitted,
last result in, closed); ``billed_seconds`` is the active span and
``classical_share`` the part of it during which no job of the run held the QPU.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

from qiskit import QuantumCircuit

from .base import TargetError

#: Fixed quantum seconds per job: IBM's Bell-circuit example (4.1 s at 4096 shots) less
#: its shots (4096 x ~252 us = ~1.0 s), rounded to the one digit the example supports.
JOB_OVERHEAD_S = 3.0
#: Quantum seconds per executed circuit beyond its shots: IBM publishes none (see the module doc).
CIRCUIT_OVERHEAD_S = 0.0
#: Shots of IBM's Bell-circuit example (the Sampler's default).
IBM_BELL_EXAMPLE_SHOTS = 4096
#: ``usage_estimation`` IBM's guide printed for that job, quantum seconds.
IBM_BELL_EXAMPLE_SECONDS = 4.1
#: Fallbacks (FakeTorino's figures), used only where a backend has none.
FALLBACK_REP_DELAY_S = 250e-6
FALLBACK_MEASURE_S = 1.56e-6
FALLBACK_TWO_QUBIT_S = 68e-9
FALLBACK_ONE_QUBIT_S = 32e-9
#: Instructions that take no QPU time (frame changes and markers).
ZERO_DURATION = frozenset({"rz", "barrier", "id"})
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}


@dataclass(frozen=True)
class UsageEstimate:
    """The estimated quantum seconds of one job and the terms they are made of."""

    quantum_seconds: float
    job_overhead_s: float
    circuit_overhead_s: float  # per executed circuit
    circuits: int  # circuit executions per shot (bound circuits + parameter points)
    shots: int
    circuit_seconds: float  # sum of the scheduled durations of those circuits
    rep_delay_s: float
    rep_delay_source: str
    fallback_instructions: int = 0

    @property
    def shot_seconds(self) -> float:
        """``shots * (circuit_seconds + circuits * rep_delay)``: the part that scales with shots."""
        return self.shots * (self.circuit_seconds + self.circuits * self.rep_delay_s)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["shot_seconds"] = self.shot_seconds
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "UsageEstimate":
        try:
            return cls(
                quantum_seconds=float(data["quantum_seconds"]),
                job_overhead_s=float(data["job_overhead_s"]),
                circuit_overhead_s=float(data["circuit_overhead_s"]),
                circuits=int(data["circuits"]),
                shots=int(data["shots"]),
                circuit_seconds=float(data["circuit_seconds"]),
                rep_delay_s=float(data["rep_delay_s"]),
                rep_delay_source=str(data["rep_delay_source"]),
                fallback_instructions=int(data.get("fallback_instructions", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TargetError(
                f"not a UsageEstimate record ({type(exc).__name__}: {exc}); pass what UsageEstimate.to_dict() wrote"
            ) from None


@dataclass(frozen=True)
class UsageModel:
    """The usage model of one device: overheads, rep delay and its transpiler target's durations."""

    rep_delay_s: float = FALLBACK_REP_DELAY_S
    rep_delay_source: str = "fallback (FakeTorino default_rep_delay)"
    job_overhead_s: float = JOB_OVERHEAD_S
    circuit_overhead_s: float = CIRCUIT_OVERHEAD_S
    device: str = ""

    def __post_init__(self):
        for name in ("rep_delay_s", "job_overhead_s", "circuit_overhead_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise TargetError(f"{name} must be a finite number >= 0 seconds, got {value!r}")

    @classmethod
    def from_backend(cls, backend: Any, **overrides: Any) -> "UsageModel":
        """The model of ``backend``: its ``default_rep_delay`` (seconds) or the named fallback."""
        rep = getattr(backend, "default_rep_delay", None)
        name = str(getattr(backend, "name", "") or "")
        if isinstance(rep, (int, float)) and math.isfinite(rep) and rep >= 0:
            fields = {"rep_delay_s": float(rep), "rep_delay_source": "backend.default_rep_delay"}
        else:
            fields = {}
        return cls(device=name, **{**fields, **overrides})

    def estimate(self, durations: Sequence[float], shots: int, fallbacks: int = 0) -> UsageEstimate:
        """One job executing circuits of these scheduled ``durations`` (seconds), ``shots`` each."""
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
            raise TargetError(f"shots must be a positive integer, got {shots!r}")
        durations = [float(d) for d in durations]
        if not durations or any(not math.isfinite(d) or d < 0 for d in durations):
            raise TargetError(f"durations must be one finite duration >= 0 per circuit, got {durations!r}")
        circuits = len(durations)
        circuit_seconds = math.fsum(durations)
        total = (
            self.job_overhead_s
            + circuits * self.circuit_overhead_s
            + shots * (circuit_seconds + circuits * self.rep_delay_s)
        )
        return UsageEstimate(
            quantum_seconds=total,
            job_overhead_s=self.job_overhead_s,
            circuit_overhead_s=self.circuit_overhead_s,
            circuits=circuits,
            shots=shots,
            circuit_seconds=circuit_seconds,
            rep_delay_s=self.rep_delay_s,
            rep_delay_source=self.rep_delay_source,
            fallback_instructions=int(fallbacks),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "UsageModel":
        return cls(**{k: data[k] for k in ("rep_delay_s", "rep_delay_source", "job_overhead_s",
                                            "circuit_overhead_s", "device") if k in data})


def _fallback(name: str, num_qubits: int) -> float:
    if name in ("measure", "reset"):
        return FALLBACK_MEASURE_S
    return FALLBACK_TWO_QUBIT_S if num_qubits >= 2 else FALLBACK_ONE_QUBIT_S


def _delay_seconds(op: Any, dt: float | None) -> float:
    unit = getattr(op, "unit", "dt")
    value = float(op.duration)
    if unit == "dt":
        if dt is None:
            raise TargetError("a delay in units of dt on a device without dt; give delays in seconds")
        return value * dt
    return value * _TIME_UNITS[unit]


def scheduled_duration(circuit: QuantumCircuit, transpiler_target: Any = None) -> tuple[float, int]:
    """``(seconds, fallbacks)``: the as-soon-as-possible schedule length of an ISA ``circuit``.

    Each instruction starts when all its qubits are free (a barrier only aligns them)
    and lasts the duration ``transpiler_target`` gives it on those qubits; instructions
    it has no duration for take the named fallbacks (counted in ``fallbacks``).
    A control-flow instruction lasts as long as its longest block, run once.
    """
    return _schedule(circuit, transpiler_target, list(range(circuit.num_qubits)))


def _schedule(circuit: QuantumCircuit, transpiler_target: Any, physical: list[int]) -> tuple[float, int]:
    ready = [0.0] * circuit.num_qubits
    fallbacks = 0
    dt = getattr(transpiler_target, "dt", None)
    names = set(transpiler_target.operation_names) if transpiler_target is not None else set()
    for inst in circuit.data:
        op = inst.operation
        local = [circuit.find_bit(q).index for q in inst.qubits]
        qubits = [physical[q] for q in local]
        blocks = getattr(op, "blocks", ())
        start = max((ready[q] for q in local), default=0.0)
        if blocks:
            length = 0.0
            for block in blocks:
                seconds, extra = _schedule(block, transpiler_target, qubits)
                length, fallbacks = max(length, seconds), fallbacks + extra
        elif op.name == "delay":
            length = _delay_seconds(op, dt)
        elif op.name in ZERO_DURATION:
            length = 0.0
        else:
            props = None
            if op.name in names:
                table = transpiler_target[op.name]
                props = table.get(tuple(qubits)) if table else None
                if props is None and table:
                    props = table.get(None)
            duration = getattr(props, "duration", None)
            if duration is None:
                length = _fallback(op.name, len(qubits))
                fallbacks += 1
            else:
                length = float(duration)
        for q in local:
            ready[q] = start + length
    return (max(ready) if ready else 0.0), fallbacks


@dataclass(frozen=True)
class SessionUsage:
    """A Runtime session's billed span: opened, first job submitted, last result in, closed (epoch seconds).

    ``billed_seconds`` follows IBM's definition: from the first job until the session
    is closed or its last result is in, whichever is later (0 when no job was sent).
    On a simulator (``simulated``: ``fake:``, ``local:``) the time spent inside jobs
    (``job_wall_seconds``, simulation) is replaced by the jobs' estimated
    ``quantum_seconds``: what the same run would be billed on the QPU, its classical
    work between jobs unchanged. ``classical_share`` is the billed time no job of the
    run was using, as a fraction of ``billed_seconds``.
    """

    opened_at: float
    closed_at: float
    first_job_at: float | None = None
    last_result_at: float | None = None
    quantum_seconds: float = 0.0
    jobs: int = 0
    mode: str = "session"
    simulated: bool = False
    job_wall_seconds: float = 0.0

    @property
    def span_seconds(self) -> float:
        """Wall-clock seconds from the first job to the close or the last result, whichever is later."""
        if self.first_job_at is None:
            return 0.0
        end = max(self.closed_at, self.last_result_at or self.closed_at)
        return max(0.0, end - self.first_job_at)

    @property
    def billed_seconds(self) -> float:
        span = self.span_seconds
        if not self.simulated or self.first_job_at is None:
            return span
        return max(0.0, span - self.job_wall_seconds) + self.quantum_seconds

    @property
    def classical_share(self) -> float | None:
        billed = self.billed_seconds
        if billed <= 0:
            return None
        return min(1.0, max(0.0, 1.0 - self.quantum_seconds / billed))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["span_seconds"] = self.span_seconds
        out["billed_seconds"] = self.billed_seconds
        out["classical_share"] = self.classical_share
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SessionUsage":
        return cls(**{k: data[k] for k in ("opened_at", "closed_at", "first_job_at", "last_result_at",
                                            "quantum_seconds", "jobs", "mode", "simulated",
                                            "job_wall_seconds") if k in data})


@dataclass(frozen=True)
class JobUsage:
    """What one job costs: the model's estimate and, on ``ibm:``, IBM's own figures.

    ``usage_estimation_s`` is ``job.usage_estimation["quantum_seconds"]`` read at
    submission; ``actual_seconds`` is ``job.usage()`` and ``metrics`` the ``usage`` and
    ``timestamps`` parts of ``job.metrics()``, read when the job ended. Targets put one
    ``to_dict()`` per job in ``SampleResult.metadata["usage"]``.
    """

    job_id: str | None
    estimate: UsageEstimate | None
    usage_estimation_s: float | None = None
    actual_seconds: float | None = None
    metrics: dict[str, Any] | None = None

    @property
    def estimated_seconds(self) -> float | None:
        return None if self.estimate is None else self.estimate.quantum_seconds

    @property
    def quantum_seconds(self) -> float:
        """IBM's actual usage where known, else the model's estimate (0 without either)."""
        if self.actual_seconds is not None:
            return self.actual_seconds
        return self.estimated_seconds or 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "estimated_seconds": self.estimated_seconds,
            "estimate": None if self.estimate is None else self.estimate.to_dict(),
            "usage_estimation_s": self.usage_estimation_s,
            "actual_seconds": self.actual_seconds,
            "metrics": self.metrics,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JobUsage":
        est = data.get("estimate")
        return cls(
            job_id=data.get("job_id"),
            estimate=None if est is None else UsageEstimate.from_dict(est),
            usage_estimation_s=as_seconds(data.get("usage_estimation_s")),
            actual_seconds=as_seconds(data.get("actual_seconds")),
            metrics=data.get("metrics"),
        )


def as_seconds(value: Any) -> float | None:
    """A finite number of seconds, or None (IBM answers None or 0 while a figure is pending)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def usage_records(metadata: dict[str, Any] | None) -> list[JobUsage]:
    """The per-job usage records a target left in a result's (or evaluation's) ``metadata``."""
    return [JobUsage.from_dict(u) for u in (metadata or {}).get("usage") or ()]


class SessionClock:
    """Records a run's execution span as IBM bills a session: opened, first job sent,
    last result in, closed (wall-clock epoch seconds), the quantum seconds of its jobs and
    the wall time spent inside them (see :class:`SessionUsage`).

    ``mode`` is the execution mode the run used (``session``, ``batch`` or ``job``); in
    job and batch mode the span is what a session *would* have been billed.
    ``simulated``: the jobs run on a simulator (see :class:`SessionUsage`). Calls
    replayed from a ledger send no job and are not timed. ``clock`` is a ``time.time``
    stand-in for tests.
    """

    def __init__(self, mode: str = "session", simulated: bool = False, clock: Any = None):
        import time

        self.mode, self.simulated = mode, bool(simulated)
        self._clock = clock or time.time
        self.opened_at: float | None = None
        self.first_job_at: float | None = None
        self.last_result_at: float | None = None
        self._sent_at: float | None = None
        self.quantum_seconds = 0.0
        self.job_wall_seconds = 0.0
        self.jobs = 0

    def open(self) -> None:
        self.opened_at = self._clock()

    def job_sent(self) -> None:
        """A call is about to send its jobs (it counts once its result says it ran some)."""
        self._sent_at = self._clock()

    def result_in(self, quantum_seconds: float = 0.0, jobs: int = 1) -> None:
        """The call's results are in; ``jobs`` is how many QPU jobs it ran (0: nothing to bill)."""
        now, sent, self._sent_at = self._clock(), self._sent_at, None
        if jobs < 1:
            return
        if self.first_job_at is None:
            self.first_job_at = now if sent is None else sent
        self.last_result_at = now
        if sent is not None:
            self.job_wall_seconds += now - sent
        self.quantum_seconds += float(quantum_seconds)
        self.jobs += int(jobs)

    def close(self) -> SessionUsage:
        closed = self._clock()
        return SessionUsage(
            opened_at=closed if self.opened_at is None else self.opened_at,
            closed_at=closed,
            first_job_at=self.first_job_at,
            last_result_at=self.last_result_at,
            quantum_seconds=self.quantum_seconds,
            jobs=self.jobs,
            mode=self.mode,
            simulated=self.simulated,
            job_wall_seconds=self.job_wall_seconds,
        )


def recorded_usage(record: dict[str, Any]) -> tuple[float, int]:
    """``(estimated quantum seconds, jobs)`` of an oracle call's record (an evaluation's
    ``to_dict()``, or a gradient record holding one under ``"evaluation"``)."""
    evaluation = record.get("evaluation", record) if isinstance(record, dict) else {}
    jobs = usage_records(evaluation.get("metadata"))
    return sum(j.estimated_seconds or 0.0 for j in jobs), len(jobs)


def total_quantum_seconds(estimates: Iterable[UsageEstimate | dict[str, Any] | None]) -> float:
    """Job and batch mode's bill: the sum of the jobs' quantum seconds (missing ones count 0)."""
    total = 0.0
    for est in estimates:
        if est is None:
            continue
        total += est.quantum_seconds if isinstance(est, UsageEstimate) else float(est["quantum_seconds"])
    return total


class UsageEstimating:
    """What a QPU-like target offers for :class:`~backends.capabilities.Capability` ``QPU_USAGE``.

    The class provides ``usage_backend`` (the device's backend object) and
    ``isa_circuit``; this mixin turns them into :meth:`usage_model` and
    :meth:`estimate_usage`.
    """

    def usage_model(self) -> UsageModel:
        """The :class:`UsageModel` of this target's device (built once)."""
        model = self.__dict__.get("_usage_model_cache")
        if model is None:
            model = UsageModel.from_backend(self.usage_backend)
            self.__dict__["_usage_model_cache"] = model
        return model

    def circuit_duration(self, circuit: QuantumCircuit, isa: bool = False) -> tuple[float, int]:
        """``(seconds, fallbacks)`` of the ISA circuit that runs for ``circuit`` (see :func:`scheduled_duration`).

        ``isa=True``: ``circuit`` already is that ISA circuit. Otherwise it is transpiled
        first (:meth:`isa_circuit`, cached) and its duration cached by structure.
        """
        if isa:
            return scheduled_duration(circuit, self.usage_backend.target)
        from .base import circuit_fingerprint

        cache = self.__dict__.setdefault("_usage_duration_cache", {})
        key = circuit_fingerprint(circuit, angles=False)
        if key not in cache:
            cache[key] = scheduled_duration(self.isa_circuit(circuit), self.usage_backend.target)
        return cache[key]

    def estimate_usage(
        self,
        circuits: Sequence[QuantumCircuit],
        shots: int,
        points: Sequence[int] | None = None,
        *,
        isa: bool = False,
    ) -> UsageEstimate:
        """The estimated quantum seconds of one job running ``circuits`` (``points[i]``
        parameter points of ``circuits[i]``; 1 each by default) at ``shots`` shots.
        ``isa=True``: the circuits are the bound ISA circuits that run (``run_isa``)."""
        if isinstance(circuits, QuantumCircuit):
            circuits = [circuits]
        circuits = list(circuits)
        points = [1] * len(circuits) if points is None else [int(k) for k in points]
        if len(points) != len(circuits) or any(k < 1 for k in points):
            raise TargetError(
                f"points must give one count >= 1 per circuit ({len(circuits)} circuits), got {points!r}"
            )
        durations: list[float] = []
        fallbacks = 0
        for circuit, count in zip(circuits, points):
            seconds, extra = self.circuit_duration(circuit, isa)
            durations += [seconds] * count
            fallbacks += extra * count
        return self.usage_model().estimate(durations, shots, fallbacks)

__all__ = [
    "CIRCUIT_OVERHEAD_S",
    "FALLBACK_MEASURE_S",
    "FALLBACK_ONE_QUBIT_S",
    "FALLBACK_REP_DELAY_S",
    "FALLBACK_TWO_QUBIT_S",
    "JobUsage",
    "IBM_BELL_EXAMPLE_SECONDS",
    "IBM_BELL_EXAMPLE_SHOTS",
    "JOB_OVERHEAD_S",
    "SessionClock",
    "SessionUsage",
    "UsageEstimate",
    "UsageEstimating",
    "UsageModel",
    "as_seconds",
    "scheduled_duration",
    "recorded_usage",
    "total_quantum_seconds",
    "usage_records",
]
