"""Quantum-kernel LSTM: every gate is driven by quantum-kernel features.

For each gate ``g`` in (input, forget, cell, output)::

    v     = [x_t, h_{t-1}]
    a_g   = A_g v + b_g                                 trainable projection to n_qubits angles
    k_g,j = |<phi_g(a_g)|phi_g(r_g,j)>|^2,  j = 1..n_refs
    gate  = sigma(W_g k_g + c_g)                         (tanh for the cell candidate)

``phi_g`` is the re-uploading feature map of :func:`.circuits.feature_map_state`
with its own trainable circuit weights (``(n_layers, n_qubits, 2)`` per gate), and
the reference points ``r_g,j`` (angles) are trainable too. The kernel compares the
encoded input with the references; it is 1 when they coincide and varies with the
input, unlike an ``U(x) U(x)^dagger`` circuit, which is the identity for every ``x``.
The four gates' circuits run as one batched simulation.

Config: ``p``, ``hidden``, ``num_features``, ``n_qubits`` (4), ``n_layers``
(trainable blocks between the ``n_layers + 1`` uploads, 1), ``n_refs`` (8).
State: ``(h, c)``, each ``(B, hidden)``. ``params = prev_params + Linear(h)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from . import circuits
from .base import SequenceModel, State

__all__ = ["QKLSTMModel"]

GATES = 4


class QKLSTMModel(SequenceModel):
    name = "qk_lstm"
    DEFAULTS = {"n_qubits": 4, "n_layers": 1, "n_refs": 8}

    def _build(self) -> None:
        cfg = self._config
        self.n_qubits, self.n_layers, self.n_refs = cfg["n_qubits"], cfg["n_layers"], cfg["n_refs"]
        self.proj = nn.Linear(self.input_size + self.hidden, GATES * self.n_qubits)
        self.circuit_weights = nn.Parameter(torch.empty(GATES, self.n_layers, self.n_qubits, 2))
        self.refs = nn.Parameter(torch.empty(GATES, self.n_refs, self.n_qubits))
        self.gate_weight = nn.Parameter(torch.empty(GATES, self.n_refs, self.hidden))
        self.gate_bias = nn.Parameter(torch.zeros(GATES, self.hidden))
        self.head = self._head(self.hidden)
        with torch.no_grad():
            self.circuit_weights.uniform_(-math.pi, math.pi)
            self.refs.normal_(0.0, 1.0)
            # Kernel values lie in [0, 1] and are far from saturating: a wider init
            # than the default (1/sqrt(n_refs)) gives the gates a usable range.
            self.gate_weight.uniform_(-2.0, 2.0).div_(math.sqrt(self.n_refs))
            self.gate_bias[1].fill_(1.0)  # forget gate open at the start

    def angles(self, v: torch.Tensor) -> torch.Tensor:
        """Projected angles ``(B, 4, n_qubits)`` of ``v = [x_t, h_{t-1}]``."""
        return self.proj(v).view(v.shape[0], GATES, self.n_qubits)

    def kernel(self, v: torch.Tensor) -> torch.Tensor:
        """Kernel features ``(B, 4, n_refs)`` of ``v = [x_t, h_{t-1}]`` (``(B, input_size + hidden)``)."""
        return circuits.kernel_matrix(self.angles(v), self.refs, self.circuit_weights)

    def _step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        h, c = state
        k = self.kernel(torch.cat([x, h], dim=1))
        pre = torch.einsum("bgk,gkh->bgh", k, self.gate_weight) + self.gate_bias
        i, f, g, o = pre.unbind(1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return self.head(h), (h, c)
