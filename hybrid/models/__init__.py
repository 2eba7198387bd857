"""Sequence models for learned QAOA warm starts: plain ``torch.nn.Module`` s, one interface.

::

    model = build_model("qk_lstm", {"p": 1, "hidden": 16, "num_features": 5})
    state = model.initial_state(batch)
    params, state = model(prev_params, prev_cost, features, state)
    build_model(model.name, model.config)       # same architecture

Models (see each module): ``lstm`` (classical baseline), ``qk_lstm`` (quantum-kernel
LSTM), ``qlstm`` (variational-circuit LSTM), ``qfwp`` (quantum fast-weight
programmer). Their quantum layers run on :mod:`.qsim`, a differentiable torch
statevector simulator with Qiskit's qubit order.
"""

from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from .base import COMMON_DEFAULTS, HEAD_INIT_SCALE, SequenceModel
from .lstm import LSTMModel
from .qfwp import QFWPModel
from .qk_lstm import QKLSTMModel
from .qlstm import QLSTMModel

__all__ = [
    "MODELS",
    "MODEL_NAMES",
    "SequenceModel",
    "LSTMModel",
    "QKLSTMModel",
    "QLSTMModel",
    "QFWPModel",
    "COMMON_DEFAULTS",
    "HEAD_INIT_SCALE",
    "build_model",
    "default_config",
    "count_parameters",
]

#: Model classes by name.
MODELS: dict[str, type[SequenceModel]] = {
    cls.name: cls for cls in (LSTMModel, QKLSTMModel, QLSTMModel, QFWPModel)
}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)


def _model_class(name: str) -> type[SequenceModel]:
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"unknown model name {name!r}; choose one of {list(MODEL_NAMES)}")
    return MODELS[name]


def default_config(name: str) -> dict[str, Any]:
    """The full default config of model ``name``."""
    return _model_class(name).default_config()


def build_model(name: str, config: Mapping[str, Any] | None = None) -> SequenceModel:
    """A new model ``name`` (in :data:`MODEL_NAMES`) from ``config`` (missing keys take defaults).

    Raises ``ValueError`` for an unknown name, an unknown config key or a bad value.
    """
    return _model_class(name)(config)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
