"""Quantum fast-weight programmer (after Chen, arXiv:2402.17760).

A classical *slow* network programs the rotation angles (the *fast weights*) of a
variational circuit at every step, additively; the fast weights live in the
recurrent state, so they persist across the steps of an episode and are reset only
by :meth:`initial_state` (to the trained initial fast weights ``W_0``)::

    u_t   = tanh(S [x_t, z_{t-1}] + s)                   slow network
    dW_t  = a(u_t) (outer) b(u_t)                        a: (n_layers, 3) per layer and rotation,
                                                         b: (n_qubits) per qubit
    W_t   = decay * W_{t-1} + dW_t                       fast weights, (B, n_layers, n_qubits, 3)
    z_t   = <Z> of VQC(E x_t + e; W_t)                   :func:`.circuits.vqc_expectations`
    params = prev_params + Linear(z_t)

The circuit's expectations are the only path to the output. ``decay = 1`` (the
default) is the pure additive update of the fast-weight programmer.

Config: ``p``, ``hidden`` (slow-network width), ``num_features``, ``n_qubits`` (4),
``n_layers`` (2), ``decay`` (1.0). State: ``(W, z)``: the fast weights
``(B, n_layers, n_qubits, 3)`` and the last expectations ``(B, n_qubits)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from . import circuits
from .base import SequenceModel, State

__all__ = ["QFWPModel"]


class QFWPModel(SequenceModel):
    name = "qfwp"
    DEFAULTS = {"n_qubits": 4, "n_layers": 2, "decay": 1.0}

    def _build(self) -> None:
        cfg = self._config
        self.n_qubits, self.n_layers, self.decay = cfg["n_qubits"], cfg["n_layers"], cfg["decay"]
        self.slow = nn.Linear(self.input_size + self.n_qubits, self.hidden)
        self.layer_program = nn.Linear(self.hidden, self.n_layers * 3)
        self.qubit_program = nn.Linear(self.hidden, self.n_qubits)
        self.encoder = nn.Linear(self.input_size, self.n_qubits)
        self.initial_fast_weights = nn.Parameter(torch.empty(self.n_layers, self.n_qubits, 3))
        self.head = self._head(self.n_qubits)
        with torch.no_grad():
            self.initial_fast_weights.uniform_(-math.pi, math.pi)

    def _initial_state(self, batch: int) -> State:
        w0 = self.initial_fast_weights
        fast = w0.unsqueeze(0).expand(batch, *w0.shape)
        z = torch.zeros(batch, self.n_qubits, dtype=w0.dtype, device=w0.device)
        return fast, z

    def program(self, x: torch.Tensor, z_prev: torch.Tensor) -> torch.Tensor:
        """The fast-weight update ``dW_t``, ``(B, n_layers, n_qubits, 3)``."""
        u = torch.tanh(self.slow(torch.cat([x, z_prev], dim=1)))
        a = self.layer_program(u).view(-1, self.n_layers, 1, 3)
        b = self.qubit_program(u).view(-1, 1, self.n_qubits, 1)
        return a * b

    def _step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        fast, z_prev = state
        fast = self.decay * fast + self.program(x, z_prev)
        z = circuits.vqc_expectations(self.encoder(x), fast)
        return self.head(z), (fast, z)
