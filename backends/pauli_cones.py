"""Causal cones of ``Z_a Z_b`` observables in a Pauli-propagation rotation form (:mod:`backends.pauli_prop`).

Going backwards through the rotation form (Cliffords already moved to the front), a
rotation whose generator shares no qubit with the support gathered so far commutes with
every term of the propagated operator, and a noise channel none of whose generators touch
that support damps nothing: both are dropped. What is left, relabelled onto the cone's
qubits, propagates the pair's terms exactly as the whole circuit would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PairCone:
    """One pair's causal cone in the rotation form: the instructions that can act on ``Z_a Z_b``.

    Going backwards from the end, a rotation whose generator shares a qubit with the cone's
    support so far can change the propagated operator (it is kept and its qubits join the
    support); one that shares none commutes with every term and is dropped, and so is a
    noise channel none of whose generators touches the support. Exact, no approximation.
    ``rotations`` and ``channels`` index the full rotation form; ``local`` is the kept part
    on the cone's ``qubits`` only (relabelled ``0..len(qubits)-1``), angles and rates to be
    filled in per point.
    """

    pair: tuple[int, int]
    qubits: tuple[int, ...]  # active-qubit indices of the cone's support, sorted
    rotations: np.ndarray  # indices into the rotation form's thetas
    channels: np.ndarray  # indices into its noise channels (rates)
    local: Any  # NoisyRotationGates (or RotationGates) on the cone's qubits

    @property
    def size(self) -> int:
        return len(self.qubits)

    @property
    def noisy(self) -> bool:
        """Whether the cone holds noise channels (its rates can be scaled)."""
        return len(self.channels) > 0


def entry_index(rot: Any) -> list[tuple[bool, int]]:
    """``(is_noise, index)`` of each instruction of a rotation form, in circuit order."""
    from pauli_prop.propagation import NoisyRotationGates

    if not isinstance(rot, NoisyRotationGates):
        return [(False, j) for j in range(len(rot.thetas))]
    out, nrot, nnoise = [], 0, 0
    for is_noise in rot.gate_types:
        if is_noise:
            out.append((True, nnoise))
            nnoise += 1
        else:
            out.append((False, nrot))
            nrot += 1
    return out


def _support(arr: np.ndarray, k: int) -> np.ndarray:
    return np.flatnonzero(arr[:k] | arr[k:])


def entry_masks(rot: Any, entries: list[tuple[bool, int]], k: int) -> list[int]:
    """Each instruction's qubit support as a bit mask (a noise channel: all its generators')."""

    def mask(arr: np.ndarray) -> int:
        return sum(1 << int(q) for q in _support(arr, k))

    out = []
    for is_noise, j in entries:
        if is_noise:
            total = 0
            for g in rot.generators[j]:
                total |= mask(g)
            out.append(total)
        else:
            out.append(mask(rot.gates[j]))
    return out


def pair_cone(rot: Any, entries: list[tuple[bool, int]], masks: list[int], pair: tuple[int, int], k: int) -> PairCone:
    """The :class:`PairCone` of ``Z_a Z_b`` (``pair`` in active-qubit indices of ``k``)."""
    from pauli_prop.propagation import NoisyRotationGates, RotationGates

    noisy = isinstance(rot, NoisyRotationGates)
    inside = (1 << pair[0]) | (1 << pair[1])
    kept: list[tuple[bool, int]] = []
    for (is_noise, j), mask in zip(reversed(entries), reversed(masks)):
        if inside & mask:
            kept.append((is_noise, j))
            if not is_noise:
                inside |= mask
    kept.reverse()
    qubits = np.array([q for q in range(k) if inside >> q & 1], dtype=np.int64)
    cols = np.concatenate([qubits, qubits + k])

    def local(arr: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(arr[cols])

    def qargs(arr: np.ndarray) -> tuple[int, ...]:
        m = len(qubits)
        return tuple(int(q) for q in np.flatnonzero(arr[:m] | arr[m:]))

    if noisy:
        sub = NoisyRotationGates([], [], [], [], [], [])
        for is_noise, j in kept:
            if is_noise:
                gens = [local(g) for g in rot.generators[j]]
                sub.generators.append(gens)
                sub.rates.append(list(rot.rates[j]))
                sub.qargs.append([qargs(g) for g in gens])
                sub.gate_types.append(True)
            else:
                g = local(rot.gates[j])
                sub.gates.append(g)
                sub.qargs.append([qargs(g)])
                sub.thetas.append(0.0)
                sub.gate_types.append(False)
    else:
        sub = RotationGates([], [], [])
        for _, j in kept:
            g = local(rot.gates[j])
            sub.gates.append(g)
            sub.qargs.append(list(qargs(g)))
            sub.thetas.append(0.0)
    rotations = np.array([j for is_noise, j in kept if not is_noise], dtype=np.int64)
    channels = np.array([j for is_noise, j in kept if is_noise], dtype=np.int64)
    return PairCone(tuple(int(q) for q in pair), tuple(int(q) for q in qubits), rotations, channels, sub)
