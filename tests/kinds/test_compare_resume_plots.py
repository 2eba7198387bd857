"""A compare sweep started with --no-plots keeps that choice when it is resumed."""

from __future__ import annotations

import json

from cli_batch import run_case

from hybrid.compare import CompareConfig, start_compare
from hybrid.ledger import Ledger

TRIANGLE = [{"n": 3, "edges": [[0, 1], [1, 2], [0, 2]]}]


def test_a_resumed_sweep_respects_no_plots_recorded_at_start(tmp_path):
    graphs = tmp_path / "g.json"
    graphs.write_text(json.dumps(TRIANGLE))
    out = tmp_path / "out"
    ledger = tmp_path / "l.db"
    cfg = CompareConfig(graphs=str(graphs), backends=["ideal"], inits=["fixed"], ps=[1], optimizer="adam:1",
                        out=str(out), landscape={"enabled": False}, plots=False)
    with Ledger(ledger) as led:  # registered as `hybrid compare --no-plots` does, then killed before running
        rid = start_compare(cfg, led, "sweep")
        assert led.run(rid)["spec"]["plots"] is False
    result = run_case({"argv": ["jobs", "resume", rid, "--ledger", str(ledger)]})
    assert result["code"] == 0, result["stderr"]
    assert (out / "compare.json").exists() and not (out / "figures").exists()
    assert "figure files" not in result["stdout"]
