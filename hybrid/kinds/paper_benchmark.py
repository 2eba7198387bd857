"""The ``paper-benchmark`` kind: the paper's 90 graphs, ours vs the paper's (``hybrid paper-benchmark``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from .. import outputs
from ..paper_benchmark import PAPER_KIND, execute_paper_benchmark, render_report, validate_paper_benchmark
from .base import Plan, RunKind, register
from .benchmark import render as render_cell

CELLS_FILE = "cells.json"


def validate(models: Sequence[str], run_id: str, **options: Any) -> Plan:
    """Every check (:func:`hybrid.paper_benchmark.validate_paper_benchmark`); nothing opened, nothing created."""
    spec, label = validate_paper_benchmark(models, run_id, **options)
    return Plan(run_id, PAPER_KIND, spec, label)


def execute(ledger, run_id: str, log: Callable[[str], None] = print) -> dict[str, Any]:
    return execute_paper_benchmark(ledger, run_id, log=log)


def report(report: dict[str, Any], console) -> None:
    render_report(report, console)
    if report.get("already_done"):
        console.print(f"paper benchmark {report['run_id']} is already done (tables above from its recorded cells)")
    elif report.get("out"):
        console.print(f"report written to {report['out']}")


def fetch(ledger, run_id: str, out: Path | None, console) -> None:
    """The recorded cells: into ``results/<run_id>/cells.json`` (the run's folder) or the new file ``out``."""
    record = ledger.run(run_id)
    written = {"run_id": run_id, "status": record["status"], "spec": record["spec"], "cells": ledger.results(run_id)}
    if out is not None:
        path = outputs.write_json(outputs.check_new_file(out, run_id, flag="--out"), written)
    else:
        folder = outputs.claim_folder(outputs.default_folder(run_id), run_id, ledger.path, PAPER_KIND, flag="--run-id")
        path = outputs.write_json(folder / CELLS_FILE, written)
    console.print(f"{run_id}: paper-benchmark {record['status']}, {len(written['cells'])} cell(s) recorded; "
                  f"written to {path}", soft_wrap=True)


def render(value: Any) -> str:
    if isinstance(value, dict) and "ar_phase1" in value:
        sgd = value.get("sgd_ar", {})
        return f"start AR {value['ar_phase1']:.4f}" + (f", SGD@300 {sgd['300']:.4f}" if "300" in sgd else "")
    return render_cell(value)


KIND = register(RunKind(
    name=PAPER_KIND, command="hybrid paper-benchmark", help="the paper's 90-graph benchmark (cells)",
    cells=True, validate=validate, execute=execute, report=report, fetch=fetch, render=render,
))
