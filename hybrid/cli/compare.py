"""``hybrid compare``: the sweep of targets x starts x depths, its summary table and figures."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .app import LEDGER_OPTION, _config_with_flags, _fail, _on_sigterm, _run_errors, app, console


# ---------------------------------------------------------------------------- compare, plot, demo
def print_summary(report: dict, title: str) -> None:
    """The compare summary table (also used by ``hybrid jobs resume`` of a compare sweep)."""
    table = Table(title=title)
    for col in ("target", "init", "p", "graphs", "AR target", "AR ideal (re-scored)", "evals", "shots", "wall s", "optimum shift"):
        table.add_column(col, justify="right" if col not in ("target", "init") else "left")
    for r in report["summary"]:
        table.add_row(
            r["label"], r["init"], str(r["p"]), str(r["graphs"]),
            f"{r['ar_target_mean']:.4f} ± {r['ar_target_std']:.4f}", f"{r['ar_ideal_mean']:.4f} ± {r['ar_ideal_std']:.4f}",
            f"{r['evaluations_mean']:.0f}", f"{r['shots_mean']:.0f}", f"{r['wall_time_mean']:.1f}", f"{r['optimum_shift_mean']:.3f}",
        )
    console.print(table)


@app.command()
def compare(
    config: Optional[Path] = typer.Option(None, "-c", "--config", help="compare YAML (flags override it)"),
    graphs: Optional[Path] = typer.Option(None, "--graphs", help="graph JSON file"),
    backends: Optional[str] = typer.Option(
        None, "--backends", help="comma-separated TARGET[+TECHNIQUE...], e.g. ideal,fake:torino,fake:torino+zne+rem"
    ),
    init: Optional[str] = typer.Option(None, "--init", help="comma-separated strategies, e.g. learned,fixed,tqa,random"),
    p: Optional[str] = typer.Option(None, "--p", help="comma-separated depths, e.g. 1,2"),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="adam:STEPS, sgd:STEPS, spsa:STEPS, cobyla:STEPS"),
    shots: Optional[int] = typer.Option(None, "--shots", help="default: exact where the target allows it"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="directory for compare.json, compare.csv and figures/"),
    executor: Optional[str] = typer.Option(None, "--executor", help="local (default), ray or ray:ADDRESS"),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="draw the figures into OUT/figures"),
    ledger: Optional[Path] = LEDGER_OPTION,
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the sweep in the ledger (default: time-stamped)"),
) -> None:
    """Noisy vs mitigated vs ideal: run the grid (every cell in the ledger), re-score exactly, write table and figures."""
    from hybrid.compare import CompareConfig, start_compare
    from hybrid.executors import ExecutorError
    from hybrid.ledger import Ledger

    _on_sigterm()
    try:
        split = lambda text: [x.strip() for x in text.split(",") if x.strip()]  # noqa: E731
        try:
            depths = [int(x) for x in split(p)] if p else None
        except ValueError:
            _fail(f"--p must be comma-separated integers, got {p!r}")
        flags = {
            "graphs": str(graphs) if graphs else None,
            "backends": split(backends) if backends else None,
            "inits": split(init) if init else None,
            "ps": depths,
            "optimizer": optimizer, "shots": shots, "seed": seed, "out": str(out) if out else None,
            "executor": executor,
        }
        cfg = _config_with_flags(config, flags, CompareConfig)
        with Ledger(ledger) as led:
            rid = start_compare(cfg, led, run_id)
            console.print(f"run id: {rid} (ledger {led.path})")
            report = _drive_compare(led, rid)
    except (*_run_errors(), ExecutorError) as exc:
        _fail(str(exc))
    _finish_compare(report, plots)


def _drive_compare(led, rid: str) -> dict:
    from hybrid.compare import execute_compare

    try:
        return execute_compare(led, rid)
    except KeyboardInterrupt:
        _fail(f"compare sweep {rid} interrupted; resume it with `hybrid jobs resume {rid}`")


def _finish_compare(report: dict, plots: bool = True) -> None:
    """Summary table, where the files are, and the figures."""
    out = Path(report["config"]["out"])
    if report.get("already_done"):
        console.print(f"compare sweep {report['run_id']} is already done; report: {out / 'compare.json'}")
        return
    wall = report.get("wall_time", 0.0)
    print_summary(report, f"compare {report['run_id']} ({len(report['cells'])} runs, {wall:.0f} s)")
    console.print(f"table: {out / 'compare.csv'}, report: {out / 'compare.json'}")
    if plots:
        from hybrid.plots import plot_directory

        paths = plot_directory(out)
        console.print(f"{len(paths)} figure files in {out / 'figures'}")
