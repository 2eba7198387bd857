"""Error mitigation: spec parsing, ISA-preserving folding, readout inversion, ZNE, DD, run_isa."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from backends import TargetError, get_target
from backends.circuits import apply_confusion
from backends.base import IsaTarget, isa_violations
from hybrid import mitigation as mit
from hybrid.ansatz import qaoa_circuit
from hybrid.evaluate import NoisyExactOracle, SampledOracle, make_oracle, p1_expectation
from hybrid.mitigation import (
    MitigatedOracle,
    MitigationError,
    MitigationSpec,
    ReadoutMitigator,
    confusion_from_calibration,
    extrapolate,
    extrapolation_coefficients,
    fold_two_qubit_gates,
    fold_with_mitiq,
    make_mitigated_oracle,
    noise_scale,
    pad_dynamical_decoupling,
    parse_mitigation,
    two_qubit_count,
)
from hybrid.problems import from_edges, regular_graph

GRAPH_SEED = 1  # 3-regular 6-node graph
FOLD_SEED = 7
SAMPLE_SEED = 1234
REM_SEED = 5
DEVICE = "fake:torino"
LOCAL_DEVICE = "local:manila"
POINT = np.array([0.6, 0.3])  # (gamma, beta), p = 1
SCALES = (1.0, 3.0, 5.0)
SHOTS = 4000
ZNE_SHOTS = 20000  # per circuit in the sampled mitigation check
#: A mitigated gradient's error must be at most this fraction of the noisy gradient's error.
GRADIENT_RECOVERY = 0.25
SIGMAS = 3.0  # a mitigated estimate must beat the noisy one by this many of its standard errors
# Exact (shot-free) mitigation must remove at least a quarter of the noise bias; observed
# on this graph and point: rem 58 %, zne 33 %, zne+rem 94 %.
EXACT_IMPROVEMENT = 0.75
REM_ATOL = 1e-12  # exact inversion of an exactly applied confusion
REM_COUNTS_ATOL = 2e-3  # recovery from rounded counts of REM_COUNTS_TOTAL shots
REM_COUNTS_TOTAL = 10**6
STATE_ATOL = 1e-9  # folded circuits implement the same state
PROB_ATOL = 1e-10


def cut_mean(problem, counts):
    cuts = problem.cut_values()
    shots = sum(counts.values())
    return sum(cuts[k] * v for k, v in counts.items()) / shots


def active_statevector(circuit: QuantumCircuit) -> tuple[list[int], Statevector]:
    """The active qubits of a bound ISA circuit and the state its unitary part prepares."""
    ignored = ("measure", "barrier", "delay")
    active = sorted(
        {circuit.find_bit(q).index for inst in circuit.data for q in inst.qubits if inst.operation.name not in ignored}
    )
    remap = {q: i for i, q in enumerate(active)}
    compact = QuantumCircuit(len(active))
    for inst in circuit.data:
        if inst.operation.name not in ignored:
            compact.append(inst.operation, [remap[circuit.find_bit(q).index] for q in inst.qubits])
    return active, Statevector(compact)


@pytest.fixture(scope="module")
def problem():
    return regular_graph(6, 3, seed=GRAPH_SEED)


@pytest.fixture(scope="module")
def torino():
    return get_target(DEVICE)


@pytest.fixture(scope="module")
def isa(torino, problem):
    return torino.isa_circuit(qaoa_circuit(problem, 1))


@pytest.fixture(scope="module")
def reference(torino, problem):
    """Ideal and exact noisy (unmitigated) energies at POINT."""
    ideal = p1_expectation(problem, *POINT)
    noisy = float(make_oracle(problem, 1, torino).evaluate(POINT).energies[0])
    assert abs(noisy - ideal) > 0.1, "the device noise must visibly bias the energy"
    return ideal, noisy


# ------------------------------------------------------------------------- parsing
def test_parse_names_and_options():
    assert parse_mitigation("none") == MitigationSpec()
    spec = parse_mitigation(" ZNE + rem ", factory="linear", scale_factors=[1, 2, 3])
    assert (spec.zne, spec.rem, spec.dd) == (True, True, False)
    assert spec.name == "zne+rem" and spec.scale_factors == (1.0, 2.0, 3.0)
    assert parse_mitigation("dd+rem+zne").name == "zne+rem+dd"
    data = json.loads(json.dumps(spec.to_dict()))
    assert MitigationSpec.from_dict(data) == spec


@pytest.mark.parametrize(
    "text, options, pattern",
    [
        ("zne+foo", {}, r"unknown mitigation 'foo'.*valid: none, zne, rem, dd"),
        ("none+zne", {}, "'none' cannot be combined"),
        ("zne+zne", {}, "'zne' is repeated"),
        ("", {}, "non-empty string"),
        ("zne", {"factory": "cubic"}, "factory must be one of richardson, linear, exponential"),
        ("zne", {"fold": "odd"}, "fold must be one of two_qubit, all, global"),
        ("rem", {"rem_source": "guess"}, "rem_source must be one of device, calibrate"),
        ("dd", {"dd_sequence": "CPMG"}, "dd_sequence must be one of XX, XY4"),
        ("zne", {"scale_factors": (1,)}, "at least two distinct"),
        ("zne", {"scale_factors": (0.5, 1)}, ">= 1"),
        ("zne", {"bogus": 1}, r"unknown mitigation option\(s\) 'bogus'; valid: scale_factors"),
        ("rem", {"calibration_shots": 0}, "calibration_shots must be a positive integer"),
    ],
)
def test_parse_errors(text, options, pattern):
    with pytest.raises(MitigationError, match=pattern):
        parse_mitigation(text, **options)
    assert issubclass(MitigationError, ValueError)


def test_make_mitigated_oracle_none_is_plain(problem, torino):
    assert isinstance(make_mitigated_oracle(problem, 1, "ideal", "none", shots=100), SampledOracle)
    assert isinstance(make_mitigated_oracle(problem, 1, torino, "none", shots=None), NoisyExactOracle)
    with pytest.raises(MitigationError, match="unknown mitigation option"):
        make_mitigated_oracle(problem, 1, "ideal", "none", shots=100, scales=(1, 3))


def test_targets_without_calibration_or_durations_explain_the_fix(problem):
    with pytest.raises(MitigationError, match="rem_source='calibrate'"):
        MitigatedOracle(problem, 1, "ideal", "rem", shots=100)
    with pytest.raises(MitigationError, match="durations"):
        MitigatedOracle(problem, 1, "ideal", "dd", shots=100)


# ------------------------------------------------------------------------- folding
def test_two_qubit_folding_stays_isa_with_scaled_counts(torino, isa):
    tt = torino.backend.target
    base = isa.count_ops()
    n2 = two_qubit_count(isa)
    assert fold_two_qubit_gates(isa, 1.0) == isa
    for scale in SCALES:
        folded = fold_two_qubit_gates(isa, scale, seed=FOLD_SEED)
        ops = folded.count_ops()
        assert set(ops) <= set(tt.operation_names)
        assert two_qubit_count(folded) == int(scale) * n2
        assert {k: v for k, v in ops.items() if k != "cz"} == {k: v for k, v in base.items() if k != "cz"}
        assert isa_violations(folded.assign_parameters(POINT), tt) == []
        assert noise_scale(isa, folded) == scale
    # Non-odd scales fold a seeded random subset once more.
    a = fold_two_qubit_gates(isa, 2.0, seed=FOLD_SEED)
    assert a == fold_two_qubit_gates(isa, 2.0, seed=FOLD_SEED)
    assert abs(noise_scale(isa, a) - 2.0) <= 1.0 / n2
    # Folding preserves the state.
    bound = isa.assign_parameters(POINT)
    _, ref = active_statevector(bound)
    _, got = active_statevector(fold_two_qubit_gates(bound, 5.0))
    assert abs(abs(ref.inner(got)) - 1) < STATE_ATOL


@pytest.mark.parametrize("method", ["all", "global"])
def test_mitiq_folding_translated_back_to_isa(torino, isa, method):
    tt = torino.backend.target
    bound = isa.assign_parameters(POINT)
    n2 = two_qubit_count(bound)
    basis = mit._basis_of(tt)
    active, ref = active_statevector(bound)
    for scale in SCALES:
        folded = fold_with_mitiq(bound, scale, method, basis=basis, seed=FOLD_SEED)
        assert "sxdg" not in folded.count_ops()
        assert set(folded.count_ops()) <= set(tt.operation_names)
        assert isa_violations(folded, tt) == []
        assert folded.num_qubits == bound.num_qubits
        assert torino.measured_physical_qubits(folded) == torino.measured_physical_qubits(bound)
        got_active, got = active_statevector(folded)
        assert got_active == active
        assert abs(abs(ref.inner(got)) - 1) < STATE_ATOL
        assert two_qubit_count(folded) == int(scale) * n2
    with pytest.raises(MitigationError, match="unbound parameters"):
        fold_with_mitiq(isa, 3.0, method, basis=basis)


def test_dd_pads_with_device_gates_and_leaves_energy_within_shot_noise(torino, isa, problem, reference):
    tt = torino.backend.target
    for sequence in mit.DD_SEQUENCES:
        padded = pad_dynamical_decoupling(isa, tt, sequence).assign_parameters(POINT)
        assert padded.count_ops()["x"] > isa.count_ops().get("x", 0)
        assert "delay" in padded.count_ops()
        assert isa_violations(padded, tt) == []
    # The Aer model has no idle noise: DD only adds its X-gate errors.
    ev = MitigatedOracle(problem, 1, torino, "dd", shots=None).evaluate(POINT)
    tolerance = problem.total_weight / (2 * math.sqrt(SHOTS))
    assert abs(ev.energies[0] - reference[1]) <= tolerance


# ------------------------------------------------------------------------- readout
@pytest.mark.parametrize("dense", [True, False])
def test_rem_inverts_known_confusion(monkeypatch, dense):
    if not dense:
        monkeypatch.setattr(mit, "REM_DENSE_MAX_BITS", 0)
    rng = np.random.default_rng(REM_SEED)
    bits = 3
    confusion = [np.array([[0.95, 0.05], [0.08, 0.92]]), np.array([[0.9, 0.1], [0.03, 0.97]]), np.eye(2)]
    truth = rng.dirichlet(np.ones(2**bits))
    noisy = apply_confusion(truth[None, :], confusion)[0]
    rem = ReadoutMitigator(confusion)
    assert np.allclose(rem.quasi_probabilities(noisy[None, :])[0], truth, atol=REM_ATOL)
    counts = {k: int(round(v * REM_COUNTS_TOTAL)) for k, v in enumerate(noisy) if v > 0}
    probs, _ = rem.probabilities_from_counts(counts)
    corrected = rem.corrected(probs[None, :])[0]
    assert np.all(corrected >= 0) and abs(corrected.sum() - 1) < 1e-12
    assert np.allclose(corrected, truth, atol=REM_COUNTS_ATOL)
    values = np.arange(2**bits, dtype=float)
    mean, stderr = rem.expectation(values, counts=counts)
    assert abs(mean - truth @ values) < 10 * stderr and stderr > 0


def test_rem_calibration_marginals_and_errors():
    confusion = [np.array([[0.97, 0.03], [0.1, 0.9]]), np.array([[0.99, 0.01], [0.02, 0.98]])]
    zeros = apply_confusion(np.eye(4)[[0]], confusion)[0]
    ones = apply_confusion(np.eye(4)[[3]], confusion)[0]
    got = confusion_from_calibration(zeros, ones, 2)
    assert all(np.allclose(g, c) for g, c in zip(got, confusion))
    with pytest.raises(MitigationError, match="singular"):
        ReadoutMitigator([np.array([[0.5, 0.5], [0.5, 0.5]])])
    with pytest.raises(MitigationError, match="rows P"):
        ReadoutMitigator([np.array([[0.9, 0.2], [0.1, 0.9]])])


def test_device_confusion_matches_simulated_readout(torino, isa):
    measured = torino.measured_physical_qubits(isa)
    assert len(measured) == isa.num_clbits and len(set(measured)) == len(measured)
    matrices = torino.readout_confusion(measured)
    comp = torino.compiled(qaoa_circuit(regular_graph(6, 3, seed=GRAPH_SEED), 1))
    assert all(np.allclose(m, c) for m, c in zip(matrices, comp.confusion))
    with pytest.raises(TargetError, match="not on fake:torino"):
        torino.readout_confusion([500])


# ------------------------------------------------------------------------- extrapolation
def test_extrapolation_coefficients_and_errors():
    assert np.allclose(extrapolation_coefficients("richardson", SCALES), [15 / 8, -5 / 4, 3 / 8])
    values, errors = np.array([5.0, 4.0, 3.5]), np.array([0.1, 0.2, 0.3])
    value, err = extrapolate(SCALES, values, errors, "richardson")
    c = np.array([15 / 8, -5 / 4, 3 / 8])
    assert math.isclose(value, c @ values) and math.isclose(err, math.sqrt(np.sum(c**2 * errors**2)))
    # Exponential data toward a known asymptote is extrapolated exactly.
    a, b, k = 3.0, 2.0, 0.3
    exp_values = a + b * np.exp(-k * np.array(SCALES))
    value, err = extrapolate(SCALES, exp_values, errors, "exponential", asymptote=a)
    assert math.isclose(value, a + b, rel_tol=1e-9) and err > 0


# ------------------------------------------------------------------------- run_isa
def test_fake_run_isa_one_job_counts_per_circuit(torino, isa, problem):
    assert isinstance(torino, IsaTarget)
    bound = isa.assign_parameters(POINT)
    circuits = [fold_two_qubit_gates(bound, s) for s in SCALES]
    result = torino.run_isa(circuits, SHOTS, seed=SAMPLE_SEED)
    assert len(result.job_ids) == 1 and len(result.counts) == len(circuits)
    assert all(sum(c.values()) == SHOTS for c in result.counts)
    assert result.metadata["two_qubit_gates"] == [two_qubit_count(c) for c in circuits]
    assert torino.run_isa(circuits, SHOTS, seed=SAMPLE_SEED).counts == result.counts
    exact = torino.exact_isa_probabilities(circuits)
    assert np.allclose(exact[0], torino.probabilities(qaoa_circuit(problem, 1), POINT)[0], atol=PROB_ATOL)
    cuts = problem.cut_values()
    tol = SIGMAS * problem.total_weight / (2 * math.sqrt(SHOTS))
    for counts, probs in zip(result.counts, exact):
        assert abs(cut_mean(problem, counts) - probs @ cuts) <= tol
    # More folding, more noise: energies move towards W/2.
    energies = exact @ cuts
    assert energies[0] > energies[1] > energies[2] > problem.total_weight / 2


def test_run_isa_rejects_unbound_and_non_isa(torino, isa, problem):
    with pytest.raises(TargetError, match="unbound parameters"):
        torino.run_isa([isa], SHOTS)
    logical = qaoa_circuit(problem, 1).assign_parameters(POINT)
    with pytest.raises(TargetError, match="not an ISA circuit for fake:torino"):
        torino.run_isa([logical], SHOTS)
    with pytest.raises(TargetError, match="circuits is empty"):
        torino.run_isa([], SHOTS)


def test_local_run_isa_tiny():
    target = get_target(LOCAL_DEVICE)
    path = from_edges([(0, 1), (1, 2)])
    bound = target.isa_circuit(qaoa_circuit(path, 1)).assign_parameters(POINT)
    circuits = [bound, fold_two_qubit_gates(bound, 3.0)]
    result = target.run_isa(circuits, 500, seed=SAMPLE_SEED)
    assert len(result.job_ids) == 1 and len(result.counts) == 2
    assert all(sum(c.values()) == 500 for c in result.counts)
    assert all(0 <= k < 2**path.n for c in result.counts for k in c)
    assert target.run_isa(circuits, 500, seed=SAMPLE_SEED).counts == result.counts
    assert target.measured_physical_qubits(bound) == target.measured_physical_qubits(qaoa_circuit(path, 1))


class _StandInJob:
    def __init__(self, job_id, result):
        self._id, self._result = job_id, result

    def job_id(self):
        return self._id

    def status(self):
        return "DONE"

    def result(self):
        return self._result


class _StandInService:
    """QiskitRuntimeService stand-in: one fake backend, jobs run on StatevectorSampler."""

    def __init__(self):
        from backends import load_fake_backend

        self._backend = load_fake_backend("manila")
        self.jobs: dict[str, _StandInJob] = {}
        self.pubs: list[int] = []

    def backend(self, name):
        return self._backend

    def job(self, job_id):
        return self.jobs[job_id]

    def sampler_factory(self, mode, options):
        from qiskit.primitives import StatevectorSampler

        service = self

        class Sampler:
            def run(self, pubs, *, shots):
                job_id = f"job-{len(service.jobs)}"
                service.pubs.append(len(pubs))
                result = StatevectorSampler(seed=SAMPLE_SEED).run(pubs, shots=shots).result()
                service.jobs[job_id] = _StandInJob(job_id, result)
                return service.jobs[job_id]

        return Sampler()


def test_ibm_submit_isa_fetch_and_job_hooks():
    from backends.ibm import IBMTarget

    service = _StandInService()
    target = IBMTarget("manila", service=service, sampler_factory=service.sampler_factory, poll_interval=0.0)
    path = from_edges([(0, 1), (1, 2)])
    bound = target.isa_circuit(qaoa_circuit(path, 1)).assign_parameters(POINT)
    job_id = target.submit_isa([bound, bound, bound], 256)
    fetched = target.fetch(job_id)
    assert service.pubs == [3] and len(fetched.counts) == 3
    assert all(sum(c.values()) == 256 for c in fetched.counts)
    oracle = MitigatedOracle(path, 1, target, "zne+rem", shots=256)
    assert oracle.supports_jobs
    submitted: list[str] = []
    ev = oracle.evaluate(POINT, on_submit=submitted.append)
    assert list(ev.job_ids) == submitted and service.pubs[-1] == len(SCALES)
    again = MitigatedOracle(path, 1, target, "zne+rem", shots=256).evaluate(POINT, attach_job=submitted[0])
    assert np.allclose(again.energies, ev.energies) and len(service.pubs) == 2  # nothing resubmitted


# ------------------------------------------------------------------------- mitigation works
@pytest.mark.parametrize("mitigation", ["rem", "zne", "zne+rem"])
def test_exact_mitigation_beats_noisy(torino, problem, reference, mitigation):
    ideal, noisy = reference
    oracle = MitigatedOracle(problem, 1, torino, mitigation, shots=None)
    assert oracle.exact
    ev = oracle.evaluate(POINT)
    assert abs(ev.energies[0] - ideal) <= EXACT_IMPROVEMENT * abs(noisy - ideal), (ev.energies, ideal, noisy)
    raw = ev.metadata["raw_energies"][0]
    assert math.isclose(raw[0], noisy, rel_tol=1e-9)
    if "zne" in mitigation:
        assert len(raw) == len(SCALES) and raw[0] > raw[1] > raw[2]
        assert ev.metadata["cost"]["two_qubit_ratio"] == sum(SCALES)
        assert ev.metadata["cost"]["circuits_per_point"] == len(SCALES)


def test_sampled_zne_rem_beats_noisy_by_its_stderr(torino, problem, reference):
    ideal, noisy = reference
    oracle = MitigatedOracle(problem, 1, torino, "zne+rem", shots=ZNE_SHOTS, seed=SAMPLE_SEED)
    ev = oracle.evaluate(POINT)
    assert ev.shots == ZNE_SHOTS * len(SCALES) and len(ev.job_ids) == 1
    error, stderr = abs(ev.energies[0] - ideal), ev.stderr[0]
    assert 0 < stderr and error + SIGMAS * stderr <= abs(noisy - ideal), (error, stderr, noisy - ideal)


def test_calibrated_rem_in_the_same_job(torino, problem, reference):
    oracle = MitigatedOracle(problem, 1, torino, parse_mitigation("rem", rem_source="calibrate"), shots=None)
    ev = oracle.evaluate(POINT)
    assert ev.metadata["cost"]["calibration_circuits"] == 2
    assert abs(ev.energies[0] - reference[0]) < abs(reference[1] - reference[0])
    assert oracle.evaluate(POINT).metadata["cost"]["calibration_circuits"] == 0  # calibrated once


def test_value_and_grad_one_job_shot_aware_step(torino, problem):
    oracle = MitigatedOracle(problem, 1, torino, "zne+rem", shots=SHOTS, seed=SAMPLE_SEED)
    assert mit.FD_STEP_MIN <= oracle.fd_step <= mit.FD_STEP_MAX and not oracle.exact
    value, grad, ev = oracle.value_and_grad(POINT)
    assert ev.num_points == 5 and len(ev.job_ids) == 1 and grad.shape == (2,)
    assert ev.shots == 5 * len(SCALES) * SHOTS and math.isfinite(value)


def test_mitigated_gradient_is_closer_to_the_ideal_one(torino, problem):
    """Exact-mode zne+rem gradients recover the ideal gradient far better than the noisy ones
    (observed error ratio 0.05-0.07 at three points)."""
    ideal = make_oracle(problem, 1, "ideal")
    noisy = make_oracle(problem, 1, torino)
    mitigated = MitigatedOracle(problem, 1, torino, "zne+rem", shots=None)
    for point in (POINT, np.array([0.3, 0.5])):
        g_ideal = ideal.value_and_grad(point)[1]
        g_noisy = noisy.value_and_grad(point)[1]
        g_mit = mitigated.value_and_grad(point)[1]
        assert np.linalg.norm(g_mit - g_ideal) <= GRADIENT_RECOVERY * np.linalg.norm(g_noisy - g_ideal)
