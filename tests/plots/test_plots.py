"""Figures from synthetic compare reports and meta-training histories."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from hybrid import plots
from hybrid.plots import compare_figures as compare_plots
from hybrid.plots import style
from hybrid.plots import training as training_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
INITS = ("learned", "fixed")
TARGETS = (("fake:torino", "none"), ("fake:torino", "zne"))
GRAPHS = (("er8", 8, 11.0), ("reg6", 6, 9.0))


def _history(rng, max_cut: float, init: str, steps: int = 6) -> list[dict]:
    entries, evals, shots = [], 0, 0
    phase1 = [("phase1", 1)] * 3 if init == "learned" else [("init", 1)]
    ar = 0.55 + 0.1 * rng.random()
    for phase, cost in phase1 + [("phase2", 5)] * steps + [("final", 1)]:
        evals += cost
        shots += cost * 1000
        ar = min(0.98, ar + 0.04 * rng.random())
        entries.append({"phase": phase, "params": [0.4, 0.3], "energy": ar * max_cut, "stderr": 0.05,
                        "evaluations": evals, "shots": shots, "job_ids": []})
    return entries


def _result(rng, graph: str, n: int, max_cut: float, target: str, init: str, p: int, steps: int) -> dict:
    hist = _history(rng, max_cut, init, steps)
    return {
        "graph_id": graph, "n": n, "max_cut": max_cut, "total_weight": max_cut + 3, "target": target, "p": p,
        "init": init, "optimizer": "adam:6", "init_params": [0.4, 0.3], "final_params": [0.5, 0.25],
        "best_params": [0.5, 0.25], "ar_init": hist[0]["energy"] / max_cut, "ar_final": hist[-1]["energy"] / max_cut,
        "ideal_ar_init": 0.7, "ideal_ar_final": min(1.0, hist[-1]["energy"] / max_cut + 0.03),
        "evaluations": hist[-1]["evaluations"], "shots": hist[-1]["shots"], "best_cut": max_cut, "best_bitstring": "0" * n,
        "job_ids": [], "history": hist, "wall_time": 1.5, "mitigation": "none", "phase1_evaluations": 3, "converged": False,
    }


def _landscape(rng, graph: str, n: int, max_cut: float, noisy: bool) -> dict:
    gammas = np.linspace(0.0, 1.2, 5)
    betas = np.linspace(0.0, 0.75, 4)
    ideal = 0.5 + 0.4 * np.outer(np.sin(gammas * 2), np.sin(betas * 3))
    return {
        "graph": graph, "n": n, "max_cut": max_cut, "backend": "fake:torino",
        "gammas": gammas.tolist(), "betas": betas.tolist(), "ideal": ideal.tolist(),
        "noisy": (0.8 * ideal + 0.05).tolist() if noisy else None,
        "ideal_optimum": [0.6, 0.5], "noisy_optimum": [0.9, 0.25] if noisy else None,
        "starts": {"learned": [0.55, 0.45], "fixed": [0.3, 0.2], "tqa": [0.8, 0.6], "random": [1.1, 0.1]},
    }


def make_report(graphs=GRAPHS, ps=(1,), seed: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    cells = []
    for p in ps:
        for backend, mit in TARGETS:
            label = backend if mit == "none" else f"{backend}+{mit}"
            for init in INITS:
                for k, (graph, n, max_cut) in enumerate(graphs):
                    result = _result(rng, graph, n, max_cut, label, init, p, steps=4 + 2 * k)
                    cells.append({"graph": graph, "n": n, "backend": backend, "mitigation": mit, "label": label,
                                  "init": init, "p": p, "result": result})
    summary = []
    for p in ps:
        for backend, mit in TARGETS:
            label = backend if mit == "none" else f"{backend}+{mit}"
            for init in INITS:
                mine = [c["result"] for c in cells if c["label"] == label and c["init"] == init and c["p"] == p]
                summary.append({
                    "label": label, "backend": backend, "mitigation": mit, "init": init, "p": p, "graphs": len(mine),
                    "ar_target_mean": float(np.mean([r["ar_final"] for r in mine])),
                    "ar_target_std": float(np.std([r["ar_final"] for r in mine])),
                    "ar_ideal_mean": float(np.mean([r["ideal_ar_final"] for r in mine])),
                    "ar_ideal_std": float(np.std([r["ideal_ar_final"] for r in mine])),
                    "evaluations_mean": 30.0, "shots_mean": 3e4, "wall_time_mean": 1.5, "optimum_shift_mean": None,
                })
    landscapes = [_landscape(rng, *GRAPHS[0], noisy=True), _landscape(rng, *GRAPHS[1], noisy=False)]
    return {"config": {"p": list(ps)}, "cells": cells, "summary": summary, "landscapes": landscapes}


def make_history() -> list[dict]:
    rng = np.random.default_rng(5)
    records = []
    for stage, iters in (("ideal", 40), ("torino", 30)):
        for it in range(1, iters + 1):
            rec = {"stage": stage, "iteration": it, "loss": -0.7 - 0.1 * it / iters + 0.02 * rng.standard_normal(),
                   "train_ar_final": 0.7 + 0.1 * it / iters, "lr": 0.01}
            if it % 10 == 0:
                rec["val_ar"] = 0.72 + 0.1 * it / iters
            records.append(rec)
    return records


def check_files(paths: list[Path], count: int) -> None:
    assert len(paths) == count
    assert sorted(p.suffix for p in paths) == sorted([".png", ".svg"] * (count // 2))
    for path in paths:
        assert path.is_file() and path.stat().st_size > 1024, path
        head = path.read_bytes()[:200]
        if path.suffix == ".png":
            assert head.startswith(PNG_MAGIC), path
        else:
            assert b"<svg" in path.read_bytes()[:2000], path


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


# ----------------------------------------------------------------------------- convergence
def test_convergence_files_and_axes(tmp_path):
    report = make_report()
    check_files(plots.plot_convergence(report, tmp_path), 2)
    assert (tmp_path / "convergence_p1.png").is_file()
    fig = compare_plots._convergence_figure(report["cells"], 1)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2  # one per target label
    for ax in visible:
        assert ax.get_xlabel() == style.EVAL_LABEL
        assert ax.get_ylabel() == style.AR_LABEL
        assert ax.get_title().startswith("fake:torino")
        lines = [l for l in ax.get_lines() if l.get_label() in ("learned (n=2)", "fixed (n=2)")]
        assert len(lines) == 2  # one mean line per init
    assert fig.legends and "end of Phase I" in " ".join(texts(fig))


def test_convergence_one_file_pair_per_p(tmp_path):
    paths = plots.plot_convergence(make_report(ps=(1, 2)), tmp_path)
    check_files(paths, 4)
    assert {p.stem for p in paths} == {"convergence_p1", "convergence_p2"}


def test_convergence_mean_is_stepped_on_common_axis():
    xs, ys = np.array([1.0, 4.0, 9.0]), np.array([0.5, 0.6, 0.7])
    got = compare_plots._step_on(xs, ys, np.array([0.0, 1.0, 3.0, 4.0, 10.0]))
    assert math.isnan(got[0])
    assert got[1:].tolist() == [0.5, 0.5, 0.6, 0.7]


# ----------------------------------------------------------------------------- bars
def test_ar_bars_files_and_bars(tmp_path):
    report = make_report()
    check_files(plots.plot_ar_bars(report, tmp_path), 2)
    fig = compare_plots._bars_figure(report, 1)
    (ax,) = fig.axes
    assert ax.get_ylabel() == style.AR_LABEL
    assert len(ax.patches) == len(TARGETS) * len(INITS) * 2  # target + ideal bar per (label, init)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["fake:torino", "fake:torino+zne"]
    heights = sorted(round(p.get_height(), 9) for p in ax.patches)
    expected = sorted(round(s[k], 9) for s in report["summary"] for k in ("ar_target_mean", "ar_ideal_mean"))
    assert heights == expected


def test_ar_bars_from_summary_only(tmp_path):
    report = make_report()
    report["cells"] = []
    check_files(plots.plot_ar_bars(report, tmp_path), 2)
    assert len(compare_plots._bars_figure(report, 1).axes[0].patches) == 8


# ----------------------------------------------------------------------------- landscapes
def test_landscapes_with_and_without_noisy(tmp_path):
    report = make_report()
    paths = plots.plot_landscapes(report, tmp_path)
    check_files(paths, 4)
    assert {p.stem for p in paths} == {"landscape_er8_fake-torino", "landscape_reg6_fake-torino"}
    with_noisy = compare_plots._landscape_figure(report["landscapes"][0])
    ideal_only = compare_plots._landscape_figure(report["landscapes"][1])
    assert len(with_noisy.axes) == 3 and len(ideal_only.axes) == 2  # panels + colourbar
    for fig in (with_noisy, ideal_only):
        cbar = fig.axes[-1]
        assert cbar.get_ylabel() == "approximation ratio"
        for ax in fig.axes[:-1]:
            assert ax.get_xlabel() == "gamma (rad)" and ax.get_ylabel() == "beta (rad)"
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        assert {f"start: {s}" for s in ("learned", "fixed", "tqa", "random")} <= set(legend)
        assert "ideal optimum" in legend
    assert "noisy optimum" in [t.get_text() for t in with_noisy.legends[0].get_texts()]
    # shared colour scale
    meshes = [ax.collections[0] for ax in with_noisy.axes[:2]]
    assert meshes[0].get_clim() == meshes[1].get_clim()


# ----------------------------------------------------------------------------- meta history
def test_meta_history(tmp_path):
    history = make_history()
    check_files(plots.plot_meta_history(history, tmp_path), 2)
    fig = training_plots._meta_figure(history)
    assert len(fig.axes) == 2
    assert fig.axes[1].get_xlabel() == "iteration (cumulative over stages)"
    assert fig.axes[1].get_ylabel() == style.AR_LABEL
    assert {"ideal", "torino"} <= set(texts(fig))
    val = next(line for line in fig.axes[1].get_lines() if line.get_label() == "validation AR")
    assert list(val.get_xdata()) == [10, 20, 30, 40, 50, 60, 70]  # second stage continues after 40


# ----------------------------------------------------------------------------- edge cases
def test_edge_cases(tmp_path):
    report = make_report(graphs=GRAPHS[:1])  # one graph per target: no spread
    cell = report["cells"][0]["result"]
    cell["history"][2]["energy"] = float("nan")
    cell["ar_final"] = float("nan")
    report["summary"].append({"label": "fake:torino", "init": "tqa", "p": 3, "graphs": 0, "ar_target_mean": None,
                              "ar_target_std": None, "ar_ideal_mean": None, "ar_ideal_std": None})
    report["landscapes"][0]["noisy"][1][2] = float("nan")
    report["landscapes"][1]["starts"]["random"] = None
    paths = plots.plot_report(report, tmp_path)
    assert len(paths) == 2 + 4 + 4  # convergence p1; bars p1 and p3; two landscapes
    check_files(paths, len(paths))
    assert plots.plot_report({"cells": [], "summary": [], "landscapes": []}, tmp_path / "empty") == []
    check_files(plots.plot_meta_history([], tmp_path / "h"), 2)


# ----------------------------------------------------------------------------- directory
def test_plot_directory(tmp_path):
    (tmp_path / "compare.json").write_text(json.dumps(make_report()))
    (tmp_path / "history.json").write_text(json.dumps(make_history()))
    paths = plots.plot_directory(tmp_path)
    check_files(paths, 2 * 5)  # convergence, bars, two landscapes, meta-training
    assert all(p.parent == tmp_path / "figures" for p in paths)
    assert {p.stem for p in paths} == {"convergence_p1", "ar_bars_p1", "landscape_er8_fake-torino",
                                       "landscape_reg6_fake-torino", "meta_training"}


def test_plot_directory_history_only(tmp_path):
    (tmp_path / "history.json").write_text(json.dumps(make_history()))
    assert {p.name for p in plots.plot_directory(tmp_path)} == {"meta_training.png", "meta_training.svg"}


def test_plot_directory_without_inputs(tmp_path):
    with pytest.raises(ValueError, match="compare.json and/or history.json"):
        plots.plot_directory(tmp_path)


# ----------------------------------------------------------------------------- what the figures show
def test_convergence_starts_at_zero_and_leaves_out_the_final_remeasurements():
    history = [{"phase": "phase2", "energy": 6.0, "evaluations": 5}, {"phase": "phase2", "energy": 7.0, "evaluations": 10},
               {"phase": "select", "energy": 9.0, "evaluations": 13}, {"phase": "final", "energy": 6.5, "evaluations": 15}]
    xs, ys, _ = compare_plots._trace({"result": {"max_cut": 10.0, "history": history}})
    assert xs.tolist() == [0.0, 5.0] and ys.tolist() == [0.6, 0.7]


def test_convergence_bands_are_interquartile_and_the_legend_matches_their_colours():
    graphs = tuple((f"g{i}", 8, 10.0) for i in range(6))
    report = make_report(graphs=graphs)
    fig = compare_plots._convergence_figure(report["cells"], 1)
    ax = fig.axes[0]
    lines = {l.get_label().split(" ")[0]: l for l in ax.get_lines() if "(n=" in l.get_label()}
    patches = {t.get_text().split(":")[0]: h for t, h in zip(fig.legends[0].get_texts(), fig.legends[0].legend_handles)
               if "interquartile" in t.get_text()}
    assert set(patches) == set(INITS)
    for init in INITS:
        assert np.allclose(patches[init].get_facecolor()[:3], matplotlib.colors.to_rgb(lines[init].get_color()))
    mine = [c for c in report["cells"] if c["label"] == "fake:torino" and c["init"] == "learned"]
    finals = [c["result"]["history"][-2]["energy"] / 10.0 for c in mine]  # last Phase II reading of each graph
    band = next(c for c in ax.collections if len(c.get_paths()))
    top = max(v[1] for path in band.get_paths() for v in path.vertices)
    assert top < max(finals) - 1e-6  # below the best run: not the min-max envelope
    assert "min-max" not in " ".join(texts(fig))


def test_ar_axes_are_zoomed_to_the_data_with_ideal_and_best_known_lines():
    report = make_report()
    fig = compare_plots._bars_figure(report, 1)
    (ax,) = fig.axes
    means = [s[k] for s in report["summary"] for k in ("ar_target_mean", "ar_ideal_mean")]
    bottom, top = ax.get_ylim()
    assert 0 < bottom < min(means) and max(means) < top
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "best-known cut (AR = 1)" in legend
    assert top >= 1.0 or "best-known cut: AR = 1 (above)" in texts(fig)
    conv = compare_plots._convergence_figure(report["cells"], 1)
    assert conv.axes[0].get_ylim()[0] > 0.3
    assert "ideal AR of the final points (mean)" in " ".join(texts(conv))


def test_landscape_ideal_star_is_drawn_over_the_noisy_ring_at_the_same_point():
    entry = make_report()["landscapes"][0]
    entry["noisy_optimum"] = entry["ideal_optimum"]
    fig = compare_plots._landscape_figure(entry)
    ax = fig.axes[0]
    by_label = {c.get_label(): c for c in ax.collections if c.get_label() in ("ideal optimum", "noisy optimum")}
    assert by_label["ideal optimum"].get_zorder() > by_label["noisy optimum"].get_zorder()
    assert by_label["noisy optimum"].get_facecolor().size == 0  # hollow: the star shows through


def test_meta_history_starts_at_iteration_zero():
    history = [{"stage": "ideal", "iteration": 0, "start_val_ar": 0.7, "val_ar": 0.7}] + make_history()
    fig = training_plots._meta_figure(history)
    ax = fig.axes[1]
    start = next(l for l in ax.get_lines() if l.get_label().startswith("validation AR before training"))
    assert list(start.get_xdata()) == [0.0] and list(start.get_ydata()) == [0.7]
    assert ax.get_xlim()[0] < 0.0  # the iteration-0 marker is not clipped
