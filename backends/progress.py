"""Progress bars for long work (light cones, noisy cones, propagation, optimiser steps), on stderr.

:func:`progress_bar` shows a transient ``rich`` bar only when stderr is a terminal (the CLI
has no progress flag; scripts, pipes and tests see nothing) and the work has at least
``min_items`` items. Bars opened while another is showing join it as a further line
(rich allows one live display at a time), so a Phase II bar and the cone bar of each of
its evaluations show together. ``enabled=True`` forces a bar (to any ``console``).
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

#: Work with fewer items than this shows no bar (it is over before a bar would help).
MIN_ITEMS = 16

_LOCK = threading.Lock()
_ACTIVE: list[Any] = []  # the live rich Progress, when one is showing


class _Bar:
    """What :func:`progress_bar` yields: ``advance(k)``; does nothing when no bar shows."""

    def __init__(self, progress: Any = None, task: Any = None):
        self._progress, self._task = progress, task

    @property
    def shown(self) -> bool:
        return self._progress is not None

    def advance(self, k: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, k)


def stderr_is_terminal() -> bool:
    return sys.stderr is not None and sys.stderr.isatty()


@contextmanager
def progress_bar(
    description: str, total: int, *, enabled: bool | None = None, min_items: int = MIN_ITEMS, console: Any = None
) -> Iterator[_Bar]:
    """A bar of ``total`` items named ``description`` (see the module docstring)."""
    if enabled is None:
        enabled = total >= min_items and stderr_is_terminal()
    if not enabled or total < 1:
        yield _Bar()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with _LOCK:
        outer = _ACTIVE[0] if _ACTIVE else None
        if outer is None:
            progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TimeRemainingColumn(), console=console if console is not None else Console(stderr=True),
                transient=True,
            )
            _ACTIVE.append(progress)
    if outer is not None:
        task = outer.add_task(description, total=total)
        try:
            yield _Bar(outer, task)
        finally:
            outer.remove_task(task)
        return
    task = progress.add_task(description, total=total)
    try:
        with progress:
            yield _Bar(progress, task)
    finally:
        with _LOCK:
            _ACTIVE.remove(progress)
