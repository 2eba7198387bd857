"""The target interface shared by every backend.

A *target* turns a logical circuit (qubit ``i`` measured into clbit ``i``, free
parameters ordered as ``circuit.parameters``) into ISA circuits for its device and
runs parameter batches on it. Results are always reported in the logical clbit
order: bit ``i`` of an outcome key is the value read into clbit ``i``.

Specs (see :func:`backends.get_target`):

``ideal``            exact noiseless simulation (statevector)
``aer``              noiseless Aer with shots
``fake:<device>``    noisy Aer with the noise model of a ``qiskit_ibm_runtime.fake_provider`` device
``local:<device>``   Qiskit Runtime primitives in local testing mode on that fake device
``ibm:<backend>``    a real IBM QPU through ``QiskitRuntimeService``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from qiskit import QuantumCircuit

KINDS = ("ideal", "aer", "fake", "local", "ibm")


class TargetError(ValueError):
    """A target spec, device or circuit that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class SampleResult:
    """Outcome counts of a parameter batch.

    ``counts[b]`` maps an integer outcome (bit ``i`` = clbit ``i``) to its count for
    the ``b``-th parameter point; every entry sums to ``shots``.
    """

    counts: tuple[dict[int, int], ...]
    shots: int
    job_ids: tuple[str, ...] = ()
    wall_time: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": [{str(k): int(v) for k, v in c.items()} for c in self.counts],
            "shots": self.shots,
            "job_ids": list(self.job_ids),
            "wall_time": self.wall_time,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SampleResult":
        return cls(
            counts=tuple({int(k): int(v) for k, v in c.items()} for c in data["counts"]),
            shots=int(data["shots"]),
            job_ids=tuple(data.get("job_ids", ())),
            wall_time=float(data.get("wall_time", 0.0)),
            metadata=dict(data.get("metadata", {})),
        )


@runtime_checkable
class Target(Protocol):
    """What every backend offers. ``exact`` targets also implement ``probabilities``."""

    spec: str
    kind: str
    num_qubits: int | None
    noisy: bool
    exact: bool

    def check_fits(self, num_qubits: int) -> None:
        """Raise :class:`TargetError` if a ``num_qubits`` problem cannot run here."""

    def isa_circuit(self, circuit: QuantumCircuit) -> QuantumCircuit:
        """The ISA circuit that will run for ``circuit`` (cached per circuit structure)."""

    def sample(
        self,
        circuit: QuantumCircuit,
        parameter_values: np.ndarray,
        shots: int,
        seed: int | np.random.Generator | None = None,
    ) -> SampleResult:
        """Run ``parameter_values`` (shape ``(B, len(circuit.parameters))``) in one job."""

    def describe(self) -> dict[str, Any]:
        """JSON-able description (spec, device, qubits, noise) for results and ledgers."""


def as_parameter_batch(circuit: QuantumCircuit, parameter_values: Any) -> np.ndarray:
    """Validate and reshape parameter values to ``(B, P)`` for ``circuit``."""
    values = np.asarray(parameter_values, dtype=float)
    num = circuit.num_parameters
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2 or values.shape[1] != num:
        raise TargetError(
            f"parameter_values must have shape (B, {num}) for this circuit, got {values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise TargetError("parameter_values contain NaN or inf; pass finite angles")
    return values


def circuit_fingerprint(circuit: QuantumCircuit) -> tuple:
    """A hashable key of the circuit structure (gates, qubits, parameter expressions)."""
    qindex = {q: i for i, q in enumerate(circuit.qubits)}
    cindex = {c: i for i, c in enumerate(circuit.clbits)}
    ops = []
    for inst in circuit.data:
        ops.append(
            (
                inst.operation.name,
                tuple(qindex[q] for q in inst.qubits),
                tuple(cindex[c] for c in inst.clbits),
                tuple(str(p) for p in inst.operation.params),
            )
        )
    return (circuit.num_qubits, circuit.num_clbits, tuple(ops))


def resolve_seed(seed: int | np.random.Generator | None) -> int | None:
    """An integer simulator seed from the project-wide ``seed`` argument."""
    if seed is None:
        return None
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**31 - 1))
    return int(seed)
