"""Every run kind resumes in process: interrupted (Ctrl-C) after some cells, then driven again
through its registry entry, it ends with the uninterrupted run's results. The killed-subprocess
versions of these tests are marked slow; these keep resume in the default suite."""

from __future__ import annotations

import json

import pytest

from hybrid.benchmark import BenchmarkConfig, Slice
from hybrid.compare import CompareConfig
from hybrid.evaluate import EvaluateConfig
from hybrid.kinds import get_kind
from hybrid.ledger import Ledger
from hybrid.problems import erdos_renyi, regular_graph, save_graphs
from hybrid.runs import RunConfig
from killing import without

SEED = 11
INTERRUPT_AFTER = 1  # cells (graphs) recorded before the Ctrl-C
#: fields that differ between two runs of one program (time, names, paths)
RUN_ONLY_FIELDS = ("wall_time", "created", "run_id", "out", "path", "status", "complete", "pending", "spec",
                   "already_done", "wall_time_mean", "job_ids")
TINY = BenchmarkConfig(
    "tiny",
    (Slice("ideal", depths=(1,), per_family=2, families=("regular",), nodes={"regular": [6]}, paper_graphs=0,
           methods=("fixed",), optimizers=("cobyla",), budgets=(0, 10), seeds=(0,)),),
    auto_budget=10,
)


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    graphs = [regular_graph(6, 3, seed=SEED, id="a"), erdos_renyi(5, 0.6, seed=SEED, id="b")]
    save_graphs([g.with_max_cut() for g in graphs], tmp_path / "g.json")
    return tmp_path


def _plans(world):
    return {
        "run": lambda rid: get_kind("run").validate(
            RunConfig(graphs="g.json", backend="ideal", init="fixed", optimizer="adam:3", seed=SEED), rid, world / "L.db"),
        "evaluate": lambda rid: get_kind("evaluate").validate(
            EvaluateConfig(graphs="g.json", backend="ideal", init="random:3", seed=SEED), rid),
        "compare": lambda rid: get_kind("compare").validate(
            CompareConfig(graphs="g.json", backends=["ideal"], inits=["fixed"], optimizer="adam:3", seed=SEED,
                          landscape={"enabled": False}, plots=False), rid, world / "L.db"),
        "benchmark": lambda rid: get_kind("benchmark").validate(TINY, rid, world / "L.db", write_auto=None),
    }


def _comparable(report):
    return json.loads(json.dumps(without(report, RUN_ONLY_FIELDS), default=str))


@pytest.mark.parametrize("name", ["run", "evaluate", "compare", "benchmark"])
def test_an_interrupted_run_resumes_to_the_uninterrupted_result(world, monkeypatch, name):
    kind, plan = get_kind(name), _plans(world)[name]
    quiet = lambda message: None  # noqa: E731
    with Ledger(world / "L.db") as led:
        whole = kind.execute(led, kind.register(led, plan("whole")), quiet)
        real, recorded = led.record_result, []

        def cut(run_id, key, value):
            if run_id == "cut" and len(recorded) == INTERRUPT_AFTER:
                raise KeyboardInterrupt
            recorded.append(key)
            return real(run_id, key, value)

        kind.register(led, plan("cut"))
        monkeypatch.setattr(led, "record_result", cut)
        with pytest.raises(KeyboardInterrupt):
            kind.execute(led, "cut", quiet)
        assert led.run("cut")["status"] == "interrupted"
        assert len(led.results("cut")) == INTERRUPT_AFTER
        monkeypatch.setattr(led, "record_result", real)
        resumed = kind.execute(led, "cut", quiet)
        assert led.run("cut")["status"] == "done"
        again = kind.execute(led, "cut", quiet)
    assert again.get("already_done")
    assert _comparable(resumed) == _comparable(whole)
