"""IBM Runtime jobs: the job record, status names, retry classification, result decoding.

A target keeps no table of its jobs. :meth:`IBMTarget.submit <backends.ibm.target.IBMTarget.submit>`
returns a :class:`SubmittedJob`: the job id and everything needed to turn the job's
result into counts (clbit orders, points, shots) and to describe it (mode, session,
physical qubits, submission retries). It is a frozen, JSON-able record
(:meth:`SubmittedJob.to_dict`), so the job ledger can store it and any process, with a
new target, can fetch the job from it (``target.fetch(record)``). A bare job id still
works: the result is then decoded with every PUB in clbit order.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..base import TargetError
from ..circuits import counts_from_pub_result
from ..usage import JobUsage, UsageEstimate, as_seconds

logger = logging.getLogger(__name__)

FINAL_STATUSES = ("DONE", "ERROR", "CANCELLED")
FAILED_STATUSES = ("ERROR", "CANCELLED")
TRANSIENT_HTTP_CODES = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})


_SESSION_CLOSED_RE = re.compile(
    r"session\b[^.]*\b(is closed|closed|has closed|expired|inactive|not active|terminated)",
    re.IGNORECASE,
)
_TRANSIENT_RE = re.compile(
    r"\b(408|425|429|500|502|503|504|52[0-4])\b|timed? ?out|temporar|unavailable|"
    r"too many requests|connection (reset|aborted|refused|error)|max retries exceeded|"
    r"remote end closed|bad gateway",
    re.IGNORECASE,
)


def is_session_closed(exc: BaseException) -> bool:
    """True for the errors Runtime raises when a session expired or was closed."""
    return bool(_SESSION_CLOSED_RE.search(str(exc)))


def is_transient(exc: BaseException) -> bool:
    """True for network trouble and server-side 5xx/429 replies worth retrying."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    try:
        import requests

        if isinstance(
            exc,
            (
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ),
        ):
            return True
    except ImportError:  # pragma: no cover - requests ships with qiskit-ibm-runtime
        pass
    code = getattr(exc, "status_code", None)
    if isinstance(code, int) and code > 0:
        return code in TRANSIENT_HTTP_CODES
    from qiskit_ibm_runtime.exceptions import IBMError

    if isinstance(exc, IBMError) and _TRANSIENT_RE.search(str(exc)):
        return True
    cause = exc.__cause__
    return cause is not None and cause is not exc and is_transient(cause)


def status_name(status: Any) -> str:
    """``"DONE"`` from a RuntimeJobV2 status string or a qiskit ``JobStatus`` enum."""
    name = getattr(status, "name", status)
    return str(name).upper()


def default_sampler_factory(mode: Any, options: dict[str, Any] | None) -> Any:
    from qiskit_ibm_runtime.executor_sampler import Sampler

    return Sampler(mode=mode, options=dict(options) if options else None)


def default_session_factory(kind: str, backend: Any, max_time: int | str | None) -> Any:
    from qiskit_ibm_runtime import Batch, Session

    cls = Session if kind == "session" else Batch
    return cls(backend=backend, max_time=max_time)


@dataclass(frozen=True)
class SubmittedJob:
    """What :meth:`fetch` needs about a submitted job, besides its id (JSON-able).

    ``clbit_orders`` holds one clbit order per PUB (:func:`backends.circuits.clbit_order`
    of the circuit that ran); ``points`` the parameter points of each PUB (1 for a bound
    circuit). ``submit_events`` are the retries made while submitting. ``usage_estimate``
    is the usage model's estimate of the job (:class:`backends.usage.UsageEstimate`) and
    ``usage_estimation_s`` IBM's ``job.usage_estimation`` quantum seconds, read once the
    job was accepted (None where the service gave none).
    """

    job_id: str
    backend: str
    shots: int
    clbit_orders: tuple[tuple[int, ...], ...]
    points: tuple[int, ...]
    mode: str = "job"
    session_id: str | None = None
    physical_qubits: tuple[int, ...] | None = None
    submitted_at: float = 0.0
    submit_events: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    usage_estimate: dict[str, Any] | None = None  # the model's (backends.usage.UsageEstimate.to_dict())
    usage_estimation_s: float | None = None  # IBM's job.usage_estimation["quantum_seconds"] at submission

    def __post_init__(self):
        if not isinstance(self.job_id, str) or not self.job_id:
            raise TargetError(f"job_id must be a non-empty string, got {self.job_id!r}")
        if len(self.clbit_orders) != len(self.points):
            raise TargetError(
                f"clbit_orders ({len(self.clbit_orders)}) and points ({len(self.points)}) must have one "
                "entry per PUB; rebuild the record with SubmittedJob.from_dict(target.submit(...).to_dict())"
            )

    @property
    def num_points(self) -> int:
        """Counts dicts the job's result holds (parameter points over all PUBs)."""
        return sum(self.points)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "backend": self.backend,
            "shots": self.shots,
            "clbit_orders": [list(o) for o in self.clbit_orders],
            "points": list(self.points),
            "mode": self.mode,
            "session_id": self.session_id,
            "physical_qubits": None if self.physical_qubits is None else list(self.physical_qubits),
            "submitted_at": self.submitted_at,
            "submit_events": [dict(e) for e in self.submit_events],
            "usage_estimate": None if self.usage_estimate is None else dict(self.usage_estimate),
            "usage_estimation_s": self.usage_estimation_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SubmittedJob":
        try:
            qubits = data.get("physical_qubits")
            return cls(
                job_id=str(data["job_id"]),
                backend=str(data["backend"]),
                shots=int(data["shots"]),
                clbit_orders=tuple(tuple(int(c) for c in o) for o in data["clbit_orders"]),
                points=tuple(int(p) for p in data["points"]),
                mode=str(data.get("mode", "job")),
                session_id=data.get("session_id"),
                physical_qubits=None if qubits is None else tuple(int(q) for q in qubits),
                submitted_at=float(data.get("submitted_at", 0.0)),
                submit_events=tuple(dict(e) for e in data.get("submit_events", ())),
                usage_estimate=None if data.get("usage_estimate") is None else dict(data["usage_estimate"]),
                usage_estimation_s=(
                    None if data.get("usage_estimation_s") is None else float(data["usage_estimation_s"])
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TargetError(
                f"not a SubmittedJob record ({type(exc).__name__}: {exc}); pass the dict that "
                "SubmittedJob.to_dict() wrote, or the bare job id"
            ) from None


def as_submitted_job(job: "SubmittedJob | dict[str, Any] | str") -> tuple[str, SubmittedJob | None]:
    """``(job id, record or None)`` from a record, its dict, or a bare job id."""
    if isinstance(job, SubmittedJob):
        return job.job_id, job
    if isinstance(job, dict):
        record = SubmittedJob.from_dict(job)
        return record.job_id, record
    if isinstance(job, str) and job:
        return job, None
    raise TargetError(
        f"job must be a SubmittedJob, its to_dict() or a job id string, got {type(job).__name__}"
    )


def decode_result(result: Any, record: SubmittedJob | None) -> tuple[tuple[dict[int, int], ...], int]:
    """Counts per parameter point of a Sampler result, keyed in logical clbit order; and shots.

    Without a record every PUB is decoded with its registers taken in clbit order
    (true for ``QuantumCircuit(n, n)``) and any number of points.
    """
    if record is None:
        pieces = [counts_from_pub_result(result[i]) for i in range(len(result))]
    else:
        if len(result) != len(record.points):
            raise TargetError(
                f"job {record.job_id} returned {len(result)} PUB results but {len(record.points)} were submitted"
            )
        pieces = [
            counts_from_pub_result(result[i], points, list(order))
            for i, (points, order) in enumerate(zip(record.points, record.clbit_orders))
        ]
    counts = tuple(c for piece, _ in pieces for c in piece)
    return counts, pieces[-1][1]


def ibm_figure(read: Callable[[], Any], what: str, job_id: str, scrub: Callable[[Any], str] = str) -> Any:
    """One of IBM's usage figures of a job, or None when the service gives none (logged, never fatal)."""
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - usage figures are informative; the job itself is fine
        logger.warning("could not read %s of job %s: %s", what, job_id, scrub(exc))
        return None


def job_usage(job: Any, job_id: str, record: SubmittedJob | None, scrub: Callable[[Any], str] = str) -> dict[str, Any]:
    """The :class:`~backends.usage.JobUsage` dict of a job that ended: the model's estimate
    and IBM's figures (``usage_estimation`` read at submission, ``usage()`` and the
    ``usage``/``timestamps`` of ``metrics()`` read now; a usage IBM still reports
    ``pending`` is left None)."""
    metrics = ibm_figure(job.metrics, "metrics()", job_id, scrub)
    kept = None
    if isinstance(metrics, dict):
        kept = json.loads(json.dumps({k: metrics.get(k) for k in ("usage", "timestamps")}, default=str))
    pending = isinstance(metrics, dict) and (metrics.get("usage") or {}).get("status") == "pending"
    actual = None if pending else as_seconds(ibm_figure(job.usage, "usage()", job_id, scrub))
    estimate = None if record is None or record.usage_estimate is None else UsageEstimate.from_dict(record.usage_estimate)
    return JobUsage(
        job_id=job_id,
        estimate=estimate,
        usage_estimation_s=None if record is None else record.usage_estimation_s,
        actual_seconds=actual,
        metrics=kept,
    ).to_dict()
