"""Noisy light cones on fake devices: agreement with the whole-circuit density matrix, gradients,
fallbacks and errors; samples at device scale; local mode refusing what it cannot simulate."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit

from backends import TargetError, get_target
from backends.fake_device import MPS_MAX_BOND_DIMENSION, MPS_SAMPLE_METHOD
from backends.noisy_cones import body_instructions, causal_cone
from hybrid.oracle_factory import make_oracle
from hybrid.oracles import NoisyExactOracle
from hybrid.ansatz import qaoa_circuit
from hybrid.device_graphs import heavy_hex_graph

SEED = 21
#: Noisy cones vs the whole-circuit density matrix (Aer's channels lose ~1e-8 of trace).
NOISY_TOL = 1e-6
#: Autograd gradient vs central differences (step 1e-4) on the whole density matrix.
GRAD_TOL = 1e-5
THETA = {1: np.array([0.6, 0.39]), 2: np.array([0.5, 0.8, 0.55, 0.3])}


@pytest.fixture(scope="module")
def torino():
    return get_target("fake:torino")


@pytest.mark.parametrize("p", [1, 2])
def test_cones_match_whole_density_matrix(torino, p):
    problem = heavy_hex_graph("torino", 8, seed=SEED)
    whole = make_oracle(problem, p, torino)
    cones = make_oracle(problem, p, torino, method="light-cone")
    assert (whole.method, cones.method) == ("density-matrix", "noisy-light-cone")
    points = np.vstack([THETA[p], THETA[p] + 0.2])
    diff = np.abs(whole.evaluate(points).energies - cones.evaluate(points).energies).max()
    assert diff <= NOISY_TOL
    ev = cones.evaluate(THETA[p])
    assert ev.metadata["method"] == "noisy-light-cone" and ev.metadata["all_exact"]
    # and noise matters: the ideal value is clearly different
    ideal = make_oracle(problem, p, "ideal").evaluate(THETA[p]).energies[0]
    assert abs(ideal - ev.energies[0]) > 100 * NOISY_TOL


def test_cone_gradient_is_exact(torino):
    problem = heavy_hex_graph("torino", 7, seed=SEED + 1)
    _, g_fd, _ = make_oracle(problem, 1, torino).value_and_grad(THETA[1])
    value, g, ev = make_oracle(problem, 1, torino, method="light-cone").value_and_grad(THETA[1])
    assert np.max(np.abs(g - g_fd)) <= GRAD_TOL
    assert ev.metadata["method"] == "noisy-light-cone"


def test_cones_serve_when_the_density_matrix_is_too_large():
    target = get_target("fake:torino", max_exact_qubits=6)
    oracle = make_oracle(heavy_hex_graph("torino", 9, seed=SEED), 1, target, method="noisy_cones")
    assert isinstance(oracle, NoisyExactOracle) and oracle.method == "noisy-light-cone"
    assert oracle.cut is None
    with pytest.raises(TargetError, match="max_exact_qubits=6"):
        target.probabilities(oracle.circuit, [THETA[1]])


def test_fallback_region_is_reported_and_exact_without_noise_order():
    target = get_target("fake:torino", max_cone_qubits=4)
    problem = heavy_hex_graph("torino", 10, seed=SEED)
    oracle = make_oracle(problem, 1, target, method="light-cone")
    info = oracle.cones().describe()
    assert info["exact_pairs"] < info["pairs"] and not info["all_exact"]
    exact = make_oracle(problem, 1, get_target("fake:torino"), method="light-cone")
    # border gates' noise is dropped: close, not equal
    gap = abs(oracle.evaluate(THETA[1]).energies[0] - exact.evaluate(THETA[1]).energies[0])
    assert 0 < gap < 0.05 * problem.m


def test_causal_cone_follows_gate_order():
    circuit = QuantumCircuit(4)
    circuit.cz(2, 3)
    circuit.cz(1, 2)
    circuit.cz(0, 1)
    ops = body_instructions(circuit)
    assert causal_cone(ops, (0, 1), 10) == (0, 1, 2, 3)  # (1,2) then (2,3) precede it
    assert causal_cone(ops, (2, 3), 10) == (1, 2, 3)  # (1,2) comes later and touches 2; (0,1) does not
    assert causal_cone(ops, (0, 1), 3) is None


def test_samples_at_device_scale_use_mps_with_readout(torino):
    problem = heavy_hex_graph("torino", 40, seed=SEED)
    oracle = make_oracle(problem, 1, torino, shots=300)
    ev = oracle.evaluate(THETA[1], seed=SEED)
    assert ev.metadata["method"] == MPS_SAMPLE_METHOD
    assert ev.metadata.get("mps_max_bond_dimension", MPS_MAX_BOND_DIMENSION) == MPS_MAX_BOND_DIMENSION
    assert ev.shots == 300 and ev.best_cut is not None
    ideal = make_oracle(problem, 1, "ideal").evaluate(THETA[1]).energies[0]
    assert abs(ev.energies[0] - ideal) < 0.15 * problem.m  # readout pulls it down a little


def test_local_mode_refuses_device_scale_before_running():
    target = get_target("local:torino")
    with pytest.raises(TargetError, match=r"beyond local simulation on local:torino.*use fake:torino"):
        make_oracle(heavy_hex_graph("torino", 40, seed=SEED), 1, target)


def test_mps_bond_dimension_is_capped_and_checked(torino):
    problem = heavy_hex_graph("torino", 30, seed=SEED)
    res = torino.sample(qaoa_circuit(problem, 1, measure=True), THETA[1][None, :], 50, seed=SEED)
    assert res.metadata["method"] == MPS_SAMPLE_METHOD
    assert res.metadata["mps_max_bond_dimension"] == MPS_MAX_BOND_DIMENSION
    with pytest.raises(TargetError, match="mps_max_bond_dimension must be a positive integer or None"):
        get_target("fake:torino", mps_max_bond_dimension=0)
