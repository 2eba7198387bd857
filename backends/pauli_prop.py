"""Noisy ``<Z_a Z_b>`` sums at device scale by Pauli propagation (IBM's ``pauli-prop``).

The ISA circuit of a fake device is propagated in the Heisenberg picture with the
*Pauli twirl* of every gate's device error:

* **Twirl.** Each gate error of the device noise model (:class:`backends.noise.DeviceNoise`,
  the channel Aer applies after the gate) is replaced by the Pauli channel with the same
  Pauli fidelities ``f_P = Tr(P E(P)) / d``. Its Pauli-Lindblad rates over all non-identity
  Paulis of the gate's qubits solve ``f_P = exp(-2 sum_{G anticommutes with P} r_G)``.
  A channel with a fidelity ``<= 0`` (a broken coupler, CZ error 1.0) has no such form and
  is refused (:class:`BrokenChannelError`), never clamped.
* **Readout**, folded in exactly: a measured ``z = +-1`` is read as ``c + d z`` in
  expectation (``c = p10 - p01``, ``d = 1 - p01 - p10`` from the qubit's confusion matrix),
  so ``E[r_a r_b] = c_a c_b + c_a d_b <Z_b> + d_a c_b <Z_a> + d_a d_b <Z_a Z_b>``. Readout
  mitigation with the exact readout model is the un-folding ``c = 0, d = 1``.
* **Structure once, points many.** The Clifford gates (``sx``, ``x``, ``cz``, ``rz`` by
  multiples of pi/2) are moved to the front once per circuit structure
  (``pauli_prop.evolve_through_cliffords``), the rest turned into the rotation form once
  (``circuit_to_rotation_gates``), and each rotation angle kept as a linear function of the
  circuit parameters; a point only sets the angles and calls the Rust propagation.
* **Causal cones.** Each pair's ``Z_a, Z_b, Z_a Z_b`` terms are propagated alone, through
  only the rotations and noise channels of the pair's causal cone in the rotation form
  (:class:`PairCone`: exact pruning, found once per circuit structure) and on the cone's
  qubits only. At p = 3 on Torino's 129-qubit graph a cone keeps 58 of 844 rotations on
  17 qubits on average (31 at most); one point at atol 1e-4 took 5 s against 41 s for
  the whole observable through the whole circuit (:mod:`backends.pauli_cones`).
* **Truncation.** Terms below ``atol`` are dropped (at most ``max_terms`` kept), per pair;
  the one-norm of everything dropped (an upper bound on the error of the value, loose at
  p = 3) is returned. :meth:`hybrid.pauli_oracle.PauliPropOracle.truncation_estimate`
  gives the a-posteriori estimate: the energy change under a tighter ``atol``.
* **Noise amplification.** ``noise_scale`` multiplies every rate (``"all"``) or the rates
  of two-qubit gates only (``"two_qubit"``: under the twirled noise exactly what folding
  each two-qubit gate ``s`` times does).

Under the twirled noise it is exact when nothing is truncated (``atol=0``); against the
full (non-Pauli) noise it drops the coherent and amplitude-damping parts of each error.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import Pauli, PauliList, SparsePauliOp

from .base import TargetError
from .circuits import IGNORED_OPS
from .pauli_cones import PairCone, entry_index, entry_masks, pair_cone

METHOD = "pauli-propagation"
#: Default truncation per QAOA depth: (atol, max_terms), both per pair (each pair's ``Z`` terms
#: are propagated alone through its causal cone). Measured on Torino's 129-node device graph
#: (tests/bench/bench_scale_oracles.py): p = 1, 2 truncate nothing that matters (one-norm
#: 8e-14 and 2.4e-13 of the energy dropped); at p = 3 the dropped one-norm (58 on an energy of
#: 100.4) is a loose bound, and the energy moves by 1.2e-5 of itself when atol is tightened
#: from 3e-5 to 3e-6 (an a-posteriori estimate of the truncation error, not a bound).
DEFAULT_TRUNCATION = {1: (1e-8, 2**20), 2: (1e-7, 2**21), 3: (3e-5, 2**21)}
NOISE_SCALINGS = ("all", "two_qubit")
#: Fidelities at or below this are not a Pauli-Lindblad channel (a broken gate).
MIN_FIDELITY = 1e-12
_CLIFFORD_RZ = {0: None, 1: "s", 2: "z", 3: "sdg"}


class BrokenChannelError(TargetError):
    """A gate whose twirled error has a Pauli fidelity <= 0: not a Pauli-Lindblad channel."""


def default_truncation(p: int) -> tuple[float, int]:
    """``(atol, max_terms)`` used for QAOA depth ``p`` (the deepest entry beyond the table)."""
    return DEFAULT_TRUNCATION.get(int(p), DEFAULT_TRUNCATION[max(DEFAULT_TRUNCATION)])


# ---------------------------------------------------------------------------- twirl
def pauli_labels(num_qubits: int) -> list[str]:
    """Non-identity Pauli labels on ``num_qubits`` qubits (qiskit order, qubit 0 rightmost)."""
    return ["".join(s) for s in itertools.product("IXYZ", repeat=num_qubits) if set(s) != {"I"}]


def error_superop(error: Any, num_qubits: int) -> np.ndarray:
    """The superoperator (row-major ``vec``) of an Aer ``QuantumError`` on ``num_qubits`` qubits.

    Built from the error's circuits directly (Pauli/unitary gates, ``kraus``, ``reset``):
    the same channel as ``qiskit.quantum_info.SuperOp(error)``, tens of times faster.
    """
    from qiskit.quantum_info import Operator

    dim = 2**num_qubits
    identity = Operator(np.eye(dim))
    total = np.zeros((dim * dim, dim * dim), dtype=complex)
    for circuit, prob in zip(error.circuits, error.probabilities):
        sup = np.eye(dim * dim, dtype=complex)
        for inst in circuit.data:
            name = inst.operation.name
            qargs = [circuit.find_bit(q).index for q in inst.qubits]
            if name in ("id", "barrier", "delay"):
                continue
            if name == "kraus":
                kraus = inst.operation.params
            elif name == "reset":
                kraus = [np.array([[1, 0], [0, 0]]), np.array([[0, 1], [0, 0]])]
            else:
                kraus = [inst.operation.to_matrix()]
            step = sum(np.kron(m, m.conj()) for m in (_embed(np.asarray(k, dtype=complex), qargs, num_qubits, identity)
                                                      for k in kraus))
            sup = step @ sup
        total += prob * sup
    return total


_SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=complex)


def _embed(mat: np.ndarray, qargs: list[int], num_qubits: int, identity: Any) -> np.ndarray:
    """``mat`` on ``qargs`` as a matrix on ``num_qubits`` qubits (qiskit's little-endian order)."""
    if list(qargs) == list(range(num_qubits)):
        return mat
    if num_qubits == 2 and len(qargs) == 1:
        return np.kron(np.eye(2), mat) if qargs[0] == 0 else np.kron(mat, np.eye(2))
    if num_qubits == 2 and list(qargs) == [1, 0]:
        return _SWAP @ mat @ _SWAP
    from qiskit.quantum_info import Operator

    return identity.compose(Operator(mat), qargs=qargs).data


def pauli_fidelities(error: Any, num_qubits: int) -> dict[str, float]:
    """``f_P = Re Tr(P E(P)) / d`` of a channel (an Aer ``QuantumError``) for every non-identity ``P``."""
    sup = error_superop(error, num_qubits)
    dim = 2**num_qubits
    out = {}
    for label in pauli_labels(num_qubits):
        vec = Pauli(label).to_matrix().ravel()
        out[label] = float(np.real(vec.conj() @ sup @ vec) / dim)
    return out


def _anticommute(a: str, b: str) -> int:
    return sum(x != "I" and y != "I" and x != y for x, y in zip(a, b)) % 2


@dataclass(frozen=True)
class TwirledChannel:
    """The Pauli twirl of one gate's error as Pauli-Lindblad ``rates`` over ``generators``."""

    gate: str
    qubits: tuple[int, ...]  # physical qubits (qiskit order: generator labels read right to left)
    generators: tuple[str, ...]
    rates: tuple[float, ...]
    min_fidelity: float

    def to_dict(self) -> dict[str, Any]:
        return {"gate": self.gate, "qubits": list(self.qubits), "generators": list(self.generators),
                "rates": list(self.rates), "min_fidelity": self.min_fidelity}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TwirledChannel":
        return cls(str(data["gate"]), tuple(int(q) for q in data["qubits"]), tuple(data["generators"]),
                   tuple(float(r) for r in data["rates"]), float(data["min_fidelity"]))

    def fidelities(self) -> dict[str, float]:
        """Pauli fidelities the rates give back (``exp(-2 sum of anticommuting rates)``)."""
        return {
            p: math.exp(-2 * sum(r for g, r in zip(self.generators, self.rates) if _anticommute(p, g)))
            for p in self.generators
        }

    def pauli_probabilities(self) -> list[tuple[str, float]]:
        """The twirled channel as Pauli-error probabilities (identity included)."""
        fid = {"I" * len(self.qubits): 1.0, **self.fidelities()}
        labels = list(fid)
        dim2 = len(labels)
        return [(q, sum(fid[p] * (-1) ** _anticommute(p, q) for p in labels) / dim2) for q in labels]


def twirl(gate: str, qubits: Sequence[int], error: Any) -> TwirledChannel:
    """The Pauli-Lindblad form of the twirl of ``error`` (after ``gate`` on physical ``qubits``).

    Raises :class:`BrokenChannelError` when a Pauli fidelity is ``<= 0``.
    """
    qubits = tuple(int(q) for q in qubits)
    fid = pauli_fidelities(error, len(qubits))
    labels = list(fid)
    worst = min(fid.values())
    if worst <= MIN_FIDELITY:
        where = "coupler" if len(qubits) == 2 else "qubit"
        raise BrokenChannelError(
            f"the error of {gate} on physical {where} {qubits} has Pauli fidelity {worst:.3g} <= 0 "
            "(the device marks it broken): it is no Pauli-Lindblad channel; leave that "
            f"{where} out of the graph (drop its edges from --graphs) or force method='noisy_cones'"
        )
    matrix = np.array([[_anticommute(p, g) for g in labels] for p in labels], dtype=float)
    rates = np.linalg.solve(2 * matrix, -np.log([fid[p] for p in labels]))
    return TwirledChannel(gate, qubits, tuple(labels), tuple(float(r) for r in rates), worst)


class TwirledNoise:
    """The twirled gate errors of a device (:class:`backends.noise.DeviceNoise`), computed once per gate."""

    _cache: dict[str, "TwirledNoise"] = {}

    def __init__(self, noise: Any):
        self.noise = noise
        self._channels: dict[tuple[str, tuple[int, ...]], TwirledChannel | None] = {}

    @classmethod
    def get(cls, device: str, noise: Any) -> "TwirledNoise":
        hit = cls._cache.get(device)
        if hit is None or hit.noise is not noise:
            hit = cls._cache[device] = cls(noise)
        return hit

    def channel(self, gate: str, qubits: tuple[int, ...]) -> TwirledChannel | None:
        key = (gate, tuple(qubits))
        if key not in self._channels:
            error = self.noise.gate_error(gate, key[1])
            self._channels[key] = None if error is None else twirl(gate, key[1], error)
        return self._channels[key]

    def readout(self, qubit: int) -> tuple[float, float]:
        """``(c, d)``: a measured ``z`` reads as ``c + d z`` in expectation."""
        conf = self.noise.confusion(qubit)
        if conf is None:
            return 0.0, 1.0
        p01, p10 = float(conf[0, 1]), float(conf[1, 0])
        return p10 - p01, 1.0 - p01 - p10

    def noise_model(self, active: Sequence[int]):
        """An Aer ``NoiseModel`` of the twirled gate errors on ``active`` qubits relabelled ``0..k-1``
        (no readout; the reference for exactness checks). Gates whose twirl is refused (broken
        couplers) are left out: :class:`PauliPropagation` refuses circuits that use them."""
        from qiskit_aer.noise import NoiseModel, QuantumError

        remap = {q: i for i, q in enumerate(active)}
        model = NoiseModel(basis_gates=self.noise.basis_gates)
        for name, qubits in list(self.noise.gate_errors):
            if name in ("reset", "measure", "delay") or not all(q in remap for q in qubits):
                continue
            try:
                chan = self.channel(name, qubits)
            except BrokenChannelError:
                continue
            if chan is not None:
                error = QuantumError([(Pauli(label), max(prob, 0.0)) for label, prob in chan.pauli_probabilities()])
                model.add_quantum_error(error, name, [remap[q] for q in qubits], warnings=False)
        return model


# ---------------------------------------------------------------------------- propagation
@dataclass(frozen=True)
class PropagationResult:
    """Energies ``sum_k w_k (1 - E[r_a r_b]_k) / 2`` of a batch and the truncated one-norm per point."""

    energies: np.ndarray
    truncated: np.ndarray  # one-norm of the dropped terms (bounds |error| of each energy)
    terms: np.ndarray  # terms left after propagation, per point
    wall_time: float


class PauliPropagation:
    """One ISA circuit structure prepared for Pauli propagation of a weighted ``Z_a Z_b`` sum.

    ``pairs``: physical qubits whose readout-folded ``<Z_a Z_b>`` enter the energy (a pair
    ``(a, a)``: the readout-folded ``<Z_a>`` of a field);
    ``parameter_names``: the order of the values given to :meth:`energies`.
    """

    def __init__(self, isa: QuantumCircuit, twirled: TwirledNoise, pairs: Sequence[tuple[int, int]],
                 *, parameter_names: Sequence[str]):
        from pauli_prop import circuit_to_rotation_gates, evolve_through_cliffords

        start = time.perf_counter()
        self.twirled = twirled
        self.parameter_names = tuple(parameter_names)
        index = {q: i for i, q in enumerate(isa.qubits)}
        body = [(inst.operation, tuple(index[q] for q in inst.qubits)) for inst in isa.data
                if inst.operation.name not in IGNORED_OPS and inst.operation.name != "measure"]
        touched = sorted({q for _, qs in body for q in qs} | {q for pair in pairs for q in pair})
        self.active = tuple(touched)
        local = {q: i for i, q in enumerate(self.active)}
        k = len(self.active)
        circuit = QuantumCircuit(k)
        self._slots: list[tuple[float, np.ndarray]] = []  # rz slot -> (c0, coeffs over parameters)
        column = {name: j for j, name in enumerate(self.parameter_names)}
        two_qubit_channel: list[bool] = []
        self.channels = 0
        for op, qubits in body:
            qs = [local[q] for q in qubits]
            name = op.name
            if name == "rz":
                self._append_rz(circuit, op.params[0], qs[0], column)
            elif name in ("sx", "x", "cz", "id", "z", "s", "sdg", "h", "cx", "ecr"):
                circuit.append(op, qs)
            else:
                raise TargetError(
                    f"Pauli propagation takes the device basis (rz, sx, x, cz) only; got {name} on {qubits}: "
                    "transpile to the device first"
                )
            chan = twirled.channel(name, qubits)
            if chan is not None:
                from qiskit_aer.noise import PauliLindbladError

                circuit.append(PauliLindbladError(PauliList(list(chan.generators)), list(chan.rates)), qs)
                two_qubit_channel.append(len(qubits) == 2)
                self.channels += 1
        self.clifford, rest = evolve_through_cliffords(circuit)
        self.rotations = circuit_to_rotation_gates(rest)
        self._two_qubit = np.array(two_qubit_channel, dtype=bool)
        self._base_rates = [list(r) for r in getattr(self.rotations, "rates", [])]
        # Each rotation angle as c0 + A @ slot values; slots are linear in the parameters.
        slot_params = {f"s{i}": i for i in range(len(self._slots))}
        offsets, rows = [], []
        for theta in self.rotations.thetas:
            c0, coeffs = _linear(theta, slot_params)
            offsets.append(c0)
            rows.append(coeffs)
        slot_c0 = np.array([s[0] for s in self._slots]) if self._slots else np.zeros(0)
        slot_a = np.array([s[1] for s in self._slots]) if self._slots else np.zeros((0, len(column)))
        rows = np.array(rows).reshape(len(offsets), len(self._slots))
        self._c0 = np.array(offsets) + rows @ slot_c0
        self._a = rows @ slot_a
        # Stabilisers of C|0>: a propagated Pauli has a nonzero value iff it commutes with all.
        zs = PauliList.from_symplectic(np.eye(k, dtype=bool), np.zeros((k, k), dtype=bool))
        stab = zs.evolve(self.clifford, frame="s")
        self._stab = np.hstack([stab.z, stab.x]).astype(np.float32)  # symplectic partner layout
        pairs = [(local[a], local[b]) for a, b in pairs]
        self.pairs = tuple(pairs)
        self._readout = [(twirled.readout(self.active[a]), twirled.readout(self.active[b])) for a, b in pairs]
        self._entries = entry_index(self.rotations)
        self._cones: list[PairCone] | None = None
        self.setup_time = time.perf_counter() - start

    def cones(self) -> list[PairCone]:
        """Each pair's causal cone in the rotation form (computed once, then cached)."""
        if self._cones is None:
            k = len(self.active)
            masks = entry_masks(self.rotations, self._entries, k)
            self._cones = [pair_cone(self.rotations, self._entries, masks, pair, k) for pair in self.pairs]
        return self._cones

    def _append_rz(self, circuit: QuantumCircuit, angle: Any, qubit: int, column: dict[str, int]) -> None:
        if not list(getattr(angle, "parameters", ())):
            quarter = float(angle) / (math.pi / 2)
            if abs(quarter - round(quarter)) < 1e-9:  # a Clifford (up to a global phase)
                gate = _CLIFFORD_RZ[int(round(quarter)) % 4]
                if gate is not None:
                    getattr(circuit, gate)(qubit)
                return
        c0, coeffs = _linear(angle, column)
        slot = Parameter(f"s{len(self._slots)}")
        self._slots.append((c0, coeffs))
        circuit.rz(slot, qubit)

    # ------------------------------------------------------------------ evaluation
    def observable(self, weights: Sequence[float], readout: bool = True) -> tuple[SparsePauliOp, float]:
        """``(O, const)`` with energy ``= const + <O>``; ``readout=False`` un-folds the readout (exact REM)."""
        k = len(self.active)
        labels, coeffs, const = [], [], 0.0
        for (a, b), ((ca, da), (cb, db)), w in zip(self.pairs, self._readout, weights):
            if not readout:
                ca, da, cb, db = 0.0, 1.0, 0.0, 1.0
            if a == b:  # a field: w (1 - <Z_a>) / 2, read <Z_a> = c + d <Z_a>
                const += w / 2 * (1 - ca)
                if da != 0.0:
                    chars = ["I"] * k
                    chars[k - 1 - a] = "Z"
                    labels.append("".join(chars))
                    coeffs.append(-w / 2 * da)
                continue
            const += w / 2 * (1 - ca * cb)
            for support, coeff in (((a,), da * cb), ((b,), ca * db), ((a, b), da * db)):
                if coeff != 0.0:
                    chars = ["I"] * k
                    for q in support:
                        chars[k - 1 - q] = "Z"
                    labels.append("".join(chars))
                    coeffs.append(-w / 2 * coeff)
        return SparsePauliOp(labels, coeffs).simplify(atol=0.0), const

    def _scaled_rates(self, noise_scale: float, scaling: str) -> list[list[float]] | None:
        """Every noise channel's rates times ``noise_scale`` (``None``: unscaled)."""
        if not self._base_rates or noise_scale == 1.0:
            return None
        return [[r * noise_scale for r in base] if (scaling == "all" or two) else list(base)
                for base, two in zip(self._base_rates, self._two_qubit)]

    def _rotations_at(self, point: np.ndarray, noise_scale: float, scaling: str):
        fields: dict[str, Any] = {"thetas": (self._c0 + self._a @ point).tolist()}
        rates = self._scaled_rates(noise_scale, scaling)
        if rates is not None:
            fields["rates"] = rates
        return self.rotations._replace(**fields)

    def expectation(self, operator: SparsePauliOp, qubits: Sequence[int] | None = None) -> float:
        """``<0| C^dag O C |0>`` for the Clifford prefix ``C``; ``qubits``: the active qubits ``O`` is written on."""
        paulis = operator.paulis
        stab = self._stab
        if qubits is not None:
            k = len(self.active)
            q = np.asarray(qubits)
            stab = stab[:, np.concatenate([q, q + k])]
        sym = np.hstack([paulis.x, paulis.z]).astype(np.float32)
        keep = ~np.any(np.mod(sym @ stab.T, 2) > 0.5, axis=1)
        if not keep.any():
            return 0.0
        kept = paulis[keep]
        if qubits is not None:
            full_x = np.zeros((len(kept), len(self.active)), dtype=bool)
            full_z = np.zeros_like(full_x)
            full_x[:, qubits], full_z[:, qubits] = kept.x, kept.z
            kept = PauliList.from_symplectic(full_z, full_x, kept.phase)
        kept = kept.evolve(self.clifford, frame="h")
        if np.any(kept.x):
            raise TargetError("Pauli propagation: a stabiliser check disagrees with the Clifford frame")
        sign = np.where(kept.phase == 2, -1.0, 1.0)
        return float(np.real(operator.coeffs[keep]) @ sign)

    def _pair_terms(self, index: int, weight: float, readout: bool) -> tuple[list[tuple[tuple[int, ...], float]], float]:
        """Pair ``index``'s share of the energy: ``(Z-terms on active qubits, constant)``."""
        (a, b), ((ca, da), (cb, db)) = self.pairs[index], self._readout[index]
        if not readout:
            ca, da, cb, db = 0.0, 1.0, 0.0, 1.0
        if a == b:  # a field: w (1 - <Z_a>) / 2, read <Z_a> = c + d <Z_a>
            return ([((a,), -weight / 2 * da)] if da != 0.0 else []), weight / 2 * (1 - ca)
        terms = [(support, -weight / 2 * coeff)
                 for support, coeff in (((a,), da * cb), ((b,), ca * db), ((a, b), da * db)) if coeff != 0.0]
        return terms, weight / 2 * (1 - ca * cb)

    def energies(self, values: np.ndarray, weights: Sequence[float], *, atol: float, max_terms: int,
                 readout: bool = True, noise_scale: float = 1.0, scaling: str = "all",
                 per_pair: bool = True) -> PropagationResult:
        """Energies of points ``values`` ``(B, len(parameter_names))``.

        ``per_pair`` (default): each pair's ``Z`` terms are propagated alone through its
        causal cone (:class:`PairCone`, exact pruning) on the cone's qubits; truncation
        (``atol``, ``max_terms``) applies per pair and the truncated one-norms add up.
        ``per_pair=False`` propagates the whole observable through the whole circuit.
        """
        if scaling not in NOISE_SCALINGS:
            raise TargetError(f"noise scaling must be one of {', '.join(NOISE_SCALINGS)}, got {scaling!r}")
        if not (math.isfinite(noise_scale) and noise_scale >= 0):
            raise TargetError(f"noise_scale must be a finite number >= 0, got {noise_scale!r}")
        start = time.perf_counter()
        values = np.atleast_2d(np.asarray(values, float))
        run = self._point_by_pairs if per_pair else self._point_whole
        energies, truncated, terms = zip(*(run(point, weights, atol, max_terms, readout, noise_scale, scaling)
                                           for point in values)) if len(values) else ((), (), ())
        return PropagationResult(np.array(energies, float), np.array(truncated, float), np.array(terms, int),
                                 time.perf_counter() - start)

    def _point_whole(self, point, weights, atol, max_terms, readout, noise_scale, scaling):
        from pauli_prop import propagate_through_rotation_gates

        operator, const = self.observable(weights, readout)
        rot = self._rotations_at(point, noise_scale, scaling)
        with warnings.catch_warnings():  # pauli-prop casts the (real) complex coefficients to float
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            out, cut = propagate_through_rotation_gates(operator, rot, int(max_terms), float(atol), "h")
        return const + self.expectation(out), float(cut), len(out)

    def _point_by_pairs(self, point, weights, atol, max_terms, readout, noise_scale, scaling):
        from pauli_prop import propagate_through_rotation_gates

        thetas = self._c0 + self._a @ point
        rates = self._scaled_rates(noise_scale, scaling)
        energy, cut_total, count = 0.0, 0.0, 0
        for index, (cone, w) in enumerate(zip(self.cones(), weights)):
            zterms, const = self._pair_terms(index, float(w), readout)
            energy += const
            if not zterms:
                continue
            local = {q: i for i, q in enumerate(cone.qubits)}
            m = cone.size
            labels = []
            for support, _ in zterms:
                chars = ["I"] * m
                for q in support:
                    chars[m - 1 - local[q]] = "Z"
                labels.append("".join(chars))
            operator = SparsePauliOp(labels, [c for _, c in zterms])
            fields: dict[str, Any] = {"thetas": thetas[cone.rotations].tolist()}
            if rates is not None and cone.noisy:
                fields["rates"] = [rates[j] for j in cone.channels]
            rot = cone.local._replace(**fields)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
                out, cut = propagate_through_rotation_gates(operator, rot, int(max_terms), float(atol), "h")
            energy += self.expectation(out, cone.qubits)
            cut_total += float(cut)
            count += len(out)
        return energy, cut_total, count

    def describe(self) -> dict[str, Any]:
        return {"method": METHOD, "qubits": len(self.active), "rotations": len(self.rotations.thetas),
                "noise_channels": self.channels, "twirled": True, "setup_seconds": self.setup_time}


def _linear(expr: Any, column: dict[str, int]) -> tuple[float, np.ndarray]:
    """``expr = c0 + coeffs @ values`` for an angle linear in the named parameters."""
    coeffs = np.zeros(len(column))
    params = list(getattr(expr, "parameters", ()))
    if not params:
        return float(np.real(complex(expr))), coeffs
    zero = {p: 0.0 for p in params}
    c0 = float(np.real(complex(expr.bind(zero))))
    for p in params:
        coeffs[column[p.name]] = float(np.real(complex(expr.bind({**zero, p: 1.0})))) - c0
    probe = {p: 0.37 * (i + 1) for i, p in enumerate(params)}
    got = float(np.real(complex(expr.bind(probe))))
    if abs(got - c0 - sum(coeffs[column[p.name]] * v for p, v in probe.items())) > 1e-9:
        raise TargetError(f"gate angle {expr} is not linear in the circuit parameters; Pauli propagation needs linear angles")
    return c0, coeffs
