"""``hybrid benchmark`` and ``hybrid paper-benchmark`` are ledger runs: cells recorded as they finish, resumable."""

from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest
from typer.testing import CliRunner

from hybrid import paper_benchmark
from hybrid.paper_benchmark import execute_paper_benchmark, start_paper_benchmark
from hybrid.cli import app
from hybrid.benchmark import BenchmarkConfig, Slice, execute_benchmark, run_benchmark, start_benchmark
from hybrid.ledger import Ledger, LedgerError
from killing import cli, cli_env, kill_when, without

runner = CliRunner()
KILL_TIMEOUT_S = 300
KILL_AFTER_CELLS = 3  # cells recorded before the kill
#: fields that legitimately differ between a resumed and an uninterrupted run (or name the run)
RUN_ONLY_FIELDS = ("wall_time", "created", "run_id", "out")
#: two 8-node regular graphs, p = 1, two starts alone and under COBYLA at two budgets, two seeds: 2 * (2 + 2 * 2 * 2) cells
TINY = BenchmarkConfig(
    "tiny",
    (Slice("ideal", depths=(1,), per_family=2, families=("regular",), nodes={"regular": [8]}, paper_graphs=0,
           methods=("fixed", "regression"), optimizers=("cobyla",), budgets=(0, 10, 30), seeds=(0, 1)),),
    auto_budget=10,
)
TINY_CELLS = 2 * (2 + 2 * 2 * 2)
PAPER_LIMIT = 1  # graphs of the paper's set in the paper-benchmark test
PAPER_INTERRUPT_AFTER = 3  # per-graph method runs before the interruption


def _comparable(value):
    return without(value, RUN_ONLY_FIELDS)


def _recorded(ledger, run_id: str) -> dict[str, str]:
    """cell key -> the time it was recorded (read straight from the file)."""
    conn = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT graph, created FROM results WHERE run_id = ?", (run_id,)).fetchall())
    finally:
        conn.close()


@pytest.mark.slow  # a killed subprocess (in-process resume: tests/kinds/test_resume.py)
def test_killed_benchmark_resumes_to_the_uninterrupted_results(tmp_path):
    ledger = tmp_path / "ledger.db"
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY.to_dict()))
    common = ["benchmark", "-c", str(config), "--ledger", str(ledger)]
    full = runner.invoke(app, [*common, "--out", str(tmp_path / "full"), "--run-id", "full"])
    assert full.exit_code == 0, full.output
    kill_when([*common, "--out", str(tmp_path / "killed"), "--run-id", "killed"],
              lambda: len(_recorded(ledger, "killed")) >= KILL_AFTER_CELLS, KILL_TIMEOUT_S)
    before = _recorded(ledger, "killed")
    assert KILL_AFTER_CELLS <= len(before) < TINY_CELLS
    with Ledger(ledger) as led:
        assert led.run("killed")["status"] == "interrupted"
    assert not (tmp_path / "killed" / "results.json").exists()
    listed = runner.invoke(app, ["jobs", "list", "--ledger", str(ledger)])
    assert listed.exit_code == 0 and "benchmark:ideal" in listed.output, listed.output
    fetched = runner.invoke(app, ["jobs", "fetch", "killed", "--out", str(tmp_path / "partial.json"), "--ledger", str(ledger)])
    assert fetched.exit_code == 0, fetched.output
    partial = json.loads((tmp_path / "partial.json").read_text())
    assert len(partial["cells"]) == len(before) and not partial["complete"]

    resumed = subprocess.run(cli("jobs", "resume", "killed", "--ledger", str(ledger)), env=cli_env(),
                             capture_output=True, text=True, timeout=KILL_TIMEOUT_S)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Equal-budget benchmark (tiny)" in resumed.stdout  # the tables, as `hybrid benchmark` prints them
    after = _recorded(ledger, "killed")
    assert len(after) == TINY_CELLS
    assert {k: after[k] for k in before} == before  # recorded cells were taken from the ledger, not run again
    uninterrupted = json.loads((tmp_path / "full" / "results.json").read_text())
    again = json.loads((tmp_path / "killed" / "results.json").read_text())
    assert again["run_id"] == "killed" and len(again["cells"]) == TINY_CELLS
    assert _comparable(again) == _comparable(uninterrupted)
    for name in ("tables.md", "cells.jsonl"):
        assert (tmp_path / "killed" / name).read_text() == (tmp_path / "full" / name).read_text(), name
    assert (tmp_path / "killed" / "figures" / "ar_vs_budget_ideal.png").exists()
    shown = runner.invoke(app, ["jobs", "show", "killed", "--ledger", str(ledger)])
    assert shown.exit_code == 0 and f"cells finished: {TINY_CELLS}" in shown.output, shown.output
    again_resume = runner.invoke(app, ["jobs", "resume", "killed", "--ledger", str(ledger)])
    assert again_resume.exit_code == 0 and "already done" in again_resume.output, again_resume.output
    taken = runner.invoke(app, [*common, "--out", str(tmp_path / "x"), "--run-id", "killed"])
    assert taken.exit_code == 2 and "already exists" in taken.output


def test_benchmark_registers_before_it_runs_and_refuses_other_kinds(tmp_path):
    with Ledger(tmp_path / "l.db") as led:
        rid = start_benchmark(TINY, led, tmp_path / "out", "b1")
        record = led.run(rid)
        assert record["status"] == "created" and record["spec"]["kind"] == "benchmark"
        assert record["target"] == "benchmark:ideal" and led.results(rid) == {}
        assert BenchmarkConfig.from_dict(record["spec"]["config"]) == TINY
        led.create_run({"kind": "compare"}, "compare:ideal", run_id="c1")
        with pytest.raises(LedgerError, match="c1 is a compare run, not a benchmark run"):
            execute_benchmark(led, "c1")
        with pytest.raises(LedgerError, match="already exists"):
            run_benchmark(TINY, tmp_path / "out", ledger=led, run_id="b1")


try:
    paper_benchmark.default_paths()
    HAVE_PAPER_GRAPHS = True
except FileNotFoundError:
    HAVE_PAPER_GRAPHS = False


@pytest.mark.skipif(not HAVE_PAPER_GRAPHS, reason="shared benchmarks not present")
def test_interrupted_paper_benchmark_resumes_to_the_same_report(tmp_path, monkeypatch):
    options = dict(limit=PAPER_LIMIT, depths=(), families=False)
    with Ledger(tmp_path / "l.db") as led:
        start_paper_benchmark(led, ["learned"], "full", out=tmp_path / "full.json", **options)
        uninterrupted = execute_paper_benchmark(led, "full", log=lambda m: None)
        cells = led.results("full")
        assert len(cells) == 1 + PAPER_LIMIT * (3 + paper_benchmark.RANDOM_STARTS)  # constant, then every method x graph

        start_paper_benchmark(led, ["learned"], "cut", out=tmp_path / "cut.json", **options)
        real, calls = paper_benchmark.graph_run, []

        def interrupted(*args, **kwargs):
            if len(calls) == PAPER_INTERRUPT_AFTER:
                raise KeyboardInterrupt
            calls.append(args)
            return real(*args, **kwargs)

        monkeypatch.setattr(paper_benchmark, "graph_run", interrupted)
        with pytest.raises(KeyboardInterrupt):
            execute_paper_benchmark(led, "cut", log=lambda m: None)
        assert led.run("cut")["status"] == "interrupted"
        assert len(led.results("cut")) == 1 + PAPER_INTERRUPT_AFTER
        assert not (tmp_path / "cut.json").exists()

        monkeypatch.setattr(paper_benchmark, "graph_run", lambda *a, **k: calls.append(a) or real(*a, **k))
        calls.clear()
        resumed = execute_paper_benchmark(led, "cut", log=lambda m: None)
        assert len(calls) == len(cells) - 1 - PAPER_INTERRUPT_AFTER  # only the cells not recorded ran
        assert led.run("cut")["status"] == "done"
        assert _comparable(resumed) == _comparable(uninterrupted)
        assert _comparable(json.loads((tmp_path / "cut.json").read_text())) == _comparable(
            json.loads((tmp_path / "full.json").read_text()))
        assert execute_paper_benchmark(led, "cut", log=lambda m: None)["already_done"]
