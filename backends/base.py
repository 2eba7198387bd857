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
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Gate

KINDS = ("ideal", "aer", "fake", "local", "ibm")


class TargetError(ValueError):
    """A target spec, device or circuit that cannot be used; the message says what to do."""


class JobFailedError(TargetError):
    """A Runtime job that ended in ERROR or CANCELLED; ``job_id`` names it."""

    def __init__(self, message: str, job_id: str, status: str):
        super().__init__(message)
        self.job_id = job_id
        self.status = status


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


def circuit_fingerprint(circuit: QuantumCircuit, *, angles: bool = True) -> tuple:
    """A hashable key of the circuit structure (gates, qubits, clbits, registers, parameters).

    ``angles=False`` leaves numeric gate angles out (their count stays), so circuits
    that differ only in bound angles share a key (local mode batches those into one PUB).
    """
    qindex = {q: i for i, q in enumerate(circuit.qubits)}
    cindex = {c: i for i, c in enumerate(circuit.clbits)}
    ops = []
    for inst in circuit.data:
        op = inst.operation
        numeric = not angles and isinstance(op, Gate) and op.params and all(
            isinstance(p, (float, int, np.floating, np.integer)) for p in op.params
        )
        ops.append(
            (
                op.name,
                tuple(qindex[q] for q in inst.qubits),
                tuple(cindex[c] for c in inst.clbits),
                len(op.params) if numeric else tuple(str(p) for p in op.params),
            )
        )
    regs = tuple((r.name, tuple(cindex[b] for b in r)) for r in circuit.cregs)
    return (circuit.num_qubits, circuit.num_clbits, regs, tuple(ops))


def check_shots(shots: Any) -> int:
    """``shots`` as a positive int, or a :class:`TargetError`."""
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
        raise TargetError(f"shots must be a positive integer, got {shots!r}")
    return int(shots)


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from the project-wide ``seed`` argument."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def resolve_seed(seed: int | np.random.Generator | None) -> int | None:
    """An integer simulator seed from the project-wide ``seed`` argument."""
    if seed is None:
        return None
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**31 - 1))
    return int(seed)



#: Instructions accepted in any ISA circuit, whatever the device supports.
ISA_ALWAYS_ALLOWED = frozenset({"barrier"})


def as_circuit_list(circuits: Any) -> list[QuantumCircuit]:
    """Validate ``circuits`` for ``run_isa``: a non-empty sequence of bound circuits."""
    if isinstance(circuits, QuantumCircuit):
        circuits = [circuits]
    try:
        circuits = list(circuits)
    except TypeError:
        raise TargetError(
            f"circuits must be a sequence of QuantumCircuit, got {type(circuits).__name__}"
        ) from None
    if not circuits:
        raise TargetError("circuits is empty; pass at least one bound ISA circuit")
    for i, circuit in enumerate(circuits):
        if not isinstance(circuit, QuantumCircuit):
            raise TargetError(
                f"circuits[{i}] is a {type(circuit).__name__}, not a QuantumCircuit"
            )
        if circuit.parameters:
            names = ", ".join(sorted(p.name for p in circuit.parameters)[:4])
            raise TargetError(
                f"circuits[{i}] has unbound parameters ({names}); bind them first with "
                "circuit.assign_parameters(values)"
            )
        if circuit.num_clbits == 0:
            raise TargetError(
                f"circuits[{i}] has no classical bits; measure the qubits to read into clbits"
            )
    return circuits


def supported_instructions(transpiler_target: Any) -> tuple[frozenset, frozenset]:
    """``(global names, {(name, qargs)})`` the transpiler ``Target`` supports.

    Global names are supported on every qubit tuple (``qargs`` of ``None``).
    """
    global_names, pairs = set(), set()
    for name in transpiler_target.operation_names:
        qargs_list = transpiler_target.qargs_for_operation_name(name)
        if qargs_list is None:
            global_names.add(name)
            continue
        for qargs in qargs_list:
            pairs.add((name, tuple(qargs)))
    return frozenset(global_names), frozenset(pairs)


def isa_violations(
    circuit: QuantumCircuit, transpiler_target: Any, limit: int = 5, supported=None
) -> list[str]:
    """Instructions of ``circuit`` the device cannot run (name or qubits), at most ``limit``.

    ``circuit`` qubit ``i`` is physical qubit ``i``. ``supported`` is a cached
    :func:`supported_instructions` result of ``transpiler_target``.
    """
    global_names, pairs = supported or supported_instructions(transpiler_target)
    num_qubits = transpiler_target.num_qubits
    if num_qubits is not None and circuit.num_qubits > num_qubits:
        return [f"the circuit has {circuit.num_qubits} qubits; the device has {num_qubits}"]
    qindex = {q: i for i, q in enumerate(circuit.qubits)}
    bad: list[str] = []
    for inst in circuit.data:
        name = inst.operation.name
        if name in ISA_ALWAYS_ALLOWED or name in global_names:
            continue
        qargs = tuple(qindex[q] for q in inst.qubits)
        if (name, qargs) not in pairs:
            bad.append(f"{name} on {list(qargs)}")
            if len(bad) >= limit:
                break
    return bad


def check_isa(circuits: Sequence[QuantumCircuit], transpiler_target: Any, spec: str, supported=None) -> None:
    """Raise :class:`TargetError` naming the first circuit with non-ISA instructions."""
    supported = supported or supported_instructions(transpiler_target)
    for i, circuit in enumerate(circuits):
        bad = isa_violations(circuit, transpiler_target, supported=supported)
        if bad:
            raise TargetError(
                f"circuits[{i}] is not an ISA circuit for {spec}: {', '.join(bad)} "
                f"(supported: {', '.join(sorted(transpiler_target.operation_names))}); "
                "start from target.isa_circuit(circuit) and translate inserted gates back to the "
                "device basis (qiskit.transpiler.passes.BasisTranslator)"
            )
