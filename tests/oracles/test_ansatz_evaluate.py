"""The QAOA convention, initial strategies and the ideal/sampled oracles."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from qiskit.circuit.library import qaoa_ansatz
from qiskit.quantum_info import Statevector

from hybrid.ansatz import canonical_params, from_paper_params, qaoa_circuit
from hybrid.oracles import (
    IdealOracle,
    P1ClosedForm,
    StackedIdealOracle,
    counts_statistics,
    ideal_oracle,
    p1_expectation,
)
from hybrid.problems import ProblemError, erdos_renyi, from_edges, paper_graph, regular_graph
from hybrid.schedules import fixed_angle_params, interp_params, random_params, tqa_params
from hybrid.strategies import StartResult, get_strategy, initial_params, register, unregister
from hybrid.strategies.fit import fit_constant

SEED = 7
EXACT_TOL = 1e-9
GRAD_TOL = 1e-6
FD_STEP = 1e-6


def statevector_energy(problem, theta):
    circuit = qaoa_circuit(problem, len(theta) // 2, measure=False).assign_parameters(theta)
    return Statevector(circuit).expectation_value(problem.cost_operator()).real


@pytest.fixture(scope="module")
def weighted():
    return erdos_renyi(8, 0.5, seed=SEED, weights="uniform:0.3,2.0")


# --------------------------------------------------------------------------- convention
@pytest.mark.parametrize("p", [1, 2, 3])
def test_circuit_matches_qiskit_qaoa_ansatz(weighted, p):
    rng = np.random.default_rng(SEED + p)
    theta = rng.uniform(-1.5, 1.5, 2 * p)
    ours = Statevector(qaoa_circuit(weighted, p, measure=False).assign_parameters(theta))
    reference = qaoa_ansatz(weighted.cost_operator(), reps=p)
    values = {}
    for param in reference.parameters:
        offset = p if param.name.startswith("β") else 0  # qiskit names: β[i], γ[i]
        values[param] = theta[offset + param.index]
    theirs = Statevector(reference.assign_parameters(values))
    assert abs(ours.inner(theirs)) ** 2 == pytest.approx(1.0, abs=EXACT_TOL)


def test_parameter_order_is_gammas_then_betas(weighted):
    circuit = qaoa_circuit(weighted, 2)
    assert [p.name for p in circuit.parameters] == ["theta[0]", "theta[1]", "theta[2]", "theta[3]"]
    assert circuit.num_clbits == weighted.n


def test_symmetries_and_paper_convention(weighted):
    theta = np.array([0.7, 0.3])
    e = statevector_energy(weighted, theta)
    assert statevector_energy(weighted, -theta) == pytest.approx(e, abs=EXACT_TOL)
    assert statevector_energy(weighted, theta + [0, math.pi / 2]) == pytest.approx(e, abs=EXACT_TOL)
    np.testing.assert_allclose(canonical_params([-0.7, -0.3 + math.pi]), [0.7, 0.3], atol=1e-12)
    # paper: exp(-i g H_C) with H_C = -C; its optimum has gamma < 0, beta > 0
    assert from_paper_params([-0.6, 0.39]).tolist() == [0.6, 0.39]


def test_maximising_direction():
    """The fixed-angle point beats the uniform superposition: we maximise the cut."""
    problem = regular_graph(8, 3, seed=SEED)
    assert statevector_energy(problem, fixed_angle_params(problem)) > problem.total_weight / 2


# --------------------------------------------------------------------------- oracles
@pytest.mark.parametrize("p", [1, 2, 3])
def test_ideal_oracle_matches_statevector(weighted, p):
    rng = np.random.default_rng(SEED)
    thetas = rng.uniform(-2, 2, size=(4, 2 * p))
    energies = IdealOracle(weighted, p).evaluate(thetas).energies
    expected = [statevector_energy(weighted, t) for t in thetas]
    np.testing.assert_allclose(energies, expected, atol=EXACT_TOL)


def test_ideal_oracle_batches_any_shape(weighted):
    oracle = IdealOracle(weighted, 2)
    thetas = torch.rand(3, 5, 4, dtype=torch.float64)
    out = oracle.expectation(thetas)
    assert out.shape == (3, 5)
    assert float(out[1, 2]) == pytest.approx(float(oracle.expectation(thetas[1, 2])), abs=EXACT_TOL)


def test_stacked_oracle_matches_single_graph_oracles():
    problems = [paper_graph(n, 3, seed=SEED + n) for n in (6, 7, 6, 8)]
    theta = torch.tensor(np.random.default_rng(SEED).uniform(-1, 1, (4, 4)), requires_grad=True)
    energies = StackedIdealOracle(problems, 2).expectation(theta)
    energies.sum().backward()
    for g, problem in enumerate(problems):
        single = IdealOracle(problem, 2)
        t = theta.detach()[g].clone().requires_grad_(True)
        value = single.expectation(t)
        (grad,) = torch.autograd.grad(value, t)
        assert energies[g].item() == pytest.approx(value.item(), abs=EXACT_TOL)
        np.testing.assert_allclose(theta.grad[g].numpy(), grad.numpy(), atol=EXACT_TOL)
    with pytest.raises(ProblemError, match=r"theta must have shape \(4, 4\)"):
        StackedIdealOracle(problems, 2).expectation(torch.zeros(3, 4))


@pytest.mark.parametrize("graph", ["weighted", "triangles", "disconnected"])
def test_p1_closed_form_matches_statevector(graph, weighted):
    problem = {
        "weighted": weighted,
        "triangles": from_edges([(i, j) for i in range(6) for j in range(i + 1, 6) if (i + j) % 3]),
        "disconnected": from_edges([(0, 1), (2, 3, 2.5), (3, 4)], n=6),
    }[graph]
    rng = np.random.default_rng(SEED)
    for theta in rng.uniform(-2, 2, size=(5, 2)):
        assert p1_expectation(problem, *theta) == pytest.approx(statevector_energy(problem, theta), abs=EXACT_TOL)


def test_p1_closed_form_large_sparse_graph():
    problem = regular_graph(2000, 3, seed=SEED)
    assert isinstance(ideal_oracle(problem, 1), P1ClosedForm)
    value = p1_expectation(problem, 0.6155, math.pi / 8)
    # 3-regular, triangle-free locally: the known p = 1 ratio of cut per edge is 0.6925
    assert value / problem.m == pytest.approx(0.6925, abs=2e-3)


@pytest.mark.parametrize("p", [1, 3])
def test_gradients_match_finite_differences(weighted, p):
    rng = np.random.default_rng(SEED)
    theta = rng.uniform(-1, 1, 2 * p)
    for oracle in [IdealOracle(weighted, p)] + ([P1ClosedForm(weighted)] if p == 1 else []):
        value, grad, _ = oracle.value_and_grad(theta)
        fd = np.array(
            [
                (oracle.evaluate(theta + FD_STEP * e).energies[0] - oracle.evaluate(theta - FD_STEP * e).energies[0])
                / (2 * FD_STEP)
                for e in np.eye(2 * p)
            ]
        )
        np.testing.assert_allclose(grad, fd, atol=GRAD_TOL)
        assert value == pytest.approx(statevector_energy(weighted, theta), abs=EXACT_TOL)


def test_oracle_input_errors(weighted):
    oracle = IdealOracle(weighted, 2)
    with pytest.raises(ProblemError, match=r"shape \(B, 4\)"):
        oracle.evaluate([0.1, 0.2])
    with pytest.raises(ProblemError, match="NaN or inf"):
        oracle.evaluate([0.1, np.nan, 0.1, 0.1])
    with pytest.raises(ProblemError, match="p must be"):
        IdealOracle(weighted, 0)
    with pytest.raises(ProblemError, match="depth p must be a positive integer"):
        qaoa_circuit(weighted, 0)


def test_counts_statistics():
    problem = from_edges([(0, 1), (1, 2)])  # path: best cut 2 at 010 / 101
    counts = {0b010: 30, 0b000: 50, 0b001: 20}
    stats = counts_statistics(problem, counts, cvar_alpha=0.3)
    assert stats["mean"] == pytest.approx((30 * 2 + 20 * 1) / 100)
    assert stats["best_cut"] == 2.0 and stats["best_key"] == 0b010
    assert stats["cvar"] == pytest.approx(2.0)
    cuts = np.array([2] * 30 + [0] * 50 + [1] * 20, float)
    assert stats["stderr"] == pytest.approx(cuts.std(ddof=1) / 10)
    with pytest.raises(ProblemError, match="cvar_alpha"):
        counts_statistics(problem, counts, cvar_alpha=0)


# --------------------------------------------------------------------------- strategies
def test_fixed_angle_formula():
    problem = regular_graph(10, 3, seed=SEED)
    np.testing.assert_allclose(fixed_angle_params(problem), [math.atan(1 / math.sqrt(2)), math.pi / 8])
    scaled = from_edges([(u, v, 2.0) for u, v, _ in problem.edges])
    np.testing.assert_allclose(fixed_angle_params(scaled), [math.atan(1 / math.sqrt(2)) / 2, math.pi / 8])
    assert fixed_angle_params(problem, 3).shape == (6,)


def test_tqa_and_interp():
    problem = regular_graph(8, 3, seed=SEED)
    np.testing.assert_allclose(tqa_params(problem, 2, dt=1.0), [0.25, 0.75, 0.75, 0.25])
    grown = interp_params([0.2, 0.4, 0.6, 0.3])  # p=2 -> p=3
    np.testing.assert_allclose(grown, [0.2, 0.3, 0.4, 0.6, 0.45, 0.3])


def test_random_is_seeded_and_in_domain():
    problem = regular_graph(8, 3, seed=SEED)
    a = random_params(problem, 3, seed=SEED)
    assert np.array_equal(a, random_params(problem, 3, seed=SEED))
    assert np.all((0 <= a[:3]) & (a[:3] < math.pi)) and np.all(np.abs(a[3:]) <= math.pi / 4)


class _Echo:
    name = "echo"

    def cost(self, p):
        return 0

    def start(self, problem, p, *, evaluate=None, seed=None):
        return StartResult(np.full(2 * p, 0.1), 0, None, "echo")


def test_initial_params_dispatch_and_registration():
    problem = regular_graph(8, 3, seed=SEED)
    assert initial_params("tqa:0.75", problem, 2).shape == (4,)
    assert initial_params("fixed", problem, 3).shape == (6,)
    with pytest.raises(ProblemError, match="unknown initial strategy 'bogus'"):
        initial_params("bogus", problem, 1)
    register("echo", lambda arg: _Echo())
    try:
        assert initial_params("echo", problem, 2).tolist() == [0.1] * 4
        assert get_strategy("echo").cost(2) == 0
    finally:
        unregister("echo")
    with pytest.raises(ProblemError, match="unknown initial strategy 'echo'"):
        get_strategy("echo")


def test_fit_constant_beats_fixed_angle_on_training_set():
    graphs = [paper_graph(8, k, seed=SEED + k).with_max_cut() for k in range(3, 8)]
    theta = fit_constant(graphs, p=1, restarts=4, seed=SEED)

    def mean_ar(th_for):
        return np.mean([p1_expectation(g, *th_for(g)) / g.max_cut for g in graphs])

    fitted = mean_ar(lambda g: theta)
    assert fitted >= mean_ar(lambda g: fixed_angle_params(g)) - 1e-9
    assert theta[0] > 0 and abs(theta[1]) <= math.pi / 4


# --------------------------------------------------------------------------- parameter shift
PS_SHOTS = 50_000
PS_SIGMAS = 5.0


def test_gate_circuit_equals_qaoa_circuit(weighted):
    from hybrid.ansatz import qaoa_gate_circuit

    theta = np.array([0.3, -0.8, 0.5, 0.2])
    circuit, jac = qaoa_gate_circuit(weighted, 2)
    assert circuit.num_parameters == 2 * (weighted.m + weighted.n)
    gate_state = Statevector(circuit.remove_final_measurements(inplace=False).assign_parameters(jac.T @ theta))
    assert gate_state.expectation_value(weighted.cost_operator()).real == pytest.approx(
        statevector_energy(weighted, theta), abs=EXACT_TOL
    )


def test_parameter_shift_is_exact_on_exact_probabilities(weighted):
    from backends import get_target
    from hybrid.oracles import NoisyExactOracle

    theta = np.array([0.3, -0.8, 0.5, 0.2])
    oracle = NoisyExactOracle(weighted, 2, get_target("ideal"), gradient="param_shift")
    value, grad, ev = oracle.value_and_grad(theta)
    exact_value, exact_grad, _ = IdealOracle(weighted, 2).value_and_grad(theta)
    assert value == pytest.approx(exact_value, abs=EXACT_TOL)
    np.testing.assert_allclose(grad, exact_grad, atol=EXACT_TOL)
    assert ev.num_points == 1 + 2 * 2 * (weighted.m + weighted.n)


def test_parameter_shift_from_shots_is_unbiased(weighted):
    from backends import get_target
    from hybrid.oracles import SampledOracle

    theta = np.array([0.4, 0.3])
    oracle = SampledOracle(weighted, 1, get_target("aer"), shots=PS_SHOTS)
    value, grad, ev = oracle.value_and_grad(theta, seed=SEED)
    exact_value, exact_grad, _ = IdealOracle(weighted, 1).value_and_grad(theta)
    assert abs(value - exact_value) <= PS_SIGMAS * ev.stderr[0]
    # each gradient entry sums shift differences with Jacobian weights: propagate the standard errors
    from hybrid.ansatz import qaoa_gate_circuit

    _, jac = qaoa_gate_circuit(weighted, 1)
    g = jac.shape[1]
    var_phi = (ev.stderr[1 : 1 + g] ** 2 + ev.stderr[1 + g :] ** 2) / 4
    sigma = np.sqrt((jac**2) @ var_phi)
    assert np.all(np.abs(grad - exact_grad) <= PS_SIGMAS * sigma)
    assert oracle.evaluate(theta, seed=SEED).params.shape == (1, 2)
    with pytest.raises(ProblemError, match="gradient must be 'param_shift' or 'fd'"):
        SampledOracle(weighted, 1, get_target("aer"), gradient="adjoint")


# --------------------------------------------------------------------------- module layering
HYBRID = Path(__file__).resolve().parents[2] / "hybrid"
#: Modules after the oracles in the data flow: an oracle or mitigation module never imports them.
ABOVE_ORACLES = ("optimize", "runs", "compare", "meta", "strategies", "cli", "demo", "benchmark", "ledger",
                 "plots", "evaluate", "paper_benchmark", "validation", "executors", "kinds", "oracle_factory")
#: What mitigation may use of the oracles (never the factory, which composes mitigation).
ORACLE_LEAVES = ("hybrid.oracles.base", "hybrid.oracles.gradients", "hybrid.oracles.sampled")


def _imports(path: Path) -> list[str]:
    """Absolute names of every module ``path`` imports, lazy imports included."""
    package = ["hybrid", path.parent.name] if path.parent != HYBRID else ["hybrid"]
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names += [module] if node.module else [f"{module}.{a.name}" for a in node.names]
    return names


def test_oracles_and_mitigation_import_nothing_above_them():
    for folder in ("oracles", "mitigation"):
        for path in sorted((HYBRID / folder).glob("*.py")):
            for name in _imports(path):
                assert not any(name.startswith(f"hybrid.{up}") for up in ABOVE_ORACLES), (path.name, name)
                if folder == "mitigation" and path.name != "__init__.py" and name.startswith("hybrid.oracles"):
                    assert name in ORACLE_LEAVES, (path.name, name)
            assert "hasattr(" not in path.read_text(), path


def test_only_the_mitigation_package_imports_mitiq():
    for path in sorted(HYBRID.rglob("*.py")) + sorted((HYBRID.parent / "backends").rglob("*.py")):
        uses = [n for n in _imports(path) if n.split(".")[0] == "mitiq"]
        assert not uses or path.parent == HYBRID / "mitigation", (path, uses)
