"""Run kinds: one module per kind, one registry (in the style of :mod:`hybrid.strategies`).

Importing this package registers the five kinds the commands create: :mod:`.run`,
:mod:`.evaluate`, :mod:`.compare`, :mod:`.benchmark` and :mod:`.paper_benchmark`. Adding a
kind is one module here (its ``validate``, ``execute``, ``report``, ``fetch`` and
``render``, wrapped in a :class:`RunKind` and passed to :func:`register`) plus its import
below; ``hybrid jobs`` finds it by the ``spec["kind"]`` its runs record.
"""

from . import benchmark, compare, evaluate, paper_benchmark, run  # noqa: F401  (registers the kinds)
from .base import KindError, Plan, RunKind, get_kind, kind_names, kind_of, register, unregister

__all__ = ["KindError", "Plan", "RunKind", "get_kind", "kind_names", "kind_of", "register", "unregister"]
