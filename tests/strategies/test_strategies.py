"""Start strategies: each baseline against a hand-computed case, the registry, auto, the shipped data."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from hybrid.oracles import ideal_oracle, p1_expectation
from hybrid.problems import from_edges, regular_graph
from hybrid.schedules import interp_params, lrqaoa_params, tqa_params
from hybrid.strategies import StartResult, StrategyError, get_strategy, initial_params, optimise_angles
from hybrid.strategies import fit as fit_module
from hybrid.strategies.fit import (
    class_key,
    nearest_key,
    ridge_fit,
    ridge_predict,
    tree_cut_fraction,
    tree_graph,
)

SEED = 3
EXACT_TOL = 1e-9
#: Farhi et al. (2014): p = 1 QAOA on 3-regular graphs of girth > 3 cuts 0.6924 of the edges.
FARHI_3REG = 0.6924
FARHI_TOL = 1e-4
#: A grid this fine locates the p = 1 optimum to this AR.
GRID_POINTS = 121
GRID_TOL = 2e-3


def cube() -> object:
    """The 3-cube: 3-regular, bipartite, 8 nodes, max cut 12."""
    edges = [(u, u ^ (1 << b)) for u in range(8) for b in range(3) if u < u ^ (1 << b)]
    return from_edges(edges).with_max_cut()


def path3_weighted():
    return from_edges([(0, 1, 2.0), (1, 2, 2.0)]).with_max_cut()


@pytest.fixture
def fitted_data(tmp_path, monkeypatch):
    """A hand-written baselines file (values chosen for the hand computations below)."""
    doc = {
        "depths": {
            "1": {
                "constant": [0.6, 0.4],
                "regression": ridge_fit(np.array([[0.0] * 6, [1.0] * 6]), np.array([[0.5, 0.3], [0.7, 0.1]]), alpha=1.0),
                "tqa": {"3/unit": 0.9, "2/weighted": 0.5},
                "lrqaoa": {"3/unit": [0.8, 0.4]},
                "transfer": {"3/unit": [0.61, 0.39], "2/weighted": [0.9, 0.35]},
            },
            "2": {
                "constant": [0.5, 0.9, 0.6, 0.3],
                "tqa": {"3/unit": 1.2},
                "lrqaoa": {"3/unit": [1.0, 0.5]},
                "transfer": {"3/unit": [0.45, 0.85, 0.55, 0.28]},
            },
        }
    }
    path = tmp_path / "baselines.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setattr(fit_module, "BASELINES_PATH", path)
    return doc


# --------------------------------------------------------------------------- fixed
def test_fixed_formula_and_table_on_a_3_regular_graph():
    graph = cube()
    theta = initial_params("fixed", graph, 1)
    # the formula and the published d = 3, p = 1 table entry agree: arctan(1/sqrt 2), pi/8
    np.testing.assert_allclose(theta, [math.atan(1 / math.sqrt(2)), math.pi / 8], atol=1e-4)
    assert tree_cut_fraction(3, theta) == pytest.approx(FARHI_3REG, abs=FARHI_TOL)
    assert "table d=3" in get_strategy("fixed").start(graph, 2).label


def test_fixed_formula_interp_on_a_weighted_non_regular_graph():
    graph = path3_weighted()  # mean degree 4/3 (weight units), mean weight 2
    gamma = math.atan(1 / math.sqrt(4 / 3 - 1)) / 2
    np.testing.assert_allclose(initial_params("fixed", graph, 1), [gamma, math.pi / 8])
    # INTERP of a p = 1 point repeats it: [g, g, b, b]
    np.testing.assert_allclose(initial_params("fixed", graph, 2), [gamma, gamma, math.pi / 8, math.pi / 8])


def test_tree_graph_sizes():
    assert tree_graph(3, 2).n == 14 and tree_graph(3, 2).m == 13
    assert tree_graph(4, 1).n == 8


# --------------------------------------------------------------------------- tqa, lrqaoa, interp
def test_tqa_by_hand(fitted_data):
    graph = cube()
    np.testing.assert_allclose(initial_params("tqa:1.0", graph, 2), [0.25, 0.75, 0.75, 0.25])
    # tuned dt 1.2 for class 3/unit at p = 2
    np.testing.assert_allclose(initial_params("tqa", graph, 2), [0.3, 0.9, 0.9, 0.3])
    # weighted: class 2/weighted (dt 0.5), gamma divided by the mean weight 2
    np.testing.assert_allclose(initial_params("tqa", path3_weighted(), 1), [0.25 / 2, 0.25])


def test_lrqaoa_by_hand(fitted_data):
    np.testing.assert_allclose(lrqaoa_params(cube(), 2, 1.0, 0.5), [0.5, 1.0, 0.5, 0.25])
    np.testing.assert_allclose(initial_params("lrqaoa", cube(), 2), [0.5, 1.0, 0.5, 0.25])


def test_interp_by_hand(fitted_data):
    np.testing.assert_allclose(interp_params([0.2, 0.4, 0.6, 0.3]), [0.2, 0.3, 0.4, 0.6, 0.45, 0.3])
    # p = 2 from the transferred p = 1 angles of class 3/unit
    np.testing.assert_allclose(initial_params("interp", cube(), 2), [0.61, 0.61, 0.39, 0.39])
    np.testing.assert_allclose(initial_params("interp", cube(), 1), [0.61, 0.39])


# --------------------------------------------------------------------------- fitted
def test_constant_scales_gamma_by_mean_weight(fitted_data):
    np.testing.assert_allclose(initial_params("constant", cube(), 1), [0.6, 0.4])
    np.testing.assert_allclose(initial_params("constant", path3_weighted(), 1), [0.3, 0.4])


def test_ridge_on_two_points_by_hand():
    x, y = np.array([[0.0], [1.0]]), np.array([0.0, 1.0])
    # standardised x = -1, +1; slope 2/(2 + alpha) per unit of x; intercept at the mean 0.5
    for alpha in (0.0, 2.0):
        model = ridge_fit(x, y, alpha=alpha)
        assert ridge_predict(model, np.array([1.0]))[0] == pytest.approx(0.5 + 1 / (2 + alpha))
        assert ridge_predict(model, np.array([0.5]))[0] == pytest.approx(0.5)
    with pytest.raises(StrategyError, match=">= 2 rows"):
        ridge_fit(np.array([[1.0]]), np.array([1.0]))


def test_regression_strategy_uses_the_stored_model(fitted_data, monkeypatch):
    monkeypatch.setattr("hybrid.strategies.builtin.regression_features", lambda problem: np.full(6, 0.5))
    # halfway between the two training rows -> the mean of their targets
    np.testing.assert_allclose(initial_params("regression", cube(), 1), [0.6, 0.2])


def test_transfer_median_class_and_fallback(fitted_data):
    np.testing.assert_allclose(initial_params("transfer", cube(), 1), [0.61, 0.39])
    four = regular_graph(10, 4, seed=SEED)  # class 4/unit is not fitted: nearest unit class 3/unit
    assert class_key(four) == "4/unit"
    np.testing.assert_allclose(initial_params("transfer", four, 1), [0.61, 0.39])
    np.testing.assert_allclose(initial_params("transfer", path3_weighted(), 1), [0.45, 0.35])
    assert nearest_key("9/weighted", {"3/unit": 0, "2/weighted": 0, "5/weighted": 0}, "x") == "5/weighted"


def test_transfer_median_fitted_by_hand(monkeypatch):
    """fit_baselines stores the coordinate-wise median of the class's optimised angles."""
    from hybrid.strategies.optimal import OptimisedAngles

    graphs = [replace(regular_graph(8, 3, seed=s), id=f"g{s}").with_max_cut() for s in range(3)]
    thetas = [np.array([0.5, 0.2]), np.array([0.7, 0.4]), np.array([0.6, 0.1])]
    fake = {g.id: OptimisedAngles(g.id, (t,), (0.8,)) for g, t in zip(graphs, thetas)}
    monkeypatch.setattr("hybrid.families.split_graphs", lambda split, per_family: graphs)
    monkeypatch.setattr(fit_module, "optimise_angles", lambda pr, p, seed=None: fake[pr.id])
    monkeypatch.setattr(fit_module, "tune_lrqaoa", lambda problems, p: (1.0, 1.0))
    monkeypatch.setattr(fit_module, "fit_constant", lambda problems, p, restarts, seed: np.zeros(2 * p))
    doc = fit_module.fit_baselines(1, (1,), log=lambda m: None)
    np.testing.assert_allclose(doc["depths"]["1"]["transfer"]["3/unit"], [0.6, 0.2])


def test_missing_fit_is_named(fitted_data):
    with pytest.raises(StrategyError, match=r"no fit at depth p=3.*hybrid fit-baselines"):
        initial_params("constant", cube(), 3)


# --------------------------------------------------------------------------- evaluating strategies
def test_random_k_counts_its_evaluations_and_keeps_the_best():
    graph = cube()
    oracle = ideal_oracle(graph, 1)
    seen = []

    def evaluate(theta):
        seen.append(float(oracle.evaluate(theta).energies[0]))
        return seen[-1]

    strategy = get_strategy("random:5")
    assert strategy.cost(1) == 5
    result = strategy.start(graph, 1, evaluate=evaluate, seed=SEED)
    assert result.evaluations == len(seen) == 5
    assert result.value == max(seen)
    assert oracle.evaluate(result.theta).energies[0] == pytest.approx(max(seen), abs=EXACT_TOL)
    again = strategy.start(graph, 1, evaluate=evaluate, seed=SEED)
    np.testing.assert_array_equal(again.theta, result.theta)
    with pytest.raises(StrategyError, match="pass evaluate="):
        strategy.start(graph, 1)
    with pytest.raises(StrategyError, match=r"evaluates 5 points.*start\(problem, p, evaluate=...\)"):
        initial_params("random:5", graph, 1)


def test_learned_adapter_keeps_the_best_proposal():
    graph = regular_graph(8, 3, seed=SEED).with_max_cut()
    oracle = ideal_oracle(graph, 1)
    values = []

    def evaluate(theta):
        values.append(float(oracle.evaluate(theta).energies[0]))
        return values[-1]

    strategy = get_strategy("learned")
    result = strategy.start(graph, 1, evaluate=evaluate)
    assert result.evaluations == len(values) == strategy.cost(1)
    assert result.value == max(values)
    assert result.label.startswith("learned")


# --------------------------------------------------------------------------- auto
def test_auto_picks_what_its_table_says(tmp_path, monkeypatch):
    table = {"budget": 10, "choices": {"ideal": {"regular": {"1": "tqa:0.5", "2": "random:3"}}, "noisy": {"regular": {"1": "fixed"}}}}
    path = tmp_path / "auto.json"
    path.write_text(json.dumps(table))
    monkeypatch.setattr(fit_module, "AUTO_PATH", path)
    graph = cube()
    result = get_strategy("auto").start(graph, 1)
    np.testing.assert_allclose(result.theta, tqa_params(graph, 1, 0.5))
    assert result.label == "auto (ideal, regular, p=1) -> tqa (dt=0.5)"
    assert get_strategy("auto").cost(2) == 3
    assert get_strategy("auto:noisy").start(graph, 1).label.endswith("fixed (table d=3, p=1)")
    with pytest.raises(StrategyError, match=r"no start for target kind 'ideal', family 'regular', p=3.*hybrid benchmark"):
        get_strategy("auto").start(graph, 3)
    with pytest.raises(StrategyError, match="unknown target kind"):
        get_strategy("auto:quantum")


# --------------------------------------------------------------------------- registry
def test_spec_errors_are_named():
    with pytest.raises(StrategyError, match="unknown initial strategy 'bogus'; choose one of"):
        get_strategy("bogus")
    with pytest.raises(StrategyError, match="K must be a positive integer"):
        get_strategy("random:x")
    with pytest.raises(StrategyError, match="must be > 0"):
        get_strategy("tqa:-1")
    with pytest.raises(StrategyError, match="takes no argument"):
        get_strategy("fixed:3")
    with pytest.raises(StrategyError, match="depth p must be a positive integer"):
        initial_params("fixed", cube(), 0)


def test_start_result_round_trip():
    result = StartResult(np.array([0.1, 0.2]), 3, 4.5, "random:3 (best of 3)")
    back = StartResult.from_dict(json.loads(json.dumps(result.to_dict())))
    np.testing.assert_array_equal(back.theta, result.theta)
    assert (back.evaluations, back.value, back.label) == (3, 4.5, result.label)


# --------------------------------------------------------------------------- optimised angles
def test_optimise_angles_finds_the_p1_grid_optimum_and_grows():
    graph = regular_graph(8, 3, seed=SEED).with_max_cut()
    result = optimise_angles(graph, 2, seed=SEED, restarts=1)
    gammas, betas = np.meshgrid(np.linspace(0, math.pi, GRID_POINTS), np.linspace(-math.pi / 4, math.pi / 4, GRID_POINTS))
    points = np.stack([gammas.ravel(), betas.ravel()], axis=1)
    grid = float(ideal_oracle(graph, 1).evaluate(points).energies.max()) / graph.max_cut
    assert p1_expectation(graph, *result.thetas[0]) / graph.max_cut == pytest.approx(result.ars[0], abs=EXACT_TOL)
    assert result.ars[0] >= grid - 1e-9 and result.ars[0] <= grid + GRID_TOL
    assert result.ars[1] >= result.ars[0]
    assert ideal_oracle(graph, 2).evaluate(result.theta).energies[0] / graph.max_cut == pytest.approx(result.ar, abs=EXACT_TOL)


# --------------------------------------------------------------------------- shipped data
def test_shipped_fixed_angle_tables_were_checked():
    doc = json.loads(fit_module.TABLES_PATH.read_text())
    assert "arXiv:2107.00677" in doc["source"]
    for d in ("3", "4", "5"):
        assert doc["angles"][d]["1"]["check"]["passed"]
        for entry in doc["angles"][d].values():
            assert entry["check"]["passed"] and len(entry["gamma"]) == len(entry["beta"])


def test_shipped_baselines_cover_depths_1_to_5():
    doc = json.loads(fit_module.BASELINES_PATH.read_text())
    assert doc["command"].startswith("hybrid fit-baselines")
    assert all(g.startswith("train-") for g in doc["training_graphs"])
    for p in range(1, 6):
        entry = doc["depths"][str(p)]
        assert len(entry["constant"]) == 2 * p
        assert all(len(v) == 2 * p for v in entry["transfer"].values())
        assert np.asarray(entry["regression"]["coef"]).shape == (len(doc["feature_names"]), 2 * p)


class _Overspender:
    """Declares one evaluation, spends two."""

    name = "overspender"

    def cost(self, p, problem=None):
        return 1

    def start(self, problem, p, *, evaluate=None, seed=None):
        theta = initial_params("fixed", problem, p)
        value = max(evaluate(theta), evaluate(theta * 0.9))
        return StartResult(theta, 2, value, "overspender")


def test_a_strategy_that_overspends_its_declared_cost_fails_in_a_run():
    from hybrid.optimize import BudgetError, optimize_graph
    from hybrid.strategies import register, unregister

    graph = cube()
    register("overspender", lambda arg: _Overspender())
    try:
        with pytest.raises(BudgetError, match="spent more oracle evaluations than it declared"):
            optimize_graph(graph, ideal_oracle(graph, 1), p=1, init="overspender", optimizer="cobyla:5", max_evaluations=10)
    finally:
        unregister("overspender")
    run = optimize_graph(graph, ideal_oracle(graph, 1), p=1, init="random:3", optimizer="cobyla:5", max_evaluations=10, seed=SEED)
    assert run.phase1_evaluations == 3 and run.evaluations <= 10


def test_auto_follows_the_run_target_and_falls_back_to_the_closest_measured_kind():
    from hybrid.strategies.builtin import Auto, for_target

    assert for_target("auto", "fake:torino", sampled=True) == "auto:noisy-shots"
    assert for_target("auto", "fake:torino", sampled=False) == "auto:noisy"
    assert for_target("auto", "ideal", sampled=False) == "auto:ideal"
    assert for_target("auto", "aer", sampled=True) == "auto:ideal-shots"
    assert for_target("fixed", "fake:torino", sampled=True) == "fixed"

    table = {"ideal": {"regular": {"1": "fixed", "2": "tqa"}}, "noisy": {"regular": {"1": "interp"}}}

    class Table(Auto):
        def _table(self):
            return table

    graph = cube()
    assert Table(kind="noisy-shots").choice("regular", 1) == "interp"  # noisy-shots -> noisy
    assert Table(kind="noisy-shots").choice("regular", 2) == "tqa"  # -> ideal
    label = Table(kind="noisy-shots").start(graph, 2).label
    assert "noisy-shots, as measured on ideal" in label and "-> tqa" in label
    with pytest.raises(StrategyError, match="measured no start for target kind 'ideal', family 'regular', p=3"):
        Table(kind="ideal").choice("regular", 3)


def test_learned_with_fewer_proposals_costs_and_spends_exactly_that():
    graph = cube()
    oracle = ideal_oracle(graph, 1)
    calls = []

    def evaluate(theta):
        calls.append(theta)
        return float(oracle.evaluate(theta).energies[0])

    for spec in ("learned@3", "learned:default@3"):
        strategy = get_strategy(spec)
        assert strategy.cost(1) == 3
        calls.clear()
        result = strategy.start(graph, 1, evaluate=evaluate)
        assert result.evaluations == 3 == len(calls)
        assert result.value == max(float(oracle.evaluate(t).energies[0]) for t in calls)
    assert get_strategy("learned").cost(1) > 3
    with pytest.raises(StrategyError, match="learned@STEPS needs a positive number"):
        get_strategy("learned@0")
    with pytest.raises(StrategyError, match="learned@STEPS needs a positive number"):
        get_strategy("learned:default@many")
