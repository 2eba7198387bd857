"""``hybrid demo``: the newcomer's tour."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import _fail, _run_errors, app, console
from .jobs import jobs_show


@app.command()
def demo(
    out: Path = typer.Option(Path("results/demo"), "--out", help="where the report, table and figures go"),
) -> None:
    """The newcomer's tour, no account or network: the shipped model on FakeTorino, with and without mitigation, vs ideal."""
    from hybrid.demo import run_demo

    def show_jobs(run_id: str, ledger_path: Path) -> str:
        with console.capture() as captured:
            jobs_show(run_id, ledger_path)
        return captured.get()

    try:
        report_path = run_demo(out, console, show_jobs)
    except _run_errors() as exc:
        _fail(str(exc))
    console.print(f"[bold]report:[/bold] {report_path}")
