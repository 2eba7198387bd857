"""``ibm:<backend>``: a real IBM QPU through Qiskit Runtime.

A parameter batch runs as **one** Sampler PUB ``(isa_circuit, parameter_values)``
through the executor-based Sampler (``qiskit_ibm_runtime.executor_sampler.Sampler``);
counts come back per parameter point keyed by an integer outcome whose bit ``i`` is
clbit ``i`` of the logical circuit. Credentials: :mod:`backends.ibm.credentials`; job
records, statuses and retry rules: :mod:`backends.ibm.jobs`. Hardware sampling is not
seedable; ``seed`` is accepted and ignored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import replace
from typing import Any, Callable, Iterator

import numpy as np
from qiskit import QuantumCircuit

from ..base import JobFailedError, SampleResult, TargetError, as_circuit_list, as_parameter_batch, check_shots
from ..capabilities import Capability
from ..circuits import calibration_properties, clbit_order, layout_physical_qubits, measured_qubits_by_clbit
from ..device import DEFAULT_LAYOUT_TRIALS, DeviceTranspiling, merge_options
from ..transpile import check_options
from ..usage import as_seconds
from . import credentials
from .credentials import CHANNEL_ENV, CHANNELS, classify_service_error
from .jobs import (
    FAILED_STATUSES,
    FINAL_STATUSES,
    SubmittedJob,
    as_submitted_job,
    decode_result,
    default_sampler_factory,
    default_session_factory,
    is_session_closed,
    ibm_figure,
    is_transient,
    job_usage,
    status_name,
)

logger = logging.getLogger(__name__)


class IBMTarget(DeviceTranspiling):
    """``ibm:<backend>``: a real IBM QPU through Qiskit Runtime.

    Credentials: the saved account or the ``QISKIT_IBM_*`` environment variables (see
    the module docstring); ``channel``/``instance`` override them. ``service`` injects
    an already built ``QiskitRuntimeService`` (or a stand-in with ``backend(name)`` and
    ``job(job_id)``); then no credentials are looked up.

    Execution: outside :meth:`session`/:meth:`batch` every job runs in job mode; inside,
    through that Runtime ``Session``/``Batch``. ``submit`` returns a job id without
    waiting; ``fetch`` re-attaches by id (``service.job``) and waits; ``sample`` does both.
    Transient errors are retried with exponential backoff
    (``backoff_base * backoff_factor**k``, capped at ``backoff_max``, at most
    ``max_attempts`` tries); an expired session is reopened once and the job resubmitted
    only when no job id had been returned. A job that has an id is never resubmitted.

    Options (keyword): ``account_file``, ``account_name`` (saved-account lookup),
    ``seed_transpiler`` (0), ``optimization_level`` (3), ``layout_trials`` (4; fewest
    two-qubit gates wins), ``sampler_options`` (dict for ``SamplerOptions``),
    ``max_attempts`` (5), ``backoff_base`` (1.0 s), ``backoff_factor`` (2.0),
    ``backoff_max`` (60 s), ``poll_interval`` (2.0 s), ``job_timeout`` (None: wait
    forever), ``session_max_time``, ``sleep`` (a ``time.sleep`` stand-in), and the
    seams ``sampler_factory(mode, options)`` and ``session_factory(kind, backend, max_time)``
    (default: the executor Sampler and Runtime ``Session``/``Batch``).
    """

    kind = "ibm"
    _prefer = "twoq"  # on hardware, fewest two-qubit gates first
    noisy = True
    exact = False
    capabilities = frozenset({Capability.ISA_EXECUTION, Capability.CALIBRATION, Capability.JOBS, Capability.SESSIONS, Capability.QPU_USAGE})
    OPTIONS = (
        "account_file",
        "account_name",
        "seed_transpiler",
        "optimization_level",
        "layout_trials",
        "sampler_options",
        "max_attempts",
        "backoff_base",
        "backoff_factor",
        "backoff_max",
        "poll_interval",
        "job_timeout",
        "session_max_time",
        "sleep",
        "sampler_factory",
        "session_factory",
    )

    def __init__(
        self,
        backend_name: str,
        *,
        service: Any = None,
        channel: str | None = None,
        instance: str | None = None,
        **options: Any,
    ):
        check_options("IBMTarget", options, self.OPTIONS)
        if not isinstance(backend_name, str) or not backend_name.strip():
            raise TargetError("backend_name must name an IBM backend, e.g. ibm:ibm_torino")
        self.backend_name = backend_name.strip()
        self.spec = f"ibm:{self.backend_name}"
        self._account_file = options.get("account_file")
        self._account_name = options.get("account_name")
        self.seed_transpiler = int(options.get("seed_transpiler", 0))
        self.optimization_level = int(options.get("optimization_level", 3))
        self.layout_trials = int(options.get("layout_trials", DEFAULT_LAYOUT_TRIALS))
        self.sampler_options = dict(options.get("sampler_options") or {})
        self.max_attempts = int(options.get("max_attempts", 5))
        self.backoff_base = float(options.get("backoff_base", 1.0))
        self.backoff_factor = float(options.get("backoff_factor", 2.0))
        self.backoff_max = float(options.get("backoff_max", 60.0))
        self.poll_interval = float(options.get("poll_interval", 2.0))
        self.job_timeout = options.get("job_timeout")
        self.session_max_time = options.get("session_max_time")
        self._sleep: Callable[[float], None] = options.get("sleep") or time.sleep
        self._sampler_factory = options.get("sampler_factory") or default_sampler_factory
        self._session_factory = options.get("session_factory") or default_session_factory
        if self.max_attempts < 1:
            raise TargetError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.layout_trials < 1:
            raise TargetError(f"layout_trials must be >= 1, got {self.layout_trials}")

        channel = channel or os.environ.get(CHANNEL_ENV, "").strip() or None
        if channel is not None and channel not in CHANNELS:
            raise TargetError(
                f"channel must be one of {', '.join(CHANNELS)}, got {channel!r} "
                "(for local simulation use the spec local:<device>)"
            )
        self.channel = channel
        self.instance = instance

        self._service = service
        if self._service is None:
            self.credential_source = credentials.find_credentials(
                self.spec, self._account_file, self._account_name
            )
            kwargs: dict[str, Any] = {}
            if channel:
                kwargs["channel"] = channel
            if instance:
                kwargs["instance"] = instance
            if self._account_file:
                kwargs["filename"] = str(self._account_file)
            if self._account_name:
                kwargs["name"] = self._account_name
            try:
                self._service = credentials.connect(**kwargs)
            except Exception as exc:  # noqa: BLE001 - wrapped, token scrubbed
                raise self._service_error(exc, "could not open QiskitRuntimeService") from None
        else:
            self.credential_source = "injected service"

        self._backend = self._lookup_backend()
        self.resolved_name = str(getattr(self._backend, "name", self.backend_name))
        self.num_qubits = int(self._backend.num_qubits)
        self._mode: Any = None
        self._mode_kind = "job"
        self._mode_max_time: int | str | None = None
        self._isa_cache: dict[tuple, QuantumCircuit] = {}

    # -- credentials and secrets ------------------------------------------------------

    def _scrub(self, text: Any) -> str:
        return credentials.scrub(text, self.__dict__.get("_service"), self.__dict__.get("_account_file"))

    def _service_error(self, exc: BaseException, what: str) -> TargetError:
        return credentials.service_error(
            exc, what, self.spec, self.backend_name,
            service=self.__dict__.get("_service"), account_file=self.__dict__.get("_account_file"),
        )

    def _wrap(self, exc: BaseException, what: str, fix: str = "", cls: type = TargetError) -> TargetError:
        return credentials.wrap_error(
            exc, self.spec, what, fix, cls,
            service=self.__dict__.get("_service"), account_file=self.__dict__.get("_account_file"),
        )

    def _calibration(self) -> Any:
        """Asymmetric readout from the device calibration (``IBMBackend.properties()``)."""
        return calibration_properties(self._backend)

    # -- backend ------------------------------------------------------------------------

    def _lookup_backend(self) -> Any:
        names = [self.backend_name]
        if not self.backend_name.startswith("ibm_"):
            names.append(f"ibm_{self.backend_name}")
        last: BaseException | None = None
        for name in names:
            try:
                return self._retry(lambda n=name: self._service.backend(n), f"backend {name}", [])
            except Exception as exc:  # noqa: BLE001 - classified below
                kind = classify_service_error(exc)
                if kind in ("network", "credentials"):
                    raise self._service_error(exc, f"looking up backend {name!r} failed") from None
                if isinstance(exc, TargetError) and kind is None:
                    raise
                last = exc  # try the next spelling
        assert last is not None
        raise self._service_error(last, f"backend {self.backend_name!r} is not available") from None

    @property
    def backend(self) -> Any:
        """The Runtime backend object."""
        return self._backend

    @property
    def service(self) -> Any:
        """The QiskitRuntimeService (or the injected stand-in)."""
        return self._service

    def __repr__(self) -> str:
        return (
            f"IBMTarget({self.backend_name!r}, backend={self.resolved_name!r}, "
            f"mode={self._mode_kind!r}, credentials={self.credential_source!r})"
        )

    def describe(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "kind": self.kind,
            "device": self.resolved_name,
            "qubits": self.num_qubits,
            "noisy": True,
            "exact": False,
            "noise": "hardware",
            "engine": "qiskit_ibm_runtime.executor_sampler.Sampler",
            "channel": self.channel,
            "instance": self.instance,
            "credentials": self.credential_source,
            "mode": self._mode_kind,
            "session_id": self._session_id(),
            "seed_transpiler": self.seed_transpiler,
            "optimization_level": self.optimization_level,
            "layout_trials": self.layout_trials,
            "sampler_options": self.sampler_options,
        }

    # -- sessions -----------------------------------------------------------------------

    def _session_id(self) -> str | None:
        if self._mode is None:
            return None
        sid = getattr(self._mode, "session_id", None)
        return str(sid) if sid is not None else None

    def _open_mode(self) -> Any:
        try:
            return self._retry(
                lambda: self._session_factory(self._mode_kind, self._backend, self._mode_max_time),
                f"open {self._mode_kind}",
                [],
            )
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._wrap(exc, f"could not open a Runtime {self._mode_kind}") from None

    def _close_mode(self) -> None:
        mode, self._mode = self._mode, None
        if mode is None:
            return
        try:
            mode.close()
        except Exception as exc:  # noqa: BLE001 - closing is best effort
            logger.warning("closing the Runtime %s failed: %s", self._mode_kind, self._scrub(exc))

    @contextlib.contextmanager
    def _execution_mode(self, kind: str, max_time: int | str | None) -> Iterator["IBMTarget"]:
        if self._mode is not None:
            raise TargetError(
                f"{self.spec} is already inside a Runtime {self._mode_kind}; "
                "leave it before opening another"
            )
        self._mode_kind = kind
        self._mode_max_time = max_time if max_time is not None else self.session_max_time
        try:
            self._mode = self._open_mode()
            yield self
        finally:
            self._close_mode()
            self._mode_kind = "job"
            self._mode_max_time = None

    def session(self, max_time: int | str | None = None) -> contextlib.AbstractContextManager:
        """Run every ``sample``/``submit`` inside one Runtime ``Session``; yields the target."""
        return self._execution_mode("session", max_time)

    def batch(self, max_time: int | str | None = None) -> contextlib.AbstractContextManager:
        """Run every ``sample``/``submit`` inside one Runtime ``Batch``; yields the target."""
        return self._execution_mode("batch", max_time)

    # -- retries ------------------------------------------------------------------------

    def _delay(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * self.backoff_factor ** (attempt - 1))

    def _retry(self, call: Callable[[], Any], what: str, events: list[dict[str, Any]]) -> Any:
        """``call()`` with backoff on transient errors; other errors propagate unchanged."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except Exception as exc:  # noqa: BLE001
                if not is_transient(exc):
                    raise
                if attempt >= self.max_attempts:
                    raise self._wrap(
                        exc,
                        f"{what} still failing after {attempt} attempts",
                        "check the network and https://quantum.cloud.ibm.com/status, then retry",
                    ) from None
                delay = self._delay(attempt)
                self._note(events, what, exc, f"retry in {delay:g} s")
                self._sleep(delay)

    def _note(self, events: list[dict[str, Any]], what: str, exc: BaseException, action: str) -> None:
        error = f"{type(exc).__name__}: {self._scrub(exc)}"
        events.append({"during": what, "error": error, "action": action})
        logger.warning("%s on %s: %s; %s", what, self.spec, error, action)

    # -- jobs ---------------------------------------------------------------------------

    def submit(self, circuit: QuantumCircuit, parameter_values: np.ndarray, shots: int) -> SubmittedJob:
        """Submit one PUB with the whole parameter batch; returns the job's record without waiting."""
        return self._submit(circuit, parameter_values, shots)[0]

    def _submit(self, circuit: QuantumCircuit, parameter_values: np.ndarray, shots: int) -> tuple[SubmittedJob, Any]:
        values = as_parameter_batch(circuit, parameter_values)
        shots = check_shots(shots)
        isa = self.isa_circuit(circuit)
        order = clbit_order(isa)
        estimate = self.estimate_usage([circuit], shots, [len(values)])
        job_id, job, events = self._submit_pubs([(isa, values)], shots, self.sampler_options)
        qubits = layout_physical_qubits(isa, circuit.num_qubits)
        record = self._record(job_id, shots, [order], [len(values)], qubits, events, job, estimate)
        logger.info("submitted job %s to %s (%s mode)", job_id, self.resolved_name, self._mode_kind)
        return record, job

    def submit_isa(
        self,
        circuits,
        shots: int,
        *,
        sampler_options: dict[str, Any] | None = None,
    ) -> SubmittedJob:
        """Submit bound ISA ``circuits`` as one job (one PUB each); returns the job's record.

        Same retry and session behaviour as :meth:`submit`; :meth:`fetch` returns one
        counts dict per circuit. ``sampler_options`` are merged over the target's own
        for this job only (e.g. ``{"dynamical_decoupling": {"enable": True}}``).
        """
        return self._submit_isa(circuits, shots, sampler_options)[0]

    def _submit_isa(self, circuits, shots: int, sampler_options: dict[str, Any] | None) -> tuple[SubmittedJob, Any]:
        circuits = as_circuit_list(circuits)
        shots = check_shots(shots)
        self._check_isa(circuits)
        orders = [clbit_order(c) for c in circuits]
        options = merge_options(self.sampler_options, sampler_options)
        estimate = self.estimate_usage(circuits, shots, isa=True)
        job_id, job, events = self._submit_pubs([(c,) for c in circuits], shots, options)
        qubits = list(measured_qubits_by_clbit(circuits[0]))
        record = self._record(job_id, shots, orders, [1] * len(circuits), qubits, events, job, estimate)
        logger.info(
            "submitted job %s (%d circuits) to %s (%s mode)",
            job_id,
            len(circuits),
            self.resolved_name,
            self._mode_kind,
        )
        return record, job

    def _usage_estimation(self, job: Any, job_id: str) -> float | None:
        figure = ibm_figure(lambda: job.usage_estimation, "usage_estimation", job_id, self._scrub)
        return as_seconds(figure.get("quantum_seconds")) if isinstance(figure, dict) else None

    def _record(self, job_id, shots, orders, points, qubits, events, job=None, estimate=None) -> SubmittedJob:
        return SubmittedJob(
            job_id=job_id,
            backend=self.resolved_name,
            shots=shots,
            clbit_orders=tuple(tuple(o) for o in orders),
            points=tuple(points),
            mode=self._mode_kind,
            session_id=self._session_id(),
            physical_qubits=None if qubits is None else tuple(int(q) for q in qubits),
            submitted_at=time.time(),
            submit_events=tuple(events),
            usage_estimate=None if estimate is None else estimate.to_dict(),
            usage_estimation_s=None if job is None else self._usage_estimation(job, job_id),
        )

    def _submit_pubs(
        self, pubs: list[tuple], shots: int, options: dict[str, Any]
    ) -> tuple[str, Any, list[dict[str, Any]]]:
        """Run ``pubs`` through the Sampler with retries; returns (job id, job, retry events)."""
        events: list[dict[str, Any]] = []
        reopened = False
        attempt = 0
        while True:
            attempt += 1
            mode = self._mode if self._mode is not None else self._backend
            try:
                sampler = self._sampler_factory(mode, options or None)
                job = sampler.run(pubs, shots=shots)
                job_id = str(job.job_id())
            except Exception as exc:  # noqa: BLE001
                if self._mode is not None and not reopened and is_session_closed(exc):
                    # No job id came back, so the job was never accepted: safe to resubmit.
                    self._note(events, "submit", exc, f"reopened the {self._mode_kind} and resubmitted")
                    self._close_mode()
                    self._mode = self._open_mode()
                    reopened = True
                    continue
                if is_transient(exc) and attempt < self.max_attempts:
                    delay = self._delay(attempt)
                    self._note(events, "submit", exc, f"retry in {delay:g} s")
                    self._sleep(delay)
                    continue
                fix = (
                    f"the {self._mode_kind} was reopened once already; open a new one"
                    if reopened
                    else "check the circuit, the options and the backend status"
                )
                raise self._wrap(exc, f"submitting to {self.resolved_name} failed", fix) from None
            return job_id, job, events

    def _attach(self, job_id: str, events: list[dict[str, Any]]) -> Any:
        try:
            return self._retry(lambda: self._service.job(job_id), f"re-attach job {job_id}", events)
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._wrap(
                exc, f"could not find job {job_id}", "check the job id and the account/instance"
            ) from None

    def status(self, job: SubmittedJob | dict[str, Any] | str) -> str:
        """``"QUEUED"``, ``"RUNNING"``, ``"DONE"``, ``"ERROR"``, ``"CANCELLED"``, ... of a job
        (its record, the record's dict or its id), looked up on the service by id."""
        job_id, _ = as_submitted_job(job)
        handle = self._attach(job_id, [])
        try:
            return status_name(self._retry(handle.status, f"status of job {job_id}", []))
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._wrap(exc, f"could not read the status of job {job_id}") from None

    def _failed(self, job: Any, job_id: str, status: str) -> JobFailedError:
        reason = ""
        try:
            reason = job.error_message() or ""
        except Exception as exc:  # noqa: BLE001 - the reason is informative only
            reason = f"(error message unavailable: {type(exc).__name__})"
        message = (
            f"IBM job {job_id} on {self.resolved_name} ended {status}"
            + (f": {self._scrub(reason)}" if reason else "")
            + f"; inspect it with QiskitRuntimeService().job({job_id!r}).error_message()"
        )
        return JobFailedError(message, job_id, status)

    def _wait(self, job: Any, job_id: str, history: list[str], timeout: float | None) -> str:
        start = time.monotonic()
        while True:
            status = status_name(job.status())
            if not history or history[-1] != status:
                history.append(status)
            if status in FINAL_STATUSES:
                return status
            if timeout is not None and time.monotonic() - start >= timeout:
                raise TargetError(
                    f"job {job_id} on {self.resolved_name} is still {status} after {timeout:g} s; "
                    f"fetch it later with target.fetch({job_id!r})"
                )
            self._sleep(self.poll_interval)

    def fetch(
        self, job: SubmittedJob | dict[str, Any] | str, timeout: float | None = None
    ) -> SampleResult:
        """Wait for a job and return its counts.

        ``job`` is the :class:`~backends.ibm.jobs.SubmittedJob` that :meth:`submit`
        returned, its ``to_dict()`` (e.g. as the ledger stored it, in another process), or
        a bare job id (every PUB then decoded with its registers in clbit order). The job
        is found on the service by id; this target keeps no job table.
        """
        return self._fetch(job, None, timeout)

    def _fetch(self, job_ref, job: Any, timeout: float | None) -> SampleResult:
        """:meth:`fetch`, starting from the live ``job`` handle when the caller has it."""
        start = time.perf_counter()
        timeout = self.job_timeout if timeout is None else timeout
        job_id, record = as_submitted_job(job_ref)
        events: list[dict[str, Any]] = []
        history: list[str] = []
        attempt = 0
        while True:
            attempt += 1
            try:
                if job is None:
                    job = self._attach(job_id, events)
                status = self._wait(job, job_id, history, timeout)
                if status in FAILED_STATUSES:
                    raise self._failed(job, job_id, status)
                result = job.result()
                break
            except TargetError:
                raise
            except Exception as exc:  # noqa: BLE001
                if is_transient(exc) and attempt < self.max_attempts:
                    delay = self._delay(attempt)
                    self._note(events, f"fetch job {job_id}", exc, f"re-attach by id in {delay:g} s")
                    self._sleep(delay)
                    job = None  # re-attach by id; never resubmit a job that has an id
                    continue
                from qiskit_ibm_runtime.exceptions import (
                    RuntimeInvalidStateError,
                    RuntimeJobFailureError,
                )

                if isinstance(exc, (RuntimeJobFailureError, RuntimeInvalidStateError)):
                    status = "CANCELLED" if isinstance(exc, RuntimeInvalidStateError) else "ERROR"
                    raise JobFailedError(
                        f"IBM job {job_id} on {self.resolved_name} ended {status}: "
                        f"{self._scrub(exc)}",
                        job_id,
                        status,
                    ) from None
                raise self._wrap(exc, f"could not fetch the result of job {job_id}") from None
        counts, shots = decode_result(result, record)
        retry_events = [dict(e) for e in (record.submit_events if record is not None else ())] + events
        return SampleResult(
            counts=counts,
            shots=shots,
            job_ids=(job_id,),
            wall_time=time.perf_counter() - start,
            metadata={
                "target": self.spec,
                "backend": self.resolved_name,
                "mode": record.mode if record is not None else None,
                "session_id": record.session_id if record is not None else None,
                "physical_qubits": list(record.physical_qubits) if record is not None and record.physical_qubits is not None else None,
                "status_history": history,
                "retries": len(retry_events),
                "retry_events": retry_events,
                "seed": None,
                "usage": [job_usage(job, job_id, record, self._scrub)],
            },
        )

    def run_isa(
        self,
        circuits,
        shots: int,
        seed: int | np.random.Generator | None = None,
        *,
        sampler_options: dict[str, Any] | None = None,
    ) -> SampleResult:
        """``submit_isa`` + wait + ``fetch``. ``seed`` is ignored: hardware shots are not seedable."""
        start = time.perf_counter()
        result = self._fetch(*self._submit_isa(circuits, shots, sampler_options), None)
        return replace(
            result,
            wall_time=time.perf_counter() - start,
            metadata={**result.metadata, "num_circuits": len(result.counts)},
        )

    def sample(
        self,
        circuit: QuantumCircuit,
        parameter_values: np.ndarray,
        shots: int,
        seed: int | np.random.Generator | None = None,
    ) -> SampleResult:
        """``submit`` + wait + ``fetch``. ``seed`` is ignored: hardware shots are not seedable."""
        start = time.perf_counter()
        result = self._fetch(*self._submit(circuit, parameter_values, shots), None)
        return replace(result, wall_time=time.perf_counter() - start)
