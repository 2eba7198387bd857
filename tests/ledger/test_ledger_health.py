"""A ledger that knows its own health: corrupt pages, foreign databases and non-file ledgers are
refused at open, nothing is written to a file before it is known to be a sound ledger, and a
command refused before it registers anything leaves no ledger file behind."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from cli_batch import run_case

from hybrid.ledger import Ledger, LedgerError

CORRUPT = r"corrupt.*sqlite3 .* \.recover"
#: The bytes overwritten to corrupt a ledger: its second page.
BAD_PAGE = slice(4096, 8192)
SEED = 3


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: (p.read_bytes() if p.is_file() else b"<special>") for p in sorted(folder.iterdir())}


@pytest.fixture
def ledger_file(tmp_path) -> Path:
    path = tmp_path / "ledger.db"
    with Ledger(path) as led:
        led.create_run({"backend": "ideal"}, "ideal", "r1")
        for i in range(60):
            led.begin_evaluation("r1", "0:g", i, "evaluate", [0.1 * i] * 8)
    return path


@pytest.fixture
def corrupt(tmp_path, ledger_file) -> Path:
    data = bytearray(ledger_file.read_bytes())
    assert len(data) >= BAD_PAGE.stop, "the ledger must span the corrupted page"
    data[BAD_PAGE] = bytes(range(256)) * 16
    path = tmp_path / "corrupt.db"
    path.write_bytes(bytes(data))
    return path


def test_a_corrupt_page_is_refused_at_open_for_reading_and_writing(corrupt):
    before = corrupt.read_bytes()
    for mode in ("read", "write"):
        with pytest.raises(LedgerError, match=CORRUPT):
            Ledger(corrupt, mode=mode)
    assert corrupt.read_bytes() == before
    assert sorted(p.name for p in corrupt.parent.iterdir() if p.name.startswith("corrupt")) == ["corrupt.db"]


def test_a_corrupt_ledger_is_refused_by_list_show_fetch_and_run(corrupt, tmp_path):
    graphs = tmp_path / "g.json"
    graphs.write_text(json.dumps([{"n": 3, "edges": [[0, 1], [1, 2], [0, 2]]}]))
    before = corrupt.read_bytes()
    for argv in (["jobs", "list"], ["jobs", "show", "r1"], ["jobs", "fetch", "r1"],
                 ["run", "--graphs", str(graphs), "--init", "fixed", "--optimizer", "adam:1", "--seed", str(SEED)]):
        result = run_case({"argv": [*argv, "--ledger", str(corrupt)]})
        assert result["escaped"] is None and result["code"] != 0, argv
        assert result["stderr"].startswith("error: ledger") and "corrupt" in result["stderr"], result["stderr"]
    assert corrupt.read_bytes() == before


def test_a_foreign_database_is_refused_without_being_modified(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE songs (title TEXT)")
    conn.execute("INSERT INTO songs VALUES ('x')")
    conn.commit()
    conn.close()
    before = snapshot(tmp_path)
    for mode in ("read", "write"):
        with pytest.raises(LedgerError, match="is not a hybrid ledger.*--ledger"):
            Ledger(path, mode=mode)
    result = run_case({"argv": ["jobs", "list", "--ledger", str(path)]})
    assert result["code"] != 0 and "not a hybrid ledger" in result["stderr"]
    assert snapshot(tmp_path) == before
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # never switched to WAL
    conn.close()


@pytest.mark.parametrize("name", [":memory:", "file:x.db?mode=memory", "file::memory:", "", "."])
def test_in_memory_uri_and_empty_ledgers_are_refused(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(LedgerError, match="--ledger"):
        Ledger(name)
    assert list(tmp_path.iterdir()) == []


def test_folders_and_fifos_are_not_ledgers(tmp_path):
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    with pytest.raises(LedgerError, match="not a regular file.*--ledger"):
        Ledger(fifo)
    with pytest.raises(LedgerError, match="is a directory"):
        Ledger(tmp_path, mode="read")


def test_a_new_ledger_file_appears_only_with_the_first_write(tmp_path):
    path = tmp_path / "sub" / "new.db"
    with Ledger(path) as led:
        assert led.runs() == [] and led.counts()["runs"] == 0
    assert not path.exists() and not path.parent.exists()
    with Ledger(path) as led:
        led.create_run({}, "ideal", "r")
    with Ledger(path, mode="read") as led:
        assert [r["run_id"] for r in led.runs()] == ["r"]


def test_a_new_ledger_sees_the_file_another_process_created(tmp_path):
    path = tmp_path / "l.db"
    with Ledger(path) as waiting, Ledger(path) as writer:
        writer.create_run({}, "ideal", "r")
        assert waiting.run("r")["status"] == "created"


def test_a_refused_run_leaves_no_ledger_file(tmp_path):
    graphs = tmp_path / "g.json"
    graphs.write_text(json.dumps([{"n": 3, "edges": [[0, 1], [1, 2], [0, 2]]}]))
    ledger = tmp_path / "fresh" / "ledger.db"
    result = run_case({"argv": ["run", "--graphs", str(graphs), "--p", "0", "--ledger", str(ledger)]})
    assert result["code"] != 0 and "--p" in result["stderr"]
    assert not ledger.exists() and not ledger.parent.exists()
    result = run_case({"argv": ["run", "--graphs", str(graphs), "--ledger", ":memory:"]})
    assert result["code"] != 0 and "--ledger" in result["stderr"]
    assert not (Path.cwd() / ":memory:").exists()
