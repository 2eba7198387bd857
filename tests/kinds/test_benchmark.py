"""The equal-budget benchmark: traces, reach, summaries, the auto table and one tiny end-to-end run."""

from __future__ import annotations

import json
import math

import pytest

from hybrid.benchmark import (
    BenchmarkConfig,
    Slice,
    auto_table,
    incumbent_trace,
    reach,
    run_benchmark,
    summarise,
)
from hybrid.problems import ProblemError

BUDGET = 6


def test_incumbent_trace_scores_only_improvements():
    history = [
        {"params": [0.1, 0.1], "energy": 5.0, "evaluations": 1, "shots": 100},
        {"params": [0.2, 0.1], "energy": 4.0, "evaluations": 2, "shots": 200},
        {"params": [0.3, 0.1], "energy": 6.0, "evaluations": 3, "shots": 300},
    ]
    scored = []

    def score(theta):
        scored.append(tuple(theta))
        return theta[0]

    trace = incumbent_trace(history, score)
    assert trace == [[1, 100, 0.1], [3, 300, 0.3]]
    assert scored == [(0.1, 0.1), (0.3, 0.1)]


def test_reach_by_hand():
    trace = [[1, 100, 0.90], [4, 400, 0.985], [7, 700, 0.995]]
    assert reach(trace, 1.0) == (7.0, 700.0)
    assert reach(trace, 0.99) == (4.0, 400.0)  # 0.985 >= 0.99 * 0.99
    assert all(math.isnan(x) for x in reach(trace, 1.1))


def _cell(method, seed, ar, family="regular", budget=10, target="ideal"):
    return {"target": target, "p": 1, "family": family, "method": method, "optimizer": "cobyla", "budget": budget,
            "seed": seed, "ar_target": ar, "ar_ideal": ar, "reach_evaluations": 3.0 if ar > 0.8 else math.nan,
            "reach_shots": 0.0 if ar > 0.8 else math.nan}


def test_summary_spread_over_seeds_and_auto_choice():
    cells = [_cell("fixed", 0, 0.80), _cell("fixed", 1, 0.84), _cell("tqa", 0, 0.83), _cell("tqa", 1, 0.83),
             _cell("fixed", 0, 0.70, family="sparse"), _cell("tqa", 0, 0.75, family="sparse")]
    summary = summarise(cells)
    row = next(r for r in summary if r["family"] == "regular" and r["method"] == "fixed")
    assert row["ar_target"] == pytest.approx(0.82) and row["ar_target_seed_std"] == pytest.approx(0.02)
    assert row["reached_fraction"] == 0.5 and math.isnan(row["reach_evaluations_median"])
    table = auto_table(summary, shots=1000, budget=10)
    assert table["choices"]["ideal"] == {"regular": {"1": "tqa"}, "sparse": {"1": "tqa"}}


def test_slice_rejects_unknown_target():
    with pytest.raises(ProblemError, match="unknown benchmark target 'qpu'"):
        Slice("qpu")


def test_tiny_benchmark_end_to_end(tmp_path, monkeypatch):
    from hybrid.strategies import fit as fit_module

    shipped = fit_module.AUTO_PATH.read_bytes()
    config = BenchmarkConfig(
        "tiny",
        (Slice("ideal", depths=(1,), per_family=1, families=("regular",), nodes={"regular": [6]}, paper_graphs=0,
               methods=("fixed", "tqa:0.75"), optimizers=("cobyla",), budgets=(0, BUDGET), seeds=(0,)),),
        auto_budget=BUDGET,
    )
    report = run_benchmark(config, tmp_path / "out", log=lambda m: None, write_auto=tmp_path / "auto.json")
    assert fit_module.AUTO_PATH.read_bytes() == shipped, "the package's auto.json is written only when named"
    cells = [c for c in report["cells"] if "error" not in c]
    assert len(cells) == 4  # two starts, alone and at BUDGET
    for c in cells:
        assert c["evaluations"] <= c["budget"]
        assert 0 < c["ar_target"] <= c["best_known_target"] + 1e-9
    assert (tmp_path / "out" / "tables.md").read_text().startswith("# Equal-budget benchmark (tiny)")
    assert (tmp_path / "out" / "figures" / "ar_vs_budget_ideal.png").exists()
    assert json.loads((tmp_path / "auto.json").read_text())["choices"]["ideal"]["regular"]["1"] in ("fixed", "tqa:0.75")
    assert BenchmarkConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    run_benchmark(config, tmp_path / "again", log=lambda m: None)  # no --write-auto: no table anywhere
    assert fit_module.AUTO_PATH.read_bytes() == shipped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "auto.json", "out"]


def test_auto_table_merges_runs_and_names_their_sources():
    from hybrid.benchmark import merge_auto

    first = {"budget": 10, "choices": {"ideal": {"regular": {"1": "fixed", "2": "tqa"}}},
             "mean_ar_target": {"ideal": {"regular": {"1": 0.8, "2": 0.85}}}}
    doc = merge_auto(None, first, {"benchmark": "sweep", "created": "t1", "command": "c1"})
    second = {"budget": 10, "choices": {"ideal": {"regular": {"2": "learned"}}, "noisy-shots": {"paper": {"3": "regression"}}},
              "mean_ar_target": {"ideal": {"regular": {"2": 0.86}}, "noisy-shots": {"paper": {"3": 0.7}}}}
    doc = merge_auto(doc, second, {"benchmark": "slice", "created": "t2", "command": "c2"})
    assert doc["choices"]["ideal"]["regular"] == {"1": "fixed", "2": "learned"}
    assert doc["sources"]["ideal"]["regular"] == {"1": "sweep", "2": "slice"}
    assert doc["choices"]["noisy-shots"]["paper"]["3"] == "regression"
    assert [r["benchmark"] for r in doc["runs"]] == ["sweep", "slice"]
    other_budget = merge_auto(doc, {**second, "budget": 30}, {"benchmark": "b30", "created": "t3", "command": "c3"})
    assert "1" not in other_budget["choices"]["ideal"]["regular"]  # a table of another budget starts afresh
