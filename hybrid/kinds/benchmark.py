"""The ``benchmark`` kind: every start at equal budgets (``hybrid benchmark``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from .. import outputs
from ..benchmark import BENCHMARK_KIND, BenchmarkConfig, execute_benchmark, partial_report, validate_benchmark
from .base import Plan, RunKind, register

RESULTS_FILE = "results.json"


def validate(config: BenchmarkConfig, run_id: str, ledger_path: str | Path | None, out: Path | None = None, *,
             best_known: Path | None = None, graphs: Path | None = None, write_auto: Path | None = None,
             yes: bool = True, ask: Callable[[str], bool] | None = None,
             announce: Callable[[str], None] | None = None) -> Plan:
    """Every check (:func:`hybrid.benchmark.validate_benchmark`); nothing opened, nothing created."""
    spec, label = validate_benchmark(config, run_id, ledger_path, out, best_known_path=best_known, paper_path=graphs,
                                     write_auto=write_auto, yes=yes, ask=ask, announce=announce)
    return Plan(run_id, BENCHMARK_KIND, spec, label)


def execute(ledger, run_id: str, log: Callable[[str], None] = print) -> dict[str, Any]:
    return execute_benchmark(ledger, run_id, log=log)


def report(report: dict[str, Any], console) -> None:
    out = Path(report["out"])
    if report.get("already_done"):
        console.print(f"benchmark {report['run_id']} is already done; results: {out / RESULTS_FILE}")
        return
    console.print((out / "tables.md").read_text())
    console.print(f"{len(report['cells'])} cells in {report['wall_time']:.0f} s; written to {out}")


def fetch(ledger, run_id: str, out: Path | None, console) -> None:
    """The cells so far, summarised: a finished benchmark's ``results.json`` is left as it is; an
    unfinished one's goes to ``OUT/partial-<run_id>/`` (inside its own folder) or the new file ``out``."""
    record = ledger.run(run_id)
    folder = Path(record["spec"]["out"])
    finished = record["status"] == "done" and outputs.owned_by(folder / RESULTS_FILE, run_id)
    written = json.loads((folder / RESULTS_FILE).read_text()) if finished else partial_report(ledger, run_id)
    if out is not None:
        path, where = outputs.write_json(outputs.check_new_file(out, run_id, flag="--out"), written), "written to"
    elif finished:
        path, where = folder / RESULTS_FILE, "results"
    else:
        outputs.claim_folder(folder, run_id, ledger.path, BENCHMARK_KIND, flag="--out")
        path, where = outputs.write_json(folder / f"partial-{run_id}" / RESULTS_FILE, written), "written to"
    console.print(f"{run_id}: benchmark {record['status']}, {len(written['cells'])} cell(s) recorded; {where} {path}",
                  soft_wrap=True)


def render(value: Any) -> str:
    """One recorded benchmark cell in a line."""
    if not isinstance(value, dict):
        return "fitted value " + json.dumps(value)
    if "error" in value:
        return ("skipped: " if value.get("skipped") else "error: ") + value["error"]
    if "ar_target" in value:
        return f"AR {value['ar_target']:.4f} on the target, ideal {value['ar_ideal']:.4f}, {value['evaluations']} evaluations"
    return ", ".join(f"{k} {v:.4f}" for k, v in value.items() if isinstance(v, float))


KIND = register(RunKind(
    name=BENCHMARK_KIND, command="hybrid benchmark", help="every start at equal budgets (cells)",
    cells=True, validate=validate, execute=execute, report=report, fetch=fetch, render=render,
))
