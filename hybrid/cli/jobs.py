"""``hybrid jobs list|show|fetch|resume``: the ledger's runs, whatever command registered them.

Each run's kind (:mod:`hybrid.kinds`) says how it is shown, fetched and resumed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .app import LEDGER_OPTION, _fail, _run_errors, app, console, drive

jobs_app = typer.Typer(no_args_is_help=True, help="The job ledger: list, show, fetch and resume runs of every kind ({KINDS}).")
app.add_typer(jobs_app, name="jobs")


def _seconds(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def _billed(row: dict) -> str:
    """What a run's execution is billed: its sessions' spans, else its jobs' quantum seconds."""
    from backends.usage import SessionUsage

    sessions = [SessionUsage.from_dict(s) for s in row.get("sessions") or ()]
    if any(s.mode == "session" for s in sessions):
        return _seconds(sum(s.billed_seconds for s in sessions))
    return _seconds(row.get("ibm_usage_seconds") or row.get("qpu_seconds"))


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
    for col in ("run id", "created", "status", "target", "graphs (cells) done", "oracle calls", "jobs",
                "QPU s (est.)", "billed s"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["run_id"], r["created"], r["status"], r["target"], str(r["graphs_done"]), str(r["evaluations"]),
                      str(r["jobs"]), _seconds(r["qpu_seconds"]), _billed(r))
    console.print(table)


@jobs_app.command("show")
def jobs_show(run_id: str, ledger: Optional[Path] = LEDGER_OPTION) -> None:
    """A run's spec, progress, hardware jobs (recorded state, and live state for ibm:) and results so far."""
    from hybrid.kinds import kind_of
    from hybrid.kinds.run import live_states
    from hybrid.ledger import Ledger, LedgerError

    try:
        with Ledger(ledger, mode="read") as led:
            run_row = led.run(run_id)
            kind = kind_of(run_row)
            live, offline = live_states(led, run_id)
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
        + f"{'cells' if kind.cells else 'graphs'} finished: {len(results)}"
    )
    timed = [e["seconds"] for e in evaluations if e["seconds"] is not None]
    if timed:
        console.print(f"evaluation wall time: {sum(timed):.1f} s over {len(timed)} calls (longest {max(timed):.1f} s)")
    if jobs:
        console.print(_jobs_table(jobs, live, offline))
    if jobs or run_row["sessions"]:
        from hybrid.usage_plan import usage_line

        console.print(usage_line(jobs, run_row["sessions"]), markup=False, soft_wrap=True)
    if offline:
        console.print(f"live job states unavailable: {offline}", markup=False, soft_wrap=True)
    for key, res in results.items():
        console.print(f"  {key}: {kind.render(res)}", markup=False, emoji=False, soft_wrap=True)


def _jobs_table(jobs: list[dict], live: dict[str, str], offline: str | None) -> Table:
    """A run's hardware jobs: recorded (and live) state, times, resubmissions and QPU seconds."""
    table = Table(title="hardware jobs")
    columns = ["job id", "graph", "call", "status"] + (["live"] if live or offline else []) + [
        "submitted", "finished", "resubmit of", "QPU s: est. / IBM est. / IBM", "detail"]
    for col in columns:
        table.add_column(col, overflow="fold", no_wrap=col == "job id")
    for j in jobs:
        row = [j["job_id"], j["graph"], str(j["idx"]), j["status"]]
        if live or offline:
            row.append(live.get(j["job_id"], "-" if j["status"] != "submitted" else "unknown"))
        usage = " / ".join(_seconds(j[k]) for k in ("estimated_seconds", "ibm_estimated_seconds", "actual_seconds"))
        row += [j["created"], j["finished"] or "-", j["resubmit_of"] or "-", usage, j["detail"] or ""]
        table.add_row(*row)
    return table


@jobs_app.command("fetch")
def jobs_fetch(
    run_id: str,
    ledger: Optional[Path] = LEDGER_OPTION,
    out: Optional[Path] = typer.Option(None, "--out", help="write the report to this new file (default: the run's folder)"),
) -> None:
    """Write what the ledger knows of a run to its report; unfinished graphs or cells are listed as pending."""
    from hybrid.kinds import kind_of
    from hybrid.ledger import Ledger

    try:
        with Ledger(ledger, mode="read") as led:
            kind_of(led.run(run_id)).fetch(led, run_id, out, console)
    except _run_errors() as exc:
        _fail(str(exc))


@jobs_app.command("resume")
def jobs_resume(run_id: str, ledger: Optional[Path] = LEDGER_OPTION) -> None:
    """Continue a run: recorded calls replayed, live jobs re-attached by id, failed jobs resubmitted."""
    from hybrid.kinds import kind_of
    from hybrid.ledger import Ledger

    try:
        with Ledger(ledger) as led:
            kind = kind_of(led.run(run_id))
            report = drive(kind, led, run_id)
    except _run_errors() as exc:
        _fail(str(exc))
    kind.report(report, console)
