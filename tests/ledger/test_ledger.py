"""The ledger module: job outcomes, run lock and liveness, and failing safe on every kind of bad file."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

import hybrid.ledger.locks as locks_module
from hybrid.ledger import Ledger, LedgerError, RunBusyError, scrub_text

SECRET = "tok-0123456789-abcdef"
ROWS_FOR_SEVERAL_PAGES = 400
HEARTBEAT_TEST_S = 0.05
CORRUPT = r"corrupt.*sqlite3 .* \.recover \| sqlite3 recovered\.db"

#: Rounds of four processes creating the same new ledger at once.
CREATE_RACE_TRIALS = 8
#: A recorded evaluation wall time (seconds).
EVAL_SECONDS = 1.25


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


@pytest.fixture
def filled(tmp_path) -> Path:
    """A closed ledger with one run, jobs and enough evaluations to span many pages."""
    path = tmp_path / "ledger.db"
    with Ledger(path) as led:
        led.create_run({"backend": "ibm:x"}, "ibm:x", "r1")
        led.record_job("r1", "0:g", 0, "job-a", "ibm:x")
    conn = sqlite3.connect(path)  # the bulk of the rows in one transaction (one fsync)
    with conn:
        conn.executemany(
            "INSERT INTO evaluations (run_id, graph, idx, kind, status, params_json, record_json, created) "
            "VALUES ('r1', '0:g', ?, 'evaluate', 'done', ?, ?, 't')",
            [(i, json.dumps([0.1 * i] * 20), json.dumps({"energies": [float(i)] * 20}))
             for i in range(ROWS_FOR_SEVERAL_PAGES)],
        )
    conn.close()
    return path


# --------------------------------------------------------------------------- runs and secrets
def test_runs_are_created_once_and_secrets_never_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    with Ledger(tmp_path / "l.db") as led:
        assert led.counts() == {"runs": 0, "evaluations": 0, "jobs": 0, "results": 0}
        rid = led.create_run({"backend": "ibm:x", "options": {"token": SECRET}}, "ibm:x", "r1")
        assert led.has_run(rid) and not led.has_run("other")
        assert "token" not in led.run(rid)["spec"]["options"]
        led.set_status(rid, "failed", f"401 for token={SECRET} and {SECRET}")
        assert SECRET not in led.run(rid)["error"] and "<redacted>" in led.run(rid)["error"]
        with pytest.raises(LedgerError, match="already exists"):
            led.create_run({}, "ideal", rid)
        with pytest.raises(LedgerError, match="unknown run status"):
            led.set_status(rid, "exploded")
        assert led.counts()["runs"] == 1
    assert scrub_text("Authorization: Bearer abc.def") == "Authorization: Bearer <redacted>"
    assert scrub_text(None) is None


# --------------------------------------------------------------------------- job outcomes
def test_job_outcomes_are_written_with_timestamps_detail_and_links(tmp_path, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    with Ledger(tmp_path / "l.db") as led:
        led.create_run({}, "ibm:x", "r")
        led.begin_evaluation("r", "g", 0, "evaluate", [0.1, 0.2])
        led.record_job("r", "g", 0, "j1", "ibm:x")
        first = led.job("j1")
        assert first["status"] == "submitted" and first["finished"] is None and first["created"]
        led.update_job("j1", "failed", f"JobFailedError: ended ERROR: echo {SECRET}")
        failed = led.job("j1")
        assert failed["status"] == "failed" and failed["finished"] is not None
        assert SECRET not in failed["detail"] and "ended ERROR" in failed["detail"]
        led.record_job("r", "g", 0, "j2", "ibm:x", resubmit_of="j1")
        assert [j["job_id"] for j in led.call_jobs("r", "g", 0)] == ["j1", "j2"]
        assert led.evaluation("r", "g", 0)["jobs"][-1]["resubmit_of"] == "j1"
        led.finish_evaluation("r", "g", 0, {"energies": [1.0]})
        assert led.job("j2")["status"] == "done" and led.job("j2")["finished"] is not None
        assert led.job("j1")["status"] == "failed"  # a terminal state is never overwritten by the next job's
        # Runtime local mode: the id comes back with the result, recorded then marked done
        led.begin_evaluation("r", "g", 1, "evaluate", [0.3, 0.4])
        led.record_job("r", "g", 1, "local-1", "local:x")
        led.update_job("local-1", "done")
        assert led.job("local-1")["status"] == "done" and led.job("local-1")["finished"] is not None
        with pytest.raises(LedgerError, match="unknown job status"):
            led.update_job("j2", "lost")
        assert led.job("nope") is None


# --------------------------------------------------------------------------- lock and liveness
def test_one_driver_at_a_time_with_pid_and_heartbeat(tmp_path, monkeypatch):
    monkeypatch.setattr(locks_module, "HEARTBEAT_S", HEARTBEAT_TEST_S)
    monkeypatch.setattr(locks_module, "LOCK_RETRY_S", 0.1)
    path = tmp_path / "l.db"
    with Ledger(path) as led, Ledger(path) as other:
        led.create_run({}, "ideal", "r")
        with led.drive("r"):
            led.set_status("r", "running")
            row = other.run("r")
            assert row["owner_pid"] == os.getpid() and row["status"] == "running"
            assert other.owner_alive("r")
            beat = row["heartbeat"]
            time.sleep(HEARTBEAT_TEST_S * 6)
            assert other.run("r")["heartbeat"] > beat
            with pytest.raises(RunBusyError, match=f"already being driven by PID {os.getpid()}") as busy:
                with other.drive("r"):
                    pass
            assert busy.value.pid == os.getpid()
        # the driver left without saying so (as after kill -9): the run reads back as interrupted
        row = other.run("r")
        assert row["recorded_status"] == "running" and row["status"] == "interrupted"
        assert "hybrid jobs resume r" in row["error"] and row["owner_pid"] is None
        assert [r["status"] for r in other.runs()] == ["interrupted"]
        with other.drive("r"):  # the lock is free again
            pass
        assert led.lock_path("r").parent.name == "l.db.locks"


def test_a_dead_pid_without_a_lock_file_reads_as_interrupted(tmp_path):
    with Ledger(tmp_path / "l.db") as led:
        led.create_run({}, "ideal", "r")
        led.set_status("r", "running")
        led._set_owner("r", 2**22 + 12345, None)  # no such process, no lock file
        assert led.run("r")["status"] == "interrupted"
        led._set_owner("r", os.getpid(), None)  # a live PID without a lock file: trust it
        assert led.run("r")["status"] == "running"


# --------------------------------------------------------------------------- failing safe
def test_read_commands_never_create_a_ledger(tmp_path):
    for path in (tmp_path / "typo.db", tmp_path / "missing" / "ledger.db"):
        with pytest.raises(LedgerError, match="no ledger at") as info:
            Ledger(path, mode="read")
        one_line(info)
        assert not path.exists() and not path.parent.joinpath(path.name + ".locks").exists()
    assert not (tmp_path / "missing").exists()


def test_zero_byte_file_is_refused_on_purpose_and_left_alone(tmp_path):
    path = tmp_path / "zero.db"
    path.write_bytes(b"")
    for mode in ("write", "read"):
        with pytest.raises(LedgerError, match="0-byte") as info:
            Ledger(path, mode=mode)
        one_line(info)
    assert path.stat().st_size == 0


def test_garbage_truncated_and_corrupt_middle_pages_give_one_line_with_recover_advice(tmp_path, filled):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all " * 300)
    with pytest.raises(LedgerError, match=CORRUPT) as info:
        Ledger(garbage)
    one_line(info)

    size = filled.stat().st_size
    page = 4096
    assert size > 8 * page, "the fixture must span several pages"

    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(filled.read_bytes()[: size // 2])
    with pytest.raises(LedgerError, match=CORRUPT) as info:
        with Ledger(truncated, mode="read") as led:
            led.evaluations("r1")
    one_line(info)

    middle = tmp_path / "middle.db"
    data = bytearray(filled.read_bytes())
    start = (size // page // 2) * page
    data[start : start + 3 * page] = b"\xff" * (3 * page)
    middle.write_bytes(bytes(data))
    for command in (lambda led: led.evaluations("r1"), lambda led: led.runs()):
        with pytest.raises(LedgerError, match=CORRUPT) as info:
            with Ledger(middle, mode="read") as led:
                command(led)
        one_line(info)


def test_integrity_check_runs_after_an_unclean_shutdown(tmp_path, filled, monkeypatch):
    calls = []
    original = Ledger._integrity_check
    monkeypatch.setattr(Ledger, "_integrity_check", lambda self: (calls.append(self.path), original(self))[1])
    with Ledger(filled, mode="read") as led:  # closed cleanly: no WAL left behind, no check
        assert led.counts()["evaluations"] == ROWS_FOR_SEVERAL_PAGES
    assert calls == []
    # a writer that died: copy the files while its connection is open, WAL included
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    writer = Ledger(filled)
    writer.record_job("r1", "0:g", 1, "job-b", "ibm:x")
    for suffix in ("", "-wal"):
        shutil.copy(str(filled) + suffix, crashed / ("ledger.db" + suffix))
    writer.close()
    wal = (crashed / "ledger.db-wal").read_bytes()
    main = (crashed / "ledger.db").read_bytes()
    assert len(wal) > 0
    with Ledger(crashed / "ledger.db", mode="read") as led:
        assert led.job("job-b")["status"] == "submitted"  # the WAL's last event survived
    assert calls == [crashed / "ledger.db"]
    # and a damaged one is reported at open, before any command reads it
    broken = tmp_path / "broken"
    broken.mkdir()
    data = bytearray(main)
    data[len(data) // 2 : len(data) // 2 + 4096] = b"\x00" * 4096
    (broken / "ledger.db").write_bytes(bytes(data))
    (broken / "ledger.db-wal").write_bytes(wal)
    with pytest.raises(LedgerError, match=CORRUPT) as info:
        Ledger(broken / "ledger.db", mode="read")
    one_line(info)


def test_read_only_file_refuses_writes_and_serves_reads(filled):
    filled.chmod(0o444)
    try:
        with pytest.raises(LedgerError, match="read-only.*jobs list/show/fetch") as info:
            Ledger(filled)
        one_line(info)
        with Ledger(filled, mode="read") as led:
            assert led.readonly
            assert led.run("r1")["target"] == "ibm:x"
            assert [r["run_id"] for r in led.runs()] == ["r1"]
            assert led.jobs("r1")[0]["job_id"] == "job-a"
            assert led.counts()["evaluations"] == ROWS_FOR_SEVERAL_PAGES
            with pytest.raises(LedgerError, match="read-only") as info:
                led.update_job("job-a", "failed")
            one_line(info)
    finally:
        filled.chmod(0o644)


def test_read_only_folder_serves_reads(filled):
    folder = filled.parent
    folder.chmod(0o555)
    try:
        with Ledger(filled, mode="read") as led:
            assert led.readonly and led.run("r1")["status"] == "created"
            assert len(led.evaluations("r1")) == ROWS_FOR_SEVERAL_PAGES
        with pytest.raises(LedgerError, match="read-only"):
            Ledger(filled)
    finally:
        folder.chmod(0o755)


def test_uncreatable_folder_and_directory_path_are_one_line(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(LedgerError, match="cannot create the ledger folder") as info:
        Ledger(blocker / "sub" / "ledger.db")
    one_line(info)
    with pytest.raises(LedgerError, match="is a directory") as info:
        Ledger(tmp_path)
    one_line(info)


def test_not_a_hybrid_ledger_read_only_and_schema_1_migration(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="not a hybrid ledger"):
        Ledger(other)  # never turned into a ledger
    other.chmod(0o444)
    try:
        with pytest.raises(LedgerError, match="not a hybrid ledger"):
            Ledger(other, mode="read")
    finally:
        other.chmod(0o644)
    # a ledger written before job outcomes and run owners were recorded
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL, status TEXT NOT NULL,"
        " target TEXT NOT NULL, spec_json TEXT NOT NULL, error TEXT);"
        "CREATE TABLE evaluations (run_id TEXT NOT NULL, graph TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL,"
        " status TEXT NOT NULL, params_json TEXT NOT NULL, record_json TEXT, created TEXT NOT NULL,"
        " PRIMARY KEY (run_id, graph, idx));"
        "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, graph TEXT NOT NULL, idx INTEGER NOT NULL,"
        " target TEXT NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL, detail TEXT);"
        "CREATE TABLE results (run_id TEXT NOT NULL, graph TEXT NOT NULL, result_json TEXT NOT NULL,"
        " created TEXT NOT NULL, PRIMARY KEY (run_id, graph));"
        "INSERT INTO runs VALUES ('r0', 't', 't', 'done', 'ibm:x', '{}', NULL);"
        "INSERT INTO jobs VALUES ('j0', 'r0', 'g', 0, 'ibm:x', 'submitted', 't', 't', NULL);"
    )
    conn.commit()
    conn.close()
    old.chmod(0o444)
    try:
        with Ledger(old, mode="read") as led:  # read as it is, never migrated in place
            assert led.run("r0")["owner_pid"] is None and led.jobs("r0")[0]["resubmit_of"] is None
            assert led.jobs("r0")[0]["record"] is None
    finally:
        old.chmod(0o644)
    with Ledger(old) as led:
        led.update_job("j0", "cancelled", "by the user")
        assert led.job("j0")["finished"] is not None and led.run("r0")["status"] == "done"
        led.record_job("r0", "g", 1, "j1", "ibm:x", record={"job_id": "j1", "shots": 8})  # the added column
        assert led.job("j1")["record"] == {"job_id": "j1", "shots": 8}


def test_the_ledger_keeps_what_fetching_a_job_needs(tmp_path):
    record = {"job_id": "j1", "backend": "ibm_x", "shots": 100, "clbit_orders": [[1, 0]], "points": [3]}
    with Ledger(tmp_path / "l.db") as led:
        led.create_run({}, "ibm:x", "r")
        led.record_job("r", "g", 0, "j1", "ibm:x", record=record)
        led.record_job("r", "g", 1, "j2", "ibm:x")
    with Ledger(tmp_path / "l.db", mode="read") as led:  # another process, read back as JSON
        assert led.job("j1")["record"] == record and led.job("j2")["record"] is None
        assert led.call_jobs("r", "g", 0)[0]["record"] == record


def test_an_sqlite_file_without_tables_is_a_new_ledger_for_writers_only(tmp_path):
    path = tmp_path / "fresh.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")  # the header is written, no table yet
    conn.close()
    assert path.stat().st_size > 0
    with pytest.raises(LedgerError, match="holds no tables"):
        Ledger(path, mode="read")
    with Ledger(path) as led:
        assert led.counts()["runs"] == 0


def test_a_job_recorded_after_a_failed_one_is_linked_to_it(tmp_path):
    with Ledger(tmp_path / "l.db") as led:
        led.create_run({}, "local:x", "r")
        led.begin_evaluation("r", "g", 0, "evaluate", [0.1, 0.2])
        led.record_job("r", "g", 0, "local-0", "local:x")
        led.update_job("local-0", "cancelled", "JobFailedError: ended CANCELLED")
        led.record_job("r", "g", 0, "local-1", "local:x")  # a caller that does not pass resubmit_of
        led.update_job("local-1", "done")
        assert led.job("local-1")["resubmit_of"] == "local-0"
        led.record_job("r", "g", 1, "local-2", "local:x")
        assert led.job("local-2")["resubmit_of"] is None  # another call: no link


def _open_and_list(path, queue):
    try:
        with Ledger(path) as led:
            led.runs()
        queue.put("ok")
    except Exception as exc:  # reported to the parent
        queue.put(repr(exc))


def test_processes_creating_one_ledger_at_once_all_open_it(tmp_path):
    """A new ledger is linked into place complete: no process sees SQLite's 0-byte file."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    for trial in range(CREATE_RACE_TRIALS):
        queue = ctx.Queue()
        procs = [ctx.Process(target=_open_and_list, args=(tmp_path / f"race{trial}.db", queue)) for _ in range(4)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        assert [queue.get() for _ in procs] == ["ok"] * 4
    assert not list(tmp_path.glob(".*.new*"))  # no temporary file left behind


def test_each_evaluation_records_its_wall_time_and_old_ledgers_gain_the_column(tmp_path):
    with Ledger(tmp_path / "l.db") as led:
        led.create_run({}, "ideal", "r")
        led.begin_evaluation("r", "g", 0, "evaluate", [0.1, 0.2])
        assert led.evaluation("r", "g", 0)["seconds"] is None  # pending: not timed yet
        led.finish_evaluation("r", "g", 0, {"energies": [1.0]}, seconds=EVAL_SECONDS)
        led.begin_evaluation("r", "g", 1, "evaluate", [0.3, 0.4])
        led.finish_evaluation("r", "g", 1, {"energies": [2.0]})  # a caller that does not time
    with Ledger(tmp_path / "l.db", mode="read") as led:
        assert led.evaluation("r", "g", 0)["seconds"] == EVAL_SECONDS
        assert [e["seconds"] for e in led.evaluations("r")] == [EVAL_SECONDS, None]
    # a ledger written before evaluation times were recorded
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL, status TEXT NOT NULL,"
        " target TEXT NOT NULL, spec_json TEXT NOT NULL, error TEXT);"
        "CREATE TABLE evaluations (run_id TEXT NOT NULL, graph TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL,"
        " status TEXT NOT NULL, params_json TEXT NOT NULL, record_json TEXT, created TEXT NOT NULL,"
        " PRIMARY KEY (run_id, graph, idx));"
        "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, graph TEXT NOT NULL, idx INTEGER NOT NULL,"
        " target TEXT NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL, detail TEXT);"
        "CREATE TABLE results (run_id TEXT NOT NULL, graph TEXT NOT NULL, result_json TEXT NOT NULL,"
        " created TEXT NOT NULL, PRIMARY KEY (run_id, graph));"
        "INSERT INTO runs VALUES ('r0', 't', 't', 'running', 'ideal', '{}', NULL);"
        "INSERT INTO evaluations VALUES ('r0', 'g', 0, 'evaluate', 'done', '[0.1]', '{\"energies\": [1.0]}', 't');"
    )
    conn.commit()
    conn.close()
    with Ledger(old, mode="read") as led:  # read as it is
        assert led.evaluations("r0")[0]["seconds"] is None and led.evaluation("r0", "g", 0)["record"]
    with Ledger(old) as led:  # migrated on a writable open
        led.begin_evaluation("r0", "g", 1, "evaluate", [0.2])
        led.finish_evaluation("r0", "g", 1, {"energies": [0.5]}, seconds=EVAL_SECONDS)
        assert [e["seconds"] for e in led.evaluations("r0")] == [None, EVAL_SECONDS]
