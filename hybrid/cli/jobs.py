"""``hybrid run``, ``hybrid submit`` and ``hybrid jobs list|show|fetch|resume``: the ledger's commands.

Registered on :data:`hybrid.cli.app` when :mod:`hybrid.cli` is imported (split from it to
keep each file short); the shared helpers (one-line errors, config merging) live there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from . import (
    LEDGER_OPTION,
    YES_OPTION,
    _ar,
    _ask,
    _config_with_flags,
    _fail,
    _on_sigterm,
    _one_line,
    _run_errors,
    app,
    console,
)

jobs_app = typer.Typer(no_args_is_help=True, help="The job ledger: list, show, fetch and resume runs and compare sweeps.")
app.add_typer(jobs_app, name="jobs")


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


@jobs_app.command("list")
def jobs_list(ledger: Optional[Path] = LEDGER_OPTION) -> None:
    """Every run in the ledger (a run whose process is gone shows as interrupted)."""
    from hybrid.ledger import Ledger, LedgerError

    try:
        with Ledger(ledger, mode="read") as led:
            rows = led.runs()
            readonly = led.readonly
    except LedgerError as exc:
        _fail(str(exc))
    table = Table(title=f"runs ({len(rows)})" + (" [read-only ledger]" if readonly else ""))
    for col in ("run id", "created", "status", "target", "graphs (cells) done", "evaluations", "jobs"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["run_id"], r["created"], r["status"], r["target"], str(r["graphs_done"]), str(r["evaluations"]), str(r["jobs"]))
    console.print(table)


def _live_states(led, run_id: str) -> tuple[dict, str | None]:
    """Live job states from the service for ibm: runs, or why they are unavailable."""
    from backends import TargetError
    from hybrid.runs import live_job_states

    try:
        return live_job_states(led, run_id), None
    except (TargetError, OSError) as exc:
        return {}, _one_line(exc)


@jobs_app.command("show")
def jobs_show(run_id: str, ledger: Optional[Path] = LEDGER_OPTION) -> None:
    """A run's spec, progress, hardware jobs (recorded state, and live state for ibm:) and results so far."""
    from hybrid.ledger import Ledger, LedgerError

    try:
        with Ledger(ledger, mode="read") as led:
            run_row = led.run(run_id)
            live, offline = _live_states(led, run_id)
            evaluations = led.evaluations(run_id)
            jobs = led.jobs(run_id)
            results = led.results(run_id)
    except LedgerError as exc:
        _fail(str(exc))
    console.print(f"[bold]{run_id}[/bold]: {run_row['status']} on {run_row['target']} (created {run_row['created']})", soft_wrap=True)
    if run_row["error"]:
        console.print(run_row["error"], style="red", markup=False, soft_wrap=True)
    console.print_json(json.dumps(run_row["spec"]))
    done = sum(e["status"] == "done" for e in evaluations)
    console.print(
        f"oracle calls recorded: {done} done, {len(evaluations) - done} pending; "
        + (f"cells finished: {len(results)}" if _kind(run_row) in CELL_KINDS else f"graphs finished: {len(results)}")
    )
    if jobs:
        table = Table(title="hardware jobs")
        columns = ["job id", "graph", "call", "status"] + (["live"] if live or offline else []) + [
            "submitted", "finished", "resubmit of", "detail"]
        for col in columns:
            table.add_column(col, overflow="fold")
        for j in jobs:
            row = [j["job_id"], j["graph"], str(j["idx"]), j["status"]]
            if live or offline:
                row.append(live.get(j["job_id"], "-" if j["status"] != "submitted" else "unknown"))
            row += [j["created"], j["finished"] or "-", j["resubmit_of"] or "-", j["detail"] or ""]
            table.add_row(*row)
        console.print(table)
    if offline:
        console.print(f"live job states unavailable: {offline}", markup=False, soft_wrap=True)
    kind = _kind(run_row)
    if kind == "compare":
        console.print(f"compare cells finished: {len(results)} (graph|target|init|p)")
    for key, res in results.items():
        if kind in BENCHMARK_KINDS:
            console.print(f"  {key}: {_benchmark_cell(res)}", markup=False, soft_wrap=True)
            continue
        if kind == "evaluate":
            console.print(f"  {key}: start AR {res['ar_target']:.4f}, ideal {res['ar_ideal']:.4f}, {res['evaluations']} evaluations")
            continue
        res = res["result"] if kind == "compare" else res
        console.print(f"  {key}: AR {_ar(res['ar_init'])} -> {_ar(res['ar_final'])}, ideal {res['ideal_ar_final']:.4f}")


#: Runs registered by ``hybrid benchmark`` / ``hybrid paper-benchmark``: results are cells, not graphs.
BENCHMARK_KINDS = ("benchmark", "paper-benchmark")
CELL_KINDS = ("compare", *BENCHMARK_KINDS)


def _benchmark_cell(res) -> str:
    """One recorded benchmark cell in a line."""
    if not isinstance(res, dict):
        return "fitted value " + json.dumps(res)
    if "error" in res:
        return ("skipped: " if res.get("skipped") else "error: ") + res["error"]
    if "ar_target" in res:
        return f"AR {res['ar_target']:.4f} on the target, ideal {res['ar_ideal']:.4f}, {res['evaluations']} evaluations"
    if "ar_phase1" in res:
        return f"start AR {res['ar_phase1']:.4f}" + (f", SGD@300 {res['sgd_ar']['300']:.4f}" if "sgd_ar" in res else "")
    return ", ".join(f"{k} {v:.4f}" for k, v in res.items() if isinstance(v, float))


def _kind(record: dict) -> str:
    """``run``, ``compare``, ``evaluate``, ``benchmark`` or ``paper-benchmark``: which command registered the run."""
    from hybrid.ledger.sweeps import run_kind

    return run_kind(record)


@jobs_app.command("fetch")
def jobs_fetch(
    run_id: str,
    ledger: Optional[Path] = LEDGER_OPTION,
    out: Optional[Path] = typer.Option(None, "--out", help="write the results JSON here (default: the run's out dir)"),
) -> None:
    """Write what the ledger knows of a run to its results JSON; unfinished graphs are listed as pending."""
    from hybrid.ledger import Ledger
    from hybrid.runs import write_results

    try:
        with Ledger(ledger, mode="read") as led:
            kind = _kind(led.run(run_id))
            if kind == "compare":
                _fetch_compare(led, run_id, out)
                return
            if kind == "evaluate":
                _fetch_evaluate(led, run_id, out)
                return
            if kind in BENCHMARK_KINDS:
                _fetch_benchmark(led, run_id, out)
                return
            live, offline = _live_states(led, run_id)
            for job_id, state in live.items():
                console.print(f"job {job_id}: {state} (live)")
            if offline:
                console.print(f"offline, live job states unavailable: {offline}", markup=False, soft_wrap=True)
            report = write_results(led, run_id, out=out)
    except _run_errors() as exc:
        _fail(str(exc))
    pending = report["pending"]
    console.print(
        f"{run_id}: {report['status']}, {len(report['graphs'])} graph(s) finished"
        + ("" if report["complete"] else f", {len(pending)} graph(s) unfinished (marked 'pending' in the file)")
    )
    _print_results(report)


def _fetch_compare(led, run_id: str, out: Optional[Path]) -> None:
    """A compare sweep's cells so far: the finished sweep's compare.json, or a partial one listing the rest."""
    from hybrid.compare import REPORT_FILE, compare_config, load_report, partial_report, write_report

    record = led.run(run_id)
    folder = Path(compare_config(record).out)
    if record["status"] == "done" and (folder / REPORT_FILE).exists():
        report = load_report(folder)
        if report.get("run_id") != run_id:
            report = partial_report(led, run_id)
    else:
        report = partial_report(led, run_id)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1))
        path = out
    else:
        if record["status"] != "done":
            folder = folder / f"partial-{run_id}"  # never over a finished sweep's compare.json
        write_report(report, folder)
        path = folder / REPORT_FILE
    pending = report.get("pending", [])
    console.print(
        f"{run_id}: compare sweep {record['status']}, {len(report['cells'])} cell(s) finished"
        + (f", {len(pending)} unfinished (listed under 'pending')" if pending else "")
        + f"; written to {path}",
        soft_wrap=True,
    )


def _fetch_evaluate(led, run_id: str, out: Optional[Path]) -> None:
    """The rows of a ``hybrid evaluate`` run known so far (a JSON list, as ``hybrid evaluate --out`` writes)."""
    rows = list(led.results(run_id).values())
    path = out or Path("results") / run_id / "evaluate.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1))
    console.print(f"{run_id}: {led.run(run_id)['status']}, {len(rows)} graph(s) evaluated; written to {path}", soft_wrap=True)


def _fetch_benchmark(led, run_id: str, out: Optional[Path]) -> None:
    """A benchmark's cells so far: the equal-budget one summarised, the paper one as recorded cells."""
    from hybrid.equal_budget import partial_report

    record = led.run(run_id)
    if _kind(record) == "benchmark":
        default = Path(record["spec"]["out"]) / "results.json"
        report = json.loads(default.read_text()) if record["status"] == "done" and default.exists() else {}
        if report.get("run_id") != run_id:  # unfinished (or its results.json overwritten): never over a finished one
            report = partial_report(led, run_id)
            default = default.parent / f"partial-{run_id}" / "results.json"
    else:
        report = {"run_id": run_id, "status": record["status"], "spec": record["spec"], "cells": led.results(run_id)}
        default = Path("results") / run_id / "cells.json"
    path = out or default
    where = "results"
    if out is not None or not path.exists():  # a finished benchmark's own results.json is left as it is
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1))
        where = "written to"
    console.print(f"{run_id}: {_kind(record)} {record['status']}, {len(report['cells'])} cell(s) recorded; {where} {path}",
                  soft_wrap=True)


@jobs_app.command("resume")
def jobs_resume(run_id: str, ledger: Optional[Path] = LEDGER_OPTION) -> None:
    """Continue a run: recorded calls replayed, live jobs re-attached by id, failed jobs resubmitted."""
    from hybrid.ledger import Ledger

    _on_sigterm()
    try:
        with Ledger(ledger) as led:
            kind = _kind(led.run(run_id))
            if kind == "compare":
                report = _drive_compare(led, run_id)
            elif kind == "evaluate":
                from hybrid.cli import drive_evaluate

                report = drive_evaluate(led, run_id)
            elif kind in BENCHMARK_KINDS:
                from hybrid.cli import drive_benchmark

                report = drive_benchmark(led, run_id)
            else:
                report = _drive(led, run_id)
    except _run_errors() as exc:
        _fail(str(exc))
    if kind == "compare":
        _finish_compare(report)
    elif kind == "evaluate":
        from hybrid.cli import print_rows

        print_rows(report)
    elif kind in BENCHMARK_KINDS:
        from hybrid.cli import print_benchmark

        print_benchmark(report)
    else:
        _print_results(report)


def _drive_compare(led, rid: str) -> dict:
    from hybrid.compare import execute_compare

    try:
        return execute_compare(led, rid)
    except KeyboardInterrupt:
        _fail(f"compare sweep {rid} interrupted; resume it with `hybrid jobs resume {rid}`")


def _finish_compare(report: dict, plots: bool = True) -> None:
    """Summary table, where the files are, and the figures."""
    from hybrid.cli import print_summary

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


