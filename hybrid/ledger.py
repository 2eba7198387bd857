"""The durable job ledger: every run, hardware job id and evaluation, one transaction per event.

SQLite from the standard library in WAL mode with ``synchronous=FULL``: an event
that returned is on disk, whatever kills the process afterwards. The ledger is what
makes runs resumable (:mod:`hybrid.runs` replays recorded evaluations instead of
recomputing them) and what keeps a hardware job id from ever being lost (it is
written the moment the job is accepted, before waiting for its result). Every job's
terminal state (done, failed, cancelled), its timestamps and its error text (scrubbed
of secrets) are written as soon as they are known; a job resubmitted after a failure
names the job it replaces.

One process drives a run at a time: :meth:`Ledger.drive` takes an OS lock
(``fcntl.flock``) on a lock file beside the ledger, keyed by run id, and records the
owner's PID, host and a heartbeat in the ledger. A ``running`` run whose lock is free
(its owner was killed) reads back as ``interrupted``.

The ledger fails safe: every SQLite error becomes one :class:`LedgerError` line
(corrupt: with ``sqlite3 .recover`` advice; read-only; busy); read commands open it
with ``mode="read"`` (it must exist; a read-only file or folder is opened through a
read-only connection); a 0-byte file is refused, never silently treated as a new
ledger; ``PRAGMA integrity_check`` runs when the previous writer did not shut down
cleanly (a non-empty ``-wal`` file is left behind).

Default location: ``jobs/ledger.db`` under the current directory (git-ignored),
or ``$HYBRID_LEDGER``; every command takes ``--ledger PATH``. Only JSON is stored;
credentials never reach the ledger (specs are scrubbed of token-like keys, error
text of token-like values).
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import re
import socket
import sqlite3
import threading
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

DEFAULT_LEDGER = Path("jobs") / "ledger.db"
SCHEMA_VERSION = 2
#: Keys never written to the ledger, whatever their nesting.
SECRET_KEYS = ("token", "api_key", "apikey", "password", "secret", "credential")
#: Environment variables whose values never reach the ledger.
SECRET_ENV_VARS = ("QISKIT_IBM_TOKEN",)
REDACTED = "<redacted>"
_SECRET_VALUE_RE = re.compile(
    r"(?i)\b(token|api[_-]?key|apikey|password|secret|authorization|bearer)(\s*[=:]\s*(?:bearer\s+)?|\s+)(['\"]?)[^\s'\",;]+"
)

RUN_STATES = ("created", "running", "done", "failed", "interrupted")
JOB_STATES = ("submitted", "done", "failed", "cancelled")
TERMINAL_JOB_STATES = ("done", "failed", "cancelled")
#: Seconds between heartbeats of the process driving a run.
HEARTBEAT_S = 5.0
#: How long :meth:`Ledger.drive` retries a held lock before refusing (covers a reader's brief probe).
LOCK_RETRY_S = 1.0
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    status TEXT NOT NULL,
    target TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    error TEXT,
    owner_pid INTEGER,
    owner_host TEXT,
    heartbeat TEXT
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
    detail TEXT,
    finished TEXT,
    resubmit_of TEXT
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL,
    graph TEXT NOT NULL,
    result_json TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (run_id, graph)
);
"""
#: Columns added since schema 1 (older ledgers are migrated on a writable open).
_ADDED_COLUMNS = {
    "runs": (("owner_pid", "INTEGER"), ("owner_host", "TEXT"), ("heartbeat", "TEXT")),
    "jobs": (("finished", "TEXT"), ("resubmit_of", "TEXT")),
}
TABLES = ("runs", "evaluations", "jobs", "results")


class LedgerError(RuntimeError):
    """A ledger that cannot be used, or a run/evaluation it does not hold."""


class RunBusyError(LedgerError):
    """Another live process is driving the run."""

    def __init__(self, message: str, pid: int | None):
        super().__init__(message)
        self.pid = pid


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


def scrub_text(text: Any) -> str | None:
    """``text`` with token values from the environment and ``token=...``-like values redacted."""
    if text is None:
        return None
    text = str(text)
    for var in SECRET_ENV_VARS:
        secret = os.environ.get(var, "").strip()
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return _SECRET_VALUE_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{REDACTED}", text)


def default_path() -> Path:
    env = os.environ.get("HYBRID_LEDGER")
    return Path(env) if env else DEFAULT_LEDGER


def new_run_id() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _guarded(method):
    """Turn any SQLite error inside ``method`` into one :class:`LedgerError` line."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise self._explain(exc) from None

    return wrapper


class Ledger:
    """A SQLite ledger file. Cheap to open; safe to share between processes.

    ``mode="write"`` (run, submit, resume) creates the file and its folder when
    missing; ``mode="read"`` (list, show, fetch) requires an existing ledger and opens
    a read-only connection when the file or its folder cannot be written.
    """

    def __init__(self, path: str | Path | None = None, *, mode: str = "write"):
        if mode not in ("write", "read"):
            raise LedgerError(f"mode must be 'write' or 'read', got {mode!r}")
        self.path = Path(path) if path is not None else default_path()
        self.mode = mode
        self.readonly = False
        self._conn: sqlite3.Connection | None = None
        exists = self.path.exists()
        if exists and self.path.is_dir():
            raise LedgerError(f"ledger {self.path} is a directory; pass --ledger FILE.db")
        if not exists and mode == "read":
            raise LedgerError(
                f"no ledger at {self.path}; check --ledger or $HYBRID_LEDGER (read commands never create one)"
            )
        if exists and self.path.stat().st_size == 0:
            raise LedgerError(
                f"ledger {self.path} is an empty 0-byte file (truncated, or never a ledger); "
                "restore it from a backup, or delete it to start a new ledger"
            )
        if exists and not self._writable():
            if mode == "write":
                raise LedgerError(
                    f"ledger {self.path} is read-only (file or folder not writable); "
                    "`hybrid jobs list/show/fetch` can still read it; fix its permissions or pass another --ledger"
                )
            self.readonly = True
        unclean = exists and self._wal_left_behind()
        try:
            if not exists:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise LedgerError(
                        f"cannot create the ledger folder {self.path.parent} ({exc.strerror}); pass a writable --ledger path"
                    ) from None
                self._create_atomically()
            self._conn = self._connect()
            if unclean:
                self._integrity_check()
            if exists:
                self._check_tables()
            if mode == "write":  # read commands never write (an older schema is read as it is)
                self._conn.executescript(_SCHEMA)
                self._migrate()
                with self._tx() as cur:
                    cur.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.Error as exc:
            error = self._explain(exc)
            self.close()
            raise error from None
        except LedgerError:
            self.close()
            raise

    # ------------------------------------------------------------------ opening
    def _writable(self) -> bool:
        """Whether the file and its folder may be written; for root, by their permission bits."""
        import stat

        if os.geteuid() != 0:
            return os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)
        bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        return bool(self.path.stat().st_mode & bits) and bool(self.path.parent.stat().st_mode & bits)

    def _wal_left_behind(self) -> bool:
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            return wal.stat().st_size > 0
        except OSError:
            return False

    def _connect(self) -> sqlite3.Connection:
        if not self.readonly:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.row_factory = sqlite3.Row
            return conn
        uri = "file:" + urllib.parse.quote(str(self.path.resolve()))
        try:
            conn = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            # A WAL ledger in a read-only folder cannot get its -shm file: read it as immutable.
            conn = sqlite3.connect(uri + "?immutable=1", uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    def _integrity_check(self) -> None:
        rows = [r[0] for r in self._conn.execute("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            raise sqlite3.DatabaseError(f"integrity_check: {rows[0]}")

    def _check_tables(self) -> None:
        names = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not names:
            if self.mode == "write":
                return  # an SQLite file without tables (a first open that died early): nothing to lose
            raise LedgerError(f"ledger {self.path} holds no tables: no run was ever recorded in it; check --ledger")
        missing = [t for t in TABLES if t not in names]
        if missing:
            raise LedgerError(f"{self.path} is not a hybrid ledger (no table {missing[0]!r}); pass another --ledger")

    def _migrate(self) -> None:
        for table, columns in _ADDED_COLUMNS.items():
            have = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns:
                if name not in have:
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def _explain(self, exc: sqlite3.Error) -> LedgerError:
        text = str(exc)
        low = text.lower()
        if "readonly" in low or "read-only" in low:
            return LedgerError(
                f"ledger {self.path} is read-only ({text}); read commands still work; "
                "fix its permissions or pass another --ledger"
            )
        if "locked" in low or "busy" in low:
            return LedgerError(
                f"ledger {self.path} stayed locked by another process for {BUSY_TIMEOUT_S:g} s ({text}); retry"
            )
        if "unable to open" in low or "disk i/o" in low:
            return LedgerError(f"cannot open the ledger {self.path} ({text}); check the path and its permissions")
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError) or any(
            s in low for s in ("malformed", "not a database", "corrupt", "integrity_check")
        ):
            return LedgerError(
                f"ledger {self.path} is corrupt ({text}); recover what it holds with "
                f"`sqlite3 {self.path} .recover | sqlite3 recovered.db` and pass --ledger recovered.db"
            )
        return LedgerError(f"ledger {self.path}: {type(exc).__name__}: {text}")

    def _create_atomically(self) -> None:
        """Write a complete empty ledger beside ``path`` and hard-link it into place.

        Another process opening the path at the same moment sees either no file or a
        complete ledger, never the 0-byte file SQLite leaves between creating a
        database and writing its first page. If another process linked its ledger
        first, that one is used.
        """
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.new")
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        finally:
            conn.close()  # checkpoints the WAL into the file
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            pass
        except OSError:  # no hard links on this file system: let SQLite create the file
            pass
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
                leftover.unlink(missing_ok=True)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
        if self.readonly:
            raise LedgerError(
                f"ledger {self.path} is opened read-only; this command needs to write to it "
                "(fix its permissions or pass another --ledger)"
            )
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")

    @_guarded
    def counts(self) -> dict[str, int]:
        """Rows per table (what a command that must not write is checked against)."""
        return {t: self._conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}

    # ------------------------------------------------------------------ runs
    @_guarded
    def create_run(self, spec: dict[str, Any], target: str, run_id: str | None = None) -> str:
        run_id = run_id or new_run_id()
        now = _now()
        with self._tx() as cur:
            if cur.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                raise LedgerError(f"run {run_id!r} already exists in {self.path}; resume it or pick another id")
            cur.execute(
                "INSERT INTO runs (run_id, created, updated, status, target, spec_json, error) "
                "VALUES (?, ?, ?, 'created', ?, ?, NULL)",
                (run_id, now, now, target, json.dumps(scrub(spec))),
            )
        return run_id

    @_guarded
    def has_run(self, run_id: str) -> bool:
        return self._conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is not None

    @_guarded
    def set_status(self, run_id: str, status: str, error: str | None = None) -> None:
        if status not in RUN_STATES:
            raise LedgerError(f"unknown run status {status!r}; one of {RUN_STATES}")
        with self._tx() as cur:
            cur.execute(
                "UPDATE runs SET status = ?, error = ?, updated = ? WHERE run_id = ?",
                (status, scrub_text(error), _now(), run_id),
            )

    def _row(self, row: sqlite3.Row) -> dict[str, Any]:
        out = dict(row)
        for key in ("owner_pid", "owner_host", "heartbeat"):
            out.setdefault(key, None)
        out["spec"] = json.loads(out.pop("spec_json"))
        out["recorded_status"] = out["status"]
        if out["status"] == "running" and not self.owner_alive(out["run_id"], out["owner_pid"], out["owner_host"]):
            out["status"] = "interrupted"
            who = f" (PID {out['owner_pid']})" if out["owner_pid"] else ""
            out["error"] = (
                f"the process driving it{who} is gone; resume it with `hybrid jobs resume {out['run_id']}`"
            )
        return out

    @_guarded
    def run(self, run_id: str) -> dict[str, Any]:
        """A run's row; a ``running`` run whose owner is gone reads back as ``interrupted``."""
        row = self._conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            known = [r[0] for r in self._conn.execute("SELECT run_id FROM runs ORDER BY created DESC LIMIT 5")]
            raise LedgerError(f"no run {run_id!r} in {self.path}; recent runs: {', '.join(known) or 'none'}")
        return self._row(row)

    @_guarded
    def runs(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT r.*, "
            "(SELECT COUNT(*) FROM results s WHERE s.run_id = r.run_id) AS graphs_done, "
            "(SELECT COUNT(*) FROM evaluations e WHERE e.run_id = r.run_id AND e.status = 'done') AS evaluations, "
            "(SELECT COUNT(*) FROM jobs j WHERE j.run_id = r.run_id) AS jobs "
            "FROM runs r ORDER BY r.created"
        ).fetchall()
        keys = ("run_id", "created", "status", "target", "graphs_done", "evaluations", "jobs", "error")
        out = []
        for r in rows:
            row = self._row(r)
            out.append({k: row[k] for k in keys})
        return out

    # ------------------------------------------------------------------ lock and liveness
    def lock_path(self, run_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
        return self.path.parent / f"{self.path.name}.locks" / f"{safe}.lock"

    def owner_alive(self, run_id: str, pid: int | None = None, host: str | None = None) -> bool:
        """Whether a live process holds the run's lock (falls back to the recorded PID)."""
        import fcntl

        path = self.lock_path(run_id)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            fd = None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            except OSError:
                pass
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                return False
            finally:
                os.close(fd)
        if pid is None:
            return False
        if host and host != socket.gethostname():
            return True  # another machine's process: cannot tell, trust the record
        return _pid_alive(int(pid))

    @contextmanager
    def drive(self, run_id: str) -> Iterator[None]:
        """Hold the run's lock while the block runs: PID and heartbeat recorded, second driver refused."""
        import fcntl

        self.run(run_id)  # a clear error for an unknown run
        path = self.lock_path(run_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LedgerError(f"cannot create the run lock {path} ({exc.strerror}); the ledger folder must be writable") from None
        deadline = time.monotonic() + LOCK_RETRY_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                os.close(fd)
                row = self.run(run_id)
                pid = row["owner_pid"]
                who = f"PID {pid}" + (f" on {row['owner_host']}" if row["owner_host"] else "") if pid else "another process"
                raise RunBusyError(
                    f"run {run_id} is already being driven by {who} (last heartbeat {row['heartbeat'] or 'unknown'}); "
                    f"wait for it to finish, or stop it (kill {pid or 'PID'}) and resume again",
                    pid,
                ) from None
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(run_id, stop), daemon=True)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
            self._set_owner(run_id, os.getpid(), socket.gethostname())
            beat.start()
            yield
        finally:
            stop.set()
            if beat.is_alive():
                beat.join(timeout=HEARTBEAT_S + BUSY_TIMEOUT_S)
            try:
                self._set_owner(run_id, None, None)
            except LedgerError:
                pass
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @_guarded
    def _set_owner(self, run_id: str, pid: int | None, host: str | None) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE runs SET owner_pid = ?, owner_host = ?, heartbeat = ? WHERE run_id = ?",
                (pid, host, _now(), run_id),
            )

    def _heartbeat(self, run_id: str, stop: threading.Event) -> None:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            while not stop.wait(HEARTBEAT_S):
                try:
                    conn.execute("UPDATE runs SET heartbeat = ? WHERE run_id = ?", (_now(), run_id))
                except sqlite3.Error:
                    pass  # the driver's own writes will report a broken ledger
        finally:
            conn.close()

    # ------------------------------------------------------------------ evaluations
    @_guarded
    def begin_evaluation(self, run_id: str, graph: str, idx: int, kind: str, params: list) -> None:
        """Mark evaluation ``idx`` as started (pending) before anything is submitted."""
        with self._tx() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO evaluations VALUES (?, ?, ?, ?, 'pending', ?, NULL, ?)",
                (run_id, graph, idx, kind, json.dumps(params), _now()),
            )

    @_guarded
    def finish_evaluation(self, run_id: str, graph: str, idx: int, record: dict[str, Any]) -> None:
        now = _now()
        with self._tx() as cur:
            cur.execute(
                "UPDATE evaluations SET status = 'done', record_json = ? WHERE run_id = ? AND graph = ? AND idx = ?",
                (json.dumps(record), run_id, graph, idx),
            )
            cur.execute(
                "UPDATE jobs SET status = 'done', updated = ?, finished = ? "
                "WHERE run_id = ? AND graph = ? AND idx = ? AND status = 'submitted'",
                (now, now, run_id, graph, idx),
            )

    @_guarded
    def evaluation(self, run_id: str, graph: str, idx: int) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT kind, status, params_json, record_json FROM evaluations WHERE run_id = ? AND graph = ? AND idx = ?",
            (run_id, graph, idx),
        ).fetchone()
        if row is None:
            return None
        kind, status, params, record = row
        jobs = self.call_jobs(run_id, graph, idx)
        return {
            "kind": kind,
            "status": status,
            "params": json.loads(params),
            "record": json.loads(record) if record else None,
            "job_ids": [j["job_id"] for j in jobs],
            "jobs": jobs,
        }

    @_guarded
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
    _JOB_KEYS = ("job_id", "run_id", "graph", "idx", "target", "status", "created", "updated", "finished", "detail", "resubmit_of")

    def _job(self, row: sqlite3.Row) -> dict[str, Any]:
        data = dict(row)
        return {k: data.get(k) for k in self._JOB_KEYS}

    @_guarded
    def record_job(
        self,
        run_id: str,
        graph: str,
        idx: int,
        job_id: str,
        target: str,
        *,
        resubmit_of: str | None = None,
    ) -> None:
        """Write a hardware job id the moment it exists.

        ``resubmit_of`` names the failed job it replaces; when not given, a call whose
        latest job failed or was cancelled links the new job to it anyway.
        """
        now = _now()
        with self._tx() as cur:
            if resubmit_of is None:
                last = cur.execute(
                    "SELECT job_id, status FROM jobs WHERE run_id = ? AND graph = ? AND idx = ? AND job_id != ? "
                    "ORDER BY created DESC, rowid DESC LIMIT 1",
                    (run_id, graph, idx, job_id),
                ).fetchone()
                if last is not None and last[1] in ("failed", "cancelled"):
                    resubmit_of = last[0]
            cur.execute(
                "INSERT OR IGNORE INTO jobs (job_id, run_id, graph, idx, target, status, created, updated, resubmit_of) "
                "VALUES (?, ?, ?, ?, ?, 'submitted', ?, ?, ?)",
                (job_id, run_id, graph, idx, target, now, now, resubmit_of),
            )

    @_guarded
    def update_job(self, job_id: str, status: str, detail: str | None = None) -> None:
        """Record a job's state; a terminal one (done, failed, cancelled) gets its ``finished`` time."""
        if status not in JOB_STATES:
            raise LedgerError(f"unknown job status {status!r}; one of {JOB_STATES}")
        now = _now()
        with self._tx() as cur:
            cur.execute(
                "UPDATE jobs SET status = ?, detail = COALESCE(?, detail), updated = ?, "
                "finished = CASE WHEN ? THEN COALESCE(finished, ?) ELSE NULL END WHERE job_id = ?",
                (status, scrub_text(detail), now, status in TERMINAL_JOB_STATES, now, job_id),
            )

    @_guarded
    def job(self, job_id: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else self._job(row)

    @_guarded
    def call_jobs(self, run_id: str, graph: str, idx: int) -> list[dict[str, Any]]:
        """Every job of one oracle call, oldest first."""
        rows = self._conn.execute(
            "SELECT * FROM jobs WHERE run_id = ? AND graph = ? AND idx = ? ORDER BY created, rowid",
            (run_id, graph, idx),
        ).fetchall()
        return [self._job(r) for r in rows]

    @_guarded
    def jobs(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT * FROM jobs WHERE run_id = ? ORDER BY created, rowid", (run_id,)
        ).fetchall()
        return [self._job(r) for r in rows]

    # ------------------------------------------------------------------ results
    @_guarded
    def record_result(self, run_id: str, graph: str, result: dict[str, Any]) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?)", (run_id, graph, json.dumps(result), _now())
            )

    @_guarded
    def results(self, run_id: str) -> dict[str, dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT graph, result_json FROM results WHERE run_id = ? ORDER BY created", (run_id,)
        ).fetchall()
        return {g: json.loads(r) for g, r in rows}
