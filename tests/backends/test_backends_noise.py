"""The device noise model restricted to active qubits (backends.noise) against Aer's own
``NoiseModel.from_backend``: same errors, same probabilities, delay relaxation included."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit

from backends import TargetError, load_fake_backend
from backends.noise import DeviceNoise, add_noise_pass

DEVICE = "manila"  # 5 qubits: the whole-device density matrix is cheap
ACTIVE = (0, 1, 3)
DELAY_DT = 20000  # long enough for T1/T2 to move the probabilities visibly
PROB_ATOL = 1e-10  # restricted vs whole-device model, same circuit
MIN_DELAY_EFFECT = 1e-4  # the delay must change the distribution, or the test proves nothing


def _probabilities(model, circuit: QuantumCircuit) -> np.ndarray:
    from qiskit_aer import AerSimulator

    sim = AerSimulator(method="density_matrix", noise_model=model)
    return np.asarray(sim.run(circuit).result().data(0)["probabilities"])


def _circuit(width: int, qubits: tuple[int, ...], delay: int) -> QuantumCircuit:
    """Gates of the device basis and an idle delay on ``qubits`` of a ``width``-qubit circuit."""
    a, b, c = qubits
    qc = QuantumCircuit(width)
    qc.sx(a)
    qc.rz(0.7, a)
    qc.sx(a)
    qc.x(c)
    qc.cx(a, b)
    if delay:
        qc.delay(delay, a, unit="dt")
        qc.delay(delay, c, unit="dt")
    qc.sx(c)
    qc.save_probabilities(list(qubits))
    return qc


@pytest.fixture(scope="module")
def noise():
    return DeviceNoise.get(DEVICE)


@pytest.fixture(scope="module")
def full():
    from qiskit_aer.noise import NoiseModel

    return NoiseModel.from_backend(load_fake_backend(DEVICE))


def test_restricted_model_equals_from_backend_on_the_active_qubits(noise, full):
    width = load_fake_backend(DEVICE).num_qubits
    circuit = _circuit(width, ACTIVE, DELAY_DT)
    reference = _probabilities(full, circuit)
    kept = _probabilities(noise.restricted(ACTIVE, readout=True, relabel=False), circuit)
    np.testing.assert_allclose(kept, reference, atol=PROB_ATOL, rtol=0)
    # Relabelled onto 0..k-1: the same channel on the compact circuit.
    compact = _probabilities(noise.restricted(ACTIVE), _circuit(len(ACTIVE), (0, 1, 2), DELAY_DT))
    np.testing.assert_allclose(compact, reference, atol=PROB_ATOL, rtol=0)
    no_delay = _probabilities(full, _circuit(width, ACTIVE, 0))
    assert np.abs(reference - no_delay).max() > MIN_DELAY_EFFECT


def test_gate_and_readout_errors_are_aers_own(noise, full):
    # Reads Aer's private tables on purpose: if their layout changes, this fails and
    # backends.noise must be checked against the new NoiseModel.from_backend.
    local = full._local_quantum_errors
    assert {(name, qubits) for name, by in local.items() for qubits in by} == set(noise.gate_errors)
    for (name, qubits), error in noise.gate_errors.items():
        assert local[name][qubits] == error
    for qubit, error in noise.readout_errors.items():
        assert full._local_readout_errors[(qubit,)] == error
        np.testing.assert_array_equal(noise.confusion(qubit), error.probabilities)
    restricted = noise.restricted(ACTIVE)
    assert all(set(q) <= set(range(len(ACTIVE))) for by in restricted._local_quantum_errors.values() for q in by)
    assert len(restricted._custom_noise_passes) == 1 == len(full._custom_noise_passes)


def test_add_noise_pass_fails_loudly_when_aer_changes():
    class NoPasses:  # a NoiseModel without the private list Aer 0.18 keeps its passes in
        pass

    with pytest.raises(TargetError, match=r"_custom_noise_passes.*backends.noise.add_noise_pass"):
        add_noise_pass(NoPasses(), object())
