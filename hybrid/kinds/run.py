"""The ``run`` kind: warm-started QAOA on every graph of a file (``hybrid run``, ``hybrid submit``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from rich.table import Table

from ..runs import RUN_KIND, RunConfig, execute_run, live_job_states, validate_run_start, write_results
from .base import Plan, RunKind, register


def validate(cfg: RunConfig, run_id: str, ledger_path: str | Path | None, *, yes: bool = False,
             ask: Callable[[str], bool] | None = None, announce: Callable[[str], None] | None = None,
             target=None) -> Plan:
    """Every check (:func:`hybrid.runs.validate_run_start`); nothing opened, nothing created."""
    spec, label = validate_run_start(cfg, run_id, ledger_path, target=target, yes=yes, ask=ask, announce=announce)
    return Plan(run_id, RUN_KIND, spec, label)


def execute(ledger, run_id: str, log: Callable[[str], None] = print) -> dict[str, Any]:
    return execute_run(ledger, run_id, progress=log)


def _ar(value) -> str:
    """An AR for a table; ``-`` where nothing was measured (a zero budget)."""
    return "-" if value is None else f"{value:.4f}"


def report(report: dict[str, Any], console) -> None:
    """The results table of a run (also after ``hybrid jobs resume`` and ``fetch``)."""
    if report.get("already_done"):
        console.print(f"run {report['run_id']} is already done; results: {report.get('path')}")
        return
    spec = report["spec"]
    table = Table(title=f"run {report['run_id']} on {spec['backend']} ({spec['init']} start, {spec['optimizer']})")
    # Ising / QUBO problems: C is what is maximised; a minimised objective is shown as itself too
    beyond = any(g.get("min_value", 0.0) != 0.0 or g.get("sense", "max") != "max" for g in report["graphs"])
    minimised = any(g.get("sense", "max") == "min" for g in report["graphs"])
    cols = ("id", "n", "max C" if beyond else "max cut", "AR init", "AR final", "ideal AR init", "ideal AR final",
            "evaluations", "shots", "best C" if beyond else "best cut", "polished") + (("best value",) if minimised else ())
    for col in cols:
        table.add_column(col, justify="right")
    for g in report["graphs"]:
        row = [
            str(g["id"]), str(g["n"]), f"{g['max_cut']:g}", _ar(g["ar_init"]), _ar(g["ar_final"]),
            f"{g['ideal_ar_init']:.4f}", f"{g['ideal_ar_final']:.4f}", str(g["evaluations"]), str(g["shots"]),
            "-" if g["best_cut"] is None else f"{g['best_cut']:g}",
            "-" if g.get("polished_cut") is None else f"{g['polished_cut']:g}",
        ]
        if minimised:
            row.append("-" if g.get("best_objective") is None else f"{g['best_objective']:g}")
        table.add_row(*row)
    console.print(table)
    if report.get("qpu_jobs"):
        console.print(usage_summary(report), markup=False, soft_wrap=True)
    if report.get("path"):
        console.print(f"results: {report['path']}")


def usage_summary(report: dict[str, Any]) -> str:
    """A run's QPU usage in a line: estimated quantum seconds, IBM's figure, the session span, what is billed."""
    share = report.get("classical_share")
    return (
        f"QPU usage: {report['qpu_seconds']:.1f} estimated quantum s in {report['qpu_jobs']} jobs"
        + (f", IBM usage() {report['ibm_usage_seconds']:.1f} s" if report.get("ibm_usage_seconds") is not None else "")
        + (f"; {report['execution']} mode, session span {report['session_seconds']:.1f} s"
           f" (classical share {100 * share:.0f} %)" if report.get("session_seconds") is not None and share is not None else "")
        + f"; billed {report['billed_seconds']:.1f} s"
    )


def live_states(ledger, run_id: str) -> tuple[dict[str, str], str | None]:
    """Live job states from the service for ``ibm:`` runs, or why they are unavailable."""
    from backends import TargetError

    try:
        return live_job_states(ledger, run_id), None
    except (TargetError, OSError) as exc:
        return {}, "; ".join(part.strip() for part in str(exc).splitlines() if part.strip())


def fetch(ledger, run_id: str, out: Path | None, console) -> None:
    """``results.json`` from what the ledger knows: into the run's folder, or the new file ``out``."""
    live, offline = live_states(ledger, run_id)
    for job_id, state in live.items():
        console.print(f"job {job_id}: {state} (live)")
    if offline:
        console.print(f"offline, live job states unavailable: {offline}", markup=False, soft_wrap=True)
    written = write_results(ledger, run_id, out=out)
    pending = written["pending"]
    console.print(
        f"{run_id}: {written['status']}, {len(written['graphs'])} graph(s) finished"
        + ("" if written["complete"] else f", {len(pending)} graph(s) unfinished (marked 'pending' in the file)")
    )
    report(written, console)


def render(value: dict[str, Any]) -> str:
    """One graph's result in a line: its ARs, its estimated QPU seconds and what stopped it early."""
    return (
        f"AR {_ar(value['ar_init'])} -> {_ar(value['ar_final'])}, ideal {value['ideal_ar_final']:.4f}"
        + (f", {value['qpu_seconds']:.1f} estimated QPU s" if value.get("qpu_jobs") else "")
        + (f", stopped by {value['budget_stop']}" if value.get("budget_stop") else "")
    )


KIND = register(RunKind(
    name=RUN_KIND, command="hybrid run, hybrid submit", help="warm-started QAOA on every graph (Phase I + II)",
    cells=False, validate=validate, execute=execute, report=report, fetch=fetch, render=render,
))
