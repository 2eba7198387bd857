"""A stand-in for ``QiskitRuntimeService`` at its boundary, shared by the tests.

Jobs run on qiskit's ``StatevectorSampler``; statuses, failures, session expiry and
submit errors are scripted by the tests.
"""

from __future__ import annotations

from qiskit.primitives import StatevectorSampler
from qiskit.providers.exceptions import QiskitBackendNotFoundError

from backends import load_fake_backend
from backends.ibm import IBMTarget

FAKE_SAMPLER_SEED = 7
#: The stand-in's usage figures of a job: IBM-like fixed cost plus shots x circuits x per-shot time.
STANDIN_FIXED_S = 2.5
STANDIN_PER_SHOT_S = 300e-6
#: The stand-in's job.usage() as a fraction of its usage_estimation.
STANDIN_ACTUAL_FRACTION = 0.8
BACKOFF_BASE = 0.5
BACKOFF_FACTOR = 3.0


class FakeBackend:
    def __init__(self):
        self.name = "ibm_fakeville"
        self.target = load_fake_backend("manila").target
        self.num_qubits = self.target.num_qubits


class FakeJob:
    """A Runtime job: statuses, result, and the usage figures IBM reports
    (``usage_estimation`` once accepted, ``usage()``/``metrics()`` once it ran)."""

    def __init__(self, job_id, result, statuses=("QUEUED", "RUNNING", "DONE"), error_message=None,
                 result_errors=(), estimation=None, usage_errors=(), usage_pending=False):
        self._id = job_id
        self._result = result
        self._statuses = list(statuses)
        self._error = error_message
        self.result_errors = list(result_errors)
        self.estimation = estimation
        self.usage_errors = list(usage_errors)
        self.usage_pending = usage_pending
        self.usage_reads = 0

    @property
    def usage_estimation(self):
        return {"quantum_seconds": self.estimation}

    def usage(self, partial=False):
        self.usage_reads += 1
        if self.usage_errors:
            raise self.usage_errors.pop(0)
        if self.usage_pending:
            return 0
        return STANDIN_ACTUAL_FRACTION * self.estimation

    def metrics(self):
        status = "pending" if self.usage_pending else "completed"
        seconds = None if self.usage_pending else STANDIN_ACTUAL_FRACTION * self.estimation
        return {
            "timestamps": {"created": "2026-01-01T00:00:00Z", "finished": "2026-01-01T00:00:05Z"},
            "usage": {"quantum_seconds": seconds, "seconds": seconds, "status": status},
            "bss": {"seconds": 1},
        }

    def job_id(self):
        return self._id

    def status(self):
        return self._statuses[0] if len(self._statuses) == 1 else self._statuses.pop(0)

    def error_message(self):
        return self._error

    def result(self):
        if self.result_errors:
            raise self.result_errors.pop(0)
        return self._result


class FakeSession:
    def __init__(self, kind, session_id, backend, max_time):
        self.kind = kind
        self.session_id = session_id
        self.backend = backend
        self.max_time = max_time
        self.closed = False

    def close(self):
        self.closed = True

    def expire(self):
        self.closed = True


class FakeSampler:
    def __init__(self, service, mode):
        self.service = service
        self.mode = mode

    def run(self, pubs, *, shots):
        svc = self.service
        if svc.submit_errors:
            raise svc.submit_errors.pop(0)
        if isinstance(self.mode, FakeSession) and self.mode.closed:
            from qiskit_ibm_runtime.exceptions import IBMRuntimeError

            raise IBMRuntimeError("The session is closed.")
        job_id = f"job-{len(svc.jobs)}"
        result = StatevectorSampler(seed=FAKE_SAMPLER_SEED).run(pubs, shots=shots).result()
        executions = sum(max(1, len(pub[1]) if len(pub) > 1 else 1) for pub in pubs)
        script = {"estimation": STANDIN_FIXED_S + STANDIN_PER_SHOT_S * shots * executions,
                  **(svc.job_scripts.pop(0) if svc.job_scripts else {})}
        job = FakeJob(job_id, result, **script)
        svc.jobs[job_id] = job
        svc.submissions.append((job_id, self.mode))
        return job


class FakeService:
    """Stand-in for QiskitRuntimeService: backend(name) and job(job_id)."""

    def __init__(self):
        self._backend = FakeBackend()
        self.jobs: dict[str, FakeJob] = {}
        self.job_lookups: list[str] = []
        self.sessions: list[FakeSession] = []
        self.submissions: list[tuple[str, object]] = []
        self.submit_errors: list[Exception] = []
        self.job_scripts: list[dict] = []
        self.backend_error: Exception | None = None
        self.expire_new_sessions = False

    def backend(self, name):
        if self.backend_error is not None:
            raise self.backend_error
        if name != self._backend.name:
            raise QiskitBackendNotFoundError("No backend matches the criteria.")
        return self._backend

    def job(self, job_id):
        self.job_lookups.append(job_id)
        return self.jobs[job_id]

    def sampler_factory(self, mode, options):
        return FakeSampler(self, mode)

    def session_factory(self, kind, backend, max_time):
        session = FakeSession(kind, f"{kind}-{len(self.sessions)}", backend, max_time)
        session.closed = self.expire_new_sessions
        self.sessions.append(session)
        return session


def make_ibm(service, sleeps=None, **options):
    sleeps = [] if sleeps is None else sleeps
    return IBMTarget(
        "fakeville",
        service=service,
        sampler_factory=service.sampler_factory,
        session_factory=service.session_factory,
        sleep=sleeps.append,
        poll_interval=0.0,
        backoff_base=BACKOFF_BASE,
        backoff_factor=BACKOFF_FACTOR,
        **options,
    )
