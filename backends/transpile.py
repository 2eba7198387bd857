"""Seeded ISA transpilation shared by every device target: try a few layouts, keep the best.

:func:`layout_score` is the one ranking of transpiler trials, with three orders:
``"active"`` (fewest active qubits, then two-qubit gates, then depth: the cost of
simulation; local mode), ``"twoq"`` (two-qubit gates, depth, active qubits: the error
budget on hardware; ``ibm:``) and ``"calibrated"`` (active qubits, two-qubit gates, then
the summed calibrated error of the instructions, readout included; ``fake:``, where a
trial whose measurements are not final is unusable).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from qiskit import QuantumCircuit

from .base import TargetError
from .circuits import IGNORED_OPS, split_final_measurements


def check_options(target: str, options: dict[str, Any], accepted: tuple[str, ...]) -> None:
    """Reject options a target does not take (``accepted`` lists every option it does)."""
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TargetError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for target {target!r}; "
            f"accepted: {', '.join(accepted)}"
        )


def active_and_two_qubit(isa: QuantumCircuit) -> tuple[tuple[int, ...], int]:
    """Physical qubits touched by any instruction (sorted) and the two-qubit gate count."""
    active: set[int] = set()
    two_q = 0
    for inst in isa.data:
        if inst.operation.name in IGNORED_OPS:
            continue
        qs = [isa.find_bit(q).index for q in inst.qubits]
        active.update(qs)
        if len(qs) == 2:
            two_q += 1
    return tuple(sorted(active)), two_q


def two_qubit_count(isa: QuantumCircuit) -> int:
    """Two-qubit gates of a circuit (barriers and delays excluded)."""
    return active_and_two_qubit(isa)[1]


def transpile_trials(
    circuit: QuantumCircuit,
    backend: Any,  # a BackendV2 or a transpiler Target
    *,
    seed_transpiler: int,
    optimization_level: int,
    trials: int,
    score: Callable[[QuantumCircuit], tuple | None],
) -> tuple[QuantumCircuit | None, int | None, list[tuple[int, tuple | None]]]:
    """Transpile with seeds ``seed_transpiler .. + trials - 1``; keep the lowest ``score``.

    ``score(isa)`` returns a sortable tuple, or ``None`` for an unusable result. Ties
    go to the lowest seed, so the choice is reproducible. Returns the best ISA
    circuit (``None`` when no trial was usable), its seed, and every ``(seed, score)``.
    """
    from qiskit.transpiler import generate_preset_pass_manager

    if optimization_level not in (0, 1, 2, 3):
        raise TargetError(f"optimization_level must be 0, 1, 2 or 3, got {optimization_level!r}")
    target = getattr(backend, "target", backend)  # a BackendV2 or its Target
    best, best_seed, best_score, record = None, None, None, []
    for k in range(max(1, int(trials))):
        seed = int(seed_transpiler) + k
        pm = generate_preset_pass_manager(optimization_level, target=target, seed_transpiler=seed)
        isa = pm.run(circuit)
        value = score(isa)
        record.append((seed, value))
        if value is not None and (best_score is None or value < best_score):
            best, best_seed, best_score = isa, seed, value
    return best, best_seed, record


RANKINGS = ("active", "twoq", "calibrated")


def error_score(isa: QuantumCircuit, transpiler_target: Any) -> float:
    """Estimated total error, sum of -log(1 - e) over the ISA instructions (readout included)."""
    score = 0.0
    for inst in isa.data:
        name = inst.operation.name
        if name in IGNORED_OPS or name not in transpiler_target.operation_names:
            continue
        props = transpiler_target[name].get(tuple(isa.find_bit(q).index for q in inst.qubits))
        error = getattr(props, "error", None)
        if error:
            score -= float(np.log1p(-min(float(error), 1.0 - 1e-12)))
    return score


def layout_score(isa: QuantumCircuit, rank: str, transpiler_target: Any = None) -> tuple | None:
    """The sort key of one transpiler trial under ``rank`` (see the module docstring).

    ``"calibrated"`` needs ``transpiler_target`` and returns None for a trial whose
    routing acts on a qubit after its measurement.
    """
    if rank not in RANKINGS:
        raise TargetError(f"rank must be one of {', '.join(RANKINGS)}, got {rank!r}")
    if rank == "calibrated":
        try:
            split_final_measurements(isa)
        except TargetError:
            return None
        active, two_q = active_and_two_qubit(isa)
        return (len(active), two_q, round(error_score(isa, transpiler_target), 9))
    active, twoq = active_and_two_qubit(isa)
    depth = isa.depth()
    return (len(active), twoq, depth) if rank == "active" else (twoq, depth, len(active))


def transpile_best(
    circuit: QuantumCircuit,
    backend: Any,
    *,
    seed_transpiler: int,
    optimization_level: int,
    trials: int,
    prefer: str = "active",
) -> QuantumCircuit:
    """Best of ``trials`` seeded transpilations under :func:`layout_score` ``prefer``
    (``"active"`` or ``"twoq"``)."""
    best, _, _ = transpile_trials(
        circuit,
        backend,
        seed_transpiler=seed_transpiler,
        optimization_level=optimization_level,
        trials=trials,
        score=lambda isa: layout_score(isa, prefer),
    )
    return best
