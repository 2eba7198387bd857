"""Ising and QUBO problems: the input forms, their values against brute force, the ratio, the ansatz."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from qiskit.quantum_info import SparsePauliOp, Statevector

from hybrid.ansatz import qaoa_circuit, qaoa_gate_circuit
from hybrid.oracle_factory import make_oracle
from hybrid.problems import (
    MaxCutProblem,
    ProblemError,
    brute_force_max_cut,
    from_ising,
    from_qubo,
    from_sparse_pauli_op,
    glover_qubo,
    load_graphs,
    random_qubo,
    regular_graph,
    save_graphs,
    sk_instance,
)
from hybrid.solutions import cut_value, polish

TOL = 1e-9


def bits_of(z: int, n: int) -> np.ndarray:
    return np.array([(z >> i) & 1 for i in range(n)], dtype=float)


def qubo_value(Q, q, c, x) -> float:
    return float(x @ Q @ x + q @ x + c)


def ising_value(J, h, c, z: int, n: int) -> float:
    s = 1 - 2 * bits_of(z, n)
    return float(sum(Jv * s[u] * s[v] for u, v, Jv in J) + h @ s + c)


@pytest.mark.parametrize("sense", ["min", "max"])
def test_a_qubo_is_its_matrix_on_every_assignment(sense):
    rng = np.random.default_rng(3)
    n = 6
    Q = rng.integers(-5, 6, size=(n, n)).astype(float)  # not symmetric, diagonal = linear terms
    q, c = rng.normal(size=n), 2.5
    problem = from_qubo(Q, q, c, sense=sense)
    sign = -1.0 if sense == "min" else 1.0
    diagonal = problem.cut_values()
    for z in range(2**n):
        f = qubo_value(Q, q, c, bits_of(z, n))
        assert diagonal[z] == pytest.approx(sign * f, abs=TOL)
        assert problem.cut_of(z) == pytest.approx(sign * f, abs=TOL)
        assert problem.objective_value(problem.cut_of(z)) == pytest.approx(f, abs=TOL)
    best, z = brute_force_max_cut(problem)
    values = [qubo_value(Q, q, c, bits_of(k, n)) for k in range(2**n)]
    assert problem.objective_value(best) == pytest.approx(min(values) if sense == "min" else max(values), abs=TOL)
    assert problem.cut_of(z) == pytest.approx(best, abs=TOL)


def test_an_ising_energy_with_fields_is_minus_c_on_every_assignment():
    n = 5
    J = [(0, 1, 1.0), (1, 2, -0.7), (0, 3, 0.4), (3, 4, -1.3), (2, 4, 0.9)]
    h = np.array([0.3, -0.5, 0.0, 1.1, -0.2])
    problem = from_ising([list(t) for t in J], h, 0.75)
    assert problem.sense == "min" and problem.fields is not None
    for z in range(2**n):
        assert problem.cut_of(z) == pytest.approx(-ising_value(J, h, 0.75, z, n), abs=TOL)


def test_a_sparse_pauli_op_is_the_ising_energy_it_writes():
    op = SparsePauliOp.from_sparse_list(
        [("ZZ", [0, 1], 1.0), ("ZZ", [1, 3], -0.5), ("Z", [2], 0.3), ("ZZ", [2, 3], 0.8), ("", [], 2.0)], 4
    )
    problem = from_sparse_pauli_op(op)
    assert np.allclose(problem.cut_values(), -np.real(np.diag(op.to_matrix())), atol=TOL)
    # and back: the cost operator of the problem is -op up to the constant it carries
    assert np.allclose(np.real(np.diag(problem.cost_operator().to_matrix())), problem.cut_values(), atol=TOL)
    with pytest.raises(ProblemError, match="not diagonal"):
        from_sparse_pauli_op(SparsePauliOp.from_sparse_list([("XZ", [0, 1], 1.0)], 2))
    with pytest.raises(ProblemError, match="more than two"):
        from_sparse_pauli_op(SparsePauliOp.from_sparse_list([("ZZZ", [0, 1, 2], 1.0)], 3))


def test_the_glover_qubo_has_its_published_minimum():
    problem = glover_qubo().with_max_cut()
    assert problem.objective_value(problem.max_cut) == pytest.approx(-11.0)
    value, z = brute_force_max_cut(problem)
    assert "".join(str(int(b)) for b in bits_of(z, 4)) == "1001"


def test_a_quadratic_program_gives_the_same_problem_as_its_matrix():
    qo = pytest.importorskip("qiskit_optimization")
    from hybrid.problems import from_quadratic_program

    qp = qo.QuadraticProgram("glover")
    for i in range(4):
        qp.binary_var(f"x{i}")
    qp.minimize(linear=[-5, -3, -8, -6], quadratic={("x0", "x1"): 4, ("x0", "x2"): 8, ("x1", "x2"): 2, ("x2", "x3"): 10})
    problem = from_quadratic_program(qp)
    assert np.allclose(problem.cut_values(), glover_qubo().cut_values(), atol=TOL)
    # a constraint becomes a penalty: pick exactly one of three, maximise its weight
    qp = qo.QuadraticProgram("one-hot")
    for i in range(3):
        qp.binary_var(f"y{i}")
    qp.maximize(linear=[1.0, 3.0, 2.0])
    qp.linear_constraint(linear=[1, 1, 1], sense="==", rhs=1)
    problem = from_quadratic_program(qp).with_max_cut()
    _, z = brute_force_max_cut(problem)
    assert z == 0b010  # y1 alone


def test_max_cut_values_and_ratios_are_unchanged():
    problem = regular_graph(10, 3, seed=4).with_max_cut()
    assert problem.is_max_cut and problem.min_value == 0.0 and problem.fields is None
    for e in (0.0, 7.3, problem.max_cut):
        assert problem.approximation_ratio(e) == e / problem.max_cut  # bit for bit
    assert not {"fields", "offset", "sense", "min_value"} & set(problem.to_dict())  # Max-Cut files read as before


def test_the_ratio_beyond_max_cut_runs_from_c_min_to_c_max():
    problem = sk_instance(8, seed=2).with_max_cut()
    values = problem.cut_values()
    assert problem.max_cut == pytest.approx(values.max()) and problem.min_value == pytest.approx(values.min())
    assert problem.approximation_ratio(values.max()) == pytest.approx(1.0)
    assert problem.approximation_ratio(values.min()) == pytest.approx(0.0)
    assert problem.approximation_ratio(problem.mixed_value) == pytest.approx(
        (values.mean() - values.min()) / (values.max() - values.min()))


def test_negative_weights_are_a_max_cut_with_a_negative_floor():
    problem = MaxCutProblem.from_dict({"n": 3, "edges": [[0, 1, 1.0], [1, 2, -2.0], [0, 2, 1.5]]}).with_max_cut()
    assert not problem.is_max_cut
    cuts = problem.cut_values()
    assert problem.min_value == pytest.approx(cuts.min()) and problem.min_value < 0


def test_problem_files_round_trip_and_a_wrong_optimum_is_refused(tmp_path):
    path = tmp_path / "problems.json"
    path.write_text(json.dumps([
        {"id": "q", "qubo": [[-5, 2, 4, 0], [2, -3, 1, 0], [4, 1, -8, 5], [0, 0, 5, -6]]},
        {"id": "i", "ising": {"J": [[0, 1, 1.0], [1, 2, -0.5]], "h": [0.2, 0.0, -0.4], "constant": 1.0}},
    ]))
    loaded = load_graphs(path)
    again = load_graphs(save_graphs(loaded, tmp_path / "again.json"))
    for a, b in zip(loaded, again):
        assert np.allclose(a.cut_values(), b.cut_values(), atol=TOL) and a.sense == b.sense == "min"
    path.write_text(json.dumps([{"id": "q", "qubo": [[-5, 2], [2, -3]], "max_cut": 4.0}]))
    with pytest.raises(ProblemError, match="largest value of C"):
        load_graphs(path)
    path.write_text(json.dumps([{"id": "q", "qubo": [[-5, 2], [2, -3]], "ising": {"J": []}}]))
    with pytest.raises(ProblemError, match="either"):
        load_graphs(path)


PROBLEMS = {
    "qubo": lambda: random_qubo(7, seed=5),
    "ising-fields": lambda: from_ising([[0, 1, 0.8], [1, 2, -0.6], [2, 3, 1.0], [3, 4, 0.5], [0, 4, -0.9], [1, 5, 0.7]],
                                       [0.4, -0.3, 0.2, 0.0, 0.6, -0.5]),
    "sk": lambda: sk_instance(7, seed=6),
}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("p", [1, 2])
def test_the_ansatz_and_the_ideal_oracle_match_brute_force_on_the_circuit(name, p):
    problem = PROBLEMS[name]()
    theta = np.random.default_rng(p).uniform(-1, 1, size=2 * p)
    probs = Statevector(qaoa_circuit(problem, p, measure=False).assign_parameters(theta)).probabilities()
    brute = np.array([problem.cut_of(z) for z in range(2**problem.n)])
    expected = float(probs @ brute)
    assert float(make_oracle(problem, p, "ideal").evaluate(theta).energies[0]) == pytest.approx(expected, abs=TOL)
    circuit, jac = qaoa_gate_circuit(problem, p)
    circuit.remove_final_measurements()
    gate_probs = Statevector(circuit.assign_parameters(jac.T @ theta)).probabilities()
    assert float(gate_probs @ brute) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_polish_climbs_c_with_its_fields_and_the_value_of_a_bitstring_is_c(name):
    problem = PROBLEMS[name]().with_max_cut()
    n = problem.n
    for start in ("0" * n, "1" * n, "01" * (n // 2) + "0" * (n % 2)):
        z = int(start[::-1], 2)
        assert cut_value(problem, start) == pytest.approx(problem.cut_of(z), abs=TOL)
        bits, value = polish(problem, start)
        assert value >= cut_value(problem, start) - TOL and value == pytest.approx(cut_value(problem, bits), abs=TOL)
        for i in range(n):  # a 1-flip optimum of C
            flipped = bits[:i] + ("1" if bits[i] == "0" else "0") + bits[i + 1:]
            assert cut_value(problem, flipped) <= value + TOL


def test_the_sk_start_beats_the_max_cut_starts_on_sk_beyond_p_1():
    from hybrid.strategies import get_strategy

    problems = [sk_instance(10, seed=40 + k).with_max_cut() for k in range(3)]

    def mean_ratio(spec: str, p: int) -> float:
        return float(np.mean([pr.approximation_ratio(make_oracle(pr, p, "ideal").evaluate(
            get_strategy(spec).start(pr, p).theta).energies[0]) for pr in problems]))

    assert mean_ratio("sk", 1) >= mean_ratio("fixed", 1) - 1e-3  # at p = 1 the fixed-angle formula is as good
    sk, others = mean_ratio("sk", 2), max(mean_ratio(s, 2) for s in ("fixed", "transfer", "tqa"))
    assert sk > others + 0.01 and sk > 0.80


def test_features_and_starts_use_magnitudes_so_signed_couplings_stay_finite():
    from hybrid.problems import family_features, graph_features
    from hybrid.strategies import get_strategy

    problem = sk_instance(12, seed=1)
    assert np.isfinite(graph_features(problem)).all() and np.isfinite(family_features(problem)).all()
    for spec in ("fixed", "tqa", "regression", "transfer", "constant", "sk"):
        theta = get_strategy(spec).start(problem, 2).theta
        assert np.isfinite(theta).all() and np.abs(theta).max() < 10, spec


def test_the_statevector_oracle_is_differentiable_with_fields():
    from hybrid.oracles.statevector import IdealOracle

    problem = glover_qubo()
    oracle = IdealOracle(problem, 1)
    theta = torch.tensor([0.3, 0.2], dtype=torch.float64, requires_grad=True)
    oracle.expectation(theta).backward()
    eps = 1e-6
    fd = [(float(oracle.expectation(theta.detach() + eps * e)) - float(oracle.expectation(theta.detach() - eps * e))) / (2 * eps)
          for e in torch.eye(2, dtype=torch.float64)]
    assert np.allclose(theta.grad.numpy(), fd, atol=1e-6)


def test_brute_force_enumerates_all_assignments_with_fields():
    problem = from_ising([[0, 1, 1.0], [1, 2, 1.0], [0, 2, 1.0]], [0.5, 0.5, -2.0])
    best, z = brute_force_max_cut(problem)
    values = [problem.cut_of(k) for k in range(8)]
    assert best == pytest.approx(max(values)) and problem.cut_of(z) == pytest.approx(best)
