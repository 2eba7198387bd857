"""Dynamical decoupling: a circuit transform only (no post-processing).

``XX`` or ``XY4`` sequences with Qiskit's ``PadDynamicalDecoupling`` after an ALAP
schedule with the device durations (``fake:``/``local:`` targets), or the Runtime
Sampler's ``dynamical_decoupling`` option (``ibm:`` targets; :func:`run_options`). The
noisy Aer model of ``fake:`` targets has no idle noise (delays are not simulated), so
there DD changes results only through the errors of its own X gates: it is plumbing to
check, not a mitigation that can show a gain in simulation. mitiq's DDD inserts non-ISA
gates and is not used.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from qiskit import QuantumCircuit

from ._circuits import transpiler_target
from .spec import DD_SEQUENCES, MitigationError, MitigationSpec, check_choice


def dd_sequence_gates(transpiler_target: Any, sequence: str = "XX"):
    """``(gates, spacing)`` for ``PadDynamicalDecoupling`` in the device's basis.

    ``XY4`` is X Y X Y; where the device has no ``y`` each Y is ``rz(pi)`` then ``x``
    (Y up to a phase) with no idle time between them, so pulses sit at 1/8, 3/8, 5/8, 7/8.
    """
    from qiskit.circuit.library import RZGate, XGate, YGate

    check_choice("dd_sequence", sequence, DD_SEQUENCES)
    names = transpiler_target.operation_names
    if "x" not in names:
        raise MitigationError("dynamical decoupling needs an 'x' gate in the device basis")
    if sequence == "XX":
        return [XGate(), XGate()], None
    if "y" in names:
        return [XGate(), YGate(), XGate(), YGate()], None
    if "rz" not in names:
        raise MitigationError("XY4 needs 'y' or 'rz' in the device basis; use dd_sequence='XX'")
    gates = [XGate(), RZGate(math.pi), XGate(), XGate(), RZGate(math.pi), XGate()]
    return gates, [1 / 8, 1 / 4, 0.0, 1 / 4, 1 / 4, 0.0, 1 / 8]


def pad_dynamical_decoupling(
    circuit: QuantumCircuit, transpiler_target: Any, sequence: str = "XX"
) -> QuantumCircuit:
    """ALAP-schedule an ISA circuit with the device durations and pad idle windows with DD."""
    from qiskit.transpiler import PassManager
    from qiskit.transpiler.passes import ALAPScheduleAnalysis, PadDynamicalDecoupling

    if transpiler_target is None or not transpiler_target.durations().duration_by_name_qubits:
        raise MitigationError(
            "dynamical decoupling needs a device target with gate durations "
            "(fake:<device>, local:<device> or ibm:<backend>)"
        )
    gates, spacing = dd_sequence_gates(transpiler_target, sequence)
    pm = PassManager(
        [
            ALAPScheduleAnalysis(target=transpiler_target),
            PadDynamicalDecoupling(target=transpiler_target, dd_sequence=gates, spacing=spacing),
        ]
    )
    return pm.run(circuit)



def method(spec: MitigationSpec, target: Any) -> str:
    """``"pad"`` (circuits padded here) or ``"runtime"`` (the Sampler option) for ``target``;
    raises :class:`MitigationError` naming the fix when ``target`` cannot do the one asked for."""
    chosen = spec.dd_method
    if chosen == "auto":
        chosen = "runtime" if target.kind == "ibm" else "pad"
    if chosen == "runtime" and target.kind not in ("local", "ibm"):
        raise MitigationError(f"dd_method='runtime' needs a Runtime target (local:, ibm:), not {target.spec!r}")
    if chosen == "pad" and transpiler_target(target) is None:
        raise MitigationError(
            f"dynamical decoupling needs a device target with gate durations "
            f"(fake:, local:, ibm:), not {target.spec!r}"
        )
    return chosen


def run_options(spec: MitigationSpec, target: Any) -> dict[str, Any]:
    """Keyword arguments for ``target.run_isa``: the Runtime Sampler's DD option, or none."""
    if not spec.dd or method(spec, target) != "runtime":
        return {}
    return {"sampler_options": {"dynamical_decoupling": {"enable": True, "sequence_type": spec.dd_sequence}}}


def transform(circuits: Sequence[QuantumCircuit], spec: MitigationSpec, target: Any) -> list[QuantumCircuit]:
    """Pad every ISA circuit with ``spec.dd_sequence`` (unchanged when DD is off or left to Runtime)."""
    if not spec.dd or method(spec, target) != "pad":
        return list(circuits)
    tt = transpiler_target(target)
    return [pad_dynamical_decoupling(c, tt, spec.dd_sequence) for c in circuits]
