"""The compare grid, the demo and the command line."""

from __future__ import annotations

import csv
import json
import subprocess

import pytest
from typer.testing import CliRunner

from hybrid.cli import app
from hybrid.compare import CompareConfig, make_units, parameter_distance, run_compare, split_label, summarise
from hybrid.config import ConfigError
from hybrid.ledger import Ledger
from hybrid.problems import erdos_renyi, regular_graph, save_graphs
from killing import cli, cli_env, kill_when, without

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


@pytest.mark.slow  # the whole demo: minutes on 2 cores
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
    assert not (tmp_path / "l.db").exists()  # refused before the ledger was opened
    result = runner.invoke(app, ["plot", str(tmp_path)])
    assert result.exit_code == 2 and "nothing to plot" in result.output
    Ledger(tmp_path / "l.db").close()
    result = runner.invoke(app, ["jobs", "show", "missing", "--ledger", str(tmp_path / "l.db")])
    assert result.exit_code == 2 and "no ledger at" in result.output  # the refused runs created none
    with Ledger(tmp_path / "l.db") as led:
        led.create_run({}, "ideal", "r")
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


def test_cli_evaluate_is_a_run_in_the_ledger(tmp_path, graphs):
    ledger = str(tmp_path / "l.db")
    result = runner.invoke(app, ["evaluate", "--graphs", str(graphs), "--init", "fixed", "--ledger", ledger,
                                 "--run-id", "ev", "--out", str(tmp_path / "rows.json")])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert [r["id"] for r in rows] == ["k4", "er5"] and all(r["evaluations"] == 1 for r in rows)
    assert all(r["ar_target"] == pytest.approx(r["ar_ideal"], abs=1e-12) for r in rows)  # ideal target
    shown = runner.invoke(app, ["jobs", "show", "ev", "--ledger", ledger])
    assert shown.exit_code == 0 and "oracle calls recorded: 2 done" in shown.output, shown.output
    fetched = runner.invoke(app, ["jobs", "fetch", "ev", "--ledger", ledger, "--out", str(tmp_path / "f.json")])
    assert fetched.exit_code == 0 and json.loads((tmp_path / "f.json").read_text()) == rows
    resumed = runner.invoke(app, ["jobs", "resume", "ev", "--ledger", ledger])
    assert resumed.exit_code == 0 and "k4" in resumed.output, resumed.output
    taken = runner.invoke(app, ["evaluate", "--graphs", str(graphs), "--init", "fixed", "--ledger", ledger, "--run-id", "ev"])
    assert taken.exit_code == 2 and "already exists" in taken.output


# --------------------------------------------------------------------------- compare through the ledger: kill -9, resume
KILL_TIMEOUT_S = 300
KILL_AFTER_CELLS = 2  # cells recorded before the kill
#: fields that legitimately differ between a resumed and an uninterrupted sweep (or name the sweep)
SWEEP_ONLY_FIELDS = ("wall_time", "wall_time_mean", "run_id", "out")


def _comparable(value):
    return without(value, SWEEP_ONLY_FIELDS)


@pytest.fixture
def two_graphs(tmp_path):
    problems = [
        regular_graph(4, 3, seed=SEED, id="k4"),
        erdos_renyi(5, 0.5, seed=SEED + 1, id="er5b"),
    ]
    return save_graphs([p.with_max_cut() for p in problems], tmp_path / "g2.json")


@pytest.mark.slow  # a killed subprocess (in-process resume: tests/kinds/test_resume.py)
def test_killed_compare_sweep_resumes_to_the_uninterrupted_report(two_graphs, tmp_path):
    ledger = tmp_path / "ledger.db"
    common = ["compare", "--graphs", str(two_graphs), "--backends", "ideal,fake:manila+rem",
              "--init", "fixed,tqa", "--p", "1", "--optimizer", "adam:4", "--seed", str(SEED), "--no-plots",
              "--ledger", str(ledger)]
    cells_total = 2 * 2 * 2
    full = runner.invoke(app, [*common, "--out", str(tmp_path / "full"), "--run-id", "full"])
    assert full.exit_code == 0, full.output

    def cut_mid_cell() -> bool:  # a cell cut short: some calls recorded beyond the finished cells
        with Ledger(ledger) as led:
            cells = led.results("killed") if led.has_run("killed") else {}
            calls = led.evaluations("killed") if cells else []
        return len(cells) >= KILL_AFTER_CELLS and any(e["graph"] not in cells for e in calls)

    kill_when([*common, "--out", str(tmp_path / "killed"), "--run-id", "killed"], cut_mid_cell, KILL_TIMEOUT_S)
    with Ledger(ledger) as led:
        assert led.run("killed")["status"] == "interrupted"
        done_before = len(led.results("killed"))
        assert KILL_AFTER_CELLS <= done_before < cells_total
    assert not (tmp_path / "killed" / "compare.json").exists()
    listed = runner.invoke(app, ["jobs", "list", "--ledger", str(ledger)])
    assert listed.exit_code == 0 and "compare:ideal,fake:manila+rem" in listed.output, listed.output
    fetched = runner.invoke(app, ["jobs", "fetch", "killed", "--out", str(tmp_path / "partial.json"), "--ledger", str(ledger)])
    assert fetched.exit_code == 0, fetched.output
    partial = json.loads((tmp_path / "partial.json").read_text())
    assert len(partial["cells"]) == done_before and len(partial["pending"]) == cells_total - done_before
    assert not partial["complete"]

    resumed = subprocess.run(cli("jobs", "resume", "killed", "--ledger", str(ledger)), env=cli_env(),
                             capture_output=True, text=True, timeout=KILL_TIMEOUT_S)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "figure files" in resumed.stdout  # the figures are drawn as `hybrid compare` draws them
    uninterrupted = json.loads((tmp_path / "full" / "compare.json").read_text())
    again = json.loads((tmp_path / "killed" / "compare.json").read_text())
    assert again["run_id"] == "killed" and len(again["cells"]) == cells_total and again["landscapes"]
    assert _comparable(again) == _comparable(uninterrupted)
    with Ledger(ledger) as led:
        assert led.run("killed")["status"] == "done"
        calls = [e for e in led.evaluations("killed") if e["status"] == "done"]
        assert len(calls) == len([e for e in led.evaluations("full") if e["status"] == "done"])
    shown = runner.invoke(app, ["jobs", "show", "killed", "--ledger", str(ledger)])
    assert shown.exit_code == 0 and f"cells finished: {cells_total}" in shown.output, shown.output
    again_resume = runner.invoke(app, ["jobs", "resume", "killed", "--ledger", str(ledger)])
    assert again_resume.exit_code == 0 and "already done" in again_resume.output, again_resume.output
