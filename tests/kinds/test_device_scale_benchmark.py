"""The device-scale equal-budget benchmark: its config loads, and slices run device-native graph specs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from hybrid.device_graphs import heavy_hex_graph
from hybrid.benchmark import TARGETS, BenchmarkConfig, Slice, run_benchmark, slice_graphs
from hybrid.problems import parse_heavy_hex_spec

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "benchmark_device_scale.json"
#: What the device-scale benchmark must cover.
DEVICES = {"torino", "fez"}
STARTS = {"learned", "regression", "transfer", "fixed"}
BUDGET = 10
SEEDS = 3
MIN_GRAPHS = 6


def test_device_scale_config_loads_and_covers_the_grid():
    config = BenchmarkConfig.from_dict(json.loads(CONFIG.read_text()))
    assert BenchmarkConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    specs = [spec for sl in config.slices for spec in sl.graphs]
    assert len(specs) >= MIN_GRAPHS
    parsed = [parse_heavy_hex_spec(spec) for spec in specs]
    assert {p["device"] for p in parsed} == DEVICES
    for device in DEVICES:
        kinds = {p["weights"] is not None for p in parsed if p["device"] == device}
        assert kinds == {True, False}, f"{device}: weighted and unweighted graphs"
    for sl in config.slices:
        assert sl.target in TARGETS and set(sl.depths) == {1, 2, 3}
        assert STARTS <= set(sl.methods) and BUDGET in sl.budgets and len(sl.seeds) == SEEDS
        assert sl.per_family == 0 and sl.paper_graphs == 0


def test_device_spec_graphs_run_in_a_slice(tmp_path):
    sl = Slice("ideal", depths=(1,), per_family=0, paper_graphs=0, graphs=("heavyhex:torino:8:seed=2",),
               methods=("fixed", "regression"), optimizers=("cobyla",), budgets=(0, BUDGET), seeds=(0,))
    ((set_name, graph),) = slice_graphs(sl)
    assert set_name == "heavyhex:torino:8:seed=2"
    assert graph.edges == heavy_hex_graph("torino", 8, seed=2).edges and graph.max_cut is not None
    report = run_benchmark(BenchmarkConfig("device-tiny", (sl,)), tmp_path, write_auto=None, log=lambda _m: None)
    cells = [c for c in report["cells"] if "error" not in c]
    assert {(c["method"], c["budget"]) for c in cells} == {("fixed", 0), ("regression", 0), ("fixed", BUDGET), ("regression", BUDGET)}
    assert all(c["set"] == set_name and 0 < c["ar_target"] <= 1 for c in cells)
    assert Slice.from_dict(sl.to_dict()) == sl


def test_unknown_target_is_named():
    from hybrid.problems import ProblemError

    with pytest.raises(ProblemError, match="unknown benchmark target 'fake:nowhere'"):
        replace(Slice("ideal"), target="fake:nowhere")
