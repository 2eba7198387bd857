"""``hybrid evaluate``: every graph's start on a target (a learned or ``random:K`` start: its
Phase I), no Phase II; each oracle call recorded in the ledger (:class:`hybrid.runs.RecordedOracle`)
and each graph's row recorded as a cell, so ``hybrid jobs resume`` finishes an interrupted one."""

from __future__ import annotations

import json
from typing import Any, Literal

from .config import _Strict, parse_config
from .ledger import Ledger, new_run_id, sweeps
from .runs import RecordedOracle

EVALUATE_KIND = "evaluate"


class EvaluateConfig(_Strict):
    """``hybrid evaluate``: every graph's start (a learned or ``random:K`` start: its Phase I), no Phase II."""

    kind: Literal["evaluate"] = EVALUATE_KIND
    graphs: str
    backend: str = "ideal"  # TARGET[+TECHNIQUE...]
    p: int = 1
    init: str = "learned"
    shots: int | None = None  # None: exact where the target allows it
    seed: int = 0


def validate_evaluate(cfg: EvaluateConfig, run_id: str) -> tuple[dict[str, Any], str]:
    """Every check an evaluation can fail, before the ledger is opened: ``(spec, target label)``."""
    from backends import TargetError, get_target

    from .validation import (
        MAX_P, MAX_SHOTS, _check_int, check_init, check_run_id, check_seed, check_target_fits, load_checked_graphs,
        parse_target_spec,
    )

    check_run_id(run_id)
    check_seed(cfg.seed)
    _check_int(cfg.p, "--p", 1, MAX_P)
    _check_int(cfg.shots, "--shots", 1, MAX_SHOTS, " (or leave it out for exact simulation)")
    spec = parse_target_spec(cfg.backend)
    init = check_init(cfg.init, cfg.p)
    problems = load_checked_graphs(cfg.graphs)
    try:
        target = get_target(spec.target)
    except TargetError as exc:
        raise TargetError(f"--backend {cfg.backend}: {exc}") from None
    check_target_fits(target, problems, shots=cfg.shots, mitigation=spec.mitigation)
    return json.loads(cfg.model_copy(update={"init": init}).model_dump_json()), cfg.backend


def start_evaluate(cfg: EvaluateConfig, ledger: Ledger, run_id: str | None = None) -> str:
    """Validate (:func:`validate_evaluate`) and register an evaluation of starts; nothing runs yet."""
    run_id = run_id or new_run_id()
    spec, label = validate_evaluate(cfg, run_id)
    return ledger.create_run(spec, label, run_id=run_id)


def evaluate_start(ledger: Ledger, run_id: str, key: str, problem, target, *, p: int, init: str, seed: int,
                   label: str, shots: int | None = None, mitigation: str = "none") -> dict[str, Any]:
    """One graph's start on ``target``, every oracle call recorded under ``key``; its AR there and ideally."""
    from .oracle_factory import make_oracle
    from .oracles import ideal_oracle
    from .strategies import get_strategy

    inner = make_oracle(problem, p, target, shots=shots, mitigation=mitigation)
    oracle = RecordedOracle(inner, ledger, run_id, key, label, target=target)
    result = get_strategy(init).start(
        problem, p, evaluate=lambda th: float(oracle.evaluate(th, seed=seed).energies[0]), seed=seed
    )
    theta, energy, evals = result.theta, result.value, result.evaluations
    if energy is None:
        energy, evals = float(oracle.evaluate(theta, seed=seed).energies[0]), evals + 1
    ideal = float(ideal_oracle(problem, p).evaluate(theta).energies[0])
    return {
        "id": problem.id,
        "n": problem.n,
        "max_cut": problem.max_cut,
        "min_value": problem.min_value,
        "params": [round(x, 6) for x in theta.tolist()],
        "ar_target": problem.approximation_ratio(energy),
        "ar_ideal": problem.approximation_ratio(ideal),
        "evaluations": evals,
    }


def execute_evaluate(ledger: Ledger, run_id: str) -> dict[str, Any]:
    """Run (or resume) the evaluation ``run_id``: ``{"run_id", "spec", "rows"}``, one row per graph."""
    from backends import get_target

    from .validation import load_checked_graphs, parse_target_spec, place_graphs

    def already_done(record: dict[str, Any]) -> dict[str, Any]:
        rows = list(ledger.results(run_id).values())
        return {"run_id": run_id, "spec": record["spec"], "rows": rows, "already_done": True}

    def execute(record: dict[str, Any]) -> dict[str, Any]:
        cfg = parse_config(record["spec"], EvaluateConfig, where=f"run {run_id} spec")
        spec = parse_target_spec(cfg.backend)
        target = get_target(spec.target)
        problems = place_graphs([pr.with_max_cut() for pr in load_checked_graphs(cfg.graphs)], target, cfg.graphs, cfg.shots)
        cells = sweeps.Cells(ledger, run_id)
        rows = [
            cells(f"{index}:{problem.id}", lambda: evaluate_start(
                ledger, run_id, f"{index}:{problem.id}", problem, target, p=cfg.p, init=cfg.init,
                seed=cfg.seed, label=spec.target, shots=cfg.shots, mitigation=spec.mitigation,
            ))
            for index, problem in enumerate(problems)
        ]
        return {"run_id": run_id, "spec": record["spec"], "rows": rows}

    return sweeps.drive(ledger, run_id, EVALUATE_KIND, execute, already_done)
