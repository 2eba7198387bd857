"""The output policy at the command line: nothing overwritten, nothing outside its folder, no
refusal after registration (each case refused before the ledger is opened for writing)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cli_batch import row_counts, run_case
from hybrid.problems import regular_graph, save_graphs

SEED = 3
RUN = ["--backend", "ideal", "--init", "fixed", "--optimizer", "adam:2"]


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    save_graphs([regular_graph(6, 3, seed=SEED, id="a").with_max_cut()], tmp_path / "g.json")
    return tmp_path


def hybrid(*argv: str, ledger: Path | None = None) -> dict:
    result = run_case({"argv": [str(a) for a in argv], "ledger": None if ledger is None else str(ledger)})
    assert result["escaped"] is None, result["escaped"]
    return result


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def refused(result: dict, pattern: str) -> None:
    assert result["code"] not in (0, None), result["stdout"]
    lines = [line for line in result["stderr"].splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result["stderr"]
    assert __import__("re").search(pattern, lines[0]), lines[0]


def test_evaluate_never_replaces_a_users_file(world):
    mine = world / "mine.json"
    mine.write_text("my own notes")
    result = hybrid("evaluate", "--graphs", "g.json", "--init", "fixed", "--ledger", "L.db", "--out", mine)
    refused(result, r"--out .*mine\.json.* exists")
    assert mine.read_text() == "my own notes"
    assert not (world / "L.db").exists()  # refused before the ledger was opened


def test_compare_never_replaces_another_sweep(world):
    first = hybrid("compare", "--graphs", "g.json", "--backends", "ideal", "--init", "fixed", "--optimizer", "adam:2",
                   "--out", "cmp", "--no-plots", "--ledger", "L.db", "--run-id", "one")
    assert first["code"] == 0, first["stderr"]
    before, rows = files(world / "cmp"), row_counts(str(world / "L.db"))
    second = hybrid("compare", "--graphs", "g.json", "--backends", "ideal", "--init", "tqa", "--optimizer", "adam:2",
                    "--out", "cmp", "--no-plots", "--ledger", "L.db", "--run-id", "two", ledger=world / "L.db")
    refused(second, r"--out 'cmp' belongs to run 'one'")
    assert files(world / "cmp") == before
    assert second["before"] == second["after"] == rows  # nothing registered


def test_same_run_id_on_two_ledgers_cannot_overwrite(world):
    first = hybrid("run", "--graphs", "g.json", *RUN, "--ledger", "one.db", "--run-id", "same")
    assert first["code"] == 0, first["stderr"]
    results = (world / "results" / "same" / "results.json").read_bytes()
    second = hybrid("run", "--graphs", "g.json", *RUN, "--init", "tqa", "--ledger", "two.db", "--run-id", "same")
    refused(second, r"results/same.* belongs to run 'same' of ledger .*one\.db")
    assert (world / "results" / "same" / "results.json").read_bytes() == results
    assert not (world / "two.db").exists()


@pytest.mark.parametrize("run_id", ["../escaped", "ABSOLUTE", "new\nline", "x y", "a/b", "..", ".hidden", "x" * 65])
def test_unsafe_run_ids_are_refused_before_anything(world, run_id):
    (world / "in").mkdir()
    os.chdir(world / "in")
    outside = world / "absolute"
    run_id = str(outside) if run_id == "ABSOLUTE" else run_id
    result = hybrid("run", "--graphs", "../g.json", *RUN, "--ledger", "L.db", "--run-id", run_id)
    refused(result, r"--run-id .* is not a valid run id")
    assert sorted(p.name for p in world.rglob("*")) == ["g.json", "in"]  # nothing created, inside or out


def test_ids_that_used_to_share_a_lock_file(world):
    # "x y" and "x_y" once mapped to one lock file; now the first is not an id at all
    ok = hybrid("run", "--graphs", "g.json", *RUN, "--ledger", "L.db", "--run-id", "x_y")
    assert ok["code"] == 0, ok["stderr"]
    refused(hybrid("run", "--graphs", "g.json", *RUN, "--ledger", "L.db", "--run-id", "x y"), "not a valid run id")


@pytest.mark.parametrize("case, argv, pattern", [
    ("compare executor", ["compare", "--graphs", "g.json", "--backends", "ideal", "--init", "fixed",
                          "--executor", "bogus"], "--executor: unknown executor 'bogus'"),
    ("tqa:inf", ["run", "--graphs", "g.json", "--backend", "ideal", "--init", "tqa:inf"], "--init: .*finite"),
    ("model of another depth", ["run", "--graphs", "g.json", "--backend", "ideal", "--init", "learned:default-p3",
                                "--p", "1"], "--init: .*trained at p = 3"),
    ("out under a file", ["run", "--graphs", "g.json", *RUN, "--out", "afile/sub"], "--out .*afile.* is a file"),
    ("out a folder of a results.json", ["run", "--graphs", "g.json", *RUN, "--out", "foreign"], "--out 'foreign'"),
    ("evaluate out a folder", ["evaluate", "--graphs", "g.json", "--init", "fixed", "--out", "adir"], "--out .* is a folder"),
    ("depth 0", ["run", "--graphs", "g.json", *RUN, "--p", "0"], "--p"),
    ("benchmark out of another run", ["benchmark", "-c", "bench.json", "--out", "taken"], "--out 'taken' belongs to run 'other'"),
])
def test_refused_before_the_ledger_is_opened(world, case, argv, pattern):
    (world / "afile").write_text("x")
    (world / "adir").mkdir()
    (world / "foreign").mkdir()
    (world / "foreign" / "results.json").mkdir()
    (world / "taken").mkdir()
    from hybrid.benchmark import BenchmarkConfig, Slice

    tiny = BenchmarkConfig("tiny", (Slice("ideal", depths=(1,), per_family=1, families=("regular",),
                                          nodes={"regular": [6]}, paper_graphs=0, methods=("fixed",),
                                          optimizers=("cobyla",), budgets=(0,), seeds=(0,)),))
    (world / "bench.json").write_text(json.dumps(tiny.to_dict()))
    (world / "taken" / ".hybrid-run.json").write_text(json.dumps({"run_id": "other", "kind": "run", "ledger": None}))
    before = files(world)
    result = hybrid(*argv, "--ledger", "L.db")
    refused(result, pattern)
    assert not (world / "L.db").exists(), case
    assert files(world) == before, case


def test_a_run_that_cannot_write_its_results_is_not_done(world, monkeypatch):
    from hybrid import outputs
    from hybrid.ledger import Ledger

    def disk_full(path, text):
        raise OSError(28, "No space left on device")

    original = outputs.atomic_write
    monkeypatch.setattr(outputs, "atomic_write", disk_full)
    result = hybrid("run", "--graphs", "g.json", *RUN, "--ledger", "L.db", "--run-id", "full")
    assert result["code"] != 0
    with Ledger(world / "L.db", mode="read") as led:
        record = led.run("full")
    assert record["status"] == "failed" and "No space left" in record["error"]
    assert not list(world.rglob("*.tmp"))
    monkeypatch.setattr(outputs, "atomic_write", original)  # the disk has room again
    again = hybrid("jobs", "resume", "full", "--ledger", "L.db")
    assert again["code"] == 0, again["stderr"]
    assert json.loads((world / "results" / "full" / "results.json").read_text())["status"] == "done"


def test_fetch_never_replaces_a_users_file(world):
    assert hybrid("run", "--graphs", "g.json", *RUN, "--ledger", "L.db", "--run-id", "r")["code"] == 0
    mine = world / "notes.json"
    mine.write_text("{}")
    refused(hybrid("jobs", "fetch", "r", "--ledger", "L.db", "--out", mine), "exists")
    assert mine.read_text() == "{}"
    fetched = hybrid("jobs", "fetch", "r", "--ledger", "L.db", "--out", world / "new.json")
    assert fetched["code"] == 0 and json.loads((world / "new.json").read_text())["run_id"] == "r"
