"""``hybrid plan``: which depth and which mitigation to run on a device, predicted before paying for it.

For every graph, depth ``p`` and mitigation the plan reports

* the ideal AR at good parameters: the best zero-evaluation start of :data:`STARTS`
  (fixed-angle tables, transfer, regression) on the exact ideal oracle (light cones at
  device scale), then a short L-BFGS refinement on it
  (:func:`hybrid.strategies.optimal.local_maximum`, ``refine_iters`` iterations);
* the predicted noisy AR and the predicted mitigated AR at those parameters: the exact
  noisy oracle of the target (``make_oracle(problem, p, backend, mitigation=...)`` with no
  shots; its ``oracle_method`` is recorded);
* the circuit: two-qubit gates, depth and two-qubit depth of the ISA circuit (for ZNE,
  of every folded circuit);
* the cost: circuits and shots per evaluation and per run (``evaluations`` oracle calls
  plus the readout calibration circuits), and the estimated QPU seconds
  (:func:`qpu_seconds`, :mod:`backends.usage`: one job per evaluation, job overhead plus
  shots x (scheduled circuit duration + repetition delay) per circuit).

It recommends the (depth, mitigation) with the highest predicted AR on the device (the
mitigated AR; the noisy one for ``none``) whose run fits ``budget_qpu_seconds``
(:func:`recommend`). :func:`run_plan` writes ``plan.json`` (:data:`PLAN_SCHEMA`),
``plan.md`` and ``figures/plan_<graph>.png|svg``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from backends.capabilities import Capability, supports

from .mitigation.spec import parse_mitigation
from .oracles import ideal_oracle
from .oracle_factory import make_oracle
from .problems import MaxCutProblem, ProblemError

#: Zero-evaluation starts tried before the ideal refinement (the best on the ideal oracle is kept).
STARTS = ("fixed", "transfer", "regression")
#: L-BFGS iterations of the ideal refinement.
REFINE_ITERS = 20
#: Shots per circuit.
SHOTS = 4000
#: Oracle evaluations per run (the equal-budget benchmark's budget).
EVALUATIONS = 10
#: ``plan.json`` schema version and its top-level and per-row keys.
PLAN_SCHEMA = 1
PLAN_KEYS = ("schema", "created", "config", "graphs", "wall_time")
ROW_KEYS = (
    "p", "mitigation", "start", "ideal_ar", "noisy_ar", "mitigated_ar", "predicted_ar", "oracle_method",
    "two_qubit_gates", "depth", "two_qubit_depth", "circuits_per_evaluation", "calibration_circuits",
    "shots_per_evaluation", "shots_per_run", "qpu_seconds_per_evaluation", "qpu_seconds_per_run",
    "fits_budget", "seconds",
)
#: How the QPU time is estimated (written into every plan).
QPU_TIME_METHOD = ("backends.usage: one job per evaluation (all its circuits) and one per readout calibration, each "
                   "job overhead + shots x (ASAP-scheduled ISA circuit duration + default_rep_delay) per circuit")


@dataclass(frozen=True)
class PlanConfig:
    """What to plan: graphs (file or ``heavyhex:`` spec), the device target, the depths and mitigations."""

    graphs: str
    backend: str
    depths: tuple[int, ...] = (1, 2, 3)
    mitigations: tuple[str, ...] = ("none", "zne+rem")
    budget_qpu_seconds: float | None = None
    shots: int = SHOTS
    evaluations: int = EVALUATIONS
    starts: tuple[str, ...] = STARTS
    refine_iters: int = REFINE_ITERS
    oracle_method: str | None = None  # forwarded to make_oracle(method=...) for the unmitigated oracle
    seed: int = 0

    def __post_init__(self):
        depths = tuple(int(p) for p in self.depths)
        if not depths or any(p < 1 for p in depths):
            raise ProblemError(f"--p must list depths >= 1, got {self.depths!r}")
        object.__setattr__(self, "depths", tuple(sorted(set(depths))))
        mits = tuple(parse_mitigation(m).name for m in self.mitigations)  # raises naming the bad spec
        if not mits:
            raise ProblemError("--mitigation must list at least one of none, rem, zne, zne+rem")
        object.__setattr__(self, "mitigations", tuple(dict.fromkeys(mits)))
        object.__setattr__(self, "starts", tuple(self.starts))
        if self.budget_qpu_seconds is not None and not self.budget_qpu_seconds > 0:
            raise ProblemError(f"--budget-qpu-seconds must be positive, got {self.budget_qpu_seconds!r}")
        if self.shots < 1 or self.evaluations < 1:
            raise ProblemError(f"shots and evaluations must be positive, got {self.shots}, {self.evaluations}")
        if not str(self.backend).startswith("fake:"):
            raise ProblemError(f"--backend must be a fake:<device> target (the plan predicts it exactly), got {self.backend!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PlanConfig":
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ProblemError(f"unknown plan option(s) {', '.join(unknown)}; known: {', '.join(cls.__dataclass_fields__)}")
        data = dict(data)
        for key in ("depths", "mitigations", "starts"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


# ---------------------------------------------------------------------------- circuits and cost
def circuit_size(isa) -> dict[str, int]:
    """Two-qubit gates, depth and two-qubit depth of an ISA circuit (barriers and measurements left out)."""
    skip = ("barrier", "measure", "delay")
    two = sum(1 for inst in isa.data if inst.operation.num_qubits == 2 and inst.operation.name not in skip)
    depth = isa.depth(lambda inst: inst.operation.name not in skip)
    two_depth = isa.depth(lambda inst: inst.operation.num_qubits == 2 and inst.operation.name not in skip)
    return {"two_qubit_gates": int(two), "depth": int(depth), "two_qubit_depth": int(two_depth)}


def qpu_seconds(circuits: Sequence[Any], target: Any, shots: int) -> dict[str, Any]:
    """The estimated quantum seconds of one job running the ISA ``circuits`` with ``shots`` each
    (:meth:`backends.usage.UsageEstimating.estimate_usage`: job overhead + shots x (scheduled
    duration + rep delay) per circuit); the estimate's terms as a dict."""
    if not supports(target, Capability.QPU_USAGE):
        raise ProblemError(f"target {target.spec!r} has no QPU usage model; plan on a fake:<device> target")
    return target.estimate_usage(list(circuits), int(shots), isa=True).to_dict()


def mitigation_circuits(isa, mitigation: str, target: Any, seed: int = 0) -> tuple[list[Any], int]:
    """``(circuits run per evaluation, readout calibration circuits per run)`` for a mitigation."""
    from .mitigation import zne
    from .mitigation._circuits import transpiler_target

    spec = parse_mitigation(mitigation)
    circuits = [isa]
    if spec.zne:
        circuits, _ = zne.transform([isa], spec, transpiler_target(target), seed=seed)
    calibration = len(rem_calibration(isa, target)) if spec.rem else 0  # once per run on hardware
    return list(circuits), calibration


def rem_calibration(isa, target: Any) -> list[Any]:
    """The readout calibration circuits of ``isa`` (all-zeros and all-ones preparations), one job per run."""
    from .mitigation import rem
    from .mitigation._circuits import transpiler_target

    return list(rem.calibration_circuits(isa, transpiler_target(target)))


# ---------------------------------------------------------------------------- parameters
def good_parameters(problem: MaxCutProblem, p: int, starts: Sequence[str] = STARTS,
                    refine_iters: int = REFINE_ITERS) -> tuple[np.ndarray, float, str]:
    """``(theta, ideal AR, label)``: the best zero-cost start on the ideal oracle, refined by L-BFGS."""
    from .strategies import get_strategy
    from .strategies.base import StrategyError
    from .strategies.optimal import local_maximum

    ideal = ideal_oracle(problem, p)
    best = None
    for name in starts:
        try:
            strategy = get_strategy(name)
            if strategy.cost(p) != 0:
                raise ProblemError(f"plan start {name!r} costs evaluations; use a zero-evaluation start")
            theta = np.asarray(strategy.start(problem, p, seed=0).theta, float)
        except (StrategyError, ValueError):
            continue
        value = float(ideal.evaluate(theta).energies[0])
        if best is None or value > best[1]:
            best = (theta, value, name)
    if best is None:
        raise ProblemError(f"no start of {', '.join(starts)} applies at p = {p}; pass other starts")
    theta, value, label = best
    if refine_iters > 0:
        refined, refined_value = local_maximum(problem, theta, refine_iters)
        if refined_value > value:
            theta, value, label = refined, refined_value, f"{label}+lbfgs:{refine_iters}"
    return theta, problem.approximation_ratio(value), label


# ---------------------------------------------------------------------------- the plan
def _predict(problem: MaxCutProblem, p: int, theta: np.ndarray, target: Any, mitigation: str,
             method: str | None) -> tuple[float, str]:
    options = {"method": method} if method and mitigation == "none" else {}
    oracle = make_oracle(problem, p, target, mitigation=mitigation, **options)
    evaluation = oracle.evaluate(theta)
    name = evaluation.metadata.get("oracle_method") or evaluation.metadata.get("method") or getattr(oracle, "method", None)
    if not name:  # the mitigated oracle on exact noisy distributions names no method of its own
        name = "density-matrix" if getattr(oracle, "exact", False) else type(oracle).__name__
    return problem.approximation_ratio(float(evaluation.energies[0])), str(name)


def _attempt(problem: MaxCutProblem, p: int, theta: np.ndarray, target: Any, mitigation: str,
             method: str | None) -> dict[str, Any]:
    """``{"ar", "method", "seconds"}`` of one prediction, or ``{"error", "seconds"}`` when the oracle refuses."""
    t0 = time.perf_counter()
    try:
        ar, name = _predict(problem, p, theta, target, mitigation, method)
    except (ProblemError, ValueError, RuntimeError) as exc:  # TargetError and MitigationError are ValueErrors
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - t0}
    return {"ar": ar, "method": name, "seconds": time.perf_counter() - t0}


def plan_graph(problem: MaxCutProblem, config: PlanConfig, target: Any,
               log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every (depth, mitigation) row of one graph, and the recommendation."""
    from .ansatz import qaoa_circuit

    problem = problem.with_max_cut()
    rows = []
    for p in config.depths:
        t0 = time.perf_counter()
        theta, ideal_ar, label = good_parameters(problem, p, config.starts, config.refine_iters)
        log(f"  {problem.id} p={p}: ideal AR {ideal_ar:.4f} ({label}, {time.perf_counter() - t0:.1f} s)")
        isa = target.isa_circuit(qaoa_circuit(problem, p, measure=True))
        base_size = circuit_size(isa)
        noisy = _attempt(problem, p, theta, target, "none", config.oracle_method)
        for mitigation in config.mitigations:
            t1 = time.perf_counter()
            circuits, calibration = mitigation_circuits(isa, mitigation, target, config.seed)
            sizes = [circuit_size(c) for c in circuits]
            usage = qpu_seconds(circuits, target, config.shots)
            per_eval = usage["quantum_seconds"]
            per_cal = qpu_seconds(rem_calibration(isa, target), target, config.shots)["quantum_seconds"] if calibration else 0.0
            row: dict[str, Any] = {
                "p": p, "mitigation": mitigation, "start": label, "theta": [float(x) for x in theta],
                "ideal_ar": ideal_ar, **base_size,
                "circuits_per_evaluation": len(circuits), "calibration_circuits": calibration,
                "folded_two_qubit_gates": [s["two_qubit_gates"] for s in sizes],
                "folded_depth": [s["depth"] for s in sizes],
                "shots_per_evaluation": len(circuits) * config.shots,
                "shots_per_run": (len(circuits) * config.evaluations + calibration) * config.shots,
                "qpu_seconds_per_evaluation": per_eval,
                "qpu_seconds_per_run": per_eval * config.evaluations + per_cal,
                "qpu_usage_per_evaluation": usage,
            }
            row["fits_budget"] = config.budget_qpu_seconds is None or row["qpu_seconds_per_run"] <= config.budget_qpu_seconds
            mitigated = noisy if mitigation == "none" else _attempt(problem, p, theta, target, mitigation, None)
            row["noisy_ar"] = noisy.get("ar")
            row["mitigated_ar"] = row["predicted_ar"] = mitigated.get("ar")
            row["oracle_method"] = mitigated.get("method") if mitigation == "none" else f"{mitigated.get('method')} ({mitigation})"
            if "error" in mitigated:
                row["error"] = mitigated["error"]
            row["seconds"] = time.perf_counter() - t1 + (noisy["seconds"] if mitigation == config.mitigations[0] else 0.0)
            if "error" in row:
                log(f"  {problem.id} p={p} {mitigation}: cannot predict ({row['error']})")
            else:
                noisy_text = "-" if row["noisy_ar"] is None else f"{row['noisy_ar']:.4f}"
                log(f"  {problem.id} p={p} {mitigation}: noisy {noisy_text}, mitigated {row['mitigated_ar']:.4f}, "
                    f"{row['qpu_seconds_per_run']:.1f} QPU s per run ({row['seconds']:.1f} s, {row['oracle_method']})")
            rows.append(row)
    return {"graph": str(problem.id), "n": problem.n, "edges": len(problem.edges), "max_cut": problem.max_cut,
            "max_cut_source": problem.max_cut_source, "rows": rows,
            "recommendation": recommend(rows, config.budget_qpu_seconds)}


def recommend(rows: Sequence[dict[str, Any]], budget_qpu_seconds: float | None) -> dict[str, Any]:
    """The row with the best predicted AR whose run fits the budget (ties: the cheaper run).

    Returns ``{"p", "mitigation", "predicted_ar", "qpu_seconds_per_run", "reason"}``, or
    ``{"p": None, ..., "reason"}`` naming the cheapest run when none fits.
    """
    usable = [r for r in rows if "error" not in r]
    fits = [r for r in usable if budget_qpu_seconds is None or r["qpu_seconds_per_run"] <= budget_qpu_seconds]
    if not fits:
        if not usable:
            return {"p": None, "mitigation": None, "predicted_ar": None, "qpu_seconds_per_run": None,
                    "reason": "no (depth, mitigation) could be predicted; see the rows' errors"}
        cheapest = min(usable, key=lambda r: r["qpu_seconds_per_run"])
        return {"p": None, "mitigation": None, "predicted_ar": None, "qpu_seconds_per_run": None,
                "reason": f"no run fits {budget_qpu_seconds:g} QPU s; the cheapest, p = {cheapest['p']} "
                          f"{cheapest['mitigation']}, needs {cheapest['qpu_seconds_per_run']:.1f} s: raise "
                          "--budget-qpu-seconds or lower --shots"}
    best = max(fits, key=lambda r: (round(r["predicted_ar"], 12), -r["qpu_seconds_per_run"]))
    budget = "(no budget given)" if budget_qpu_seconds is None else f"within {budget_qpu_seconds:g} QPU s per run"
    return {"p": best["p"], "mitigation": best["mitigation"], "predicted_ar": best["predicted_ar"],
            "qpu_seconds_per_run": best["qpu_seconds_per_run"],
            "reason": f"highest predicted AR on the device {budget}; {len(fits)} of {len(usable)} runs fit"}


def markdown(plan: dict[str, Any]) -> str:
    """One table per graph and its recommendation."""
    cfg = plan["config"]
    budget = "none" if cfg["budget_qpu_seconds"] is None else f"{cfg['budget_qpu_seconds']:g} s"
    lines = [f"# Plan: {cfg['graphs']} on {cfg['backend']}", "",
             f"{cfg['shots']} shots per circuit, {cfg['evaluations']} evaluations per run, QPU budget per run: {budget}. "
             f"QPU time: {plan['qpu_time_method']}.", ""]
    for g in plan["graphs"]:
        lines += [f"## {g['graph']} (n = {g['n']}, {g['edges']} edges, max cut {g['max_cut']:g}, {g['max_cut_source']})", "",
                  "| p | mitigation | ideal AR | noisy AR | mitigated AR | 2q gates | depth | circuits / eval | "
                  "shots / run | QPU s / eval | QPU s / run | fits | oracle |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in g["rows"]:
            noisy = "-" if r.get("noisy_ar") is None else f"{r['noisy_ar']:.4f}"
            mitigated = "-" if r.get("mitigated_ar") is None else f"{r['mitigated_ar']:.4f}"
            oracle = r["error"].replace("|", "/") if "error" in r else r["oracle_method"]
            lines.append(f"| {r['p']} | {r['mitigation']} | {r['ideal_ar']:.4f} | {noisy} | {mitigated} | "
                         f"{r['two_qubit_gates']} | {r['depth']} | {r['circuits_per_evaluation']} | {r['shots_per_run']} | "
                         f"{r['qpu_seconds_per_evaluation']:.2f} | {r['qpu_seconds_per_run']:.1f} | "
                         f"{'yes' if r['fits_budget'] else 'no'} | {oracle} |")
        rec = g["recommendation"]
        lines += [""]
        if rec["p"] is None:
            lines.append(f"**No recommendation:** {rec['reason']}.")
        else:
            lines.append(f"**Recommended: p = {rec['p']}, mitigation {rec['mitigation']}** (predicted AR "
                         f"{rec['predicted_ar']:.4f}, {rec['qpu_seconds_per_run']:.1f} QPU s per run): {rec['reason']}.")
        lines.append("")
    return "\n".join(lines)


def run_plan(config: PlanConfig, out: str | Path, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Plan every graph of ``config.graphs`` and write ``plan.json``, ``plan.md`` and the figures into ``out``."""
    from backends import get_target

    from .device_graphs import load_graphs
    from .plots.plan import plot_plan

    started = time.perf_counter()
    problems = load_graphs(config.graphs)
    target = get_target(config.backend)
    graphs = []
    for problem in problems:
        log(f"plan {problem.id} (n={problem.n}) on {config.backend}: p {list(config.depths)}, {', '.join(config.mitigations)}")
        graphs.append(plan_graph(problem, config, target, log))
    plan = {"schema": PLAN_SCHEMA, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "config": config.to_dict(), "qpu_time_method": QPU_TIME_METHOD, "graphs": graphs,
            "wall_time": time.perf_counter() - started}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "plan.json").write_text(json.dumps(plan, indent=1, default=_json_default) + "\n")
    (out / "plan.md").write_text(markdown(plan))
    plan["figures"] = [str(path) for g in graphs for path in plot_plan(g, out / "figures")]
    plan["out"] = str(out)
    return plan


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"cannot write {type(value).__name__} to plan.json")
