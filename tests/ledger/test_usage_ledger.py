"""QPU usage in the ledger: every ibm: job's estimate, IBM's usage_estimation and usage(),
kept through a crash and a resume; a run's totals and its execution span in results.json."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from hybrid.config import parse_config
from hybrid.ledger import Ledger
from hybrid.problems import erdos_renyi, regular_graph, save_graphs
from hybrid.runs import RunConfig, execute_run, start_run
from standins import STANDIN_ACTUAL_FRACTION, STANDIN_FIXED_S, STANDIN_PER_SHOT_S, FakeService, make_ibm

SEED = 5
SHOTS = 300
#: Relative tolerance of sums of recorded seconds.
SUM_REL = 1e-9


@pytest.fixture
def graphs(tmp_path) -> Path:
    problems = [erdos_renyi(5, 0.6, seed=SEED, id="a"), regular_graph(4, 3, seed=SEED, id="b")]
    return save_graphs([p.with_max_cut() for p in problems], tmp_path / "graphs.json")


def _config(graphs: Path, out: Path, **changes) -> RunConfig:
    base = {"graphs": str(graphs), "backend": "ibm:fakeville", "init": "fixed", "optimizer": "adam:2",
            "shots": SHOTS, "seed": SEED, "out": str(out)}
    return parse_config({**base, **changes}, RunConfig)


def test_ibm_usage_is_recorded_per_job_and_survives_a_crash_and_resume(graphs, tmp_path, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", "secret-token-usage-0123456789")
    service = FakeService()
    target = make_ibm(service)
    with Ledger(tmp_path / "l.db") as led:
        rid = start_run(_config(graphs, tmp_path / "out", execution="session"), led, target=target)
        original = target.fetch
        calls = {"n": 0}

        def dies_on_third_fetch(job, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt  # the process dies while job-2 is live
            return original(job, *args, **kwargs)

        monkeypatch.setattr(target, "fetch", dies_on_third_fetch)
        with pytest.raises(KeyboardInterrupt):
            execute_run(led, rid, target=target)
        jobs = led.jobs(rid)
        assert [j["status"] for j in jobs] == ["done", "done", "submitted"]
        live = jobs[-1]
        # recorded at submission, before the crash: the model's estimate and IBM's usage_estimation
        assert live["estimated_seconds"] > 0
        assert live["ibm_estimated_seconds"] == pytest.approx(service.jobs[live["job_id"]].estimation)
        assert live["actual_seconds"] is None
        for done in jobs[:2]:
            assert done["actual_seconds"] == pytest.approx(STANDIN_ACTUAL_FRACTION * done["ibm_estimated_seconds"])
            assert done["usage"]["metrics"]["usage"]["status"] == "completed"
        report = execute_run(led, rid, target=make_ibm(service))  # a new process: a fresh target
        jobs = led.jobs(rid)
        sessions = led.run(rid)["sessions"]
    assert report["status"] == "done"
    assert live["job_id"] in service.job_lookups  # re-attached by id, never resubmitted
    for j in jobs:
        ibm_job = service.jobs[j["job_id"]]
        assert j["ibm_estimated_seconds"] == pytest.approx(ibm_job.estimation)
        assert j["actual_seconds"] == pytest.approx(STANDIN_ACTUAL_FRACTION * ibm_job.estimation)
        assert j["estimated_seconds"] == pytest.approx(j["record"]["usage_estimate"]["quantum_seconds"])
        assert ibm_job.estimation >= STANDIN_FIXED_S + STANDIN_PER_SHOT_S * SHOTS
    # the run's totals: the model's estimate of every job, and IBM's usage() where all jobs have one
    assert report["qpu_seconds"] == pytest.approx(sum(j["estimated_seconds"] for j in jobs), rel=SUM_REL)
    assert report["ibm_usage_seconds"] == pytest.approx(sum(j["actual_seconds"] for j in jobs), rel=SUM_REL)
    assert report["qpu_jobs"] == len(jobs)
    # a session per process, the crashed one included (it was billed too)
    assert report["execution"] == "session" and len(sessions) == 2
    assert [s["jobs"] for s in sessions] == [2, len(jobs) - 2]  # results that came in during each
    assert not any(s["simulated"] for s in sessions)
    assert all(s["closed_at"] >= s["first_job_at"] >= s["opened_at"] for s in sessions)
    assert report["session_seconds"] == pytest.approx(sum(s["billed_seconds"] for s in sessions))
    assert report["billed_seconds"] == report["session_seconds"]
    for g in report["graphs"]:
        assert g["qpu_seconds"] > 0 and g["qpu_jobs"] > 0
        # scored ideally after the session closed, as every run is
        assert 0 < g["ideal_ar_init"] <= 1 and 0 < g["ideal_ar_final"] <= 1


def test_pending_usage_and_unreadable_figures_are_left_empty_not_fatal(graphs, tmp_path, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", "secret-token-usage-0123456789")
    service = FakeService()
    service.job_scripts = [{"usage_pending": True}, {"usage_errors": [RuntimeError("metrics endpoint down")]}]
    with Ledger(tmp_path / "l.db") as led:
        rid = start_run(_config(graphs, tmp_path / "out", optimizer="adam:0"), led, target=make_ibm(service))
        execute_run(led, rid, target=make_ibm(service))
        jobs = led.jobs(rid)
    assert jobs[0]["actual_seconds"] is None and jobs[0]["usage"]["metrics"]["usage"]["status"] == "pending"
    assert jobs[1]["actual_seconds"] is None and jobs[1]["estimated_seconds"] > 0
    assert all(j["status"] == "done" for j in jobs)


def test_a_ledger_from_before_usage_is_migrated(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL, status TEXT NOT NULL,"
        " target TEXT NOT NULL, spec_json TEXT NOT NULL, error TEXT);"
        "CREATE TABLE evaluations (run_id TEXT NOT NULL, graph TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL,"
        " status TEXT NOT NULL, params_json TEXT NOT NULL, record_json TEXT, created TEXT NOT NULL,"
        " PRIMARY KEY (run_id, graph, idx));"
        "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, graph TEXT NOT NULL, idx INTEGER NOT NULL,"
        " target TEXT NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL, detail TEXT);"
        "CREATE TABLE results (run_id TEXT NOT NULL, graph TEXT NOT NULL, result_json TEXT NOT NULL,"
        " created TEXT NOT NULL, PRIMARY KEY (run_id, graph));"
        "INSERT INTO runs VALUES ('r', 't', 't', 'done', 'ibm:x', '{}', NULL);"
        "INSERT INTO jobs VALUES ('j', 'r', 'g', 0, 'ibm:x', 'done', 't', 't', NULL);"
    )
    conn.close()
    with Ledger(path) as led:
        job = led.job("j")
        assert job["estimated_seconds"] is None and job["actual_seconds"] is None and job["usage"] is None
        assert led.run("r")["sessions"] == []
        led.record_session("r", {"opened_at": 1.0, "closed_at": 3.0, "first_job_at": 1.5, "jobs": 1})
        led.record_usage({"metadata": {"usage": [{"job_id": "j", "estimated_seconds": 4.0,
                                                   "usage_estimation_s": 5.0, "actual_seconds": 3.5}]}})
        job = led.job("j")
        assert (job["estimated_seconds"], job["ibm_estimated_seconds"], job["actual_seconds"]) == (4.0, 5.0, 3.5)
        assert led.run("r")["sessions"][0]["first_job_at"] == 1.5


def test_results_json_has_usage_for_a_sampled_fake_run(graphs, tmp_path):
    cfg = _config(graphs, tmp_path / "out", backend="fake:manila", optimizer="spsa:2")
    with Ledger(tmp_path / "l.db") as led:
        rid = start_run(cfg, led)
        report = execute_run(led, rid)
    saved = json.loads(Path(report["path"]).read_text())
    assert saved["qpu_seconds"] == pytest.approx(sum(g["qpu_seconds"] for g in saved["graphs"]), rel=SUM_REL)
    # spsa:2 with a zero-cost start: the start, 2 steps, the selection batch (start and best
    # candidates re-measured) and the final re-measurement, one job each
    assert [g["qpu_jobs"] for g in saved["graphs"]] == [5, 5]
    assert saved["execution"] == "job" and saved["billed_seconds"] == saved["qpu_seconds"]
    assert saved["session_seconds"] >= saved["qpu_seconds"] - 1e-9  # the projected span holds every job
    assert 0.0 <= saved["classical_share"] <= 1.0
    for g in saved["details"]:
        floor = g["shots"] * 250e-6  # every shot of every circuit waits the rep delay
        assert g["qpu_seconds"] >= floor
