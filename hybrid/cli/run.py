"""``hybrid run``, ``hybrid submit`` and ``hybrid evaluate``: register a run in the ledger and drive it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .app import LEDGER_OPTION, YES_OPTION, _ar, _ask, _config_with_flags, _fail, _on_sigterm, _run_errors, app, console


def _print_results(report: dict) -> None:
    if report.get("already_done"):
        console.print(f"run {report['run_id']} is already done; results: {report.get('path')}")
        return
    table = Table(title=f"run {report['run_id']} on {report['spec']['backend']} ({report['spec']['init']} start, {report['spec']['optimizer']})")
    for col in ("id", "n", "max cut", "AR init", "AR final", "ideal AR init", "ideal AR final", "evaluations", "shots", "best cut"):
        table.add_column(col, justify="right")
    for g in report["graphs"]:
        table.add_row(
            str(g["id"]), str(g["n"]), f"{g['max_cut']:g}", _ar(g["ar_init"]), _ar(g["ar_final"]),
            f"{g['ideal_ar_init']:.4f}", f"{g['ideal_ar_final']:.4f}", str(g["evaluations"]), str(g["shots"]),
            "-" if g["best_cut"] is None else f"{g['best_cut']:g}",
        )
    console.print(table)
    if report.get("path"):
        console.print(f"results: {report['path']}")


@app.command()
def run(
    config: Optional[Path] = typer.Option(None, "-c", "--config", help="run YAML (flags override it)"),
    graphs: Optional[Path] = typer.Option(None, "--graphs", help="graph JSON file"),
    backend: Optional[str] = typer.Option(
        None, "--backend", help="TARGET[+TECHNIQUE...]: ideal, aer, fake:<dev>, local:<dev>, ibm:<backend>, e.g. fake:torino+zne+rem"
    ),
    init: Optional[str] = typer.Option(None, "--init", help="learned[:NAME], fixed, tqa, interp, random"),
    p: Optional[int] = typer.Option(None, "--p", help="QAOA depth"),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="adam:STEPS, sgd:STEPS, spsa:STEPS, cobyla:STEPS"),
    mitigation: Optional[str] = typer.Option(None, "--mitigation", help="none, zne, rem, dd, zne+rem (or as --backend TARGET+zne+rem)"),
    shots: Optional[int] = typer.Option(None, "--shots", help="shots per circuit (default: exact where possible)"),
    gradient: Optional[str] = typer.Option(None, "--gradient", help="param_shift or fd (Phase II gradients)"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="directory for results.json"),
    ledger: Optional[Path] = LEDGER_OPTION,
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the run (default: time-stamped)"),
    yes: bool = YES_OPTION,
) -> None:
    """Warm-started QAOA (Phase I + Phase II) on every graph; results JSON + ledger entry."""
    from hybrid.ledger import Ledger
    from hybrid.runs import RunConfig, start_run

    _on_sigterm()

    try:
        flags = {
            "graphs": str(graphs) if graphs else None, "backend": backend, "init": init, "p": p,
            "optimizer": optimizer, "mitigation": mitigation, "shots": shots, "gradient": gradient,
            "seed": seed, "out": str(out) if out else None,
        }
        cfg = _config_with_flags(config, flags, RunConfig)
        with Ledger(ledger) as led:
            rid = start_run(cfg, led, run_id, yes=yes, ask=_ask, announce=console.print)
            console.print(f"run id: {rid} (ledger {led.path})")
            report = _drive(led, rid)
    except _run_errors() as exc:
        _fail(str(exc))
    _print_results(report)


def _drive(led, rid: str) -> dict:
    from hybrid.runs import execute_run

    try:
        return execute_run(led, rid, progress=lambda m: console.print(m))
    except KeyboardInterrupt:
        _fail(f"run {rid} interrupted; resume it with `hybrid jobs resume {rid}`")


@app.command()
def submit(
    spec: Path = typer.Argument(..., help="job spec YAML (see jobs/)"),
    ledger: Optional[Path] = LEDGER_OPTION,
    detach: Optional[bool] = typer.Option(None, "--detach/--foreground", help="default: detach for ibm: targets"),
    run_id: Optional[str] = typer.Option(None, "--run-id"),
    yes: bool = YES_OPTION,
) -> None:
    """Register a run from a job spec; QPU runs continue in the background and return the run id at once."""
    import subprocess

    from hybrid.ledger import Ledger
    from hybrid.runs import load_run_config, start_run

    try:
        if not spec.is_file():
            _fail(f"job spec {str(spec)!r} does not exist or is not a file")
        cfg = load_run_config(spec)
        with Ledger(ledger) as led:
            rid = start_run(cfg, led, run_id, yes=yes, ask=_ask, announce=console.print)
            path = led.path
            background = detach if detach is not None else cfg.backend.startswith("ibm:")
            if not background:
                _on_sigterm()
                console.print(f"run id: {rid}")
                report = _drive(led, rid)
                _print_results(report)
                return
    except _run_errors() as exc:
        _fail(str(exc))
    log_dir = Path(path).parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"{rid}.log", "ab")
    subprocess.Popen(
        [sys.executable, "-m", "hybrid.cli", "jobs", "resume", rid, "--ledger", str(path)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    console.print(f"submitted run {rid}; follow it with `hybrid jobs show {rid}` (log: {log_dir / (rid + '.log')})")


@app.command()
def evaluate(
    graphs: Path = typer.Option(..., "--graphs", help="graph JSON file"),
    backend: str = typer.Option("ideal", "--backend", help="TARGET[+TECHNIQUE...], e.g. ideal, fake:torino or fake:torino+rem"),
    p: int = typer.Option(1, "--p", help="QAOA depth"),
    init: str = typer.Option("learned", "--init", help="a start strategy: learned[:NAME], fixed, tqa, regression, auto, random:K, ..."),
    shots: int = typer.Option(0, "--shots", help="0 = exact where the target allows it"),
    seed: int = typer.Option(0, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the rows as JSON here"),
    ledger: Optional[Path] = typer.Option(None, "--ledger", help="ledger database (default jobs/ledger.db or $HYBRID_LEDGER)"),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the run in the ledger (default: time-stamped)"),
) -> None:
    """Warm-start every graph on a target: the start (learned, random:K: their Phase I) and its AR there and ideally.

    A run without Phase II: its oracle calls and rows are in the ledger (`hybrid jobs resume` finishes it)."""
    from hybrid.ledger import Ledger
    from hybrid.runs import EvaluateConfig, start_evaluate

    _on_sigterm()
    try:
        flags = {"graphs": str(graphs), "backend": backend, "p": p, "init": init, "shots": shots or None, "seed": seed}
        cfg = _config_with_flags(None, flags, EvaluateConfig)
        with Ledger(ledger) as led:
            rid = start_evaluate(cfg, led, run_id)
            report = drive_evaluate(led, rid)
    except (*_run_errors(), ValueError) as exc:
        _fail(str(exc))
    print_rows(report)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report["rows"], indent=1))
        console.print(f"rows written to {out}")


def drive_evaluate(led, rid: str) -> dict:
    from hybrid.runs import execute_evaluate

    try:
        return execute_evaluate(led, rid)
    except KeyboardInterrupt:
        _fail(f"run {rid} interrupted; resume it with `hybrid jobs resume {rid}`")


def print_rows(report: dict) -> None:
    """The table of ``hybrid evaluate`` (also printed by ``hybrid jobs resume`` of such a run)."""
    spec = report["spec"]
    table = Table(title=f"{spec['init']} start on {spec['backend']} (p={spec['p']}), run {report['run_id']}")
    for col in ("id", "n", "max cut", "params (gammas, betas)", f"AR on {spec['backend']}", "AR ideal", "evaluations"):
        table.add_column(col, justify="right")
    for r in report["rows"]:
        table.add_row(
            str(r["id"]), str(r["n"]), f"{r['max_cut']:g}", ", ".join(f"{x:.3f}" for x in r["params"]),
            f"{r['ar_target']:.4f}", f"{r['ar_ideal']:.4f}", str(r["evaluations"]),
        )
    console.print(table)
