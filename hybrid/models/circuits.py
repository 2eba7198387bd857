"""The parametrised circuits of the quantum sequence models, as functions on :mod:`.qsim` states.

Two circuits, both on ``n`` qubits with the :func:`.qsim.ring_pairs` CNOT ring
(``CNOT(0,1), CNOT(1,2), ..., CNOT(n-1,0)``; one CNOT for two qubits, none for one):

**Re-uploading feature map** (quantum kernel), data angles ``a`` (``n``), weights
``w`` (``L x n x 2``)::

    |phi_w(a)> = E(a) V(w_L) E(a) ... V(w_1) E(a) |0...0>
    E(a)  = RY(a_q) on every qubit q
    V(w_l) = CNOT ring, then RY(w_l[q, 0]) and RZ(w_l[q, 1]) on every qubit q

The data are uploaded ``L + 1`` times, with trainable blocks in between, so the
weights shape the kernel ``k(a, r) = |<phi_w(a)|phi_w(r)>|^2`` (with a single
upload followed by a trainable block, the block would cancel in the overlap).
``k(a, a) = 1`` and ``k`` depends on ``a``: it is no identity circuit.

**Variational circuit** (Chen et al., arXiv:2009.01783, "Quantum long short-term
memory"), inputs ``v`` (``n``), weights ``w`` (``L x n x 3``)::

    encoding: H, RY(arctan v_q), RZ(arctan v_q^2) on every qubit q
    L times:  CNOT ring, then RZ(w_l[q, 0]), RY(w_l[q, 1]), RX(w_l[q, 2]) on every qubit q
    output:   <Z_q> for every qubit q

Each qubit's rotations form a general ``ZYX`` Euler rotation; the last one is an RX,
so none of them commutes with the final Z measurement (every weight has a gradient).

Both functions broadcast: data of shape ``(*b, n)`` and weights of shape
``(*w, L, n, k)`` with ``*b`` and ``*w`` broadcastable. The single-qubit rotations
of one layer are fused into one ``2 x 2`` matrix per qubit before they touch the state.
"""

from __future__ import annotations

import torch

from . import qsim

__all__ = ["feature_map_state", "kernel_matrix", "vqc_encode", "vqc_state", "vqc_expectations"]


def _check(data: torch.Tensor, weights: torch.Tensor, k: int, what: str) -> tuple[int, int]:
    if weights.dim() < 3 or weights.shape[-1] != k:
        raise ValueError(f"{what} weights must have shape (*, n_layers, n_qubits, {k}), got {tuple(weights.shape)}")
    n_layers, n = weights.shape[-3], weights.shape[-2]
    if data.shape[-1] != n:
        raise ValueError(f"{what} data must have n_qubits = {n} entries in the last dimension, got {data.shape[-1]}")
    return n_layers, n


def feature_map_state(angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``|phi_w(a)>`` of the re-uploading feature map: ``(*b, n)``, ``(*w, L, n, 2)`` -> ``(*, 2**n)``."""
    n_layers, n = _check(angles, weights, 2, "feature map")
    state = qsim.angle_encoding(angles, "ry")
    enc = qsim.ry_matrix(angles)  # (*b, n, 2, 2)
    if n_layers:
        # RZ(w1) RY(w0) per qubit, then the data RY(a): fused to RY(a) RZ(w1) RY(w0).
        block = qsim.rz_matrix(weights[..., 1]) @ qsim.ry_matrix(weights[..., 0])  # (*w, L, n, 2, 2)
    for layer in range(n_layers):
        state = qsim.cnot_ring(state)
        state = qsim.apply_layer(state, enc @ block[..., layer, :, :, :])
    return state


def kernel_matrix(angles: torch.Tensor, refs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``K[..., j] = |<phi_w(a)|phi_w(r_j)>|^2``.

    ``angles``: ``(B, G, n)``, ``refs``: ``(G, K, n)``, ``weights``: ``(G, L, n, 2)``
    (``G`` independent kernels, e.g. one per LSTM gate). Returns ``(B, G, K)``. The
    data and the references are simulated in one batch.
    """
    batch = angles.shape[0]
    g, k, _ = refs.shape
    both = torch.cat([angles, refs.transpose(0, 1)], dim=0)  # (B + K, G, n)
    states = feature_map_state(both, weights)  # (B + K, G, D)
    sx, sr = states[:batch], states[batch:]  # (B, G, D), (K, G, D)
    amp = torch.einsum("bgd,kgd->bgk", sx.conj(), sr)
    return amp.real**2 + amp.imag**2


def vqc_encode(inputs: torch.Tensor) -> torch.Tensor:
    """The encoding ``RZ(arctan v^2) RY(arctan v) H |0>`` on every qubit: ``(*b, n)`` -> ``(*b, 2**n)``."""
    h = qsim.hadamard_matrix(dtype=inputs.dtype, device=inputs.device)
    mats = qsim.rz_matrix(torch.atan(inputs**2)) @ qsim.ry_matrix(torch.atan(inputs)) @ h
    return qsim.product_state(mats[..., :, 0])


def vqc_state(inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """State of the variational circuit: ``(*b, n)``, ``(*w, L, n, 3)`` -> ``(*, 2**n)``."""
    n_layers, _ = _check(inputs, weights, 3, "variational circuit")
    state = vqc_encode(inputs)
    rot = (
        qsim.rx_matrix(weights[..., 2]) @ qsim.ry_matrix(weights[..., 1]) @ qsim.rz_matrix(weights[..., 0])
    )  # (*w, L, n, 2, 2)
    for layer in range(n_layers):
        state = qsim.cnot_ring(state)
        state = qsim.apply_layer(state, rot[..., layer, :, :, :])
    return state


def vqc_expectations(inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``<Z_q>`` of the variational circuit, shape ``(*, n)``."""
    return qsim.z_expectations(vqc_state(inputs, weights))
