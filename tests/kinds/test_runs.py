"""Runs, the ledger and resuming: nothing a run did is lost, a killed run finishes identically."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
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
from killing import cli, kill_when, without
from standins import FakeService, make_ibm

SEED = 11
TOL = 1e-12
SHOTS = 400
KILL_AFTER_CALLS = 6  # oracle calls recorded before the kill
FETCH_BEFORE_DEATH = 7  # the 7th job fetch dies: graph a (3 Phase II, selection, report: 5 jobs) is finished, graph b has a live job
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
        # Phase I (10 proposals) + 6 Adam gradients (start + 5 updates), each charged 1 + 4p points;
        # an exact target needs no final re-measurement
        assert row["evaluations"] == 10 + 6 * (1 + 4 * 1)
    result = RunResult.from_dict(report["details"][0])
    assert RunResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_optimizer_names_are_checked():
    with pytest.raises(ProblemError, match="unknown optimizer 'lbfgs:3'"):
        parse_optimizer("lbfgs:3")
    with pytest.raises(ProblemError, match="STEPS must be a whole number"):
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
@pytest.mark.slow  # a killed subprocess (in-process resume: tests/kinds/test_resume.py)
def test_killed_run_resumes_to_the_uninterrupted_result(graphs, tmp_path):
    ledger = tmp_path / "ledger.db"
    common = ["--graphs", str(graphs), "--backend", "fake:manila", "--init", "learned", "--optimizer", "adam:12",
              "--shots", str(SHOTS), "--seed", str(SEED), "--ledger", str(ledger)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run(cli("run", *common, "--out", str(tmp_path / "full"), "--run-id", "full"), check=True, env=env,
                   capture_output=True, timeout=KILL_TIMEOUT_S)

    def calls_done() -> bool:
        if not ledger.exists():
            return False
        with Ledger(ledger) as led:
            try:
                done = [e for e in led.evaluations("killed") if e["status"] == "done"]
            except LedgerError:
                done = []
        return len(done) >= KILL_AFTER_CALLS

    kill_when(["run", *common, "--out", str(tmp_path / "killed"), "--run-id", "killed"], calls_done, KILL_TIMEOUT_S, env)
    with Ledger(ledger) as led:
        assert led.run("killed")["recorded_status"] == "running"  # died without a chance to say so
        assert led.run("killed")["status"] == "interrupted"  # ... but its lock is free: it reads back as such
        assert "hybrid jobs resume killed" in led.run("killed")["error"]
        assert len(led.results("killed")) < 3
    resumed = subprocess.run(cli("jobs", "resume", "killed", "--ledger", str(ledger)), env=env,
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


# --------------------------------------------------------------------------- failed and cancelled jobs
IGNORED_FOR_REPLAY = ("wall_time", "job_ids")


def _without_ids(value):
    return without(value, IGNORED_FOR_REPLAY)


def _replayable(report: dict) -> list[dict]:
    """Per-graph results without job ids and timings (job ids are numbered by the service)."""
    return _without_ids(report["details"])


def test_failed_and_cancelled_jobs_are_recorded_and_resubmitted_once_on_resume(graphs, tmp_path, monkeypatch):
    from backends import JobFailedError

    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    cfg = config(graphs, tmp_path / "out", backend="ibm:fakeville", init="fixed", optimizer="adam:2")
    with Ledger(tmp_path / "clean.db") as led:
        clean_service = FakeService()
        clean = execute_run(led, start_run(cfg.model_copy(update={"out": str(tmp_path / "clean")}), led,
                                           target=make_ibm(clean_service)), target=make_ibm(clean_service))
    service = FakeService()
    # the 2nd job ends in ERROR (its message echoes the token), everything else is fine
    service.job_scripts = [{}, {"statuses": ("QUEUED", "ERROR"), "error_message": f"boom with {SECRET}"}]
    with Ledger(tmp_path / "l.db") as led:
        rid = start_run(cfg, led, target=make_ibm(service))
        with pytest.raises(JobFailedError):
            execute_run(led, rid, target=make_ibm(service))
        failed = led.jobs(rid)[1]
        assert failed["status"] == "failed" and failed["finished"] is not None
        assert "ERROR" in failed["detail"] and "boom" in failed["detail"] and SECRET not in failed["detail"]
        assert led.run(rid)["status"] == "failed" and f"hybrid jobs resume {rid}" in led.run(rid)["error"]
        # resume: the failed call gets a new job, which is cancelled
        service.job_scripts = [{"statuses": ("CANCELLED",), "error_message": "cancelled by the user"}]
        with pytest.raises(JobFailedError):
            execute_run(led, rid, target=make_ibm(service))
        cancelled = led.jobs(rid)[2]
        assert cancelled["status"] == "cancelled" and cancelled["resubmit_of"] == failed["job_id"]
        assert (cancelled["graph"], cancelled["idx"]) == (failed["graph"], failed["idx"])
        # resume again: the run finishes
        report = execute_run(led, rid, target=make_ibm(service))
        jobs = led.jobs(rid)
        evaluations = led.evaluations(rid)
    assert report["status"] == "done"
    dead = [j for j in jobs if j["status"] in ("failed", "cancelled")]
    assert len(dead) == 2
    for j in dead:  # exactly one new job per failed call, linked to it
        assert sum(k["resubmit_of"] == j["job_id"] for k in jobs) == 1
    assert len(jobs) == len(evaluations) + len(dead) == len(service.submissions)
    per_call: dict = {}
    for j in jobs:
        per_call.setdefault((j["graph"], j["idx"]), []).append(j["status"])
    assert all(states.count("done") == 1 and states[-1] == "done" for states in per_call.values())
    assert all(j["finished"] is not None for j in jobs)
    assert _replayable(report) == _replayable(clean)  # resubmitted calls give the uninterrupted result


def test_a_job_found_failed_on_reattach_is_resubmitted_in_the_same_resume(graphs, tmp_path, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    service = FakeService()
    target = make_ibm(service)
    cfg = config(graphs, tmp_path / "out", backend="ibm:fakeville", init="fixed", optimizer="adam:1")
    service.job_scripts = [{}, {"statuses": ("RUNNING", "RUNNING", "CANCELLED")}]
    with Ledger(tmp_path / "l.db") as led:
        rid = start_run(cfg, led, target=target)
        original = target.fetch
        calls = {"n": 0}

        def crash_on_second_fetch(job_id, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt  # the process dies while job-1 is live
            return original(job_id, *args, **kwargs)

        monkeypatch.setattr(target, "fetch", crash_on_second_fetch)
        with pytest.raises(KeyboardInterrupt):
            execute_run(led, rid, target=target)
        assert [j["status"] for j in led.jobs(rid)] == ["done", "submitted"]
        assert led.run(rid)["status"] == "interrupted"
        # the service has cancelled job-1 meanwhile; the live states say so and the ledger records it
        from hybrid.runs import live_job_states

        fresh = make_ibm(service)
        assert live_job_states(led, rid, target=fresh) == {"job-1": "RUNNING"}  # still live: nothing written
        assert led.job("job-1")["status"] == "submitted"
        report = execute_run(led, rid, target=fresh)
        jobs = led.jobs(rid)
    assert report["status"] == "done"
    assert jobs[1]["job_id"] == "job-1" and jobs[1]["status"] == "cancelled"
    assert jobs[2]["resubmit_of"] == "job-1" and jobs[2]["status"] == "done"
    assert "job-1" in service.job_lookups  # re-attached first, resubmitted only once it was known dead


def test_jobs_show_reports_failed_jobs_from_a_read_only_ledger(graphs, tmp_path, monkeypatch):
    from backends import JobFailedError

    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    service = FakeService()
    service.job_scripts = [{"statuses": ("ERROR",), "error_message": "qubit 3 calibration failed"}]
    ledger = tmp_path / "l.db"
    cfg = config(graphs, tmp_path / "out", backend="ibm:fakeville", init="fixed", optimizer="adam:1")
    with Ledger(ledger) as led:
        rid = start_run(cfg, led, target=make_ibm(service))
        with pytest.raises(JobFailedError):
            execute_run(led, rid, target=make_ibm(service))
    ledger.chmod(0o444)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QISKIT_IBM")}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parents[2]), COLUMNS="250")
    try:
        shown = subprocess.run(cli("jobs", "show", rid, "--ledger", str(ledger)), env=env, capture_output=True,
                               text=True, timeout=KILL_TIMEOUT_S)
    finally:
        ledger.chmod(0o644)
    assert shown.returncode == 0, shown.stderr
    out = " ".join(shown.stdout.split())
    assert f"{rid}: failed" in out and "job-0" in out and "failed" in out
    assert "qubit 3 calibration failed" in out and "hybrid jobs resume" in out


# --------------------------------------------------------------------------- one driver per run, real processes
LONG_OPTIMIZER = "spsa:1000000"  # no stopping rule, far longer than the test waits: the driver is stopped by signal
WAIT_S = 120


def _wait_for_owner(ledger: Path, run_id: str, procs) -> int:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        with Ledger(ledger, mode="read") as led:
            row = led.run(run_id)
        if row["owner_pid"] and row["recorded_status"] == "running":
            return int(row["owner_pid"])
        assert all(p.poll() is None for p in procs) or row["owner_pid"], "a resume ended before driving the run"
        time.sleep(0.1)
    raise AssertionError("no process took the run")


@pytest.mark.slow  # three CLI subprocesses
def test_two_concurrent_resumes_one_drives_the_other_is_refused_and_sigterm_interrupts(graphs, tmp_path):
    ledger = tmp_path / "ledger.db"
    cfg = config(graphs, tmp_path / "out", backend="ideal", init="fixed", optimizer=LONG_OPTIMIZER, shots=None, tol=0.0)
    with Ledger(ledger) as led:
        rid = start_run(cfg, led, yes=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen(cli("jobs", "resume", rid, "--ledger", str(ledger)), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        owner = _wait_for_owner(ledger, rid, procs)
        driver = next(p for p in procs if p.pid == owner)
        loser = next(p for p in procs if p.pid != owner)
        out, err = loser.communicate(timeout=WAIT_S)
        assert loser.returncode != 0
        assert f"already being driven by PID {owner}" in err and len(err.strip().splitlines()) == 1
        assert driver.poll() is None  # the driver was not disturbed
        driver.send_signal(signal.SIGTERM)
        driver.communicate(timeout=WAIT_S)
        assert driver.returncode != 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    with Ledger(ledger, mode="read") as led:
        row = led.run(rid)
    assert row["recorded_status"] == "interrupted" and f"hybrid jobs resume {rid}" in row["error"]
    assert row["owner_pid"] is None


@pytest.mark.slow  # two CLI subprocesses
def test_two_runs_started_at_once_with_default_options_leave_two_results_files(graphs, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    argv = cli("run", "--graphs", str(graphs), "--backend", "ideal", "--init", "fixed", "--optimizer", "adam:2")
    procs = [subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=KILL_TIMEOUT_S)
        assert p.returncode == 0, err
    files = sorted((tmp_path / "results").glob("*/results.json"))
    assert len(files) == 2
    ids = {json.loads(f.read_text())["run_id"] for f in files}
    assert ids == {f.parent.name for f in files} and len(ids) == 2
    with Ledger(tmp_path / "jobs" / "ledger.db", mode="read") as led:
        assert {r["run_id"] for r in led.runs()} == ids


def test_resuming_a_finished_run_says_already_done_and_rewrites_nothing(graphs, tmp_path):
    cfg = config(graphs, tmp_path / "out", backend="ideal", init="fixed", optimizer="adam:1", shots=None)
    with Ledger(tmp_path / "l.db") as led:
        rid = start_run(cfg, led)
        first = execute_run(led, rid)
        path = Path(first["path"])
        stamp = path.stat().st_mtime_ns
        again = execute_run(led, rid)
        counts = led.counts()
        assert execute_run(led, rid)["already_done"] and led.counts() == counts
    assert again["already_done"] and again["path"] == str(path) and path.stat().st_mtime_ns == stamp
    assert again["details"] == json.loads(path.read_text())["details"]


def test_jobs_fetch_offline_writes_what_is_known_and_marks_the_rest(graphs, tmp_path, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    service = FakeService()
    target = make_ibm(service)
    ledger = tmp_path / "l.db"
    cfg = config(graphs, tmp_path / "out", backend="ibm:fakeville", init="fixed", optimizer="adam:2")
    with Ledger(ledger) as led:
        rid = start_run(cfg, led, target=target)
        original = target.fetch
        calls = {"n": 0}

        def die_while_a_job_is_live(job_id, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == FETCH_BEFORE_DEATH:
                raise KeyboardInterrupt
            return original(job_id, *args, **kwargs)

        monkeypatch.setattr(target, "fetch", die_while_a_job_is_live)
        with pytest.raises(KeyboardInterrupt):
            execute_run(led, rid, target=target)
        finished = set(led.results(rid))
        live = [j["job_id"] for j in led.jobs(rid) if j["status"] == "submitted"]
    assert len(finished) == 1 and len(live) == 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("QISKIT_IBM")}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parents[2]), HOME=str(tmp_path), COLUMNS="250")
    fetched = subprocess.run(cli("jobs", "fetch", rid, "--ledger", str(ledger)), env=env, capture_output=True,
                             text=True, timeout=KILL_TIMEOUT_S)
    assert fetched.returncode == 0, fetched.stderr
    assert "live job states unavailable" in fetched.stdout and "unfinished" in fetched.stdout
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["complete"] is False and saved["status"] == "interrupted"
    assert len(saved["graphs"]) == 1
    pending = {row["graph"]: row for row in saved["pending"]}
    assert set(pending) == {"1:b", "2:c"} and pending["2:c"]["calls_done"] == 0  # started or not, all listed
    assert pending["1:b"]["calls_done"] >= 1 and pending["1:b"]["calls_pending"] == 1
    assert any(j["job_id"] == live[0] and j["status"] == "submitted" for j in pending["1:b"]["jobs"])


def test_a_local_job_that_fails_is_recorded_from_its_error_and_redone_on_resume(graphs, tmp_path):
    from backends import JobFailedError
    from hybrid.oracles import ideal_oracle
    from hybrid.problems import load_graphs
    from hybrid.runs import RecordedOracle

    problem = load_graphs(graphs)[0].with_max_cut()

    class FailsOnce:  # an oracle whose job ids only come back with the result, or with the failure
        exact, method, target = True, "statevector", None

        def __init__(self):
            self.inner, self.problem, self.p, self.calls = ideal_oracle(problem, 1), problem, 1, 0

        def evaluate(self, params, seed=None):
            self.calls += 1
            if self.calls == 1:
                raise JobFailedError("local job local-0 ended ERROR: simulator out of memory", "local-0", "ERROR")
            return self.inner.evaluate(params, seed=seed)

    theta = np.array([0.4, 0.3])
    with Ledger(tmp_path / "l.db") as led:
        led.create_run({}, "local:manila", "r")
        flaky = FailsOnce()
        with pytest.raises(JobFailedError):
            RecordedOracle(flaky, led, "r", "0:a", "local:manila").evaluate(theta)
        assert led.job("local-0")["status"] == "failed" and "out of memory" in led.job("local-0")["detail"]
        # resume: a fresh wrapper replays nothing, recomputes the call and records the new job linked to the failed one
        again = RecordedOracle(flaky, led, "r", "0:a", "local:manila")
        energy = again.evaluate(theta).energies[0]
        led.record_job("r", "0:a", 0, "local-1", "local:manila")  # as local mode records ids that come with a result
        led.update_job("local-1", "done")
        assert energy == pytest.approx(ideal_oracle(problem, 1).evaluate(theta).energies[0], abs=TOL)
        assert led.evaluation("r", "0:a", 0)["status"] == "done"
        assert led.job("local-1")["resubmit_of"] == "local-0"


def test_init_accepts_a_checkpoint_path(graphs, tmp_path):
    import shutil

    from hybrid.meta import PRETRAINED_DIR

    model = tmp_path / "mine.pt"
    shutil.copy(PRETRAINED_DIR / "lstm.pt", model)
    cfg = config(graphs, tmp_path / "out", backend="ideal", init=str(model), optimizer="adam:1", shots=None)
    with Ledger(tmp_path / "l.db") as led:
        rid = start_run(cfg, led)
        assert led.run(rid)["spec"]["init"] == f"learned:{model.resolve()}"
        report = execute_run(led, rid)
    assert report["status"] == "done" and all(d["init"] == f"learned:{model.resolve()}" for d in report["details"])


# --------------------------------------------------------------------------- one spec grammar; evaluate as a run
def test_backend_with_techniques_means_backend_and_mitigation(graphs, tmp_path):
    """``--backend fake:manila+rem`` is ``--backend fake:manila --mitigation rem``: same spec stored, same results."""
    common = {"init": "fixed", "optimizer": "adam:2", "shots": None}
    with Ledger(tmp_path / "l.db") as led:
        combined = execute_run(led, start_run(config(graphs, tmp_path / "a", backend="fake:manila+rem", **common), led, "a"))
        split = execute_run(led, start_run(config(graphs, tmp_path / "b", mitigation="rem", **common), led, "b"))
        plain = execute_run(led, start_run(config(graphs, tmp_path / "c", **common), led, "c"))
        assert {k: led.run("a")["spec"][k] for k in ("backend", "mitigation")} == {"backend": "fake:manila", "mitigation": "rem"}
        both = config(graphs, tmp_path / "d", backend="fake:manila+rem", mitigation="rem", **common)
        assert start_run(both, led, "d")  # the same techniques twice agree
        with pytest.raises(InputError, match=r"--backend fake:manila\+zne and --mitigation rem name different"):
            start_run(config(graphs, tmp_path / "e", backend="fake:manila+zne", mitigation="rem", **common), led)
        with pytest.raises(InputError, match=r"--backend fake:manila\+rem and --mitigation none"):
            start_run(config(graphs, tmp_path / "f", backend="fake:manila+rem", mitigation="none", **common), led)
    assert comparable(combined) == comparable(split)
    ar = lambda report: [d["ar_final"] for d in report["details"]]  # noqa: E731
    assert ar(combined) != ar(plain)  # the technique was applied, not dropped


def test_evaluate_is_a_recorded_run_without_phase_two(graphs, tmp_path):
    from hybrid.oracle_factory import make_oracle
    from hybrid.problems import load_graphs
    from hybrid.evaluate import EvaluateConfig, execute_evaluate, start_evaluate
    from hybrid.strategies import get_strategy

    init = "random:3"
    cfg = EvaluateConfig(graphs=str(graphs), backend="fake:manila", init=init, shots=SHOTS, seed=SEED)
    with Ledger(tmp_path / "l.db") as led:
        report = execute_evaluate(led, start_evaluate(cfg, led, "ev"))
        calls = led.evaluations("ev")
        assert len(calls) == sum(r["evaluations"] for r in report["rows"]) == 3 * 3
        assert all(c["status"] == "done" for c in calls) and led.run("ev")["status"] == "done"
        again = execute_evaluate(led, "ev")
        assert again["already_done"] and again["rows"] == report["rows"]
        with pytest.raises(LedgerError, match="not a run"):
            execute_run(led, "ev")
    # the numbers of the start evaluated directly, without runs or the ledger
    for problem, row in zip(load_graphs(graphs), report["rows"]):
        problem = problem.with_max_cut()
        oracle = make_oracle(problem, 1, "fake:manila", shots=SHOTS)
        start = get_strategy(init).start(
            problem, 1, evaluate=lambda th: float(oracle.evaluate(th, seed=SEED).energies[0]), seed=SEED
        )
        assert row["ar_target"] == pytest.approx(start.value / problem.max_cut, abs=TOL)
        assert row["params"] == [round(x, 6) for x in start.theta.tolist()]
