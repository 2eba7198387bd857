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
BACKOFF_BASE = 0.5
BACKOFF_FACTOR = 3.0


class FakeBackend:
    def __init__(self):
        self.name = "ibm_fakeville"
        self.target = load_fake_backend("manila").target
        self.num_qubits = self.target.num_qubits


class FakeJob:
    def __init__(self, job_id, result, statuses=("QUEUED", "RUNNING", "DONE"), error_message=None,
                 result_errors=()):
        self._id = job_id
        self._result = result
        self._statuses = list(statuses)
        self._error = error_message
        self.result_errors = list(result_errors)

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
        job = FakeJob(job_id, result, **(svc.job_scripts.pop(0) if svc.job_scripts else {}))
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
