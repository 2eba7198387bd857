"""``hybrid plan``: predictions on a small device-native graph, the budget rule, the plan.json schema."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hybrid.plan import PLAN_KEYS, PLAN_SCHEMA, ROW_KEYS, PlanConfig, recommend, run_plan

#: A 6-node connected piece of Torino's coupling map: exact density matrices, seconds.
GRAPH = "heavyhex:torino:6:seed=1"
BACKEND = "fake:torino"
#: AR values are ratios of expectations; equal values agree to this.
AR_TOL = 1e-9
#: Mitigated must not be further from ideal than noisy by more than this (exact REM is unbiased).
MITIGATION_TOL = 1e-9


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan")
    config = PlanConfig(GRAPH, BACKEND, depths=(1, 2), mitigations=("none", "rem"), refine_iters=5)
    return run_plan(config, out, log=lambda _msg: None)


def test_plan_writes_json_table_and_figure(plan, tmp_path):
    from pathlib import Path

    out = Path(plan["out"])
    data = json.loads((out / "plan.json").read_text())
    assert set(PLAN_KEYS) <= set(data) and data["schema"] == PLAN_SCHEMA
    assert json.loads(json.dumps(PlanConfig.from_dict(data["config"]).to_dict())) == data["config"]
    (graph,) = data["graphs"]
    assert [(r["p"], r["mitigation"]) for r in graph["rows"]] == [(1, "none"), (1, "rem"), (2, "none"), (2, "rem")]
    for row in graph["rows"]:
        assert "error" not in row, row.get("error")
        assert set(ROW_KEYS) <= set(row)
    table = (out / "plan.md").read_text()
    assert "| 2 | rem |" in table and "Recommended: p = " in table
    assert {Path(f).suffix for f in plan["figures"]} == {".png", ".svg"} and all(Path(f).stat().st_size for f in plan["figures"])


def test_predictions_are_consistent(plan):
    rows = plan["graphs"][0]["rows"]
    by = {(r["p"], r["mitigation"]): r for r in rows}
    for p in (1, 2):
        none, rem = by[(p, "none")], by[(p, "rem")]
        assert none["ideal_ar"] == rem["ideal_ar"] and 0 < none["noisy_ar"] < none["ideal_ar"] <= 1
        assert abs(none["mitigated_ar"] - none["noisy_ar"]) < AR_TOL
        assert abs(rem["mitigated_ar"] - rem["ideal_ar"]) <= abs(rem["noisy_ar"] - rem["ideal_ar"]) + MITIGATION_TOL
        assert rem["qpu_seconds_per_run"] > none["qpu_seconds_per_run"]  # readout calibration circuits
        assert none["shots_per_run"] == none["circuits_per_evaluation"] * 10 * 4000
    assert by[(2, "none")]["two_qubit_gates"] == 2 * by[(1, "none")]["two_qubit_gates"]
    assert by[(2, "none")]["ideal_ar"] > by[(1, "none")]["ideal_ar"]


def test_recommendation_honours_the_budget(plan):
    rows = plan["graphs"][0]["rows"]
    costs = sorted(r["qpu_seconds_per_run"] for r in rows)
    free = recommend(rows, None)
    assert free["predicted_ar"] == max(r["predicted_ar"] for r in rows)
    budget = float(np.mean(costs[:2]))  # between the two cheapest runs: only the cheapest fits
    tight = recommend(rows, budget)
    assert tight["qpu_seconds_per_run"] <= budget
    fitting = [r for r in rows if r["qpu_seconds_per_run"] <= budget]
    assert tight["predicted_ar"] == max(r["predicted_ar"] for r in fitting)
    none = recommend(rows, costs[0] / 2)
    assert none["p"] is None and "raise --budget-qpu-seconds" in none["reason"]


def test_recommend_prefers_the_better_cut_then_the_cheaper_run():
    rows = [
        {"p": 1, "mitigation": "none", "predicted_ar": 0.70, "qpu_seconds_per_run": 10.0},
        {"p": 2, "mitigation": "none", "predicted_ar": 0.75, "qpu_seconds_per_run": 10.0},
        {"p": 2, "mitigation": "zne+rem", "predicted_ar": 0.80, "qpu_seconds_per_run": 30.0},
        {"p": 3, "mitigation": "zne+rem", "predicted_ar": 0.80, "qpu_seconds_per_run": 40.0},
        {"p": 3, "mitigation": "none", "error": "TargetError: too large"},
    ]
    assert (recommend(rows, None)["p"], recommend(rows, None)["mitigation"]) == (2, "zne+rem")
    assert (recommend(rows, 29.0)["p"], recommend(rows, 29.0)["mitigation"]) == (2, "none")
    assert recommend(rows[-1:], None)["p"] is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"depths": (0,)}, "--p must list depths"),
        ({"mitigations": ("zne+bogus",)}, "bogus"),
        ({"budget_qpu_seconds": -1.0}, "--budget-qpu-seconds must be positive"),
        ({"backend": "ideal"}, "--backend must be a fake:<device>"),
    ],
)
def test_bad_plan_options_name_the_flag(kwargs, match):
    from hybrid.problems import ProblemError

    args = {"graphs": GRAPH, "backend": BACKEND, **kwargs}
    with pytest.raises((ProblemError, ValueError), match=match):
        PlanConfig(**args)


def test_unknown_plan_keys_are_rejected():
    from hybrid.problems import ProblemError

    with pytest.raises(ProblemError, match="unknown plan option"):
        PlanConfig.from_dict({"graphs": GRAPH, "backend": BACKEND, "depth": 3})
