"""Noisy vs mitigated vs ideal: a grid of warm-started runs, re-scored exactly, tabulated.

The grid is graphs x targets (``TARGET[+TECHNIQUE...]``, e.g. ``fake:torino+zne+rem``,
parsed by :func:`hybrid.validation.parse_target_spec`) x initial strategies x depths.
Each cell is one *unit* of plain data (graph JSON, target label, strategy, depth,
optimiser, shots, seed).

A sweep is a run in the ledger (``spec["kind"] == "compare"``): in process, every cell
goes through :func:`hybrid.runs.run_cell`, the per-graph execution of ``hybrid run``,
so each oracle call and each finished cell is recorded, and ``hybrid jobs resume RUN_ID``
finishes a killed sweep with the ``compare.json`` of an uninterrupted one (wall times
aside). On another executor (Ray) units go to workers through :func:`run_unit`, which
rebuilds targets there; the driver records each finished cell, a batch of one unit per
worker at a time.

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
from typing import Any, Callable, Sequence

import numpy as np
from pydantic import Field

from . import outputs
from .config import ConfigError, _Strict
from .runs import graph_seed, run_cell

COMPARE_KIND = "compare"
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
    objective: str = "expectation"  # or cvar:ALPHA (every cell maximises it; results keep <C> apart)
    seed: int = 0
    out: str | None = None  # None: results/<run_id>/
    executor: str = "local"  # local, ray or ray:ADDRESS (see hybrid.executors)
    plots: bool = True  # draw the figures into OUT/figures when the sweep ends (also after a resume)
    landscape: LandscapeConfig = Field(default_factory=LandscapeConfig)
    plots: bool = True  # draw OUT/figures at the end (--no-plots: recorded, so a resumed sweep keeps it)


def split_label(label: str) -> tuple[str, str]:
    """``"fake:torino+zne+rem"`` -> ``("fake:torino", "zne+rem")``; no suffix -> ``"none"``.

    The spec grammar of every command (:func:`hybrid.validation.parse_target_spec`)."""
    from .validation import parse_target_spec

    spec = parse_target_spec(label, flag="--backends")
    return spec.target, spec.mitigation


def make_units(cfg: CompareConfig) -> list[dict[str, Any]]:
    """The grid as plain-data units, in a fixed order (graph-major)."""
    from .validation import MAX_P, MAX_SHOTS, _check_int, check_objective, check_optimizer, check_seed, load_checked_graphs

    for key, flag in (("backends", "--backends"), ("inits", "--init"), ("ps", "--p")):
        if not getattr(cfg, key):
            raise ConfigError(f"{flag} (config key {key!r}) must list at least one entry, got none")
    check_optimizer(cfg.optimizer)
    check_seed(cfg.seed)
    for p in cfg.ps:
        _check_int(p, "--p", 1, MAX_P)
    _check_int(cfg.shots, "--shots", 1, MAX_SHOTS, " (or leave it out for exact simulation)")
    labels = [(label, *split_label(label)) for label in cfg.backends]
    objective = cfg.objective
    for _, _, mitigation in labels:
        objective = check_objective(cfg.objective, mitigation)
    problems = [pr.with_max_cut() for pr in load_checked_graphs(cfg.graphs)]
    units = []
    for gi, problem in enumerate(problems):
        for label, spec, mitigation in labels:
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
                            **({"objective": objective} if objective != "expectation" else {}),
                            "seed": graph_seed(cfg.seed, gi),
                        }
                    )
    return units


def cell_key(index: int, unit: dict[str, Any]) -> str:
    """The ledger key of the ``index``-th unit: its calls and its cell are recorded under it."""
    return f"{index}:{unit['graph']['id']}|{unit['label']}|{unit['init']}|p{unit['p']}"


def _oracle(problem, p: int, spec: str, mitigation: str, shots: int | None, objective: str = "expectation"):
    from backends import cached_target

    from .device_graphs import place_on_device
    from .oracle_factory import objective_oracle

    target = cached_target(spec)
    (problem,) = place_on_device([problem], target)  # a device-native graph file onto its qubits
    return objective_oracle(problem, p, target, objective=objective, shots=shots, mitigation=mitigation)


def ideal_optimum(problem, p: int, start: Sequence[float]) -> np.ndarray:
    """The ideal optimum reached from ``start`` by Adam on exact gradients."""
    from .oracles import ideal_oracle
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
    objective = unit.get("objective", "expectation")
    oracle = _oracle(problem, unit["p"], unit["backend"], unit["mitigation"], unit["shots"], objective)
    result = optimize_graph(
        problem,
        oracle,
        p=unit["p"],
        init=unit["init"],
        optimizer=unit["optimizer"],
        seed=unit["seed"],
        target=unit["label"],
        mitigation=unit["mitigation"],
        objective=objective,
    )
    return _cell(unit, problem, result)


def run_recorded_unit(unit: dict[str, Any], ledger, run_id: str, key: str) -> dict[str, Any]:
    """:func:`run_unit` through :func:`hybrid.runs.run_cell`: every oracle call in the ledger."""
    from backends import cached_target

    from .problems import MaxCutProblem

    problem = MaxCutProblem.from_dict(unit["graph"]).with_max_cut()
    result = run_cell(
        ledger, run_id, key, problem, cached_target(unit["backend"]),
        p=unit["p"], init=unit["init"], optimizer=unit["optimizer"], seed=unit["seed"], label=unit["label"],
        target_spec=unit["backend"], shots=unit["shots"], mitigation=unit["mitigation"],
        objective=unit.get("objective", "expectation"),
    )
    return _cell(unit, problem, result)


def _cell(unit: dict[str, Any], problem, result) -> dict[str, Any]:
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
                "qpu_seconds_mean": _qpu_seconds_mean(res),
                "wall_time_mean": float(col("wall_time").mean()),
                "optimum_shift_mean": float(shifts.mean()),
            }
        )
    return rows


def _qpu_seconds_mean(results: Sequence[dict[str, Any]]) -> float | None:
    """Mean estimated quantum seconds per graph (``qpu_seconds`` of each result); None where a target has no usage model."""
    values = [r.get("qpu_seconds") for r in results]
    return None if any(v is None for v in values) else float(np.mean(values))


#: Nelder-Mead evaluations that refine the noisy landscape's optimum off the grid.
REFINE_EVALUATIONS = 60


def refine(oracle, start) -> np.ndarray:
    """A grid optimum of an exact oracle refined by Nelder-Mead (:data:`REFINE_EVALUATIONS` points)."""
    from scipy.optimize import minimize

    res = minimize(lambda x: -float(oracle.evaluate(x).energies[0]), np.asarray(start, float), method="Nelder-Mead",
                   options={"maxfev": REFINE_EVALUATIONS, "xatol": 1e-3, "fatol": 1e-6})
    return np.asarray(res.x, float)


def landscape(problem, spec: str, points: int, starts: dict[str, list[float]], with_noisy: bool) -> dict[str, Any]:
    """p = 1 AR over gamma in [0, pi/w) and beta in [-pi/4, pi/4), ideal and (exact) noisy."""
    from .ansatz import weight_scale
    from .oracle_factory import make_oracle
    from .oracles import ideal_oracle

    gammas = np.linspace(0, np.pi / weight_scale(problem), points, endpoint=False)
    betas = np.linspace(-np.pi / 4, np.pi / 4, points, endpoint=False)
    grid = np.array([[g, b] for g in gammas for b in betas])
    ideal = problem.approximation_ratio(ideal_oracle(problem, 1).evaluate(grid).energies.reshape(points, points))
    out = {
        "graph": problem.id,
        "n": problem.n,
        "max_cut": problem.max_cut,
        "min_value": problem.min_value,
        "backend": spec,
        "gammas": gammas.tolist(),
        "betas": betas.tolist(),
        "ideal": ideal.tolist(),
        "noisy": None,
        "ideal_optimum": ideal_optimum(problem, 1, grid[int(np.argmax(ideal))]).tolist(),  # refined off the grid
        "noisy_optimum": None,
        "starts": starts,
    }
    if with_noisy and spec != "ideal":
        from backends import cached_target

        target = cached_target(spec)
        if target.exact:
            oracle = make_oracle(problem, 1, target)
            noisy = problem.approximation_ratio(oracle.evaluate(grid).energies.reshape(points, points))
            out["noisy"] = noisy.tolist()
            out["noisy_optimum"] = refine(oracle, grid[int(np.argmax(noisy))]).tolist()
    return out


def check_targets(cfg: CompareConfig, units: Sequence[dict[str, Any]]) -> None:
    """Every target of the grid resolves and fits every graph (one line naming ``--backends``);
    the fit is :func:`hybrid.validation.check_target_fits`, the rule ``hybrid run`` uses."""
    from backends import TargetError, cached_target

    from .problems import MaxCutProblem
    from .validation import check_target_fits

    problems = {u["graph"]["id"]: MaxCutProblem.from_dict(u["graph"]) for u in units}
    for spec, mitigation in dict.fromkeys((u["backend"], u["mitigation"]) for u in units):
        try:
            target = cached_target(spec)
        except TargetError as exc:
            raise TargetError(f"--backends {spec}: {exc}") from None
        check_target_fits(target, problems.values(), shots=cfg.shots, mitigation=mitigation, flag="--backends",
                          label=spec)


def estimate_compare(cfg: CompareConfig, units: list[dict[str, Any]]):
    """The sweep's cost: the sum of its runs' estimates (:func:`hybrid.validation.estimate_run`),
    one per (target, technique, start, depth) over the graphs; peak memory is the largest run's.
    The exact ideal re-scoring and the landscapes are not counted."""
    from backends import cached_target

    from .problems import MaxCutProblem
    from .runs import RunConfig
    from .validation import Estimate, estimate_run

    groups: dict[tuple, list] = {}
    for u in units:
        key = (u["backend"], u["mitigation"], u["init"], u["p"])
        groups.setdefault(key, []).append(MaxCutProblem.from_dict(u["graph"]))
    parts = []
    for (backend, mitigation, init, p), problems in groups.items():
        run = RunConfig(graphs=cfg.graphs, backend=backend, mitigation=mitigation, init=init, p=p,
                        optimizer=cfg.optimizer, shots=cfg.shots, seed=cfg.seed)
        parts.append(estimate_run(run, problems, cached_target(backend)))
    return Estimate(
        memory_bytes=max(e.memory_bytes for e in parts), seconds=sum(e.seconds for e in parts),
        evaluations=sum(e.evaluations for e in parts), method=", ".join(dict.fromkeys(e.method for e in parts)),
        largest_n=max(e.largest_n for e in parts),
    )


def validate_compare(cfg: CompareConfig, run_id: str, ledger_path, *, yes: bool = True,
                     ask: Callable[[str], bool] | None = None,
                     announce: Callable[[str], None] | None = None) -> tuple[dict[str, Any], str]:
    """Every check a sweep can fail, before the ledger is opened: ``(spec, target label)`` to register.

    The run id, the grid (graphs, starts at every depth, every target fits every graph), the
    executor, the out folder (empty, or already this sweep's in this ledger) and the time
    estimate (:func:`estimate_compare`): with ``yes=False`` a long sweep needs ``ask`` to say
    yes, as a long run does (:func:`hybrid.validation.confirm`); the command line passes
    ``yes=False`` unless ``--yes`` is given.
    """
    from .executors import check_executor
    from .validation import check_init, check_run_id, confirm, run_folder

    check_run_id(run_id)
    units = make_units(cfg)
    for init in cfg.inits:
        for p in cfg.ps:
            check_init(init, int(p))
    check_targets(cfg, units)
    check_executor(cfg.executor)
    spec = {"kind": COMPARE_KIND, **json.loads(cfg.model_dump_json())}
    spec["out"] = run_folder(cfg.out, run_id, ledger_path)
    estimate = estimate_compare(cfg, units)
    confirm(estimate, yes=yes, ask=ask, announce=announce)
    return spec, f"{COMPARE_KIND}:" + ",".join(cfg.backends)


def start_compare(cfg: CompareConfig, ledger, run_id: str | None = None) -> str:
    """Validate the grid (:func:`validate_compare`) and register the sweep in ``ledger``; nothing runs yet."""
    from .ledger import new_run_id

    run_id = run_id or new_run_id()
    spec, label = validate_compare(cfg, run_id, ledger.path)
    return ledger.create_run(spec, label, run_id=run_id)


def compare_config(record: dict[str, Any]) -> CompareConfig:
    """The :class:`CompareConfig` a compare sweep recorded in the ledger."""
    from .config import parse_config

    spec = {k: v for k, v in record["spec"].items() if k != "kind"}
    return parse_config(spec, CompareConfig, where=f"run {record['run_id']} spec")


def execute_compare(ledger, run_id: str, *, executor=None, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the sweep ``run_id`` to the end; writes ``OUT/compare.json`` and ``compare.csv``.

    Cells the ledger holds are taken from it, the cell that was cut short replays its
    recorded calls; a finished sweep is not run again (``already_done`` in the report).
    """
    from .ledger.sweeps import drive

    def execute(record: dict[str, Any]) -> dict[str, Any]:
        return _sweep(compare_config(record), ledger, run_id, executor, progress)

    return drive(ledger, run_id, COMPARE_KIND, execute, lambda record: _compare_done(ledger, record))


def _compare_done(ledger, record: dict[str, Any]) -> dict[str, Any]:
    cfg = compare_config(record)
    path = Path(cfg.out) / REPORT_FILE
    if outputs.owned_by(path, record["run_id"]):
        report = json.loads(path.read_text())
    else:
        report = partial_report(ledger, record["run_id"])
    report["already_done"] = True
    return report


def partial_report(ledger, run_id: str) -> dict[str, Any]:
    """The cells the ledger holds for a sweep, summarised; ``pending`` lists the cells not finished."""
    record = ledger.run(run_id)
    cfg = compare_config(record)
    stored = ledger.results(run_id)
    try:
        keys = [cell_key(i, u) for i, u in enumerate(make_units(cfg))]
    except ConfigError:  # the graph file moved: only recorded cells can be listed
        keys = list(stored)
    cells = [stored[k] for k in keys if k in stored]
    return {
        "run_id": run_id,
        "status": record["status"],
        "complete": record["status"] == "done" and len(cells) == len(keys),
        "config": json.loads(cfg.model_dump_json()),
        "cells": cells,
        "summary": summarise(cells),
        "landscapes": [],
        "pending": [k for k in keys if k not in stored],
    }


def _sweep(cfg: CompareConfig, ledger, run_id: str, executor, progress: bool) -> dict[str, Any]:
    from rich.progress import Progress

    from .executors import LocalExecutor, get_executor

    started = time.perf_counter()
    folder = outputs.claim_folder(cfg.out, run_id, ledger.path, COMPARE_KIND, flag="--out")
    units = make_units(cfg)
    keys = [cell_key(i, u) for i, u in enumerate(units)]
    done = ledger.results(run_id)
    extra = 0
    if cfg.landscape.enabled and 1 in cfg.ps:
        extra = min(cfg.landscape.graphs, len({json.dumps(u["graph"]) for u in units}))
    own_executor = executor is None
    if own_executor:
        executor = get_executor(cfg.executor)
    with Progress(disable=not progress) as bar:
        task = bar.add_task("compare", total=len(units) + extra)
        advance = lambda: bar.advance(task)  # noqa: E731
        cells: list[dict[str, Any] | None] = [done.get(k) for k in keys]
        bar.advance(task, sum(c is not None for c in cells))
        pending = [i for i, c in enumerate(cells) if c is None]
        try:
            if isinstance(executor, LocalExecutor):
                for i in pending:
                    cells[i] = run_recorded_unit(units[i], ledger, run_id, keys[i])
                    ledger.record_result(run_id, keys[i], cells[i])
                    advance()
            else:  # workers cannot reach the ledger: record each batch of one unit per worker
                size = max(1, int(executor.workers))
                for start in range(0, len(pending), size):
                    batch = pending[start : start + size]
                    for i, cell in zip(batch, executor.map_units(run_unit, [units[i] for i in batch], advance)):
                        cells[i] = cell
                        ledger.record_result(run_id, keys[i], cell)
        finally:
            if own_executor:
                executor.shutdown()
        landscapes = _landscapes(cfg, units, cells, extra, advance)
    report = {
        "run_id": run_id,
        "config": json.loads(cfg.model_dump_json()),
        "cells": cells,
        "summary": summarise(cells),
        "landscapes": landscapes,
        "wall_time": time.perf_counter() - started,
    }
    write_report(report, folder)
    return report


def _landscapes(cfg: CompareConfig, units, cells, extra: int, advance) -> list[dict[str, Any]]:
    from .problems import MaxCutProblem

    landscapes: list[dict[str, Any]] = []
    if not extra:
        return landscapes
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
    return landscapes


def run_compare(
    cfg: CompareConfig,
    *,
    executor=None,
    progress: bool = True,
    ledger=None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Register and run the grid (``cfg.executor``, in process by default), add landscapes, write JSON + CSV.

    Every cell is recorded in ``ledger`` (a :class:`~hybrid.ledger.Ledger`; a throw-away
    one in a temporary folder when None) as the sweep ``run_id`` (default: time-stamped).
    """
    from .ledger import Ledger

    if ledger is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="compare-ledger-") as tmp, Ledger(Path(tmp) / "ledger.db") as own:
            return run_compare(cfg, executor=executor, progress=progress, ledger=own, run_id=run_id)
    run_id = start_compare(cfg, ledger, run_id)
    return execute_compare(ledger, run_id, executor=executor, progress=progress)


SUMMARY_COLUMNS = (
    "label", "init", "p", "graphs", "ar_target_mean", "ar_target_std", "ar_ideal_mean", "ar_ideal_std",
    "ar_init_target_mean", "evaluations_mean", "shots_mean", "qpu_seconds_mean", "wall_time_mean", "optimum_shift_mean",
)


def write_report(report: dict[str, Any], out: Path) -> None:
    """``compare.json`` and ``compare.csv`` into the folder ``out`` (claimed by the caller), each atomically."""
    import csv
    import io

    outputs.write_json(out / REPORT_FILE, report)
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=SUMMARY_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in report["summary"]:
        writer.writerow(row)
    outputs.atomic_write(out / TABLE_FILE, table.getvalue())


def load_report(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    file = path / REPORT_FILE if path.is_dir() else path
    if not file.exists():
        raise ConfigError(f"no compare report at {file}; run `hybrid compare` first")
    return json.loads(file.read_text())
