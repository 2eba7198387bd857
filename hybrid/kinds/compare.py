"""The ``compare`` kind: the sweep of targets x starts x depths (``hybrid compare``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from rich.table import Table

from .. import outputs
from ..compare import (
    COMPARE_KIND, REPORT_FILE, TABLE_FILE, CompareConfig, compare_config, execute_compare, load_report, partial_report,
    validate_compare, write_report,
)
from .base import Plan, RunKind, register
from .run import render as render_result


def validate(cfg: CompareConfig, run_id: str, ledger_path: str | Path | None, *, yes: bool = True,
             ask: Callable[[str], bool] | None = None, announce: Callable[[str], None] | None = None) -> Plan:
    """Every check (:func:`hybrid.compare.validate_compare`); nothing opened, nothing created."""
    spec, label = validate_compare(cfg, run_id, ledger_path, yes=yes, ask=ask, announce=announce)
    return Plan(run_id, COMPARE_KIND, spec, label)


def execute(ledger, run_id: str, log: Callable[[str], None] = print) -> dict[str, Any]:
    return execute_compare(ledger, run_id)


def print_summary(report: dict[str, Any], title: str, console) -> None:
    """The compare summary table."""
    table = Table(title=title)
    for col in ("target", "init", "p", "graphs", "AR target", "AR ideal (re-scored)", "evals", "shots", "QPU s", "wall s",
                "optimum shift"):
        table.add_column(col, justify="right" if col not in ("target", "init") else "left")
    for r in report["summary"]:
        table.add_row(
            r["label"], r["init"], str(r["p"]), str(r["graphs"]),
            f"{r['ar_target_mean']:.4f} ± {r['ar_target_std']:.4f}", f"{r['ar_ideal_mean']:.4f} ± {r['ar_ideal_std']:.4f}",
            f"{r['evaluations_mean']:.0f}", f"{r['shots_mean']:.0f}",
            "-" if r.get("qpu_seconds_mean") is None else f"{r['qpu_seconds_mean']:.1f}", f"{r['wall_time_mean']:.1f}",
            f"{r['optimum_shift_mean']:.3f}",
        )
    console.print(table)


def report(report: dict[str, Any], console) -> None:
    """Summary table, where the files are, and the figures (unless the sweep was started with ``--no-plots``)."""
    out = Path(report["config"]["out"])
    if report.get("already_done"):
        console.print(f"compare sweep {report['run_id']} is already done; report: {out / REPORT_FILE}")
        return
    wall = report.get("wall_time", 0.0)
    print_summary(report, f"compare {report['run_id']} ({len(report['cells'])} runs, {wall:.0f} s)", console)
    console.print(f"table: {out / TABLE_FILE}, report: {out / REPORT_FILE}")
    if report["config"].get("plots", True):
        from ..plots import plot_directory

        paths = plot_directory(out)
        console.print(f"{len(paths)} figure files in {out / 'figures'}")


def fetch(ledger, run_id: str, out: Path | None, console) -> None:
    """The sweep's cells so far: the finished sweep's ``compare.json`` as it is, or a partial report
    listing the rest, in ``OUT/partial-<run_id>/`` (inside the sweep's own folder) or the new file ``out``."""
    record = ledger.run(run_id)
    folder = Path(compare_config(record).out)
    finished = record["status"] == "done" and outputs.owned_by(folder / REPORT_FILE, run_id)
    written = load_report(folder) if finished else partial_report(ledger, run_id)
    if out is not None:
        path = outputs.write_json(outputs.check_new_file(out, run_id, flag="--out"), written)
    elif finished:
        path = folder / REPORT_FILE  # a finished sweep's own report is left as it is
    else:
        outputs.claim_folder(folder, run_id, ledger.path, COMPARE_KIND, flag="--out")
        write_report(written, folder / f"partial-{run_id}")
        path = folder / f"partial-{run_id}" / REPORT_FILE
    pending = written.get("pending", [])
    console.print(
        f"{run_id}: compare sweep {record['status']}, {len(written['cells'])} cell(s) finished"
        + (f", {len(pending)} unfinished (listed under 'pending')" if pending else "")
        + f"; written to {path}",
        soft_wrap=True,
    )


def render(value: dict[str, Any]) -> str:
    """One cell in a line: its run's result (:func:`hybrid.kinds.run.render`)."""
    return render_result(value["result"])


KIND = register(RunKind(
    name=COMPARE_KIND, command="hybrid compare", help="noisy vs mitigated vs ideal: a grid of cells",
    cells=True, validate=validate, execute=execute, report=report, fetch=fetch, render=render,
))
