"""Shared look of every figure: colours, line styles, labels, rc settings, and how figures are saved.

Figures use the object-oriented :class:`matplotlib.figure.Figure` API (no pyplot, no
GUI backend), so they work headless; each is written twice, ``<stem>.png`` (150 dpi)
and ``<stem>.svg``. The helpers here do display arithmetic only (means and spreads of
values already in the files).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

DPI = 150
AR_LABEL = "approximation ratio <C>/max cut"
EVAL_LABEL = "oracle evaluations"

#: Okabe-Ito colour-blind-safe palette (black last).
OKABE_ITO = ("#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
#: Known initial strategies first, in this order, with fixed colours, line styles and markers.
INIT_ORDER = ("learned", "fixed", "tqa", "random")
LINESTYLES = ("-", "--", "-.", (0, (1, 1.5)), (0, (5, 1, 1, 1, 1, 1)), (0, (3, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P", "h", "<")

_RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "figure.titlesize": 12,
    "svg.fonttype": "path",
}


# ----------------------------------------------------------------------------- helpers
def _f(value: Any) -> float:
    """A float, NaN for None or anything non-numeric."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _nanmean(values: Iterable[float]) -> float:
    arr = np.asarray([_f(v) for v in values], float)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else math.nan


def _nanstd(values: Iterable[float]) -> tuple[float, int]:
    """Population std of the finite values and how many there were."""
    arr = np.asarray([_f(v) for v in values], float)
    arr = arr[np.isfinite(arr)]
    return (float(arr.std()) if arr.size else math.nan), int(arr.size)


def _slug(text: Any) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


def _ordered(values: Iterable[Any], preferred: Sequence[Any] = ()) -> list[Any]:
    """Distinct values: ``preferred`` ones first in that order, then the rest in first-seen order."""
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return [v for v in preferred if v in seen] + [v for v in seen if v not in preferred]


def _style(inits: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Colour, line style and marker for every init; known strategies keep fixed styles."""
    out: dict[str, dict[str, Any]] = {}
    extra = 0
    for name in inits:
        if name in INIT_ORDER:
            i = INIT_ORDER.index(name)
        else:
            i = len(INIT_ORDER) + extra
            extra += 1
        out[name] = {
            "color": OKABE_ITO[i % len(OKABE_ITO)],
            "linestyle": LINESTYLES[i % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)],
        }
    return out


def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _save(fig: Figure, out_dir: str | Path, stem: str) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.png", out / f"{stem}.svg"]
    with matplotlib.rc_context(_RC):
        fig.savefig(paths[0], dpi=DPI, metadata={"Software": None})
        fig.savefig(paths[1], metadata={"Date": None})
    return paths


def _no_data(ax, text: str = "no runs") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    cols = max(1, min(max_cols, n))
    return math.ceil(n / cols), cols

