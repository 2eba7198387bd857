"""Runtime targets: local mode on fake devices, and IBMTarget against a stand-in service.

No test here contacts IBM except the ``qpu`` one, which needs credentials.
"""

from __future__ import annotations

import json
import logging
import math
import os

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Clbit, ParameterVector
from qiskit.primitives import StatevectorSampler
from qiskit.quantum_info import Statevector

from backends import JobFailedError, TargetError, get_target, load_fake_backend
from backends.circuits import clbit_order, counts_from_pub_result
from backends.ibm import IBMTarget, SubmittedJob, credentials
from backends.local import LocalRuntimeTarget
from standins import FakeService, make_ibm

SIM_SEED = 1234
OTHER_SEED = 99
FAKE_SAMPLER_SEED = 7
SHOTS = 4000
FAKE_SHOTS = 256
# Shot noise: the cut C lies in [0, W], so its standard deviation is at most W/2
# (Popoviciu); the mean of SHOTS shots is within SHOT_SIGMAS * W / (2 sqrt(SHOTS)).
SHOT_SIGMAS = 5.0
# Device noise (depolarising gates, T1/T2, readout) contracts <C> towards the
# uniform-random value W/2. For this 4-node circuit (14-19 two-qubit gates after
# routing) the observed contraction is 0.06-0.16 on FakeTorino and 0.21-0.31 on
# FakeManila; 0.45 leaves margin without accepting a random sampler (contraction 1).
MAX_NOISE_CONTRACTION = 0.45
BACKOFF_BASE = 0.5
BACKOFF_FACTOR = 3.0
SECRET_TOKEN = "secret-token-123456789abcdef"
SAVED_TOKEN = "saved-secret-token-987654321"

EDGES = [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (3, 0, 1.0), (0, 2, 0.5)]
NUM_NODES = 4
TOTAL_WEIGHT = sum(w for *_, w in EDGES)
# (gamma, beta) rows: gamma = 0 (ideal value exactly W/2) and points well away from W/2.
PARAMS = np.array([[0.0, 0.0], [0.6, 0.35], [0.9, 0.3], [1.2, 0.4], [0.4, -0.3]])


def qaoa_circuit() -> QuantumCircuit:
    theta = ParameterVector("theta", 2)
    qc = QuantumCircuit(NUM_NODES, NUM_NODES)
    qc.h(range(NUM_NODES))
    for u, v, w in EDGES:
        qc.rzz(-theta[0] * w, u, v)
    qc.rx(2 * theta[1], range(NUM_NODES))
    qc.measure(range(NUM_NODES), range(NUM_NODES))
    return qc


def cut_value(x: int) -> float:
    return sum(w for u, v, w in EDGES if ((x >> u) & 1) != ((x >> v) & 1))


def ideal_mean_cut(circuit: QuantumCircuit, values: np.ndarray) -> np.ndarray:
    bare = circuit.remove_final_measurements(inplace=False)
    cuts = np.array([cut_value(x) for x in range(2**NUM_NODES)])
    return np.array(
        [Statevector(bare.assign_parameters(row)).probabilities() @ cuts for row in values]
    )


def mean_cut(counts: dict[int, int], shots: int) -> float:
    return sum(cut_value(k) * v for k, v in counts.items()) / shots


# ----------------------------------------------------------------------------- local


@pytest.fixture(scope="module")
def manila() -> LocalRuntimeTarget:
    return get_target("local:manila")


@pytest.mark.parametrize("device", ["manila", "torino"])
def test_local_batch_matches_ideal_within_noise(device, manila):
    target = manila if device == "manila" else get_target(f"local:{device}")
    qc = qaoa_circuit()
    assert target.spec == f"local:{device}" and target.kind == "local"
    assert target.noisy and not target.exact
    assert target.num_qubits == load_fake_backend(device).num_qubits

    result = target.sample(qc, PARAMS, SHOTS, seed=SIM_SEED)

    assert len(result.job_ids) == 1, "the whole batch must run as one job"
    assert len(result.counts) == len(PARAMS)
    assert result.shots == SHOTS
    assert all(sum(c.values()) == SHOTS for c in result.counts)
    assert all(0 <= k < 2**NUM_NODES for c in result.counts for k in c)
    ideal = ideal_mean_cut(qc, PARAMS)
    shot_tol = SHOT_SIGMAS * TOTAL_WEIGHT / (2 * math.sqrt(SHOTS))
    for counts, exact in zip(result.counts, ideal):
        noisy = mean_cut(counts, SHOTS)
        allowed = MAX_NOISE_CONTRACTION * abs(exact - TOTAL_WEIGHT / 2) + shot_tol
        assert abs(noisy - exact) <= allowed, (device, noisy, exact, allowed)
    assert result.metadata["seed_simulator"] == SIM_SEED
    assert result.metadata["active_qubits"] == NUM_NODES


def test_local_seed_reproducible_and_isa_cached(manila):
    qc = qaoa_circuit()
    a = manila.sample(qc, PARAMS[:2], 500, seed=SIM_SEED)
    b = manila.sample(qc, PARAMS[:2], 500, seed=SIM_SEED)
    c = manila.sample(qc, PARAMS[:2], 500, seed=OTHER_SEED)
    assert a.counts == b.counts
    assert a.counts != c.counts
    assert a.job_ids != b.job_ids
    assert manila.isa_circuit(qc) is manila.isa_circuit(qaoa_circuit())


def test_local_rejects_bad_inputs(manila):
    with pytest.raises(TargetError, match="does not fit"):
        manila.check_fits(6)
    with pytest.raises(TargetError, match="shape"):
        manila.sample(qaoa_circuit(), np.zeros((2, 3)), 10)
    with pytest.raises(TargetError, match="shots"):
        manila.sample(qaoa_circuit(), PARAMS[:1], 0)
    with pytest.raises(TargetError, match="unknown option"):
        get_target("local:manila", shots_per_point=3)


def test_counts_follow_clbit_order_across_registers():
    bits = [Clbit() for _ in range(3)]
    qc = QuantumCircuit(QuantumRegister(3))
    qc.add_bits(bits)
    qc.add_register(ClassicalRegister(bits=[bits[2]], name="high"))
    qc.add_register(ClassicalRegister(bits=[bits[0], bits[1]], name="low"))
    qc.x(0)
    qc.x(2)
    qc.measure([0, 1, 2], [0, 1, 2])
    pub = StatevectorSampler(seed=FAKE_SAMPLER_SEED).run([qc], shots=8).result()[0]
    counts, shots = counts_from_pub_result(pub, 1, clbit_order(qc))
    assert counts == ({0b101: 8},) and shots == 8


# ------------------------------------------------------------- stand-in IBM service


@pytest.fixture
def service():
    return FakeService()


def check_counts(result, points):
    assert len(result.counts) == points
    assert all(sum(c.values()) == FAKE_SHOTS for c in result.counts)


def test_ibm_job_mode_records_job_and_status_history(service):
    target = make_ibm(service)
    assert target.spec == "ibm:fakeville" and target.kind == "ibm"
    assert target.num_qubits == 5 and target.resolved_name == "ibm_fakeville"
    target.check_fits(5)
    with pytest.raises(TargetError, match="does not fit"):
        target.check_fits(6)

    result = target.sample(qaoa_circuit(), PARAMS, FAKE_SHOTS)

    check_counts(result, len(PARAMS))
    assert result.job_ids == ("job-0",)
    assert result.metadata["mode"] == "job"
    assert result.metadata["status_history"] == ["QUEUED", "RUNNING", "DONE"]
    assert result.metadata["retries"] == 0
    assert service.submissions == [("job-0", service._backend)]
    # The stand-in sampler is ideal, so the mean cut equals the exact value up to shots.
    ideal = ideal_mean_cut(qaoa_circuit(), PARAMS)
    shot_tol = SHOT_SIGMAS * TOTAL_WEIGHT / (2 * math.sqrt(FAKE_SHOTS))
    for counts, exact in zip(result.counts, ideal):
        assert abs(mean_cut(counts, FAKE_SHOTS) - exact) <= shot_tol


def test_ibm_submit_status_fetch_and_reattach(service):
    target = make_ibm(service)
    job = target.submit(qaoa_circuit(), PARAMS[:2], FAKE_SHOTS)
    job_id = job.job_id
    assert [target.status(job) for _ in range(4)] == ["QUEUED", "RUNNING", "DONE", "DONE"]
    result = target.fetch(job)
    check_counts(result, 2)
    assert result.job_ids == (job_id,)
    # No job table: status and fetch find the job on the service by its id every time.
    assert service.job_lookups == [job_id] * 5

    # A second target (e.g. a new process) re-attaches by the bare id through service.job().
    again = make_ibm(service).fetch(job_id)
    assert service.job_lookups == [job_id] * 6
    assert again.counts == result.counts
    assert len(service.submissions) == 1


def test_a_new_target_fetches_a_job_from_its_stored_record_alone(service):
    """The record survives JSON (as the ledger stores it); a new target decodes the job
    with the submitting target's clbit order, points and session, without resubmitting."""
    bits = [Clbit() for _ in range(4)]
    qc = QuantumCircuit(QuantumRegister(4))
    qc.add_bits(bits)
    qc.add_register(ClassicalRegister(bits=bits[2:], name="high"))  # registers out of clbit order
    qc.add_register(ClassicalRegister(bits=bits[:2], name="low"))
    theta = ParameterVector("t", 2)
    qc.ry(theta[0], 0)
    qc.ry(theta[1], 3)
    qc.x(1)
    qc.measure(range(4), range(4))
    first = make_ibm(service)
    with first.session():
        job = first.submit(qc, PARAMS[:3, :2], FAKE_SHOTS)
        expected = first.fetch(job)
    stored = json.loads(json.dumps(job.to_dict()))
    assert SubmittedJob.from_dict(stored) == job
    assert job.points == (3,) and job.mode == "session" and job.session_id == "session-0"
    assert list(job.clbit_orders[0]) == clbit_order(first.isa_circuit(qc)) != [0, 1, 2, 3]

    fresh = make_ibm(service)
    assert not fresh.__dict__.get("_jobs"), "a target keeps no job table"
    result = fresh.fetch(stored)
    assert result.counts == expected.counts and len(result.counts) == 3
    assert result.metadata["session_id"] == "session-0" and result.metadata["mode"] == "session"
    assert fresh.status(stored) == "DONE"
    assert len(service.submissions) == 1
    # Qubit 1 (always 1) is read into clbit 1, so every decoded outcome has bit 1 set; in
    # register order that bit would hold clbit 3 (qubit 3, always 0 at the first point).
    assert all(k >> 1 & 1 for counts in result.counts for k in counts)

    with pytest.raises(TargetError, match="not a SubmittedJob record"):
        fresh.fetch({"job_id": job.job_id})
    with pytest.raises(TargetError, match="job must be a SubmittedJob"):
        fresh.fetch(42)


@pytest.mark.parametrize("final", ["ERROR", "CANCELLED"])
def test_ibm_failed_job_raises_with_id(service, final):
    service.job_scripts.append(
        {"statuses": ("QUEUED", "RUNNING", final), "error_message": "Error code 1517: calibration"}
    )
    target = make_ibm(service)
    with pytest.raises(JobFailedError, match=rf"job-0 .*{final}") as info:
        target.sample(qaoa_circuit(), PARAMS[:1], FAKE_SHOTS)
    assert info.value.job_id == "job-0" and info.value.status == final
    assert isinstance(info.value, TargetError)
    assert len(service.submissions) == 1


def test_ibm_session_runs_jobs_and_recovers_expiry(service):
    target = make_ibm(service)
    with target.session(max_time=600) as inside:
        assert inside is target
        first = target.sample(qaoa_circuit(), PARAMS[:2], FAKE_SHOTS)
        assert first.metadata["mode"] == "session"
        assert first.metadata["session_id"] == "session-0"
        service.sessions[0].expire()
        second = target.sample(qaoa_circuit(), PARAMS[:2], FAKE_SHOTS)
    check_counts(second, 2)
    assert second.metadata["session_id"] == "session-1"
    assert second.metadata["retries"] == 1
    assert "reopened" in second.metadata["retry_events"][0]["action"]
    assert [s.max_time for s in service.sessions] == [600, 600]
    assert all(s.closed for s in service.sessions)
    # Only accepted jobs exist: the rejected submission was never given an id.
    assert [mode.session_id for _, mode in service.submissions] == ["session-0", "session-1"]
    # Outside the session, job mode again.
    assert target.sample(qaoa_circuit(), PARAMS[:1], FAKE_SHOTS).metadata["mode"] == "job"


def test_ibm_session_reopened_only_once(service):
    service.expire_new_sessions = True
    target = make_ibm(service)
    with pytest.raises(TargetError, match="reopened once"):
        with target.session():
            target.sample(qaoa_circuit(), PARAMS[:1], FAKE_SHOTS)
    assert len(service.sessions) == 2 and not service.submissions


def test_ibm_batch_mode(service):
    target = make_ibm(service)
    with target.batch():
        result = target.sample(qaoa_circuit(), PARAMS[:1], FAKE_SHOTS)
    assert result.metadata["mode"] == "batch"
    assert service.sessions[0].kind == "batch" and service.sessions[0].closed


def test_ibm_transient_submit_errors_retried_with_backoff(service):
    from qiskit_ibm_runtime.api.exceptions import RequestsApiError

    service.submit_errors = [
        ConnectionError("connection reset by peer"),
        RequestsApiError("503 Service Unavailable", status_code=503),
    ]
    sleeps: list[float] = []
    target = make_ibm(service, sleeps)
    result = target.sample(qaoa_circuit(), PARAMS[:1], FAKE_SHOTS)
    check_counts(result, 1)
    assert sleeps[:2] == [BACKOFF_BASE, BACKOFF_BASE * BACKOFF_FACTOR]
    assert result.metadata["retries"] == 2
    assert len(service.submissions) == 1


def test_ibm_transient_fetch_reattaches_never_resubmits(service):
    service.job_scripts.append({"result_errors": [TimeoutError("read timed out")]})
    target = make_ibm(service)
    result = target.sample(qaoa_circuit(), PARAMS[:1], FAKE_SHOTS)
    check_counts(result, 1)
    assert service.job_lookups == ["job-0"]
    assert len(service.submissions) == 1
    assert result.metadata["retries"] == 1


def test_ibm_retries_exhausted_and_permanent_errors(service):
    service.submit_errors = [ConnectionError("down")] * 3
    target = make_ibm(service, max_attempts=3)
    with pytest.raises(TargetError, match="submitting to ibm_fakeville failed"):
        target.sample(qaoa_circuit(), PARAMS[:1], FAKE_SHOTS)
    service.submit_errors = [ValueError("bad pub")]
    with pytest.raises(TargetError, match="bad pub"):
        target.submit(qaoa_circuit(), PARAMS[:1], FAKE_SHOTS)
    assert not service.submissions
    with pytest.raises(TargetError, match="unknown option"):
        make_ibm(service, retries=3)
    with pytest.raises(TargetError, match="not available"):
        IBMTarget("ibm_nowhere", service=service)


def test_readout_confusion_follows_the_backends_calibration(service):
    """An ibm: target reads asymmetric readout from the backend's properties (a fake
    device here, IBMBackend on hardware); local mode and a target-only stand-in use the
    symmetric ``measure`` error of the transpiler target."""

    class FakeDeviceService:
        def backend(self, name):
            return load_fake_backend("manila")

    qubit = 0
    calibrated = load_fake_backend("manila").properties().qubit_property(qubit)
    symmetric = load_fake_backend("manila").target["measure"][(qubit,)].error
    (ibm,) = IBMTarget("fake_manila", service=FakeDeviceService()).readout_confusion([qubit])
    assert ibm[0, 1] == calibrated["prob_meas1_prep0"][0] and ibm[1, 0] == calibrated["prob_meas0_prep1"][0]
    assert ibm[0, 1] != ibm[1, 0]
    (local,) = get_target("local:manila").readout_confusion([qubit])
    (standin,) = make_ibm(service).readout_confusion([qubit])
    for m in (local, standin):
        assert m[0, 1] == m[1, 0] == symmetric


def test_ibm_default_factories_drive_real_sampler_and_session():
    """The real executor Sampler and Runtime Session, with a fake device standing in."""

    class LocalService:
        def backend(self, name):
            return load_fake_backend("manila")

    target = IBMTarget("fake_manila", service=LocalService(), poll_interval=0.0)
    with target.session():
        result = target.sample(qaoa_circuit(), PARAMS[:2], FAKE_SHOTS)
    check_counts(result, 2)
    assert result.metadata["mode"] == "session"
    assert result.metadata["status_history"][-1] == "DONE"


# -------------------------------------------------------------------- credentials


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No env credentials and no readable saved account (default file moved to tmp)."""
    from qiskit_ibm_runtime.accounts import management

    for name in credentials.CREDENTIAL_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(credentials.TOKEN_ENV, "")
    monkeypatch.setattr(management, "_DEFAULT_ACCOUNT_CONFIG_JSON_FILE", str(tmp_path / "none.json"))

    def refuse(**kwargs):
        raise AssertionError("QiskitRuntimeService must not be built without credentials")

    monkeypatch.setattr(credentials, "connect", refuse)
    return tmp_path


def test_missing_credentials_clear_error(no_credentials):
    with pytest.raises(TargetError, match=r"no IBM Quantum credentials.*save_account.*QISKIT_IBM_TOKEN"):
        get_target("ibm:ibm_torino")
    with pytest.raises(TargetError, match="QISKIT_IBM_TOKEN"):
        IBMTarget("ibm_torino", account_file=str(no_credentials / "absent.json"))
    with pytest.raises(TargetError, match="named 'work'"):
        IBMTarget("ibm_torino", account_name="work")
    with pytest.raises(TargetError, match="channel must be one of"):
        IBMTarget("ibm_torino", channel="local")


def test_saved_account_file_used_and_scrubbed(no_credentials, monkeypatch):
    from qiskit_ibm_runtime import QiskitRuntimeService

    account_file = str(no_credentials / "accounts.json")
    QiskitRuntimeService.save_account(
        token=SAVED_TOKEN, instance="crn:v1:test", filename=account_file, set_as_default=True
    )
    seen = {}
    service = FakeService()
    service.backend_error = RuntimeError(f"401 Unauthorized for apikey={SAVED_TOKEN}")

    def connect(**kwargs):
        seen.update(kwargs)
        return service

    monkeypatch.setattr(credentials, "connect", connect)
    with pytest.raises(TargetError) as info:
        IBMTarget("ibm_fakeville", account_file=account_file)
    assert seen == {"filename": account_file}
    assert SAVED_TOKEN not in str(info.value) and credentials.REDACTED in str(info.value)

    service.backend_error = None
    target = IBMTarget("ibm_fakeville", account_file=account_file)
    assert "saved account" in target.credential_source
    assert SAVED_TOKEN not in repr(target) + str(target.describe())


def test_env_token_never_leaks(no_credentials, monkeypatch, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(credentials.TOKEN_ENV, SECRET_TOKEN)
    monkeypatch.setenv(credentials.INSTANCE_ENV, "crn:v1:test-instance")
    service = FakeService()
    monkeypatch.setattr(credentials, "connect", lambda **kwargs: service)
    messages = []

    target = IBMTarget(
        "ibm_fakeville",
        sampler_factory=service.sampler_factory,
        session_factory=service.session_factory,
        sleep=lambda s: None,
        poll_interval=0.0,
    )
    assert target.credential_source == "environment (QISKIT_IBM_TOKEN)"
    messages += [repr(target), str(target.describe())]

    # A transient error echoing the token is logged (scrubbed) and retried.
    service.submit_errors = [ConnectionError(f"reset while sending token={SECRET_TOKEN}")]
    result = target.sample(qaoa_circuit(), PARAMS[:1], FAKE_SHOTS)
    messages += [str(result.to_dict())]

    # A failed job whose error message echoes the token.
    service.job_scripts.append(
        {"statuses": ("ERROR",), "error_message": f"auth header Bearer {SECRET_TOKEN} rejected"}
    )
    with pytest.raises(JobFailedError) as failed:
        target.sample(qaoa_circuit(), PARAMS[:1], FAKE_SHOTS)
    messages.append(str(failed.value))

    # Building the service fails with the token in the message.
    def connect_fails(**kwargs):
        raise ValueError(f"invalid token {SECRET_TOKEN!r}")

    monkeypatch.setattr(credentials, "connect", connect_fails)
    with pytest.raises(TargetError, match="could not open QiskitRuntimeService") as broken:
        IBMTarget("ibm_fakeville")
    messages.append(str(broken.value))

    captured = capsys.readouterr()
    messages += [captured.out, captured.err, caplog.text]
    messages += [r.getMessage() for r in caplog.records]
    assert any(credentials.REDACTED in m for m in messages)
    for text in messages:
        assert SECRET_TOKEN not in text


# ------------------------------------------------------------------------------ QPU


def _has_credentials() -> bool:
    if os.environ.get(credentials.TOKEN_ENV, "").strip():
        return True
    try:
        from qiskit_ibm_runtime import QiskitRuntimeService

        return bool(QiskitRuntimeService.saved_accounts())
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.qpu
@pytest.mark.skipif(not _has_credentials(), reason="no IBM Quantum credentials (saved account or QISKIT_IBM_TOKEN)")
def test_qpu_tiny_job():
    name = os.environ.get("HYBRID_IBM_BACKEND")
    if not name:
        from qiskit_ibm_runtime import QiskitRuntimeService

        name = QiskitRuntimeService().least_busy(operational=True, simulator=False).name
    target = get_target(f"ibm:{name}")
    result = target.sample(qaoa_circuit(), PARAMS[1:2], 100)
    assert len(result.job_ids) == 1
    assert sum(result.counts[0].values()) == result.shots == 100


# ------------------------------------------------------------------------------ network vs credentials vs backend
LOOPBACK = "127.0.0.1"
CONNECT_TIMEOUT_S = 5


def _closed_loopback_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]  # closed when the block ends: connections are refused


def _refused_connection() -> Exception:
    """A real requests ConnectionError from a closed localhost port (nothing leaves the machine)."""
    import requests

    try:
        requests.get(f"http://{LOOPBACK}:{_closed_loopback_port()}/api", timeout=CONNECT_TIMEOUT_S)
    except requests.exceptions.ConnectionError as exc:
        return exc
    raise AssertionError("the closed port answered")


def _service_says(message: str, cause: Exception | None):
    from qiskit_ibm_runtime.accounts.exceptions import InvalidAccountError

    error = InvalidAccountError(message)
    error.__cause__ = cause
    return error


def test_no_network_is_not_blamed_on_the_token(no_credentials, monkeypatch):
    monkeypatch.setenv(credentials.TOKEN_ENV, SECRET_TOKEN)
    monkeypatch.setenv(credentials.URL_ENV, f"http://{LOOPBACK}:{_closed_loopback_port()}")
    refused = _refused_connection()

    def connect(**kwargs):  # what qiskit-ibm-runtime raises when its IAM endpoint cannot be reached
        raise _service_says("Unable to retrieve instances. Please check that you are using a valid API token.", refused)

    monkeypatch.setattr(credentials, "connect", connect)
    with pytest.raises(credentials.ServiceUnreachableError, match="cannot reach IBM Quantum.*no network or service unreachable") as info:
        IBMTarget("ibm_torino")
    assert "credentials were not checked" in str(info.value) and "valid API token" not in str(info.value)
    assert SECRET_TOKEN not in str(info.value)
    # the same refusal while looking up the backend, through the stand-in service
    service = FakeService()
    service.backend_error = refused
    with pytest.raises(credentials.ServiceUnreachableError, match="cannot reach IBM Quantum"):
        make_ibm(service, max_attempts=2)


def test_bad_credentials_and_unknown_backend_are_told_apart(no_credentials, monkeypatch):
    from qiskit_ibm_runtime.exceptions import IBMNotAuthorizedError

    monkeypatch.setenv(credentials.TOKEN_ENV, SECRET_TOKEN)

    def rejected(**kwargs):
        raise _service_says("Unable to retrieve instances. Please check that you are using a valid API token.", None)

    monkeypatch.setattr(credentials, "connect", rejected)
    with pytest.raises(credentials.CredentialsError, match="rejected the credentials.*save_account"):
        IBMTarget("ibm_torino")

    def malformed_instance(**kwargs):  # qiskit-ibm-runtime parsing an instance that is not a CRN
        raise AttributeError("'NoneType' object has no attribute 'group'")

    monkeypatch.setattr(credentials, "connect", malformed_instance)
    with pytest.raises(credentials.CredentialsError, match="credentials or the instance.*instance CRN"):
        IBMTarget("ibm_torino")

    service = FakeService()
    service.backend_error = IBMNotAuthorizedError("401 Unauthorized")
    with pytest.raises(credentials.CredentialsError):
        make_ibm(service)
    service.backend_error = None
    with pytest.raises(credentials.UnknownBackendError, match="unknown backend.*backends\\(\\)"):
        IBMTarget("ibm_nowhere", service=service)
    assert credentials.classify_service_error(ValueError("something else")) is None
