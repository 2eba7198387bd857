"""``hybrid run --execution``: the Runtime execution mode is a flag, checked like every other option."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hybrid.cli import app
from hybrid.problems import regular_graph, save_graphs

runner = CliRunner()
SEED = 2


def _graphs(tmp_path):
    return save_graphs([regular_graph(4, 3, seed=SEED, id="k4").with_max_cut()], tmp_path / "g.json")


def test_execution_flag_reaches_the_run_spec(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "--graphs", str(_graphs(tmp_path)), "--backend", "ideal", "--init", "fixed",
                                 "--optimizer", "cobyla:2", "--execution", "session", "--out", str(out),
                                 "--ledger", str(tmp_path / "l.db")])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "results.json").read_text())["spec"]["execution"] == "session"


def test_unknown_execution_mode_is_refused_naming_the_option(tmp_path):
    result = runner.invoke(app, ["run", "--graphs", str(_graphs(tmp_path)), "--execution", "dedicated",
                                 "--ledger", str(tmp_path / "l.db")])
    assert result.exit_code == 2 and "execution" in result.output
