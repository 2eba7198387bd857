"""Noisy oracles on Ising problems (fields, offset, negative weights) on a fake device: noisy light
cones and Pauli propagation with the single-qubit ``<Z_i>`` terms and their readout, against the
whole-circuit density matrix; the ZNE asymptote is the mixed-state value."""

from __future__ import annotations

import numpy as np
import pytest

from backends import get_target
from hybrid.device_graphs import heavy_hex_graph
from hybrid.mitigation import zne
from hybrid.mitigation.spec import parse_mitigation
from hybrid.oracle_factory import make_oracle
from hybrid.pauli_oracle import PauliPropOracle
from hybrid.problems import MaxCutProblem
from twirled_reference import twirled_dm_energy

SEED = 4
#: Noisy cones vs the whole-circuit density matrix (Aer's channels lose ~1e-8 of trace).
NOISY_TOL = 1e-6
#: Autograd gradient vs central differences (step 1e-4) on the whole density matrix.
GRAD_TOL = 1e-5
#: Pauli propagation without truncation vs the Aer density matrix of the same twirled noise.
EXACT_TOL = 1e-9
THETA = {1: np.array([0.6, 0.39]), 2: np.array([0.5, 0.8, 0.55, 0.3])}


def ising(problem: MaxCutProblem, seed: int) -> MaxCutProblem:
    """``problem``'s graph (and qubits) with random +-J weights, fields on most nodes and an offset."""
    rng = np.random.default_rng(seed)
    edges = tuple((u, v, float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5))) for u, v, _ in problem.edges)
    h = rng.uniform(-1.5, 1.5, problem.n)
    h[rng.random(problem.n) < 0.25] = 0.0
    return MaxCutProblem(n=problem.n, edges=edges, fields=tuple(h), offset=0.7, meta=dict(problem.meta))


@pytest.fixture(scope="module")
def torino():
    return get_target("fake:torino")


@pytest.fixture(scope="module")
def problem():
    return ising(heavy_hex_graph("torino", 9, seed=SEED), SEED)


def test_problem_is_native_and_has_fields(problem):
    assert problem.fields is not None and problem.meta.get("physical_qubits")
    assert any(w < 0 for w in problem.weights)


@pytest.mark.parametrize("p", [1, 2])
def test_noisy_cones_with_fields_match_whole_density_matrix(torino, problem, p):
    whole = make_oracle(problem, p, torino)
    cones = make_oracle(problem, p, torino, method="noisy_cones")
    assert (whole.method, cones.method) == ("density-matrix", "noisy-light-cone")
    points = np.vstack([THETA[p], THETA[p] + 0.2])
    diff = np.abs(whole.evaluate(points).energies - cones.evaluate(points).energies).max()
    assert diff <= NOISY_TOL
    # and the fields matter: noise and readout move the value clearly
    ideal = make_oracle(problem, p, "ideal").evaluate(THETA[p]).energies[0]
    assert abs(ideal - cones.evaluate(THETA[p]).energies[0]) > 100 * NOISY_TOL


def test_noisy_cone_gradient_with_fields_is_exact(torino, problem):
    value_fd, g_fd, _ = make_oracle(problem, 1, torino).value_and_grad(THETA[1])
    value, g, ev = make_oracle(problem, 1, torino, method="noisy_cones").value_and_grad(THETA[1])
    assert abs(value - value_fd) <= NOISY_TOL
    assert np.max(np.abs(g - g_fd)) <= GRAD_TOL


@pytest.mark.parametrize("p", [1, 2])
def test_pauli_prop_with_fields_is_exact_against_twirled_density_matrix(torino, problem, p):
    oracle = make_oracle(problem, p, torino, method="pauli_prop", atol=0.0, max_terms=2**20)
    ev = oracle.evaluate(THETA[p])
    assert ev.metadata["truncated_weight"][0] == 0.0
    assert abs(ev.energies[0] - twirled_dm_energy(torino, problem, p, THETA[p])) < EXACT_TOL


def test_pauli_prop_fields_unfold_readout_exactly(torino, problem):
    oracle = make_oracle(problem, 1, torino, method="pauli_prop", atol=0.0, max_terms=2**20)
    prop = oracle.propagation()
    noiseless = prop.energies(THETA[1], oracle._weights, atol=0.0, max_terms=2**20, readout=False,
                              noise_scale=0.0).energies[0] + problem.offset
    ideal = make_oracle(problem, 1, "ideal").evaluate(THETA[1]).energies[0]
    assert abs(noiseless - ideal) < EXACT_TOL


def _assert_mixed_value_asymptote(energy, values, ctx, problem) -> None:
    """The extrapolation used ``problem.mixed_value`` as its asymptote, not Max-Cut's ``total_weight / 2``."""
    expected, _ = zne.postprocess(values, ctx, asymptote=problem.mixed_value)
    old, _ = zne.postprocess(values, ctx, asymptote=problem.total_weight / 2)
    assert energy == pytest.approx(float(np.ravel(expected)[0]), abs=1e-12)
    assert abs(float(np.ravel(old)[0]) - energy) > 1e-6


def test_zne_asymptote_is_the_mixed_value(torino, problem):
    spec = parse_mitigation("zne", factory="exponential")
    oracle = PauliPropOracle(problem, 1, torino, mitigation=spec, atol=0.0, max_terms=2**20)
    ev = oracle.evaluate(THETA[1])
    scales, values = ev.metadata["noise_scales"], ev.metadata["scale_energies"][0]
    _assert_mixed_value_asymptote(ev.energies[0], values, zne.ZneContext(tuple(scales), tuple(scales), "exponential"), problem)


def test_mitigated_zne_asymptote_is_the_mixed_value(torino):
    from hybrid.mitigation import MitigatedOracle

    problem = ising(heavy_hex_graph("torino", 6, seed=SEED + 1), SEED + 1)
    oracle = MitigatedOracle(problem, 1, torino, parse_mitigation("zne", factory="exponential"), shots=None)
    ev = oracle.evaluate(THETA[1])
    values = ev.metadata["scale_energies"][0]
    ctx = zne.ZneContext(tuple(ev.metadata["scale_factors"]), tuple(ev.metadata["noise_scales"]), "exponential")
    _assert_mixed_value_asymptote(ev.energies[0], values, ctx, problem)


def test_parameter_shift_with_field_gates_matches_differences(torino):
    problem = ising(heavy_hex_graph("torino", 6, seed=SEED + 2), SEED + 2)
    _, g_shift, _ = make_oracle(problem, 1, torino, gradient="param_shift").value_and_grad(THETA[1])
    _, g_fd, _ = make_oracle(problem, 1, torino).value_and_grad(THETA[1])
    assert np.max(np.abs(g_shift - g_fd)) <= GRAD_TOL
