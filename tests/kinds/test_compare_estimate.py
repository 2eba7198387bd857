"""compare estimates its cost and asks like run: a long sweep needs --yes, before anything is created."""

from __future__ import annotations

import pytest

import hybrid.validation as validation
from hybrid.compare import CompareConfig, estimate_compare, make_units, validate_compare
from hybrid.problems import regular_graph, save_graphs
from hybrid.runs import RunConfig
from hybrid.validation import InputError, estimate_run


def _cfg(tmp_path, **extra):
    graphs = save_graphs([regular_graph(6, 3, seed=s, id=f"g{s}").with_max_cut() for s in (1, 2)], tmp_path / "g.json")
    return CompareConfig(graphs=str(graphs), backends=["ideal", "aer"], inits=["fixed", "tqa"], ps=[1, 2],
                         optimizer="cobyla:4", shots=200, out=str(tmp_path / "out"), **extra)


def test_the_sweep_costs_the_sum_of_its_runs(tmp_path):
    from backends import get_target

    cfg = _cfg(tmp_path)
    est = estimate_compare(cfg, make_units(cfg))
    problems = [regular_graph(6, 3, seed=s, id=f"g{s}").with_max_cut() for s in (1, 2)]
    runs = [estimate_run(RunConfig(graphs=cfg.graphs, backend=b, init=i, p=p, optimizer="cobyla:4", shots=200),
                         problems, get_target(b)) for b in ("ideal", "aer") for i in ("fixed", "tqa") for p in (1, 2)]
    assert est.seconds == pytest.approx(sum(r.seconds for r in runs))
    assert est.evaluations == sum(r.evaluations for r in runs)
    assert est.memory_bytes == max(r.memory_bytes for r in runs)


def test_a_long_sweep_is_refused_without_yes_and_nothing_is_created(tmp_path, monkeypatch):
    monkeypatch.setattr(validation, "LONG_RUN_S", 0.0)
    cfg, ledger = _cfg(tmp_path), tmp_path / "ledger.db"
    with pytest.raises(InputError, match=r"estimate: about .*pass --yes"):
        validate_compare(cfg, "sweep", ledger, yes=False)
    assert not ledger.exists() and not (tmp_path / "out").exists()
    said: list[str] = []
    spec, _ = validate_compare(cfg, "sweep", ledger, yes=True, announce=said.append)
    assert spec["kind"] == "compare" and len(said) == 1 and said[0].startswith("estimate: about")


def test_a_short_sweep_asks_nothing(tmp_path):
    said: list[str] = []
    validate_compare(_cfg(tmp_path), "sweep", tmp_path / "ledger.db", yes=False, announce=said.append)
    assert said == []


def test_a_long_benchmark_is_refused_without_yes_and_nothing_is_created(tmp_path, monkeypatch):
    from hybrid.benchmark import BenchmarkConfig, Slice, estimate_benchmark, validate_benchmark

    graphs = save_graphs([regular_graph(6, 3, seed=1, id="g").with_max_cut()], tmp_path / "g.json")
    config = BenchmarkConfig("tiny", (Slice("ideal", depths=(1,), per_family=0, paper_graphs=0, graphs=(str(graphs),),
                                            methods=("fixed",), optimizers=("cobyla",), budgets=(0, 5), seeds=(0, 1)),))
    est = estimate_benchmark(config)
    assert est.evaluations > 0 and est.seconds > 0
    monkeypatch.setattr(validation, "LONG_RUN_S", 0.0)
    with pytest.raises(InputError, match=r"estimate: about .*pass --yes"):
        validate_benchmark(config, "bench", tmp_path / "l.db", tmp_path / "out", yes=False)
    assert not (tmp_path / "l.db").exists() and not (tmp_path / "out").exists()
    said: list[str] = []
    validate_benchmark(config, "bench", tmp_path / "l.db", tmp_path / "out", yes=True, announce=said.append)
    assert len(said) == 1
