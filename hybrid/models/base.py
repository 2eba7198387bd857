"""The interface shared by every sequence model, and config validation.

A model is one recurrent step of a learned optimiser::

    state = model.initial_state(batch)
    params, state = model(prev_params, prev_cost, features, state)

* ``prev_params``: ``(B, 2p)``, normalised QAOA angles ``[gamma_1..gamma_p, beta_1..beta_p]``;
* ``prev_cost``: ``(B, 1)``, normalised cost in ``[0, 1]`` (0 at the first step);
* ``features``: ``(B, F)`` graph features, ``F = config["num_features"]``; ``None`` when ``F = 0``;
* returns the next parameters ``(B, 2p)`` and the new state.

Every model computes the input ``x_t = [prev_params, prev_cost, features]`` (size
``2p + 1 + F``) and returns **``prev_params + delta``**, where ``delta`` is a linear
head on the model's output. The head starts with weights scaled down by
:data:`HEAD_INIT_SCALE`, so an untrained model takes small steps from where it is;
the parameters it returns are absolute, not deltas.

``state=None`` stands for ``initial_state(B)``. Inputs must have the model's dtype
and device (``model.double()``, ``model.to("cuda")`` move everything; helper
tensors are made on the fly on the inputs' device).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Mapping

import torch
from torch import nn

__all__ = ["SequenceModel", "HEAD_INIT_SCALE", "COMMON_DEFAULTS", "State"]

#: Scale applied to the default init of the output heads (small first steps).
HEAD_INIT_SCALE = 0.1
#: Keys every model accepts, with their defaults.
COMMON_DEFAULTS: dict[str, Any] = {"p": 1, "hidden": 16, "num_features": 0}
#: Validation rules: key -> (type, min, max, min_inclusive). ``None``: no bound.
_RULES: dict[str, tuple[type, float | None, float | None, bool]] = {
    "p": (int, 1, None, True),
    "hidden": (int, 1, None, True),
    "num_features": (int, 0, None, True),
    "n_qubits": (int, 1, 10, True),
    "n_layers": (int, 1, None, True),
    "n_refs": (int, 1, None, True),
    "decay": (float, 0.0, 1.0, False),
}

State = tuple[torch.Tensor, ...]


def _validate_value(model: str, key: str, value: Any) -> Any:
    kind, lo, hi, lo_inclusive = _RULES[key]
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ValueError(f"{model} config: {key!r} must be an integer, got {value!r}")
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{model} config: {key!r} must be a finite number, got {value!r}")
        value = float(value)
    too_low = lo is not None and (value < lo if lo_inclusive else value <= lo)
    too_high = hi is not None and value > hi
    if too_low or too_high:
        left = "[" if lo_inclusive else "("
        rng = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        raise ValueError(f"{model} config: {key!r} must be in {rng}, got {value!r}")
    return value


class SequenceModel(nn.Module):
    """Base class: config handling, input checks and the ``prev + delta`` output.

    Subclasses set :attr:`name` and :attr:`DEFAULTS` (their own keys), build their
    layers in :meth:`_build`, and implement :meth:`_initial_state` and :meth:`_step`.
    """

    name: ClassVar[str] = ""
    #: Model-specific config keys and their defaults (the common keys are added).
    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self._config = self.validate_config(config)
        self.p: int = self._config["p"]
        self.hidden: int = self._config["hidden"]
        self.num_features: int = self._config["num_features"]
        self.input_size: int = 2 * self.p + 1 + self.num_features
        self._build()

    # ------------------------------------------------------------------ config
    @classmethod
    def default_config(cls) -> dict[str, Any]:
        return {**COMMON_DEFAULTS, **cls.DEFAULTS}

    @classmethod
    def validate_config(cls, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults filled in, types and ranges checked; unknown keys raise ``ValueError``."""
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise ValueError(f"{cls.name} config must be a dict, got {type(config).__name__}")
        defaults = cls.default_config()
        unknown = sorted(set(config) - set(defaults))
        if unknown:
            raise ValueError(
                f"{cls.name} config: unknown key(s) {unknown}; allowed keys are {sorted(defaults)}"
            )
        full = {**defaults, **config}
        return {key: _validate_value(cls.name, key, full[key]) for key in defaults}

    @property
    def config(self) -> dict[str, Any]:
        """A JSON-able copy of the full config: ``build_model(model.name, model.config)`` rebuilds it."""
        return dict(self._config)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self._config.items())

    # ------------------------------------------------------------------ helpers
    def _ref(self) -> torch.Tensor:
        return next(self.parameters())

    def _head(self, in_features: int) -> nn.Linear:
        head = nn.Linear(in_features, 2 * self.p)
        with torch.no_grad():
            head.weight.mul_(HEAD_INIT_SCALE)
            head.bias.mul_(HEAD_INIT_SCALE)
        return head

    def _inputs(
        self, prev_params: torch.Tensor, prev_cost: torch.Tensor, features: torch.Tensor | None
    ) -> torch.Tensor:
        ref = self._ref()
        if not isinstance(prev_params, torch.Tensor) or prev_params.dim() != 2 or prev_params.shape[1] != 2 * self.p:
            shape = tuple(prev_params.shape) if isinstance(prev_params, torch.Tensor) else type(prev_params).__name__
            raise ValueError(f"prev_params must be a (batch, 2p = {2 * self.p}) tensor, got {shape}")
        batch = prev_params.shape[0]
        if not isinstance(prev_cost, torch.Tensor) or tuple(prev_cost.shape) != (batch, 1):
            shape = tuple(prev_cost.shape) if isinstance(prev_cost, torch.Tensor) else type(prev_cost).__name__
            raise ValueError(f"prev_cost must be a (batch, 1) = ({batch}, 1) tensor, got {shape}")
        parts = [prev_params, prev_cost]
        if self.num_features == 0:
            if features is not None and features.numel() != 0:
                raise ValueError(
                    f"features must be None for a model built with num_features=0, got shape {tuple(features.shape)}"
                )
        else:
            if not isinstance(features, torch.Tensor) or tuple(features.shape) != (batch, self.num_features):
                shape = tuple(features.shape) if isinstance(features, torch.Tensor) else features
                raise ValueError(
                    f"features must be a (batch, num_features) = ({batch}, {self.num_features}) tensor, got {shape}"
                )
            parts.append(features)
        for what, t in zip(("prev_params", "prev_cost", "features"), parts):
            if t.dtype != ref.dtype or t.device != ref.device:
                raise ValueError(
                    f"{what} has dtype {t.dtype} on {t.device} but the model is {ref.dtype} on {ref.device}; "
                    "cast the inputs or move the model (model.to(dtype=..., device=...))"
                )
        return torch.cat(parts, dim=1)

    # ------------------------------------------------------------------ interface
    def initial_state(self, batch: int) -> State:
        """The state at the start of an episode, for ``batch`` independent sequences."""
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")
        return self._initial_state(batch)

    def forward(
        self,
        prev_params: torch.Tensor,
        prev_cost: torch.Tensor,
        features: torch.Tensor | None,
        state: State | None,
    ) -> tuple[torch.Tensor, State]:
        x = self._inputs(prev_params, prev_cost, features)
        if state is None:
            state = self.initial_state(x.shape[0])
        delta, state = self._step(x, tuple(state))
        return prev_params + delta, state

    # ------------------------------------------------------------------ subclass hooks
    def _build(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _initial_state(self, batch: int) -> State:
        """Zero ``(h, c)`` of width ``hidden``: the LSTM-style state (QFWP overrides it)."""
        ref = self._ref()
        zeros = torch.zeros(batch, self.hidden, dtype=ref.dtype, device=ref.device)
        return zeros, zeros.clone()

    def _step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:  # pragma: no cover
        raise NotImplementedError
