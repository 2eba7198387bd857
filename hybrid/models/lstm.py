"""Classical baseline: one ``nn.LSTMCell`` and a linear head."""

from __future__ import annotations

import torch
from torch import nn

from .base import SequenceModel, State

__all__ = ["LSTMModel"]


class LSTMModel(SequenceModel):
    """``h, c = LSTMCell(x_t, (h, c))``; ``params = prev_params + Linear(h)``.

    Config: ``p``, ``hidden`` (LSTM width), ``num_features``. State: ``(h, c)``, each ``(B, hidden)``.
    """

    name = "lstm"
    DEFAULTS = {}

    def _build(self) -> None:
        self.cell = nn.LSTMCell(self.input_size, self.hidden)
        self.head = self._head(self.hidden)

    def _step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        h, c = self.cell(x, state)
        return self.head(h), (h, c)
