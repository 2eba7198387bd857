"""Circuit helpers of mitigation.

Adapters over :mod:`backends.circuits` (splitting, confusion checks) that raise
:class:`MitigationError`, and the transpiler target and basis of a device target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from qiskit import QuantumCircuit

from backends.base import TargetError
from backends.capabilities import Capability, supports
from backends.circuits import IGNORED_OPS as IGNORED
from backends.circuits import check_confusion as _check_confusion
from backends.circuits import confusion_from_calibration
from backends.circuits import split_final_measurements

from .spec import MitigationError


@dataclass(frozen=True)
class _Split:
    body: list  # (operation, qubit indices) of the unitary part, delays and barriers dropped
    measures: list  # (qubit index, clbit index) of the final measurements


def _split_bound(circuit: QuantumCircuit) -> _Split:
    """Unitary part and final measurements of a bound circuit (:func:`backends.circuits.split_final_measurements`)."""
    if circuit.parameters:
        raise MitigationError(
            "the circuit has unbound parameters; fold bound circuits "
            "(target.isa_circuit(c).assign_parameters(theta))"
        )
    try:
        split = split_final_measurements(circuit, keep_ignored=False)
    except TargetError as exc:
        raise MitigationError(f"{exc}; only final measurements can be folded") from None
    body = split.body
    qindex = {q: i for i, q in enumerate(body.qubits)}
    ops = [(inst.operation, [qindex[q] for q in inst.qubits]) for inst in body.data]
    return _Split(ops, [(q, c) for c, q in split.clbit_qubit])


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
    """:func:`backends.circuits.check_confusion`, raising :class:`MitigationError`."""
    try:
        return _check_confusion(matrices)
    except TargetError as exc:
        raise MitigationError(str(exc)) from None
