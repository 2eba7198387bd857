"""The one output policy of every run kind: safe run ids, owned folders, atomic writes.

* **Run ids** (:func:`check_run_id`): 1-64 characters of ``A-Z a-z 0-9 . _ -``, starting with
  a letter or digit, never ``..``: an id is a file name, so it cannot name a path outside
  ``results/``, and two different ids never share a lock file or a folder.
* **Folders** (:func:`check_folder`, :func:`claim_folder`): a run writes only inside its own
  folder, which is ``results/<run_id>/`` or an ``--out`` that is empty or already belongs to
  the same run. Ownership is proved by the folder's own record file (:data:`RECORD_FILE`:
  the run id, its kind and the ledger it lives in), so ``--run-id same`` on two ledgers
  cannot write into one folder: the second is refused before it is registered.
* **Files** (:func:`check_new_file`, :func:`atomic_write`): a user's file is never replaced;
  a file is written to a temporary name beside it, flushed to disk and renamed over the
  target, and the temporary file is removed when anything fails.
* **Ours** (:func:`owned_by`): the one check of "is this results file ours (same run id)".

This module imports nothing of the project: every layer may use it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

#: A safe run id: a file name on every system, no path separators, no spaces, no newline.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
RUN_ID_RULE = "1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit, without '..'"
#: The record that proves which run a folder belongs to.
RECORD_FILE = ".hybrid-run.json"
#: Where a run's folder goes when no ``--out`` is given.
RESULTS_ROOT = Path("results")


class OutputError(ValueError):
    """A run id, folder or file that the output policy refuses (names the flag and the fix)."""


def check_run_id(run_id: Any, flag: str = "--run-id") -> str:
    """``run_id`` when it is safe (:data:`RUN_ID_RULE`), else :class:`OutputError`."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id) or ".." in run_id:
        raise OutputError(f"{flag} {run_id!r} is not a valid run id: use {RUN_ID_RULE}")
    return run_id


def default_folder(run_id: str) -> Path:
    """``results/<run_id>``: a run's folder when no ``--out`` is given."""
    return RESULTS_ROOT / check_run_id(run_id)


def _record(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / RECORD_FILE).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _owner(run_id: str, ledger: str | Path | None, kind: str) -> dict[str, Any]:
    return {"run_id": run_id, "kind": kind, "ledger": None if ledger is None else str(Path(ledger).resolve())}


def check_folder(folder: str | Path, run_id: str, ledger: str | Path | None, *, flag: str = "--out") -> Path:
    """Refuse ``folder`` unless it is missing, empty, or its record names this run (same id, and
    the same ledger unless ``ledger`` is None).

    Creates nothing: it runs before the run is registered.
    """
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{flag} {str(path)!r} is a file; give a folder (the results go inside)")
    parent = next((p for p in path.absolute().parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise OutputError(f"{flag} {str(path)!r}: {parent} is a file, not a folder; give another {flag}")
    if not path.exists() or not any(path.iterdir()):
        return path
    record = _record(path)
    mine = _owner(run_id, ledger, "")
    if record is None:
        raise OutputError(f"{flag} {str(path)!r} is not empty and belongs to no run; give an empty or new folder")
    other_ledger = ledger is not None and record.get("ledger") != mine["ledger"]
    if record.get("run_id") != run_id or other_ledger:
        where = f" of ledger {record.get('ledger')}" if other_ledger else ""
        raise OutputError(
            f"{flag} {str(path)!r} belongs to run {record.get('run_id')!r}{where}; "
            f"give an empty or new folder (or another --run-id)"
        )
    return path


def claim_folder(folder: str | Path, run_id: str, ledger: str | Path | None, kind: str, *, flag: str = "--out") -> Path:
    """Check ``folder`` (:func:`check_folder`), create it and write its record: the folder is this run's."""
    path = check_folder(folder, run_id, ledger, flag=flag)
    path.mkdir(parents=True, exist_ok=True)
    if _record(path) is None:
        atomic_write(path / RECORD_FILE, json.dumps(_owner(run_id, ledger, kind), indent=1) + "\n")
    return path


def hand_over(folder: str | Path, run_id: str, ledger: str | Path | None, kind: str) -> Path:
    """Record ``folder`` as ``run_id``'s, whatever it holds: for a command that owns the folder
    itself (``hybrid demo`` runs its sweep in its own output folder)."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    write_json(path / RECORD_FILE, _owner(check_run_id(run_id), ledger, kind))
    return path


def owned_by(path: str | Path, run_id: str) -> bool:
    """Whether ``path`` is a JSON file written for ``run_id`` (its ``run_id`` field says so)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and data.get("run_id") == run_id


def check_new_file(path: str | Path, run_id: str | None = None, *, flag: str = "--out") -> Path:
    """Refuse an existing ``path`` (a user's file is never replaced) unless it is ``run_id``'s own file."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{flag} {str(path)!r} is a folder; give a file name")
    parent = next((p for p in path.absolute().parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise OutputError(f"{flag} {str(path)!r}: {parent} is a file, not a folder; give another {flag}")
    if path.exists() and not (run_id is not None and owned_by(path, run_id)):
        raise OutputError(f"{flag} {str(path)!r} exists; give a new file name (an existing file is never replaced)")
    return path


def atomic_write(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` all at once: a temporary file beside it, fsync, rename; the
    temporary file is removed when anything fails (a full disk leaves the old file, or none)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | Path, data: Any) -> Path:
    """:func:`atomic_write` of ``data`` as indented JSON."""
    return atomic_write(path, json.dumps(data, indent=1, default=str) + "\n")
