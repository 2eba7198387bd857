"""Runtime local mode on the restricted simulator: same counts, same noise, measured fallbacks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from scipy.stats import chi2_contingency

from backends import TargetError, get_target
from backends.noise import DeviceNoise
from backends.local import (
    LocalRuntimeTarget,
    batch_pubs,
    causal_qubits,
    choose_method,
    program_circuits,
    restricted_simulator,
)
from hybrid.ledger import Ledger
from hybrid.mitigation import MitigatedOracle
from hybrid.problems import from_edges
from hybrid.runs import RecordedOracle

SEED = 1234
SHOTS = 4000
TWIRL_SHOTS = 128
# Two-sample chi-square homogeneity test per parameter point; Bonferroni over the points.
FAMILY_ALPHA = 1e-3
# Mean cut against the exact noisy value: |z| below this many standard errors.
Z_MAX = 4.0
EDGES = [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (3, 0, 1.0), (0, 2, 0.5)]
PARAMS = np.array([[0.6, 0.35], [1.2, 0.4], [0.4, -0.3]])
DD_OPTIONS = {"dynamical_decoupling": {"enable": True, "sequence_type": "XX"}}


def qaoa_circuit() -> QuantumCircuit:
    theta = ParameterVector("theta", 2)
    qc = QuantumCircuit(4, 4)
    qc.h(range(4))
    for u, v, w in EDGES:
        qc.rzz(-theta[0] * w, u, v)
    qc.rx(2 * theta[1], range(4))
    qc.measure(range(4), range(4))
    return qc


def table(a: dict[int, int], b: dict[int, int]) -> np.ndarray:
    keys = sorted(set(a) | set(b))
    return np.array([[a.get(k, 0) for k in keys], [b.get(k, 0) for k in keys]])


@pytest.fixture(scope="module")
def torino() -> LocalRuntimeTarget:
    return get_target("local:torino")


def test_restricted_counts_equal_reference_path():
    fast = get_target("local:manila")
    reference = LocalRuntimeTarget("manila", simulator="device")
    qc = qaoa_circuit()
    a = fast.sample(qc, PARAMS, SHOTS, seed=SEED)
    b = reference.sample(qc, PARAMS, SHOTS, seed=SEED + 1)
    assert a.metadata["simulator"] == "restricted" and a.metadata["method"] == "density_matrix"
    assert b.metadata["simulator"] == "device"
    assert a.counts != b.counts
    for ca, cb in zip(a.counts, b.counts):
        _, p_value, _, _ = chi2_contingency(table(ca, cb))
        assert p_value > FAMILY_ALPHA / len(PARAMS), (ca, cb, p_value)
    # With SHOTS > 2**4 Aer's automatic method on the reference path is the density matrix
    # too: with one seed the two noise models must then give the very same counts.
    assert reference.sample(qc, PARAMS, SHOTS, seed=SEED).counts == a.counts


def test_restricted_counts_match_exact_noisy_values(torino):
    problem = from_edges(EDGES, n=4)
    oracle = MitigatedOracle(problem, 1, torino, "zne", shots=SHOTS, seed=SEED)
    circuits = oracle.circuits_for(PARAMS[1])
    result = torino.run_isa(circuits, SHOTS, seed=SEED)
    exact = get_target("fake:torino").exact_isa_probabilities(circuits) @ problem.cut_values()
    cuts = problem.cut_values()
    for counts, value in zip(result.counts, exact):
        keys = np.array(list(counts))
        freq = np.array([counts[k] for k in keys], float)
        mean = freq @ cuts[keys] / SHOTS
        sd = math.sqrt(freq @ (cuts[keys] - mean) ** 2 / (SHOTS - 1))
        assert abs(mean - value) <= Z_MAX * sd / math.sqrt(SHOTS), (mean, value)
    assert result.metadata["noise_qubits"] == sorted(
        set(q for c in circuits for q in causal_qubits([c]))
    )


def test_twirling_falls_back_to_trajectories():
    options = {"twirling": {"enable_gates": True, "num_randomizations": 4, "shots_per_randomization": 32}}
    target = get_target("local:manila", sampler_options=options)
    result = target.sample(qaoa_circuit(), PARAMS[:1], TWIRL_SHOTS, seed=SEED)
    assert result.metadata["twirling"] is True
    assert result.metadata["method"] == "statevector"
    assert "twirling" in result.metadata["method_reason"]
    assert sum(result.counts[0].values()) == TWIRL_SHOTS
    plain = get_target("local:manila").sample(qaoa_circuit(), PARAMS[:1], TWIRL_SHOTS, seed=SEED)
    assert plain.metadata["method"] == "density_matrix" and plain.metadata["twirling"] is False


def test_method_choice_and_options():
    assert choose_method(12, False)[0] == "density_matrix"
    assert choose_method(13, False)[0] == "statevector"
    assert choose_method(13, False, max_density_qubits=13)[0] == "density_matrix"
    assert choose_method(5, True)[0] == "statevector"
    assert choose_method(5, True, method="density_matrix") == ("density_matrix", "requested")
    with pytest.raises(TargetError, match="method must be one of"):
        choose_method(5, False, method="mps")
    with pytest.raises(TargetError, match="simulator must be one of"):
        get_target("local:manila", simulator="gpu")
    with pytest.raises(TargetError, match="max_density_qubits must be >= 1"):
        get_target("local:manila", max_density_qubits=0)


def test_causal_qubits_follow_couplings_to_measured_qubits():
    qc = QuantumCircuit(5, 1)
    qc.x(0)
    qc.cz(0, 1)
    qc.x(3)
    qc.cz(3, 4)
    qc.measure(1, 0)
    assert causal_qubits([qc]) == (0, 1)
    qc2 = qc.copy()
    qc2.cz(1, 3)
    assert causal_qubits([qc2]) == (0, 1, 3, 4)
    assert causal_qubits([qc, qc2]) == (0, 1, 3, 4)


def test_dd_padded_circuit_keeps_its_noise(torino):
    # Qubit 2 idles while 0-1 run a chain of CZs: the Sampler pads X pulses there.
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    for _ in range(8):
        qc.cx(0, 1)
    qc.cx(1, 2)
    qc.measure(range(3), range(3))
    isa = torino.isa_circuit(qc)
    result = torino.run_isa([isa], 500, seed=SEED, sampler_options=DD_OPTIONS)
    circuits, _ = program_circuits([(isa,)], DD_OPTIONS, 500, torino.backend)
    active = causal_qubits(circuits)
    assert result.metadata["noise_qubits"] == list(active)
    full = DeviceNoise.get("torino").model
    model = restricted_simulator("torino", active, result.metadata["method"]).options.noise_model
    padded_x, checked = 0, 0
    (circuit,) = circuits
    for inst in circuit.data:
        qs = tuple(circuit.find_bit(q).index for q in inst.qubits)
        name = inst.operation.name
        if name == "barrier":
            continue
        inside = set(qs) <= set(active)
        # No instruction straddles the kept set: the rest never couples to a measured qubit.
        assert inside or not set(qs) & set(active), (name, qs)
        if not inside:
            continue
        padded_x += name == "x"
        expected = full._local_quantum_errors.get(name, {}).get(qs)
        if expected is not None:
            assert model._local_quantum_errors[name][qs] == expected, (name, qs)
            checked += 1
        if name == "measure":
            assert model._local_readout_errors[qs] == full._local_readout_errors[qs]
    assert padded_x > 0, "the Sampler padded no DD pulse on a kept qubit; the test lost its point"
    assert checked > padded_x
    # Delay relaxation is kept.
    assert model._custom_noise_passes and full._custom_noise_passes
    # And the noise is there: the padded circuit differs from a noiseless run of it.
    counts = result.counts[0]
    wrong = sum(v for k, v in counts.items() if k not in (0b000, 0b111)) / 500
    assert wrong > 0.02, counts


def test_bound_circuits_share_pubs_and_keep_their_order(torino):
    theta = ParameterVector("t", 1)
    qc = QuantumCircuit(1, 1)
    qc.sx(0)
    qc.rz(theta[0], 0)
    qc.sx(0)
    qc.measure(0, 0)
    isa = torino.isa_circuit(qc)
    angles = [0.0, math.pi, 0.0, math.pi]  # sx rz(0) sx = X -> 1; sx rz(pi) sx ~ Z -> 0
    bound = [isa.assign_parameters([a]) for a in angles]
    other = QuantumCircuit(isa.num_qubits, 1)
    other.x(isa.layout.final_index_layout()[0])
    other.measure(isa.layout.final_index_layout()[0], 0)
    circuits = bound[:2] + [other] + bound[2:]
    assert len(batch_pubs(circuits)) == 2
    result = torino.run_isa(circuits, 200, seed=SEED)
    assert result.metadata["pubs"] == 2
    majority = [max(c, key=c.get) for c in result.counts]
    assert majority == [1, 0, 1, 1, 0]
    unbatched = LocalRuntimeTarget("torino", batch_pubs=False).run_isa(circuits, 200, seed=SEED)
    assert unbatched.metadata["pubs"] == 5
    assert [max(c, key=c.get) for c in unbatched.counts] == majority


def test_local_jobs_land_in_the_ledger(tmp_path, torino):
    problem = from_edges(EDGES, n=4)
    with Ledger(tmp_path / "l.db") as led:
        run_id = led.create_run({"backend": "local:torino"}, "local:torino")
        oracle = RecordedOracle(
            MitigatedOracle(problem, 1, torino, "zne", shots=200, seed=SEED), led, run_id, "g", "local:torino"
        )
        ev = oracle.evaluate(PARAMS[0], seed=SEED)
        jobs = led.jobs(run_id)
        assert [j["job_id"] for j in jobs] == list(ev.job_ids) and len(jobs) == 1
        assert all(j["status"] == "done" and j["target"] == "local:torino" for j in jobs)
        fake_run = led.create_run({"backend": "fake:torino"}, "fake:torino")
        fake = RecordedOracle(
            MitigatedOracle(problem, 1, "fake:torino", "zne", shots=200, seed=SEED), led, fake_run, "g", "fake:torino"
        )
        fake.evaluate(PARAMS[0], seed=SEED)
        assert led.jobs(fake_run) == []
