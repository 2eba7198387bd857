"""Figures of a compare report (``compare.json``: ``cells``, ``summary``, ``landscapes``).

* :func:`plot_convergence`: one file pair per ``p`` present in the cells,
  ``<prefix>_p<p>``; one subplot per target label, one line per init.
* :func:`plot_ar_bars`: one file pair per ``p``, ``<prefix>_p<p>``.
* :func:`plot_landscapes`: one file pair per landscape entry,
  ``<prefix>_<graph>_<backend>`` (non-filename characters replaced by ``-``).
* :func:`plot_report`: all of them.
"""

from __future__ import annotations

import math
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

from .style import (
    AR_LABEL,
    EVAL_LABEL,
    INIT_ORDER,
    _RC,
    _f,
    _grid,
    _nanmean,
    _nanstd,
    _new_figure,
    _no_data,
    _ordered,
    _save,
    _slug,
    _style,
)


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



# ----------------------------------------------------------------------------- convergence
#: History phases that re-measure chosen points after the optimisation (not part of its trajectory).
REMEASURE_PHASES = ("select", "final")


def _trace(cell: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, float]:
    """(evaluations spent before each reading, AR on the target, evaluations at the end of Phase I) of one run.

    Readings sit at the budget spent *before* them, so the first one (the start) is at 0;
    the fresh re-measurements of the final selection are left out (they are no step of the run).
    """
    result = cell.get("result") or {}
    max_cut = _f(result.get("max_cut", cell.get("max_cut")))
    low = _f(result.get("min_value", cell.get("min_value", 0.0)))
    if not (math.isfinite(max_cut) and math.isfinite(low) and max_cut > low):
        max_cut = math.nan
    xs, ys, phase1_end = [], [], math.nan
    spent = 0.0
    for entry in result.get("history") or []:
        x = _f(entry.get("evaluations"))
        if not math.isfinite(x):
            continue
        before, spent = spent, x
        if entry.get("phase") in REMEASURE_PHASES:
            continue
        xs.append(before)
        ys.append((_f(entry.get("energy")) - low) / (max_cut - low))
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
        fig = _new_figure(4.2 * cols + 0.4, 3.3 * rows + 1.6)
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
                if len(traces) > 2:
                    any_band = True
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        lo, hi = np.nanpercentile(np.where(finite, stack, np.nan), [25, 75], axis=0)
                    band = count > 2
                    ax.fill_between(grid, np.where(band, lo, np.nan), np.where(band, hi, np.nan), step="post",
                                    color=st["color"], alpha=0.22, linewidth=0)
                end = _nanmean(t[2] for t in traces)
                if math.isfinite(end):
                    y = _step_on(grid, mean, np.array([end]))[0]
                    ax.axvline(end, color=st["color"], linestyle=":", linewidth=0.9, alpha=0.7)
                    if math.isfinite(y):
                        ax.plot([end], [y], marker="D", markersize=6, color=st["color"], markeredgecolor="black",
                                markeredgewidth=0.7, linestyle="none", zorder=5)
            if not drawn:
                _no_data(ax)
            ideal = _nanmean((c.get("result") or {}).get("ideal_ar_final") for c in mine)
            if math.isfinite(ideal):
                ax.axhline(ideal, color="0.35", linestyle="-.", linewidth=1.0, zorder=2)
            ax.axhline(1.0, color="0.6", linestyle="-", linewidth=0.9, zorder=2)
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
            handles += [Patch(facecolor=style[i]["color"], alpha=0.35, label=f"{i}: interquartile range over graphs")
                        for i in inits]
        handles += [Line2D([], [], color="0.35", linestyle="-.", label="ideal AR of the final points (mean)"),
                    Line2D([], [], color="0.6", label="best-known cut (AR = 1)")]
        handles.append(Line2D([], [], marker="D", color="0.3", markeredgecolor="black", linestyle=":",
                              label="end of Phase I (mean over graphs)"))
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), title="initial strategy")
        _zoom(axes[: len(labels)])
        fig.suptitle(f"Convergence on the target, p = {p}: mean AR over graphs vs oracle evaluations")
    return fig


def _zoom(axes, extra: Sequence[float] = ()) -> None:
    """Zoom shared AR axes to the plotted lines and bands (and ``extra`` levels), with a small margin."""
    # lines in data coordinates only (axvline spans the axes, 0 to 1, in axes coordinates)
    ys = [np.asarray(line.get_ydata(), float) for ax in axes for line in ax.get_lines() if line.get_transform() is ax.transData]
    ys += [np.asarray(path.vertices[:, 1], float) for ax in axes for band in ax.collections for path in band.get_paths()]
    finite = np.concatenate([y[np.isfinite(y)] for y in ys] + [np.asarray(extra, float)]) if ys else np.asarray(extra)
    if finite.size == 0:
        return
    lo, hi = float(finite.min()), float(finite.max())
    pad = max(0.08 * (hi - lo), 0.002)
    for ax in axes:
        ax.set_ylim(lo - pad, hi + pad)
        _best_known_note(ax)


def _best_known_note(ax) -> None:
    """Say where the best-known cut (AR = 1) is when the zoomed axis ends below it."""
    if ax.get_ylim()[1] < 1.0:
        ax.annotate("best-known cut: AR = 1 (above)", xy=(0.99, 0.98), xycoords="axes fraction", ha="right",
                    va="top", fontsize=8, color="0.35")


def plot_convergence(report: Mapping[str, Any], out_dir: str | Path, prefix: str = "convergence") -> list[Path]:
    """AR on the target vs cumulative oracle evaluations; one file pair per ``p`` (``<prefix>_p<p>``).

    One subplot per target label, one line per init: the mean over graphs of each
    run's measured AR (history energy / max cut) as a step function on the union of
    the runs' evaluation counts (a finished run holds its last value; readings at the
    evaluations spent before them, so the start is at 0), the band the interquartile
    range over graphs (from three graphs on). A diamond and a dotted vertical line in
    the init's colour mark the mean evaluation count at the end of Phase I; dash-dotted
    the mean ideal AR of the final points, grey the best-known cut (AR = 1). The AR axis
    is zoomed to the data.
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
        values = [row[k] + sign * (row.get(f"{k}_std", 0.0) if math.isfinite(row.get(f"{k}_std", math.nan)) else 0.0)
                  for row in rows.values() for k in ("target", "ideal", "start") for sign in (-1, 1)
                  if math.isfinite(row[k])]
        if values:
            lo, hi = min(values), max(values)
            pad = max(0.1 * (hi - lo), 0.005)
            ax.set_ylim(max(0.0, lo - pad), min(1.0 + pad, hi + pad))
            _best_known_note(ax)
        ax.axhline(1.0, color="0.6", linewidth=1.0)
        ideal_run = _nanmean(row["target"] for (label, _), row in rows.items() if label == "ideal")
        if math.isfinite(ideal_run):
            ax.axhline(ideal_run, color="0.35", linestyle="-.", linewidth=1.0)
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
        if math.isfinite(ideal_run):
            kind_handles.append(Line2D([], [], color="0.35", linestyle="-.", label="ideal target (mean final AR)"))
        kind_handles.append(Line2D([], [], color="0.6", label="best-known cut (AR = 1)"))
        handles = init_handles + kind_handles
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4))
        fig.suptitle(f"Final approximation ratio by target and initial strategy, p = {p}")
        ax.set_title("mean over graphs; error bars: std over graphs; AR axis zoomed to the data",
                     fontsize=9, color="0.3")
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
        # the noisy optimum a hollow ring, the ideal star on top: both stay visible when they coincide
        ("noisy optimum", _point(entry.get("noisy_optimum")),
         {"marker": "o", "s": 420, "facecolor": "none", "edgecolor": "#CC79A7", "linewidths": 2.8, "zorder": 6}),
        ("ideal optimum", _point(entry.get("ideal_optimum")),
         {"marker": "*", "s": 360, "facecolor": "white", "edgecolor": "black", "linewidths": 1.0, "zorder": 8}),
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
                    ax.scatter([point[0]], [point[1]], label=name, **kw)
            for init in inits:
                point = _point(starts.get(init))
                if point is None:
                    continue
                st = style[init]
                # small and on top: a start at an optimum leaves the star's points and the ring visible
                ax.scatter([point[0]], [point[1]], marker=st["marker"], s=55, color=st["color"], edgecolor="white",
                           linewidths=1.1, zorder=9, label=f"start: {init}",
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



def plot_report(report: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Every compare figure: convergence, AR bars and landscapes."""
    return plot_convergence(report, out_dir) + plot_ar_bars(report, out_dir) + plot_landscapes(report, out_dir)


