"""Noisy vs mitigated vs ideal: a grid of warm-started runs, re-scored exactly, tabulated.

The grid is graphs x targets (``spec`` or ``spec+mitigation``, e.g.
``fake:torino+zne+rem``) x initial strategies x depths. Each cell is one *unit* of
plain data (graph JSON, target label, strategy, depth, optimiser, shots, seed) run
by :func:`run_unit`, which rebuilds targets locally: units can go to any executor.

For every cell the final parameters are re-scored on the exact ideal simulator,
and the *optimum shift* is the distance (radians, after folding the symmetries)
between the parameters found on the target and the ideal optimum reached from the
same start. Optionally, p = 1 landscapes (ideal and noisy) are computed for the
figures. Figures are drawn by :mod:`hybrid.plots` from the saved report only.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from pydantic import Field

from .config import ConfigError, _Strict

REPORT_FILE = "compare.json"
TABLE_FILE = "compare.csv"
#: Adam steps used to find the ideal optimum from each start (exact gradients).
IDEAL_OPTIMUM_STEPS = 300
IDEAL_OPTIMUM_LR = 0.02


class LandscapeConfig(_Strict):
    enabled: bool = True
    points: int = 17  # grid points per axis
    graphs: int = 1  # landscapes for the first this-many graphs
    max_n: int = 10  # noisy landscapes only for graphs this small (density matrices)


class CompareConfig(_Strict):
    """``hybrid compare -c FILE``: the grid and how each cell runs."""

    graphs: str
    backends: list[str] = Field(default_factory=lambda: ["ideal", "fake:torino", "fake:torino+zne+rem"])
    inits: list[str] = Field(default_factory=lambda: ["learned", "fixed"])
    ps: list[int] = Field(default_factory=lambda: [1])
    optimizer: str = "adam:20"
    shots: int | None = None  # None: exact where the target allows it
    seed: int = 0
    out: str = "results/compare"
    executor: str = "local"  # local, ray or ray:ADDRESS (see hybrid.executors)
    landscape: LandscapeConfig = Field(default_factory=LandscapeConfig)


def split_label(label: str) -> tuple[str, str]:
    """``"fake:torino+zne+rem"`` -> ``("fake:torino", "zne+rem")``; no suffix -> ``"none"``."""
    spec, _, mitigation = label.partition("+")
    return spec.strip(), (mitigation.strip() or "none")


def make_units(cfg: CompareConfig) -> list[dict[str, Any]]:
    """The grid as plain-data units, in a fixed order (graph-major)."""
    from .optimize import parse_optimizer
    from .device_graphs import load_graphs

    parse_optimizer(cfg.optimizer)
    if not cfg.backends or not cfg.inits or not cfg.ps:
        raise ConfigError("backends, inits and ps must each list at least one entry")
    problems = [pr.with_max_cut() for pr in load_graphs(cfg.graphs)]
    units = []
    for gi, problem in enumerate(problems):
        for label in cfg.backends:
            spec, mitigation = split_label(label)
            for init in cfg.inits:
                for p in cfg.ps:
                    units.append(
                        {
                            "graph": problem.to_dict(),
                            "label": label,
                            "backend": spec,
                            "mitigation": mitigation,
                            "init": init,
                            "p": int(p),
                            "optimizer": cfg.optimizer,
                            "shots": cfg.shots,
                            "seed": int(np.random.SeedSequence([cfg.seed, gi]).generate_state(1)[0]),
                        }
                    )
    return units


def _oracle(problem, p: int, spec: str, mitigation: str, shots: int | None):
    from backends import cached_target

    from .evaluate import make_oracle

    return make_oracle(problem, p, cached_target(spec), shots=shots, mitigation=mitigation)


def ideal_optimum(problem, p: int, start: Sequence[float]) -> np.ndarray:
    """The ideal optimum reached from ``start`` by Adam on exact gradients."""
    from .evaluate import ideal_oracle
    from .optimize import descend

    res = descend(ideal_oracle(problem, p), start, optimizer="adam", lr=IDEAL_OPTIMUM_LR, max_steps=IDEAL_OPTIMUM_STEPS, tol=1e-10)
    return res.theta


def parameter_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Distance between two parameter vectors after folding the QAOA symmetries."""
    from .ansatz import canonical_params

    return float(np.linalg.norm(canonical_params(a) - canonical_params(b)))


def run_unit(unit: dict[str, Any]) -> dict[str, Any]:
    """Run one cell; returns the cell record of the report (plain data)."""
    from .optimize import optimize_graph
    from .problems import MaxCutProblem

    problem = MaxCutProblem.from_dict(unit["graph"]).with_max_cut()
    oracle = _oracle(problem, unit["p"], unit["backend"], unit["mitigation"], unit["shots"])
    result = optimize_graph(
        problem,
        oracle,
        p=unit["p"],
        init=unit["init"],
        optimizer=unit["optimizer"],
        seed=unit["seed"],
        target=unit["label"],
        mitigation=unit["mitigation"],
    )
    optimum = ideal_optimum(problem, unit["p"], result.init_params)
    return {
        "graph": problem.id,
        "n": problem.n,
        "backend": unit["backend"],
        "mitigation": unit["mitigation"],
        "label": unit["label"],
        "init": unit["init"],
        "p": unit["p"],
        "optimum_shift": parameter_distance(result.final_params, optimum),
        "ideal_optimum": optimum.tolist(),
        "result": result.to_dict(),
    }


def summarise(cells: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and spread per (target label, init, p)."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for cell in cells:
        groups.setdefault((cell["label"], cell["init"], cell["p"]), []).append(cell)
    rows = []
    for (label, init, p), group in groups.items():
        res = [c["result"] for c in group]
        col = lambda key: np.array([r[key] for r in res], dtype=float)  # noqa: E731
        shifts = np.array([c["optimum_shift"] for c in group], dtype=float)
        rows.append(
            {
                "label": label,
                "backend": group[0]["backend"],
                "mitigation": group[0]["mitigation"],
                "init": init,
                "p": p,
                "graphs": len(group),
                "ar_target_mean": float(col("ar_final").mean()),
                "ar_target_std": float(col("ar_final").std()),
                "ar_ideal_mean": float(col("ideal_ar_final").mean()),
                "ar_ideal_std": float(col("ideal_ar_final").std()),
                "ar_init_target_mean": float(col("ar_init").mean()),
                "evaluations_mean": float(col("evaluations").mean()),
                "shots_mean": float(col("shots").mean()),
                "wall_time_mean": float(col("wall_time").mean()),
                "optimum_shift_mean": float(shifts.mean()),
            }
        )
    return rows


def landscape(problem, spec: str, points: int, starts: dict[str, list[float]], with_noisy: bool) -> dict[str, Any]:
    """p = 1 AR over gamma in [0, pi/w) and beta in [-pi/4, pi/4), ideal and (exact) noisy."""
    from .ansatz import weight_scale
    from .evaluate import ideal_oracle, make_oracle

    gammas = np.linspace(0, np.pi / weight_scale(problem), points, endpoint=False)
    betas = np.linspace(-np.pi / 4, np.pi / 4, points, endpoint=False)
    grid = np.array([[g, b] for g in gammas for b in betas])
    ideal = ideal_oracle(problem, 1).evaluate(grid).energies.reshape(points, points) / problem.max_cut
    out = {
        "graph": problem.id,
        "n": problem.n,
        "max_cut": problem.max_cut,
        "backend": spec,
        "gammas": gammas.tolist(),
        "betas": betas.tolist(),
        "ideal": ideal.tolist(),
        "noisy": None,
        "ideal_optimum": grid[int(np.argmax(ideal))].tolist(),
        "noisy_optimum": None,
        "starts": starts,
    }
    if with_noisy and spec != "ideal":
        from backends import cached_target

        target = cached_target(spec)
        if getattr(target, "exact", False):
            noisy = make_oracle(problem, 1, target).evaluate(grid).energies.reshape(points, points) / problem.max_cut
            out["noisy"] = noisy.tolist()
            out["noisy_optimum"] = grid[int(np.argmax(noisy))].tolist()
    return out


def run_compare(
    cfg: CompareConfig,
    *,
    executor=None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the grid (``cfg.executor``, in process by default), add landscapes, write JSON + CSV."""
    from rich.progress import Progress

    from .executors import get_executor
    from .problems import MaxCutProblem

    own_executor = executor is None
    if own_executor:
        executor = get_executor(cfg.executor)

    started = time.perf_counter()
    units = make_units(cfg)
    extra = 0
    if cfg.landscape.enabled and 1 in cfg.ps:
        extra = min(cfg.landscape.graphs, len({json.dumps(u["graph"]) for u in units}))
    with Progress(disable=not progress) as bar:
        task = bar.add_task("compare", total=len(units) + extra)
        advance = lambda: bar.advance(task)  # noqa: E731
        try:
            cells = executor.map_units(run_unit, units, advance)
        finally:
            if own_executor:
                executor.shutdown()
        landscapes = []
        if extra:
            noisy_specs = [split_label(lbl)[0] for lbl in cfg.backends if split_label(lbl)[0] != "ideal"]
            seen: list[str] = []
            for cell in cells:
                if cell["graph"] in seen or len(seen) >= extra or cell["p"] != 1:
                    continue
                seen.append(cell["graph"])
                unit = next(u for u in units if u["graph"]["id"] == cell["graph"])
                problem = MaxCutProblem.from_dict(unit["graph"]).with_max_cut()
                starts = {
                    c["init"]: c["result"]["init_params"]
                    for c in cells
                    if c["graph"] == cell["graph"] and c["p"] == 1 and c["mitigation"] == "none"
                }
                spec = noisy_specs[0] if noisy_specs else "ideal"
                landscapes.append(landscape(problem, spec, cfg.landscape.points, starts, problem.n <= cfg.landscape.max_n))
                advance()
    report = {
        "config": json.loads(cfg.model_dump_json()),
        "cells": cells,
        "summary": summarise(cells),
        "landscapes": landscapes,
        "wall_time": time.perf_counter() - started,
    }
    write_report(report, Path(cfg.out))
    return report


SUMMARY_COLUMNS = (
    "label", "init", "p", "graphs", "ar_target_mean", "ar_target_std", "ar_ideal_mean", "ar_ideal_std",
    "ar_init_target_mean", "evaluations_mean", "shots_mean", "wall_time_mean", "optimum_shift_mean",
)


def write_report(report: dict[str, Any], out: Path) -> None:
    import csv

    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_FILE).write_text(json.dumps(report, indent=1))
    with open(out / TABLE_FILE, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SUMMARY_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in report["summary"]:
            writer.writerow(row)


def load_report(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    file = path / REPORT_FILE if path.is_dir() else path
    if not file.exists():
        raise ConfigError(f"no compare report at {file}; run `hybrid compare` first")
    return json.loads(file.read_text())
