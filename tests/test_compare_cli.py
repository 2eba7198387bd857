"""The compare grid, the demo and the command line."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from hybrid.cli import app
from hybrid.compare import CompareConfig, make_units, parameter_distance, run_compare, split_label, summarise
from hybrid.config import ConfigError
from hybrid.problems import erdos_renyi, regular_graph, save_graphs

SEED = 5
runner = CliRunner()
SUMMARY_FIELDS = (
    "label", "init", "p", "graphs", "ar_target_mean", "ar_target_std", "ar_ideal_mean", "ar_ideal_std",
    "evaluations_mean", "shots_mean", "wall_time_mean", "optimum_shift_mean",
)


@pytest.fixture
def graphs(tmp_path):
    problems = [regular_graph(4, 3, seed=SEED, id="k4"), erdos_renyi(5, 0.6, seed=SEED, id="er5")]
    return save_graphs([p.with_max_cut() for p in problems], tmp_path / "g.json")


def test_labels_and_units(graphs):
    assert split_label("fake:torino+zne+rem") == ("fake:torino", "zne+rem")
    assert split_label("ideal") == ("ideal", "none")
    cfg = CompareConfig(graphs=str(graphs), backends=["ideal", "fake:manila+rem"], inits=["fixed", "tqa"], ps=[1, 2])
    units = make_units(cfg)
    assert len(units) == 2 * 2 * 2 * 2
    assert json.loads(json.dumps(units)) == units  # plain data, ready for any executor
    with pytest.raises(ConfigError, match="at least one entry"):
        make_units(CompareConfig(graphs=str(graphs), inits=[]))
    assert parameter_distance([0.5, 0.3], [-0.5, -0.3]) == pytest.approx(0.0)


def test_compare_grid_writes_table_and_report(graphs, tmp_path):
    cfg = CompareConfig(
        graphs=str(graphs), backends=["ideal", "fake:manila", "fake:manila+rem"], inits=["learned", "fixed"],
        optimizer="adam:2", out=str(tmp_path / "cmp"), landscape={"points": 6},
    )
    report = run_compare(cfg, progress=False)
    assert len(report["cells"]) == 2 * 3 * 2
    rows = list(csv.DictReader(open(tmp_path / "cmp" / "compare.csv")))
    assert len(rows) == 3 * 2 and set(SUMMARY_FIELDS) <= set(rows[0])
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert saved["summary"] == summarise(saved["cells"])
    by = {(r["label"], r["init"]): r for r in saved["summary"]}
    # noise lowers the AR measured on the device; readout mitigation brings it back up
    assert by[("fake:manila", "fixed")]["ar_target_mean"] < by[("ideal", "fixed")]["ar_target_mean"]
    assert by[("fake:manila+rem", "fixed")]["ar_target_mean"] > by[("fake:manila", "fixed")]["ar_target_mean"]
    land = saved["landscapes"][0]
    assert len(land["ideal"]) == 6 and land["noisy"] is not None and set(land["starts"]) == {"learned", "fixed"}

    result = runner.invoke(app, ["plot", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    pngs = sorted((tmp_path / "cmp" / "figures").glob("*.png"))
    assert len(pngs) == 3  # convergence, bars, landscape; redrawn from the saved report only


def test_demo_writes_report_with_figures(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "demo" / "report.md").read_text()
    assert "| fake:torino+zne+rem | learned |" in report
    # The Runtime rehearsal: local:torino jobs in the demo's ledger, listed in the report.
    from hybrid.ledger import Ledger

    rows = {
        line.split("|")[1].strip(): line.split("`")[1]
        for line in report.splitlines()
        if line.startswith(("| local:torino | `", "| fake:torino | `"))
    }
    assert set(rows) == {"local:torino", "fake:torino"}
    with Ledger(tmp_path / "demo" / "ledger.db") as led:
        local_jobs = led.jobs(rows["local:torino"])
        assert local_jobs and all(j["status"] == "done" for j in local_jobs)
        assert led.jobs(rows["fake:torino"]) == []
    assert all(f"│ {j['job_id']} │" in report for j in local_jobs), "hybrid jobs show must list every job"
    for line in report.splitlines():
        if line.startswith("![") and line.endswith(")"):
            assert (tmp_path / "demo" / line[line.index("(") + 1 : -1]).stat().st_size > 1000


def test_cli_errors_are_clear(tmp_path, graphs):
    result = runner.invoke(app, ["run", "--graphs", str(graphs), "--backend", "fake:nowhere", "--ledger", str(tmp_path / "l.db")])
    assert result.exit_code == 2 and "unknown fake device 'nowhere'" in result.output
    result = runner.invoke(app, ["run", "--graphs", str(graphs), "--optimizer", "newton:3", "--ledger", str(tmp_path / "l.db")])
    assert result.exit_code == 2 and "unknown optimizer" in result.output
    result = runner.invoke(app, ["plot", str(tmp_path)])
    assert result.exit_code == 2 and "nothing to plot" in result.output
    result = runner.invoke(app, ["jobs", "show", "missing", "--ledger", str(tmp_path / "l.db")])
    assert result.exit_code == 2 and "no run 'missing'" in result.output
    result = runner.invoke(app, ["meta-train", "-c", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_cli_run_and_jobs_commands(tmp_path, graphs):
    ledger = str(tmp_path / "l.db")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "--graphs", str(graphs), "--backend", "ideal", "--init", "fixed",
                                 "--optimizer", "sgd:3", "--out", str(out), "--ledger", ledger, "--run-id", "r1"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "results.json").read_text())["status"] == "done"
    for args in (["jobs", "list"], ["jobs", "show", "r1"], ["jobs", "fetch", "r1", "--out", str(tmp_path / "f.json")]):
        result = runner.invoke(app, [*args, "--ledger", ledger])
        assert result.exit_code == 0, result.output
    assert "r1" in runner.invoke(app, ["jobs", "list", "--ledger", ledger]).output
    assert json.loads((tmp_path / "f.json").read_text())["run_id"] == "r1"
    result = runner.invoke(app, ["backends", "--kind", "fake"])
    assert result.exit_code == 0 and "fake:torino" in result.output
