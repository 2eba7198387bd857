"""Device scale at the command line: `hybrid run` on `ideal` at p = 1 for 100,000 nodes (closed form) and
at p = 2 for a 1000-node 3-regular graph (exact light cones)."""

from __future__ import annotations

import json

import pytest
from cli_batch import run_case

from hybrid.problems import regular_graph, save_graphs

SEED = 1
HUGE_N = 100_000
CONE_N = 1000


@pytest.mark.slow
@pytest.mark.parametrize("n, p", [(HUGE_N, 1), (CONE_N, 2)])
def test_hybrid_run_on_ideal_at_device_scale(tmp_path, n, p):
    graphs = save_graphs([regular_graph(n, 3, seed=SEED)], tmp_path / "g.json")
    out = tmp_path / "out"
    result = run_case({"argv": ["run", "--graphs", str(graphs), "--backend", "ideal", "--p", str(p), "--init", "fixed",
                                "--optimizer", "adam:2", "--ledger", str(tmp_path / "l.db"), "--out", str(out)]})
    assert result["escaped"] is None and result["code"] == 0, result["stderr"]
    (row,) = json.loads((out / "results.json").read_text())["graphs"]
    assert row["n"] == n and 0.5 < row["ar_final"] <= 1.0
