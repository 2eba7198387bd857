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

Modules: :mod:`.database` (schema, migrations, opening, transactions), :mod:`.scrub`
(secrets), :mod:`.locks` (one driver per run, liveness), :mod:`.records` (the
:class:`Ledger` API: runs, evaluations, jobs, results).
"""

from __future__ import annotations

from .database import (
    BUSY_TIMEOUT_S,
    DEFAULT_LEDGER,
    JOB_STATES,
    RUN_STATES,
    SCHEMA_VERSION,
    TABLES,
    TERMINAL_JOB_STATES,
    LedgerError,
    RunBusyError,
    default_path,
    new_run_id,
)
from .locks import HEARTBEAT_S, LOCK_RETRY_S
from .records import Ledger
from .scrub import REDACTED, SECRET_ENV_VARS, SECRET_KEYS, scrub, scrub_text

__all__ = [
    "BUSY_TIMEOUT_S",
    "DEFAULT_LEDGER",
    "HEARTBEAT_S",
    "JOB_STATES",
    "LOCK_RETRY_S",
    "REDACTED",
    "RUN_STATES",
    "SCHEMA_VERSION",
    "SECRET_ENV_VARS",
    "SECRET_KEYS",
    "TABLES",
    "TERMINAL_JOB_STATES",
    "Ledger",
    "LedgerError",
    "RunBusyError",
    "default_path",
    "new_run_id",
    "scrub",
    "scrub_text",
]
