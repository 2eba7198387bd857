"""Local simulator targets: ideal, noiseless Aer, and compacted noisy Aer from fake devices."""

from __future__ import annotations


import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Statevector

from backends import Target, TargetError, get_target, parse_spec
from backends.circuits import apply_confusion
from backends.fake_device import FakeDeviceTarget
from backends.ideal import AerTarget, IdealTarget

SEED = 1234
SHOTS = 4000
SIGMAS = 5.0  # shot-noise tolerance in standard errors of the mean
PROB_ATOL = 1e-12  # ideal probabilities vs Statevector
COMPACTION_ATOL = 1e-6  # compacted noisy probabilities vs whole-device reference
MIN_NOISE_EFFECT = 1e-3  # noisy and ideal distributions must differ by at least this
BIG_DEVICE = "torino"
SMALL_DEVICE = "manila"  # 5 qubits

# A 5-node graph (a ring with one chord) and a triangle-free 4-node path.
EDGES5 = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (0, 2)]
EDGES4 = [(0, 1), (1, 2), (2, 3)]
POINTS = np.array([[0.6, 0.3], [1.1, -0.4], [0.2, 0.9]])


def qaoa(edges, n, p=1, weights=None):
    """QAOA p-layer circuit: theta[:p] are gammas, theta[p:] betas; qubit i into clbit i."""
    theta = ParameterVector("theta", 2 * p)
    weights = weights or [1.0] * len(edges)
    qc = QuantumCircuit(n, n)
    qc.h(range(n))
    for layer in range(p):
        for (u, v), w in zip(edges, weights):
            qc.rzz(-w * theta[layer], u, v)
        qc.rx(2 * theta[p + layer], range(n))
    qc.measure(range(n), range(n))
    return qc


def cut_values(edges, n):
    x = np.arange(2**n)
    return sum((((x >> u) & 1) != ((x >> v) & 1)).astype(float) for u, v in edges)


@pytest.fixture(scope="module")
def torino():
    return get_target(f"fake:{BIG_DEVICE}")


@pytest.fixture(scope="module")
def manila():
    return get_target(f"fake:{SMALL_DEVICE}")


# ------------------------------------------------------------------------------ ideal
def test_ideal_probabilities_match_statevector():
    qc = qaoa(EDGES5, 5)
    target = get_target("ideal")
    assert isinstance(target, IdealTarget) and target.exact and not target.noisy
    probs = target.probabilities(qc, POINTS)
    assert probs.shape == (len(POINTS), 2**5)
    body = qc.remove_final_measurements(inplace=False)
    for row, values in zip(probs, POINTS):
        expected = Statevector(body.assign_parameters(values)).probabilities()
        np.testing.assert_allclose(row, expected, atol=PROB_ATOL)


def test_ideal_follows_clbit_order_not_qubit_order():
    qc = QuantumCircuit(3, 4)
    qc.h(0)
    qc.cx(0, 1)
    qc.x(2)
    qc.measure([0, 1, 2], [3, 0, 2])  # clbit 1 never written: always 0
    probs = get_target("ideal").probabilities(qc, np.zeros((1, 0)))[0]
    expected = np.zeros(16)
    expected[0b0100] = expected[0b1101] = 0.5
    np.testing.assert_allclose(probs, expected, atol=PROB_ATOL)


def test_ideal_sample_is_seeded_and_sums_to_shots():
    qc = qaoa(EDGES4, 4)
    target = get_target("ideal")
    a = target.sample(qc, POINTS, SHOTS, seed=SEED)
    b = target.sample(qc, POINTS, SHOTS, seed=SEED)
    assert a.counts == b.counts
    assert [sum(c.values()) for c in a.counts] == [SHOTS] * len(POINTS)


def test_ideal_rejects_mid_circuit_measurement_and_no_measurement():
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    qc.cx(0, 1)
    qc.measure(1, 1)
    with pytest.raises(TargetError, match="after their measurement"):
        get_target("ideal").probabilities(qc, np.zeros((1, 0)))
    with pytest.raises(TargetError, match="no measurements"):
        get_target("ideal").probabilities(QuantumCircuit(2, 2), np.zeros((1, 0)))


# -------------------------------------------------------------------------------- aer
def test_aer_sample_mean_cut_within_shot_noise():
    n = 5
    qc = qaoa(EDGES5, n)
    target = get_target("aer")
    assert isinstance(target, AerTarget) and not target.exact
    cuts = cut_values(EDGES5, n)
    exact = get_target("ideal").probabilities(qc, POINTS)
    result = target.sample(qc, POINTS, SHOTS, seed=SEED)
    assert [sum(c.values()) for c in result.counts] == [SHOTS] * len(POINTS)
    for counts, p in zip(result.counts, exact):
        mean = p @ cuts
        std = np.sqrt(p @ (cuts - mean) ** 2)
        sampled = sum(cuts[k] * v for k, v in counts.items()) / SHOTS
        assert abs(sampled - mean) <= SIGMAS * std / np.sqrt(SHOTS)
    again = target.sample(qc, POINTS, SHOTS, seed=SEED)
    assert again.counts == result.counts


# ------------------------------------------------------------------------ fake device
def test_fake_compaction_equals_whole_device_reference(torino):
    qc = qaoa(EDGES5, 5)
    probs = torino.probabilities(qc, POINTS[:2])
    reference = torino.reference_probabilities_full(qc, POINTS[:2])
    assert probs.shape == (2, 2**5) and probs.dtype == np.float64
    np.testing.assert_allclose(probs, reference, atol=COMPACTION_ATOL, rtol=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=COMPACTION_ATOL)
    ideal = get_target("ideal").probabilities(qc, POINTS[:2])
    assert np.abs(probs - ideal).max() > MIN_NOISE_EFFECT


def test_fake_clbit_mapping_matches_reference(manila):
    qc = QuantumCircuit(3, 4)
    qc.h(0)
    qc.cx(0, 1)
    qc.x(2)
    qc.measure([0, 1, 2], [3, 0, 2])
    probs = manila.probabilities(qc, np.zeros((1, 0)))
    reference = manila.reference_probabilities_full(qc, np.zeros((1, 0)))
    np.testing.assert_allclose(probs, reference, atol=COMPACTION_ATOL, rtol=0)
    # the noisy distribution still peaks on the two ideal outcomes
    assert set(np.argsort(probs[0])[-2:]) == {0b0100, 0b1101}


def test_fake_best_layout_is_cached_and_deterministic(torino):
    n = 5
    qc = qaoa(EDGES5, n)
    assert isinstance(torino, FakeDeviceTarget) and torino.noisy and torino.exact
    isa = torino.isa_circuit(qc)
    again = torino.isa_circuit(qaoa(EDGES5, n))  # same structure, new objects
    assert again is isa  # a cache hit: the very same compiled circuit, nothing re-transpiled
    info = torino.layout_info(qc)
    assert info["num_active_qubits"] >= n
    usable = [(a, g) for _, a, g, _ in info["layout_trials"] if a is not None]
    assert (info["num_active_qubits"], info["two_qubit_gates"]) == min(usable)
    assert set(info["measured_physical_qubits"].values()) <= set(info["active_qubits"])
    other = get_target(f"fake:{BIG_DEVICE}", seed_transpiler=torino.seed_transpiler)
    assert other.layout_info(qc) == info
    described = torino.describe()
    assert described["device"] == BIG_DEVICE and described["device_qubits"] == 133
    assert described["last_circuit"]["active_qubits"] == info["active_qubits"]


def test_fake_sample_exact_and_trajectories_agree(manila):
    n = 4
    qc = qaoa(EDGES4, n)
    cuts = cut_values(EDGES4, n)
    exact = manila.probabilities(qc, POINTS[:1])[0]
    mean = exact @ cuts
    std = np.sqrt(exact @ (cuts - mean) ** 2)
    tol = SIGMAS * std / np.sqrt(SHOTS)
    shots_target = get_target(f"fake:{SMALL_DEVICE}", sample_method="shots")
    cases = ((manila, "density-matrix-multinomial"), (shots_target, "aer-trajectories"))
    for target, method in cases:
        result = target.sample(qc, POINTS[:1], SHOTS, seed=SEED)
        assert result.metadata["method"] == method
        assert result.metadata["num_active_qubits"] >= n
        assert sum(result.counts[0].values()) == SHOTS
        sampled = sum(cuts[k] * v for k, v in result.counts[0].items()) / SHOTS
        assert abs(sampled - mean) <= tol


def test_apply_confusion_on_one_bit_of_two():
    flip = np.array([[0.9, 0.1], [0.2, 0.8]])
    probs = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])  # |00>, bit 1 set
    out = apply_confusion(probs, [None, flip])
    np.testing.assert_allclose(out, [[0.9, 0.0, 0.1, 0.0], [0.2, 0.0, 0.8, 0.0]])


# ------------------------------------------------------------------------------ errors
def test_check_fits_names_device_size_and_suggests_larger(manila):
    pattern = r"does not fit fake:manila, which has 5 qubits.*larger device.*fake:torino"
    with pytest.raises(TargetError, match=pattern):
        manila.check_fits(6)
    with pytest.raises(TargetError, match="5 qubits"):
        manila.isa_circuit(qaoa([(0, 1)], 6))
    manila.check_fits(5)


def test_exact_limit_names_the_option(torino):
    small_limit = get_target(f"fake:{BIG_DEVICE}", max_exact_qubits=3)
    with pytest.raises(TargetError, match="max_exact_qubits=3"):
        small_limit.probabilities(qaoa(EDGES4, 4), POINTS[:1])


def test_unknown_device_lists_valid_names():
    with pytest.raises(TargetError, match=r"unknown fake device 'nosuch'.*torino"):
        get_target("fake:nosuch")


def test_unknown_option_is_rejected():
    with pytest.raises(TargetError, match=r"unknown option\(s\) 'bogus'.*layout_trials"):
        get_target(f"fake:{SMALL_DEVICE}", bogus=1, layout_trials=2)
    with pytest.raises(TargetError, match="unknown option"):
        get_target("ideal", shots=10)
    # every target takes seed_transpiler, so options can be shared across specs
    assert get_target("ideal", seed_transpiler=3).exact
    assert get_target("aer", seed_transpiler=3).seed_transpiler == 3


def test_bad_parameter_shape_names_expected_shape():
    with pytest.raises(TargetError, match=r"shape \(B, 2\)"):
        get_target("ideal").probabilities(qaoa(EDGES4, 4), np.zeros((2, 3)))


@pytest.mark.parametrize(
    "spec, pattern",
    [
        ("", "non-empty"),
        ("quantum", "unknown target spec 'quantum'"),
        ("ideal:torino", "takes no device"),
        ("fake", "needs a device"),
        ("fake:", "needs a device"),
    ],
)
def test_parse_spec_errors(spec, pattern):
    with pytest.raises(TargetError, match=pattern):
        parse_spec(spec)


def test_targets_follow_the_protocol(manila):
    for target in (get_target("ideal"), get_target("aer"), manila):
        assert isinstance(target, Target)
        assert target.describe()["spec"] == target.spec
    assert manila.spec == "fake:manila" and manila.num_qubits == 5
    assert get_target("fake:FakeManila").spec == "fake:manila"


def test_parse_spec_accepts_devices():
    assert parse_spec("fake:torino") == ("fake", "torino")
    assert parse_spec(" IDEAL ") == ("ideal", None)
