"""Seeded ISA transpilation shared by every device target: try a few layouts, keep the best."""

from __future__ import annotations

from typing import Any, Callable

from qiskit import QuantumCircuit

from .base import TargetError

#: Instructions that touch no qubit physically.
IGNORED_OPS = frozenset({"barrier", "delay"})


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
