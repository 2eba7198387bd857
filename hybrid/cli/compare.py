"""``hybrid compare``: the sweep of targets x starts x depths, its summary table and figures."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import LEDGER_OPTION, YES_OPTION, _ask, _config_with_flags, _fail, _run_errors, app, console, ledger_path, new_run_id, register_and_drive


# ---------------------------------------------------------------------------- compare, plot, demo
@app.command()
def compare(
    config: Optional[Path] = typer.Option(None, "-c", "--config", help="compare YAML (flags override it)"),
    graphs: Optional[Path] = typer.Option(None, "--graphs", help="a graph JSON file, or heavyhex:DEVICE[:N][:weighted][:seed=S]"),
    backends: Optional[str] = typer.Option(
        None, "--backends", help="comma-separated TARGET[+TECHNIQUE...], e.g. ideal,fake:torino+zne+rem; targets: {TARGETS}; techniques: {TECHNIQUES}"
    ),
    init: Optional[str] = typer.Option(None, "--init", help="comma-separated start strategies, NAME[:ARG]: {STRATEGIES}"),
    p: Optional[str] = typer.Option(None, "--p", help="comma-separated depths, e.g. 1,2"),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="Phase II optimiser: {OPTIMIZERS}"),
    shots: Optional[int] = typer.Option(None, "--shots", help="default: exact where the target allows it"),
    objective: Optional[str] = typer.Option(None, "--objective", help="expectation (default) or cvar:ALPHA, e.g. cvar:0.1"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="an empty folder (or this sweep's own) for compare.json, compare.csv and figures/ (default results/<run_id>)"),
    executor: Optional[str] = typer.Option(None, "--executor", help="local (default), ray or ray:ADDRESS"),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="draw the figures into OUT/figures"),
    ledger: Optional[Path] = LEDGER_OPTION,
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the sweep in the ledger (default: time-stamped)"),
    yes: bool = YES_OPTION,
) -> None:
    """Noisy vs mitigated vs ideal: run the grid (every cell in the ledger), re-score exactly, write table and figures."""
    from hybrid.compare import CompareConfig
    from hybrid.executors import ExecutorError
    from hybrid.kinds.compare import KIND

    try:
        split = lambda text: [x.strip() for x in text.split(",") if x.strip()]  # noqa: E731
        try:
            depths = [int(x) for x in split(p)] if p is not None else None
        except ValueError:
            _fail(f"--p must be comma-separated integers, got {p!r}")
        flags = {
            "graphs": str(graphs) if graphs else None,
            "backends": split(backends) if backends is not None else None,
            "inits": split(init) if init is not None else None,
            "ps": depths,
            "optimizer": optimizer, "shots": shots, "objective": objective, "seed": seed, "out": str(out) if out else None,
            "executor": executor, "plots": None if plots else False,
        }
        cfg = _config_with_flags(config, flags, CompareConfig)
        plan = KIND.validate(cfg, new_run_id(run_id), ledger_path(ledger), yes=yes, ask=_ask, announce=console.print)
        report = register_and_drive(KIND, ledger, plan)
    except (*_run_errors(), ExecutorError) as exc:
        _fail(str(exc))
    KIND.report(report, console)
