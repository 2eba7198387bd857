"""One process drives a run at a time: an OS lock per run, the owner's PID and host, a heartbeat.

:func:`drive` takes an OS lock (``fcntl.flock``) on a lock file beside the ledger,
keyed by run id (:func:`lock_path`), records the owner's PID, host and a heartbeat in
the ledger, and refuses a second driver with :class:`RunBusyError`. A ``running`` run
whose lock is free (its owner was killed) reads back as ``interrupted``
(:func:`owner_alive`).
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .database import BUSY_TIMEOUT_S, LedgerError, RunBusyError, _now

#: Seconds between heartbeats of the process driving a run.
HEARTBEAT_S = 5.0
#: How long :meth:`Ledger.drive` retries a held lock before refusing (covers a reader's brief probe).
LOCK_RETRY_S = 1.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_path(ledger_path: Path, run_id: str) -> Path:
    """The lock file of a run: ``<ledger>.locks/<run_id>.lock`` beside the ledger."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
    return ledger_path.parent / f"{ledger_path.name}.locks" / f"{safe}.lock"


def owner_alive(path: Path, pid: int | None = None, host: str | None = None) -> bool:
    """Whether a live process holds the run's lock (falls back to the recorded PID)."""
    import fcntl

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
def drive(ledger, run_id: str) -> Iterator[None]:
    """Hold the lock of ``ledger``'s run while the block runs: PID and heartbeat recorded, second driver refused."""
    import fcntl

    ledger.run(run_id)  # a clear error for an unknown run
    path = ledger.lock_path(run_id)
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
            row = ledger.run(run_id)
            pid = row["owner_pid"]
            who = f"PID {pid}" + (f" on {row['owner_host']}" if row["owner_host"] else "") if pid else "another process"
            raise RunBusyError(
                f"run {run_id} is already being driven by {who} (last heartbeat {row['heartbeat'] or 'unknown'}); "
                f"wait for it to finish, or stop it (kill {pid or 'PID'}) and resume again",
                pid,
            ) from None
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(ledger.path, run_id, stop), daemon=True)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        ledger._set_owner(run_id, os.getpid(), socket.gethostname())
        beat.start()
        yield
    finally:
        stop.set()
        if beat.is_alive():
            beat.join(timeout=HEARTBEAT_S + BUSY_TIMEOUT_S)
        try:
            ledger._set_owner(run_id, None, None)
        except LedgerError:
            pass
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _heartbeat(path: Path, run_id: str, stop: threading.Event) -> None:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        while not stop.wait(HEARTBEAT_S):
            try:
                conn.execute("UPDATE runs SET heartbeat = ? WHERE run_id = ?", (_now(), run_id))
            except sqlite3.Error:
                pass  # the driver's own writes will report a broken ledger
    finally:
        conn.close()
