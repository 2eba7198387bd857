"""Compare tables show the estimated QPU seconds of each (target, start, depth) beside evaluations and shots."""

from __future__ import annotations

import pytest

from hybrid.compare import SUMMARY_COLUMNS, summarise

QPU_SECONDS = (30.0, 34.0)


def _cell(graph: str, qpu_seconds):
    result = {"ar_final": 0.8, "ideal_ar_final": 0.85, "ar_init": 0.7, "evaluations": 10, "shots": 10000,
              "wall_time": 1.0}
    if qpu_seconds is not None:
        result["qpu_seconds"] = qpu_seconds
    return {"label": "fake:torino", "backend": "fake:torino", "mitigation": "none", "init": "fixed", "p": 1,
            "graph": graph, "optimum_shift": 0.1, "result": result}


def test_summary_means_qpu_seconds_over_graphs():
    rows = summarise([_cell("a", QPU_SECONDS[0]), _cell("b", QPU_SECONDS[1])])
    assert rows[0]["qpu_seconds_mean"] == pytest.approx(sum(QPU_SECONDS) / 2)
    assert "qpu_seconds_mean" in SUMMARY_COLUMNS


def test_targets_without_a_usage_model_show_none_not_zero():
    rows = summarise([_cell("a", QPU_SECONDS[0]), _cell("b", None)])
    assert rows[0]["qpu_seconds_mean"] is None
