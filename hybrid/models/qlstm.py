"""Variational-circuit LSTM (Chen, Yoo, Fang, arXiv:2009.01783).

For each gate ``g`` in (input, forget, cell, output)::

    v    = [x_t, h_{t-1}]
    u_g  = A_g v + b_g                                  trainable projection to n_qubits inputs
    z_g  = <Z> of the variational circuit VQC(u_g; w_g)  (:func:`.circuits.vqc_expectations`)
    gate = sigma(W_g z_g + c_g)                          (tanh for the cell candidate)

The circuit weights ``w_g`` (``(n_layers, n_qubits, 3)`` per gate) are registered
``nn.Parameter`` s: trained, and saved in the state dict. The four circuits run as
one batched simulation.

Config: ``p``, ``hidden``, ``num_features``, ``n_qubits`` (4), ``n_layers`` (2).
State: ``(h, c)``, each ``(B, hidden)``. ``params = prev_params + Linear(h)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from . import circuits
from .base import SequenceModel, State

__all__ = ["QLSTMModel"]

GATES = 4


class QLSTMModel(SequenceModel):
    name = "qlstm"
    DEFAULTS = {"n_qubits": 4, "n_layers": 2}

    def _build(self) -> None:
        cfg = self._config
        self.n_qubits, self.n_layers = cfg["n_qubits"], cfg["n_layers"]
        self.proj = nn.Linear(self.input_size + self.hidden, GATES * self.n_qubits)
        self.circuit_weights = nn.Parameter(torch.empty(GATES, self.n_layers, self.n_qubits, 3))
        self.gate_weight = nn.Parameter(torch.empty(GATES, self.n_qubits, self.hidden))
        self.gate_bias = nn.Parameter(torch.zeros(GATES, self.hidden))
        self.head = self._head(self.hidden)
        with torch.no_grad():
            self.circuit_weights.uniform_(-math.pi, math.pi)
            bound = 1.0 / math.sqrt(self.n_qubits)
            self.gate_weight.uniform_(-bound, bound)
            self.gate_bias[1].fill_(1.0)  # forget gate open at the start

    def expectations(self, v: torch.Tensor) -> torch.Tensor:
        """The four circuits' ``<Z_q>``, ``(B, 4, n_qubits)``, for ``v = [x_t, h_{t-1}]``."""
        u = self.proj(v).view(v.shape[0], GATES, self.n_qubits)
        return circuits.vqc_expectations(u, self.circuit_weights)

    def _step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        h, c = state
        z = self.expectations(torch.cat([x, h], dim=1))
        pre = torch.einsum("bgq,gqh->bgh", z, self.gate_weight) + self.gate_bias
        i, f, g, o = pre.unbind(1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return self.head(h), (h, c)
