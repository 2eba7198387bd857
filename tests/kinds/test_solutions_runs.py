"""hybrid run and compare return solutions and take --objective."""

from __future__ import annotations

import pytest

from hybrid.compare import CompareConfig, make_units
from hybrid.config import parse_config
from hybrid.ledger import Ledger
from hybrid.problems import regular_graph, save_graphs
from hybrid.runs import RunConfig, execute_run, start_run
from hybrid.validation import InputError

SEED = 4
SHOTS = 300
TOL = 1e-9


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    path = tmp_path_factory.mktemp("g") / "g.json"
    return save_graphs([regular_graph(6, 3, seed=SEED, id="r6").with_max_cut()], path)


def brute_cut(problem, bits):
    return sum(w for u, v, w in problem.edges if bits[u] != bits[v])


@pytest.mark.parametrize("backend, shots, objective", [
    ("ideal", None, "expectation"),
    ("aer", SHOTS, "cvar:0.1"),
    pytest.param("fake:torino", SHOTS, "cvar:0.1", marks=pytest.mark.slow),  # about a minute: layout search, noise
])
def test_run_writes_the_solution_and_the_objective(graphs, tmp_path, backend, shots, objective):
    problem = regular_graph(6, 3, seed=SEED, id="r6").with_max_cut()
    cfg = parse_config({"graphs": str(graphs), "backend": backend, "init": "fixed", "optimizer": "adam:2",
                        "shots": shots, "objective": objective, "out": str(tmp_path / "out")}, RunConfig, where="test")
    with Ledger(tmp_path / "l.db") as led:
        report = execute_run(led, start_run(cfg, led))
    (row,), (detail,) = report["graphs"], report["details"]
    assert row["best_cut"] == pytest.approx(brute_cut(problem, row["best_bitstring"]), abs=TOL)
    assert row["polished_cut"] >= row["best_cut"] and row["best_known_cut"] == problem.max_cut
    assert row["objective"] == objective and detail["objective"] == objective
    if objective != "expectation":
        assert detail["objective_final"] >= detail["ar_final"]
        assert report["spec"]["objective"] == objective


def test_objective_is_checked_before_anything_runs(graphs, tmp_path):
    cfg = parse_config({"graphs": str(graphs), "backend": "fake:torino+zne", "objective": "cvar:0.1", "shots": SHOTS},
                       RunConfig, where="test")
    with Ledger(tmp_path / "l.db") as led, pytest.raises(InputError, match="drop --mitigation"):
        start_run(cfg, led)
    cmp = parse_config({"graphs": str(graphs), "backends": ["ideal", "fake:torino+rem"], "objective": "cvar:0.2"},
                       CompareConfig, where="test")
    with pytest.raises(InputError, match="drop --mitigation"):
        make_units(cmp)
    cmp = parse_config({"graphs": str(graphs), "backends": ["ideal"], "objective": "cvar:0.2"}, CompareConfig, where="test")
    assert {u["objective"] for u in make_units(cmp)} == {"cvar:0.2"}
