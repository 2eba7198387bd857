"""The benchmark in estimated QPU seconds: per-call job seconds, the reach rule, and one tiny noisy run."""

from __future__ import annotations

import json
import math

import pytest

from backends import get_target
from hybrid.ansatz import qaoa_circuit
from hybrid.benchmark import BenchmarkConfig, Slice, job_calls, run_benchmark, slice_graphs, summarise
from hybrid.qpu_seconds import REMEASURE_CIRCUITS, add_qpu_seconds, call_seconds, job_seconds_for, qpu_seconds, reach_qpu_seconds
from hybrid.problems import ProblemError, from_edges

#: a stand-in usage model: 3 s per job, 0.25 s per circuit
JOB_S, CIRCUIT_S = 3.0, 0.25
SHOTS = 100
REL_TOL = 1e-12
TINY_BUDGET = 5  # evaluations per noisy cell: start, a few COBYLA points, the re-measurement
TINY_QPU_BUDGET_S = 13.0  # about four 100-shot jobs of one circuit


def _stand_in(circuits: int) -> float:
    return JOB_S + CIRCUIT_S * circuits


def test_call_seconds_split_the_history_into_jobs_of_their_own_circuit_counts():
    # calls: 1 point, 2 points (an SPSA pair), 1 point; cumulative [evaluations, shots]
    calls = [[1, 100], [3, 300], [4, 400]]
    assert call_seconds(calls, SHOTS, _stand_in) == [3.25, 3.5, 3.25]
    assert qpu_seconds(calls, SHOTS, _stand_in) == pytest.approx(10.0, rel=REL_TOL)


def test_reach_counts_the_calls_up_to_the_reaching_one_plus_one_remeasurement():
    calls = [[1, 100], [3, 300], [4, 400]]
    remeasure = _stand_in(REMEASURE_CIRCUITS)
    assert reach_qpu_seconds(calls, 3.0, SHOTS, _stand_in) == pytest.approx(3.25 + 3.5 + remeasure, rel=REL_TOL)
    assert reach_qpu_seconds(calls, 1.0, SHOTS, _stand_in) == pytest.approx(3.25 + remeasure, rel=REL_TOL)
    # a start that is already there unmeasured (budget 0) still pays for the job that reports it
    assert reach_qpu_seconds([], 0.0, SHOTS, _stand_in) == pytest.approx(remeasure, rel=REL_TOL)
    assert math.isnan(reach_qpu_seconds(calls, math.nan, SHOTS, _stand_in))


def test_cells_without_a_usage_model_or_without_calls_get_none():
    row = {"budget": 10, "reach_evaluations": 2.0, "jobs": [[1, 100]]}
    add_qpu_seconds(row, SHOTS, None)
    assert row["qpu_seconds"] is None and row["reach_qpu_seconds"] is None
    old = {"budget": 10, "reach_evaluations": 2.0}  # a cell recorded before calls were kept
    add_qpu_seconds(old, SHOTS, _stand_in)
    assert old["qpu_seconds"] is None


@pytest.mark.slow
def test_job_seconds_follow_the_target_usage_model_and_exact_or_ideal_targets_have_none():
    problem = from_edges([(0, 1), (1, 2), (2, 3), (3, 0)])
    target = get_target("fake:torino")
    seconds = job_seconds_for(target, problem, 1, SHOTS)
    expected = target.estimate_usage([qaoa_circuit(problem, 1, measure=True)], SHOTS, points=[2]).quantum_seconds
    assert seconds(2) == pytest.approx(expected, rel=REL_TOL)
    assert seconds(2) >= 2 * SHOTS * target.usage_model().rep_delay_s  # at least shots x circuits x rep delay
    assert job_seconds_for(target, problem, 1, 0) is None
    assert job_seconds_for(get_target("ideal"), problem, 1, SHOTS) is None


def test_job_calls_keep_every_call_in_order():
    history = [{"evaluations": 1, "shots": 100, "params": [0.1]}, {"evaluations": 3, "shots": 300}]
    assert job_calls(history) == [[1, 100], [3, 300]]


def test_summary_keeps_qpu_seconds_and_their_per_seed_medians():
    base = {"target": "fake:torino-shots", "p": 1, "family": "regular", "method": "m", "optimizer": "cobyla",
            "budget": 10, "ar_target": 0.8, "ar_ideal": 0.8, "reach_evaluations": 1.0, "reach_shots": 100.0}
    cells = [{**base, "seed": 0, "qpu_seconds": 30.0, "reach_qpu_seconds": 6.0},
             {**base, "seed": 1, "qpu_seconds": 32.0, "reach_qpu_seconds": 10.0}]
    row = next(r for r in summarise(cells) if r["family"] == "all")
    assert row["qpu_seconds_mean"] == pytest.approx(31.0)
    assert row["reach_qpu_seconds_median"] == pytest.approx(8.0)
    assert row["reach_qpu_seconds_seed_medians"] == [6.0, 10.0]


@pytest.mark.slow
def test_tiny_noisy_benchmark_reports_qpu_seconds_beside_evaluations(tmp_path):
    config = BenchmarkConfig(
        "tiny-qpu",
        (Slice("fake:torino-shots", depths=(1,), per_family=1, families=("regular",), nodes={"regular": [6]},
               paper_graphs=0, methods=("fixed",), optimizers=("cobyla",), budgets=(0, TINY_BUDGET), seeds=(0,),
               qpu_budgets=(TINY_QPU_BUDGET_S,)),),
        shots=SHOTS,
        auto_budget=TINY_BUDGET,
    )
    report = run_benchmark(config, tmp_path / "out", write_auto=None, log=lambda m: None)
    cell = next(c for c in report["cells"] if c["budget"] == TINY_BUDGET)
    target = get_target("fake:torino")
    problem = slice_graphs(config.slices[0])[0][1]
    circuit = qaoa_circuit(problem, 1, measure=True)
    expected = 0.0
    spent = 0
    for _, shots in cell["jobs"]:
        expected += target.estimate_usage([circuit], SHOTS, points=[(shots - spent) // SHOTS]).quantum_seconds
        spent = shots
    assert len(cell["jobs"]) == cell["evaluations"]  # one point per COBYLA call and per re-measurement
    assert cell["qpu_seconds"] == pytest.approx(expected, rel=REL_TOL)
    assert cell["reach_qpu_seconds"] <= cell["qpu_seconds"] + target.estimate_usage([circuit], SHOTS).quantum_seconds
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    row = next(r for r in saved["summary"] if r["budget"] == TINY_BUDGET and r["family"] == "all")
    assert row["qpu_seconds_mean"] == pytest.approx(expected, rel=REL_TOL)
    tables = (tmp_path / "out" / "tables.md").read_text()
    assert "QPU s to 99 %" in tables and f"{TINY_QPU_BUDGET_S:g}s of estimated QPU seconds" in tables
    # budgeted in QPU seconds: no call past the budget, and the budget is what stopped the optimiser
    timed = next(c for c in report["cells"] if c["budget"] == f"{TINY_QPU_BUDGET_S:g}s")
    assert 0 < timed["qpu_seconds"] <= TINY_QPU_BUDGET_S and timed["budget_stop"] == "max_qpu_seconds"
    assert timed["qpu_seconds"] + target.estimate_usage([circuit], SHOTS).quantum_seconds > TINY_QPU_BUDGET_S


def test_qpu_budgets_need_a_sampled_device_target():
    with pytest.raises(ProblemError, match="qpu_budgets need a sampled device target"):
        Slice("ideal-shots", qpu_budgets=(10.0,))
    with pytest.raises(ProblemError, match="qpu_budgets must be positive seconds"):
        Slice("fake:torino-shots", qpu_budgets=(0,))
