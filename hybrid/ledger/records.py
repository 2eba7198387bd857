"""What the ledger records: runs, evaluations, hardware jobs and results, one transaction per event.

:class:`Ledger` is the API every command uses. A hardware job id is written the
moment the job is accepted, before waiting for its result; every job's terminal state
(done, failed, cancelled), its timestamps and its error text (scrubbed of secrets)
are written as soon as they are known; a job resubmitted after a failure names the
job it replaces. Opening the file is :class:`~hybrid.ledger.database.LedgerFile`'s,
the run locks are :mod:`hybrid.ledger.locks`'.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..outputs import OutputError, check_run_id
from . import locks
from .database import JOB_STATES, RUN_STATES, TERMINAL_JOB_STATES, LedgerError, LedgerFile, _guarded, _now, new_run_id
from .scrub import scrub, scrub_text


class Ledger(LedgerFile):
    """The durable job ledger (see :mod:`hybrid.ledger`); open it with ``Ledger(path, mode=...)``."""

    # ------------------------------------------------------------------ runs
    @_guarded
    def create_run(self, spec: dict[str, Any], target: str, run_id: str | None = None) -> str:
        run_id = run_id or new_run_id()
        try:
            check_run_id(run_id)  # an id names a lock file and a results folder: never a path
        except OutputError as exc:
            raise LedgerError(str(exc)) from None
        now = _now()
        with self._tx() as cur:
            if cur.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                raise LedgerError(f"run {run_id!r} already exists in {self.path}; resume it or pick another --run-id")
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
        out["sessions"] = json.loads(out["sessions"]) if out.get("sessions") else []
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
            "(SELECT COUNT(*) FROM jobs j WHERE j.run_id = r.run_id) AS jobs, "
            "(SELECT SUM(j.estimated_seconds) FROM jobs j WHERE j.run_id = r.run_id) AS qpu_seconds, "
            "(SELECT SUM(j.actual_seconds) FROM jobs j WHERE j.run_id = r.run_id) AS ibm_usage_seconds "
            "FROM runs r ORDER BY r.created"
        ).fetchall()
        keys = ("run_id", "created", "status", "target", "graphs_done", "evaluations", "jobs", "error", "sessions",
                "qpu_seconds", "ibm_usage_seconds")
        out = []
        for r in rows:
            row = self._row(r)
            out.append({k: row[k] for k in keys})
        return out

    # ------------------------------------------------------------------ lock and liveness
    def lock_path(self, run_id: str) -> Path:
        return locks.lock_path(self.path, run_id)

    def owner_alive(self, run_id: str, pid: int | None = None, host: str | None = None) -> bool:
        """Whether a live process holds the run's lock (falls back to the recorded PID)."""
        return locks.owner_alive(self.lock_path(run_id), pid, host)

    @contextmanager
    def drive(self, run_id: str) -> Iterator[None]:
        """Hold the run's lock while the block runs: PID and heartbeat recorded, second driver refused."""
        with locks.drive(self, run_id):
            yield

    @_guarded
    def _set_owner(self, run_id: str, pid: int | None, host: str | None) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE runs SET owner_pid = ?, owner_host = ?, heartbeat = ? WHERE run_id = ?",
                (pid, host, _now(), run_id),
            )

    # ------------------------------------------------------------------ evaluations
    @_guarded
    def begin_evaluation(self, run_id: str, graph: str, idx: int, kind: str, params: list) -> None:
        """Mark evaluation ``idx`` as started (pending) before anything is submitted."""
        with self._tx() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO evaluations (run_id, graph, idx, kind, status, params_json, record_json, "
                "created) VALUES (?, ?, ?, ?, 'pending', ?, NULL, ?)",
                (run_id, graph, idx, kind, json.dumps(params), _now()),
            )

    @_guarded
    def finish_evaluation(
        self, run_id: str, graph: str, idx: int, record: dict[str, Any], seconds: float | None = None
    ) -> None:
        """Mark evaluation ``idx`` done with its ``record`` and wall time ``seconds`` (the compute alone)."""
        now = _now()
        with self._tx() as cur:
            cur.execute(
                "UPDATE evaluations SET status = 'done', record_json = ?, seconds = ? "
                "WHERE run_id = ? AND graph = ? AND idx = ?",
                (json.dumps(record), None if seconds is None else float(seconds), run_id, graph, idx),
            )
            cur.execute(
                "UPDATE jobs SET status = 'done', updated = ?, finished = ? "
                "WHERE run_id = ? AND graph = ? AND idx = ? AND status = 'submitted'",
                (now, now, run_id, graph, idx),
            )

    @_guarded
    def evaluation(self, run_id: str, graph: str, idx: int) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT * FROM evaluations WHERE run_id = ? AND graph = ? AND idx = ?", (run_id, graph, idx)
        ).fetchone()
        if row is None:
            return None
        out = self._evaluation(row)
        jobs = self.call_jobs(run_id, graph, idx)
        return {k: out[k] for k in ("kind", "status", "params", "record", "seconds")} | {
            "job_ids": [j["job_id"] for j in jobs],
            "jobs": jobs,
        }

    @staticmethod
    def _evaluation(row: sqlite3.Row) -> dict[str, Any]:
        data = dict(row)  # a ledger read as it is (not migrated) may lack the later columns
        return {
            "graph": data["graph"],
            "idx": data["idx"],
            "kind": data["kind"],
            "status": data["status"],
            "params": json.loads(data["params_json"]),
            "record": json.loads(data["record_json"]) if data["record_json"] else None,
            "seconds": data.get("seconds"),
        }

    @_guarded
    def evaluations(self, run_id: str, graph: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT * FROM evaluations WHERE run_id = ?"
        args: tuple = (run_id,)
        if graph is not None:
            query += " AND graph = ?"
            args += (graph,)
        rows = self._conn.execute(query + " ORDER BY graph, idx", args).fetchall()
        return [self._evaluation(row) for row in rows]

    # ------------------------------------------------------------------ jobs
    _JOB_KEYS = ("job_id", "run_id", "graph", "idx", "target", "status", "created", "updated", "finished", "detail",
                 "resubmit_of", "estimated_seconds", "ibm_estimated_seconds", "actual_seconds")

    def _job(self, row: sqlite3.Row) -> dict[str, Any]:
        data = dict(row)
        out = {k: data.get(k) for k in self._JOB_KEYS}
        out["record"] = json.loads(data["record"]) if data.get("record") else None
        out["usage"] = json.loads(data["usage"]) if data.get("usage") else None
        return out

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
        record: dict[str, Any] | None = None,
    ) -> None:
        """Write a hardware job id the moment it exists.

        ``record`` is what fetching the job needs (``backends.ibm.SubmittedJob.to_dict()``:
        clbit orders, points, shots, session); targets keep no job table, so a resume in a
        new process fetches the job from this record. ``resubmit_of`` names the failed job
        it replaces; when not given, a call whose latest job failed or was cancelled links
        the new job to it anyway.
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
            usage = record or {}
            estimate = (usage.get("usage_estimate") or {}).get("quantum_seconds")
            cur.execute(
                "INSERT OR IGNORE INTO jobs (job_id, run_id, graph, idx, target, status, created, updated, resubmit_of, "
                "record, estimated_seconds, ibm_estimated_seconds) VALUES (?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?, ?, ?)",
                (job_id, run_id, graph, idx, target, now, now, resubmit_of, None if record is None else json.dumps(record),
                 estimate, usage.get("usage_estimation_s")),
            )

    @_guarded
    def record_usage(self, evaluation: dict[str, Any]) -> int:
        """Write each job's usage (``backends.usage.JobUsage`` dicts in an evaluation record's
        ``metadata["usage"]``) onto its job row: the model's estimate, IBM's
        ``usage_estimation`` and ``usage()``, and the metrics kept. Returns the rows updated."""
        ev = evaluation.get("evaluation", evaluation)
        updated = 0
        with self._tx() as cur:
            for u in (ev.get("metadata") or {}).get("usage") or ():
                if not u.get("job_id"):
                    continue
                cur.execute(
                    "UPDATE jobs SET estimated_seconds = COALESCE(?, estimated_seconds), "
                    "ibm_estimated_seconds = COALESCE(?, ibm_estimated_seconds), "
                    "actual_seconds = COALESCE(?, actual_seconds), usage = ?, updated = ? WHERE job_id = ?",
                    (u.get("estimated_seconds"), u.get("usage_estimation_s"), u.get("actual_seconds"),
                     json.dumps(u), _now(), u["job_id"]),
                )
                updated += cur.rowcount
        return updated

    @_guarded
    def record_session(self, run_id: str, session: dict[str, Any]) -> None:
        """Append one Runtime session's (or batch's) billed span (``backends.usage.SessionUsage.to_dict()``)."""
        with self._tx() as cur:
            row = cur.execute("SELECT sessions FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise LedgerError(f"no run {run_id!r} in {self.path}")
            sessions = json.loads(row[0]) if row[0] else []
            sessions.append(dict(session))
            cur.execute("UPDATE runs SET sessions = ? WHERE run_id = ?", (json.dumps(sessions), run_id))

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
