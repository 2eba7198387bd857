"""Runs, the ledger and resuming: nothing a run did is lost, a killed run finishes identically."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from backends import TargetError
from hybrid.config import ConfigError, parse_config
from hybrid.ledger import Ledger, LedgerError
from hybrid.optimize import RunResult, optimize_graph, parse_optimizer
from hybrid.problems import ProblemError, erdos_renyi, regular_graph, save_graphs
from hybrid.runs import RunConfig, execute_run, start_run
from hybrid.validation import InputError
from standins import FakeService, make_ibm

SEED = 11
SHOTS = 400
KILL_AFTER_CALLS = 6  # oracle calls recorded before the kill
KILL_TIMEOUT_S = 240
SECRET = "secret-token-run-0123456789"
# fields that legitimately differ between an interrupted and an uninterrupted run
TIMING_FIELDS = ("wall_time",)


@pytest.fixture
def graphs(tmp_path) -> Path:
    problems = [
        erdos_renyi(5, 0.6, seed=SEED, id="a"),
        regular_graph(4, 3, seed=SEED, id="b"),
        erdos_renyi(5, 0.5, seed=SEED + 1, id="c", weights="uniform:0.5,1.5"),
    ]
    return save_graphs([p.with_max_cut() for p in problems], tmp_path / "graphs.json")


def config(graphs: Path, out: Path, **changes) -> RunConfig:
    base = {
        "graphs": str(graphs),
        "backend": "fake:manila",
        "init": "learned",
        "optimizer": "adam:12",
        "shots": SHOTS,
        "seed": SEED,
        "out": str(out),
    }
    return parse_config({**base, **changes}, RunConfig)


def comparable(results: dict) -> list[dict]:
    rows = []
    for detail in results["details"]:
        rows.append({k: v for k, v in detail.items() if k not in TIMING_FIELDS})
    return rows


# --------------------------------------------------------------------------- ledger
def test_ledger_records_events_and_rejects_unknowns(tmp_path):
    with Ledger(tmp_path / "l.db") as led:
        rid = led.create_run({"backend": "ideal", "token": "never-stored", "options": {"api_key": "x"}}, "ideal", "r1")
        assert "token" not in led.run(rid)["spec"] and "api_key" not in led.run(rid)["spec"]["options"]
        led.begin_evaluation(rid, "g", 0, "evaluate", [0.1, 0.2])
        led.record_job(rid, "g", 0, "job-1", "ibm:x")
        assert led.evaluation(rid, "g", 0)["status"] == "pending"
        assert led.evaluation(rid, "g", 0)["job_ids"] == ["job-1"]
        led.finish_evaluation(rid, "g", 0, {"energies": [1.0]})
        assert led.jobs(rid)[0]["status"] == "done"
        with pytest.raises(LedgerError, match="already exists"):
            led.create_run({}, "ideal", "r1")
        with pytest.raises(LedgerError, match="no run 'nope'.*recent runs: r1"):
            led.run("nope")
        with pytest.raises(LedgerError, match="unknown run status"):
            led.set_status(rid, "weird")
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerError, match=r"corrupt.*sqlite3 .* \.recover"):
        Ledger(bad)


# --------------------------------------------------------------------------- results
def test_run_writes_results_with_all_fields(graphs, tmp_path):
    cfg = config(graphs, tmp_path / "out", backend="ideal", shots=None, optimizer="adam:5")
    with Ledger(tmp_path / "l.db") as led:
        report = execute_run(led, start_run(cfg, led))
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert len(saved["graphs"]) == 3
    for row in saved["graphs"]:
        for key in ("id", "n", "max_cut", "init_params", "final_params", "ar_init", "ar_final",
                    "ideal_ar_init", "ideal_ar_final", "evaluations", "shots", "best_cut"):
            assert key in row, key
        assert row["ar_final"] == pytest.approx(row["ideal_ar_final"], abs=1e-12)  # ideal target
        assert row["evaluations"] == 10 + 5 + 1  # Phase I + Adam steps + final re-measure
    result = RunResult.from_dict(report["details"][0])
    assert RunResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_optimizers_and_budgets(graphs):
    from hybrid.evaluate import make_oracle
    from hybrid.problems import load_graphs

    problem = load_graphs(graphs)[0].with_max_cut()
    for opt in ("adam:8", "sgd:8", "spsa:8", "cobyla:8"):
        res = optimize_graph(problem, make_oracle(problem, 1, "ideal"), p=1, init="fixed", optimizer=opt, seed=SEED)
        assert res.ideal_ar_final >= res.ideal_ar_init - 0.02, opt
    capped = optimize_graph(problem, make_oracle(problem, 1, "aer", shots=100), p=1, init="fixed",
                            optimizer="adam:50", max_shots=2000, seed=SEED)
    per_call = (1 + 2 * (problem.m + problem.n)) * 100  # parameter shift: value + 2 shifts per gate
    assert capped.shots <= 2000 + per_call + 100  # stops at the first call past the budget, then re-measures
    assert capped.shots >= 2000
    with pytest.raises(ProblemError, match="unknown optimizer 'lbfgs:3'"):
        parse_optimizer("lbfgs:3")
    with pytest.raises(ProblemError, match="STEPS must be an integer"):
        parse_optimizer("adam:many")


# --------------------------------------------------------------------------- validation before submission
def test_bad_specs_fail_before_anything_is_submitted(graphs, tmp_path, monkeypatch):
    with Ledger(tmp_path / "l.db") as led:
        with pytest.raises(ConfigError, match="unknown key 'optimiser'"):
            parse_config({"graphs": str(graphs), "optimiser": "adam:3"}, RunConfig)
        with pytest.raises(TargetError, match="unknown fake device 'atlantis'"):
            start_run(config(graphs, tmp_path, backend="fake:atlantis"), led)
        big = save_graphs([regular_graph(8, 3, seed=SEED).with_max_cut()], tmp_path / "big.json")
        with pytest.raises(TargetError, match="does not fit fake:manila"):
            start_run(config(big, tmp_path), led)
        with pytest.raises(InputError, match="--graphs.*does not exist"):
            start_run(config(tmp_path / "missing.json", tmp_path), led)
        monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
        monkeypatch.setenv("QISKIT_IBM_CHANNEL", "ibm_quantum_platform")
        with pytest.raises(TargetError, match="QISKIT_IBM_TOKEN"):
            start_run(config(graphs, tmp_path, backend="ibm:ibm_torino", options={"account_file": str(tmp_path / "none.json")}), led)
        assert led.runs() == []  # nothing was registered, let alone submitted


# --------------------------------------------------------------------------- kill -9 and resume
def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hybrid.cli", *args]


def test_killed_run_resumes_to_the_uninterrupted_result(graphs, tmp_path):
    ledger = tmp_path / "ledger.db"
    common = ["--graphs", str(graphs), "--backend", "fake:manila", "--init", "learned", "--optimizer", "adam:12",
              "--shots", str(SHOTS), "--seed", str(SEED), "--ledger", str(ledger)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run(_cli("run", *common, "--out", str(tmp_path / "full"), "--run-id", "full"), check=True, env=env,
                   capture_output=True, timeout=KILL_TIMEOUT_S)
    victim = subprocess.Popen(_cli("run", *common, "--out", str(tmp_path / "killed"), "--run-id", "killed"),
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + KILL_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if ledger.exists():
                with Ledger(ledger) as led:
                    try:
                        done = [e for e in led.evaluations("killed") if e["status"] == "done"]
                    except LedgerError:
                        done = []
                if len(done) >= KILL_AFTER_CALLS:
                    break
            assert victim.poll() is None, "the run ended before it could be killed; make it longer"
            time.sleep(0.05)
        os.kill(victim.pid, signal.SIGKILL)
    finally:
        victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    with Ledger(ledger) as led:
        assert led.run("killed")["recorded_status"] == "running"  # died without a chance to say so
        assert led.run("killed")["status"] == "interrupted"  # ... but its lock is free: it reads back as such
        assert "hybrid jobs resume killed" in led.run("killed")["error"]
        assert len(led.results("killed")) < 3
    resumed = subprocess.run(_cli("jobs", "resume", "killed", "--ledger", str(ledger)), env=env,
                             capture_output=True, text=True, timeout=KILL_TIMEOUT_S)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    full = json.loads((tmp_path / "full" / "results.json").read_text())
    again = json.loads((tmp_path / "killed" / "results.json").read_text())
    assert again["status"] == "done"
    assert comparable(again) == comparable(full)


# --------------------------------------------------------------------------- ibm: through the stand-in service
def test_ibm_run_records_job_ids_and_reattaches_on_resume(graphs, tmp_path, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    service = FakeService()
    target = make_ibm(service)
    cfg = config(graphs, tmp_path / "out", backend="ibm:fakeville", init="fixed", optimizer="adam:2")
    with Ledger(tmp_path / "l.db") as led:
        rid = start_run(cfg, led, target=target)
        # interrupt the run while the 3rd job is in flight: its id is already in the ledger
        original = target.fetch
        calls = {"n": 0}  # fetches so far

        def flaky_fetch(job_id, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
            return original(job_id, *args, **kwargs)

        monkeypatch.setattr(target, "fetch", flaky_fetch)
        with pytest.raises(KeyboardInterrupt):
            execute_run(led, rid, target=target)
        jobs = led.jobs(rid)
        assert [j["status"] for j in jobs] == ["done", "done", "submitted"]
        in_flight = jobs[-1]["job_id"]
        submitted_before = len(service.submissions)
        # a new process after the crash: a fresh target on the same service
        report = execute_run(led, rid, target=make_ibm(service))
        # the in-flight job was fetched by id, not submitted again
        assert in_flight in service.job_lookups
        assert len(service.submissions) == submitted_before + (len(led.jobs(rid)) - 3)
        assert all(j["status"] == "done" for j in led.jobs(rid))
        assert report["status"] == "done" and len(report["graphs"]) == 3
        every_id = {j["job_id"] for j in led.jobs(rid)}
        assert every_id == {jid for d in report["details"] for jid in d["job_ids"]}


def test_token_never_reaches_ledger_results_logs_or_errors(graphs, tmp_path, monkeypatch, caplog, capsys):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    caplog.set_level(logging.DEBUG)
    service = FakeService()
    target = make_ibm(service)
    cfg = config(graphs, tmp_path / "out", backend="ibm:fakeville", init="fixed", optimizer="adam:1",
                 options={"token": SECRET})
    ledger_path = tmp_path / "l.db"
    with Ledger(ledger_path) as led:
        rid = start_run(cfg, led, target=target)
        execute_run(led, rid, target=target)
        service.job_scripts.append({"statuses": ("ERROR",), "error_message": f"bad things with {SECRET}"})
        rid2 = start_run(cfg.model_copy(update={"out": str(tmp_path / "out2")}), led, target=target)
        with pytest.raises(Exception) as info:
            execute_run(led, rid2, target=target)
        assert SECRET not in str(info.value) and SECRET not in repr(info.value)
        assert SECRET not in (led.run(rid2)["error"] or "")
    out = capsys.readouterr()
    haystacks = [out.out, out.err, caplog.text, (tmp_path / "out" / "results.json").read_text()]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            haystacks.append(path.read_bytes().decode("latin-1"))
    assert not any(SECRET in h for h in haystacks)
