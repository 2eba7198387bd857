"""Re-running the demo keeps earlier runs: new run ids each time, every id it reports still in the ledger."""

from __future__ import annotations

import hybrid.demo as demo
from hybrid.ledger import Ledger

FAST_RUN = {**demo.DEMO_RUNTIME_RUN, "init": "fixed", "optimizer": "adam:1", "mitigation": "none", "shots": None,
            "execution": "auto"}


def test_the_runtime_rehearsal_adds_runs_and_keeps_the_earlier_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_RUNTIME_TARGETS", ("ideal",))
    monkeypatch.setattr(demo, "DEMO_RUNTIME_RUN", FAST_RUN)
    first = demo.run_runtime_rehearsal(tmp_path)
    second = demo.run_runtime_rehearsal(tmp_path)
    ids = [r["run_id"] for r in first["rows"] + second["rows"]]
    assert len(set(ids)) == 2
    with Ledger(tmp_path / "ledger.db", mode="read") as led:
        assert {r["run_id"] for r in led.runs()} == set(ids)
        assert all(led.run(rid)["status"] == "done" for rid in ids)
    assert len(list((tmp_path / "runs").iterdir())) == 2  # each run's results in its own folder
