"""Figures of meta-training (``history.json``) and of the equal-budget benchmark."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .style import AR_LABEL, OKABE_ITO, _RC, _f, _grid, _nanmean, _new_figure, _no_data, _ordered, _save, _slug, _style


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
        # iteration 0 of each stage: the validation AR before any update (the start), so the gain shows
        starts = [(xi, _f(r.get("val_ar"))) for xi, r in zip(x, recs) if r.get("iteration") == 0 and "val_ar" in r]
        if starts:
            sx, sy = zip(*starts)
            ax_ar.plot(sx, sy, color=OKABE_ITO[0], marker="s", markersize=7, markerfacecolor="white",
                       markeredgewidth=1.6, linestyle="none", zorder=5, label="validation AR before training (iteration 0)")
            ax_ar.axhline(sy[0], color=OKABE_ITO[0], linestyle=":", linewidth=1.0)
        if recs:
            span = float(np.nanmax(x)) - min(0.0, float(np.nanmin(x)))
            ax_ar.set_xlim(left=min(0.0, float(np.nanmin(x))) - max(0.5, 0.015 * span))  # iteration 0 unclipped
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


