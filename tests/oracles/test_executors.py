"""Executors: the same results in process and on a local Ray instance (num_cpus=2)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from hybrid.compare import CompareConfig, make_units, run_compare, run_unit
from hybrid.config import MetaConfig, parse_config
from hybrid.executors import ExecutorError, LocalExecutor, get_executor
from hybrid.meta import train
from hybrid.problems import erdos_renyi, regular_graph, save_graphs

ray = pytest.importorskip("ray")

SEED = 17
RAY_CPUS = 2
#: Same code, same inputs, same machine: results agree exactly; across machines ~1e-12.
TOLERANCE = 1e-12
TIMING = ("wall_time",)


@pytest.fixture(scope="module")
def ray_executor():
    ray.init(num_cpus=RAY_CPUS, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    executor = get_executor("ray")
    yield executor
    executor.shutdown()
    ray.shutdown()


@pytest.fixture
def graphs(tmp_path):
    problems = [regular_graph(4, 3, seed=SEED, id="k4"), erdos_renyi(5, 0.6, seed=SEED, id="er5")]
    return save_graphs([p.with_max_cut() for p in problems], tmp_path / "g.json")


def strip_timing(cell: dict) -> dict:
    result = {k: v for k, v in cell["result"].items() if k not in TIMING}
    return {**{k: v for k, v in cell.items() if k != "result"}, "result": result}


def assert_close(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_close(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_close(x, y)
    elif isinstance(a, float):
        assert a == pytest.approx(b, abs=TOLERANCE, rel=TOLERANCE)
    else:
        assert a == b


def test_unknown_executor_is_rejected():
    with pytest.raises(ExecutorError, match="unknown executor 'spark'"):
        get_executor("spark")
    assert isinstance(get_executor("local"), LocalExecutor)


def test_compare_grid_same_on_ray(graphs, tmp_path, ray_executor):
    cfg = CompareConfig(
        graphs=str(graphs), backends=["ideal", "fake:manila"], inits=["learned", "fixed"], optimizer="adam:2",
        out=str(tmp_path / "local"), landscape={"enabled": False},
    )
    local = run_compare(cfg, progress=False)
    distributed = run_compare(cfg.model_copy(update={"out": str(tmp_path / "ray")}), executor=ray_executor, progress=False)
    assert len(distributed["cells"]) == 8
    assert_close([strip_timing(c) for c in distributed["cells"]], [strip_timing(c) for c in local["cells"]])


def test_failed_unit_is_reported_not_dropped(graphs, ray_executor):
    units = make_units(CompareConfig(graphs=str(graphs), backends=["ideal"], inits=["fixed"], optimizer="adam:1"))
    bad = dict(units[1], backend="fake:nowhere", label="fake:nowhere")
    with pytest.raises(ExecutorError, match=r"unit 1 \(graph er5 on fake:nowhere, init fixed, p=1\) failed after 3 attempts"):
        ray_executor.map_units(run_unit, [units[0], bad])


def flaky_unit(unit: dict) -> dict:
    """Fails on the first attempt of each unit (a marker file tells), then succeeds."""
    from pathlib import Path

    marker = Path(unit["marker"])
    if not marker.exists():
        marker.write_text("failed once")
        raise RuntimeError("transient worker failure")
    return {"value": unit["value"] * 2}


def test_failed_attempts_are_retried(tmp_path, ray_executor):
    units = [{"value": i, "marker": str(tmp_path / f"m{i}")} for i in range(4)]
    done = []
    out = ray_executor.map_units(flaky_unit, units, lambda: done.append(1))
    assert out == [{"value": 2 * i} for i in range(4)] and len(done) == 4


def test_two_noisy_meta_training_steps_same_on_ray(tmp_path, ray_executor):
    spec = {
        "model": "lstm",
        "data": {"ns": [4, 5], "per_nk": 2},
        "validation": {"count": 2, "ns": [5], "every": 2, "patience": 5},
        "stages": [{"name": "noisy", "oracle": "fake:manila", "iterations": 2, "batch_size": 3,
                    "validate_on": "stage", "val_ns": [4], "val_count": 2}],
        "steps": 3,
        "seed": SEED,
    }
    local = train(parse_config({**spec, "out": str(tmp_path / "local")}, MetaConfig), progress=False)
    # the executor is passed through the config; the module's Ray instance is reused
    distributed = train(parse_config({**spec, "out": str(tmp_path / "ray"), "executor": "ray"}, MetaConfig), progress=False)
    assert ray.is_initialized()
    assert_close(distributed.history, local.history)
    assert np.isfinite(local.best_validation_ar)
