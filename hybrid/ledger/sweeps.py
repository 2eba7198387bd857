"""Driving a ledger run of any kind: claim it, track its status, record each finished cell.

Every command that runs something (``run``, ``evaluate``, ``compare``, ``benchmark``,
``paper-benchmark``) registers a ledger run whose ``spec["kind"]`` names it (none for a
plain run). Driving it, now or with ``hybrid jobs resume RUN_ID``, goes through
:func:`claimed` (the kind checked, the run's lock held, a finished run left alone) and
:func:`tracked` (running, then done, interrupted or failed with how to go on). Runs whose
results are cells computed in process record each cell the moment it finishes
(:class:`Cells`); driving them again takes the recorded cells from the ledger and computes
only the others, so the same program ends with the same report. A cell cut short by a
kill is computed again from its start.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from .database import LedgerError
from .records import Ledger


def run_kind(record: dict[str, Any]) -> str:
    """``"run"`` (``hybrid run``/``submit``) or the kind a sweep recorded in its spec (``"compare"``, ...)."""
    return str(record["spec"].get("kind", "run"))


def _a_run_of(kind: str) -> str:
    noun = f"{kind} run".replace("run run", "run")  # a plain run is "a run"
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def check_kind(record: dict[str, Any], kind: str) -> None:
    """Refuse to drive a run that another command registered."""
    found = run_kind(record)
    if found != kind:
        raise LedgerError(f"run {record['run_id']} is {_a_run_of(found)}, not {_a_run_of(kind)}; "
                          f"resume it with `hybrid jobs resume {record['run_id']}`")


class Cells:
    """The recorded cells of one run: ``cells(key, compute)`` returns the stored value or computes and records it."""

    def __init__(self, ledger: Ledger, run_id: str):
        self.ledger, self.run_id = ledger, run_id
        self.done: dict[str, Any] = ledger.results(run_id)
        self.computed = 0

    def __contains__(self, key: str) -> bool:
        return key in self.done

    def __call__(self, key: str, compute: Callable[[], Any]) -> Any:
        if key in self.done:
            return self.done[key]
        value = compute()
        self.ledger.record_result(self.run_id, key, value)
        self.done[key] = value
        self.computed += 1
        return value


@contextmanager
def claimed(ledger: Ledger, run_id: str, kind: str) -> Iterator[dict[str, Any] | None]:
    """Check that ``run_id`` is a ``kind`` run and hold its lock: yield its record, or ``None``
    when it is (or, once the lock is held, turns out to be) finished already."""
    record = ledger.run(run_id)
    check_kind(record, kind)
    if record["status"] == "done":
        yield None
        return
    with ledger.drive(run_id):
        record = ledger.run(run_id)
        yield None if record["status"] == "done" else record


@contextmanager
def tracked(ledger: Ledger, run_id: str, hint: Callable[[BaseException], str | None] | None = None) -> Iterator[None]:
    """Mark ``run_id`` running; when the block ends, done, or interrupted (Ctrl-C, SIGTERM) or
    failed with the error and how ``hybrid jobs resume`` goes on (``hint(exc)``, default: retries it)."""
    ledger.set_status(run_id, "running")
    try:
        yield
    except KeyboardInterrupt:
        ledger.set_status(run_id, "interrupted", f"interrupted; resume it with `hybrid jobs resume {run_id}`")
        raise
    except Exception as exc:
        how = (hint(exc) if hint is not None else None) or f"`hybrid jobs resume {run_id}` retries it"
        ledger.set_status(run_id, "failed", f"{type(exc).__name__}: {exc}; {how}")
        raise
    ledger.set_status(run_id, "done")


def drive(
    ledger: Ledger,
    run_id: str,
    kind: str,
    execute: Callable[[dict[str, Any]], Any],
    already_done: Callable[[dict[str, Any]], Any],
    hint: Callable[[BaseException], str | None] | None = None,
) -> Any:
    """The one drive wrapper of every run kind: check the kind and hold the lock (:func:`claimed`),
    then ``already_done(record)`` for a finished run, or ``execute(record)`` with the status
    tracked (:func:`tracked`): the run is marked done only when ``execute`` returned, so a run
    whose results could not be written is not done."""
    with claimed(ledger, run_id, kind) as record:
        if record is not None:
            with tracked(ledger, run_id, hint):
                return execute(record)
    return already_done(ledger.run(run_id))
