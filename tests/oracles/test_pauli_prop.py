"""The Pauli-propagation oracle: method forcing and the automatic choice, gradient rules,
metadata, ZNE and REM from the model, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from backends import TargetError, get_target
from backends.pauli_prop import BrokenChannelError
from hybrid.device_graphs import heavy_hex_graph
from hybrid.mitigation import MitigationError
from hybrid.oracles import NoisyExactOracle
from hybrid.pauli_oracle import PauliPropOracle
from hybrid.oracle_factory import make_oracle
from hybrid.problems import ProblemError

SEED = 0
#: Parameter shift (exact per gate) vs central differences (step 1e-4) on the same values.
GRAD_TOL = 1e-5
#: The twirl drops the non-Pauli part of the noise: 0.4-1 % of the noise effect here.
TWIRL_TOL = 0.02
#: A graph FakeTorino's broken coupler (86, 87) lies in.
BROKEN_SEED = 3
THETA = {1: np.array([0.6, 0.39]), 2: np.array([0.5, 0.8, 0.55, 0.3])}


@pytest.fixture(scope="module")
def torino():
    return get_target("fake:torino")


@pytest.fixture(scope="module")
def problem():
    return heavy_hex_graph("torino", 8, seed=SEED)


def test_methods_can_be_forced_and_are_named(torino, problem):
    dm = make_oracle(problem, 1, torino, method="density_matrix")
    cones = make_oracle(problem, 1, torino, method="noisy_cones")
    pp = make_oracle(problem, 1, torino, method="pauli_prop")
    assert (dm.method, cones.method, pp.method) == ("density-matrix", "noisy-light-cone", "pauli-propagation")
    assert isinstance(pp, PauliPropOracle) and isinstance(cones, NoisyExactOracle)
    values = [o.evaluate(THETA[1]).energies[0] for o in (dm, cones, pp)]
    ideal = make_oracle(problem, 1, "ideal").evaluate(THETA[1]).energies[0]
    assert abs(values[0] - values[1]) < 1e-6
    assert abs(values[2] - values[0]) < TWIRL_TOL * abs(ideal - values[0])
    assert make_oracle(problem, 1, "ideal", method="statevector").method == "statevector"
    assert make_oracle(problem, 1, "ideal", method="closed_form").method == "closed-form"
    assert make_oracle(problem, 1, "ideal", method="light_cone").method == "light-cone"


def test_method_errors_name_the_choices(torino, problem):
    with pytest.raises(ProblemError, match="method 'pauli_prop' does not apply to target 'ideal'.*statevector"):
        make_oracle(problem, 1, "ideal", method="pauli_prop")
    with pytest.raises(ProblemError, match="method 'bogus'.*density_matrix, noisy_cones, pauli_prop"):
        make_oracle(problem, 1, torino, method="bogus")
    with pytest.raises(ProblemError, match="pauli_prop' computes exact.*drop shots"):
        make_oracle(problem, 1, torino, method="pauli_prop", shots=100)
    with pytest.raises(ProblemError, match="'atol' apply to method='pauli_prop' only"):
        make_oracle(problem, 1, torino, method="density_matrix", atol=1e-5)
    with pytest.raises(ProblemError, match="noisy_cones' has no mitigation"):
        make_oracle(problem, 1, torino, method="noisy_cones", mitigation="rem")
    with pytest.raises(MitigationError, match="drop dd"):
        make_oracle(problem, 1, torino, method="pauli_prop", mitigation="dd")


def test_auto_picks_pauli_prop_when_the_density_matrix_does_not_fit(problem):
    small = get_target("fake:torino", max_exact_qubits=6)
    oracle = make_oracle(problem, 1, small)
    assert isinstance(oracle, PauliPropOracle)
    with pytest.raises(TargetError, match="max_exact_qubits=6"):
        small.probabilities(oracle.circuit, [THETA[1]])
    ev = oracle.evaluate(np.vstack([THETA[1], THETA[1] * 0.5]))
    meta = ev.metadata
    assert meta["oracle_method"] == "pauli_prop" and meta["twirled"] is True
    assert meta["atol"] > 0 and len(meta["truncated_weight"]) == 2
    assert all(0 <= w < 1e-3 * e for w, e in zip(meta["truncated_weight"], ev.energies))


def test_broken_coupler_is_refused_not_clamped(torino):
    # heavyhex: graphs leave broken couplers out, so name the physical qubits of one by hand
    from hybrid.problems import MaxCutProblem

    problem = MaxCutProblem(3, ((0, 1, 1.0), (1, 2, 1.0)), id="broken", meta={"device": "torino", "physical_qubits": [85, 86, 87]})
    # refused before any propagation: the layout never uses a broken coupler (backends.broken),
    # and the propagation itself refuses a channel with Pauli fidelity <= 0 (BrokenChannelError)
    with pytest.raises((TargetError, BrokenChannelError), match=r"healthy couplers|no Pauli-Lindblad channel"):
        make_oracle(problem, 1, torino, method="pauli_prop").evaluate(THETA[1])


def test_gradient_rules(torino, problem):
    fd = make_oracle(problem, 2, torino, method="pauli_prop", gradient="fd")
    ps = make_oracle(problem, 2, torino, method="pauli_prop", gradient="param_shift")
    sp = make_oracle(problem, 2, torino, method="pauli_prop", gradient="spsa")
    v_fd, g_fd, ev = fd.value_and_grad(THETA[2])
    v_ps, g_ps, _ = ps.value_and_grad(THETA[2])
    assert ev.num_points == 1 + 4 * 2 and fd.charge("value_and_grad").evaluations == 9
    assert abs(v_fd - v_ps) < 1e-9 and np.abs(g_fd - g_ps).max() < GRAD_TOL
    v_sp, g_sp, _ = sp.value_and_grad(THETA[2], seed=SEED)
    delta = np.sign(g_sp)
    step = sp.gradient_rule.step
    e = sp.evaluate(np.vstack([THETA[2] + step * delta, THETA[2] - step * delta])).energies
    assert abs(v_sp - v_fd) < 1e-9
    assert np.allclose(g_sp, (e[0] - e[1]) / (2 * step) * delta, atol=1e-9)


@pytest.mark.parametrize("mitigation", ["rem", "zne", "zne+rem"])
def test_mitigation_moves_toward_ideal(torino, problem, mitigation):
    ideal = make_oracle(problem, 1, "ideal").evaluate(THETA[1]).energies[0]
    noisy = make_oracle(problem, 1, torino, method="pauli_prop").evaluate(THETA[1]).energies[0]
    ev = make_oracle(problem, 1, torino, method="pauli_prop", mitigation=mitigation).evaluate(THETA[1])
    assert abs(ev.energies[0] - ideal) <= abs(noisy - ideal)
    assert ev.metadata["mitigation"]["name"] == mitigation
    if "zne" in mitigation:
        assert ev.metadata["noise_scales"] == [1.0, 3.0, 5.0] and len(ev.metadata["scale_energies"][0]) == 3


@pytest.mark.slow
def test_zne_rem_at_device_scale():
    """make_oracle(problem, p, "fake:torino", mitigation="zne+rem") on the device graph."""
    from hybrid.device_graphs import device_coupling_graph
    from hybrid.problems import coupling_subgraph

    name, graph = device_coupling_graph("torino")
    noise = get_target("fake:torino")._noise
    graph.remove_edges_from([e for e in graph.edges if _broken(noise, e)])
    problem = coupling_subgraph(graph, name)
    assert problem.n > 100
    ideal = make_oracle(problem, 1, "ideal").evaluate(THETA[1]).energies[0]
    noisy = make_oracle(problem, 1, "fake:torino").evaluate(THETA[1])
    mitigated = make_oracle(problem, 1, "fake:torino", mitigation="zne+rem").evaluate(THETA[1])
    assert noisy.metadata["oracle_method"] == "pauli_prop"
    assert abs(mitigated.energies[0] - ideal) <= abs(noisy.energies[0] - ideal)


def _broken(noise, edge) -> bool:
    from backends.pauli_prop import twirl

    error = noise.gate_error("cz", edge) or noise.gate_error("cz", edge[::-1])
    try:
        twirl("cz", edge, error)
    except BrokenChannelError:
        return True
    return False


def test_truncation_estimate_compares_with_a_tighter_atol(torino, problem):
    coarse = make_oracle(problem, 2, torino, method="pauli_prop", atol=3e-2)
    est = coarse.truncation_estimate(THETA[2], factor=1e4)
    exact = make_oracle(problem, 2, torino, method="pauli_prop", atol=0.0).evaluate(THETA[2]).energies[0]
    assert est["tighter_atol"] == pytest.approx(3e-6)
    assert est["energies"][0] == pytest.approx(coarse.evaluate(THETA[2]).energies[0], abs=1e-12)
    # the coarse truncation moves the energy; the estimate sees the move the exact value shows
    assert est["estimate"][0] > 1e-6
    assert est["estimate"][0] == pytest.approx(abs(est["energies"][0] - exact), rel=0.05)
    assert est["truncated_weight"][0] >= est["estimate"][0]
    with pytest.raises(ProblemError, match="factor must be > 1"):
        coarse.truncation_estimate(THETA[2], factor=1.0)
