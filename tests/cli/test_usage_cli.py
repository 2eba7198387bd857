"""QPU usage at the command line: the budget flag, the estimate before sending, and the ledger views."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from hybrid.ledger import Ledger
from hybrid.problems import erdos_renyi, save_graphs
from killing import cli

HERE = Path(__file__).resolve().parents[1]
SEED = 4
TIMEOUT_S = 300
BUDGET_S = 15.0


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("QISKIT_IBM")}
    out.update(PYTHONPATH=str(HERE.parent), OMP_NUM_THREADS="1", COLUMNS="250", HOME=str(tmp_path / "home"),
               HYBRID_LEDGER=str(tmp_path / "ledger.db"))
    return out


@pytest.fixture
def graphs(tmp_path) -> Path:
    return save_graphs([erdos_renyi(5, 0.6, seed=SEED, id="g").with_max_cut()], tmp_path / "graphs.json")


def _hybrid(env, *args, check=True):
    proc = subprocess.run(cli(*args), env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
                          stdin=subprocess.DEVNULL)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _text(proc) -> str:
    """stdout and stderr with rich's line wrapping undone."""
    return " ".join((proc.stdout + proc.stderr).split())


def test_budget_flag_stops_the_run_and_the_ledger_views_show_usage(graphs, tmp_path, env):
    run = _hybrid(env, "run", "--graphs", str(graphs), "--backend", "fake:manila", "--init", "fixed",
                  "--optimizer", "spsa:30", "--shots", "300", "--max-qpu-seconds", str(BUDGET_S),
                  "--out", str(tmp_path / "out"), "--run-id", "r1")
    assert "stopped by max_qpu_seconds, best point reported" in _text(run)
    assert "QPU usage:" in _text(run)
    report = json.loads((tmp_path / "out" / "results.json").read_text())
    (graph,) = report["graphs"]
    assert 0 < graph["qpu_seconds"] <= BUDGET_S and graph["budget_stop"] == "max_qpu_seconds"
    assert report["spec"]["max_qpu_seconds"] == BUDGET_S
    listed = _hybrid(env, "jobs", "list")
    assert "QPU s (est.)" in _text(listed) and "billed s" in _text(listed)
    shown = _hybrid(env, "jobs", "show", "r1")
    assert "QPU usage:" in _text(shown) and "job mode, a session would bill" in _text(shown)
    assert "estimated QPU s, stopped by max_qpu_seconds" in _text(shown)


def test_a_bad_budget_is_refused_at_the_door(graphs, tmp_path, env):
    bad = _hybrid(env, "run", "--graphs", str(graphs), "--backend", "fake:manila", "--shots", "100",
                  "--max-qpu-seconds", "-1", check=False)
    assert bad.returncode != 0
    assert "--max-qpu-seconds must be a finite number > 0" in _text(bad)


def test_a_large_local_run_prints_its_usage_and_refuses_without_a_terminal(graphs, tmp_path, env):
    big = _hybrid(env, "run", "--graphs", str(graphs), "--backend", "local:manila", "--init", "fixed",
                  "--optimizer", "spsa:200", "--shots", "1000", check=False)
    text = _text(big)
    assert big.returncode != 0
    assert "QPU usage estimate: about" in text and "pass --yes to run it anyway" in text
    with Ledger(tmp_path / "ledger.db") as led:
        assert led.runs() == []  # nothing registered, nothing sent
