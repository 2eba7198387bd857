"""Zero-noise extrapolation: ISA-preserving folding (the circuit transform) and extrapolation
(the result post-processor), usable alone in the style of mitiq::

    folded, ctx = zne.transform(isa_circuits, spec, target)   # len(scale_factors) per circuit
    values = ...                                            # run folded, one value each
    mitigated, stderr = zne.postprocess(values, ctx)         # one value per input circuit

``fold="two_qubit"`` (default) folds only the two-qubit gates of the ISA circuit (the
dominant error; self-inverse ``cz``/``cx``/``ecr`` stay native, so the circuit stays
ISA and a parametrised template can be folded once per scale). The noise scale is the
realised two-qubit gate ratio (exactly the scale factor for odd integers; otherwise a
seeded random subset gets one extra fold). ``fold="all"`` (mitiq
``fold_gates_at_random``) and ``fold="global"`` (mitiq ``fold_global``) fold every gate
of the *bound* circuit on its active qubits, then a ``BasisTranslator`` pass maps what
mitiq emits (``sxdg``, ...) back to the device basis (no preset pass manager: it would
cancel the folds); their noise scale is the requested factor, as in mitiq. The
extrapolation is the static ``extrapolate`` of mitiq's ``RichardsonFactory``,
``LinearFactory`` or ``ExpFactory`` (the exponential fit uses the infinite-noise limit,
``<C>`` of the maximally mixed state ``problem.mixed_value``, as its asymptote: the uniformly
random cut ``W/2`` for Max-Cut).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.transpiler import Target as TranspilerTarget

from backends.transpile import two_qubit_count

from ..problems import as_rng
from ._circuits import IGNORED, _split_bound, basis_of, transpiler_target
from .spec import FACTORIES, FOLD_METHODS, MitigationError, MitigationSpec, check_choice

#: Gates that are their own inverse: folding repeats them.
SELF_INVERSE = frozenset({"cx", "cz", "ecr", "swap", "x", "y", "z", "h", "id"})


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
        if len(inst.qubits) == 2 and inst.operation.name not in IGNORED and not inst.clbits
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

    check_choice("method", method, ("all", "global"))
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



def fold_isa(
    circuit: QuantumCircuit,
    scale_factor: float,
    fold: str = "two_qubit",
    *,
    target: Any = None,
    seed: int | None = 0,
) -> QuantumCircuit:
    """Fold an ISA circuit for ``target`` (a backends target or a transpiler ``Target``)."""
    check_choice("fold", fold, FOLD_METHODS)
    if fold == "two_qubit":
        return fold_two_qubit_gates(circuit, scale_factor, seed=seed)
    tt = target if isinstance(target, TranspilerTarget) else transpiler_target(target)
    return fold_with_mitiq(circuit, scale_factor, fold, basis=basis_of(tt), seed=seed)



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
    check_choice("factory", factory, ("richardson", "linear"))
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
    check_choice("factory", factory, FACTORIES)
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



# ------------------------------------------------------------------ transform and post-process
@dataclass(frozen=True)
class ZneContext:
    """What :func:`postprocess` needs from :func:`transform`: the scales, per input circuit."""

    scale_factors: tuple[float, ...]
    noise_scales: tuple[float, ...]  # realised (two-qubit folding) or requested
    factory: str = "richardson"

    def to_dict(self) -> dict[str, Any]:
        return {"scale_factors": list(self.scale_factors), "noise_scales": list(self.noise_scales), "factory": self.factory}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ZneContext":
        return cls(tuple(data["scale_factors"]), tuple(data["noise_scales"]), data.get("factory", "richardson"))


def transform(
    circuits: Sequence[QuantumCircuit], spec: MitigationSpec, target: Any = None, *, seed: int = 0
) -> tuple[list[QuantumCircuit], ZneContext]:
    """Fold every circuit at every scale factor of ``spec`` (circuit-major: circuit ``i``,
    scale ``k`` at ``i * len(scales) + k``); scale ``k`` uses fold seed ``seed + k``.

    ``fold="two_qubit"`` accepts parametrised templates (folding commutes with binding);
    the other methods need bound circuits. ``noise_scales`` are those of the first circuit.
    """
    scales = tuple(spec.scale_factors)
    out: list[QuantumCircuit] = []
    realised: list[float] | None = None
    for circuit in circuits:
        folded = [fold_isa(circuit, s, spec.fold, target=target, seed=seed + k) for k, s in enumerate(scales)]
        if realised is None:
            realised = [noise_scale(circuit, f) for f in folded] if spec.fold == "two_qubit" else list(scales)
        out.extend(folded)
    noise = tuple(realised) if realised is not None else scales
    return out, ZneContext(scales, noise, spec.factory)


def postprocess(
    values: Sequence[float], ctx: ZneContext, stderr: Sequence[float] | None = None, *, asymptote: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Zero-noise values (and standard errors) from the per-scale values of :func:`transform`'s circuits.

    ``asymptote``: the infinite-noise limit used by the exponential factory (``problem.mixed_value``: ``W/2`` for Max-Cut).
    """
    per = len(ctx.scale_factors)
    values = np.asarray(values, dtype=float).reshape(-1, per)
    errs = np.zeros_like(values) if stderr is None else np.asarray(stderr, dtype=float).reshape(-1, per)
    out = [extrapolate(ctx.noise_scales, v, e, ctx.factory, asymptote=asymptote) for v, e in zip(values, errs)]
    return np.array([v for v, _ in out]), np.array([e for _, e in out])
