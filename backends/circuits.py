"""Circuit utilities shared by every target, one copy each.

* **Measurement splitting**: :func:`split_final_measurements` (unitary body + final
  measurements), :func:`measured_qubits_by_clbit`.
* **Clbit order**: outcome indices over measured qubits to clbit order
  (:func:`clbit_index_map`, :func:`to_clbit_order`); the Sampler's register order
  (:func:`clbit_order`) and its bit arrays decoded into integer outcomes
  (:func:`counts_from_pub_result`).
* **Compaction** of a bound ISA circuit to its active qubits (:func:`compact_bound`).
* **Readout confusion**: applied to distributions (:func:`apply_confusion`), read from a
  backend's calibration (:func:`backend_readout_confusion`) or estimated from
  all-0/all-1 calibration runs (:func:`confusion_from_calibration`), validated by
  :func:`check_confusion`.
* Counts: multinomial draws from exact distributions, Aer result counts.

Layout scoring of transpiler trials lives beside the trials in :mod:`backends.transpile`
(which imports this module, never the other way);
the device noise model (and the confusion it applies) in :mod:`backends.noise`. Seed
helpers (``as_generator``, ``resolve_seed``) stay in :mod:`backends.base`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from qiskit import QuantumCircuit

from .base import TargetError

#: Instructions that touch no qubit physically.
IGNORED_OPS = frozenset({"barrier", "delay"})


# ----------------------------------------------------------------------------- splitting
@dataclass(frozen=True)
class Measured:
    """A logical circuit split into its unitary part and its final measurements."""

    body: QuantumCircuit  # the circuit without measurements (clbits kept)
    clbit_qubit: tuple[tuple[int, int], ...]  # (clbit, qubit) pairs, sorted by clbit
    num_clbits: int

    @property
    def qubits(self) -> tuple[int, ...]:
        """Distinct measured qubits, in order of their first clbit."""
        seen: list[int] = []
        for _, q in self.clbit_qubit:
            if q not in seen:
                seen.append(q)
        return tuple(seen)


def split_final_measurements(circuit: QuantumCircuit, *, keep_ignored: bool = True) -> Measured:
    """Remove final measurements; raise if any measurement is not final.

    ``keep_ignored=False`` drops barriers and delays from the body (they are kept by default).
    """
    qindex = {q: i for i, q in enumerate(circuit.qubits)}
    cindex = {c: i for i, c in enumerate(circuit.clbits)}
    body = circuit.copy_empty_like()
    measured_qubits: set[int] = set()
    clbit_qubit: dict[int, int] = {}
    for inst in circuit.data:
        name = inst.operation.name
        qubits = [qindex[q] for q in inst.qubits]
        if name == "measure":
            (q,), (c,) = qubits, [cindex[b] for b in inst.clbits]
            if c in clbit_qubit:
                raise TargetError(
                    f"clbit {c} is measured twice; measure each qubit once into its own clbit"
                )
            clbit_qubit[c] = q
            measured_qubits.add(q)
            continue
        if name in IGNORED_OPS:
            if keep_ignored:
                body.append(inst)
            continue
        if inst.clbits or getattr(inst.operation, "condition", None) is not None:
            raise TargetError(
                f"instruction {name!r} uses classical bits; only final measurements are supported"
            )
        touched = measured_qubits.intersection(qubits)
        if touched:
            raise TargetError(
                f"instruction {name!r} acts on qubit(s) {sorted(touched)} after their measurement; "
                "only final measurements are supported (move measurements to the end)"
            )
        body.append(inst)
    if not clbit_qubit:
        raise TargetError(
            "the circuit has no measurements; measure qubit i into clbit i "
            "(e.g. qaoa_circuit(problem, p, measure=True))"
        )
    return Measured(body, tuple(sorted(clbit_qubit.items())), circuit.num_clbits)



def measured_qubits_by_clbit(circuit: QuantumCircuit) -> tuple[int, ...]:
    """Entry ``c``: the qubit index measured into clbit ``c`` (each clbit exactly once)."""
    qindex = {q: i for i, q in enumerate(circuit.qubits)}
    cindex = {c: i for i, c in enumerate(circuit.clbits)}
    by_clbit: dict[int, int] = {}
    for inst in circuit.data:
        if inst.operation.name != "measure":
            continue
        (q,), (c,) = inst.qubits, inst.clbits
        if cindex[c] in by_clbit:
            raise TargetError(
                f"clbit {cindex[c]} is measured twice; measure each qubit once into its own clbit"
            )
        by_clbit[cindex[c]] = qindex[q]
    missing = sorted(set(range(circuit.num_clbits)) - set(by_clbit))
    if missing:
        raise TargetError(
            f"clbit(s) {missing} are never measured; measure a qubit into every clbit"
        )
    return tuple(by_clbit[c] for c in range(circuit.num_clbits))


# ----------------------------------------------------------------------------- clbit order
def clbit_index_map(
    measured_qubits: tuple[int, ...], clbit_qubit, num_clbits: int
) -> np.ndarray | None:
    """Map outcome index over ``measured_qubits`` (little endian) to the clbit outcome index.

    ``None`` when the map is the identity (qubit ``i`` into clbit ``i`` for all clbits).
    """
    m = len(measured_qubits)
    masks = np.zeros(m, dtype=np.int64)
    pos = {q: j for j, q in enumerate(measured_qubits)}
    for c, q in clbit_qubit:
        masks[pos[q]] |= 1 << c
    if m == num_clbits and all(masks[j] == 1 << j for j in range(m)):
        return None
    idx = np.arange(2**m, dtype=np.int64)
    out = np.zeros(2**m, dtype=np.int64)
    for j in range(m):
        out |= np.where((idx >> j) & 1, masks[j], 0)
    return out


def to_clbit_order(probs: np.ndarray, index_map: np.ndarray | None, num_clbits: int) -> np.ndarray:
    """Scatter ``probs`` over measured qubits into clbit order with :func:`clbit_index_map`."""
    if index_map is None:
        return probs
    out = np.zeros((probs.shape[0], 2**num_clbits), dtype=probs.dtype)
    out[:, index_map] = probs
    return out


def apply_confusion(probs: np.ndarray, matrices: list[np.ndarray | None]) -> np.ndarray:
    """Apply per-bit readout confusion to ``probs`` of shape ``(B, 2**m)``.

    ``matrices[j][i, k]`` is P(read k | prepared i) for outcome bit ``j`` (``None`` = perfect).
    """
    m = len(matrices)
    batch = probs.shape[0]
    arr = probs.reshape((batch,) + (2,) * m)
    for j, mat in enumerate(matrices):
        if mat is None:
            continue
        axis = m - j  # C order: axis 1 is the most significant bit
        arr = np.moveaxis(np.tensordot(arr, mat, axes=([axis], [0])), -1, axis)
    return np.ascontiguousarray(arr).reshape(batch, 2**m)


def multinomial_counts(
    probs: np.ndarray, shots: int, rng: np.random.Generator
) -> tuple[dict[int, int], ...]:
    """One multinomial draw of ``shots`` per row of ``probs`` (clipped at 0, renormalised)."""
    out = []
    for row in probs:
        p = np.clip(row, 0.0, None)
        p = p / p.sum()
        draws = rng.multinomial(shots, p)
        nz = np.flatnonzero(draws)
        out.append({int(k): int(draws[k]) for k in nz})
    return tuple(out)


def counts_from_result(result, num: int) -> tuple[dict[int, int], ...]:
    """Integer-keyed counts of the first ``num`` experiments of an Aer result."""
    return tuple(
        {int(k, 16): int(v) for k, v in result.data(i)["counts"].items()} for i in range(num)
    )


def clbit_order(circuit: QuantumCircuit) -> list[int]:
    """Clbit index of each bit in the Sampler's register concatenation order.

    The Sampler returns one ``BitArray`` per classical register, in ``circuit.cregs``
    order; ``join_data`` puts the first register in the least significant bits.
    """
    if circuit.num_clbits == 0:
        raise TargetError(
            "circuit has no classical bits; measure qubit i into clbit i before sampling"
        )
    order = [circuit.find_bit(bit).index for reg in circuit.cregs for bit in reg]
    if sorted(order) != list(range(circuit.num_clbits)):
        raise TargetError(
            "every clbit must belong to exactly one ClassicalRegister; build the circuit "
            "with QuantumCircuit(n, n) or add a register covering all measured bits"
        )
    return order


def bits_to_ints(bools: np.ndarray, order: list[int]) -> list[int]:
    """Integer outcomes from a ``(shots, num_bits)`` little-endian bool array."""
    if max(order, default=0) < 63:
        weights = np.array([1 << k for k in order], dtype=np.uint64)
        return (bools.astype(np.uint64) @ weights).tolist()
    out = []
    for row in bools:
        out.append(sum(1 << order[j] for j in np.flatnonzero(row)))
    return out


def counts_from_pub_result(
    pub_result: Any, num_points: int | None = None, clbit_order: list[int] | None = None
) -> tuple[tuple[dict[int, int], ...], int]:
    """Counts per parameter point from a Sampler PUB result, keyed in logical clbit order.

    ``clbit_order`` is :func:`clbit_order` of the circuit that ran; ``None`` assumes
    the registers are laid out in clbit order (true for ``QuantumCircuit(n, n)``).
    Returns ``(counts, shots)``.
    """
    from qiskit.primitives import BitArray

    data = pub_result.data
    arrays = [value for _, value in data.items() if isinstance(value, BitArray)]
    if not arrays:
        raise TargetError("the Sampler result holds no measured bits; measure into clbits")
    bits = arrays[0] if len(arrays) == 1 else BitArray.concatenate_bits(arrays)
    points = int(np.prod(bits.shape)) if bits.shape else 1
    bits = bits.reshape(points)
    if num_points is not None and points != num_points:
        raise TargetError(
            f"the Sampler returned {points} parameter points but {num_points} were submitted"
        )
    identity = clbit_order is None or clbit_order == list(range(bits.num_bits))
    counts = []
    if identity:
        for b in range(points):
            counts.append({int(k): int(v) for k, v in bits.get_int_counts(b).items()})
    else:
        bools = bits.to_bool_array(order="little")
        for b in range(points):
            values, freq = np.unique(
                np.asarray(bits_to_ints(bools[b], clbit_order), dtype=object), return_counts=True
            )
            counts.append({int(k): int(v) for k, v in zip(values, freq)})
    return tuple(counts), int(bits.num_shots)


def layout_physical_qubits(isa: QuantumCircuit, num_logical: int) -> list[int] | None:
    """Physical qubit of each logical qubit at the end of ``isa`` (None without a layout)."""
    layout = isa.layout
    if layout is None:
        return None
    try:
        return [int(q) for q in layout.final_index_layout()[:num_logical]]
    except Exception:  # noqa: BLE001 - layout details are informative only
        return None



# ----------------------------------------------------------------------------- confusion
def backend_readout_confusion(
    backend: Any, physical_qubits, properties: Any = None
) -> list[np.ndarray]:
    """Per-qubit readout confusion ``m[i, k] = P(read k | prepared i)`` from calibration data.

    ``backend`` is a ``BackendV2`` (a fake device, an ``IBMBackend``, or a stand-in with
    ``target``, ``num_qubits`` and ``name``). ``properties`` is the device's
    ``BackendProperties`` (see :func:`calibration_properties`): its asymmetric
    ``prob_meas1_prep0``/``prob_meas0_prep1`` are used where reported; otherwise, or
    without properties, the symmetric ``measure`` error of ``backend.target`` (the readout
    model Aer builds for fake devices). A qubit with neither gets the identity.
    """
    target = backend.target
    props = properties
    out = []
    for q in physical_qubits:
        q = int(q)
        if not 0 <= q < int(backend.num_qubits):
            raise TargetError(
                f"physical qubit {q} is not on {getattr(backend, 'name', 'the device')} "
                f"(qubits 0..{int(backend.num_qubits) - 1})"
            )
        p01 = p10 = None  # P(read 1 | prep 0), P(read 0 | prep 1)
        if props is not None:
            try:
                qprops = props.qubit_property(q)
                p01 = float(qprops["prob_meas1_prep0"][0])
                p10 = float(qprops["prob_meas0_prep1"][0])
            except Exception:  # noqa: BLE001 - not reported for this qubit
                p01 = p10 = None
        if p01 is None:
            inst = target["measure"].get((q,)) if "measure" in target.operation_names else None
            error = getattr(inst, "error", None)
            p01 = p10 = float(error) if error else 0.0
        out.append(np.array([[1.0 - p01, p01], [p10, 1.0 - p10]]))
    return out


def calibration_properties(backend: Any) -> Any:
    """The ``BackendProperties`` of an ``IBMBackend`` or a ``FakeBackendV2``, else None.

    These are the backend classes that reach an ``ibm:`` target: ``IBMBackend`` from the
    service, a fake device from a stand-in service; test stand-ins with only a
    ``target`` get None. A failing calibration call gives None (the target's readout
    error is used instead).
    """
    from qiskit_ibm_runtime import IBMBackend
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    if not isinstance(backend, (IBMBackend, FakeBackendV2)):
        return None
    try:
        return backend.properties()
    except Exception:  # noqa: BLE001 - calibration is optional; fall back to the target
        return None


def check_confusion(matrices: Sequence[Any]) -> list[np.ndarray]:
    """``matrices`` as float 2x2 arrays with rows ``P(read k | prepared i)`` summing to 1.

    Raises :class:`TargetError` for a malformed or singular (uninvertible) matrix.
    """
    out = []
    for j, mat in enumerate(matrices):
        m = np.asarray(mat, dtype=float)
        if m.shape != (2, 2) or np.any(m < 0) or not np.allclose(m.sum(axis=1), 1.0, atol=1e-9):
            raise TargetError(
                f"confusion matrix {j} must be 2x2 with rows P(read k | prepared i) summing to 1, got {m.tolist()}"
            )
        if abs(np.linalg.det(m)) < 1e-6:
            raise TargetError(
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
    return [np.array([[1.0 - a, a], [1.0 - b, b]]) for a, b in zip(p1_given0, p1_given1)]


# ----------------------------------------------------------------------------- compaction
@dataclass(frozen=True)
class CompactCircuit:
    """A bound ISA circuit on its active physical qubits only (relabelled ``0..k-1``)."""

    circuit: QuantumCircuit
    active: tuple[int, ...]  # physical qubits touched by any instruction or measured, sorted
    measured: tuple[int, ...]  # distinct measured physical qubits, in order of their first clbit
    clbit_qubit: tuple[tuple[int, int], ...]  # (clbit, physical qubit), sorted by clbit
    num_clbits: int
    two_qubit_gates: int


def compact_bound(circuit: QuantumCircuit, measure: bool) -> CompactCircuit:
    """Active-qubit version of one bound ISA circuit (delays and barriers dropped).

    ``measure=False``: ends in ``save_probabilities`` of the measured qubits (exact
    path); ``measure=True``: measures into the original clbits (trajectories).
    """
    meas = split_final_measurements(circuit)
    qindex = {q: i for i, q in enumerate(circuit.qubits)}
    active: set[int] = set()
    body = []
    for inst in meas.body.data:
        if inst.operation.name in IGNORED_OPS:
            continue
        qs = [qindex[q] for q in inst.qubits]
        active.update(qs)
        body.append((inst.operation, qs))
    active.update(q for _, q in meas.clbit_qubit)
    active_t = tuple(sorted(active))
    remap = {q: i for i, q in enumerate(active_t)}
    if measure:
        compact = QuantumCircuit(len(active_t), meas.num_clbits, global_phase=circuit.global_phase)
    else:
        compact = QuantumCircuit(len(active_t), global_phase=circuit.global_phase)
    two_q = 0
    for op, qs in body:
        compact._append(op, [compact.qubits[remap[q]] for q in qs], [])
        two_q += len(qs) == 2
    measured = meas.qubits
    if measure:
        for c, q in meas.clbit_qubit:
            compact.measure(remap[q], c)
    else:
        compact.save_probabilities([remap[q] for q in measured])
    return CompactCircuit(compact, active_t, measured, meas.clbit_qubit, meas.num_clbits, two_q)

