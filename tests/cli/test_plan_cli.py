"""``hybrid plan`` on the command line: bad flags are named before anything runs."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hybrid.cli import app

runner = CliRunner()
GRAPH = "heavyhex:torino:6:seed=1"


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--backend", "ideal"], "--backend must be a fake:<device>"),
        (["--backend", "fake:torino", "--p", "1,x"], "--p must be comma-separated integers"),
        (["--backend", "fake:torino", "--budget-qpu-seconds", "0"], "--budget-qpu-seconds must be positive"),
    ],
)
def test_bad_plan_flags_are_named(flags, match, tmp_path):
    result = runner.invoke(app, ["plan", "--graphs", GRAPH, *flags, "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert match in result.output
    assert not (tmp_path / "plan.json").exists()
