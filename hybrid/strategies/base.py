"""The start-strategy interface and its registry.

A *strategy* chooses the Phase II start for a graph at depth ``p``. Some need no
evaluation (a formula or fitted data); others evaluate candidate points on the
run's oracle (random starts, the learned model), and say in advance how many
evaluations they will spend (:meth:`Strategy.cost`), so a run can count them in
its budget.

``get_strategy(spec)`` parses a spec ``NAME`` or ``NAME:ARG`` (``tqa:0.75``,
``random:8``, ``learned:lstm``, ``auto:noisy``) and returns the strategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np

from ..problems import MaxCutProblem, ProblemError


class StrategyError(ProblemError):
    """A strategy spec or its data that cannot be used; the message says how to fix it."""


@dataclass(frozen=True)
class StartResult:
    """The Phase II start a strategy chose and what choosing it cost."""

    theta: np.ndarray  # the Phase II start (actual parameters, our convention)
    evaluations: int  # oracle evaluations spent choosing it (0 for zero-evaluation starts)
    value: float | None  # the measured <C> at theta if it was evaluated, else None
    label: str  # what was used, e.g. "auto -> regression"

    def to_dict(self) -> dict[str, Any]:
        return {
            "theta": [float(x) for x in np.asarray(self.theta, float)],
            "evaluations": int(self.evaluations),
            "value": None if self.value is None else float(self.value),
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StartResult":
        value = data.get("value")
        return cls(
            theta=np.asarray(data["theta"], float),
            evaluations=int(data["evaluations"]),
            value=None if value is None else float(value),
            label=str(data["label"]),
        )


Evaluate = Callable[[np.ndarray], float]


@runtime_checkable
class Strategy(Protocol):
    name: str

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        """Oracle evaluations :meth:`start` will spend at depth ``p`` on ``problem``
        (without a problem, an upper bound: ``auto``'s choice depends on the graph)."""
        ...

    def start(
        self, problem: MaxCutProblem, p: int, *, evaluate: Evaluate | None = None, seed: int | np.random.Generator | None = None
    ) -> StartResult: ...


#: name -> (factory(arg) -> Strategy, one-line help)
_REGISTRY: dict[str, tuple[Callable[[str], Strategy], str]] = {}


def register(name: str, factory: Callable[[str], Strategy], help: str = "") -> None:
    """Make ``get_strategy("NAME[:ARG]")`` return ``factory(ARG)`` (``ARG`` is ``""`` when absent)."""
    if not name or ":" in name:
        raise StrategyError(f"strategy name {name!r} must be non-empty and contain no ':'")
    _REGISTRY[name] = (factory, help)


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def strategy_names() -> dict[str, str]:
    """Registered names and their help lines."""
    return {name: help for name, (_, help) in sorted(_REGISTRY.items())}


def get_strategy(spec: str) -> Strategy:
    """The strategy for ``spec`` (``NAME`` or ``NAME:ARG``; a path ending in ``.pt`` is ``learned:PATH``)."""
    if not isinstance(spec, str) or not spec.strip():
        raise StrategyError(f"strategy spec must be a non-empty string such as 'fixed' or 'random:8', got {spec!r}")
    spec = spec.strip()
    if spec.endswith(".pt") and not spec.startswith("learned"):
        spec = f"learned:{spec}"  # a checkpoint path
    name, _, arg = spec.partition(":")
    if "@" in name:  # NAME@ARG without a colon (learned@4)
        name, _, rest = name.partition("@")
        arg = f"@{rest}"
    if name not in _REGISTRY:
        raise StrategyError(f"unknown initial strategy {spec!r}; choose one of: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name][0](arg)


def check_depth(p: Any) -> int:
    if not isinstance(p, (int, np.integer)) or p < 1:
        raise StrategyError(f"depth p must be a positive integer, got {p!r}")
    return int(p)


def initial_params(
    spec: str, problem: MaxCutProblem, p: int, seed: int | np.random.Generator | None = None
) -> np.ndarray:
    """The start of a zero-evaluation strategy (``fixed``, ``tqa``, ``regression``, ...).

    Strategies that evaluate points (``random:K``, ``learned``) need an oracle: call
    ``get_strategy(spec).start(problem, p, evaluate=...)`` for those.
    """
    strategy = get_strategy(spec)
    if strategy.cost(check_depth(p)) > 0:
        raise StrategyError(
            f"strategy {spec!r} evaluates {strategy.cost(p)} points; use "
            f"get_strategy({spec!r}).start(problem, p, evaluate=...) with an oracle"
        )
    return strategy.start(problem, p, seed=seed).theta
