"""``hybrid benchmark`` (equal budgets), ``hybrid paper-benchmark`` and ``hybrid fit-baselines``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .app import LEDGER_OPTION, YES_OPTION, _ask, _fail, _run_errors, app, console, ledger_path, new_run_id, register_and_drive


@app.command("paper-benchmark")
def paper_benchmark_cmd(
    models: str = typer.Option("learned", "--models", help="comma-separated: learned, learned:NAME or .pt paths"),
    graphs: Optional[Path] = typer.Option(None, "--graphs", help="paper_maxcut_graphs.json (default: the copy shipped in hybrid/data/paper)"),
    reference: Optional[Path] = typer.Option(None, "--reference", help="paper_reference_results.json"),
    limit: Optional[int] = typer.Option(None, "--limit", help="only the first N graphs"),
    depths: str = typer.Option("2,3", "--depths", help="depths p > 1 for the learned vs TQA/INTERP check ('' = none)"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the full report JSON here"),
    seed: int = typer.Option(0, "--seed"),
    ledger: Optional[Path] = LEDGER_OPTION,
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the benchmark in the ledger (default: time-stamped)"),
) -> None:
    """The paper's 90-graph benchmark: Phase I / Phase II ARs and iterations, ours vs the paper's.

    A run in the ledger: each finished cell is recorded; `hybrid jobs resume RUN_ID` finishes a killed one."""
    from hybrid.kinds.paper_benchmark import KIND

    try:
        depth_list = [int(d) for d in depths.split(",") if d.strip()]
    except ValueError:
        _fail(f"--depths must be comma-separated integers, got {depths!r}")
    try:
        plan = KIND.validate(
            [m.strip() for m in models.split(",") if m.strip()], new_run_id(run_id), graphs_path=graphs,
            reference_path=reference, seed=seed, limit=limit, depths=depth_list, out=out,
        )
        report = register_and_drive(KIND, ledger, plan)
    except (*_run_errors(), OSError, ValueError) as exc:
        _fail(str(exc))
    KIND.report(report, console)


@app.command("fit-baselines")
def fit_baselines_cmd(
    per_family: int = typer.Option(6, "--per-family", help="training graphs per family (split 'train')"),
    depths: str = typer.Option("1,2,3,4,5", "--depths", help="depths to fit"),
    seed: int = typer.Option(0, "--seed"),
    check_tables: bool = typer.Option(False, "--check-tables", help="also re-check the fixed-angle tables"),
    out: Optional[Path] = typer.Option(None, "--out", help="default: the package's strategies/data/baselines.json"),
) -> None:
    """Fit the start baselines (constant, regression, tqa, lrqaoa, transfer) on training graphs only."""
    from hybrid.strategies.fit import BASELINES_PATH, TABLES_PATH, fit_baselines, verify_fixed_angle_tables, write_json

    try:
        depth_list = [int(d) for d in depths.split(",") if d.strip()]
    except ValueError:
        _fail(f"--depths must be comma-separated integers, got {depths!r}")
    if not depth_list or min(depth_list) < 1:
        _fail(f"--depths must list depths >= 1, got {depths!r}")
    if check_tables:
        tables = json.loads(TABLES_PATH.read_text())
        for item in tables.pop("left_out", []):  # re-check entries left out before
            tables["angles"].setdefault(str(item["d"]), {})[str(item["p"])] = item["entry"]
        for by_p in tables["angles"].values():
            for entry in by_p.values():
                entry.pop("check", None)
        write_json(verify_fixed_angle_tables(tables, log=console.print), TABLES_PATH)
        console.print(f"fixed-angle tables checked: {TABLES_PATH}")
    doc = fit_baselines(per_family, depth_list, seed=seed, log=console.print)
    path = write_json(doc, out or BASELINES_PATH)
    console.print(f"baselines written to {path}")


@app.command("benchmark")
def benchmark_cmd(
    quick: bool = typer.Option(False, "--quick", help="the small form (< 15 min on 2 cores): few graphs, p <= 3"),
    config: Optional[Path] = typer.Option(None, "-c", "--config", help="a benchmark config JSON (BenchmarkConfig.to_dict)"),
    out: Optional[Path] = typer.Option(None, "--out", help="an empty folder for results.json, tables.md, figures/ (default results/<run_id>)"),
    best_known: Optional[Path] = typer.Option(None, "--best-known", help="best-known AR cache (default OUT/best_known.json)"),
    graphs: Optional[Path] = typer.Option(None, "--graphs", help="the paper's graphs (default: the copy shipped in hybrid/data/paper)"),
    write_auto: Optional[Path] = typer.Option(
        None, "--write-auto", help="merge the fitted `auto` table into this JSON file (default: written nowhere)"
    ),
    ledger: Optional[Path] = LEDGER_OPTION,
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the benchmark in the ledger (default: time-stamped)"),
    yes: bool = YES_OPTION,
) -> None:
    """Every start at equal budgets (0, 10, 30, 100 evaluations, Phase I included) with COBYLA, SPSA and Adam.

    A run in the ledger: each finished cell is recorded; `hybrid jobs resume RUN_ID` finishes a killed one."""
    from hybrid.benchmark import FULL, QUICK, BenchmarkConfig
    from hybrid.kinds.benchmark import KIND

    if config is not None:
        try:
            cfg = BenchmarkConfig.from_dict(json.loads(config.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _fail(f"--config {config}: {exc}")
    else:
        cfg = QUICK if quick else FULL
    try:
        plan = KIND.validate(cfg, new_run_id(run_id), ledger_path(ledger), out, best_known=best_known, graphs=graphs,
                             write_auto=write_auto, yes=yes, ask=_ask, announce=console.print)
        report = register_and_drive(KIND, ledger, plan)
    except (*_run_errors(), OSError, ValueError) as exc:
        _fail(str(exc))
    KIND.report(report, console)
