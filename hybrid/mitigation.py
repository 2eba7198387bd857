"""Error mitigation of QAOA energies: ZNE, readout-error mitigation (REM) and dynamical decoupling.

This is the only module that imports mitiq (lazily: mitiq pulls in cirq). Every
technique works on *bound ISA circuits* and runs them through ``target.run_isa``, so
what reaches the device is exactly what was mitigated:

``zne``
    Zero-noise extrapolation by unitary folding, ``G -> G (G^dag G)^k``.
    ``fold="two_qubit"`` (default) folds only the two-qubit gates of the ISA circuit
    (the dominant error; self-inverse ``cz``/``cx``/``ecr`` stay native, so the circuit
    stays ISA and can be folded once per scale as a parametrised template). The noise
    scale is the realised two-qubit gate ratio (exactly the scale factor for odd
    integers; otherwise a seeded random subset gets one extra fold).
    ``fold="all"`` (mitiq ``fold_gates_at_random``) and ``fold="global"`` (mitiq
    ``fold_global``) fold every gate of the *bound* circuit on its active qubits, then
    a ``BasisTranslator`` pass maps what mitiq emits (``sxdg``, ...) back to the
    device basis (no preset pass manager: it would cancel the folds); their noise
    scale is the requested factor, as in mitiq. Every (point, scale) circuit of an
    evaluation runs in one ``run_isa`` job; the extrapolation is the static
    ``extrapolate`` of mitiq's ``RichardsonFactory``, ``LinearFactory`` or ``ExpFactory``
    (the exponential fit uses the Max-Cut infinite-noise limit, the uniformly random
    cut ``W/2``, as its asymptote).
``rem``
    Per-qubit (tensored) confusion-matrix inversion with mitiq's
    ``generate_tensored_inverse_confusion_matrix``. The corrected quasi-probabilities
    are clipped at zero and renormalised before the energy is computed. Clipping
    biases the estimate where the inversion went negative (mostly outcomes seen rarely
    or never): on fake:torino with 4000 shots, the clipped energy sat on average
    about 0.25 (n = 6) and 0.35 (n = 8) standard errors below the exact value. The reported
    standard error is that of the unclipped linear estimator. Confusion
    matrices come from the device calibration (``rem_source="device"``) or from
    all-0 / all-1 preparations of the measured physical qubits run in the first job
    of the oracle (``rem_source="calibrate"``).
``dd``
    Dynamical decoupling (``XX`` or ``XY4``) with Qiskit's ``PadDynamicalDecoupling``
    after an ALAP schedule with the device durations (``fake:``/``local:`` targets), or
    the Runtime Sampler's ``dynamical_decoupling`` option (``ibm:`` targets). The noisy
    Aer model of ``fake:`` targets has no idle noise (delays are not simulated), so
    there DD changes results only through the errors of its own X gates: it is
    plumbing to check, not a mitigation that can show a gain in simulation.

mitiq's own DDD and Pauli twirling insert non-ISA gates and are not used.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.transpiler import Target as TranspilerTarget

from backends.capabilities import Capability, supports
from backends.transpile import two_qubit_count

from .ansatz import qaoa_circuit
from .evaluate import (
    DEFAULT_SHOTS,
    FD_STEP,
    Evaluation,
    _as_batch,
    bitstring,
    counts_statistics,
    make_oracle,
)
from .problems import MaxCutProblem, as_rng

#: Techniques, in the canonical order of a spec's name ("zne+rem+dd").
TECHNIQUES = ("zne", "rem", "dd")
FACTORIES = ("richardson", "linear", "exponential")
FOLD_METHODS = ("two_qubit", "all", "global")
REM_SOURCES = ("device", "calibrate")
DD_SEQUENCES = ("XX", "XY4")
DD_METHODS = ("auto", "pad", "runtime")
#: Options of :func:`parse_mitigation` (fields of :class:`MitigationSpec`).
OPTIONS = (
    "scale_factors",
    "factory",
    "fold",
    "rem_source",
    "dd_sequence",
    "dd_method",
    "calibration_shots",
)
DEFAULT_SCALE_FACTORS = (1.0, 3.0, 5.0)
#: Up to this many clbits REM builds the dense 2^m x 2^m inverse (mitiq); above, per qubit.
REM_DENSE_MAX_BITS = 10
#: REM needs dense outcome vectors: at most 2^20 outcomes.
REM_MAX_BITS = 20
#: Shot-aware finite-difference step of sampled oracles: clip((amp / sqrt(shots))^(1/3)).
FD_STEP_MIN = 0.02
FD_STEP_MAX = 0.3
#: Gates that are their own inverse: folding repeats them.
SELF_INVERSE = frozenset({"cx", "cz", "ecr", "swap", "x", "y", "z", "h", "id"})
_IGNORED = frozenset({"barrier", "delay"})


class MitigationError(ValueError):
    """A mitigation spec or option that cannot be used; the message lists the valid ones."""


# ------------------------------------------------------------------------------ spec
@dataclass(frozen=True)
class MitigationSpec:
    """Which techniques to apply, and how (see :func:`parse_mitigation`)."""

    zne: bool = False
    rem: bool = False
    dd: bool = False
    scale_factors: tuple[float, ...] = DEFAULT_SCALE_FACTORS
    factory: str = "richardson"
    fold: str = "two_qubit"
    rem_source: str = "device"
    dd_sequence: str = "XX"
    dd_method: str = "auto"
    calibration_shots: int | None = None  # None: the oracle's shots

    def __post_init__(self) -> None:
        try:
            scales = tuple(float(s) for s in self.scale_factors)
        except (TypeError, ValueError):
            raise MitigationError(
                f"scale_factors must be a sequence of numbers >= 1, got {self.scale_factors!r}"
            ) from None
        object.__setattr__(self, "scale_factors", scales)
        if len(scales) < 2 or len(set(scales)) != len(scales):
            raise MitigationError(
                f"scale_factors needs at least two distinct values, got {scales}; e.g. (1, 3, 5)"
            )
        if any(not math.isfinite(s) or s < 1 for s in scales):
            raise MitigationError(f"every scale factor must be a finite number >= 1, got {scales}")
        _check_choice("factory", self.factory, FACTORIES)
        _check_choice("fold", self.fold, FOLD_METHODS)
        _check_choice("rem_source", self.rem_source, REM_SOURCES)
        _check_choice("dd_sequence", self.dd_sequence, DD_SEQUENCES)
        _check_choice("dd_method", self.dd_method, DD_METHODS)
        if self.calibration_shots is not None:
            shots = self.calibration_shots
            if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
                raise MitigationError(
                    f"calibration_shots must be a positive integer or None, got {shots!r}"
                )
            object.__setattr__(self, "calibration_shots", int(shots))

    @property
    def name(self) -> str:
        """``"none"`` or the techniques joined by ``+`` in canonical order."""
        used = [t for t in TECHNIQUES if getattr(self, t)]
        return "+".join(used) if used else "none"

    @property
    def active(self) -> bool:
        return self.zne or self.rem or self.dd

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["scale_factors"] = list(self.scale_factors)
        data["name"] = self.name
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MitigationSpec":
        data = dict(data)
        data.pop("name", None)
        fields = ("zne", "rem", "dd") + OPTIONS
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise MitigationError(
                f"unknown mitigation field(s) {', '.join(map(repr, unknown))}; valid: {', '.join(fields)}"
            )
        if "scale_factors" in data:
            data["scale_factors"] = tuple(data["scale_factors"])
        return cls(**data)


def _check_choice(option: str, value: Any, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise MitigationError(f"{option} must be one of {', '.join(valid)}; got {value!r}")


def parse_mitigation(text: str | MitigationSpec, **options: Any) -> MitigationSpec:
    """``"none"``, ``"zne"``, ``"rem"``, ``"dd"`` or a ``+``-combination (``"zne+rem+dd"``).

    ``options``: ``scale_factors`` (default (1, 3, 5)), ``factory`` (richardson, linear,
    exponential), ``fold`` (two_qubit, all, global), ``rem_source`` (device, calibrate),
    ``dd_sequence`` (XX, XY4), ``dd_method`` (auto, pad, runtime), ``calibration_shots``.
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise MitigationError(
            f"unknown mitigation option(s) {', '.join(map(repr, unknown))}; valid: {', '.join(OPTIONS)}"
        )
    if isinstance(text, MitigationSpec):
        return MitigationSpec.from_dict({**text.to_dict(), **options}) if options else text
    valid = "none, " + ", ".join(TECHNIQUES) + " or a '+'-combination such as zne+rem"
    if not isinstance(text, str) or not text.strip():
        raise MitigationError(f"mitigation must be a non-empty string: {valid}; got {text!r}")
    parts = [part.strip().lower() for part in text.split("+")]
    if parts == ["none"]:
        return MitigationSpec(**options)
    chosen: set[str] = set()
    for part in parts:
        if part == "none":
            raise MitigationError(f"'none' cannot be combined with other techniques in {text!r}")
        if part not in TECHNIQUES:
            raise MitigationError(f"unknown mitigation {part!r} in {text!r}; valid: {valid}")
        if part in chosen:
            raise MitigationError(f"mitigation {part!r} is repeated in {text!r}")
        chosen.add(part)
    return MitigationSpec(**{t: True for t in chosen}, **options)


# ------------------------------------------------------------------------------ folding
def _fold_counts(num_gates: int, scale_factor: float, rng: np.random.Generator) -> np.ndarray:
    """Folds per gate for ``scale_factor``: ``k`` on every gate, one more on a random subset."""
    if scale_factor < 1 or not math.isfinite(scale_factor):
        raise MitigationError(f"scale_factor must be a finite number >= 1, got {scale_factor!r}")
    full, rest = divmod(scale_factor - 1.0, 2.0)
    counts = np.full(num_gates, int(full), dtype=np.int64)
    extra = int(round(rest / 2.0 * num_gates))
    if extra:
        counts[rng.choice(num_gates, size=extra, replace=False)] += 1
    return counts


def fold_two_qubit_gates(
    circuit: QuantumCircuit, scale_factor: float, seed: int | np.random.Generator | None = 0
) -> QuantumCircuit:
    """Fold the two-qubit gates of ``circuit``: ``G -> G (G^dag G)^k``.

    With ``N`` two-qubit gates the result has ``round(scale_factor * N)`` of them
    (exactly ``scale_factor * N`` for odd integers, where every gate gets
    ``(scale_factor - 1) / 2`` folds; otherwise a ``seed``-chosen subset gets one more).
    Single-qubit gates, measurements and parameters are untouched, so an ISA circuit
    stays ISA when its two-qubit gates are self-inverse (``cz``, ``cx``, ``ecr``) and a
    parametrised circuit can be folded once and bound per point. Scale 1 returns a copy.
    """
    positions = [
        i
        for i, inst in enumerate(circuit.data)
        if len(inst.qubits) == 2 and inst.operation.name not in _IGNORED and not inst.clbits
    ]
    counts = _fold_counts(len(positions), float(scale_factor), as_rng(seed))
    if not counts.any():
        return circuit.copy()
    folds = dict(zip(positions, counts.tolist()))
    out = circuit.copy_empty_like()
    for i, inst in enumerate(circuit.data):
        out._append(inst)
        k = folds.get(i, 0)
        if k:
            op = inst.operation
            inverse = op if op.name in SELF_INVERSE else op.inverse()
            for _ in range(k):
                out._append(inverse, inst.qubits, inst.clbits)
                out._append(inst)
    return out


def noise_scale(original: QuantumCircuit, folded: QuantumCircuit) -> float:
    """Realised two-qubit noise scale: folded / original two-qubit gate count."""
    base = two_qubit_count(original)
    return two_qubit_count(folded) / base if base else 1.0


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
        if name in _IGNORED:
            continue
        if measured.intersection(qs) or inst.clbits:
            raise MitigationError(
                f"instruction {name!r} follows a measurement or uses clbits; only final "
                "measurements can be folded"
            )
        body.append((inst.operation, qs))
    return _Split(body, measures)


def fold_with_mitiq(
    circuit: QuantumCircuit,
    scale_factor: float,
    method: str = "all",
    *,
    basis: Iterable[str] | None = None,
    seed: int | None = 0,
) -> QuantumCircuit:
    """Fold every gate of a bound (ISA) circuit with mitiq, then translate to ``basis``.

    ``method="all"``: ``mitiq.zne.scaling.fold_gates_at_random`` (seeded);
    ``"global"``: ``fold_global``. The unitary part on the active qubits is folded
    (delays and barriers dropped; measurements must be final and are put back), then a
    ``BasisTranslator`` pass maps the gates mitiq emits (``sxdg``, ...) to ``basis``
    (e.g. the device's operation names; ``None`` keeps them).
    """
    from mitiq.zne.scaling import fold_gates_at_random, fold_global
    from qiskit.circuit.equivalence_library import SessionEquivalenceLibrary
    from qiskit.transpiler.passes import BasisTranslator

    _check_choice("method", method, ("all", "global"))
    split = _split_bound(circuit)
    active = sorted({q for _, qs in split.body for q in qs} | {q for q, _ in split.measures})
    remap = {q: i for i, q in enumerate(active)}
    compact = QuantumCircuit(len(active))
    for op, qs in split.body:
        compact.append(op, [remap[q] for q in qs])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if method == "all":
            folded = fold_gates_at_random(compact, float(scale_factor), seed=seed)
        else:
            folded = fold_global(compact, float(scale_factor))
    if basis is not None:
        folded = BasisTranslator(SessionEquivalenceLibrary, target_basis=sorted(set(basis)))(folded)
    out = circuit.copy_empty_like()
    out.global_phase = circuit.global_phase + folded.global_phase
    for inst in folded.data:
        out.append(inst.operation, [active[folded.find_bit(q).index] for q in inst.qubits])
    for q, c in split.measures:
        out.measure(q, c)
    return out


def _transpiler_target(target: Any):
    """The transpiler ``Target`` of a device target (``None`` for ideal/aer)."""
    backend = getattr(target, "backend", None)
    return getattr(backend, "target", None)


def _basis_of(transpiler_target: Any) -> list[str] | None:
    if transpiler_target is None:
        return None
    return sorted(
        name
        for name in transpiler_target.operation_names
        if name not in ("measure", "reset", "delay", "for_loop", "if_else", "switch_case", "while_loop", "box")
    )


def fold_isa(
    circuit: QuantumCircuit,
    scale_factor: float,
    fold: str = "two_qubit",
    *,
    target: Any = None,
    seed: int | None = 0,
) -> QuantumCircuit:
    """Fold an ISA circuit for ``target`` (a backends target or a transpiler ``Target``)."""
    _check_choice("fold", fold, FOLD_METHODS)
    if fold == "two_qubit":
        return fold_two_qubit_gates(circuit, scale_factor, seed=seed)
    tt = target if isinstance(target, TranspilerTarget) else _transpiler_target(target)
    return fold_with_mitiq(circuit, scale_factor, fold, basis=_basis_of(tt), seed=seed)


# ------------------------------------------------------------------ dynamical decoupling
def dd_sequence_gates(transpiler_target: Any, sequence: str = "XX"):
    """``(gates, spacing)`` for ``PadDynamicalDecoupling`` in the device's basis.

    ``XY4`` is X Y X Y; where the device has no ``y`` each Y is ``rz(pi)`` then ``x``
    (Y up to a phase) with no idle time between them, so pulses sit at 1/8, 3/8, 5/8, 7/8.
    """
    from qiskit.circuit.library import RZGate, XGate, YGate

    _check_choice("dd_sequence", sequence, DD_SEQUENCES)
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


# ------------------------------------------------------------------ readout mitigation
def _check_confusion(matrices: Sequence[Any]) -> list[np.ndarray]:
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


class ReadoutMitigator:
    """Tensored readout-error inversion for ``m`` classical bits.

    ``confusion[c][i, k]`` is P(read k | prepared i) for clbit ``c`` (outcome bit ``c``).
    Up to :data:`REM_DENSE_MAX_BITS` bits the inverse is mitiq's
    ``generate_tensored_inverse_confusion_matrix`` (the dense Kronecker product); above,
    the same per-qubit inverses are applied factor by factor.
    """

    def __init__(self, confusion: Sequence[Any]):
        from mitiq.rem import generate_tensored_inverse_confusion_matrix

        self.confusion = _check_confusion(confusion)
        self.num_bits = len(self.confusion)
        if self.num_bits > REM_MAX_BITS:
            raise MitigationError(
                f"readout mitigation supports at most {REM_MAX_BITS} measured bits, got {self.num_bits}"
            )
        # mitiq: column-stochastic matrices M[read, prepared]; the first Kronecker factor
        # is the most significant bit, i.e. clbit m-1 in our little-endian outcomes.
        columns = [m.T for m in self.confusion]
        self._inverse = None
        self._factors = None
        if self.num_bits <= REM_DENSE_MAX_BITS:
            self._inverse = generate_tensored_inverse_confusion_matrix(self.num_bits, columns[::-1])
        else:
            self._factors = [generate_tensored_inverse_confusion_matrix(1, [m]) for m in columns]

    def _apply(self, vectors: np.ndarray, transpose: bool = False) -> np.ndarray:
        vectors = np.atleast_2d(vectors)
        if self._inverse is not None:
            inv = self._inverse.T if transpose else self._inverse
            return vectors @ inv.T
        m = self.num_bits
        batch = vectors.shape[0]
        arr = vectors.reshape((batch,) + (2,) * m)
        for c, f in enumerate(self._factors):
            mat = f.T if transpose else f
            axis = m - c  # C order: axis 1 is the most significant bit
            arr = np.moveaxis(np.tensordot(arr, mat, axes=([axis], [1])), -1, axis)
        return np.ascontiguousarray(arr).reshape(batch, 2**m)

    def quasi_probabilities(self, probs: np.ndarray) -> np.ndarray:
        """``A^-1 p`` for each row of ``probs`` (may have negative entries)."""
        return self._apply(np.asarray(probs, dtype=float))

    def corrected(self, probs: np.ndarray) -> np.ndarray:
        """Quasi-probabilities clipped at zero and renormalised to sum 1 (per row)."""
        quasi = np.clip(self.quasi_probabilities(probs), 0.0, None)
        total = quasi.sum(axis=1, keepdims=True)
        return quasi / np.where(total > 0, total, 1.0)

    def estimator_weights(self, values: np.ndarray) -> np.ndarray:
        """``f = A^-T values``: the linear REM estimate of ``<values>`` is the mean of ``f(z)``."""
        return self._apply(np.asarray(values, dtype=float)[None, :], transpose=True)[0]

    def probabilities_from_counts(self, counts: dict[int, int]) -> tuple[np.ndarray, int]:
        shots = int(sum(counts.values()))
        if shots < 1:
            raise MitigationError("counts are empty: the job returned no shots")
        vec = np.zeros(2**self.num_bits)
        keys = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        vals = np.fromiter(counts.values(), dtype=float, count=len(counts))
        if keys.size and (keys.min() < 0 or keys.max() >= vec.size):
            raise MitigationError(f"outcome keys must lie in [0, 2**{self.num_bits})")
        np.add.at(vec, keys, vals)
        return vec / shots, shots

    def expectation(self, values: np.ndarray, counts: dict[int, int] | None = None, probs=None):
        """Mitigated ``<values>`` and its standard error from ``counts`` (or exact ``probs``).

        The value uses the clipped, renormalised distribution; the standard error is
        the shot error of the linear estimator ``mean f(z)``, ``f = A^-T values``
        (0 for exact ``probs``).
        """
        values = np.asarray(values, dtype=float)
        if counts is not None:
            probs, shots = self.probabilities_from_counts(counts)
        else:
            probs, shots = np.asarray(probs, dtype=float), None
        mean = float(self.corrected(probs[None, :])[0] @ values)
        if shots is None:
            return mean, 0.0
        f = self.estimator_weights(values)
        mu = float(probs @ f)
        var = float(probs @ (f - mu) ** 2) * shots / max(shots - 1, 1)
        return mean, math.sqrt(var / shots)


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


def calibration_circuits(isa: QuantumCircuit, transpiler_target: Any = None) -> list[QuantumCircuit]:
    """All-0 and all-1 preparations of the qubits ``isa`` measures, read into the same clbits."""
    split_measures = []
    qindex = {q: i for i, q in enumerate(isa.qubits)}
    cindex = {c: i for i, c in enumerate(isa.clbits)}
    for inst in isa.data:
        if inst.operation.name == "measure":
            split_measures.append((qindex[inst.qubits[0]], cindex[inst.clbits[0]]))
    names = None if transpiler_target is None else transpiler_target.operation_names
    out = []
    for flip in (False, True):
        qc = isa.copy_empty_like()
        qc.global_phase = 0.0
        if flip:
            for q in sorted({q for q, _ in split_measures}):
                if names is None or "x" in names:
                    qc.x(q)
                else:
                    qc.sx(q)
                    qc.sx(q)
        for q, c in split_measures:
            qc.measure(q, c)
        out.append(qc)
    return out


# ------------------------------------------------------------------ extrapolation
def _factory_extrapolate(factory: str, scales: Sequence[float], values: Sequence[float], asymptote):
    from mitiq.zne.inference import ExpFactory, LinearFactory, RichardsonFactory

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mitiq warns on exactly determined fits
        if factory == "richardson":
            return float(RichardsonFactory.extrapolate(list(scales), list(values)))
        if factory == "linear":
            return float(LinearFactory.extrapolate(list(scales), list(values)))
        return float(ExpFactory.extrapolate(list(scales), list(values), asymptote=asymptote))


def extrapolation_coefficients(factory: str, scales: Sequence[float]) -> np.ndarray:
    """``c`` with ``E(0) = c @ E(scales)`` for the linear factories (richardson, linear)."""
    _check_choice("factory", factory, ("richardson", "linear"))
    eye = np.eye(len(scales))
    return np.array([_factory_extrapolate(factory, scales, row, None) for row in eye])


def extrapolate(
    scales: Sequence[float],
    values: Sequence[float],
    stderr: Sequence[float] | None = None,
    factory: str = "richardson",
    asymptote: float | None = None,
) -> tuple[float, float]:
    """Zero-noise value and its standard error from per-scale values and errors.

    Richardson and linear fits are linear in the values, so the error is
    ``sqrt(sum c_i^2 s_i^2)`` with the exact coefficients; the exponential fit's error is
    propagated to first order through its numerical Jacobian (delta method).
    """
    _check_choice("factory", factory, FACTORIES)
    values = np.asarray(values, dtype=float)
    stderr = np.zeros_like(values) if stderr is None else np.asarray(stderr, dtype=float)
    if factory == "exponential" and asymptote is not None:
        asymptote = float(asymptote)
    value = _factory_extrapolate(factory, scales, values, asymptote)
    if not np.any(stderr > 0):
        return value, 0.0
    if factory in ("richardson", "linear"):
        coeffs = extrapolation_coefficients(factory, scales)
    else:
        coeffs = np.zeros_like(values)
        for i in range(values.size):
            h = max(1e-3 * stderr[i], 1e-7 * max(1.0, abs(values[i])))
            up, down = values.copy(), values.copy()
            up[i] += h
            down[i] -= h
            coeffs[i] = (
                _factory_extrapolate(factory, scales, up, asymptote)
                - _factory_extrapolate(factory, scales, down, asymptote)
            ) / (2 * h)
    return value, float(math.sqrt(np.sum(coeffs**2 * stderr**2)))


# ------------------------------------------------------------------ the oracle
def _resolve_target(target: Any):
    if isinstance(target, str):
        from backends import get_target

        return get_target(target)
    return target


class MitigatedOracle:
    """Mitigated ``<C>`` of QAOA points on any target with ``run_isa`` (see the module doc).

    ``shots`` is per circuit (each scale factor, each calibration circuit); the
    ``Evaluation.shots`` of a call is the total spent. ``shots=None`` uses the exact
    noisy distributions of ``target.exact_isa_probabilities`` (``fake:`` targets): no
    shot noise, standard errors 0, deterministic, to measure mitigation bias.
    ``fd_step=None`` picks a shot-aware central-difference step for
    :meth:`value_and_grad`: ``clip((a / sqrt(shots))^(1/3), FD_STEP_MIN, FD_STEP_MAX)``
    (``a`` = sum |c_i| of the extrapolation coefficients, the noise amplification of
    ZNE; 1 without ZNE; the linear-fit value for the exponential factory), which
    balances the O(h^2) truncation error against the O(sigma / h) shot error.
    """

    exact = False

    def __init__(
        self,
        problem: MaxCutProblem,
        p: int,
        target: Any,
        spec: MitigationSpec | str,
        shots: int | None = DEFAULT_SHOTS,
        seed: int | np.random.Generator | None = None,
        *,
        fd_step: float | None = None,
    ):
        self.problem, self.p = problem, int(p)
        self.target = _resolve_target(target)
        self.spec = parse_mitigation(spec)
        if shots is not None and (isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1):
            raise MitigationError(f"shots must be a positive integer (or None for exact), got {shots!r}")
        self.shots = None if shots is None else int(shots)
        if not supports(self.target, Capability.ISA_EXECUTION):
            raise MitigationError(f"target {self.target.spec!r} has no run_isa; mitigation needs it")
        if self.shots is None:
            if not supports(self.target, Capability.EXACT_ISA):
                raise MitigationError(
                    f"shots=None needs exact probabilities, which {self.target.spec!r} does not offer; "
                    "pass shots"
                )
            self.exact = True
        self.target.check_fits(problem.n)
        if self.spec.rem and problem.n > REM_MAX_BITS:
            raise MitigationError(
                f"readout mitigation supports at most {REM_MAX_BITS} nodes, got n={problem.n}; drop rem"
            )
        if problem.n > 24 and (self.exact or self.spec.rem):
            raise MitigationError(
                f"exact distributions and readout mitigation need n <= 24 nodes, got n={problem.n}"
            )
        self._rng = as_rng(seed)
        self._fold_seed = int(seed) if isinstance(seed, (int, np.integer)) else 0
        self.circuit = qaoa_circuit(problem, self.p, measure=True)
        # By name: a cached ISA circuit may hold equal-named parameters of another circuit.
        self._param_index = {param.name: i for i, param in enumerate(self.circuit.parameters)}
        self.isa = self.target.isa_circuit(self.circuit)
        self._tt = _transpiler_target(self.target)
        self.cut = problem.cut_values() if problem.n <= 24 else None
        self.scales = self.spec.scale_factors if self.spec.zne else (1.0,)
        self.base_two_qubit = two_qubit_count(self.isa)

        # Dynamical decoupling: padded circuits, or a Runtime Sampler option.
        self._run_kwargs: dict[str, Any] = {}
        self._pad_dd = False
        if self.spec.dd:
            method = self.spec.dd_method
            runtime = self.target.kind in ("local", "ibm")
            if method == "auto":
                method = "runtime" if self.target.kind == "ibm" else "pad"
            if method == "runtime":
                if not runtime:
                    raise MitigationError(
                        f"dd_method='runtime' needs a Runtime target (local:, ibm:), not {self.target.spec!r}"
                    )
                self._run_kwargs["sampler_options"] = {
                    "dynamical_decoupling": {"enable": True, "sequence_type": self.spec.dd_sequence}
                }
            else:
                if self._tt is None:
                    raise MitigationError(
                        f"dynamical decoupling needs a device target with gate durations "
                        f"(fake:, local:, ibm:), not {self.target.spec!r}"
                    )
                self._pad_dd = True

        # Parametrised templates per scale (two-qubit folding commutes with binding).
        self._templates: list[QuantumCircuit] | None = None
        self.noise_scales: tuple[float, ...] = tuple(self.scales)
        if not self.spec.zne or self.spec.fold == "two_qubit":
            templates, realised = [], []
            for k, s in enumerate(self.scales):
                folded = fold_two_qubit_gates(self.isa, s, seed=self._fold_seed + k)
                realised.append(noise_scale(self.isa, folded))
                if self._pad_dd:
                    folded = pad_dynamical_decoupling(folded, self._tt, self.spec.dd_sequence)
                templates.append(folded)
            self._templates = templates
            self.noise_scales = tuple(realised)

        # Readout mitigation from the device calibration (or calibrated on first use).
        self._mitigator: ReadoutMitigator | None = None
        self._calibration: dict[str, Any] | None = None
        measured = (
            self.target.measured_physical_qubits(self.isa)
            if supports(self.target, Capability.CALIBRATION)
            else None
        )
        self.measured_qubits = tuple(measured) if measured is not None else None
        if self.spec.rem and self.spec.rem_source == "device":
            if measured is None:
                raise MitigationError(
                    f"rem_source='device' needs calibration data, which {self.target.spec!r} does not "
                    "have; use rem_source='calibrate'"
                )
            confusion = self.target.readout_confusion(measured)
            self._mitigator = ReadoutMitigator(confusion)
            self._calibration = {"source": "device", "physical_qubits": list(measured)}
        self._coeffs = None
        if self.spec.zne and self.spec.factory in ("richardson", "linear"):
            self._coeffs = extrapolation_coefficients(self.spec.factory, self.noise_scales)
        elif self.spec.zne:
            self._coeffs = extrapolation_coefficients("linear", self.noise_scales)
        amp = float(np.abs(self._coeffs).sum()) if self._coeffs is not None else 1.0
        if fd_step is not None:
            self.fd_step = float(fd_step)
        elif self.shots is None:
            self.fd_step = FD_STEP
        else:
            self.fd_step = float(np.clip((amp / math.sqrt(self.shots)) ** (1 / 3), FD_STEP_MIN, FD_STEP_MAX))

    # -------------------------------------------------------------- circuits
    def _bind(self, template: QuantumCircuit, row: np.ndarray) -> QuantumCircuit:
        return template.assign_parameters(
            {param: float(row[self._param_index[param.name]]) for param in template.parameters}
        )

    def circuits_for(self, point: Sequence[float]) -> list[QuantumCircuit]:
        """The bound ISA circuits run for one point, one per scale factor."""
        row = _as_batch(point, self.p)[0]
        if self._templates is not None:
            return [self._bind(t, row) for t in self._templates]
        bound = self._bind(self.isa, row)
        out = []
        for k, s in enumerate(self.scales):
            folded = fold_isa(bound, s, self.spec.fold, target=self._tt, seed=self._fold_seed + k)
            if self._pad_dd:
                folded = pad_dynamical_decoupling(folded, self._tt, self.spec.dd_sequence)
            out.append(folded)
        return out

    # -------------------------------------------------------------- evaluation
    def _energy(self, counts=None, probs=None) -> tuple[float, float, float, float, dict | None]:
        """(mitigated, stderr, raw, raw stderr, count statistics) of one circuit's outcomes."""
        stats = None
        if counts is not None:
            stats = counts_statistics(self.problem, counts)
            raw, raw_err = stats["mean"], stats["stderr"]
        else:
            raw, raw_err = float(probs @ self.cut), 0.0
        if self._mitigator is None:
            return raw, raw_err, raw, raw_err, stats
        mean, err = self._mitigator.expectation(self.cut, counts=counts, probs=probs)
        return mean, err, raw, raw_err, stats

    def _calibrate(self, zeros, ones) -> None:
        confusion = confusion_from_calibration(zeros, ones, self.isa.num_clbits)
        self._mitigator = ReadoutMitigator(confusion)
        self._calibration = {
            "source": "calibrate",
            "physical_qubits": None if self.measured_qubits is None else list(self.measured_qubits),
            "confusion": [m.tolist() for m in confusion],
        }

    @property
    def supports_jobs(self) -> bool:
        """Whether the target submits jobs with ids that can be fetched again (``ibm:``)."""
        return supports(self.target, Capability.JOBS)

    def charge(self, kind: str, points: int = 1):
        """Budget charge of a call: its points, and the shots of every scale-factor circuit
        plus the readout calibration circuits when this call will run them."""
        from .optimize import Charge

        count = points * (1 + 4 * self.p) if kind == "value_and_grad" else points
        if self.shots is None:
            return Charge(count)
        shots = count * len(self.scales) * self.shots
        if self.spec.rem and self.spec.rem_source == "calibrate" and self._mitigator is None:
            shots += 2 * (self.spec.calibration_shots or self.shots)
        return Charge(count, shots)

    def _run(self, circuits, offset, calibrate, seed, on_submit, attach_job):
        """Run ``circuits`` (the first ``offset`` are calibration); returns outcomes and costs."""
        if self.exact:
            probs = self.target.exact_isa_probabilities(circuits)
            return [{"probs": row} for row in probs], (), 0, {}
        run_seed = seed if seed is not None else self._rng
        cal_shots = self.spec.calibration_shots or self.shots
        jobs = []
        if calibrate and cal_shots != self.shots:
            # Calibration with its own shot count: a separate job, run first.
            jobs.append(self.target.run_isa(circuits[:offset], cal_shots, seed=run_seed, **self._run_kwargs))
            main = circuits[offset:]
        else:
            main = circuits
        if attach_job is not None:
            result = self.target.fetch(attach_job)
            if len(result.counts) != len(main):
                raise MitigationError(
                    f"job {attach_job} holds {len(result.counts)} circuits but this evaluation needs "
                    f"{len(main)} (calibration circuits are only in an oracle's first job); "
                    "evaluate again without attach_job"
                )
        elif on_submit is not None and self.supports_jobs:
            job = self.target.submit_isa(main, self.shots, **self._run_kwargs)
            on_submit(job.job_id)
            result = self.target.fetch(job)
        else:
            result = self.target.run_isa(main, self.shots, seed=run_seed, **self._run_kwargs)
        jobs.append(result)
        outcomes = [{"counts": c} for job in jobs for c in job.counts]
        job_ids = tuple(j for job in jobs for j in job.job_ids)
        shots_spent = cal_shots * offset + self.shots * (len(circuits) - offset)
        return outcomes, job_ids, shots_spent, dict(result.metadata)

    def evaluate(
        self,
        params: Any,
        seed: int | np.random.Generator | None = None,
        *,
        on_submit=None,
        attach_job: str | None = None,
    ) -> Evaluation:
        """Mitigated expected cuts of a parameter batch, all circuits in one job.

        With a job-based target (``ibm:``), ``on_submit(job_id)`` is called as soon as the
        job is accepted and ``attach_job`` fetches an earlier job by id instead of
        submitting (as :class:`hybrid.evaluate.SampledOracle` does). A calibration with
        its own ``calibration_shots`` is a separate job outside these hooks.
        """
        start = time.perf_counter()
        batch = _as_batch(params, self.p)
        num_scales = len(self.scales)
        circuits: list[QuantumCircuit] = []
        calibrate = self.spec.rem and self.spec.rem_source == "calibrate" and self._mitigator is None
        if calibrate:
            circuits.extend(calibration_circuits(self.isa, self._tt))
        offset = len(circuits)
        for row in batch:
            circuits.extend(self.circuits_for(row))
        outcomes, job_ids, shots_spent, run_meta = self._run(
            circuits, offset, calibrate, seed, on_submit, attach_job
        )
        if calibrate:
            zero, one = outcomes[0], outcomes[1]
            self._calibrate(zero.get("counts", zero.get("probs")), one.get("counts", one.get("probs")))

        energies, stderr, per_scale, per_scale_err, raw, raw_err = [], [], [], [], [], []
        best_cut, best_key = None, None
        for b in range(batch.shape[0]):
            vals, errs, rvals, rerrs = [], [], [], []
            for k in range(num_scales):
                out = outcomes[offset + b * num_scales + k]
                e, s, r, rs, stats = self._energy(counts=out.get("counts"), probs=out.get("probs"))
                vals.append(e)
                errs.append(s)
                rvals.append(r)
                rerrs.append(rs)
                if k == 0 and stats is not None:
                    if best_cut is None or stats["best_cut"] > best_cut:
                        best_cut, best_key = stats["best_cut"], stats["best_key"]
            if self.spec.zne:
                value, err = extrapolate(
                    self.noise_scales,
                    vals,
                    errs,
                    self.spec.factory,
                    asymptote=self.problem.total_weight / 2,
                )
            else:
                value, err = vals[0], errs[0]
            energies.append(value)
            stderr.append(err)
            per_scale.append(vals)
            per_scale_err.append(errs)
            raw.append(rvals)
            raw_err.append(rerrs)

        points = batch.shape[0]
        two_q = [two_qubit_count(c) for c in circuits[offset:offset + num_scales]] if points else []
        cost = {
            "circuits": len(circuits),
            "circuits_per_point": num_scales,
            "calibration_circuits": offset,
            "two_qubit_gates_per_point": int(sum(two_q)),
            "two_qubit_gates_unmitigated": self.base_two_qubit,
            "circuit_ratio": float(num_scales + offset / max(points, 1)),
            "two_qubit_ratio": float(sum(two_q) / self.base_two_qubit) if self.base_two_qubit else 1.0,
            "shots": shots_spent,
            "shots_unmitigated": 0 if self.shots is None else self.shots * points,
        }
        metadata = {
            "mitigation": self.spec.to_dict(),
            "target": self.target.spec,
            "exact": self.exact,
            "scale_factors": list(self.scales),
            "noise_scales": list(self.noise_scales),
            "scale_energies": per_scale,
            "scale_stderr": per_scale_err,
            "raw_energies": raw,
            "raw_stderr": raw_err,
            "cost": cost,
            "dd": (
                None
                if not self.spec.dd
                else ("sampler option" if self._run_kwargs else f"PadDynamicalDecoupling {self.spec.dd_sequence}")
            ),
            "rem": self._calibration,
            "run": run_meta,
        }
        return Evaluation(
            params=batch,
            energies=np.asarray(energies),
            stderr=np.asarray(stderr),
            shots=int(shots_spent),
            best_cut=best_cut,
            best_bitstring=None if best_key is None else bitstring(best_key, self.problem.n),
            job_ids=job_ids,
            wall_time=time.perf_counter() - start,
            metadata=metadata,
        )

    def value_and_grad(self, theta: Any, seed: int | np.random.Generator | None = None, **job_hooks):
        """Value and central-difference gradient; the 4p + 1 points run in one job.

        ``job_hooks`` (``on_submit``, ``attach_job``) go to :meth:`evaluate`.
        """
        theta = _as_batch(theta, self.p)[0]
        shifts = np.eye(theta.size) * self.fd_step
        points = np.vstack([theta[None, :], theta + shifts, theta - shifts])
        ev = self.evaluate(points, seed=seed, **job_hooks)
        e = ev.energies
        grad = (e[1 : 1 + theta.size] - e[1 + theta.size :]) / (2 * self.fd_step)
        return float(e[0]), grad, ev

    def describe(self) -> dict[str, Any]:
        return {
            "mitigation": self.spec.to_dict(),
            "target": self.target.spec,
            "shots": self.shots,
            "fd_step": self.fd_step,
            "noise_scales": list(self.noise_scales),
            "two_qubit_gates": self.base_two_qubit,
        }


def make_mitigated_oracle(
    problem: MaxCutProblem,
    p: int,
    target: Any = "ideal",
    mitigation: str | MitigationSpec = "none",
    shots: int | None = DEFAULT_SHOTS,
    *,
    seed: int | np.random.Generator | None = None,
    fd_step: float | None = None,
    **options: Any,
):
    """A :class:`MitigatedOracle`, or the plain :func:`hybrid.evaluate.make_oracle` for ``"none"``.

    ``options`` are mitigation options (:func:`parse_mitigation`); they are validated
    even for ``"none"``.
    """
    spec = parse_mitigation(mitigation, **options)
    if not spec.active:
        extra = {} if fd_step is None else {"fd_step": fd_step}
        return make_oracle(problem, p, target, shots=shots, **extra)
    return MitigatedOracle(problem, p, target, spec, shots=shots, seed=seed, fd_step=fd_step)
