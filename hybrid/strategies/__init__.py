"""Start strategies: every way to choose the Phase II start, behind one interface.

``get_strategy(spec).start(problem, p, evaluate=..., seed=...) -> StartResult``;
``cost(p)`` says beforehand how many oracle evaluations it spends. Specs:
``fixed``, ``sk``, ``tqa[:DT]``, ``lrqaoa``, ``constant``, ``regression``, ``transfer``,
``interp``, ``random[:K]``, ``learned[:NAME]``, ``auto[:KIND]``.

To add one: write a class with ``name``, ``cost(p)`` and ``start(...)`` and call
``register("name", factory)`` (``factory(arg)`` gets the text after ``:``).
"""

from .base import (
    StartResult,
    Strategy,
    StrategyError,
    get_strategy,
    initial_params,
    register,
    strategy_names,
    unregister,
)
from .builtin import AUTO_KINDS, FACTORIES, target_kind
from .optimal import OptimisedAngles, optimise_angles

for _name, (_factory, _help) in FACTORIES.items():
    register(_name, _factory, _help)

__all__ = [
    "AUTO_KINDS",
    "OptimisedAngles",
    "StartResult",
    "Strategy",
    "StrategyError",
    "get_strategy",
    "initial_params",
    "optimise_angles",
    "register",
    "strategy_names",
    "target_kind",
    "unregister",
]
