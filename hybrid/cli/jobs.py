"""``hybrid jobs list|show|fetch|resume``: the ledger's runs, whatever command registered them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .app import LEDGER_OPTION, _ar, _fail, _on_sigterm, _one_line, _run_errors, app, console
from .benchmark import drive_benchmark, print_benchmark
from .compare import _drive_compare, _finish_compare
from .run import _drive, _print_results, drive_evaluate, print_rows

jobs_app = typer.Typer(no_args_is_help=True, help="The job ledger: list, show, fetch and resume runs and compare sweeps.")
app.add_typer(jobs_app, name="jobs")

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
                report = drive_evaluate(led, run_id)
            elif kind in BENCHMARK_KINDS:
                report = drive_benchmark(led, run_id)
            else:
                report = _drive(led, run_id)
    except _run_errors() as exc:
        _fail(str(exc))
    if kind == "compare":
        _finish_compare(report)
    elif kind == "evaluate":
        print_rows(report)
    elif kind in BENCHMARK_KINDS:
        print_benchmark(report)
    else:
        _print_results(report)
