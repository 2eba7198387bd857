"""Compiling a logical circuit for a fake device: the best of a few seeded layouts, or the
identity layout onto the physical qubits a device-native circuit names; the result is a
:class:`CompiledCircuit` that :class:`backends.fake_device.FakeDeviceTarget` caches per
circuit structure. Both transpile onto :func:`backends.broken.healthy_target`: no layout or
routing uses a coupler the device marks broken."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from .base import TargetError
from .broken import healthy_target
from .circuits import split_final_measurements
from .transpile import active_and_two_qubit, layout_score, transpile_trials


@dataclass
class CompiledCircuit:
    """One circuit structure compiled for a fake device (cached by the target)."""

    isa: QuantumCircuit  # ISA circuit on the device, measurements included
    active: tuple[int, ...]  # physical qubits touched by any instruction, sorted
    two_qubit_gates: int
    initial_layout: tuple[int, ...]  # logical qubit -> physical qubit before routing
    final_layout: tuple[int, ...]  # logical qubit -> physical qubit at the end
    clbit_physical: tuple[tuple[int, int], ...]  # (clbit, physical qubit) measured into it
    measured_physical: tuple[int, ...]  # distinct measured physical qubits (outcome bit order)
    parameter_names: tuple[str, ...]  # the logical circuit's parameter order
    num_clbits: int
    seed: int  # transpiler seed of the kept trial
    # (seed, active qubits, two-qubit gates, error score) per trial; None: unusable trial
    trials: tuple[tuple, ...]
    compact: QuantumCircuit = None  # active qubits only, ends in save_probabilities
    index_map: np.ndarray | None = None
    confusion: list = field(default_factory=list)
    simulator: Any = None
    _shots_circuit: QuantumCircuit | None = None
    _shots_simulator: Any = None
    _cones: Any = None  # (key, NoisyCones) of the last pair list asked for
    _mps_simulator: Any = None
    _pauli: Any = None  # (pairs, PauliPropagation) of the last pair list asked for

    @property
    def num_active(self) -> int:
        return len(self.active)

    def summary(self) -> dict[str, Any]:
        return {
            "active_qubits": list(self.active),
            "num_active_qubits": self.num_active,
            "two_qubit_gates": self.two_qubit_gates,
            "initial_layout": list(self.initial_layout),
            "final_layout": list(self.final_layout),
            "measured_physical_qubits": {str(c): q for c, q in self.clbit_physical},
            "seed_transpiler": self.seed,
            "layout_trials": [list(t) for t in self.trials],
        }


def native_layout(circuit: QuantumCircuit, device: str, num_qubits: int, spec: str) -> tuple[int, ...] | None:
    """The physical qubits of a circuit built for ``device`` (``metadata``), else None.

    :func:`hybrid.ansatz.qaoa_circuit` records them for graphs from
    ``heavy_hex_graph``; every two-qubit gate then acts on a coupler, so the
    identity layout onto them needs no SWAPs.
    """
    meta = circuit.metadata or {}
    qubits = meta.get("physical_qubits")
    if qubits is None or meta.get("device") != device:
        return None
    qubits = tuple(int(q) for q in qubits)
    if len(qubits) != circuit.num_qubits or len(set(qubits)) != len(qubits) or not all(
        0 <= q < num_qubits for q in qubits
    ):
        raise TargetError(
            f"circuit metadata lists physical_qubits {list(qubits)[:8]}... that are not "
            f"{circuit.num_qubits} distinct qubits of {spec}; drop the metadata to search a layout"
        )
    return qubits


def _transpile_best(circuit, backend, spec, seed_transpiler, optimization_level, layout_trials):
    """Best of ``layout_trials`` transpilations of ``circuit`` (measurements included).

    Measurements stay in the circuit while transpiling so that layout scoring sees
    readout errors. A trial whose routing acts on a qubit after its measurement is
    not usable (measurements must be final) and is skipped.
    """
    isa, seed, record = transpile_trials(
        circuit,
        healthy_target(backend),  # no layout or routing on broken couplers (backends.broken)
        seed_transpiler=seed_transpiler,
        optimization_level=optimization_level,
        trials=layout_trials,
        score=lambda isa: layout_score(isa, "calibrated", backend.target),
    )
    trials = tuple((s, None, None, None) if v is None else (s, *v) for s, v in record)
    if isa is None:
        raise TargetError(
            f"no transpilation of this circuit for {spec} kept its measurements final "
            f"in {layout_trials} layout trials; raise layout_trials or change seed_transpiler"
        )
    return isa, seed, trials


def _transpile_native(circuit, backend, spec, qubits, seed_transpiler, optimization_level):
    """One transpilation with the identity layout onto ``qubits``; refuses SWAPs."""
    from qiskit.transpiler import TranspilerError, generate_preset_pass_manager

    refusal = (
        f"the circuit's two-qubit gates are not all healthy couplers of {spec} (broken ones excluded, see "
        "backends.broken): routing moved qubits away from the listed physical_qubits; drop the circuit metadata "
        "to search a layout"
    )
    pm = generate_preset_pass_manager(
        optimization_level, target=healthy_target(backend), initial_layout=list(qubits),
        seed_transpiler=seed_transpiler,
    )
    try:
        isa = pm.run(circuit)
    except TranspilerError as exc:  # e.g. two qubits in different healthy components
        raise TargetError(f"{refusal} ({exc})") from None
    layout = isa.layout
    final = tuple(layout.final_index_layout(filter_ancillas=True)[: circuit.num_qubits]) if layout else qubits
    if final != qubits:
        raise TargetError(refusal)
    active, two_q = active_and_two_qubit(isa)
    return isa, seed_transpiler, ((seed_transpiler, len(active), two_q, None),)


def compile_circuit(
    circuit: QuantumCircuit,
    backend: Any,
    spec: str,
    *,
    native: tuple[int, ...] | None,
    seed_transpiler: int,
    optimization_level: int,
    layout_trials: int,
) -> CompiledCircuit:
    """Compile ``circuit`` for ``backend``: onto ``native`` physical qubits when given,
    else the best of ``layout_trials`` seeded layouts (:func:`backends.transpile.layout_score`,
    ``"calibrated"``). The compact circuit and simulator are left for the target to add."""
    split_final_measurements(circuit)  # logical checks: final measurements only
    if native is not None:
        isa, seed, trials = _transpile_native(circuit, backend, spec, native, seed_transpiler, optimization_level)
    else:
        isa, seed, trials = _transpile_best(circuit, backend, spec, seed_transpiler, optimization_level, layout_trials)
    active, two_q = active_and_two_qubit(isa)
    clbit_physical = split_final_measurements(isa).clbit_qubit
    layout = isa.layout
    n = circuit.num_qubits
    if layout is not None:
        initial = tuple(layout.initial_index_layout(filter_ancillas=True)[:n])
        final = tuple(layout.final_index_layout(filter_ancillas=True)[:n])
    else:
        initial = final = tuple(range(n))
    measured = []
    for _, phys in clbit_physical:
        if phys not in measured:
            measured.append(phys)
    return CompiledCircuit(
        isa=isa,
        active=active,
        two_qubit_gates=two_q,
        initial_layout=initial,
        final_layout=final,
        clbit_physical=clbit_physical,
        measured_physical=tuple(measured),
        parameter_names=tuple(p.name for p in circuit.parameters),
        num_clbits=circuit.num_clbits,
        seed=seed,
        trials=trials,
    )
