"""Noisy light cones: exact noisy ``<Z_a Z_b>`` of measured qubit pairs without the whole density matrix.

Under a gate-local noise model (Aer's: each gate followed by its error channel on the
gate's qubits; readout applied to the outcome), a two-qubit observable measured at the
end depends only on the *causal cone* of its qubits: walking the ISA circuit backwards
from ``{a, b}``, every instruction that touches the cone so far is kept and adds its
qubits. Instructions outside it act on the identity in the Heisenberg picture, and every
error channel is trace preserving, so they drop out exactly. Each pair's cone is
simulated as a density matrix of its qubits only, with every kept gate followed by the
device's error for that gate on those physical qubits (the same channel Aer's noise
model applies), and the readout confusion of ``a`` and ``b`` applied to the 2-qubit
marginal. That equals the whole-circuit exact density matrix to rounding. A pair ``(a, a)``
stands for the single-qubit ``<Z_a>`` (the fields of Ising problems), with ``a``'s readout.

The cone is causal, not logical: noise channels do not commute with the cost gates, so
gates that commute ideally still spread the cone. The cost gates of hardware-native
graphs are therefore ordered by edge colour (:func:`hybrid.ansatz.layer_edges`), which
keeps the causal cones of a 133-qubit heavy-hex p = 1 circuit at <= 11 qubits. A cone
above ``max_exact_qubits`` is replaced by the given fallback region (the logical light
cone: nodes within distance p in the graph) with every instruction inside it kept and
those that cross its border dropped: exact without noise, and off only by the noise of
the dropped border gates. Which pairs were exact is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import Kraus

from .base import TargetError
from .circuits import IGNORED_OPS
from .progress import progress_bar

#: Largest causal cone simulated as an exact density matrix (16 * 4^k bytes: 16 MiB at 10).
NOISY_CONE_MAX_QUBITS = 10
#: Largest fallback region (density matrix of 4 GiB at 14).
NOISY_CONE_FALLBACK_MAX_QUBITS = 14

METHOD = "noisy-light-cone"
#: Bytes of density matrices simulated at once (points of a batch are split to stay below).
_CHUNK_BYTES = 2**27


@dataclass(frozen=True)
class PairCone:
    """The qubits simulated for one measured pair and whether the cone is exact."""

    pair: tuple[int, int]  # physical qubits whose <Z Z> is wanted (<Z_a> when both are a)
    qubits: tuple[int, ...]  # physical qubits simulated (sorted)
    exact: bool  # the whole causal cone (else a fallback region with border gates dropped)
    causal_size: int | None  # qubits of the causal cone when it was followed to its end

    def to_dict(self) -> dict[str, Any]:
        return {"pair": list(self.pair), "qubits": list(self.qubits), "exact": self.exact, "causal_size": self.causal_size}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PairCone":
        return cls(tuple(data["pair"]), tuple(data["qubits"]), bool(data["exact"]), data.get("causal_size"))


def body_instructions(isa: QuantumCircuit) -> list[tuple[Any, tuple[int, ...]]]:
    """``(operation, physical qubits)`` of every instruction before the final measurements."""
    index = {q: i for i, q in enumerate(isa.qubits)}
    out = []
    for inst in isa.data:
        name = inst.operation.name
        if name in IGNORED_OPS or name == "measure":
            continue
        out.append((inst.operation, tuple(index[q] for q in inst.qubits)))
    return out


def causal_cone(ops: Sequence[tuple[Any, tuple[int, ...]]], pair: tuple[int, int], limit: int) -> tuple[int, ...] | None:
    """Qubits of the backward causal cone of ``pair`` (None once it exceeds ``limit``)."""
    support = set(pair)
    for _, qubits in reversed(ops):
        if len(qubits) > 1 and support.intersection(qubits):
            support.update(qubits)
            if len(support) > limit:
                return None
    return tuple(sorted(support))


class NoisyCones:
    """Noisy light cones of one ISA circuit for a list of measured physical pairs.

    Each cone is a small density matrix simulated here in torch (batched over parameter
    points, differentiable): every kept gate becomes one superoperator, the gate followed
    by the device's error channel for it (Kraus operators from the noise model), and
    ``rz`` gates (virtual, error free on IBM devices) are phases applied in place.
    """

    def __init__(
        self,
        isa: QuantumCircuit,
        noise,  # backends.noise.DeviceNoise
        pairs: Sequence[tuple[int, int]],
        *,
        parameter_names: Sequence[str],
        fallback: Sequence[Sequence[int]] | None = None,
        max_exact_qubits: int = NOISY_CONE_MAX_QUBITS,
        max_fallback_qubits: int = NOISY_CONE_FALLBACK_MAX_QUBITS,
    ):
        self.ops = body_instructions(isa)
        self.noise = noise
        self.parameter_names = tuple(parameter_names)
        self._errors: dict[tuple, Any] = {}
        self._superops: dict[tuple, torch.Tensor] = {}
        self.cones: list[PairCone] = []
        with progress_bar("noisy light cones: finding cones", len(pairs)) as bar:
            for k, (a, b) in enumerate(pairs):
                self.cones.append(self._cone(k, (a, b), fallback, max_exact_qubits, max_fallback_qubits))
                bar.advance()
        with progress_bar("noisy light cones: compiling", len(self.cones)) as bar:
            self.programs = []
            for c in self.cones:
                self.programs.append(self._program(c))
                bar.advance()
        self.confusion = [
            torch.as_tensor(
                np.stack([np.eye(2) if m is None else m for m in (noise.confusion(c.pair[0]), noise.confusion(c.pair[1]))]),
                dtype=torch.float64,
            )
            for c in self.cones
        ]

    def _cone(self, k, pair, fallback, max_exact_qubits, max_fallback_qubits) -> PairCone:
        """The exact causal cone of ``pair`` (physical qubits), else its fallback region ``fallback[k]``."""
        a, b = pair
        cone = causal_cone(self.ops, (a, b), max_exact_qubits)
        if cone is not None:
            return PairCone((a, b), cone, True, len(cone))
        region = tuple(sorted(set(fallback[k]) | {a, b})) if fallback is not None else None
        if region is None or len(region) > max_fallback_qubits:
            size = None if region is None else len(region)
            raise TargetError(
                f"the noisy light cone of physical qubits ({a}, {b}) has more than "
                f"{max_exact_qubits} qubits (max_exact_qubits) and "
                + ("no fallback region was given" if size is None else f"its logical light cone has {size} > {max_fallback_qubits}")
                + "; lower p, or sample with shots (noiseless MPS samples with readout error)"
            )
        return PairCone((a, b), region, False, None)

    @property
    def all_exact(self) -> bool:
        return all(c.exact for c in self.cones)

    @property
    def largest(self) -> int:
        return max(len(c.qubits) for c in self.cones)

    # ---------------------------------------------------------------- compilation
    def _error_kraus(self, name: str, qubits: tuple[int, ...]):
        key = (name, qubits)
        if key not in self._errors:
            error = self.noise.gate_error(name, qubits)
            self._errors[key] = None if error is None else Kraus(error).data
        return self._errors[key]

    def _superop(self, op, qubits: tuple[int, ...]) -> torch.Tensor:
        """Gate then error, as a superoperator on row-major ``vec(rho)``, qiskit's qubit order in the index."""
        key = (op.name, tuple(float(x) for x in op.params), qubits)
        hit = self._superops.get(key)
        if hit is not None:
            return hit
        u = np.asarray(op.to_matrix(), dtype=complex)
        sup = np.kron(u, u.conj())
        kraus = self._error_kraus(op.name, qubits)
        if kraus is not None:
            sup = sum(np.kron(k, k.conj()) for k in kraus) @ sup
        tensor = torch.as_tensor(sup, dtype=torch.complex128)
        self._superops[key] = tensor
        return tensor

    def _program(self, cone: PairCone) -> list[tuple]:
        """Steps ``("sup", local qubits, superop)`` or ``("rz", local qubit, c0, coeffs)``."""
        remap = {q: i for i, q in enumerate(cone.qubits)}
        column = {name: j for j, name in enumerate(self.parameter_names)}
        steps: list[tuple] = []
        for op, qubits in self.ops:
            if not all(q in remap for q in qubits):
                continue
            local = tuple(remap[q] for q in qubits)
            if op.name == "rz" and self._error_kraus("rz", qubits) is None:
                c0, coeffs = _linear_angle(op.params[0], column)
                steps.append(("rz", local[0], c0, coeffs))
                continue
            if any(getattr(x, "parameters", None) for x in op.params):
                raise TargetError(
                    f"noisy light cones need parameters only in rz gates; {op.name} on {qubits} has "
                    f"{op.params}: transpile to the device basis (rz, sx, x, cz) first"
                )
            steps.append(("sup", local, self._superop(op, qubits)))
        steps.append(("measure", (remap[cone.pair[0]], remap[cone.pair[1]])))
        return steps

    # ---------------------------------------------------------------- simulation
    def zz_torch(self, theta: torch.Tensor) -> torch.Tensor:
        """``<Z_a Z_b>`` with readout error, ``(B, pairs)``, differentiable in ``theta`` (B, P)."""
        theta = torch.as_tensor(theta, dtype=torch.float64)
        columns = []
        with progress_bar("noisy light cones", len(self.cones)) as bar:
            for prog, cone, conf in zip(self.programs, self.cones, self.confusion):
                rows = max(1, _CHUNK_BYTES // (16 * 4 ** len(cone.qubits)))  # points per density-matrix batch
                parts = [self._run(prog, len(cone.qubits), theta[lo : lo + rows], conf) for lo in range(0, theta.shape[0], rows)]
                columns.append(torch.cat(parts))
                bar.advance()
        return torch.stack(columns, dim=1)

    def energy_and_grad(self, theta: np.ndarray, weights: np.ndarray) -> tuple[float, np.ndarray]:
        """``sum_k w_k (1 - <Z Z>_k) / 2`` and its gradient at one point ``theta`` (P,).

        One backward pass per cone, so memory holds one cone's autograd graph at a time.
        """
        value, grad = 0.0, np.zeros(len(self.parameter_names))
        with progress_bar("noisy light cones (gradient)", len(self.cones)) as bar:
            for prog, cone, conf, w in zip(self.programs, self.cones, self.confusion, weights):
                t = torch.tensor(np.asarray(theta, float)[None, :], requires_grad=True)
                with torch.enable_grad():
                    part = float(w) * (1 - self._run(prog, len(cone.qubits), t, conf)[0]) / 2
                    (g,) = torch.autograd.grad(part, t)
                value += float(part.detach())
                grad += g[0].numpy()
                bar.advance()
        return value, grad

    def zz(self, names: Sequence[str], values: np.ndarray) -> np.ndarray:
        """Numpy front end of :meth:`zz_torch` for points ``values`` ordered as ``names``."""
        column = {name: j for j, name in enumerate(names)}
        order = [column[name] for name in self.parameter_names]
        with torch.no_grad():
            return self.zz_torch(torch.as_tensor(np.asarray(values, float)[:, order])).numpy()

    @staticmethod
    def _run(program, k: int, theta: torch.Tensor, confusion: torch.Tensor) -> torch.Tensor:
        """Simulate one cone: steps fused greedily into blocks of at most two qubits, each one matmul."""
        batch = theta.shape[0]
        dim = 2**k
        rho = torch.zeros((batch, dim * dim), dtype=torch.complex128)
        rho[:, 0] = 1.0
        rho = rho.reshape((batch,) + (2,) * (2 * k))
        block: tuple[tuple[int, ...], torch.Tensor] | None = None
        for step in program:
            kind = step[0]
            if kind == "measure":
                if block is not None:
                    rho = _apply(rho, k, *block)
                return _pair_zz(rho, k, step[1], confusion)
            if kind == "rz":
                _, j, c0, coeffs = step
                phase = torch.exp(-1j * (c0 + theta @ coeffs).to(torch.complex128))  # (B,)
                one = torch.ones_like(phase)
                qubits, mat = (j,), torch.diag_embed(torch.stack([one, phase, phase.conj(), one], 1))
            else:
                qubits, mat = step[1], step[2].unsqueeze(0)
            if block is None:
                block = (qubits, mat)
                continue
            union = tuple(sorted(set(block[0]) | set(qubits)))
            if len(union) > 2:
                rho = _apply(rho, k, *block)
                block = (qubits, mat)
                continue
            block = (union, _embed(mat, qubits, union) @ _embed(block[1], block[0], union))
        raise TargetError("a noisy light-cone program has no final measurement")

    def describe(self) -> dict[str, Any]:
        return {
            "method": METHOD,
            "pairs": len(self.cones),
            "exact_pairs": sum(c.exact for c in self.cones),
            "largest_cone_qubits": self.largest,
            "all_exact": self.all_exact,
        }


def _apply(rho: torch.Tensor, k: int, qubits: tuple[int, ...], sup: torch.Tensor) -> torch.Tensor:
    """Apply a superoperator on ``qubits`` (row-major vec, qiskit's little-endian index) to ``rho``.

    Local qubit ``j`` is axis ``k - j`` (rows) and ``2k - j`` (columns); the gate's axes are
    taken last qubit first, so the flattened index matches the superoperator's.
    """
    batch, m = rho.shape[0], len(qubits)
    axes = [k - j for j in reversed(qubits)] + [2 * k - j for j in reversed(qubits)]
    rest = [a for a in range(1, 2 * k + 1) if a not in axes]
    order = [0] + axes + rest
    moved = rho.permute(order)
    out = torch.matmul(sup, moved.reshape(batch, 4**m, -1)).reshape(moved.shape)
    return out.permute(np.argsort(order).tolist())


_EYE2 = torch.eye(2, dtype=torch.complex128)


def _embed(mat: torch.Tensor, qubits: tuple[int, ...], union: tuple[int, ...]) -> torch.Tensor:
    """A (B, 4^m, 4^m) superoperator on ``qubits`` as one on ``union`` (sorted, 1 or 2 qubits)."""
    if tuple(qubits) == tuple(union):
        return mat
    batch = mat.shape[0]
    if len(union) == 2 and len(qubits) == 2:  # same pair, other order: swap the two qubits
        t = mat.reshape(batch, *(2,) * 8)
        return t.permute(0, 2, 1, 4, 3, 6, 5, 8, 7).reshape(batch, 16, 16)
    s1 = mat.reshape(batch, 2, 2, 2, 2)  # (r', c', r, c)
    if qubits[0] == union[0]:  # the low qubit: index (r1, r0, c1, c0) with q0 = union[0]
        t = torch.einsum("AB,CD,zEFGH->zAECFBGDH", _EYE2, _EYE2, s1)
    else:
        t = torch.einsum("AB,CD,zEFGH->zEAFCGBHD", _EYE2, _EYE2, s1)
    return t.reshape(batch, 16, 16)


def _pair_zz(rho: torch.Tensor, k: int, pair: tuple[int, int], confusion: torch.Tensor) -> torch.Tensor:
    """``<Z_a Z_b>`` of local qubits ``pair`` after the readout confusion of each (``<Z_a>`` when ``a == b``)."""
    batch, dim = rho.shape[0], 2**k
    ja, jb = pair
    diag = torch.diagonal(rho.reshape(batch, dim, dim), dim1=1, dim2=2).real
    bits = diag.reshape((batch,) + (2,) * k)  # axis k - j is qubit j
    if ja == jb:
        others = [a for a in range(1, k + 1) if a != k - ja]
        marginal = bits.sum(dim=others) if others else bits
        read = marginal @ confusion[0]
        return read[:, 0] - read[:, 1]
    keep = [k - ja, k - jb]
    others = [a for a in range(1, k + 1) if a not in keep]
    joint = bits.sum(dim=others) if others else bits
    if keep[0] > keep[1]:
        joint = joint.transpose(1, 2)  # rows: qubit a, columns: qubit b
    read = torch.einsum("bxy,xr,ys->brs", joint, confusion[0], confusion[1])
    return read[:, 0, 0] + read[:, 1, 1] - read[:, 0, 1] - read[:, 1, 0]


def _linear_angle(expr, column: dict[str, int]) -> tuple[float, torch.Tensor]:
    """``angle = c0 + coeffs @ theta`` for a gate angle linear in the circuit parameters."""
    coeffs = torch.zeros(len(column), dtype=torch.float64)
    params = list(getattr(expr, "parameters", ()))
    if not params:
        return float(expr), coeffs
    zero = {p: 0.0 for p in params}
    c0 = float(expr.bind(zero))
    for p in params:
        coeffs[column[p.name]] = float(expr.bind({**zero, p: 1.0})) - c0
    probe = {p: 0.37 * (i + 1) for i, p in enumerate(params)}
    if abs(float(expr.bind(probe)) - c0 - sum(float(coeffs[column[p.name]]) * v for p, v in probe.items())) > 1e-9:
        raise TargetError(f"gate angle {expr} is not linear in the circuit parameters; noisy light cones need linear angles")
    return c0, coeffs
