"""What a target can do, declared by its class and checked when it is built.

Every target class lists its capabilities in a ``capabilities`` class attribute (a
``frozenset`` of :class:`Capability`). :func:`check_capabilities` runs when a target
is built (:func:`backends.get_target`): each declared capability must come with the
methods of its Protocol, and the methods of :class:`backends.base.Target` must be
there too. Callers ask :func:`supports` (or :func:`require`, which raises a
:class:`~backends.base.TargetError` naming what is missing) instead of probing for
attributes.

============================  ==========================================================
capability                    methods
============================  ==========================================================
``exact_probabilities``       ``probabilities(circuit, parameter_values)``
``exact_isa``                 ``exact_isa_probabilities(circuits)``
``isa_execution``             ``run_isa(circuits, shots, seed)``
``calibration``               ``readout_confusion(physical_qubits)``, ``measured_physical_qubits(circuit)``
``jobs``                      ``submit``, ``submit_isa``, ``status``, ``fetch`` (JSON-able job records)
``sessions``                  ``session()``, ``batch()`` (Runtime execution modes)
``noisy_cones``               ``uses_light_cones``, ``noisy_cones``, ``zz_expectations``
``qpu_usage``                 ``usage_model()``, ``estimate_usage(circuits, shots, points)``
                              (:mod:`backends.usage`: the quantum seconds of a job)
============================  ==========================================================
"""

from __future__ import annotations

import enum
from typing import Any, Protocol, Sequence

import numpy as np
from qiskit import QuantumCircuit

from .base import SampleResult, TargetError


class Capability(str, enum.Enum):
    EXACT_PROBABILITIES = "exact_probabilities"
    EXACT_ISA = "exact_isa"
    ISA_EXECUTION = "isa_execution"
    CALIBRATION = "calibration"
    JOBS = "jobs"
    SESSIONS = "sessions"
    NOISY_CONES = "noisy_cones"
    QPU_USAGE = "qpu_usage"


class ExactProbabilities(Protocol):
    def probabilities(self, circuit: QuantumCircuit, parameter_values: Any) -> np.ndarray:
        """Exact outcome probabilities, shape ``(B, 2**num_clbits)``."""


class ExactIsa(Protocol):
    def exact_isa_probabilities(self, circuits: Sequence[QuantumCircuit]) -> np.ndarray:
        """Exact outcome probabilities of bound ISA circuits."""


class IsaExecution(Protocol):
    def run_isa(
        self, circuits: Sequence[QuantumCircuit], shots: int, seed: int | np.random.Generator | None = None
    ) -> SampleResult:
        """Run bound ISA circuits in one job."""


class Calibration(Protocol):
    def readout_confusion(self, physical_qubits: Sequence[int]) -> list[np.ndarray]:
        """Per physical qubit, ``M[measured, prepared]``."""

    def measured_physical_qubits(self, circuit: QuantumCircuit) -> tuple[int, ...]:
        """The physical qubits the ISA circuit of ``circuit`` measures, in outcome bit order."""


class Jobs(Protocol):
    def submit(self, circuit: QuantumCircuit, parameter_values: np.ndarray, shots: int) -> Any:
        """Submit a parameter batch; return the job's record (``SubmittedJob``, JSON-able)."""

    def submit_isa(self, circuits: Sequence[QuantumCircuit], shots: int, **options: Any) -> Any:
        """Submit bound ISA circuits; return the job's record (``SubmittedJob``)."""

    def status(self, job: Any) -> str:
        """The state of a job (its record, the record's dict, or its id)."""

    def fetch(self, job: Any, timeout: float | None = None) -> SampleResult:
        """The job's counts from its record, the record's dict or its id (waits up to ``timeout``)."""


class Sessions(Protocol):
    def session(self, max_time: int | str | None = None) -> Any:
        """A Runtime ``Session`` context for the jobs of a run."""

    def batch(self, max_time: int | str | None = None) -> Any:
        """A Runtime ``Batch`` context."""


class NoisyCones(Protocol):
    def uses_light_cones(self, circuit: QuantumCircuit) -> bool:
        """Whether exact noisy light cones serve ``circuit`` (device-native layouts)."""

    def noisy_cones(self, circuit: QuantumCircuit, pairs: Any, fallback: Any = None) -> Any:
        """The noisy light cones of ``pairs``."""

    def zz_expectations(self, circuit: QuantumCircuit, parameter_values: Any, pairs: Any, fallback: Any = None) -> np.ndarray:
        """Noisy ``<Z_u Z_v>`` of ``pairs``."""


class QpuUsage(Protocol):
    def usage_model(self) -> Any:
        """The device's :class:`backends.usage.UsageModel`."""

    def estimate_usage(self, circuits: Sequence[QuantumCircuit], shots: int, points: Sequence[int] | None = None) -> Any:
        """The :class:`backends.usage.UsageEstimate` of one job running ``circuits``."""


PROTOCOLS: dict[Capability, type] = {
    Capability.EXACT_PROBABILITIES: ExactProbabilities,
    Capability.EXACT_ISA: ExactIsa,
    Capability.ISA_EXECUTION: IsaExecution,
    Capability.CALIBRATION: Calibration,
    Capability.JOBS: Jobs,
    Capability.SESSIONS: Sessions,
    Capability.NOISY_CONES: NoisyCones,
    Capability.QPU_USAGE: QpuUsage,
}

_TARGET_METHODS = ("check_fits", "isa_circuit", "sample", "describe")
_TARGET_FIELDS = ("spec", "kind", "num_qubits", "noisy", "exact")


def _methods(protocol: type) -> list[str]:
    return sorted(
        name for name, value in vars(protocol).items() if callable(value) and not name.startswith("_")
    )


def declared(target: Any) -> frozenset[Capability]:
    """The capabilities ``target``'s class declares (empty when it declares none)."""
    return frozenset(_declaration(type(target)) or ())


def _declaration(klass: type) -> Any:
    """The ``capabilities`` declaration of ``klass`` or of the closest base class that has one."""
    return next((vars(k)["capabilities"] for k in klass.__mro__ if "capabilities" in vars(k)), None)


def check_capabilities(target: Any) -> Any:
    """Return ``target`` if it has the :class:`Target` members and every method its
    declared capabilities promise; otherwise raise :class:`TargetError` naming them."""
    name = type(target).__name__
    caps = _declaration(type(target))
    if not isinstance(caps, frozenset) or not all(isinstance(c, Capability) for c in caps):
        raise TargetError(
            f"{name}.capabilities must be a frozenset of backends.capabilities.Capability, got {caps!r}"
        )
    missing = [m for m in _TARGET_FIELDS if m not in dir(target)]
    missing += [m for m in _TARGET_METHODS if not callable(getattr(target, m, None))]
    for cap in sorted(caps, key=lambda c: c.value):
        missing += [f"{m} ({cap.value})" for m in _methods(PROTOCOLS[cap]) if not callable(getattr(target, m, None))]
    if missing:
        raise TargetError(f"{name} does not implement {', '.join(missing)}; implement them or drop the capability")
    return target


def supports(target: Any, capability: Capability) -> bool:
    """Whether ``target`` declares ``capability``."""
    return capability in declared(target)


def require(target: Any, capability: Capability, purpose: str, fix: str = "") -> None:
    """Raise :class:`TargetError` when ``target`` lacks ``capability``, naming ``purpose`` and the fix."""
    if not supports(target, capability):
        spec = getattr(target, "spec", type(target).__name__)
        tail = f"; {fix}" if fix else ""
        raise TargetError(f"{purpose} needs {capability.value}, which {spec!r} does not offer{tail}")


__all__ = [
    "Capability",
    "PROTOCOLS",
    "check_capabilities",
    "declared",
    "require",
    "supports",
]
