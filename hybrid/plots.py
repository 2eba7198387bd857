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
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

__all__ = [
    "plot_ar_bars",
    "plot_ar_vs_budget",
    "plot_convergence",
    "plot_directory",
    "plot_landscapes",
    "plot_meta_history",
    "plot_report",
]

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


def _label(cell: Mapping[str, Any]) -> str:
    if cell.get("label"):
        return str(cell["label"])
    backend = str(cell.get("backend", "?"))
    mit = str(cell.get("mitigation", "none") or "none")
    return backend if mit == "none" else f"{backend}+{mit}"


def _cell_p(cell: Mapping[str, Any]) -> Any:
    p = cell.get("p")
    if p is None:
        p = (cell.get("result") or {}).get("p")
    return p


def _cell_init(cell: Mapping[str, Any]) -> str:
    init = cell.get("init")
    if init is None:
        init = (cell.get("result") or {}).get("init", "?")
    return str(init)


def _p_values(rows: Iterable[Mapping[str, Any]]) -> list[Any]:
    ps = _ordered(_cell_p(r) for r in rows)
    try:
        return sorted(ps, key=lambda v: (v is None, v))
    except TypeError:
        return ps


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


# ----------------------------------------------------------------------------- convergence
def _trace(cell: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, float]:
    """(cumulative evaluations, AR on the target, evaluations at the end of Phase I) of one run."""
    result = cell.get("result") or {}
    max_cut = _f(result.get("max_cut", cell.get("max_cut")))
    if not (math.isfinite(max_cut) and max_cut > 0):
        max_cut = math.nan
    xs, ys, phase1_end = [], [], math.nan
    for entry in result.get("history") or []:
        x = _f(entry.get("evaluations"))
        if not math.isfinite(x):
            continue
        xs.append(x)
        ys.append(_f(entry.get("energy")) / max_cut)
        if entry.get("phase") in ("phase1", "init"):
            phase1_end = x
    order = np.argsort(xs, kind="stable")
    return np.asarray(xs, float)[order], np.asarray(ys, float)[order], phase1_end


def _step_on(xs: np.ndarray, ys: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Value of the step function through (xs, ys) on ``grid``: NaN before the first point,
    the last value held after the last one."""
    idx = np.searchsorted(xs, grid, side="right") - 1
    out = np.where(idx >= 0, ys[np.clip(idx, 0, None)], np.nan)
    return out.astype(float)


def _convergence_figure(cells: Sequence[Mapping[str, Any]], p: Any) -> Figure:
    labels = _ordered(_label(c) for c in cells)
    inits = _ordered((_cell_init(c) for c in cells), INIT_ORDER)
    style = _style(inits)
    rows, cols = _grid(max(len(labels), 1))
    with matplotlib.rc_context(_RC):
        fig = _new_figure(4.2 * cols + 0.4, 3.3 * rows + 0.9)
        axes = fig.subplots(rows, cols, sharey=True, squeeze=False).ravel()
        for ax in axes[len(labels):]:
            ax.set_visible(False)
        any_band = False
        for ax, label in zip(axes, labels):
            mine = [c for c in cells if _label(c) == label]
            graphs = _ordered(str(c.get("graph", (c.get("result") or {}).get("graph_id"))) for c in mine)
            drawn = False
            for init in inits:
                traces = [_trace(c) for c in mine if _cell_init(c) == init]
                traces = [t for t in traces if t[0].size]
                if not traces:
                    continue
                grid = np.unique(np.concatenate([t[0] for t in traces]))
                stack = np.vstack([_step_on(xs, ys, grid) for xs, ys, _ in traces])
                finite = np.isfinite(stack)
                count = finite.sum(axis=0)
                with np.errstate(invalid="ignore", divide="ignore"):
                    mean = np.where(count > 0, np.nansum(np.where(finite, stack, 0.0), axis=0) / np.maximum(count, 1), np.nan)
                st = style[init]
                ax.step(grid, mean, where="post", color=st["color"], linestyle=st["linestyle"], linewidth=1.8,
                        label=f"{init} (n={len(traces)})")
                drawn = True
                if len(traces) > 1:
                    any_band = True
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        lo = np.nanmin(np.where(finite, stack, np.nan), axis=0)
                        hi = np.nanmax(np.where(finite, stack, np.nan), axis=0)
                    band = count > 1
                    ax.fill_between(grid, np.where(band, lo, np.nan), np.where(band, hi, np.nan), step="post",
                                    color=st["color"], alpha=0.18, linewidth=0)
                end = _nanmean(t[2] for t in traces)
                if math.isfinite(end):
                    y = _step_on(grid, mean, np.array([end]))[0]
                    ax.axvline(end, color=st["color"], linestyle=":", linewidth=0.9, alpha=0.7)
                    if math.isfinite(y):
                        ax.plot([end], [y], marker="D", markersize=6, color=st["color"], markeredgecolor="black",
                                markeredgewidth=0.7, linestyle="none", zorder=5)
            if not drawn:
                _no_data(ax)
            ax.set_title(f"{label} ({len(graphs)} graph{'s' if len(graphs) != 1 else ''})")
            ax.set_xlabel(EVAL_LABEL)
            ax.set_ylabel(AR_LABEL)
            ax.grid(True, alpha=0.3)
        if not labels:
            _no_data(axes[0])
        handles = [
            Line2D([], [], color=style[i]["color"], linestyle=style[i]["linestyle"], linewidth=1.8, label=i) for i in inits
        ]
        if any_band:
            handles.append(Patch(facecolor="0.5", alpha=0.3, label="min-max over graphs"))
        handles.append(Line2D([], [], marker="D", color="0.3", markeredgecolor="black", linestyle=":",
                              label="end of Phase I (mean over graphs)"))
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), title="initial strategy")
        fig.suptitle(f"Convergence on the target, p = {p}: mean AR over graphs vs oracle evaluations")
    return fig


def plot_convergence(report: Mapping[str, Any], out_dir: str | Path, prefix: str = "convergence") -> list[Path]:
    """AR on the target vs cumulative oracle evaluations; one file pair per ``p`` (``<prefix>_p<p>``).

    One subplot per target label, one line per init: the mean over graphs of each
    run's measured AR (history energy / max cut) as a step function on the union of
    the runs' evaluation counts (a finished run holds its last value), the band the
    min-max over graphs (none for a single graph). A diamond and a dotted vertical
    line in the init's colour mark the mean evaluation count at the end of Phase I.
    """
    cells = [c for c in report.get("cells") or [] if isinstance(c, Mapping)]
    paths: list[Path] = []
    for p in _p_values(cells):
        mine = [c for c in cells if _cell_p(c) == p]
        if not mine:
            continue
        paths += _save(_convergence_figure(mine, p), out_dir, f"{prefix}_p{_slug(p)}")
    return paths


# ----------------------------------------------------------------------------- bars
def _bar_rows(report: Mapping[str, Any], p: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """(label, init) -> display statistics: from the cells, else from the summary."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    cells = [c for c in report.get("cells") or [] if isinstance(c, Mapping) and _cell_p(c) == p]
    for key in _ordered((_label(c), _cell_init(c)) for c in cells):
        mine = [c.get("result") or {} for c in cells if (_label(c), _cell_init(c)) == key]
        target_sd, n = _nanstd(r.get("ar_final") for r in mine)
        ideal_sd, _ = _nanstd(r.get("ideal_ar_final") for r in mine)
        rows[key] = {
            "target": _nanmean(r.get("ar_final") for r in mine),
            "target_std": target_sd,
            "ideal": _nanmean(r.get("ideal_ar_final") for r in mine),
            "ideal_std": ideal_sd,
            "start": _nanmean(r.get("ar_init") for r in mine),
            "graphs": n,
        }
    for s in report.get("summary") or []:
        if not isinstance(s, Mapping) or _cell_p(s) != p:
            continue
        key = (_label(s), str(s.get("init", "?")))
        if key in rows:
            continue
        rows[key] = {
            "target": _f(s.get("ar_target_mean")),
            "target_std": _f(s.get("ar_target_std")),
            "ideal": _f(s.get("ar_ideal_mean")),
            "ideal_std": _f(s.get("ar_ideal_std")),
            "start": _f(s.get("ar_init_target_mean")),
            "graphs": int(_f(s.get("graphs"))) if math.isfinite(_f(s.get("graphs"))) else 0,
        }
    return rows


def _bars_figure(report: Mapping[str, Any], p: Any) -> Figure:
    rows = _bar_rows(report, p)
    labels = _ordered(k[0] for k in rows)
    inits = _ordered((k[1] for k in rows), INIT_ORDER)
    style = _style(inits)
    n_i = max(len(inits), 1)
    slot = 0.8 / n_i
    half = slot / 2
    with matplotlib.rc_context(_RC):
        fig = _new_figure(max(8.0, 1.5 + len(labels) * (0.6 + 0.5 * n_i)), 5.4)
        ax = fig.add_subplot()
        x = np.arange(len(labels), dtype=float)
        any_start = False
        for j, init in enumerate(inits):
            st = style[init]
            offs = -0.4 + j * slot
            for i, label in enumerate(labels):
                row = rows.get((label, init))
                if row is None:
                    continue
                left = x[i] + offs
                for k, (key, kw) in enumerate(
                    (
                        ("target", {"color": st["color"], "edgecolor": "black"}),
                        ("ideal", {"color": st["color"], "alpha": 0.45, "hatch": "//", "edgecolor": "black"}),
                    )
                ):
                    value, sd = row[key], row[f"{key}_std"]
                    centre = left + half * (k + 0.5)
                    ax.bar(centre, value if math.isfinite(value) else 0.0, width=half * 0.92, linewidth=0.6, **kw)
                    if math.isfinite(value) and math.isfinite(sd) and row["graphs"] > 1:
                        ax.errorbar(centre, value, yerr=sd, color="black", capsize=2.5, linewidth=0.9)
                if math.isfinite(row["start"]):
                    any_start = True
                    ax.hlines(row["start"], left + 0.02 * slot, left + 0.98 * slot, colors="black",
                              linestyles="--", linewidth=1.1, zorder=4)
        ax.set_xticks(x, labels, rotation=20 if len(labels) > 3 else 0, ha="right" if len(labels) > 3 else "center")
        ax.set_xlabel("target (backend + mitigation)")
        ax.set_ylabel(AR_LABEL)
        ax.set_ylim(0, 1.08)
        ax.axhline(1.0, color="0.6", linewidth=0.8)
        ax.grid(True, axis="y", alpha=0.3)
        if not labels:
            _no_data(ax)
        init_handles = [Patch(facecolor=style[i]["color"], edgecolor="black", label=i) for i in inits]
        kind_handles = [
            Patch(facecolor="0.45", edgecolor="black", label="final AR on target"),
            Patch(facecolor="0.45", alpha=0.45, hatch="//", edgecolor="black", label="final AR, ideal re-scored"),
        ]
        if any_start:
            kind_handles.append(Line2D([], [], color="black", linestyle="--", label="AR on target at Phase II start"))
        handles = init_handles + kind_handles
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4))
        fig.suptitle(f"Final approximation ratio by target and initial strategy, p = {p}")
        ax.set_title("mean over graphs; error bars: std over graphs", fontsize=9, color="0.3")
    return fig


def plot_ar_bars(report: Mapping[str, Any], out_dir: str | Path, prefix: str = "ar_bars") -> list[Path]:
    """Grouped bars, one file pair per ``p`` (``<prefix>_p<p>``).

    Per target label, per init: the mean final AR measured on the target (solid) and
    the mean ideal re-scored final AR (hatched, lighter), error bars the std over
    graphs (omitted for one graph); a dashed segment over each pair is the mean AR on
    the target at the Phase II start. Means come from the cells; a (label, init, p)
    present only in ``summary`` uses its ``ar_*_mean`` / ``ar_*_std`` and
    ``ar_init_target_mean``.
    """
    rows = [r for r in list(report.get("cells") or []) + list(report.get("summary") or []) if isinstance(r, Mapping)]
    paths: list[Path] = []
    for p in _p_values(rows):
        if not _bar_rows(report, p):
            continue
        paths += _save(_bars_figure(report, p), out_dir, f"{prefix}_p{_slug(p)}")
    return paths


# ----------------------------------------------------------------------------- landscapes
def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around grid coordinates (midpoints; half a step beyond the ends)."""
    c = np.asarray(centres, float)
    if c.size == 1:
        return np.array([c[0] - 0.05, c[0] + 0.05])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def _grid_values(values: Any, shape: tuple[int, int]) -> np.ndarray | None:
    if values is None:
        return None
    try:
        arr = np.array([[_f(v) for v in row] for row in values], float)
    except TypeError:
        return None
    return arr if arr.shape == shape else None


def _point(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        return None
    g, b = _f(value[0]), _f(value[1])
    return (g, b) if math.isfinite(g) and math.isfinite(b) else None


def _landscape_figure(entry: Mapping[str, Any]) -> Figure:
    gammas = np.asarray([_f(g) for g in entry.get("gammas") or []], float)
    betas = np.asarray([_f(b) for b in entry.get("betas") or []], float)
    shape = (gammas.size, betas.size)
    ideal = _grid_values(entry.get("ideal"), shape)
    noisy = _grid_values(entry.get("noisy"), shape)
    backend = str(entry.get("backend", "?"))
    panels = [("ideal (noiseless)", ideal)]
    if noisy is not None:
        panels.append((f"noisy ({backend})", noisy))
    finite = np.concatenate([a[np.isfinite(a)].ravel() for _, a in panels if a is not None] or [np.array([])])
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if vmin == vmax:
        vmin, vmax = vmin - 0.01, vmax + 0.01
    starts = entry.get("starts") or {}
    inits = _ordered((str(k) for k in starts), INIT_ORDER)
    style = _style(inits)
    optima = [
        ("ideal optimum", _point(entry.get("ideal_optimum")), {"marker": "*", "s": 260, "facecolor": "white", "edgecolor": "black"}),
        ("noisy optimum", _point(entry.get("noisy_optimum")), {"marker": "X", "s": 150, "facecolor": "#F0E442", "edgecolor": "black"}),
    ]
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.85")
    with matplotlib.rc_context(_RC):
        fig = _new_figure(5.0 * len(panels) + 1.3 + (1.0 if len(panels) == 1 else 0.0), 5.2)
        axes = fig.subplots(1, len(panels), sharex=True, sharey=True, squeeze=False).ravel()
        mesh = None
        for ax, (title, data) in zip(axes, panels):
            if data is None or gammas.size == 0 or betas.size == 0:
                _no_data(ax, "no landscape data")
            else:
                mesh = ax.pcolormesh(_edges(gammas), _edges(betas), np.ma.masked_invalid(data.T), cmap=cmap,
                                     vmin=vmin, vmax=vmax, shading="flat")
            for name, point, kw in optima:
                if point is not None:
                    ax.scatter([point[0]], [point[1]], linewidths=1.0, zorder=6, label=name, **kw)
            for init in inits:
                point = _point(starts.get(init))
                if point is None:
                    continue
                st = style[init]
                ax.scatter([point[0]], [point[1]], marker=st["marker"], s=90, color=st["color"], edgecolor="white",
                           linewidths=1.3, zorder=7, label=f"start: {init}",
                           path_effects=[patheffects.withStroke(linewidth=2.6, foreground="black")])
            ax.set_title(title)
            ax.set_xlabel("gamma (rad)")
            ax.set_ylabel("beta (rad)")
        if mesh is not None:
            cbar = fig.colorbar(mesh, ax=list(axes), shrink=0.95)
            cbar.set_label("approximation ratio")
        handles, names = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, names, loc="outside lower center", ncols=min(len(handles), 3 * len(panels)))
        max_cut = _f(entry.get("max_cut"))
        extra = f", max cut {max_cut:g}" if math.isfinite(max_cut) else ""
        note = "" if noisy is not None else "; no noisy landscape"
        fig.suptitle(f"p = 1 landscape of {entry.get('graph', '?')} (n = {entry.get('n', '?')}{extra})\n"
                     f"target {backend}{note}")
    return fig


def plot_landscapes(report: Mapping[str, Any], out_dir: str | Path, prefix: str = "landscape") -> list[Path]:
    """One file pair per landscape entry (``<prefix>_<graph>_<backend>``): ideal and noisy
    heatmaps side by side on one colour scale (ideal alone when ``noisy`` is null), each
    strategy's start point, the ideal optimum (star) and the noisy optimum (cross)."""
    paths: list[Path] = []
    used: set[str] = set()
    for i, entry in enumerate(report.get("landscapes") or []):
        if not isinstance(entry, Mapping):
            continue
        stem = f"{prefix}_{_slug(entry.get('graph', i))}_{_slug(entry.get('backend', 'ideal'))}"
        if stem in used:
            stem = f"{stem}_{i}"
        used.add(stem)
        paths += _save(_landscape_figure(entry), out_dir, stem)
    return paths


# ----------------------------------------------------------------------------- meta-training
def _cumulative_steps(history: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """A step axis over all records (iterations restart per stage) and (stage, start, end) spans."""
    steps, spans = [], []
    offset, prev_stage, last = 0.0, object(), 0.0
    for k, rec in enumerate(history):
        stage = str(rec.get("stage", "?"))
        if stage != prev_stage:
            offset = last
            spans.append([stage, offset, offset])
            prev_stage = stage
        it = _f(rec.get("iteration"))
        x = offset + it if math.isfinite(it) else last + 1
        steps.append(x)
        last = max(last, x)
        spans[-1][2] = last
    return np.asarray(steps, float), [tuple(s) for s in spans]


def _rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(values.shape, np.nan)
    for i in range(values.size):
        out[i] = _nanmean(values[max(0, i - window + 1): i + 1])
    return out


def _meta_figure(history: Sequence[Mapping[str, Any]]) -> Figure:
    recs = [r for r in history if isinstance(r, Mapping)]
    x, spans = _cumulative_steps(recs)
    loss = np.asarray([_f(r.get("loss")) for r in recs], float)
    train_ar = np.asarray([_f(r.get("train_ar_final")) for r in recs], float)
    val = [(xi, _f(r.get("val_ar"))) for xi, r in zip(x, recs) if "val_ar" in r]
    window = max(1, len(recs) // 40)
    with matplotlib.rc_context(_RC):
        fig = _new_figure(9.0, 6.4)
        ax_loss, ax_ar = fig.subplots(2, 1, sharex=True)
        for ax in (ax_loss, ax_ar):
            for k, (stage, start, end) in enumerate(spans):
                if k % 2:
                    ax.axvspan(start, end, color="0.9", zorder=0, linewidth=0)
                if k:
                    ax.axvline(start, color="0.5", linewidth=0.8, zorder=1)
            ax.grid(True, alpha=0.3)
        for stage, start, end in spans:
            ax_loss.text((start + end) / 2, 1.01, stage, transform=ax_loss.get_xaxis_transform(), ha="center",
                         va="bottom", fontsize=9, color="0.25")
        if recs:
            ax_loss.plot(x, loss, color=OKABE_ITO[1], alpha=0.35, linewidth=0.8, label="loss per iteration")
            if window > 1:
                ax_loss.plot(x, _rolling_mean(loss, window), color=OKABE_ITO[1], linewidth=1.8,
                             label=f"rolling mean ({window} iterations)")
            ax_ar.plot(x, train_ar, color=OKABE_ITO[4], alpha=0.6, linewidth=0.8, label="training batch AR (final step)")
        else:
            _no_data(ax_loss, "empty history")
        if val:
            vx, vy = zip(*val)
            ax_ar.plot(vx, vy, color=OKABE_ITO[0], marker="o", markersize=3.5, linewidth=1.5, label="validation AR")
        ax_loss.set_ylabel("meta-training loss")
        ax_loss.set_title("Meta-training: loss and approximation ratio (stages shaded and named)", pad=16)
        ax_ar.set_ylabel(AR_LABEL)
        ax_ar.set_xlabel("iteration (cumulative over stages)")
        for ax in (ax_loss, ax_ar):
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="best")
    return fig


def plot_meta_history(history: Sequence[Mapping[str, Any]], out_dir: str | Path, prefix: str = "meta_training") -> list[Path]:
    """Training loss and validation AR (with the training batch AR) vs a cumulative
    iteration axis, stages shaded and named; one file pair ``<prefix>``."""
    return _save(_meta_figure(list(history or [])), out_dir, prefix)


# ----------------------------------------------------------------------------- equal budget
def plot_ar_vs_budget(
    curves: Mapping[str, Mapping[str, Sequence[tuple[float, float]]]], out_dir: str | Path, target: str
) -> list[Path]:
    """AR against budget for one target: one subplot per Phase II optimiser, one line per start.

    ``curves``: start -> optimiser -> [(budget, mean AR)], already averaged by the
    benchmark. One file pair ``ar_vs_budget_<target>``.
    """
    optimizers = _ordered(o for by_opt in curves.values() for o in by_opt)
    rows, cols = _grid(max(1, len(optimizers)))
    fig = _new_figure(4.2 * cols, 3.4 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    styles = _style(list(curves))
    for ax, opt in zip(axes, optimizers):
        for method, by_opt in curves.items():
            points = sorted(by_opt.get(opt, []))
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, label=method, **styles[method])
        ax.set_xscale("symlog", linthresh=10)
        ax.set_title(f"{target}, Phase II {opt}")
        ax.set_xlabel("budget (oracle evaluations, Phase I included)")
        ax.set_ylabel(AR_LABEL)
        ax.grid(alpha=0.3)
    for ax in axes[len(optimizers):]:
        ax.set_visible(False)
    if optimizers:
        axes[0].legend(fontsize=7, ncol=2)
    else:
        _no_data(axes[0])
    return _save(fig, out_dir, f"ar_vs_budget_{_slug(target)}")


# ----------------------------------------------------------------------------- entry points
def plot_report(report: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Every compare figure: convergence, AR bars and landscapes."""
    return plot_convergence(report, out_dir) + plot_ar_bars(report, out_dir) + plot_landscapes(report, out_dir)


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
