"""The ``evaluate`` kind: every graph's start on a target, no Phase II (``hybrid evaluate``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from rich.table import Table

from .. import outputs
from ..evaluate import EVALUATE_KIND, EvaluateConfig, execute_evaluate, validate_evaluate
from .base import Plan, RunKind, register

ROWS_FILE = "evaluate.json"


def validate(cfg: EvaluateConfig, run_id: str, out: Path | None = None) -> Plan:
    """Every check (:func:`hybrid.runs.validate_evaluate`) and ``--out``: a new file, never a user's."""
    spec, label = validate_evaluate(cfg, run_id)
    if out is not None:
        outputs.check_new_file(out, run_id, flag="--out")
    return Plan(run_id, EVALUATE_KIND, spec, label)


def execute(ledger, run_id: str, log: Callable[[str], None] = print) -> dict[str, Any]:
    return execute_evaluate(ledger, run_id)


def write_rows(report: dict[str, Any], out: Path) -> Path:
    """The rows as a JSON list (what ``hybrid evaluate --out`` writes), atomically, never over a user's file."""
    return outputs.write_json(outputs.check_new_file(out, report["run_id"], flag="--out"), report["rows"])


def report(report: dict[str, Any], console) -> None:
    """The table of ``hybrid evaluate`` (also after ``hybrid jobs resume``)."""
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


def fetch(ledger, run_id: str, out: Path | None, console) -> None:
    """The rows known so far: into ``results/<run_id>/evaluate.json`` (the run's folder), or the new file ``out``."""
    rows = list(ledger.results(run_id).values())
    if out is not None:
        path = outputs.write_json(outputs.check_new_file(out, run_id, flag="--out"), rows)
    else:
        folder = outputs.claim_folder(outputs.default_folder(run_id), run_id, ledger.path, EVALUATE_KIND, flag="--run-id")
        path = outputs.write_json(folder / ROWS_FILE, rows)
    console.print(f"{run_id}: {ledger.run(run_id)['status']}, {len(rows)} graph(s) evaluated; written to {path}",
                  soft_wrap=True)


def render(value: dict[str, Any]) -> str:
    return f"start AR {value['ar_target']:.4f}, ideal {value['ar_ideal']:.4f}, {value['evaluations']} evaluations"


KIND = register(RunKind(
    name=EVALUATE_KIND, command="hybrid evaluate", help="every graph's start on a target, no Phase II",
    cells=False, validate=validate, execute=execute, report=report, fetch=fetch, render=render,
))
