"""The run-kind registry, the one drive wrapper and the output policy's building blocks."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from cli_batch import run_case
from hybrid import outputs
from hybrid.kinds import KindError, Plan, RunKind, get_kind, kind_names, kind_of, register, unregister
from hybrid.ledger import Ledger, LedgerError

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("run", "evaluate", "compare", "benchmark", "paper-benchmark")


def test_every_command_kind_is_registered():
    assert set(kind_names()) == set(KINDS)
    for name in KINDS:
        kind = get_kind(name)
        assert kind.name == name and callable(kind.validate) and callable(kind.execute)
    assert kind_of({"run_id": "r", "spec": {}}).name == "run"  # a plain run records no kind
    assert kind_of({"run_id": "r", "spec": {"kind": "compare"}}).name == "compare"
    with pytest.raises(KindError, match="unknown run kind 'bogus'"):
        kind_of({"run_id": "r", "spec": {"kind": "bogus"}})


def _kind_name_comparisons(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                values = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                if any(isinstance(v, ast.Constant) and v.value in KINDS for v in values):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_kind_name_comparisons_outside_the_registry():
    # (the oracles' call kinds, "evaluate" and "value_and_grad", are another thing)
    bad = [hit for path in sorted((ROOT / "hybrid").rglob("*.py")) if not {"kinds", "oracles"} & set(path.parts)
           for hit in _kind_name_comparisons(path)]
    assert not bad, f"kind names compared outside hybrid/kinds (look the kind up instead): {bad}"


def test_the_comparison_check_sees_one(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("def f(kind):\n    return kind in ('compare', 'x') or kind == 'evaluate'\n")
    planted = planted.rename(ROOT / "tests" / "kinds" / "_planted_tmp.py")
    try:
        assert len(_kind_name_comparisons(planted)) == 2
    finally:
        planted.unlink()


def test_a_new_kind_is_one_registration(tmp_path, monkeypatch):
    """A toy kind: registered once, its runs are shown, resumed and fetched by ``hybrid jobs``."""
    from hybrid.ledger.sweeps import Cells, drive

    def execute(ledger, run_id, log=print):
        def body(record):
            cells = Cells(ledger, run_id)
            return {"run_id": run_id, "squares": [cells(str(i), lambda i=i: i * i) for i in range(record["spec"]["n"])]}

        return drive(ledger, run_id, "squares", body, lambda record: {"run_id": run_id, "already_done": True})

    def fetch(ledger, run_id, out, console):
        path = outputs.write_json(outputs.check_new_file(out, run_id), {"run_id": run_id, **ledger.results(run_id)})
        console.print(f"written to {path}")

    kind = RunKind(
        name="squares", command="(test)", help="squares", cells=True,
        validate=lambda n, run_id: Plan(run_id, "squares", {"kind": "squares", "n": n}, "none"),
        execute=execute, report=lambda report, console: console.print(f"squares {report.get('squares')}"),
        fetch=fetch, render=lambda value: f"square {value}",
    )
    register(kind)
    try:
        with pytest.raises(KindError, match="already|not registered yet"):
            register(kind)
        ledger = tmp_path / "L.db"
        with Ledger(ledger) as led:
            kind.register(led, kind.validate(3, "sq"))
        shown = run_case({"argv": ["jobs", "show", "sq", "--ledger", str(ledger)]})
        assert shown["code"] == 0 and "cells finished: 0" in shown["stdout"]
        resumed = run_case({"argv": ["jobs", "resume", "sq", "--ledger", str(ledger)]})
        assert resumed["code"] == 0 and "squares [0, 1, 4]" in resumed["stdout"], resumed["stderr"]
        shown = run_case({"argv": ["jobs", "show", "sq", "--ledger", str(ledger)]})
        assert "2: square 4" in shown["stdout"] and shown["stdout"].count("square ") == 3
        fetched = run_case({"argv": ["jobs", "fetch", "sq", "--ledger", str(ledger), "--out", str(tmp_path / "f.json")]})
        assert fetched["code"] == 0 and json.loads((tmp_path / "f.json").read_text())["2"] == 4
    finally:
        unregister("squares")


def test_a_plan_registers_only_as_its_kind(tmp_path):
    plan = Plan("r1", "compare", {"kind": "compare"}, "compare:ideal")
    assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    with Ledger(tmp_path / "L.db") as led, pytest.raises(KindError, match="cannot be registered as a run run"):
        get_kind("run").register(led, plan)


@pytest.mark.parametrize("run_id", ["ok", "20261202-101010-abcdef", "a.b_c-d", "x" * 64])
def test_safe_run_ids(run_id):
    assert outputs.check_run_id(run_id) == run_id


@pytest.mark.parametrize("run_id", ["", "..", "a..b", "../x", "/abs", "a/b", "a b", "new\nline", "-x", ".x", "x" * 65, 7])
def test_unsafe_run_ids(run_id):
    with pytest.raises(outputs.OutputError, match="--run-id .* is not a valid run id"):
        outputs.check_run_id(run_id)


def test_the_ledger_refuses_an_unsafe_id_itself(tmp_path):
    with Ledger(tmp_path / "L.db") as led, pytest.raises(LedgerError, match="not a valid run id"):
        led.create_run({}, "ideal", run_id="../x")


def test_atomic_write_leaves_the_old_file_and_no_tmp_when_it_fails(tmp_path, monkeypatch):
    path = outputs.atomic_write(tmp_path / "r.json", "old")

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space"):
        outputs.atomic_write(path, "new")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_a_folder_belongs_to_one_run_of_one_ledger(tmp_path):
    folder = tmp_path / "out"
    outputs.check_folder(folder, "r1", tmp_path / "a.db")  # missing: fine, nothing created
    assert not folder.exists()
    outputs.claim_folder(folder, "r1", tmp_path / "a.db", "run")
    outputs.claim_folder(folder, "r1", tmp_path / "a.db", "run")  # its own: fine again
    with pytest.raises(outputs.OutputError, match="belongs to run 'r1'"):
        outputs.check_folder(folder, "r2", tmp_path / "a.db")
    with pytest.raises(outputs.OutputError, match="of ledger .*a.db"):
        outputs.check_folder(folder, "r1", tmp_path / "b.db")
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "notes.txt").write_text("mine")
    with pytest.raises(outputs.OutputError, match="belongs to no run"):
        outputs.claim_folder(tmp_path / "user", "r1", None, "run")
    assert sorted(p.name for p in (tmp_path / "user").iterdir()) == ["notes.txt"]


def test_owned_by(tmp_path):
    path = outputs.write_json(tmp_path / "x.json", {"run_id": "r1"})
    assert outputs.owned_by(path, "r1") and not outputs.owned_by(path, "r2")
    (tmp_path / "bad.json").write_text("not json")
    assert not outputs.owned_by(tmp_path / "bad.json", "r1") and not outputs.owned_by(tmp_path / "none", "r1")
