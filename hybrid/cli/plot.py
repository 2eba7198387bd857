"""``hybrid plot``: redraw the figures of saved results."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import _fail, app, console


@app.command()
def plot(directory: Path = typer.Argument(..., help="a compare or meta-training output directory")) -> None:
    """Redraw every figure from saved results (compare.json, history.json); nothing is recomputed."""
    from hybrid.plots import plot_directory

    try:
        paths = plot_directory(directory)
    except ValueError as exc:
        _fail(str(exc))
    for path in paths:
        console.print(str(path))
