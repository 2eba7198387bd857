"""Progress bars on stderr: shown only on a terminal (or when forced), nested bars join one display."""

from __future__ import annotations

import io

from rich.console import Console

from backends import progress as progress_module
from backends.progress import MIN_ITEMS, progress_bar

#: Items of the bars drawn in these tests.
ITEMS = 5


def _console(buffer: io.StringIO) -> Console:
    return Console(file=buffer, force_terminal=True, width=100)


def test_no_bar_unless_stderr_is_a_terminal(monkeypatch):
    monkeypatch.setattr(progress_module, "stderr_is_terminal", lambda: False)
    with progress_bar("cones", MIN_ITEMS * 4) as bar:
        bar.advance()
        assert not bar.shown
    monkeypatch.setattr(progress_module, "stderr_is_terminal", lambda: True)
    with progress_bar("few", MIN_ITEMS - 1) as bar:  # over before a bar would help
        assert not bar.shown


def test_forced_bar_draws_and_nested_bars_join_it():
    buffer = io.StringIO()
    with progress_bar("Phase II cobyla", ITEMS, enabled=True, console=_console(buffer)) as outer:
        assert outer.shown
        with progress_bar("noisy light cones", ITEMS, enabled=True) as inner:  # joins the live display
            assert inner.shown and inner._progress is outer._progress
            for _ in range(ITEMS):
                inner.advance()
        assert len(outer._progress.tasks) == 1  # the inner line is gone when its work ends
        outer.advance(ITEMS)
    assert "Phase II cobyla" in buffer.getvalue()
    assert progress_module._ACTIVE == []
