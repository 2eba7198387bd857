"""The Runtime execution mode of a run: batch by default (billed only the jobs' quantum seconds), same results."""

from __future__ import annotations

import pytest

from hybrid.config import parse_config
from hybrid.ledger import Ledger
from hybrid.problems import erdos_renyi, save_graphs
from hybrid.runs import RunConfig, execute_run, start_run
from standins import FakeService, make_ibm

SEED = 3
SHOTS = 200
SECRET = "secret-token-mode-0123456789"


@pytest.fixture
def graphs(tmp_path):
    return save_graphs([erdos_renyi(4, 0.7, seed=SEED, id="a").with_max_cut()], tmp_path / "graphs.json")


def _run(graphs, tmp_path, name: str, **changes):
    service = FakeService()
    cfg = parse_config({"graphs": str(graphs), "backend": "ibm:fakeville", "init": "fixed", "optimizer": "spsa:2",
                        "shots": SHOTS, "seed": SEED, "out": str(tmp_path / name), **changes}, RunConfig)
    with Ledger(tmp_path / f"{name}.db") as led:
        rid = start_run(cfg, led, target=make_ibm(service))
        report = execute_run(led, rid, target=make_ibm(service))
    return service, report


@pytest.mark.slow
def test_default_mode_is_one_batch_and_a_session_gives_the_same_results(graphs, tmp_path, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    batch_service, batch = _run(graphs, tmp_path, "default")
    assert [s.kind for s in batch_service.sessions] == ["batch"]
    assert all(mode is batch_service.sessions[0] for _, mode in batch_service.submissions)
    session_service, session = _run(graphs, tmp_path, "session", execution="session")
    assert [s.kind for s in session_service.sessions] == ["session"]
    job_service, job = _run(graphs, tmp_path, "job", execution="job")
    assert job_service.sessions == []
    fields = ("ar_final", "final_params", "evaluations", "shots")
    for other in (session, job):
        assert [{k: g[k] for k in fields} for g in other["graphs"]] == [{k: g[k] for k in fields} for g in batch["graphs"]]
