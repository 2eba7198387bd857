"""``hybrid run``, ``hybrid submit`` and ``hybrid evaluate``: register a run in the ledger and drive it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from .app import LEDGER_OPTION, YES_OPTION, _ask, _config_with_flags, _fail, _run_errors, app, console, drive, ledger_path, new_run_id, register_and_drive

MAX_QPU_OPTION = typer.Option(
    None, "--max-qpu-seconds",
    help="stop each graph before a call would exceed this many estimated QPU quantum seconds (best point reported)",
)

@app.command()
def run(
    config: Optional[Path] = typer.Option(None, "-c", "--config", help="run YAML (flags override it)"),
    graphs: Optional[Path] = typer.Option(None, "--graphs", help="a graph JSON file, or heavyhex:DEVICE[:N][:weighted][:seed=S]"),
    backend: Optional[str] = typer.Option(
        None, "--backend", help="TARGET[+TECHNIQUE...], e.g. fake:torino+zne+rem; targets: {TARGETS}; techniques: {TECHNIQUES}"
    ),
    init: Optional[str] = typer.Option(None, "--init", help="the start strategy, NAME[:ARG]: {STRATEGIES}"),
    p: Optional[int] = typer.Option(None, "--p", help="QAOA depth"),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="Phase II optimiser: {OPTIMIZERS}"),
    mitigation: Optional[str] = typer.Option(None, "--mitigation", help="none, or techniques joined by +: {TECHNIQUES} (or as --backend TARGET+zne+rem)"),
    shots: Optional[int] = typer.Option(None, "--shots", help="shots per circuit (default: exact where possible)"),
    gradient: Optional[str] = typer.Option(None, "--gradient", help="Phase II gradient rule: {GRADIENTS} (default: fd exact, param_shift with shots)"),
    objective: Optional[str] = typer.Option(
        None, "--objective", help="expectation (default) or cvar:ALPHA, e.g. cvar:0.1: what Phase II maximises"
    ),
    seed: Optional[int] = typer.Option(None, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="an empty folder (or this run's own) for results.json (default results/<run_id>)"),
    ledger: Optional[Path] = LEDGER_OPTION,
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the run (default: time-stamped)"),
    max_qpu_seconds: Optional[float] = MAX_QPU_OPTION,
    execution: Optional[str] = typer.Option(
        None, "--execution",
        help="Runtime execution mode: batch (default: billed only the jobs' quantum seconds), session or job",
    ),
    yes: bool = YES_OPTION,
) -> None:
    """Warm-started QAOA (Phase I + Phase II) on every graph; results JSON + ledger entry."""
    from hybrid.kinds.run import KIND
    from hybrid.runs import RunConfig

    try:
        flags = {
            "graphs": str(graphs) if graphs else None, "backend": backend, "init": init, "p": p,
            "optimizer": optimizer, "mitigation": mitigation, "shots": shots, "gradient": gradient,
            "objective": objective, "seed": seed, "out": str(out) if out else None,
            "max_qpu_seconds": max_qpu_seconds, "execution": execution,
        }
        cfg = _config_with_flags(config, flags, RunConfig)
        plan = KIND.validate(cfg, new_run_id(run_id), ledger_path(ledger), yes=yes, ask=_ask, announce=console.print)
        report = register_and_drive(KIND, ledger, plan)
    except _run_errors() as exc:
        _fail(str(exc))
    KIND.report(report, console)


@app.command()
def submit(
    spec: Path = typer.Argument(..., help="job spec YAML (see jobs/)"),
    ledger: Optional[Path] = LEDGER_OPTION,
    detach: Optional[bool] = typer.Option(None, "--detach/--foreground", help="default: detach for ibm: targets"),
    run_id: Optional[str] = typer.Option(None, "--run-id"),
    max_qpu_seconds: Optional[float] = MAX_QPU_OPTION,
    yes: bool = YES_OPTION,
) -> None:
    """Register a run from a job spec; QPU runs continue in the background and return the run id at once."""
    import subprocess

    from hybrid.kinds.run import KIND
    from hybrid.ledger import Ledger
    from hybrid.runs import load_run_config

    try:
        if not spec.is_file():
            _fail(f"job spec {str(spec)!r} does not exist or is not a file")
        cfg = load_run_config(spec)
        if max_qpu_seconds is not None:
            cfg = cfg.model_copy(update={"max_qpu_seconds": max_qpu_seconds})
        try:
            plan = KIND.validate(cfg, new_run_id(run_id), ledger_path(ledger), yes=yes, ask=_ask, announce=console.print)
        except _run_errors() as exc:  # a job spec has keys, not flags (submit has no --backend)
            from hybrid.validation import as_file_keys

            _fail(as_file_keys(str(exc), spec, type(cfg).model_fields))
        with Ledger(ledger) as led:
            rid = KIND.register(led, plan)
            path = led.path
            background = detach if detach is not None else cfg.backend.startswith("ibm:")
            if not background:
                console.print(f"run id: {rid}")
                report = drive(KIND, led, rid)
                KIND.report(report, console)
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
    graphs: Path = typer.Option(..., "--graphs", help="a graph JSON file, or heavyhex:DEVICE[:N][:weighted][:seed=S]"),
    backend: str = typer.Option("ideal", "--backend", help="TARGET[+TECHNIQUE...], e.g. fake:torino+rem; targets: {TARGETS}; techniques: {TECHNIQUES}"),
    p: int = typer.Option(1, "--p", help="QAOA depth"),
    init: str = typer.Option("learned", "--init", help="the start strategy, NAME[:ARG]: {STRATEGIES}"),
    shots: int = typer.Option(0, "--shots", help="0 = exact where the target allows it"),
    seed: int = typer.Option(0, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the rows as JSON to this new file (an existing file is never replaced)"),
    ledger: Optional[Path] = typer.Option(None, "--ledger", help="ledger database (default jobs/ledger.db or $HYBRID_LEDGER)"),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the run in the ledger (default: time-stamped)"),
) -> None:
    """Warm-start every graph on a target: the start (learned, random:K: their Phase I) and its AR there and ideally.

    A run without Phase II: its oracle calls and rows are in the ledger (`hybrid jobs resume` finishes it)."""
    from hybrid.kinds.evaluate import KIND, write_rows
    from hybrid.ledger import Ledger
    from hybrid.evaluate import EvaluateConfig

    try:
        flags = {"graphs": str(graphs), "backend": backend, "p": p, "init": init, "shots": shots or None, "seed": seed}
        cfg = _config_with_flags(None, flags, EvaluateConfig)
        plan = KIND.validate(cfg, new_run_id(run_id), out)
        with Ledger(ledger) as led:
            rid = KIND.register(led, plan)
            report = drive(KIND, led, rid)
        KIND.report(report, console)
        if out:
            console.print(f"rows written to {write_rows(report, out)}")
    except (*_run_errors(), ValueError) as exc:
        _fail(str(exc))
