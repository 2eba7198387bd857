"""A small differentiable statevector simulator in torch, for the models' quantum layers.

Conventions (the same as Qiskit's ``Statevector``):

* a state on ``n`` qubits is a complex tensor of shape ``(*batch, 2**n)``;
* **qubit ``i`` is bit ``i`` of the basis-state index** (little-endian): amplitude
  ``k`` belongs to ``|b_{n-1} ... b_1 b_0>`` with ``k = sum_i b_i 2**i``; as a Kronecker
  product the state is ``q_{n-1} (x) ... (x) q_1 (x) q_0``;
* gates have Qiskit's definitions:
  ``RX(t) = [[c, -i s], [-i s, c]]``, ``RY(t) = [[c, -s], [s, c]]``,
  ``RZ(t) = diag(exp(-i t/2), exp(i t/2))`` with ``c = cos(t/2)``, ``s = sin(t/2)``;
  ``CNOT(control, target)`` flips bit ``target`` where bit ``control`` is 1.

Every function broadcasts over leading batch dimensions: angles of shape ``(*a)`` act
on states of shape ``(*b, 2**n)`` with ``*a`` and ``*b`` broadcastable, so one call can
run many circuits (batch elements, LSTM gates, ...) with different angles at once.

Single-qubit gates are applied by reshaping the state to ``(*batch, 2**(n-q-1), 2,
2**q)`` and multiplying by the ``2 x 2`` matrix; no ``2**n x 2**n`` matrix is ever
formed. A layer of CNOTs is one index permutation, Pauli-Z expectations are one
matrix product with a ``(2**n, n)`` table of signs. Real angles of dtype float32
(float64) give complex64 (complex128) states. Nothing here is tied to a device:
helper tensors are created on the device of the input and cached per device.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import torch

__all__ = [
    "complex_dtype",
    "num_qubits",
    "zero_state",
    "rx_matrix",
    "ry_matrix",
    "rz_matrix",
    "hadamard_matrix",
    "apply_1q",
    "apply_layer",
    "rx",
    "ry",
    "rz",
    "cnot",
    "ring_pairs",
    "cnot_ring",
    "apply_permutation",
    "product_state",
    "angle_encoding",
    "amplitude_encoding",
    "probabilities",
    "z_expectations",
    "inner",
    "overlap",
    "fidelity_matrix",
]


# ---------------------------------------------------------------------------- basics
def complex_dtype(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype matching a real (or complex) ``dtype``."""
    if dtype in (torch.complex64, torch.complex128):
        return dtype
    if dtype == torch.float64:
        return torch.complex128
    if dtype in (torch.float32, torch.float16, torch.bfloat16):
        return torch.complex64
    raise ValueError(f"dtype must be a float or complex torch dtype, got {dtype}")


def num_qubits(state: torch.Tensor) -> int:
    """Number of qubits of a state of shape ``(*batch, 2**n)``."""
    dim = state.shape[-1]
    n = dim.bit_length() - 1
    if dim < 2 or (1 << n) != dim:
        raise ValueError(f"state's last dimension must be a power of 2 (>= 2), got {dim}")
    return n


def zero_state(
    n_qubits: int,
    batch_shape: Sequence[int] = (),
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``|0...0>`` of shape ``(*batch_shape, 2**n_qubits)``; ``dtype`` real or complex."""
    if n_qubits < 1:
        raise ValueError(f"n_qubits must be >= 1, got {n_qubits}")
    state = torch.zeros(*batch_shape, 1 << n_qubits, dtype=complex_dtype(dtype), device=device)
    state[..., 0] = 1
    return state


def _to_complex(x: torch.Tensor) -> torch.Tensor:
    return x if x.is_complex() else x.to(complex_dtype(x.dtype))


# ---------------------------------------------------------------------------- gate matrices
def _half_angle(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if theta.is_complex():
        raise ValueError("rotation angles must be real tensors")
    return torch.cos(theta / 2), torch.sin(theta / 2)


def rx_matrix(theta: torch.Tensor) -> torch.Tensor:
    """``RX(theta)`` as a complex tensor of shape ``(*theta.shape, 2, 2)``."""
    c, s = _half_angle(theta)
    zero = torch.zeros_like(c)
    real = torch.stack([c, zero, zero, c], -1)
    imag = torch.stack([zero, -s, -s, zero], -1)
    return torch.complex(real, imag).reshape(*theta.shape, 2, 2)


def ry_matrix(theta: torch.Tensor) -> torch.Tensor:
    """``RY(theta)`` as a complex tensor of shape ``(*theta.shape, 2, 2)``."""
    c, s = _half_angle(theta)
    return _to_complex(torch.stack([c, -s, s, c], -1)).reshape(*theta.shape, 2, 2)


def rz_matrix(theta: torch.Tensor) -> torch.Tensor:
    """``RZ(theta)`` as a complex tensor of shape ``(*theta.shape, 2, 2)``."""
    c, s = _half_angle(theta)
    zero = torch.zeros_like(c)
    real = torch.stack([c, zero, zero, c], -1)
    imag = torch.stack([-s, zero, zero, s], -1)
    return torch.complex(real, imag).reshape(*theta.shape, 2, 2)


def hadamard_matrix(*, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """The Hadamard gate, ``(2, 2)`` complex."""
    h = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=torch.float64) / math.sqrt(2.0)
    return h.to(device=device, dtype=complex_dtype(dtype))


# ---------------------------------------------------------------------------- applying gates
def apply_1q(state: torch.Tensor, matrix: torch.Tensor, qubit: int) -> torch.Tensor:
    """Apply a single-qubit gate ``matrix`` (``(*a, 2, 2)``) to ``qubit`` of ``state`` (``(*b, 2**n)``)."""
    n = num_qubits(state)
    if not 0 <= qubit < n:
        raise ValueError(f"qubit must be in [0, {n}), got {qubit}")
    dim = state.shape[-1]
    psi = state.reshape(*state.shape[:-1], dim >> (qubit + 1), 2, 1 << qubit)
    out = torch.matmul(matrix.unsqueeze(-3), psi)
    return out.reshape(*out.shape[:-3], dim)


def apply_layer(state: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """Apply ``matrices[..., q, :, :]`` to qubit ``q`` for every qubit (``matrices``: ``(*a, n, 2, 2)``)."""
    n = num_qubits(state)
    if matrices.shape[-3] != n:
        raise ValueError(f"need one 2x2 matrix per qubit ({n}), got shape {tuple(matrices.shape)}")
    for q in range(n):
        state = apply_1q(state, matrices[..., q, :, :], q)
    return state


def rx(state: torch.Tensor, theta: torch.Tensor, qubit: int) -> torch.Tensor:
    """``RX(theta)`` on ``qubit``."""
    return apply_1q(state, rx_matrix(theta), qubit)


def ry(state: torch.Tensor, theta: torch.Tensor, qubit: int) -> torch.Tensor:
    """``RY(theta)`` on ``qubit``."""
    return apply_1q(state, ry_matrix(theta), qubit)


def rz(state: torch.Tensor, theta: torch.Tensor, qubit: int) -> torch.Tensor:
    """``RZ(theta)`` on ``qubit``."""
    return apply_1q(state, rz_matrix(theta), qubit)


@lru_cache(maxsize=None)
def _cnot_perm_cpu(n: int, pairs: tuple[tuple[int, int], ...]) -> torch.Tensor:
    """Index map ``new[k] = old[perm[k]]`` of the CNOT sequence ``pairs`` (applied in order)."""
    idx = torch.arange(1 << n)
    perm = idx.clone()
    for control, target in pairs:
        if not (0 <= control < n and 0 <= target < n) or control == target:
            raise ValueError(f"CNOT needs distinct qubits in [0, {n}), got ({control}, {target})")
        gate = idx ^ (((idx >> control) & 1) << target)
        perm = perm[gate]
    return perm


@lru_cache(maxsize=None)
def _cnot_perm(n: int, pairs: tuple[tuple[int, int], ...], device: torch.device) -> torch.Tensor:
    return _cnot_perm_cpu(n, pairs).to(device)


def apply_permutation(state: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """``new[..., k] = state[..., perm[k]]``."""
    return state.index_select(-1, perm)


def cnot(state: torch.Tensor, control: int, target: int) -> torch.Tensor:
    """``CNOT(control, target)``."""
    n = num_qubits(state)
    return apply_permutation(state, _cnot_perm(n, ((control, target),), state.device))


def ring_pairs(n_qubits: int) -> tuple[tuple[int, int], ...]:
    """The entangling ring, in order: ``CNOT(0,1), CNOT(1,2), ..., CNOT(n-1, 0)``.

    One qubit has no CNOT; two qubits have the single ``CNOT(0, 1)`` (a second
    ``CNOT(1, 0)`` would make the ring a SWAP-like pair of the same two qubits).
    """
    if n_qubits < 2:
        return ()
    if n_qubits == 2:
        return ((0, 1),)
    return tuple((i, (i + 1) % n_qubits) for i in range(n_qubits))


def cnot_ring(state: torch.Tensor) -> torch.Tensor:
    """The CNOT ring of :func:`ring_pairs`, as one permutation."""
    n = num_qubits(state)
    pairs = ring_pairs(n)
    if not pairs:
        return state
    return apply_permutation(state, _cnot_perm(n, pairs, state.device))


# ---------------------------------------------------------------------------- encodings
def product_state(single: torch.Tensor) -> torch.Tensor:
    """``q_{n-1} (x) ... (x) q_0`` from single-qubit states ``single`` of shape ``(*b, n, 2)``."""
    single = _to_complex(single)
    n = single.shape[-2]
    state = single[..., 0, :]
    for q in range(1, n):
        state = (single[..., q, :].unsqueeze(-1) * state.unsqueeze(-2)).flatten(-2)
    return state


_ROTATIONS = {"rx": rx_matrix, "ry": ry_matrix, "rz": rz_matrix}


def angle_encoding(x: torch.Tensor, rotation: str = "ry") -> torch.Tensor:
    """``(x) _q R(x_q) |0>`` for ``x`` of shape ``(*b, n)``: the circuit ``R(x_q)`` on each qubit ``q``.

    ``rotation`` is ``"rx"``, ``"ry"`` or ``"rz"``; the state is built as a product
    state (no gate-by-gate simulation is needed for one layer of rotations on ``|0>``).
    """
    if rotation not in _ROTATIONS:
        raise ValueError(f"rotation must be one of {sorted(_ROTATIONS)}, got {rotation!r}")
    mats = _ROTATIONS[rotation](x)  # (*b, n, 2, 2)
    return product_state(mats[..., :, 0])  # R |0> is the first column


def amplitude_encoding(x: torch.Tensor, n_qubits: int | None = None, eps: float = 1e-12) -> torch.Tensor:
    """``x / |x|`` as amplitudes, zero-padded to ``2**n_qubits`` (the smallest that fits by default).

    ``x`` is real or complex of shape ``(*b, d)``; amplitude ``k`` is basis state ``k``
    (little-endian, as everywhere here). ``eps`` guards the norm of an all-zero ``x``.
    """
    d = x.shape[-1]
    if d < 1:
        raise ValueError("amplitude_encoding needs at least one amplitude")
    if n_qubits is None:
        n_qubits = max(1, (d - 1).bit_length())
    dim = 1 << n_qubits
    if d > dim:
        raise ValueError(f"{d} amplitudes do not fit in {n_qubits} qubits (2**{n_qubits} = {dim})")
    x = _to_complex(x)
    if d < dim:
        x = torch.nn.functional.pad(x, (0, dim - d))
    norm = torch.sqrt((x.real**2 + x.imag**2).sum(-1, keepdim=True)).clamp_min(eps)
    return x / norm


# ---------------------------------------------------------------------------- measurements
def probabilities(state: torch.Tensor) -> torch.Tensor:
    """``|amplitude|^2`` (real, same shape as ``state``)."""
    return state.real**2 + state.imag**2


@lru_cache(maxsize=None)
def _z_signs(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    idx = torch.arange(1 << n).unsqueeze(-1)
    bits = (idx >> torch.arange(n)) & 1
    return (1 - 2 * bits).to(device=device, dtype=dtype)


def z_expectations(state: torch.Tensor) -> torch.Tensor:
    """``<Z_q>`` for every qubit ``q``: shape ``(*b, n)``, real."""
    n = num_qubits(state)
    probs = probabilities(state)
    return probs @ _z_signs(n, probs.dtype, probs.device)


def inner(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``<a|b>`` along the last dimension (broadcast over the batch), complex."""
    return (a.conj() * b).sum(-1)


def overlap(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Fidelity ``|<a|b>|^2`` along the last dimension (broadcast over the batch), real."""
    amp = inner(a, b)
    return amp.real**2 + amp.imag**2


def fidelity_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``F[..., i, j] = |<a_i|b_j>|^2`` for ``a``: ``(*, M, D)``, ``b``: ``(*, K, D)``."""
    amp = torch.matmul(a.conj(), b.transpose(-1, -2))
    return amp.real**2 + amp.imag**2
