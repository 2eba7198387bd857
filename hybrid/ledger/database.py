"""The ledger file: schema, migrations, opening (create, read-only, integrity) and transactions.

SQLite from the standard library in WAL mode with ``synchronous=FULL``: an event
that returned is on disk, whatever kills the process afterwards. :class:`LedgerFile`
opens a ledger and fails safe: every SQLite error becomes one :class:`LedgerError`
line (corrupt: with ``sqlite3 .recover`` advice; read-only; busy); ``mode="read"``
requires an existing ledger and opens a read-only connection when the file or its
folder cannot be written; a 0-byte file is refused, never silently treated as a new
ledger; ``PRAGMA integrity_check`` runs when the previous writer did not shut down
cleanly (a non-empty ``-wal`` file is left behind). Older schemas are migrated on a
writable open.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import sqlite3
import urllib.parse
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

DEFAULT_LEDGER = Path("jobs") / "ledger.db"
SCHEMA_VERSION = 2

RUN_STATES = ("created", "running", "done", "failed", "interrupted")
JOB_STATES = ("submitted", "done", "failed", "cancelled")
TERMINAL_JOB_STATES = ("done", "failed", "cancelled")
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
    heartbeat TEXT,
    sessions TEXT
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
    seconds REAL,
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
    resubmit_of TEXT,
    record TEXT,
    estimated_seconds REAL,
    ibm_estimated_seconds REAL,
    actual_seconds REAL,
    usage TEXT
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
    "runs": (("owner_pid", "INTEGER"), ("owner_host", "TEXT"), ("heartbeat", "TEXT"), ("sessions", "TEXT")),
    "jobs": (
        ("finished", "TEXT"), ("resubmit_of", "TEXT"), ("record", "TEXT"),
        # QPU usage (backends.usage): the model's estimate, IBM's usage_estimation, IBM's usage()
        ("estimated_seconds", "REAL"), ("ibm_estimated_seconds", "REAL"), ("actual_seconds", "REAL"), ("usage", "TEXT"),
    ),
    "evaluations": (("seconds", "REAL"),),  # wall time of the evaluation (compute only)
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


def default_path() -> Path:
    env = os.environ.get("HYBRID_LEDGER")
    return Path(env) if env else DEFAULT_LEDGER


def new_run_id() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def _guarded(method):
    """Turn any SQLite error inside ``method`` into one :class:`LedgerError` line."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise self._explain(exc) from None

    return wrapper


class LedgerFile:
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

    def __enter__(self) -> "LedgerFile":
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
