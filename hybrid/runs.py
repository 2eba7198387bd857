"""Runs of warm-started QAOA over many graphs on one target, recorded in the ledger.

This module sits between :mod:`hybrid.optimize` (one graph, one oracle) and the
CLI: it validates a run config, opens the target (inside one Runtime ``Session``
for ``ibm:``), wraps every oracle so each call is written to the ledger, and writes
the results JSON.

Resuming (``hybrid jobs resume ID``) re-runs the same deterministic program:
every oracle call that the ledger already holds is *replayed* from it instead of
being recomputed, and a call that was interrupted after its hardware job was
accepted is re-attached by job id (``target.fetch``), never resubmitted. Shot seeds
depend only on the run seed and the call index, so a resumed run ends with exactly
the result of an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
from pydantic import Field

from .config import ConfigError, _Strict, load_config, parse_config
from .evaluate import Evaluation
from .ledger import Ledger, LedgerError
from .optimize import optimize_graph, parse_optimizer
from .problems import load_graphs

RESULTS_FILE = "results.json"


class RunConfig(_Strict):
    """A warm-started QAOA run (``hybrid run -c FILE`` or ``hybrid submit FILE``)."""

    graphs: str
    backend: str = "fake:torino"
    init: str = "learned"
    p: int = 1
    optimizer: str = "adam:30"
    lr: float | None = None
    tol: float = 1e-6
    mitigation: str = "none"
    shots: int | None = None  # None: exact where the target allows it, else 4000
    # Phase II gradients: param_shift (exact rule per gate, unbiased) or fd (central
    # differences, fewer circuits); default: fd on exact simulators, param_shift with shots
    gradient: Literal["param_shift", "fd"] | None = None
    max_evaluations: int | None = None
    max_shots: int | None = None
    seed: int = 0
    out: str = "results/run"
    options: dict[str, Any] = Field(default_factory=dict)  # target options, e.g. seed_transpiler
    description: str = ""
    execution: Literal["auto", "session", "batch", "job"] = "auto"


def load_run_config(path: str | Path) -> RunConfig:
    return load_config(path, RunConfig)


def validate_run(cfg: RunConfig, target=None):
    """Everything that can fail before a job is sent: graphs, optimizer, target, sizes, credentials.

    ``target`` replaces the one the spec names (tests pass stand-ins here).
    """
    from backends import get_target

    parse_optimizer(cfg.optimizer)
    if cfg.p < 1:
        raise ConfigError(f"p must be >= 1, got {cfg.p}")
    if cfg.shots is not None and cfg.shots < 1:
        raise ConfigError(f"shots must be >= 1 (or null for exact), got {cfg.shots}")
    problems = [pr.with_max_cut() for pr in load_graphs(cfg.graphs)]
    if cfg.init.startswith("learned"):
        from .meta import load_pretrained

        load_pretrained(cfg.init, cfg.p)
    if cfg.mitigation != "none":
        from .mitigation import parse_mitigation

        parse_mitigation(cfg.mitigation)
    if target is None:
        target = get_target(cfg.backend, **cfg.options)  # ibm: checks credentials here
    for pr in problems:
        target.check_fits(pr.n)
    return problems, target


class RecordedOracle:
    """An oracle whose every call is written to the ledger, and replayed from it on resume."""

    def __init__(self, oracle, ledger: Ledger, run_id: str, graph: str, target_spec: str):
        self.oracle, self.ledger, self.run_id, self.graph = oracle, ledger, run_id, graph
        self.target_spec = target_spec
        self.problem, self.p = oracle.problem, oracle.p
        self.exact = getattr(oracle, "exact", False)
        self.method = getattr(oracle, "method", None)
        self.index = 0
        self.replayed = 0

    def _stored(self, kind: str, params: np.ndarray) -> dict[str, Any] | None:
        rec = self.ledger.evaluation(self.run_id, self.graph, self.index)
        if rec is None:
            return None
        if rec["kind"] != kind or not np.allclose(rec["params"], params.tolist(), rtol=0, atol=1e-12):
            raise LedgerError(
                f"run {self.run_id} graph {self.graph}: call {self.index} differs from the recorded one "
                "(code or config changed since the run started); start a new run"
            )
        return rec

    def _on_submit(self, job_id: str) -> None:
        self.ledger.record_job(self.run_id, self.graph, self.index, job_id, self.target_spec)

    def _call(self, kind: str, params: np.ndarray, compute: Callable[..., Any]) -> dict[str, Any]:
        rec = self._stored(kind, params)
        if rec is not None and rec["status"] == "done":
            self.index += 1
            self.replayed += 1
            return rec["record"]
        attach = rec["job_ids"][-1] if rec is not None and rec["job_ids"] else None
        if rec is None:
            self.ledger.begin_evaluation(self.run_id, self.graph, self.index, kind, params.tolist())
        record = compute(attach)
        self.ledger.finish_evaluation(self.run_id, self.graph, self.index, record)
        self.index += 1
        return record

    def _hooks(self, attach: str | None) -> dict[str, Any]:
        if not getattr(self.oracle, "supports_jobs", False):
            return {}
        return {"on_submit": self._on_submit, "attach_job": attach}

    def evaluate(self, params, seed=None) -> Evaluation:
        params = np.atleast_2d(np.asarray(params, float))

        def compute(attach):
            return self.oracle.evaluate(params, seed=seed, **self._hooks(attach)).to_dict()

        return Evaluation.from_dict(self._call("evaluate", params, compute))

    def value_and_grad(self, theta, seed=None):
        theta = np.asarray(theta, float)

        def compute(attach):
            value, grad, ev = self.oracle.value_and_grad(theta, seed=seed, **self._hooks(attach))
            return {"value": value, "grad": np.asarray(grad).tolist(), "evaluation": ev.to_dict()}

        rec = self._call("value_and_grad", theta, compute)
        return float(rec["value"]), np.asarray(rec["grad"], float), Evaluation.from_dict(rec["evaluation"])


def build_oracle(problem, cfg: RunConfig, target):
    from .evaluate import DEFAULT_SHOTS, make_oracle

    if cfg.mitigation != "none":
        from .mitigation import make_mitigated_oracle

        shots = cfg.shots if cfg.shots is not None or target.exact else DEFAULT_SHOTS
        return make_mitigated_oracle(problem, cfg.p, target, cfg.mitigation, shots=shots)
    options = {"gradient": cfg.gradient} if cfg.gradient else {}
    return make_oracle(problem, cfg.p, target, shots=cfg.shots, **options)


def _execution(target, cfg: RunConfig, num_graphs: int):
    mode = cfg.execution
    if mode == "auto":
        mode = "session" if target.kind == "ibm" else "job"
    if mode == "session" and hasattr(target, "session"):
        return target.session()
    if mode == "batch" and hasattr(target, "batch"):
        return target.batch()
    return contextlib.nullcontext(target)


def start_run(cfg: RunConfig, ledger: Ledger, run_id: str | None = None, *, target=None) -> str:
    """Validate and register a run; nothing is submitted yet."""
    validate_run(cfg, target)
    return ledger.create_run(json.loads(cfg.model_dump_json()), cfg.backend, run_id=run_id)


def execute_run(
    ledger: Ledger,
    run_id: str,
    *,
    progress: Callable[[str], None] | None = None,
    target=None,
) -> dict[str, Any]:
    """Run (or resume) ``run_id`` to the end and write ``OUT/results.json``."""
    record = ledger.run(run_id)
    cfg = parse_config(record["spec"], RunConfig, where=f"run {run_id} spec")
    problems, target = validate_run(cfg, target)
    ledger.set_status(run_id, "running")
    done = ledger.results(run_id)
    started = time.perf_counter()
    results = []
    try:
        with _execution(target, cfg, len(problems)):
            for index, problem in enumerate(problems):
                key = f"{index}:{problem.id}"
                if key in done:
                    results.append(done[key])
                    continue
                oracle = RecordedOracle(build_oracle(problem, cfg, target), ledger, run_id, key, cfg.backend)
                result = optimize_graph(
                    problem,
                    oracle,
                    p=cfg.p,
                    init=cfg.init,
                    optimizer=cfg.optimizer,
                    lr=cfg.lr,
                    tol=cfg.tol,
                    max_evaluations=cfg.max_evaluations,
                    max_shots=cfg.max_shots,
                    seed=int(np.random.SeedSequence([cfg.seed, index]).generate_state(1)[0]),
                    target=cfg.backend,
                    mitigation=cfg.mitigation,
                )
                payload = result.to_dict()
                ledger.record_result(run_id, key, payload)
                results.append(payload)
                if progress:
                    progress(
                        f"graph {problem.id} (n={problem.n}): AR {result.ar_init:.4f} -> {result.ar_final:.4f} "
                        f"on {cfg.backend}, ideal {result.ideal_ar_final:.4f}, {result.evaluations} evaluations"
                        + (f" ({result.oracle_method})" if result.oracle_method else "")
                        + ("" if result.max_cut_source == "exact" else f"; AR = {result.ar_definition}")
                    )
    except KeyboardInterrupt:
        ledger.set_status(run_id, "interrupted", "interrupted by the user")
        raise
    except Exception as exc:
        ledger.set_status(run_id, "failed", f"{type(exc).__name__}: {exc}")
        raise
    ledger.set_status(run_id, "done")
    report = write_results(ledger, run_id, target.describe())
    report["wall_time"] = time.perf_counter() - started
    return report


def results_report(ledger: Ledger, run_id: str, target_info: dict[str, Any] | None = None) -> dict[str, Any]:
    from .optimize import RunResult

    record = ledger.run(run_id)
    rows = [RunResult.from_dict(r) for r in ledger.results(run_id).values()]
    return {
        "run_id": run_id,
        "status": record["status"],
        "spec": record["spec"],
        "target": target_info or {"spec": record["target"]},
        "graphs": [r.summary() for r in rows],
        "details": [r.to_dict() for r in rows],
    }


def write_results(ledger: Ledger, run_id: str, target_info: dict[str, Any] | None = None) -> dict[str, Any]:
    report = results_report(ledger, run_id, target_info)
    out = Path(report["spec"]["out"])
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULTS_FILE).write_text(json.dumps(report, indent=1, default=str))
    report["path"] = str(out / RESULTS_FILE)
    return report
