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
from typing import Any

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
    reports = {}
    for name, file in (("sweep", compare), ("history", history)):  # every input checked before drawing
        if file.is_file():
            reports[name] = _read_json(file)
    if "sweep" in reports:
        check_compare_report(reports["sweep"], compare)
    if "history" in reports and (not isinstance(reports["history"], list) or not reports["history"]):
        raise ValueError(f"{history}: expected a non-empty JSON list of training records; nothing to plot")
    paths: list[Path] = []
    if "sweep" in reports:
        paths += plot_report(reports["sweep"], out)
    if "history" in reports:
        paths += plot_meta_history(reports["history"], out)
    return paths


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable JSON file ({type(exc).__name__}: {exc}); nothing to plot") from None


def check_compare_report(report: Any, path: str | Path = "compare.json") -> None:
    """A ``compare.json`` worth drawing: an object whose cells or summary hold at least one finite AR.

    Raises ValueError naming ``path`` for ``{}``, a non-object, and reports whose every AR is missing or NaN.
    """
    import math

    if not isinstance(report, dict):
        raise ValueError(f"{path}: expected a compare report (a JSON object), got {type(report).__name__}")
    cells, summary = report.get("cells"), report.get("summary")
    if not isinstance(cells, list) and not isinstance(summary, list):
        raise ValueError(f"{path}: no 'cells' or 'summary' list: not a compare report (written by `hybrid compare`)")
    values = [(c.get("result") or {}).get(k) for c in cells or [] if isinstance(c, dict) and isinstance(c.get("result") or {}, dict)
              for k in ("ar_final", "ideal_ar_final")]
    values += [s.get(k) for s in summary or [] if isinstance(s, dict) for k in ("ar_target_mean", "ar_ideal_mean")]
    finite = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    if not finite:
        raise ValueError(f"{path}: no finite approximation ratio in its cells or summary (empty or all NaN); nothing to plot")
