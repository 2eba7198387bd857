"""Error mitigation: spec parsing, ISA-preserving folding, readout inversion, ZNE, DD, run_isa,
each technique alone (transform + post-process) and composed in the mitigated oracle with
every gradient rule."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from backends import TargetError, get_target
from backends.circuits import apply_confusion
from backends.base import isa_violations
from backends.capabilities import Capability, supports
from hybrid import mitigation as mit
from hybrid.mitigation import dd, rem, zne
from hybrid.mitigation._circuits import basis_of
from hybrid.ansatz import qaoa_circuit
from hybrid.oracle_factory import make_oracle
from hybrid.oracles import NoisyExactOracle, SampledOracle, p1_expectation
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
    noise_scale,
    pad_dynamical_decoupling,
    parse_mitigation,
    two_qubit_count,
)
from hybrid.problems import ProblemError, from_edges, regular_graph

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
#: A sampled mitigated gradient must match the exact mitigated one within this many of its
#: standard errors (propagated from the per-point standard errors of the same job).
GRAD_SIGMAS = 4.0
#: Central-difference step of the SPSA check: O(step^2) truncation, far below GRAD_ATOL.
SPSA_CHECK_STEP = 1e-4
GRAD_ATOL = 1e-5
#: Calibration circuits measure the device confusion up to the error of their X gates
#: (observed 4e-4 on fake:torino).
CALIBRATION_ATOL = 2e-3
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


def test_make_oracle_with_no_mitigation_is_plain(problem, torino):
    assert isinstance(make_oracle(problem, 1, "ideal", mitigation="none", shots=100), SampledOracle)
    assert isinstance(make_oracle(problem, 1, torino, mitigation="none", shots=None), NoisyExactOracle)
    assert isinstance(make_oracle(problem, 1, torino, mitigation="zne", shots=None), MitigatedOracle)
    with pytest.raises(MitigationError, match="fold must be one of"):
        make_oracle(problem, 1, "ideal", mitigation="none", shots=100, fold="bogus")
    with pytest.raises(ProblemError, match="unknown make_oracle option.*'scales'.*scale_factors"):
        make_oracle(problem, 1, "ideal", mitigation="none", shots=100, scales=(1, 3))
    with pytest.raises(ProblemError, match="method='noisy_cones' has no mitigation"):
        make_oracle(problem, 1, torino, mitigation="zne", method="light-cone")


def test_targets_without_calibration_or_durations_explain_the_fix(problem):
    with pytest.raises(MitigationError, match="rem_source='calibrate'"):
        make_oracle(problem, 1, "ideal", mitigation="rem", shots=100)
    with pytest.raises(MitigationError, match="durations"):
        make_oracle(problem, 1, "ideal", mitigation="dd", shots=100)


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
    basis = basis_of(tt)
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
    ev = make_oracle(problem, 1, torino, mitigation="dd").evaluate(POINT)
    tolerance = problem.total_weight / (2 * math.sqrt(SHOTS))
    assert abs(ev.energies[0] - reference[1]) <= tolerance


# ------------------------------------------------------------------------- readout
@pytest.mark.parametrize("dense", [True, False])
def test_rem_inverts_known_confusion(monkeypatch, dense):
    if not dense:
        monkeypatch.setattr(rem, "REM_DENSE_MAX_BITS", 0)
    rng = np.random.default_rng(REM_SEED)
    bits = 3
    confusion = [np.array([[0.95, 0.05], [0.08, 0.92]]), np.array([[0.9, 0.1], [0.03, 0.97]]), np.eye(2)]
    truth = rng.dirichlet(np.ones(2**bits))
    noisy = apply_confusion(truth[None, :], confusion)[0]
    inverse = ReadoutMitigator(confusion)
    assert np.allclose(inverse.quasi_probabilities(noisy[None, :])[0], truth, atol=REM_ATOL)
    counts = {k: int(round(v * REM_COUNTS_TOTAL)) for k, v in enumerate(noisy) if v > 0}
    probs, _ = inverse.probabilities_from_counts(counts)
    corrected = inverse.corrected(probs[None, :])[0]
    assert np.all(corrected >= 0) and abs(corrected.sum() - 1) < 1e-12
    assert np.allclose(corrected, truth, atol=REM_COUNTS_ATOL)
    values = np.arange(2**bits, dtype=float)
    mean, stderr = inverse.expectation(values, counts=counts)
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
    assert supports(torino, Capability.ISA_EXECUTION)
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
    oracle = make_oracle(path, 1, target, mitigation="zne+rem", shots=256)
    assert oracle.supports_jobs
    submitted: list = []
    ev = oracle.evaluate(POINT, on_submit=submitted.append)
    assert list(ev.job_ids) == [job.job_id for job in submitted] and service.pubs[-1] == len(SCALES)
    # the record alone (as the ledger stores it) re-attaches, in a fresh oracle
    again = make_oracle(path, 1, target, mitigation="zne+rem", shots=256).evaluate(
        POINT, attach_job=json.loads(json.dumps(submitted[0].to_dict()))
    )
    assert np.allclose(again.energies, ev.energies) and len(service.pubs) == 2  # nothing resubmitted


# ------------------------------------------------------------------------- mitigation works
@pytest.mark.parametrize("mitigation", ["rem", "zne", "zne+rem"])
def test_exact_mitigation_beats_noisy(torino, problem, reference, mitigation):
    ideal, noisy = reference
    oracle = make_oracle(problem, 1, torino, mitigation=mitigation)
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
    oracle = make_oracle(problem, 1, torino, mitigation="zne+rem", shots=ZNE_SHOTS, seed=SAMPLE_SEED)
    ev = oracle.evaluate(POINT)
    assert ev.shots == ZNE_SHOTS * len(SCALES) and len(ev.job_ids) == 1
    error, stderr = abs(ev.energies[0] - ideal), ev.stderr[0]
    assert 0 < stderr and error + SIGMAS * stderr <= abs(noisy - ideal), (error, stderr, noisy - ideal)


def test_calibrated_rem_in_the_same_job(torino, problem, reference):
    oracle = make_oracle(problem, 1, torino, mitigation="rem", rem_source="calibrate")
    ev = oracle.evaluate(POINT)
    assert ev.metadata["cost"]["calibration_circuits"] == 2
    assert abs(ev.energies[0] - reference[0]) < abs(reference[1] - reference[0])
    assert oracle.evaluate(POINT).metadata["cost"]["calibration_circuits"] == 0  # calibrated once


def test_value_and_grad_one_job_shot_aware_step(torino, problem):
    oracle = make_oracle(problem, 1, torino, mitigation="zne+rem", shots=SHOTS, seed=SAMPLE_SEED)
    assert mit.FD_STEP_MIN <= oracle.fd_step <= mit.FD_STEP_MAX and not oracle.exact
    value, grad, ev = oracle.value_and_grad(POINT)
    assert ev.num_points == 5 and len(ev.job_ids) == 1 and grad.shape == (2,)
    assert ev.shots == 5 * len(SCALES) * SHOTS and math.isfinite(value)
    assert oracle.charge("value_and_grad", 1).shots == ev.shots
    # The same central differences on exact mitigated energies: the sampled gradient lies
    # within its propagated shot error of them.
    exact = make_oracle(problem, 1, torino, mitigation="zne+rem", fd_step=oracle.fd_step)
    _, g_exact, _ = exact.value_and_grad(POINT)
    sigma = np.sqrt(ev.stderr[1:3] ** 2 + ev.stderr[3:5] ** 2) / (2 * oracle.fd_step)
    assert np.all(sigma > 0) and np.all(np.abs(grad - g_exact) <= GRAD_SIGMAS * sigma), (grad, g_exact, sigma)
    # gradient="fd" names the default rule: the same numbers from the same seed.
    fd = make_oracle(problem, 1, torino, mitigation="zne+rem", shots=SHOTS, seed=SAMPLE_SEED, gradient="fd")
    again = fd.value_and_grad(POINT)
    assert again[0] == value and np.array_equal(again[1], grad)


def test_mitigated_gradient_is_closer_to_the_ideal_one(torino, problem):
    """Exact-mode zne+rem gradients recover the ideal gradient far better than the noisy ones
    (observed error ratio 0.05-0.07 at three points)."""
    ideal = make_oracle(problem, 1, "ideal")
    noisy = make_oracle(problem, 1, torino)
    mitigated = make_oracle(problem, 1, torino, mitigation="zne+rem")
    for point in (POINT, np.array([0.3, 0.5])):
        g_ideal = ideal.value_and_grad(point)[1]
        g_noisy = noisy.value_and_grad(point)[1]
        g_mit = mitigated.value_and_grad(point)[1]
        assert np.linalg.norm(g_mit - g_ideal) <= GRADIENT_RECOVERY * np.linalg.norm(g_noisy - g_ideal)


def test_parameter_shift_on_the_mitigated_oracle(torino, problem):
    """Parameter shift on the zne+rem evaluation (all shifted gate-level points in one batch)
    recovers the ideal gradient as well as finite differences do."""
    ideal = make_oracle(problem, 1, "ideal")
    noisy = make_oracle(problem, 1, torino)
    shifted = make_oracle(problem, 1, torino, mitigation="zne+rem", gradient="param_shift")
    assert isinstance(shifted, MitigatedOracle) and shifted.gradient == "param_shift"
    gates = problem.m + problem.n  # one angle per RZZ and RX gate at p = 1
    assert shifted.charge("value_and_grad", 1).evaluations == 1 + 2 * gates
    for point in (POINT, np.array([0.3, 0.5])):
        value, g_ps, ev = shifted.value_and_grad(point)
        assert ev.num_points == 1 + 2 * gates and ev.metadata["cost"]["circuits"] == (1 + 2 * gates) * len(SCALES)
        assert value == pytest.approx(shifted.evaluate(point).energies[0], abs=PROB_ATOL)
        g_ideal = ideal.value_and_grad(point)[1]
        g_noisy = noisy.value_and_grad(point)[1]
        assert np.linalg.norm(g_ps - g_ideal) <= GRADIENT_RECOVERY * np.linalg.norm(g_noisy - g_ideal)


def test_parameter_shift_with_shots_and_mitigation_in_one_job(torino, problem):
    oracle = make_oracle(problem, 1, torino, mitigation="rem", shots=SHOTS, seed=SAMPLE_SEED, gradient="param_shift")
    value, grad, ev = oracle.value_and_grad(POINT)
    points = 1 + 2 * (problem.m + problem.n)
    assert ev.num_points == points and len(ev.job_ids) == 1 and ev.shots == points * SHOTS
    assert oracle.charge("value_and_grad", 1).shots == ev.shots and np.all(np.isfinite(grad))


def test_spsa_rule_is_a_directional_derivative(torino, problem):
    from hybrid.oracles import SPSA, Charge

    oracle = make_oracle(problem, 1, torino, gradient="spsa")
    assert oracle.charge("value_and_grad", 2) == Charge(6)
    value, grad, ev = oracle.value_and_grad(POINT, seed=SAMPLE_SEED)
    assert ev.num_points == 3 and np.array_equal(oracle.value_and_grad(POINT, seed=SAMPLE_SEED)[1], grad)
    # With a small perturbation, (E+ - E-) / 2c along delta is the exact directional derivative.
    _, g_fd, _ = make_oracle(problem, 1, torino, fd_step=SPSA_CHECK_STEP).value_and_grad(POINT)
    _, g_spsa, _ = SPSA(SPSA_CHECK_STEP).value_and_grad(oracle, POINT, seed=SAMPLE_SEED)
    delta = np.sign(g_spsa)
    assert np.allclose(g_spsa, delta * (delta @ g_fd), atol=GRAD_ATOL)
    mitigated = make_oracle(problem, 1, torino, mitigation="zne", gradient="spsa")
    assert mitigated.value_and_grad(POINT, seed=SAMPLE_SEED)[2].num_points == 3


def test_techniques_alone_compose_to_the_oracle(torino, problem, isa):
    """zne.transform -> bind -> one exact run -> rem.postprocess -> zne.postprocess equals the
    mitigated oracle; dd.transform pads; rem.transform prepends calibration only when needed."""
    spec = parse_mitigation("zne+rem")
    folded, zctx = zne.transform([isa], spec, torino)
    assert len(folded) == len(SCALES) and zctx.noise_scales == SCALES
    assert zne.ZneContext.from_dict(json.loads(json.dumps(zctx.to_dict()))) == zctx
    bound = [c.assign_parameters(POINT) for c in folded]
    rctx = rem.device_context(spec, torino, isa)
    assert rctx.calibration_circuits == 0 and len(rctx.confusion) == isa.num_clbits
    same, ctx = rem.transform(bound, rctx, torino)
    assert same == bound and ctx.calibration_circuits == 0
    probs = torino.exact_isa_probabilities(bound)
    values, _ = rem.postprocess(list(probs), rctx, problem.cut_values())
    energy, stderr = zne.postprocess(values, zctx, asymptote=problem.total_weight / 2)
    expected = make_oracle(problem, 1, torino, mitigation="zne+rem").evaluate(POINT).energies[0]
    assert energy.shape == (1,) and energy[0] == pytest.approx(expected, abs=PROB_ATOL) and stderr[0] == 0
    calibrating = rem.device_context(parse_mitigation("rem", rem_source="calibrate"), torino, isa)
    with_cal, ctx = rem.transform(bound, calibrating, torino)
    assert ctx.calibration_circuits == 2 and with_cal[2:] == bound
    measured = rem.calibrate(list(torino.exact_isa_probabilities(with_cal[:2])), ctx)
    assert measured.calibration_circuits == 0
    assert all(np.allclose(a, b, atol=CALIBRATION_ATOL) for a, b in zip(measured.confusion, rctx.confusion))
    padded = dd.transform(bound[:1], parse_mitigation("dd"), torino)
    assert padded[0].count_ops().get("x", 0) > bound[0].count_ops().get("x", 0)
    assert dd.transform(bound[:1], parse_mitigation("zne"), torino) == bound[:1]
