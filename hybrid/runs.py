"""Runs of warm-started QAOA over many graphs on one target, recorded in the ledger.

Longer than 600 lines: the run engine, its session clock and its usage report share one recorded oracle.

This module sits between :mod:`hybrid.optimize` (one graph, one oracle) and the
CLI: it validates a run config, opens the target (inside one Runtime ``Session``
for ``ibm:``), wraps every oracle so each call is written to the ledger, and writes
the results JSON. :func:`run_cell` is the per-graph execution that ``hybrid run``,
every cell of ``hybrid compare`` (:mod:`hybrid.compare`) and, without Phase II,
``hybrid evaluate`` (:func:`hybrid.evaluate.evaluate_start`) share; the ledger tells them apart by
``spec["kind"]`` (:func:`hybrid.ledger.sweeps.run_kind`).

Resuming (``hybrid jobs resume ID``) re-runs the same deterministic program:
every oracle call that the ledger already holds is *replayed* from it instead of
being recomputed, and a call that was interrupted after its hardware job was
accepted is re-attached by job id (``target.fetch``), never resubmitted while that
job may still be live. A job that ended in ERROR or CANCELLED is recorded as
``failed``/``cancelled`` (with its scrubbed error text) the moment that is known; on
resume its call is resubmitted once as a new job that names the failed one
(``resubmit_of``). Shot seeds depend only on the run seed and the call index, so a
resumed run ends with exactly the result of an uninterrupted one.

One process drives a run at a time (:meth:`Ledger.drive`); a finished run is never
re-run or rewritten; results go to ``results/<run_id>/`` unless ``out`` is given, and
never over another run's ``results.json``.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
from pydantic import Field

from backends.capabilities import Capability, supports
from backends.usage import SessionClock
from backends.usage import recorded_usage as usage_of

from . import outputs
from .config import _Strict, load_config, parse_config
from .oracles import Evaluation
from .ledger import Ledger, LedgerError, new_run_id, sweeps
from .optimize import ideal_scores, optimize_graph, progress_line
from .usage_plan import execution_mode, prepare, run_usage, timed_execution

RESULTS_FILE = "results.json"
#: The kind of a ``hybrid run``; sweeps (``hybrid compare``) store theirs as ``spec["kind"]``.
RUN_KIND = "run"


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
    objective: str = "expectation"  # or cvar:ALPHA: what Phase II maximises (results keep <C> apart)
    shots: int | None = None  # None: exact where the target allows it, else 4000
    # Phase II gradients, a rule of hybrid.oracles.GRADIENTS: param_shift (exact rule per gate,
    # unbiased), fd (central differences, fewer circuits) or spsa (two evaluations at any depth);
    # default: fd on exact simulators, param_shift with shots (checked by validation.check_gradient)
    gradient: str | None = None
    max_evaluations: int | None = None
    max_shots: int | None = None
    max_qpu_seconds: float | None = None  # estimated QPU quantum seconds per graph (backends.usage)
    seed: int = 0
    out: str | None = None  # None: results/<run_id>/
    options: dict[str, Any] = Field(default_factory=dict)  # target options, e.g. seed_transpiler
    description: str = ""
    execution: Literal["auto", "session", "batch", "job"] = "auto"  # auto: batch (usage_plan.execution_mode)


def load_run_config(path: str | Path) -> RunConfig:
    return load_config(path, RunConfig)


def validate_run(cfg: RunConfig, target=None, *, run_id: str | None = None):
    """Everything that can fail before a job is sent: ``(problems, target)``.

    The checks live in :func:`hybrid.validation.validate_run_config` (graphs, seeds,
    strategies, mitigation, numeric ranges, target, sizes, memory, credentials).
    ``target`` replaces the one the spec names (tests pass stand-ins here).
    """
    from .validation import validate_run_config

    _, problems, target, _ = validate_run_config(cfg, target, run_id=run_id)
    return [pr.with_max_cut() for pr in problems], target


def _job_failure(exc: BaseException) -> tuple[str, str] | None:
    """``(job_id, ledger status)`` when ``exc`` says a job ended in ERROR or CANCELLED."""
    job_id, status = getattr(exc, "job_id", None), getattr(exc, "status", None)
    if not job_id or not isinstance(status, str):
        return None
    return str(job_id), "cancelled" if status.upper() == "CANCELLED" else "failed"


class RecordedOracle:
    """An oracle whose every call is written to the ledger, and replayed from it on resume."""

    def __init__(self, oracle, ledger: Ledger, run_id: str, graph: str, target_spec: str, target=None, clock=None):
        self.oracle, self.ledger, self.run_id, self.graph = oracle, ledger, run_id, graph
        self.clock = clock  # a backends.usage.SessionClock timing the jobs actually sent
        self.target_spec = target_spec
        # what the oracle runs on (default: the oracle's own; ideal oracles have none): its declared
        # capabilities decide the job hooks
        self.target = target if target is not None else oracle.target
        self.problem, self.p = oracle.problem, oracle.p
        self.exact, self.method = oracle.exact, oracle.method
        self.index = 0
        self.replayed = 0
        self._resubmit_of: str | None = None

    def charge(self, kind: str, points: int = 1):
        return self.oracle.charge(kind, points)

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

    def _on_submit(self, job) -> None:
        self.ledger.record_job(
            self.run_id, self.graph, self.index, job.job_id, self.target_spec,
            resubmit_of=self._resubmit_of, record=job.to_dict(),
        )

    def _record_failure(self, exc: BaseException) -> str | None:
        failure = _job_failure(exc)
        if failure is None:
            return None
        job_id, status = failure
        if self.ledger.job(job_id) is None:  # e.g. Runtime local mode: the id only comes with the failure
            self.ledger.record_job(
                self.run_id, self.graph, self.index, job_id, self.target_spec, resubmit_of=self._resubmit_of
            )
        self.ledger.update_job(job_id, status, f"{type(exc).__name__}: {exc}")
        return job_id

    def _call(self, kind: str, params: np.ndarray, compute: Callable[..., Any]) -> dict[str, Any]:
        rec = self._stored(kind, params)
        if rec is not None and rec["status"] == "done":
            self.index += 1
            self.replayed += 1
            return rec["record"]
        attach = None
        self._resubmit_of = None
        last = rec["jobs"][-1] if rec is not None and rec["jobs"] else None
        if last is not None:
            if last["status"] in ("failed", "cancelled"):
                self._resubmit_of = last["job_id"]  # dead: resubmit as a new job linked to it
            else:  # live or finished: re-attach from its stored record (or id), never resubmit
                attach = last["record"] or last["job_id"]
        if rec is None:
            self.ledger.begin_evaluation(self.run_id, self.graph, self.index, kind, params.tolist())
        started = time.perf_counter()
        if self.clock is not None:
            self.clock.job_sent()
        try:
            record = compute(attach)
        except Exception as exc:
            failed = self._record_failure(exc)
            if failed is None or attach is None or failed != last["job_id"]:
                raise
            # the job we re-attached to had ended in ERROR/CANCELLED: nothing is live, resubmit once
            self._resubmit_of = failed
            try:
                record = compute(None)
            except Exception as again:
                self._record_failure(again)
                raise
        if self.clock is not None:
            self.clock.result_in(*usage_of(record))
        self.ledger.finish_evaluation(self.run_id, self.graph, self.index, record, time.perf_counter() - started)
        self._record_finished_jobs(record)
        self.ledger.record_usage(record)
        self.index += 1
        return record

    def _record_finished_jobs(self, record: dict[str, Any]) -> None:
        """Runtime local mode returns its job ids only with the result: list them as done."""
        if self.target is None or self.target.kind != "local":
            return
        for job_id in record.get("evaluation", record).get("job_ids") or ():
            self.ledger.record_job(self.run_id, self.graph, self.index, job_id, self.target_spec)
            self.ledger.update_job(job_id, "done")

    def _hooks(self, attach: dict[str, Any] | str | None) -> dict[str, Any]:
        if self.target is None or not supports(self.target, Capability.JOBS):
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


def graph_seed(seed: int, index: int) -> int:
    """The seed of the ``index``-th graph of a run (or compare row) seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def run_cell(
    ledger: Ledger,
    run_id: str,
    key: str,
    problem,
    target,
    *,
    p: int,
    init: str,
    optimizer: str,
    seed: int,
    label: str,
    target_spec: str | None = None,
    shots: int | None = None,
    mitigation: str = "none",
    gradient: str | None = None,
    lr: float | None = None,
    tol: float = 1e-6,
    max_evaluations: int | None = None,
    max_shots: int | None = None,
    max_qpu_seconds: float | None = None,
    clock=None,
    oracle=None,
    score_ideal: bool = True,
    objective: str = "expectation",
):
    """One graph on one target, every oracle call recorded under ``key`` (replayed on resume).

    The unit of ``hybrid run`` (one per graph) and of ``hybrid compare`` (one per cell);
    ``label`` is the target named in the result (``fake:torino+zne`` in a compare grid).
    Returns the :class:`~hybrid.optimize.RunResult`; the caller records it.
    """
    from .oracle_factory import objective_oracle

    inner = oracle or objective_oracle(problem, p, target, objective=objective, shots=shots, mitigation=mitigation,
                                       gradient=gradient)
    oracle = RecordedOracle(inner, ledger, run_id, key, target_spec or label, target=target, clock=clock)
    return optimize_graph(
        problem,
        oracle,
        p=p,
        init=init,
        optimizer=optimizer,
        lr=lr,
        tol=tol,
        max_evaluations=max_evaluations,
        max_shots=max_shots,
        seed=seed,
        target=label,
        mitigation=mitigation,
        max_qpu_seconds=max_qpu_seconds,
        score_ideal=score_ideal,
        objective=objective,
    )


def _execution(target, cfg: RunConfig):
    mode = execution_mode(target, cfg.execution)
    if mode in ("session", "batch"):
        return target.session() if mode == "session" else target.batch()
    return contextlib.nullcontext(target)


def validate_run_start(
    cfg: RunConfig,
    run_id: str,
    ledger_path: str | Path | None,
    *,
    target=None,
    yes: bool = False,
    ask: Callable[[str], bool] | None = None,
    announce: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], str]:
    """Every check a run can fail, before the ledger is opened: ``(spec, target label)`` to register.

    The run id, the config (:func:`hybrid.validation.validate_run_config`), the run's folder
    (empty, or already this run's in this ledger) and the time estimate: a run estimated longer
    than :data:`hybrid.validation.LONG_RUN_S`, or over ``LONG_QPU_S`` QPU seconds, needs
    ``yes=True`` (the estimate goes to ``announce``) or ``ask(question)`` returning True (asked
    only on a terminal). On ``ibm:`` and ``local:`` the run's QPU usage is announced first.
    """
    from .validation import check_run_id, confirm, run_folder, validate_run_config, with_usage

    check_run_id(run_id)
    cfg, problems, target, estimate = validate_run_config(cfg, target)
    spec = json.loads(cfg.model_dump_json())
    spec["out"] = run_folder(cfg.out, run_id, ledger_path)
    estimate = with_usage(estimate, cfg, problems, target)  # ibm: and local: print their QPU usage first
    if estimate.qpu_seconds is not None and announce is not None and not (estimate.long and yes):
        announce(estimate.usage_line())
    confirm(estimate, yes=yes, ask=ask, announce=announce)
    return spec, cfg.backend


def start_run(
    cfg: RunConfig,
    ledger: Ledger,
    run_id: str | None = None,
    *,
    target=None,
    yes: bool = False,
    ask: Callable[[str], bool] | None = None,
    announce: Callable[[str], None] | None = None,
) -> str:
    """Validate (:func:`validate_run_start`) and register a run; nothing is submitted yet."""
    run_id = run_id or new_run_id()
    spec, label = validate_run_start(cfg, run_id, ledger.path, target=target, yes=yes, ask=ask, announce=announce)
    return ledger.create_run(spec, label, run_id=run_id)


def results_folder(record: dict[str, Any]) -> Path:
    """The run's own folder: its ``out``, or ``results/<run_id>``."""
    out = record["spec"].get("out")
    return Path(out) if out else outputs.default_folder(record["run_id"])


def results_path(record: dict[str, Any]) -> Path:
    return results_folder(record) / RESULTS_FILE


def execute_run(
    ledger: Ledger,
    run_id: str,
    *,
    progress: Callable[[str], None] | None = None,
    target=None,
) -> dict[str, Any]:
    """Run (or resume) ``run_id`` to the end and write ``OUT/results.json``.

    A finished run is not run again: the report says ``already_done`` and where its
    results are. A run driven by another live process raises
    :class:`~hybrid.ledger.RunBusyError`.
    """
    return sweeps.drive(ledger, run_id, RUN_KIND, lambda record: _execute(ledger, run_id, record, progress, target),
                        lambda record: _already_done(ledger, record), _resubmit_hint(run_id))


def _already_done(ledger: Ledger, record: dict[str, Any]) -> dict[str, Any]:
    path = results_path(record)
    if outputs.owned_by(path, record["run_id"]):
        report = json.loads(path.read_text())
        report["path"] = str(path)
    else:
        report = write_results(ledger, record["run_id"])
    report["already_done"] = True
    return report


def _resubmit_hint(run_id: str) -> Callable[[BaseException], str | None]:
    """How ``hybrid jobs resume`` goes on after a failure: a failed hardware job is resubmitted."""

    def hint(exc: BaseException) -> str | None:
        if _job_failure(exc) is None:
            return None
        return f"`hybrid jobs resume {run_id}` resubmits the failed call as a new job"

    return hint


def _execute(ledger, run_id, record, progress, target) -> dict[str, Any]:
    cfg = parse_config(record["spec"], RunConfig, where=f"run {run_id} spec")
    problems, target = validate_run(cfg, target, run_id=run_id)
    done = ledger.results(run_id)
    started = time.perf_counter()
    results = []
    # classical work (oracles: transpilation, folding, calibration circuits; starts' data) before a session
    mode = execution_mode(target, cfg.execution)
    oracles = {} if mode == "job" else prepare(
        problems, target, p=cfg.p, shots=cfg.shots, mitigation=cfg.mitigation, gradient=cfg.gradient,
        init=cfg.init, skip=set(done), objective=cfg.objective,
    )
    clock = SessionClock(mode, simulated=target.kind != "ibm")
    in_session, scored_later = mode == "session", []  # a session bills classical work: score ideally after it

    def finish(key, problem, result) -> None:
        payload = result.to_dict()
        ledger.record_result(run_id, key, payload)
        results.append(payload)
        if progress:
            progress(progress_line(problem, result, cfg.backend))

    try:  # a graph finished in the session is recorded even when a later one is interrupted
        with timed_execution(ledger, run_id, clock, _execution(target, cfg)):
            for index, problem in enumerate(problems):
                key = f"{index}:{problem.id}"
                if key in done:
                    results.append(done[key])
                    continue
                result = run_cell(
                    ledger, run_id, key, problem, target,
                    p=cfg.p, init=cfg.init, optimizer=cfg.optimizer, seed=graph_seed(cfg.seed, index),
                    label=cfg.backend, shots=cfg.shots, mitigation=cfg.mitigation, gradient=cfg.gradient,
                    lr=cfg.lr, tol=cfg.tol, max_evaluations=cfg.max_evaluations, max_shots=cfg.max_shots,
                    max_qpu_seconds=cfg.max_qpu_seconds, clock=clock, oracle=oracles.get(key),
                    score_ideal=not in_session, objective=cfg.objective,
                )
                if in_session:
                    scored_later.append((key, problem, result))
                else:
                    finish(key, problem, result)
    finally:
        for key, problem, result in scored_later:
            finish(key, problem, ideal_scores(result, problem))
    report = write_results(ledger, run_id, target.describe(), final=True)
    report["wall_time"] = time.perf_counter() - started
    return report


def _graph_keys(spec: dict[str, Any]) -> list[str] | None:
    from .device_graphs import load_graphs
    from .problems import ProblemError

    try:
        return [f"{i}:{pr.id}" for i, pr in enumerate(load_graphs(spec["graphs"]))]
    except (ProblemError, OSError, ValueError, KeyError, TypeError):
        return None  # the graph file moved: only graphs with recorded calls can be listed


def _pending(ledger: Ledger, run_id: str, problems_done: set[str], spec: dict[str, Any]) -> list[dict[str, Any]]:
    """What is known of the graphs that have no result yet: calls recorded, jobs and their states."""
    by_graph: dict[str, dict[str, Any]] = {}
    for key in _graph_keys(spec) or []:
        if key not in problems_done:
            by_graph[key] = {"graph": key, "calls_done": 0, "calls_pending": 0, "jobs": []}
    for e in ledger.evaluations(run_id):
        if e["graph"] in problems_done:
            continue
        row = by_graph.setdefault(e["graph"], {"graph": e["graph"], "calls_done": 0, "calls_pending": 0, "jobs": []})
        row["calls_done" if e["status"] == "done" else "calls_pending"] += 1
    for j in ledger.jobs(run_id):
        if j["graph"] in by_graph:
            by_graph[j["graph"]]["jobs"].append(
                {k: j[k] for k in ("job_id", "idx", "status", "finished", "detail", "resubmit_of")}
            )
    return list(by_graph.values())


def results_report(
    ledger: Ledger, run_id: str, target_info: dict[str, Any] | None = None, *, final: bool = False
) -> dict[str, Any]:
    """The results known so far; ``complete`` is False and ``pending`` lists the rest when unfinished.

    ``final``: the report that finishes the run (written before the ledger marks it done).
    """
    from .optimize import RunResult

    record = ledger.run(run_id)
    stored = ledger.results(run_id)
    rows = [RunResult.from_dict(r) for r in stored.values()]
    complete = final or record["status"] == "done"
    return {
        "run_id": run_id,
        "status": "done" if complete else record["status"],
        "complete": complete,
        "spec": record["spec"],
        "target": target_info or {"spec": record["target"]},
        **run_usage([r.to_dict() for r in rows], record.get("sessions") or []),
        "graphs": [r.summary() for r in rows],
        "details": [r.to_dict() for r in rows],
        "pending": [] if complete else _pending(ledger, run_id, set(stored), record["spec"]),
    }


def write_results(
    ledger: Ledger,
    run_id: str,
    target_info: dict[str, Any] | None = None,
    out: str | Path | None = None,
    *,
    final: bool = False,
) -> dict[str, Any]:
    """Write the report to the run's folder (``OUT/results.json``), or to the new file ``out``.

    The folder is claimed for the run first (:func:`hybrid.outputs.claim_folder`): a folder of
    another run, or a user's file at ``out``, is refused, never replaced. The write is atomic.
    """
    report = results_report(ledger, run_id, target_info, final=final)
    if out is not None:
        path = outputs.check_new_file(out, run_id)
    else:
        folder = outputs.claim_folder(results_folder({"run_id": run_id, "spec": report["spec"]}), run_id,
                                      ledger.path, RUN_KIND, flag="out")
        path = folder / RESULTS_FILE
    outputs.write_json(path, report)
    report["path"] = str(path)
    return report


def live_job_states(ledger: Ledger, run_id: str, target=None) -> dict[str, str]:
    """The service's state of every unfinished job of an ``ibm:`` run, terminal ones recorded.

    ``target`` replaces the one the run names (tests pass stand-ins). Raises
    ``TargetError`` when the service cannot be reached.
    """
    record = ledger.run(run_id)
    open_jobs = [j for j in ledger.jobs(run_id) if j["status"] == "submitted"]
    if not open_jobs or not record["target"].startswith("ibm:"):
        return {}
    if target is None:
        from backends import get_target

        target = get_target(record["target"], **record["spec"].get("options", {}))
    states = {}
    for j in open_jobs:
        state = target.status(j["job_id"])
        states[j["job_id"]] = state
        terminal = {"ERROR": "failed", "CANCELLED": "cancelled"}.get(state)
        if terminal and not ledger.readonly:
            ledger.update_job(j["job_id"], terminal, f"the service reports the job {state}")
    return states
