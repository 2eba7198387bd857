"""Figures from already computed results (JSON dicts): nothing here re-runs or re-scores.

Inputs are a compare report (``compare.json``: ``cells``, ``summary``, ``landscapes``)
and a meta-training history (``history.json``: a list of per-iteration records). The
only arithmetic done here is display aggregation (means, spreads and a rolling mean
over values already in the files).

Every figure is written twice, ``<prefix>[_<suffix>].png`` (150 dpi) and ``.svg``,
with the object-oriented :class:`matplotlib.figure.Figure` API (no pyplot, no GUI
backend), so it works headless. Each public function returns the paths it wrote.

File layout:

* :func:`plot_convergence`: one file pair per ``p`` present in the cells,
  ``<prefix>_p<p>``; one subplot per target label, one line per init.
* :func:`plot_ar_bars`: one file pair per ``p``, ``<prefix>_p<p>``.
* :func:`plot_landscapes`: one file pair per landscape entry,
  ``<prefix>_<graph>_<backend>`` (non-filename characters replaced by ``-``).
* :func:`plot_meta_history`: one file pair, ``<prefix>``.
* :func:`plot_ar_vs_budget`: one file pair per target, ``ar_vs_budget_<target>``.

Modules: :mod:`.style` (the shared look and saving), :mod:`.compare` (compare
reports), :mod:`.training` (meta-training history, equal-budget curves); this module
re-exports their public functions and draws a whole results directory.
"""


from __future__ import annotations

import json
from pathlib import Path

from .compare_figures import plot_ar_bars, plot_convergence, plot_landscapes, plot_report
from .training import plot_ar_vs_budget, plot_meta_history

__all__ = [
    "plot_ar_bars",
    "plot_ar_vs_budget",
    "plot_convergence",
    "plot_directory",
    "plot_landscapes",
    "plot_meta_history",
    "plot_report",
]


def plot_directory(path: str | Path) -> list[Path]:
    """Draw ``path/compare.json`` and/or ``path/history.json`` into ``path/figures/``."""
    root = Path(path)
    compare, history = root / "compare.json", root / "history.json"
    if not compare.is_file() and not history.is_file():
        raise ValueError(f"{root}: nothing to plot, expected compare.json and/or history.json in this directory")
    out = root / "figures"
    paths: list[Path] = []
    if compare.is_file():
        paths += plot_report(json.loads(compare.read_text()), out)
    if history.is_file():
        paths += plot_meta_history(json.loads(history.read_text()), out)
    return paths
