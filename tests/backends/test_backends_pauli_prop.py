"""Pauli propagation of the twirled device noise (backends.pauli_prop): the twirl, its
Pauli-Lindblad rates, exactness against the twirled density matrix, noise scaling, and the
refusal of broken couplers."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Kraus, Pauli

from backends import get_target
from backends.noise import DeviceNoise
from backends.pauli_prop import BrokenChannelError, TwirledChannel, pauli_fidelities, pauli_labels, twirl
from hybrid.ansatz import qaoa_circuit
from twirled_reference import twirled_dm_energy
from hybrid.device_graphs import heavy_hex_graph

SEED = 0
#: Pauli propagation without truncation vs the Aer density matrix of the same twirled noise.
EXACT_TOL = 1e-9
#: Fast superoperator vs qiskit's Kraus conversion of the same device error.
FIDELITY_TOL = 1e-12
#: A coupler FakeTorino marks broken (CZ error 1.0).
BROKEN = (86, 87)
THETA = {1: np.array([0.6, 0.39]), 2: np.array([0.5, 0.8, 0.55, 0.3]), 3: np.array([0.4, 0.7, 0.85, 0.6, 0.45, 0.25])}


@pytest.fixture(scope="module")
def torino():
    return get_target("fake:torino")


@pytest.fixture(scope="module")
def problem():
    return heavy_hex_graph("torino", 8, seed=SEED)


def test_fidelities_match_kraus_and_rates_give_them_back():
    noise = DeviceNoise.get("torino")
    for key in [k for k in noise.gate_errors if k[0] in ("cz", "sx")][:3]:
        error = noise.gate_errors[key]
        n = len(key[1])
        fast = pauli_fidelities(error, n)
        kraus = Kraus(error).data
        for label in pauli_labels(n):
            mat = Pauli(label).to_matrix()
            ref = np.real(np.trace(mat @ sum(k @ mat @ k.conj().T for k in kraus))) / 2**n
            assert abs(fast[label] - ref) < FIDELITY_TOL
        chan = twirl(*key, error)
        back = chan.fidelities()
        assert max(abs(back[g] - fast[g]) for g in chan.generators) < FIDELITY_TOL
        assert TwirledChannel.from_dict(chan.to_dict()) == chan
        assert abs(sum(prob for _, prob in chan.pauli_probabilities()) - 1) < FIDELITY_TOL


def test_broken_coupler_is_refused_by_name():
    noise = DeviceNoise.get("torino")
    error = noise.gate_error("cz", BROKEN) or noise.gate_error("cz", BROKEN[::-1])
    with pytest.raises(BrokenChannelError, match=r"cz on physical coupler \(86, 87\).*Pauli fidelity.*leave that coupler out"):
        twirl("cz", BROKEN, error)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_exact_against_twirled_density_matrix(torino, problem, p):
    prop = torino.pauli_propagation(qaoa_circuit(problem, p), [(u, v) for u, v, _ in problem.edges])
    res = prop.energies(THETA[p], problem.weights, atol=0.0, max_terms=2**20)
    assert res.truncated[0] == 0.0
    assert abs(res.energies[0] - twirled_dm_energy(torino, problem, p, THETA[p])) < EXACT_TOL
    # cached per circuit structure and pair list
    assert torino.pauli_propagation(qaoa_circuit(problem, p), [(u, v) for u, v, _ in problem.edges]) is prop


@pytest.mark.parametrize("p, scale", [(1, 1.0), (2, 3.0)])
def test_causal_cones_are_exact_and_prune(torino, p, scale):
    """Each pair through its own causal cone gives the whole observable's value, scaled noise and
    readout included; on 20 nodes the cones leave rotations and qubits out."""
    big = heavy_hex_graph("torino", 20, seed=SEED)
    prop = torino.pauli_propagation(qaoa_circuit(big, p), [(u, v) for u, v, _ in big.edges])
    kw = dict(atol=0.0, max_terms=2**22, noise_scale=scale, scaling="two_qubit")
    cones = prop.energies(THETA[p], big.weights, **kw)
    whole = prop.energies(THETA[p], big.weights, per_pair=False, **kw)
    assert abs(cones.energies[0] - whole.energies[0]) < EXACT_TOL
    sizes = [cone.size for cone in prop.cones()]
    assert min(sizes) < len(prop.active)
    assert min(len(cone.rotations) for cone in prop.cones()) < len(prop.rotations.thetas)


def test_readout_unfolding_and_noise_scaling(torino, problem):
    prop = torino.pauli_propagation(qaoa_circuit(problem, 1), [(u, v) for u, v, _ in problem.edges])
    kw = dict(atol=0.0, max_terms=2**20)
    folded = prop.energies(THETA[1], problem.weights, **kw).energies[0]
    unfolded = prop.energies(THETA[1], problem.weights, readout=False, **kw).energies[0]
    noiseless = prop.energies(THETA[1], problem.weights, readout=False, noise_scale=0.0, **kw).energies[0]
    ideal = float(np.asarray(torino_ideal(problem, THETA[1])))
    assert abs(noiseless - ideal) < EXACT_TOL
    # more noise, lower cut, monotonically, for each scaling
    for scaling in ("all", "two_qubit"):
        values = [prop.energies(THETA[1], problem.weights, readout=False, noise_scale=s, scaling=scaling, **kw).energies[0]
                  for s in (1.0, 3.0, 5.0)]
        assert values[0] == pytest.approx(unfolded) and values[0] > values[1] > values[2]
    assert folded < unfolded < ideal


def torino_ideal(problem, theta):
    from hybrid.oracle_factory import make_oracle

    return make_oracle(problem, 1, "ideal").evaluate(theta).energies[0]
