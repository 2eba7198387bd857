"""The durable job ledger: every run, hardware job id and evaluation, one transaction per event.

SQLite from the standard library in WAL mode with ``synchronous=FULL``: an event
that returned is on disk, whatever kills the process afterwards. The ledger is what
makes runs resumable (:mod:`hybrid.runs` replays recorded evaluations instead of
recomputing them) and what keeps a hardware job id from ever being lost (it is
written the moment the job is accepted, before waiting for its result).

Default location: ``jobs/ledger.db`` under the current directory (git-ignored),
or ``$HYBRID_LEDGER``; every command takes ``--ledger PATH``. Only JSON is stored;
credentials never reach the ledger (specs are scrubbed of token-like keys).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

DEFAULT_LEDGER = Path("jobs") / "ledger.db"
SCHEMA_VERSION = 1
#: Keys never written to the ledger, whatever their nesting.
SECRET_KEYS = ("token", "api_key", "apikey", "password", "secret", "credential")

RUN_STATES = ("created", "running", "done", "failed", "interrupted")
JOB_STATES = ("submitted", "done", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    status TEXT NOT NULL,
    target TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS evaluations (
    run_id TEXT NOT NULL,
    graph TEXT NOT NULL,
    idx INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    params_json TEXT NOT NULL,
    record_json TEXT,
    created TEXT NOT NULL,
    PRIMARY KEY (run_id, graph, idx)
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    graph TEXT NOT NULL,
    idx INTEGER NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL,
    graph TEXT NOT NULL,
    result_json TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (run_id, graph)
);
"""


class LedgerError(RuntimeError):
    """A ledger that cannot be used, or a run/evaluation it does not hold."""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def scrub(value: Any) -> Any:
    """A copy of ``value`` without secret-looking keys (tokens never reach the ledger)."""
    if isinstance(value, dict):
        return {
            k: scrub(v) for k, v in value.items() if not any(s in str(k).lower() for s in SECRET_KEYS)
        }
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value


def default_path() -> Path:
    env = os.environ.get("HYBRID_LEDGER")
    return Path(env) if env else DEFAULT_LEDGER


class Ledger:
    """A SQLite ledger file. Cheap to open; safe to share between processes."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path}: not a usable ledger database ({exc}); pass another --ledger path") from None
        with self._tx() as cur:
            cur.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")

    # ------------------------------------------------------------------ runs
    def create_run(self, spec: dict[str, Any], target: str, run_id: str | None = None) -> str:
        run_id = run_id or _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        now = _now()
        with self._tx() as cur:
            if cur.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                raise LedgerError(f"run {run_id!r} already exists in {self.path}; resume it or pick another id")
            cur.execute(
                "INSERT INTO runs VALUES (?, ?, ?, 'created', ?, ?, NULL)",
                (run_id, now, now, target, json.dumps(scrub(spec))),
            )
        return run_id

    def set_status(self, run_id: str, status: str, error: str | None = None) -> None:
        if status not in RUN_STATES:
            raise LedgerError(f"unknown run status {status!r}; one of {RUN_STATES}")
        with self._tx() as cur:
            cur.execute(
                "UPDATE runs SET status = ?, error = ?, updated = ? WHERE run_id = ?",
                (status, error, _now(), run_id),
            )

    def run(self, run_id: str) -> dict[str, Any]:
        row = self._conn.execute(
            "SELECT run_id, created, updated, status, target, spec_json, error FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            known = [r[0] for r in self._conn.execute("SELECT run_id FROM runs ORDER BY created DESC LIMIT 5")]
            raise LedgerError(f"no run {run_id!r} in {self.path}; recent runs: {', '.join(known) or 'none'}")
        keys = ("run_id", "created", "updated", "status", "target", "spec", "error")
        out = dict(zip(keys, row))
        out["spec"] = json.loads(out["spec"])
        return out

    def runs(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT r.run_id, r.created, r.status, r.target, "
            "(SELECT COUNT(*) FROM results s WHERE s.run_id = r.run_id), "
            "(SELECT COUNT(*) FROM evaluations e WHERE e.run_id = r.run_id AND e.status = 'done'), "
            "(SELECT COUNT(*) FROM jobs j WHERE j.run_id = r.run_id) "
            "FROM runs r ORDER BY r.created"
        ).fetchall()
        keys = ("run_id", "created", "status", "target", "graphs_done", "evaluations", "jobs")
        return [dict(zip(keys, r)) for r in rows]

    # ------------------------------------------------------------------ evaluations
    def begin_evaluation(self, run_id: str, graph: str, idx: int, kind: str, params: list) -> None:
        """Mark evaluation ``idx`` as started (pending) before anything is submitted."""
        with self._tx() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO evaluations VALUES (?, ?, ?, ?, 'pending', ?, NULL, ?)",
                (run_id, graph, idx, kind, json.dumps(params), _now()),
            )

    def finish_evaluation(self, run_id: str, graph: str, idx: int, record: dict[str, Any]) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE evaluations SET status = 'done', record_json = ? WHERE run_id = ? AND graph = ? AND idx = ?",
                (json.dumps(record), run_id, graph, idx),
            )
            cur.execute(
                "UPDATE jobs SET status = 'done', updated = ? WHERE run_id = ? AND graph = ? AND idx = ? AND status = 'submitted'",
                (_now(), run_id, graph, idx),
            )

    def evaluation(self, run_id: str, graph: str, idx: int) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT kind, status, params_json, record_json FROM evaluations WHERE run_id = ? AND graph = ? AND idx = ?",
            (run_id, graph, idx),
        ).fetchone()
        if row is None:
            return None
        kind, status, params, record = row
        jobs = [r[0] for r in self._conn.execute(
            "SELECT job_id FROM jobs WHERE run_id = ? AND graph = ? AND idx = ? ORDER BY created", (run_id, graph, idx)
        )]
        return {
            "kind": kind,
            "status": status,
            "params": json.loads(params),
            "record": json.loads(record) if record else None,
            "job_ids": jobs,
        }

    def evaluations(self, run_id: str, graph: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT graph, idx, kind, status, params_json, record_json FROM evaluations WHERE run_id = ?"
        args: tuple = (run_id,)
        if graph is not None:
            query += " AND graph = ?"
            args += (graph,)
        rows = self._conn.execute(query + " ORDER BY graph, idx", args).fetchall()
        return [
            {
                "graph": g,
                "idx": i,
                "kind": k,
                "status": s,
                "params": json.loads(p),
                "record": json.loads(r) if r else None,
            }
            for g, i, k, s, p, r in rows
        ]

    # ------------------------------------------------------------------ jobs
    def record_job(self, run_id: str, graph: str, idx: int, job_id: str, target: str) -> None:
        """Write a hardware job id the moment it exists."""
        now = _now()
        with self._tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO jobs VALUES (?, ?, ?, ?, ?, 'submitted', ?, ?, NULL)",
                (job_id, run_id, graph, idx, target, now, now),
            )

    def update_job(self, job_id: str, status: str, detail: str | None = None) -> None:
        if status not in JOB_STATES:
            raise LedgerError(f"unknown job status {status!r}; one of {JOB_STATES}")
        with self._tx() as cur:
            cur.execute("UPDATE jobs SET status = ?, detail = ?, updated = ? WHERE job_id = ?", (status, detail, _now(), job_id))

    def jobs(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT job_id, graph, idx, target, status, created, updated, detail FROM jobs WHERE run_id = ? ORDER BY created",
            (run_id,),
        ).fetchall()
        keys = ("job_id", "graph", "idx", "target", "status", "created", "updated", "detail")
        return [dict(zip(keys, r)) for r in rows]

    # ------------------------------------------------------------------ results
    def record_result(self, run_id: str, graph: str, result: dict[str, Any]) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?)", (run_id, graph, json.dumps(result), _now())
            )

    def results(self, run_id: str) -> dict[str, dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT graph, result_json FROM results WHERE run_id = ? ORDER BY created", (run_id,)
        ).fetchall()
        return {g: json.loads(r) for g, r in rows}
