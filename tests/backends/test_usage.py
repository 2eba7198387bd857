"""The QPU usage model: one job's quantum seconds from the device's own durations, and a session's bill."""

from __future__ import annotations

import math

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Delay

from backends import TargetError, get_target, load_fake_backend
from backends.capabilities import Capability, supports
from backends.usage import (
    FALLBACK_MEASURE_S,
    FALLBACK_ONE_QUBIT_S,
    FALLBACK_REP_DELAY_S,
    IBM_BELL_EXAMPLE_SECONDS,
    IBM_BELL_EXAMPLE_SHOTS,
    JOB_OVERHEAD_S,
    SessionUsage,
    UsageEstimate,
    UsageModel,
    scheduled_duration,
    total_quantum_seconds,
)

#: Float tolerance of sums of microsecond terms.
SUM_TOL = 1e-12
#: How close the model must come to IBM's published Bell-job estimate (4.1 s): the
#: one digit of the job overhead it was fitted to.
BELL_REL_TOL = 0.05
TORINO_CZ_S, TORINO_SX_S, TORINO_MEASURE_S, TORINO_REP_DELAY_S = 68e-9, 32e-9, 1.56e-6, 250e-6


@pytest.fixture(scope="module")
def torino():
    return load_fake_backend("torino")


def _bell(backend):
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return transpile(qc, backend, optimization_level=1, seed_transpiler=0)


def test_model_reads_the_backends_rep_delay_and_falls_back_by_name(torino):
    model = UsageModel.from_backend(torino)
    assert model.rep_delay_s == TORINO_REP_DELAY_S
    assert model.rep_delay_source == "backend.default_rep_delay"
    assert model.job_overhead_s == JOB_OVERHEAD_S
    bare = UsageModel.from_backend(object())
    assert bare.rep_delay_s == FALLBACK_REP_DELAY_S and bare.rep_delay_source.startswith("fallback")


def test_schedule_uses_target_durations_hand_checked(torino):
    """sx, cz, measure on qubits 0-1 of FakeTorino: the ASAP schedule by hand."""
    qc = QuantumCircuit(torino.num_qubits, 2)
    qc.sx(0)
    qc.rz(0.3, 0)  # virtual: 0 s
    qc.sx(0)
    qc.cz(0, 1)  # waits for qubit 0
    qc.measure(0, 0)
    qc.measure(1, 1)
    seconds, fallbacks = scheduled_duration(qc, torino.target)
    sx = torino.target["sx"][(0,)].duration
    cz = torino.target["cz"][(0, 1)].duration
    meas = max(torino.target["measure"][(0,)].duration, torino.target["measure"][(1,)].duration)
    assert fallbacks == 0
    assert seconds == pytest.approx(2 * sx + cz + meas, abs=SUM_TOL)
    assert (sx, cz, torino.target["measure"][(0,)].duration) == (TORINO_SX_S, TORINO_CZ_S, TORINO_MEASURE_S)


def test_schedule_counts_delays_barriers_and_fallbacks(torino):
    qc = QuantumCircuit(2, 2)
    qc.append(Delay(250, unit="dt"), [0])
    qc.barrier()
    qc.sx(1)
    qc.measure(1, 1)
    seconds, fallbacks = scheduled_duration(qc, torino.target)
    assert seconds == pytest.approx(250 * torino.target.dt + TORINO_SX_S + TORINO_MEASURE_S, abs=SUM_TOL)
    assert fallbacks == 0
    with pytest.raises(TargetError, match="delay in units of dt"):
        scheduled_duration(qc, None)
    bare = QuantumCircuit(2, 2)
    bare.append(Delay(1.0, unit="us"), [0])
    bare.sx(1)
    bare.measure(1, 1)
    seconds, fallbacks = scheduled_duration(bare, None)  # no target: the named fallbacks
    assert fallbacks == 2
    assert seconds == pytest.approx(max(1e-6, FALLBACK_ONE_QUBIT_S + FALLBACK_MEASURE_S), abs=SUM_TOL)


def test_estimate_matches_a_hand_calculation_and_its_floor(torino):
    model = UsageModel.from_backend(torino, circuit_overhead_s=0.01)
    durations, shots = [2e-6, 3e-6, 5e-6], 1000
    est = model.estimate(durations, shots)
    hand = 3.0 + 3 * 0.01 + 1000 * ((2e-6 + 250e-6) + (3e-6 + 250e-6) + (5e-6 + 250e-6))
    assert est.quantum_seconds == pytest.approx(hand, abs=SUM_TOL)
    assert est.quantum_seconds >= shots * len(durations) * model.rep_delay_s
    assert est.shot_seconds == pytest.approx(1000 * (10e-6 + 3 * 250e-6), abs=SUM_TOL)
    assert UsageEstimate.from_dict(est.to_dict()) == est
    assert est.to_dict()["shot_seconds"] == est.shot_seconds


def test_estimate_reproduces_ibms_bell_example(torino):
    est = UsageModel.from_backend(torino).estimate([scheduled_duration(_bell(torino), torino.target)[0]],
                                                   IBM_BELL_EXAMPLE_SHOTS)
    assert est.quantum_seconds == pytest.approx(IBM_BELL_EXAMPLE_SECONDS, rel=BELL_REL_TOL)


def test_estimate_rejects_bad_inputs():
    model = UsageModel()
    with pytest.raises(TargetError, match="shots must be a positive integer"):
        model.estimate([1e-6], 0)
    with pytest.raises(TargetError, match="one finite duration"):
        model.estimate([], 10)
    with pytest.raises(TargetError, match="job_overhead_s must be a finite number"):
        UsageModel(job_overhead_s=-1.0)
    with pytest.raises(TargetError, match="not a UsageEstimate record"):
        UsageEstimate.from_dict({"quantum_seconds": 1.0})


@pytest.mark.parametrize("spec", ["fake:torino", "local:torino"])
def test_device_targets_estimate_jobs_of_logical_circuits(spec):
    from hybrid.ansatz import qaoa_circuit
    from hybrid.problems import from_edges

    target = get_target(spec)
    assert supports(target, Capability.QPU_USAGE)
    circuit = qaoa_circuit(from_edges([(0, 1), (1, 2), (2, 3), (3, 0)]), 1, measure=True)
    est = target.estimate_usage([circuit], 1000, points=[3])
    isa_seconds, fallbacks = scheduled_duration(target.isa_circuit(circuit), target.usage_backend.target)
    assert fallbacks == 0 and est.fallback_instructions == 0
    assert est.circuits == 3
    assert est.circuit_seconds == pytest.approx(3 * isa_seconds, abs=SUM_TOL)
    assert est.quantum_seconds >= 1000 * 3 * TORINO_REP_DELAY_S
    assert est == target.estimate_usage([target.isa_circuit(circuit)] * 3, 1000, isa=True)
    with pytest.raises(TargetError, match="one count >= 1 per circuit"):
        target.estimate_usage([circuit], 10, points=[0])


def test_session_bill_is_the_active_span_and_its_classical_share():
    s = SessionUsage(opened_at=100.0, first_job_at=102.0, last_result_at=130.0, closed_at=131.0,
                     quantum_seconds=9.0, jobs=3)
    assert s.billed_seconds == pytest.approx(29.0)
    assert s.classical_share == pytest.approx(1 - 9.0 / 29.0)
    assert SessionUsage.from_dict(s.to_dict()) == s
    late = SessionUsage(opened_at=0.0, first_job_at=1.0, last_result_at=12.0, closed_at=10.0, quantum_seconds=20.0)
    assert late.billed_seconds == 11.0 and late.classical_share == 0.0
    empty = SessionUsage(opened_at=0.0, closed_at=5.0)
    assert empty.billed_seconds == 0.0 and empty.classical_share is None


def test_total_is_the_sum_of_the_jobs():
    est = UsageModel().estimate([1e-6], 10)
    assert total_quantum_seconds([est, est.to_dict(), None]) == pytest.approx(2 * est.quantum_seconds)
    assert math.isclose(total_quantum_seconds([]), 0.0)


def test_session_clock_times_only_calls_that_ran_jobs():
    from backends.usage import SessionClock

    ticks = iter([0.0, 1.0, 2.0, 3.0, 5.0, 6.0, 9.0, 10.0])
    clock = SessionClock("session", simulated=True, clock=lambda: next(ticks))
    clock.open()  # 0
    clock.job_sent()  # 1: an exact call, no job
    clock.result_in(0.0, 0)  # 2
    clock.job_sent()  # 3
    clock.result_in(4.0, 1)  # 5: 2 s simulating a 4 s job
    clock.job_sent()  # 6
    clock.result_in(4.0, 1)  # 9
    usage = clock.close()  # 10
    assert (usage.first_job_at, usage.last_result_at, usage.jobs) == (3.0, 9.0, 2)
    assert usage.job_wall_seconds == 5.0 and usage.span_seconds == 7.0
    assert usage.billed_seconds == pytest.approx(7.0 - 5.0 + 8.0)  # simulation replaced by quantum seconds
    assert usage.classical_share == pytest.approx(2.0 / 10.0)
    real = SessionUsage(**{**usage.__dict__, "simulated": False})
    assert real.billed_seconds == 7.0
