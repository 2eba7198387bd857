"""Circuit and confusion helpers that mitigation shares with :mod:`backends` (one private copy).

Splitting a bound circuit into its unitary part and final measurements, the transpiler
target and basis of a device target, and per-clbit readout confusion matrices. Kept in
this one module so that using the :mod:`backends` copies instead is one import edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from qiskit import QuantumCircuit

from backends.capabilities import Capability, supports

from .spec import MitigationError

#: Instructions that carry no operation on the state (dropped when splitting).
IGNORED = frozenset({"barrier", "delay"})


@dataclass(frozen=True)
class _Split:
    body: list  # (operation, qubit indices) of the unitary part, delays and barriers dropped
    measures: list  # (qubit index, clbit index) of the final measurements


def _split_bound(circuit: QuantumCircuit) -> _Split:
    """Unitary part and final measurements of a bound circuit (measurements must be final)."""
    if circuit.parameters:
        raise MitigationError(
            "the circuit has unbound parameters; fold bound circuits "
            "(target.isa_circuit(c).assign_parameters(theta))"
        )
    qindex = {q: i for i, q in enumerate(circuit.qubits)}
    cindex = {c: i for i, c in enumerate(circuit.clbits)}
    body, measures, measured = [], [], set()
    for inst in circuit.data:
        name = inst.operation.name
        qs = [qindex[q] for q in inst.qubits]
        if name == "measure":
            measures.append((qs[0], cindex[inst.clbits[0]]))
            measured.add(qs[0])
            continue
        if name in IGNORED:
            continue
        if measured.intersection(qs) or inst.clbits:
            raise MitigationError(
                f"instruction {name!r} follows a measurement or uses clbits; only final "
                "measurements can be folded"
            )
        body.append((inst.operation, qs))
    return _Split(body, measures)


def measured_pairs(circuit: QuantumCircuit) -> list[tuple[int, int]]:
    """``(qubit index, clbit index)`` of every measurement of ``circuit``, in order."""
    qindex = {q: i for i, q in enumerate(circuit.qubits)}
    cindex = {c: i for i, c in enumerate(circuit.clbits)}
    return [
        (qindex[inst.qubits[0]], cindex[inst.clbits[0]]) for inst in circuit.data if inst.operation.name == "measure"
    ]


def transpiler_target(target: Any):
    """The transpiler ``Target`` of a device target (one with calibration data); ``None`` for ideal/aer."""
    return target.backend.target if supports(target, Capability.CALIBRATION) else None


def basis_of(transpiler_target: Any) -> list[str] | None:
    if transpiler_target is None:
        return None
    return sorted(
        name
        for name in transpiler_target.operation_names
        if name not in ("measure", "reset", "delay", "for_loop", "if_else", "switch_case", "while_loop", "box")
    )


def check_confusion(matrices: Sequence[Any]) -> list[np.ndarray]:
    out = []
    for j, mat in enumerate(matrices):
        m = np.asarray(mat, dtype=float)
        if m.shape != (2, 2) or np.any(m < 0) or not np.allclose(m.sum(axis=1), 1.0, atol=1e-9):
            raise MitigationError(
                f"confusion matrix {j} must be 2x2 with rows P(read k | prepared i) summing to 1, got {m.tolist()}"
            )
        if abs(np.linalg.det(m)) < 1e-6:
            raise MitigationError(
                f"confusion matrix {j} is singular ({m.tolist()}): readout carries no information"
            )
        out.append(m)
    return out



def confusion_from_calibration(
    zeros: dict[int, int] | np.ndarray, ones: dict[int, int] | np.ndarray, num_bits: int
) -> list[np.ndarray]:
    """Per-clbit confusion from all-0 and all-1 preparations (counts or exact distributions).

    Row 0 of clbit ``c``: P(read 0 / 1 | prepared 0) from the all-0 run; row 1 from the
    all-1 run (marginals, so correlated errors are averaged into a tensored model).
    """

    def marginals(data) -> np.ndarray:
        if isinstance(data, dict):
            keys = np.fromiter(data.keys(), dtype=np.int64, count=len(data))
            weights = np.fromiter(data.values(), dtype=float, count=len(data))
        else:
            weights = np.asarray(data, dtype=float)
            keys = np.arange(weights.size, dtype=np.int64)
        total = weights.sum()
        return np.array([weights[(keys >> c) & 1 == 1].sum() / total for c in range(num_bits)])

    p1_given0 = marginals(zeros)
    p1_given1 = marginals(ones)
    return [
        np.array([[1.0 - a, a], [1.0 - b, b]]) for a, b in zip(p1_given0, p1_given1)
    ]

