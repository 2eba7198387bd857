"""The equal-budget benchmark (``hybrid benchmark``): every start, the same budget, the same Phase II.

A *cell* is (target, graph, depth p, start strategy, Phase II optimiser, budget,
seed). Budget 0 is the start alone (zero-evaluation strategies only; its value is
the exact value on the target). Budget ``B > 0`` is one
:func:`hybrid.optimize.optimize_graph` run with ``max_evaluations = B`` (and
``max_shots = B * shots`` on sampled targets): Phase I evaluations are counted in
it, so a start that costs ``K`` leaves ``B - K`` to Phase II; a start with
``K > B`` is not run at ``B``.

Per cell it records the AR on the target (``ar_final`` of the run) and re-scored
ideally, and the *incumbent trace*: at every evaluation where the best measured
point changed, the exact value of that point on the target (ideal or exact noisy
simulation; on sampled targets the measured value is not used). The evaluations
and shots needed to reach 99 % of the best-known AR are read from the trace once
every cell has run.

Best-known AR per graph and depth: :func:`hybrid.strategies.optimise_angles`
(multi-start exact optimisation) cached in a JSON file; on noisy targets the exact
noisy value at those angles, raised to the best exact value any cell reached.

A benchmark is a run in the ledger (``spec["kind"] == "benchmark"``, registered by
:func:`start_benchmark` before any cell runs). Its targets are simulators only, so it is
recorded at the *cell* level, not per oracle call: each finished cell is one result
(:func:`cell_key`), written the moment it finishes. ``hybrid jobs resume RUN_ID`` takes
the recorded cells from the ledger, runs the others (a cell cut short by a kill runs again
from its start; cells are seeded independently) and writes the same ``results.json``,
``tables.md`` and figures as an uninterrupted run (wall time and creation time aside). The
best-known cache stays a JSON file.

Longer than 600 lines: one pipeline over one cell format (the cells, their ledger run, and
the tables and ``auto`` table read from them); the tables (about 200 lines, from
:func:`summarise` on) are the part to move out if it grows.

Graph sets: the test split of :mod:`hybrid.families` (families never trained on,
larger than training) and the paper's 90 test graphs. Outputs: ``results.json``
(config, cells, summary), ``tables.md``, ``figures/ar_vs_budget_<target>.png|svg``,
and the ``auto`` strategy's table (best start at budget ``AUTO_BUDGET`` per target
kind, family and depth).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .oracle_factory import make_oracle
from .oracles import ideal_oracle
from .oracle_factory import objective_oracle
from .oracles.objective import parse_objective
from .families import FAMILIES, SPLIT_NODES, classify, split_graphs
from .problems import MaxCutProblem, ProblemError, load_graphs
from .strategies import get_strategy, optimise_angles, target_kind
from .strategies.base import StrategyError

METHODS = ("fixed", "constant", "regression", "tqa", "lrqaoa", "transfer", "interp", "random:8", "learned")
OPTIMIZERS = ("cobyla", "spsa", "adam")
BUDGETS = (0, 10, 30, 100)
#: Shots per evaluation on sampled targets.
SHOTS = 1000
#: Fraction of the best-known AR that counts as reached.
REACH = 0.99
#: Budget at which ``auto`` picks its start.
AUTO_BUDGET = 10
#: Optimiser steps of a run budgeted in QPU seconds (the budget, not the steps, stops it).
QPU_BUDGET_STEPS = 1000
#: The ledger kind of a ``hybrid benchmark`` run.
BENCHMARK_KIND = "benchmark"
#: Target names -> (backend spec, sampled?).
TARGETS = {"ideal": ("ideal", False), "ideal-shots": ("ideal", True), "fake:torino": ("fake:torino", False),
           "fake:torino-shots": ("fake:torino", True), "fake:fez": ("fake:fez", False)}


@dataclass(frozen=True)
class Slice:
    """One block of cells: a target and the graphs, depths, starts, optimisers and budgets run on it."""

    target: str
    depths: tuple[int, ...] = (1, 2, 3, 4, 5)
    per_family: int = 4
    families: tuple[str, ...] = FAMILIES
    nodes: dict[str, list[int]] | None = None  # node counts per family (default: the test split's)
    paper_graphs: int = 90  # how many of the paper's 90 test graphs
    methods: tuple[str, ...] = METHODS
    optimizers: tuple[str, ...] = OPTIMIZERS
    budgets: tuple[int, ...] = BUDGETS
    seeds: tuple[int, ...] = (0, 1, 2)
    #: Graph files or device specs (``heavyhex:fez:weighted``) run besides the families, each its own set.
    graphs: tuple[str, ...] = ()
    #: False: no multi-start optimisation per graph (hours for weighted device graphs at p = 3); the
    #: ceiling for reach is then the best point any cell of the benchmark reached.
    best_known: bool = True
    # budgets in estimated QPU seconds (``max_qpu_seconds``, backends.usage); sampled device targets only
    qpu_budgets: tuple[float, ...] = ()

    def __post_init__(self):
        if self.target not in TARGETS:
            raise ProblemError(f"unknown benchmark target {self.target!r}; use one of {', '.join(TARGETS)}")
        spec, sampled = TARGETS[self.target]
        if self.qpu_budgets and (spec == "ideal" or not sampled):
            raise ProblemError(f"qpu_budgets need a sampled device target with a usage model, not {self.target!r}; "
                               f"use {', '.join(t for t, (b, s) in TARGETS.items() if s and b != 'ideal')} or drop qpu_budgets")
        if any(not (isinstance(b, (int, float)) and b > 0) for b in self.qpu_budgets):
            raise ProblemError(f"qpu_budgets must be positive seconds, got {list(self.qpu_budgets)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Slice":
        data = dict(data)
        for key in ("depths", "families", "methods", "optimizers", "budgets", "seeds", "graphs", "qpu_budgets"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


@dataclass(frozen=True)
class BenchmarkConfig:
    name: str
    slices: tuple[Slice, ...]
    shots: int = SHOTS
    auto_budget: int = AUTO_BUDGET  # the budget at which ``auto`` picks its start
    objective: str = "expectation"  # or cvar:ALPHA: what Phase II maximises (ar_* stay the expected cut)

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "shots": self.shots, "auto_budget": self.auto_budget, "slices": [s.to_dict() for s in self.slices]}
        return {**out, "objective": self.objective} if self.objective != "expectation" else out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BenchmarkConfig":
        return cls(data["name"], tuple(Slice.from_dict(s) for s in data["slices"]), int(data.get("shots", SHOTS)),
                   int(data.get("auto_budget", AUTO_BUDGET)), parse_objective(data.get("objective", "expectation")).spec())


SMALL = {f: [12, 13, 14] for f in FAMILIES}
#: Fake-device slices use n = 8 (exact noisy density matrices are seconds per evaluation beyond that).
DEVICE_NODES = {f: [8] for f in FAMILIES}

QUICK = BenchmarkConfig(
    "quick",
    (
        Slice("ideal", depths=(1, 2, 3), per_family=1, nodes=SMALL, paper_graphs=1, seeds=(0,)),
        Slice("ideal-shots", depths=(2,), per_family=1, families=("regular", "weighted"), nodes=SMALL, paper_graphs=0,
              optimizers=("cobyla",), budgets=(0, 10, 30), seeds=(0,)),
        Slice("fake:torino", depths=(1,), per_family=1, families=("regular",), nodes=DEVICE_NODES, paper_graphs=0,
              optimizers=("cobyla",), budgets=(0, 10, 30), seeds=(0,)),
        Slice("fake:torino-shots", depths=(1,), per_family=1, families=("regular",), nodes=DEVICE_NODES, paper_graphs=0,
              optimizers=("cobyla",), budgets=(0, 10, 30), seeds=(0,)),
    ),
)

FULL = BenchmarkConfig(
    "full",
    (
        Slice("ideal"),
        Slice("ideal-shots", per_family=2, paper_graphs=8, seeds=(0, 1)),
        Slice("fake:torino", depths=(1, 2, 3), per_family=2, nodes=DEVICE_NODES, paper_graphs=0, seeds=(0, 1)),
        Slice("fake:torino-shots", depths=(1, 2, 3), per_family=2, nodes=DEVICE_NODES, paper_graphs=0, seeds=(0, 1)),
    ),
)


# ---------------------------------------------------------------------------- graphs and best-known ARs
def qpu_budget_label(seconds: float) -> str:
    """The ``budget`` of a cell budgeted in estimated QPU seconds: ``"60s"``."""
    return f"{float(seconds):g}s"


def graph_key(problem: MaxCutProblem) -> str:
    """Identity of a graph for caches: its id and a hash of its edges."""
    terms: list = [[u, v, round(w, 12)] for u, v, w in problem.edges]
    if not problem.is_max_cut:  # Ising / QUBO: the same edges with other fields are another problem
        terms += [[round(h, 12) for h in problem.field_array], round(problem.offset, 12)]
    digest = hashlib.sha1(json.dumps(terms).encode()).hexdigest()[:12]
    return f"{problem.id}#{digest}"


def slice_graphs(sl: Slice, paper_path: str | Path | None = None) -> list[tuple[str, MaxCutProblem]]:
    """``(set name, graph)`` pairs: the test split's families, the paper's graphs, then ``sl.graphs``
    (each graph of a file or device spec, in the set named by the spec)."""
    out = []
    if sl.per_family > 0 and sl.families:
        nodes = {f: list(v) for f, v in sl.nodes.items()} if sl.nodes else None
        # all families, then filter: split_graphs seeds a family's graphs by its position in ``families``
        graphs = split_graphs("test", sl.per_family, nodes={**SPLIT_NODES["test"], **nodes} if nodes else None)
        out += [("test", g) for g in graphs if g.meta["family"] in sl.families]
    if sl.paper_graphs > 0:
        from .paper_benchmark import default_paths

        path = paper_path or default_paths()[0]
        out += [("paper90", g.with_max_cut()) for g in load_graphs(path)[: sl.paper_graphs]]
    if sl.graphs:
        from .device_graphs import load_graphs as load_spec

        out += [(str(spec), g.with_max_cut()) for spec in sl.graphs for g in load_spec(spec)]
    return out


class BestKnown:
    """Best-known ideal AR per graph and depth (JSON cache made by :func:`optimise_angles`)."""

    MADE_BY = "hybrid.strategies.optimal.optimise_angles (recursion in p: INTERP + fixed + TQA + random restarts, L-BFGS)"

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self.data: dict[str, Any] = {"made_by": self.MADE_BY, "graphs": {}}
        if self.path and self.path.exists():
            self.data = json.loads(self.path.read_text())

    def get(self, problem: MaxCutProblem, p: int, log: Callable[[str], None] = print) -> tuple[float, np.ndarray]:
        key = graph_key(problem)
        entry = self.data["graphs"].get(key, {"ars": [], "thetas": []})
        if len(entry["ars"]) < p:
            t0 = time.perf_counter()
            result = optimise_angles(problem, p, seed=0)
            entry = {"ars": list(result.ars), "thetas": [t.tolist() for t in result.thetas]}
            self.data["graphs"][key] = entry
            log(f"  best-known {problem.id} (n={problem.n}) p<={p}: {result.ar:.4f} ({time.perf_counter() - t0:.0f} s)")
            self.save()
        return float(entry["ars"][p - 1]), np.asarray(entry["thetas"][p - 1], float)

    def raise_to(self, problem: MaxCutProblem, p: int, ar: float, theta: np.ndarray) -> None:
        """Keep a better point found by a benchmark run (the ceiling is the best seen)."""
        entry = self.data["graphs"][graph_key(problem)]
        if ar > entry["ars"][p - 1]:
            entry["ars"][p - 1], entry["thetas"][p - 1] = float(ar), [float(x) for x in theta]

    def save(self) -> None:
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.data, indent=1) + "\n")


# ---------------------------------------------------------------------------- cells
class TargetScorer:
    """Exact value of a point on the target (ideal statevector or exact noisy density matrix), cached."""

    def __init__(self, problem: MaxCutProblem, p: int, backend: Any):
        self.problem = problem
        self.exact = ideal_oracle(problem, p) if backend == "ideal" else make_oracle(problem, p, backend)
        self._cache: dict[tuple, float] = {}

    def __call__(self, theta: Sequence[float]) -> float:
        key = tuple(np.round(np.asarray(theta, float), 12))
        if key not in self._cache:
            self._cache[key] = self.problem.approximation_ratio(float(self.exact.evaluate(np.asarray(theta, float)).energies[0]))
        return self._cache[key]


def incumbent_trace(history: Sequence[dict[str, Any]], score: Callable[[Sequence[float]], float]) -> list[list[float]]:
    """``[evaluations, shots, exact target AR]`` at every history entry where the best measured point changed."""
    trace, best = [], -math.inf
    for entry in history:
        if "params" not in entry or entry.get("energy") is None:
            continue
        if entry["energy"] > best:
            best = entry["energy"]
            trace.append([int(entry.get("evaluations", 0)), int(entry.get("shots", 0)), score(entry["params"])])
    return trace


def job_calls(history: Sequence[dict[str, Any]]) -> list[list[int]]:
    """``[evaluations, shots]`` after every oracle call (one job each on a sampled target), in order."""
    return [[int(e.get("evaluations", 0)), int(e.get("shots", 0))] for e in history]


def reach(trace: Sequence[Sequence[float]], best_known: float, fraction: float = REACH) -> tuple[float, float]:
    """(evaluations, shots) at which the incumbent first reached ``fraction * best_known``; NaN if never."""
    for evals, shots, ar in trace:
        if ar >= fraction * best_known - 1e-12:
            return float(evals), float(shots)
    return math.nan, math.nan


def cell_key(slice_index: int, graph_index: int, row: dict[str, Any]) -> str:
    """The ledger key of a cell: slice, graph (position and identity), depth, start, optimiser, budget, seed."""
    parts = [row.get("optimizer", "error"), row.get("budget", "-"), row.get("seed", "-")]
    return f"{slice_index}.{graph_index}:{row['target']}|{row['key']}|p{row['p']}|{row['method']}|" + "|".join(map(str, parts))


class _Block:
    """What the cells of one (graph, depth) share, built on first use (not at all when every cell is recorded)."""

    def __init__(self, sl: Slice, set_name: str, problem: MaxCutProblem, p: int, backend: Any, shots: int,
                 best_known: BestKnown, log: Callable[[str], None], objective: str = "expectation"):
        self.sl, self.set_name, self.problem, self.p, self.backend = sl, set_name, problem, p, backend
        self.shots, self.best_known, self.log, self.objective = shots, best_known, log, objective
        self.name = {"target": sl.target, "key": graph_key(problem), "p": p}

    @cached_property
    def score(self) -> TargetScorer:
        return TargetScorer(self.problem, self.p, self.backend)

    @cached_property
    def oracle(self):
        return objective_oracle(self.problem, self.p, self.backend, objective=self.objective,
                                shots=self.shots if TARGETS[self.sl.target][1] else None)

    @cached_property
    def ideal(self):
        return ideal_oracle(self.problem, self.p)

    @cached_property
    def base(self) -> dict[str, Any]:
        problem, p = self.problem, self.p
        row = {"target": self.sl.target, "graph": problem.id, "key": graph_key(problem), "set": self.set_name,
               "family": classify(problem), "n": problem.n, "p": p}
        if not self.sl.best_known:
            return {**row, "best_known_ideal": None, "target_at_ideal_optimum": None}
        ideal_best, ideal_theta = self.best_known.get(problem, p, self.log)
        return {**row, "best_known_ideal": ideal_best,
                "target_at_ideal_optimum": self.score(ideal_theta) if self.backend != "ideal" else ideal_best}


def run_slice(
    sl: Slice,
    *,
    shots: int,
    best_known: BestKnown,
    paper_path: str | Path | None = None,
    log: Callable[[str], None] = print,
    cell_log: Path | None = None,
    cells: Callable[[str, Callable[[], dict[str, Any]]], dict[str, Any]] | None = None,
    slice_index: int = 0,
    objective: str = "expectation",
) -> list[dict[str, Any]]:
    """Every cell of one slice; each (graph, depth) block is appended to ``cell_log`` (JSON lines) as it finishes.

    ``cells(key, compute)`` (a :class:`hybrid.ledger.sweeps.Cells`) records each cell the
    moment it finishes and returns the recorded one instead of computing it again.

    A cell is a start alone (:func:`_start_alone`) or a start then Phase II at one budget
    (:func:`_phase_two_cell`).
    """
    from backends import get_target

    cells = cells or (lambda key, compute: compute())
    backend_spec, sampled = TARGETS[sl.target]
    backend = backend_spec if backend_spec == "ideal" else get_target(backend_spec)
    rows: list[dict[str, Any]] = []
    done = 0
    for graph_index, (set_name, problem) in enumerate(slice_graphs(sl, paper_path)):
        family = classify(problem)
        if sl.best_known:
            best_known.get(problem, max(sl.depths), log)  # one recursion in p for every depth of the slice
        for p in sl.depths:
            block = _Block(sl, set_name, problem, p, backend, shots, best_known, log, objective)

            def cell(name: dict[str, Any], compute: Callable[[], dict[str, Any]]) -> None:
                rows.append(cells(cell_key(slice_index, graph_index, {**block.name, **name}), compute))

            t0 = time.perf_counter()
            for method in sl.methods:
                strategy = get_strategy(method)
                try:
                    cost = strategy.cost(p)
                except (StrategyError, ValueError) as exc:
                    cell({"method": method}, lambda exc=exc: {**block.base, "method": method, "error": str(exc)})
                    continue
                if 0 in sl.budgets and cost == 0:
                    cell({"method": method, "optimizer": "-", "budget": 0, "seed": 0},
                         lambda strategy=strategy, method=method: _start_alone(block, strategy, method))
                limits = [(b, {"max_evaluations": b, "max_shots": b * shots if sampled else None}, b)
                          for b in sl.budgets if b > 0 and cost <= b]
                limits += [(qpu_budget_label(s), {"max_qpu_seconds": float(s)}, QPU_BUDGET_STEPS) for s in sl.qpu_budgets]
                for opt in sl.optimizers:
                    for budget, limit, steps in limits:
                        for seed in sl.seeds:
                            name = {"method": method, "optimizer": opt, "budget": budget, "seed": seed}

                            cell(name, lambda name=name, method=method, limit=limit, steps=steps: _phase_two_cell(
                                block, method, name, sl.target, limit, steps))
            log(f"  {sl.target} {problem.id} (n={problem.n}, {family}) p={p}: {time.perf_counter() - t0:.0f} s")
            if cell_log is not None:
                with open(cell_log, "a") as fh:
                    for row in rows[done:]:
                        fh.write(json.dumps(row) + "\n")
                done = len(rows)
    return rows


def _start_alone(block: _Block, strategy, method: str) -> dict[str, Any]:
    """A zero-evaluation start at budget 0: its AR on the target and ideally."""
    problem, p = block.problem, block.p
    start = strategy.start(problem, p, seed=0)
    return {**block.base, "method": method, "optimizer": "-", "budget": 0, "seed": 0, "label": start.label,
            "ar_target": block.score(start.theta),
            "ar_ideal": problem.approximation_ratio(float(block.ideal.evaluate(start.theta).energies[0])),
            "evaluations": 0, "shots": 0, "trace": [[0, 0, block.score(start.theta)]]}


def _phase_two_cell(block: _Block, method: str, name: dict[str, Any], target: str,
                    limit: dict[str, Any], steps: int) -> dict[str, Any]:
    """A start, then Phase II with ``name``'s optimiser and seed under ``limit`` (evaluations and
    shots, or QPU seconds) for at most ``steps`` steps (a skipped or failed cell says why)."""
    from .optimize import BudgetError, optimize_graph

    problem, p = block.problem, block.p
    opt, seed = name["optimizer"], name["seed"]
    row = {**block.base, **name}
    try:
        result = optimize_graph(
            problem, block.oracle, p=p, init=method, optimizer=f"{opt}:{steps}",
            seed=seed, target=target, objective=block.objective, **limit,
        )
    except BudgetError as exc:  # the start (plus the re-measurement) does not fit
        return {**row, "error": str(exc), "skipped": True}
    except (StrategyError, ValueError) as exc:
        return {**row, "error": str(exc)}
    # ar_final is None when the budget allowed no measurement: the start is returned unmeasured
    measured = result.ar_final is not None
    return {**row, "label": getattr(result, "start_label", "") or method,
            "ar_target": result.ar_final if measured else block.score(result.final_params),
            "measured": measured,
            "ar_ideal": result.ideal_ar_final, "evaluations": result.evaluations,
            "shots": result.shots, "phase1_evaluations": result.phase1_evaluations,
            "final_params": result.final_params,
            "trace": incumbent_trace(result.history, block.score),
            "jobs": job_calls(result.history), "budget_stop": result.budget_stop}


def usage_lookup(config: BenchmarkConfig, problems: dict[str, MaxCutProblem]) -> Callable[[dict[str, Any]], Any]:
    """``cell -> (circuits -> quantum seconds)`` of its target's usage model (None: no QPU to bill).

    Sampled device targets (``fake:torino-shots``) only; targets and durations are built on first use."""
    from backends import get_target

    from .qpu_seconds import job_seconds_for

    targets: dict[str, Any] = {}
    made: dict[tuple, Any] = {}

    def lookup(row: dict[str, Any]):
        spec, sampled = TARGETS[row["target"]]
        if not sampled or spec == "ideal" or row["key"] not in problems:
            return None
        key = (row["target"], row["key"], row["p"])
        if key not in made:
            if spec not in targets:
                targets[spec] = get_target(spec)
            made[key] = job_seconds_for(targets[spec], problems[row["key"]], row["p"], config.shots)
        return made[key]

    return lookup


def finish(rows: list[dict[str, Any]], best_known: BestKnown | None, problems: dict[str, MaxCutProblem],
           usage: Callable[[dict[str, Any]], Any] | None = None, shots: int = SHOTS) -> None:
    """Fix each (target, graph, p)'s best-known AR, then every cell's evaluations/shots to reach 99 %
    and, where ``usage`` (:func:`usage_lookup`) gives the target's usage model, its estimated
    ``qpu_seconds`` and ``reach_qpu_seconds`` (:mod:`hybrid.qpu_seconds`).

    ``best_known`` (None: left alone) is raised to any better point a cell found on the ideal target."""
    from .qpu_seconds import add_qpu_seconds

    ceilings: dict[tuple, float] = {}
    for row in rows:
        if "error" in row:
            continue
        key = (row["target"], row["key"], row["p"])
        at_optimum = row["target_at_ideal_optimum"]
        seen = max([t[2] for t in row["trace"]] + ([] if at_optimum is None else [at_optimum]))
        ceilings[key] = max(ceilings.get(key, -math.inf), seen)
        if (best_known is not None and TARGETS[row["target"]][0] == "ideal" and row["best_known_ideal"] is not None
                and seen > row["best_known_ideal"] and row.get("final_params")):
            best_known.raise_to(problems[row["key"]], row["p"], seen, np.asarray(row["final_params"]))
    for row in rows:
        if "error" in row:
            continue
        row["best_known_target"] = ceilings[(row["target"], row["key"], row["p"])]
        row["reach_evaluations"], row["reach_shots"] = reach(row["trace"], row["best_known_target"])
        add_qpu_seconds(row, shots, usage(row) if usage is not None else None)


# ---------------------------------------------------------------------------- summary
def _mean_std_over_seeds(rows: Sequence[dict[str, Any]], key: str) -> tuple[float, float]:
    per_seed = defaultdict(list)
    for r in rows:
        per_seed[r["seed"]].append(r[key])
    means = [float(np.mean(v)) for v in per_seed.values()]
    return float(np.mean(means)), float(np.std(means)) if len(means) > 1 else 0.0


def _seed_medians(rows: Sequence[dict[str, Any]], key: str) -> list[float]:
    """Per seed (sorted), the median of ``key`` over that seed's cells (NaN where one of them is NaN)."""
    per_seed = defaultdict(list)
    for r in rows:
        per_seed[r["seed"]].append(r[key])
    return [float(np.median(v)) if not any(math.isnan(x) for x in v) else math.nan for _, v in sorted(per_seed.items())]


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (target, p, family or 'all', method, optimizer, budget): means, spread over seeds, reach."""
    groups: dict[tuple, list] = defaultdict(list)
    for r in rows:
        if "error" in r:
            continue
        for fam in ("all", r["family"]):
            groups[(r["target"], r["p"], fam, r["method"], r["optimizer"], r["budget"])].append(r)
    out = []
    for (target, p, fam, method, opt, budget), members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        ar_t, sd_t = _mean_std_over_seeds(members, "ar_target")
        ar_i, sd_i = _mean_std_over_seeds(members, "ar_ideal")
        reached = [r["reach_evaluations"] for r in members]
        ok = [x for x in reached if not math.isnan(x)]
        shots_ok = [r["reach_shots"] for r in members if not math.isnan(r["reach_shots"])]
        billed = [r.get("qpu_seconds") for r in members]
        reach_s = [r.get("reach_qpu_seconds") for r in members]
        has_qpu = all(x is not None for x in billed)
        out.append({
            "target": target, "p": p, "family": fam, "method": method, "optimizer": opt, "budget": budget,
            "cells": len(members), "ar_target": ar_t, "ar_target_seed_std": sd_t, "ar_ideal": ar_i, "ar_ideal_seed_std": sd_i,
            "reached_fraction": len(ok) / len(members),
            "reach_evaluations_median": float(np.median(ok)) if len(ok) == len(members) else math.nan,
            "reach_shots_median": float(np.median(shots_ok)) if len(ok) == len(members) else math.nan,
            "qpu_seconds_mean": float(np.mean(billed)) if has_qpu else None,
            "reach_qpu_seconds_median": (float(np.median(reach_s)) if len(ok) == len(members) else math.nan) if has_qpu else None,
            "reach_qpu_seconds_seed_medians": _seed_medians(members, "reach_qpu_seconds") if has_qpu else None,
        })
    return out


def auto_table(summary: Sequence[dict[str, Any]], shots: int, budget: int = AUTO_BUDGET) -> dict[str, Any]:
    """Best start per target kind, family and depth: highest mean AR on the target at ``budget``, over optimisers."""
    score: dict[tuple, list] = defaultdict(list)
    for row in summary:
        if row["budget"] != budget or row["family"] == "all":
            continue
        backend, sampled = TARGETS[row["target"]]
        kind = target_kind(backend, shots if sampled else None)
        score[(kind, row["family"], row["p"], row["method"])].append(row["ar_target"])
    best: dict[tuple, tuple[float, str]] = {}
    for (kind, fam, p, method), values in score.items():
        mean = float(np.mean(values))
        if (kind, fam, p) not in best or mean > best[(kind, fam, p)][0]:
            best[(kind, fam, p)] = (mean, method)
    choices: dict[str, dict[str, dict[str, str]]] = {}
    measured: dict[str, dict[str, dict[str, float]]] = {}
    for (kind, fam, p), (mean, method) in sorted(best.items(), key=lambda kv: str(kv[0])):
        choices.setdefault(kind, {}).setdefault(fam, {})[str(p)] = method
        measured.setdefault(kind, {}).setdefault(fam, {})[str(p)] = mean
    return {"budget": budget, "choices": choices, "mean_ar_target": measured}


def _fmt(x: float, digits: int = 4) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _budget_order(budget: int | str) -> tuple[int, float]:
    """Evaluation budgets first, then budgets in QPU seconds (``"60s"``), each ascending."""
    return (1, float(budget[:-1])) if isinstance(budget, str) else (0, float(budget))


def _qpu_table(rows: Sequence[dict[str, Any]], budget: int | str) -> list[str]:
    """Per start and optimiser at ``budget``: AR on the target, QPU seconds spent and to 99 % (none: no usage model)."""
    rows = [r for r in rows if r.get("qpu_seconds_mean") is not None]
    if not rows:
        return []
    what = f"{budget} of estimated QPU seconds" if isinstance(budget, str) else f"{budget} evaluations"
    lines = ["", f"Estimated QPU seconds (`backends.usage`, one job per oracle call), runs with a budget of {what}: mean AR "
             f"on the target of the re-measured reported point, mean QPU seconds spent, and QPU seconds to reach "
             f"{REACH:.0%} of the best-known AR (the calls until the incumbent's exact value on the target reached it, "
             "plus one fresh re-measurement job), median over cells, then per seed (- = not every cell reached it):", "",
             "| start | optimiser | AR on the target | QPU s spent | QPU s to 99 % | per seed | reached |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        seeds = ", ".join(_fmt(x, 1) for x in r["reach_qpu_seconds_seed_medians"])
        spread = f"±{r['ar_target_seed_std']:.4f}" if r["ar_target_seed_std"] else ""
        lines.append(f"| {r['method']} | {r['optimizer']} | {_fmt(r['ar_target'])}{spread} | {r['qpu_seconds_mean']:.1f} | "
                     f"{_fmt(r['reach_qpu_seconds_median'], 1)} | {seeds} | {r['reached_fraction']:.2f} |")
    return lines


def markdown(report: dict[str, Any]) -> str:
    """Tables: per target and depth (all graphs), reach, and per family at the ``auto`` budget."""
    summary = report["summary"]
    lines = [f"# Equal-budget benchmark ({report['config']['name']})", ""]
    lines.append(f"Budgets in oracle evaluations, Phase I included; {report['config']['shots']} shots per evaluation on "
                 "sampled targets. AR on the target = the run's `ar_final`; ideal = the same point re-scored exactly. "
                 "Cells: mean over graphs and seeds; ± = standard deviation of the per-seed means.")
    by = defaultdict(list)
    for row in summary:
        by[(row["target"], row["p"], row["family"])].append(row)
    for target in TARGETS:
        depths = sorted({r["p"] for r in summary if r["target"] == target})
        for p in depths:
            rows = by[(target, p, "all")]
            if not rows:
                continue
            graphs = {c["key"] for c in report["cells"] if c["target"] == target and c["p"] == p and "error" not in c}
            cols = sorted({(r["optimizer"], r["budget"]) for r in rows}, key=lambda c: (c[0] != "-", c[0], *_budget_order(c[1])))
            lines += ["", f"## {target}, p = {p}: mean AR on the target / re-scored ideally ({len(graphs)} graphs)", ""]
            lines.append("| start | " + " | ".join("start alone" if o == "-" else f"{o} @{b}" for o, b in cols) + " |")
            lines.append("|---|" + "---|" * len(cols))
            for method in dict.fromkeys(r["method"] for r in rows):
                cells = {(r["optimizer"], r["budget"]): r for r in rows if r["method"] == method}
                text = []
                for c in cols:
                    r = cells.get(c)
                    if r is None:
                        text.append("n/a")
                    else:
                        spread = f"±{r['ar_target_seed_std']:.4f}" if r["ar_target_seed_std"] else ""
                        text.append(f"{_fmt(r['ar_target'])}{spread} / {_fmt(r['ar_ideal'])}")
                lines.append(f"| {method} | " + " | ".join(text) + " |")
            top = max((r["budget"] for r in rows if not isinstance(r["budget"], str)), default=0)
            for seconds in sorted({r["budget"] for r in rows if isinstance(r["budget"], str)}, key=_budget_order):
                lines += _qpu_table([r for r in rows if r["budget"] == seconds], seconds)
            lines += ["", f"Evaluations (shots) to reach {REACH:.0%} of the best-known AR on the target, median over "
                      f"cells, runs with budget {top} (- = not every cell reached it; fraction reached in brackets):", ""]
            opts = sorted({r["optimizer"] for r in rows if r["budget"] == top})
            lines.append("| start | " + " | ".join(opts) + " |")
            lines.append("|---|" + "---|" * len(opts))
            for method in dict.fromkeys(r["method"] for r in rows):
                text = []
                for o in opts:
                    r = next((x for x in rows if x["method"] == method and x["optimizer"] == o and x["budget"] == top), None)
                    if r is None:
                        text.append("n/a")
                    else:
                        shots = "" if math.isnan(r["reach_shots_median"]) or not r["reach_shots_median"] else f" ({r['reach_shots_median']:.0f} shots)"
                        text.append(f"{_fmt(r['reach_evaluations_median'], 0)}{shots} [{r['reached_fraction']:.2f}]")
                lines.append(f"| {method} | " + " | ".join(text) + " |")
            lines += _qpu_table([r for r in rows if r["budget"] == top], top)
        fams = sorted({r["family"] for r in summary if r["target"] == target and r["family"] != "all"})
        budget = report["auto"]["budget"]
        rows = [r for r in summary if r["target"] == target and r["family"] != "all" and r["budget"] == budget]
        if rows:
            cols = sorted({(f, r["p"]) for r in rows for f in [r["family"]]})
            lines += ["", f"## {target}: per family and depth, mean AR on the target at budget {budget} (mean over optimisers)", ""]
            lines.append("| start | " + " | ".join(f"{f} p={p}" for f, p in cols) + " |")
            lines.append("|---|" + "---|" * len(cols))
            for method in dict.fromkeys(r["method"] for r in rows):
                text = []
                for f, p in cols:
                    vals = [r["ar_target"] for r in rows if r["method"] == method and r["family"] == f and r["p"] == p]
                    text.append(_fmt(float(np.mean(vals))) if vals else "n/a")
                lines.append(f"| {method} | " + " | ".join(text) + " |")
        del fams
    skipped = [c for c in report["cells"] if c.get("skipped")]
    if skipped:
        lines += ["", f"{len(skipped)} cells not run (n/a): the start's Phase I plus the reserved re-measurement exceed the budget."]
    errors = [c for c in report["cells"] if "error" in c and not c.get("skipped")]
    if errors:
        lines += ["", f"{len(errors)} cells could not run; first: {errors[0]['method']} p={errors[0]['p']}: {errors[0]['error']}"]
    lines += ["", "`auto` picks (budget " + str(report["auto"]["budget"]) + "): " + json.dumps(report["auto"]["choices"])]
    return "\n".join(lines) + "\n"


def curves(summary: Sequence[dict[str, Any]], target: str) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """method -> optimizer -> [(budget, mean AR on the target over all depths' cells)] for the figure."""
    acc: dict[tuple, list] = defaultdict(list)
    for r in summary:
        if r["target"] == target and r["family"] == "all" and not isinstance(r["budget"], str):  # evaluation budgets
            acc[(r["method"], r["optimizer"], r["budget"])].append((r["ar_target"], r["cells"]))
    out: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for (method, opt, budget), vals in acc.items():
        mean = sum(a * n for a, n in vals) / sum(n for _, n in vals)
        out.setdefault(method, {}).setdefault(opt, []).append((budget, mean))
    for method, by_opt in out.items():
        start = by_opt.pop("-", None)
        for opt in by_opt:
            by_opt[opt] = sorted((start or []) + by_opt[opt])
        if not by_opt and start:
            by_opt["start"] = start
    return out


def estimate_benchmark(config: BenchmarkConfig, paper_path: str | Path | None = None):
    """The benchmark's cost: the sum over its Phase II cells of their run estimates
    (:func:`hybrid.validation.estimate_run`, one per slice, depth, start, optimiser and budget
    over the slice's graphs, times its seeds); peak memory is the largest cell's. Budget-0
    starts, the ideal re-scoring and the best-known searches are not counted."""
    from backends import cached_target

    from .runs import RunConfig
    from .validation import Estimate, estimate_run

    parts: list[tuple[Any, int]] = []
    for sl in config.slices:
        spec, sampled = TARGETS[sl.target]
        target, problems = cached_target(spec), [pr for _, pr in slice_graphs(sl, paper_path)]
        for p in sl.depths:
            for method in sl.methods:
                for opt in sl.optimizers:
                    for budget in (b for b in sl.budgets if b > 0):
                        run = RunConfig(graphs="-", backend=spec, init=method, p=p, optimizer=f"{opt}:{budget}",
                                        shots=config.shots if sampled else None, max_evaluations=budget)
                        parts.append((estimate_run(run, problems, target), len(sl.seeds)))
    if not parts:
        return Estimate(0.0, 0.0, 0, "starts alone", 0)
    return Estimate(
        memory_bytes=max(e.memory_bytes for e, _ in parts), seconds=sum(e.seconds * k for e, k in parts),
        evaluations=sum(e.evaluations * k for e, k in parts),
        method=", ".join(dict.fromkeys(e.method for e, _ in parts)), largest_n=max(e.largest_n for e, _ in parts),
    )


def validate_benchmark(config: BenchmarkConfig, run_id: str, ledger_path, out: str | Path | None = None, *,
                       best_known_path: str | Path | None = None, paper_path: str | Path | None = None,
                       write_auto: str | Path | None = None, yes: bool = True,
                       ask: Callable[[str], bool] | None = None,
                       announce: Callable[[str], None] | None = None) -> tuple[dict[str, Any], str]:
    """Every check a benchmark can fail, before the ledger is opened: ``(spec, target label)``.

    Last, the time estimate (:func:`estimate_benchmark`): with ``yes=False`` a long benchmark
    needs ``ask`` to say yes, as a long run does (:func:`hybrid.validation.confirm`); the
    command line passes ``yes=False`` unless ``--yes`` is given.

    The run id, every slice's graphs, the out folder (``results/<run_id>`` when None):
    empty, or already this benchmark's in this ledger, and ``write_auto``: where the fitted
    ``auto`` table is merged at the end (``--write-auto PATH``); None writes none. The
    package's own ``strategies/data/auto.json`` is written only when named.
    """
    from . import outputs
    from .validation import confirm

    if write_auto is not None and (not isinstance(write_auto, (str, Path)) or not str(write_auto).strip()):
        raise ValueError(f"--write-auto must name a JSON file, got {write_auto!r}")
    if write_auto is not None and Path(write_auto).is_dir():
        raise ValueError(f"--write-auto {str(write_auto)!r} is a directory; name a JSON file such as auto.json")
    outputs.check_run_id(run_id)
    for sl in config.slices:
        slice_graphs(sl, paper_path)
    folder = Path(out) if out is not None else outputs.default_folder(run_id)
    outputs.check_folder(folder, run_id, ledger_path, flag="--out")
    resolve = lambda path: None if path is None else str(Path(path).resolve())  # noqa: E731 - resume from anywhere
    spec = {"kind": BENCHMARK_KIND, "config": config.to_dict(), "out": resolve(folder),
            "best_known": resolve(best_known_path), "paper_path": resolve(paper_path), "write_auto": resolve(write_auto)}
    estimate = estimate_benchmark(config, paper_path)
    confirm(estimate, yes=yes, ask=ask, announce=announce)
    return spec, f"{BENCHMARK_KIND}:" + ",".join(dict.fromkeys(s.target for s in config.slices))


def start_benchmark(config: BenchmarkConfig, ledger, out: str | Path | None = None, run_id: str | None = None, *,
                    best_known_path: str | Path | None = None, paper_path: str | Path | None = None,
                    write_auto: str | Path | None = None) -> str:
    """Validate (:func:`validate_benchmark`) and register the benchmark in ``ledger``; nothing runs yet."""
    from .ledger import new_run_id

    run_id = run_id or new_run_id()
    spec, label = validate_benchmark(config, run_id, ledger.path, out, best_known_path=best_known_path,
                                     paper_path=paper_path, write_auto=write_auto)
    return ledger.create_run(spec, label, run_id)


def execute_benchmark(ledger, run_id: str, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or resume) the benchmark ``run_id``: recorded cells are taken from the ledger, the others run.

    Writes ``results.json``, ``tables.md``, the figures and (if asked) ``auto``'s table, as an
    uninterrupted run does; a finished run is not run again (``already_done`` in the report).
    """
    from . import outputs
    from .ledger.sweeps import Cells, drive

    def already_done(record: dict[str, Any]) -> dict[str, Any]:
        path = Path(record["spec"]["out"]) / "results.json"
        report = json.loads(path.read_text()) if outputs.owned_by(path, run_id) else partial_report(ledger, run_id)
        return {**report, "already_done": True, "out": record["spec"]["out"]}

    return drive(ledger, run_id, BENCHMARK_KIND, lambda record: _run(record, Cells(ledger, run_id), log, ledger.path),
                 already_done)


def partial_report(ledger, run_id: str) -> dict[str, Any]:
    """The cells the ledger holds for a benchmark, summarised (best-known ARs: the best seen so far)."""
    record = ledger.run(run_id)
    config = BenchmarkConfig.from_dict(record["spec"]["config"])
    cells = list(ledger.results(run_id).values())
    problems = {graph_key(g): g for sl in config.slices for _, g in slice_graphs(sl, record["spec"].get("paper_path"))}
    finish(cells, None, problems, usage_lookup(config, problems), config.shots)
    summary = summarise(cells)
    return {"run_id": run_id, "status": record["status"], "complete": record["status"] == "done",
            "config": config.to_dict(), "cells": cells, "summary": summary,
            "auto": auto_table(summary, config.shots, config.auto_budget)}


def _run(record: dict[str, Any], recorded, log: Callable[[str], None], ledger_path=None) -> dict[str, Any]:
    from . import outputs
    from .plots import plot_ar_vs_budget
    from .strategies.fit import AUTO_PATH, write_json

    spec = record["spec"]
    config, paper_path = BenchmarkConfig.from_dict(spec["config"]), spec["paper_path"]
    torch.set_num_threads(1)
    out = outputs.claim_folder(spec["out"], record["run_id"], ledger_path, BENCHMARK_KIND, flag="--out")
    best_known = BestKnown(spec["best_known"] or out / "best_known.json")
    (out / "cells.jsonl").unlink(missing_ok=True)
    started = time.perf_counter()
    cells: list[dict[str, Any]] = []
    problems: dict[str, MaxCutProblem] = {}
    for index, sl in enumerate(config.slices):
        for _, g in slice_graphs(sl, paper_path):
            problems[graph_key(g)] = g
        log(f"slice {sl.target}: depths {sl.depths}, {len(sl.methods)} starts, optimisers {sl.optimizers}, budgets {sl.budgets}")
        cells += run_slice(sl, shots=config.shots, best_known=best_known, paper_path=paper_path, log=log,
                           cell_log=out / "cells.jsonl", cells=recorded, slice_index=index, objective=config.objective)
    finish(cells, best_known, problems, usage_lookup(config, problems), config.shots)
    best_known.save()
    summary = summarise(cells)
    report = {
        "run_id": record["run_id"],
        "config": config.to_dict(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_time": time.perf_counter() - started,
        "cells": cells,
        "summary": summary,
        "auto": auto_table(summary, config.shots, config.auto_budget),
    }
    outputs.write_json(out / "results.json", report)
    outputs.atomic_write(out / "tables.md", markdown(report))
    for target in dict.fromkeys(c["target"] for c in cells):
        plot_ar_vs_budget(curves(summary, target), out / "figures", target)
    auto_path = spec.get("write_auto")
    if isinstance(auto_path, str):  # older runs recorded a bool: the package's table is never written unasked
        auto_path = Path(auto_path)
        previous = json.loads(auto_path.read_text()) if auto_path.exists() else None
        if previous is None and auto_path.resolve() != AUTO_PATH.resolve() and AUTO_PATH.exists():
            previous = json.loads(AUTO_PATH.read_text())  # a new table starts from the shipped one
        source = {"benchmark": config.name, "created": report["created"],
                  "command": f"hybrid benchmark{' --quick' if config.name == 'quick' else ''} --write-auto {auto_path}"}
        write_json(merge_auto(previous, report["auto"], source), auto_path)
        log(f"auto table merged into {auto_path}")
    return {**report, "out": str(out)}


def run_benchmark(
    config: BenchmarkConfig,
    out: str | Path,
    *,
    best_known_path: str | Path | None = None,
    paper_path: str | Path | None = None,
    write_auto: str | Path | None = None,
    log: Callable[[str], None] = print,
    ledger=None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Register and run every slice in ``ledger`` (a throw-away one when None); see :func:`execute_benchmark`."""
    from .ledger import Ledger

    if ledger is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="benchmark-ledger-") as tmp, Ledger(Path(tmp) / "ledger.db") as own:
            return run_benchmark(config, out, best_known_path=best_known_path, paper_path=paper_path,
                                 write_auto=write_auto, log=log, ledger=own, run_id=run_id)
    run_id = start_benchmark(config, ledger, out, run_id, best_known_path=best_known_path, paper_path=paper_path,
                             write_auto=write_auto)
    return execute_benchmark(ledger, run_id, log=log)


def merge_auto(previous: dict[str, Any] | None, measured: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """The ``auto`` table with this run's (kind, family, depth) entries replacing earlier ones; others kept.

    Every entry names the benchmark run it came from (``sources``), so a table built
    from several runs (an ideal sweep, a noisy slice) says where each choice was measured.
    """
    doc = {
        "description": f"Best start per target kind, family and depth at budget {measured['budget']} evaluations "
                       "(mean AR on the target over the Phase II optimisers).",
        "budget": measured["budget"],
        "choices": {},
        "mean_ar_target": {},
        "sources": {},
        "runs": [],
    }
    if previous is not None and previous.get("budget") == measured["budget"]:
        for key in ("choices", "mean_ar_target", "sources"):
            doc[key] = json.loads(json.dumps(previous.get(key, {})))
        doc["runs"] = list(previous.get("runs", []))
        if not previous.get("runs") and previous.get("benchmark"):  # a table written before sources were kept
            old = {k: previous.get(k) for k in ("benchmark", "created", "command")}
            doc["runs"].append(old)
            for kind, fams in previous.get("choices", {}).items():
                for fam, ps in fams.items():
                    for p in ps:
                        doc["sources"].setdefault(kind, {}).setdefault(fam, {})[p] = old["benchmark"]
    doc["runs"].append(source)
    for kind, fams in measured["choices"].items():
        for fam, ps in fams.items():
            for p, method in ps.items():
                doc["choices"].setdefault(kind, {}).setdefault(fam, {})[p] = method
                doc["mean_ar_target"].setdefault(kind, {}).setdefault(fam, {})[p] = measured["mean_ar_target"][kind][fam][p]
                doc["sources"].setdefault(kind, {}).setdefault(fam, {})[p] = source["benchmark"]
    return doc
