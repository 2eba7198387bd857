"""Warm-started QAOA on one graph: Phase I (a start strategy), Phase II (a classical optimiser).

Longer than 600 lines: the budget, the Phase II loops, the final selection and the solution share one Budget.

Budgets are exact. ``max_evaluations`` counts parameter points, ``max_shots``
counts shots and ``max_qpu_seconds`` the estimated QPU quantum seconds of the jobs
(:mod:`backends.usage`) over the whole run: Phase I proposals, Phase II points, the
points of every gradient, calibration and mitigation circuits (via the oracle's
:meth:`charge`), and the final re-measurement. A call that would overspend is not
made: the run stops before it and ``budget_stop`` says which limit stopped it. An exact gradient obtained by autograd is charged
as the ``4p`` extra points that central differences would cost on hardware, so
gradient and gradient-free optimisers compete at the same budget.

The run returns the *best point it evaluated*. On an exact target the best value is
exact. On a sampled target the values are noisy readings, so the final point is chosen
by fresh re-measurements, the start and the final point are reported from one more
fresh batch, and Phase II stops early without progress (:mod:`hybrid.selection`; the
shots are reserved from the budget at the start). Every run also returns its best
sampled solution and a 1-flip polish of it (:mod:`hybrid.solutions`).

:func:`ascend` is the one gradient loop (SGD or Adam) with one stopping rule:
stop at the first update ``k >= 1`` after which the energy changed by at most
``tol * scale``; the paper benchmark uses it with ``scale = 1`` (its absolute
rule), runs with ``scale`` = total edge weight.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from backends.progress import progress_bar, stderr_is_terminal

from .oracles.base import Charge
from .oracles.objective import expected_cuts
from .problems import ProblemError
from .selection import EarlyStop, StopEarly, choose_final, final_reserve

#: Adam moments (Kingma & Ba defaults).
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


class BudgetExhausted(Exception):
    """Raised inside a run when the next oracle call would overspend its budget."""


class BudgetError(ProblemError):
    """A budget too small for the chosen start, or an oracle or strategy that spent more than declared."""


class AscentStep:
    """One SGD or Adam step of gradient *ascent* (the expected cut is maximised)."""

    def __init__(self, optimizer: str, lr: float, size: int):
        self.optimizer, self.lr = optimizer, lr
        self.m = np.zeros(size)
        self.v = np.zeros(size)
        self.k = 0

    def __call__(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        self.k += 1
        if self.optimizer == "sgd":
            return theta + self.lr * grad
        b1, b2 = ADAM_BETAS
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * grad**2
        m_hat = self.m / (1 - b1**self.k)
        v_hat = self.v / (1 - b2**self.k)
        return theta + self.lr * m_hat / (np.sqrt(v_hat) + ADAM_EPS)


@dataclass(frozen=True)
class Trajectory:
    """The iterates of :func:`ascend`: the start, then the point after every update."""

    theta: np.ndarray  # last evaluated iterate
    thetas: np.ndarray  # (K+1, 2p)
    energies: np.ndarray  # (K+1,) expected cut at each of them
    steps: int  # updates taken (each followed by an evaluation)
    converged: bool  # the stopping rule fired
    evaluations: int  # value_and_grad calls made

    def energy_after(self, k: int) -> float:
        """Expected cut after ``k`` updates (the final one if the run stopped earlier)."""
        return float(self.energies[min(k, self.steps)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "theta": self.theta.tolist(),
            "thetas": self.thetas.tolist(),
            "energies": self.energies.tolist(),
            "steps": self.steps,
            "converged": self.converged,
            "evaluations": self.evaluations,
        }


def ascend(
    value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta0: Any,
    *,
    optimizer: str = "adam",
    lr: float = 0.02,
    max_steps: int = 50,
    tol: float = 1e-6,
    scale: float = 1.0,
) -> Trajectory:
    """Gradient ascent on ``<C>``: evaluate the start, then up to ``max_steps`` update + evaluate.

    Stops at the first update after which ``|E_k - E_(k-1)| <= tol * scale``, or
    when ``value_and_grad`` raises :class:`BudgetExhausted` (the iterates so far are kept).
    """
    if optimizer not in ("sgd", "adam"):
        raise ProblemError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    if lr <= 0 or max_steps < 0:
        raise ProblemError(f"need lr > 0 and max_steps >= 0, got lr={lr}, max_steps={max_steps}")
    theta = np.array(theta0, dtype=float)
    thetas: list[np.ndarray] = []
    energies: list[float] = []
    converged = False
    try:
        value, grad = value_and_grad(theta)
        thetas.append(theta.copy())
        energies.append(float(value))
        step = AscentStep(optimizer, lr, theta.size)
        for _ in range(max_steps):
            candidate = step(theta, np.asarray(grad, float))
            value, grad = value_and_grad(candidate)
            theta = candidate
            thetas.append(theta.copy())
            energies.append(float(value))
            if abs(energies[-1] - energies[-2]) <= tol * scale:
                converged = True
                break
    except (BudgetExhausted, StopEarly):
        pass
    if not thetas:
        return Trajectory(theta, np.empty((0, theta.size)), np.empty(0), 0, False, 0)
    return Trajectory(theta, np.array(thetas), np.array(energies), len(energies) - 1, converged, len(energies))


def descend(oracle, theta0: Any, *, optimizer: str = "sgd", lr: float = 1e-3, max_steps: int = 300,
            tol: float = 1e-6, seed: int | np.random.Generator | None = None) -> Trajectory:
    """:func:`ascend` on an oracle's exact gradients with the paper's absolute stopping rule."""

    def value_and_grad(theta):
        value, grad, _ = oracle.value_and_grad(theta, seed=seed)
        return value, grad

    return ascend(value_and_grad, theta0, optimizer=optimizer, lr=lr, max_steps=max_steps, tol=tol, scale=1.0)


# ---------------------------------------------------------------------------- full runs
OPTIMIZERS = ("adam", "sgd", "spsa", "cobyla")
#: Default learning rates (radians per step) for gradient optimisers on measured energies.
DEFAULT_LR = {"adam": 0.02, "sgd": 0.01}
#: SPSA gains (Spall's recommended exponents), step sizes in radians.
SPSA_A, SPSA_C, SPSA_ALPHA, SPSA_GAMMA = 0.1, 0.1, 0.602, 0.101
#: COBYLA's initial trust radius (radians).
COBYLA_RHOBEG = 0.1
#: Graphs from this many nodes on show a Phase II progress bar (their evaluations take seconds).
PROGRESS_MIN_NODES = 16


def parse_optimizer(text: str) -> tuple[str, int]:
    """``"adam:50"`` -> ``("adam", 50)``; a bare name (``"adam"``) takes 50 steps.

    Anything else is refused: an unknown name, an empty ``STEPS`` (``"adam:"``), a sign,
    spaces, underscores, or more than one ``:``.
    """
    import re

    if not isinstance(text, str):
        raise ProblemError(f"optimizer must be a string NAME[:STEPS], got {text!r}")
    name, colon, steps = text.strip().partition(":")
    name = name.strip().lower()
    if name not in OPTIMIZERS:
        raise ProblemError(f"unknown optimizer {text!r}; use one of {', '.join(f'{o}:STEPS' for o in OPTIMIZERS)}")
    if colon and not re.fullmatch(r"[0-9]{1,9}", steps):
        raise ProblemError(f"optimizer {text!r}: STEPS must be a whole number >= 0 after ':', e.g. {name}:50")
    return name, int(steps) if colon else 50


@dataclass(frozen=True)
class RunResult:
    """One graph's warm-started QAOA run on one target (JSON round trip).

    ``final_params`` is the best point the run evaluated (``best_params`` is the
    same point, kept for older readers) and ``ar_final`` its value: exact on exact
    targets, a fresh re-measurement on sampled ones. ``last_params`` is where the
    optimiser stopped. ``ar_init`` is the measured value at the Phase II start
    (``None`` when the budget allowed no evaluation at all).
    """

    graph_id: Any
    n: int
    max_cut: float
    total_weight: float
    target: str
    p: int
    init: str
    optimizer: str
    init_params: list[float]
    final_params: list[float]
    best_params: list[float]
    ar_init: float | None
    ar_final: float | None
    ideal_ar_init: float
    ideal_ar_final: float
    evaluations: int
    shots: int
    best_cut: float | None
    best_bitstring: str | None
    job_ids: list[str]
    history: list[dict[str, Any]]
    wall_time: float
    mitigation: str = "none"
    phase1_evaluations: int = 0
    converged: bool = False
    last_params: list[float] | None = None
    max_evaluations: int | None = None
    max_shots: int | None = None
    start_label: str = ""
    qpu_seconds: float = 0.0  # estimated quantum seconds of every job of the run (backends.usage)
    qpu_jobs: int = 0  # jobs (oracle calls on a QPU-like target) those seconds cover
    ibm_usage_seconds: float | None = None  # IBM's job.usage() summed, where every job reported one
    max_qpu_seconds: float | None = None
    budget_stop: str | None = None  # the limit that stopped the run before its optimiser finished
    max_cut_source: str = "exact"
    ar_definition: str = "expected cut / max cut"
    oracle_method: str | None = None  # how the target's energies were computed (e.g. noisy light cones)
    # what the optimiser maximised; ar_* stay the expected cut, objective_* its own values / max cut
    objective: str = "expectation"
    objective_init: float | None = None
    objective_final: float | None = None
    stopped_early: bool = False
    # sampled targets: how the final point was chosen and the start re-measured (hybrid.selection)
    selection: dict[str, Any] | None = None
    # the best sampled solution and its polish (hybrid.solutions.Solution.to_dict)
    solution: dict[str, Any] | None = None
    # C_min, the lowest value (0 for Max-Cut): ratios are (value - min_value) / (max_cut - min_value)
    min_value: float = 0.0
    # "max" for Max-Cut; "min" for a minimised QUBO or Ising energy (its value is -C)
    sense: str = "max"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunResult":
        return cls(**data)

    def summary(self) -> dict[str, Any]:
        keys = (
            "graph_id", "n", "max_cut", "init_params", "final_params", "ar_init", "ar_final",
            "ideal_ar_init", "ideal_ar_final", "evaluations", "shots", "best_cut", "max_cut_source",
            "ar_definition", "oracle_method", "qpu_seconds", "qpu_jobs", "ibm_usage_seconds", "budget_stop",
            "objective", "stopped_early", "min_value", "sense",
        )
        out = {k: getattr(self, k) for k in keys}
        out["id"] = out.pop("graph_id")
        sol = self.solution or {}
        for k in ("best_bitstring", "polished_cut", "polish_gain", "best_known_cut", "best_known_source",
                  "ratio", "polished_ratio", "solution_shots", "best_objective", "polished_objective"):
            out[k] = sol.get(k)
        return out


class Budget:
    """Charges every oracle call of one run against exact limits; keeps the history and the best point.

    ``reserve`` is held back for the final re-measurement. ``limit(...)`` opens a
    nested cap (Phase I may spend at most its declared cost).
    """

    def __init__(self, oracle, max_evaluations: int | None, max_shots: int | None, base_seed: int, reserve: Charge,
                 max_qpu_seconds: float | None = None):
        self.oracle, self.max_evaluations, self.max_shots = oracle, max_evaluations, max_shots
        self.max_qpu_seconds = max_qpu_seconds
        self.qpu_seconds, self.qpu_jobs = 0.0, 0
        self.ibm_usage: list[float | None] = []
        self.stopped_by: str | None = None
        self.reserve = reserve
        self.base_seed, self.calls = int(base_seed), 0
        self.history: list[dict[str, Any]] = []
        self.evaluations = self.shots = 0
        self.best_energy, self.best_params = -np.inf, None
        self.best_cut, self.best_bitstring = None, None
        self.job_ids: list[str] = []
        self.cap: tuple[int, str] | None = None  # (evaluation count not to exceed, who)
        self.methods: set[str] = set()  # how the target computed energies or samples (evaluation metadata)
        self.on_phase_two: Callable[[], None] | None = None  # called after each Phase II call (progress)
        self.samples: set[str] = set()  # best distinct sampled bitstrings of every call (the run's solution)
        self.monitor: EarlyStop | None = None  # sampled runs: stops Phase II without progress
        self.best_expected: float | None = None  # expected cut at best_params (differs under CVaR)
        self.last = None  # the last Evaluation

    def _fits(self, charge: Charge, reserve: Charge) -> bool:
        if self.max_evaluations is not None and self.evaluations + charge.evaluations + reserve.evaluations > self.max_evaluations:
            self.stopped_by = "max_evaluations"
            return False
        if self.max_shots is not None and self.shots + charge.shots + reserve.shots > self.max_shots:
            self.stopped_by = "max_shots"
            return False
        if (
            self.max_qpu_seconds is not None
            and self.qpu_seconds + charge.qpu_seconds + reserve.qpu_seconds > self.max_qpu_seconds
        ):
            self.stopped_by = "max_qpu_seconds"
            return False
        return True

    def _spend(self, kind: str, points: int, reserve: bool = True) -> Charge:
        charge = self.oracle.charge(kind, points)
        if self.cap is not None and self.evaluations + charge.evaluations > self.cap[0]:
            raise BudgetError(f"{self.cap[1]} spent more oracle evaluations than it declared")
        if not self._fits(charge, self.reserve if reserve else Charge(0, 0)):
            raise BudgetExhausted
        return charge

    def _note(self, phase: str, ev, charge: Charge, points: np.ndarray, values: np.ndarray) -> None:
        if ev.shots > charge.shots:
            raise BudgetError(f"the oracle spent {ev.shots} shots on a call charged {charge.shots}")
        if ev.metadata.get("method"):
            self.methods.add(str(ev.metadata["method"]))
        self.evaluations += charge.evaluations
        self.shots += charge.shots
        self._note_usage(ev, charge)
        self.job_ids.extend(ev.job_ids)
        if ev.best_cut is not None and (self.best_cut is None or ev.best_cut > self.best_cut):
            self.best_cut, self.best_bitstring = ev.best_cut, ev.best_bitstring
        self.samples.update(ev.samples)
        self.last = ev
        expected = expected_cuts(ev, values)[: len(values)]
        if phase in ("phase1", "phase2", "init"):
            for point, value, cut in zip(points, values, expected):
                if value > self.best_energy:
                    self.best_energy, self.best_params = float(value), np.array(point, float)
                    self.best_expected = float(cut)
        if phase == "phase2" and self.on_phase_two is not None:
            self.on_phase_two()
        self.history.append(
            {
                "phase": phase,
                "params": [float(x) for x in points[0]],
                **({"points": points.tolist()} if len(points) > 1 else {}),
                **({"expected_cuts": [float(c) for c in expected]} if "expected_cut" in ev.metadata else {}),
                "energy": float(values[0]),
                "energies": [float(v) for v in values],
                "stderr": float(ev.stderr[0]),
                "evaluations": self.evaluations,
                "shots": self.shots,
                "qpu_seconds": self.qpu_seconds,
                "job_ids": list(ev.job_ids),
            }
        )
        if self.monitor is not None:
            error = float(np.mean(ev.stderr)) / np.sqrt(len(values))
            if phase == "phase2":
                self.monitor.observe(float(np.mean(values)), error)
            elif phase == "init":
                self.monitor.start(float(values[0]), error)

    def _note_usage(self, ev, charge: Charge) -> None:
        """Add the call's jobs' estimated quantum seconds (as the target recorded them; else its charge)."""
        from backends.usage import usage_records

        jobs = usage_records(ev.metadata)
        recorded = sum(j.estimated_seconds or 0.0 for j in jobs)
        self.qpu_seconds += recorded if jobs else charge.qpu_seconds
        self.qpu_jobs += len(jobs) if jobs else int(charge.qpu_seconds > 0)
        self.ibm_usage.extend(j.actual_seconds for j in jobs)

    def next_seed(self) -> int:
        """The shot seed of the next oracle call: fixed by the run seed and the call index."""
        self.calls += 1
        return int(np.random.SeedSequence([self.base_seed, self.calls]).generate_state(1)[0])

    def evaluate(self, points, phase: str, reserve: bool = True) -> np.ndarray:
        """Measure a batch of points (each one evaluation); raises BudgetExhausted if it does not fit."""
        points = np.atleast_2d(np.asarray(points, float))
        charge = self._spend("evaluate", points.shape[0], reserve)
        ev = self.oracle.evaluate(points, seed=self.next_seed())
        values = np.asarray(ev.energies, float)
        self._note(phase, ev, charge, points, values)
        return values

    def value_and_grad(self, theta, phase: str) -> tuple[float, np.ndarray]:
        theta = np.asarray(theta, float)
        charge = self._spend("value_and_grad", 1)
        value, grad, ev = self.oracle.value_and_grad(theta, seed=self.next_seed())
        self._note(phase, ev, charge, theta[None, :], np.array([float(value)]))
        return float(value), np.asarray(grad, float)


@dataclass(frozen=True)
class _Start:
    theta: np.ndarray
    evaluations: int
    value: float | None
    label: str


def _start(init: str, problem, p: int, budget: Budget, rng: np.random.Generator) -> _Start:
    """Phase I: the start strategy (:mod:`hybrid.strategies`), its evaluations capped at what it declares."""
    from .strategies import get_strategy
    from .strategies.builtin import RandomStarts

    strategy = get_strategy(init)
    cost = strategy.cost(p, problem)
    if cost == 0:
        result = strategy.start(problem, p, seed=rng)
        return _Start(np.asarray(result.theta, float), 0, None, result.label)
    budget.cap = (budget.evaluations + cost, f"start {init!r}")
    try:
        if isinstance(strategy, RandomStarts):  # independent proposals: all of them in one job
            points = strategy.proposals(problem, p, rng)
            values = budget.evaluate(points, "phase1")
            best = int(np.argmax(values))
            return _Start(points[best], len(points), float(values[best]),
                          f"random:{len(points)} (best of {len(points)}, one job)")
        result = strategy.start(problem, p, evaluate=lambda th: float(budget.evaluate(th, "phase1")[0]), seed=rng)
    except BudgetExhausted:
        limit = budget.stopped_by or "max_shots"
        raise BudgetError(
            f"start {init!r} needs {cost} evaluations in Phase I, which do not fit "
            f"{limit}={getattr(budget, limit)}; raise {limit}"
        ) from None
    finally:
        budget.cap = None
    return _Start(np.asarray(result.theta, float), result.evaluations, result.value, result.label)


def start_cost(init: str, p: int, problem=None) -> int:
    """Oracle evaluations the start ``init`` spends in Phase I on ``problem`` (an upper bound without one)."""
    from .strategies import get_strategy

    return int(get_strategy(init).cost(p, problem))


def optimize_graph(
    problem,
    oracle,
    *,
    p: int,
    init: str = "learned",
    optimizer: str = "adam:50",
    lr: float | None = None,
    tol: float = 1e-6,
    max_evaluations: int | None = None,
    max_shots: int | None = None,
    seed: int | np.random.Generator | None = None,
    target: str = "",
    mitigation: str = "none",
    max_qpu_seconds: float | None = None,
    score_ideal: bool = True,
    objective: str = "expectation",
) -> RunResult:
    """Phase I (any start strategy) then Phase II on ``oracle``, within exact budgets.

    ``oracle`` offers ``evaluate``, ``value_and_grad`` and ``charge`` (see
    :mod:`hybrid.oracles`); its randomness (shots) is seeded per call from
    ``seed``. ``tol`` applies to the energy normalised by the total edge weight.
    Returns the best evaluated point (see the module doc). ``score_ideal=False`` leaves
    the ideal re-scoring (classical work) to :func:`ideal_scores`, e.g. after a Runtime
    session that would bill it has closed.

    The steps: :func:`_budget` checks the limits, fixes the seed, reserves the final
    selection and opens the :class:`Budget`; :func:`_start` runs Phase I; :func:`_phase_two`
    runs the optimiser (:func:`_ascent`, :func:`_spsa` or :func:`_cobyla`, sharing a
    :class:`_PhaseTwo`); :func:`_report` selects the final point and builds the
    :class:`RunResult`.
    """
    start_time = time.perf_counter()
    name, steps = parse_optimizer(optimizer)
    budget, init, rng, sampled, k_final = _budget(problem, oracle, p, init, target, seed,
                                                  max_evaluations, max_shots, max_qpu_seconds)
    start = _start(init, problem, p, budget, rng)
    budget.monitor = EarlyStop() if sampled else None
    run = _PhaseTwo(budget, start.theta, problem.cost_scale, start.value)
    last, converged = _phase_two(run, problem, name, steps, lr, tol, rng)
    settings = {"target": target, "init": init, "optimizer": optimizer, "mitigation": mitigation,
                "max_evaluations": max_evaluations, "max_shots": max_shots,
                "max_qpu_seconds": max_qpu_seconds, "objective": objective}
    return _report(problem, oracle, p, run, start, last, converged, sampled=sampled, k_final=k_final,
                   score_ideal=score_ideal, start_time=start_time, settings=settings)


def _budget(problem, oracle, p: int, init: str, target: str, seed, max_evaluations: int | None,
            max_shots: int | None, max_qpu_seconds: float | None
            ) -> tuple[Budget, str, np.random.Generator, bool, int]:
    """The run's :class:`Budget`, its start (resolved for the target), generator, sampled flag and final batches.

    Checks the limits, fixes the base seed and reserves the final selection
    (:func:`hybrid.selection.final_reserve`) from what Phase I leaves.
    """
    from .problems import as_rng
    from .strategies.builtin import for_target

    if max_evaluations is not None and max_evaluations < 0:
        raise BudgetError(f"max_evaluations must be >= 0, got {max_evaluations}")
    if max_shots is not None and max_shots < 0:
        raise BudgetError(f"max_shots must be >= 0, got {max_shots}")
    if max_qpu_seconds is not None and not max_qpu_seconds >= 0:
        raise BudgetError(f"max_qpu_seconds must be >= 0 seconds, got {max_qpu_seconds}")
    rng = as_rng(seed)
    base_seed = int(seed) if isinstance(seed, (int, np.integer)) else int(rng.integers(2**63))
    sampled = not oracle.exact
    init = for_target(init, target, sampled)
    cost = start_cost(init, p, problem)
    phase1 = oracle.charge("evaluate", cost) if cost else Charge(0, 0)
    free_evaluations = None if max_evaluations is None else max_evaluations - phase1.evaluations
    free_shots = None if max_shots is None else max_shots - phase1.shots
    free_qpu_seconds = None if max_qpu_seconds is None else max_qpu_seconds - phase1.qpu_seconds
    k_final, reserve = (final_reserve(oracle, free_evaluations, free_shots, free_qpu_seconds=free_qpu_seconds)
                        if sampled else (0, Charge(0, 0)))
    budget = Budget(oracle, max_evaluations, max_shots, base_seed, reserve, max_qpu_seconds)
    if cost and max_evaluations is not None and cost + reserve.evaluations > max_evaluations:
        raise BudgetError(
            f"start {init!r} spends {cost} evaluations in Phase I but max_evaluations={max_evaluations}"
            f"{f' ({reserve.evaluations} more are kept for the final re-measurement)' if reserve.evaluations else ''}; "
            "raise max_evaluations or choose a zero-evaluation start"
        )
    return budget, init, rng, sampled, k_final


@dataclass
class _PhaseTwo:
    """What the Phase II loops share: the budget, the start point, the energy scale and the start's value."""

    budget: Budget
    theta0: np.ndarray
    scale: float
    e_start: float | None

    def measure_start(self) -> float | None:
        """The start's value, measured now if Phase I did not (None if it does not fit the budget)."""
        if self.e_start is None:
            try:
                self.e_start = float(self.budget.evaluate(self.theta0, "init")[0])
            except BudgetExhausted:
                return None
        return self.e_start


def _phase_two(run: _PhaseTwo, problem, name: str, steps: int, lr: float | None, tol: float,
               rng: np.random.Generator) -> tuple[Any, bool]:
    """Phase II with optimiser ``name`` for ``steps`` steps: the last point and whether it converged."""
    last, converged = run.theta0, False
    # a bar per Phase II step at scale (stderr a terminal only; backends.progress)
    with progress_bar(f"Phase II {name} on graph {problem.id} (n={problem.n})", steps, min_items=1,
                      enabled=problem.n >= PROGRESS_MIN_NODES and stderr_is_terminal()) as bar:
        run.budget.on_phase_two = bar.advance
        if name in ("adam", "sgd") and steps > 0:
            last, converged = _ascent(run, name, steps, lr if lr is not None else DEFAULT_LR[name], tol)
        elif name == "spsa" and steps > 0:
            last = _spsa(run, steps, rng)
        elif name == "cobyla" and steps > 0:
            last, converged = _cobyla(run, steps)
        else:
            run.measure_start()
    run.budget.on_phase_two = None
    return last, converged


def _ascent(run: _PhaseTwo, name: str, steps: int, lr: float, tol: float) -> tuple[np.ndarray, bool]:
    """Adam or SGD gradient ascent (:func:`ascend`); its first value is the start's if Phase I measured none."""
    first = True

    def value_and_grad(theta):
        nonlocal first
        value, grad = run.budget.value_and_grad(theta, "phase2")
        if first and run.e_start is None:
            run.e_start = value
        first = False
        return value, grad

    traj = ascend(value_and_grad, run.theta0, optimizer=name, lr=lr, max_steps=steps, tol=tol, scale=run.scale)
    return traj.theta, traj.converged


def _spsa(run: _PhaseTwo, steps: int, rng: np.random.Generator) -> np.ndarray:
    """SPSA ascent, two points per step in one job; stops early when the budget or the monitor says so."""
    run.measure_start()
    theta = run.theta0.copy()
    try:
        for k in range(steps):
            a_k = SPSA_A / (k + 1 + 0.1 * steps) ** SPSA_ALPHA
            c_k = SPSA_C / (k + 1) ** SPSA_GAMMA
            delta = rng.choice([-1.0, 1.0], size=theta.size)
            plus, minus = run.budget.evaluate(np.vstack([theta + c_k * delta, theta - c_k * delta]), "phase2")
            # ascent on the normalised energy <C>/W, so the gains do not depend on the graph
            theta = theta + a_k * (plus - minus) / (2 * c_k * run.scale) * delta
    except (BudgetExhausted, StopEarly):
        pass
    return theta


def _cobyla(run: _PhaseTwo, steps: int) -> tuple[Any, bool]:
    """COBYLA (scipy) on the normalised energy, at most ``steps`` evaluations; the start's value is reused."""
    import warnings

    from scipy.optimize import minimize

    spent = 0

    def cobyla_objective(x):
        nonlocal spent
        x = np.asarray(x, float)
        if run.e_start is not None and np.array_equal(x, run.theta0):
            return -run.e_start / run.scale  # the start's value is already measured
        if spent >= steps:  # scipy raises maxfun to 2p + 2; the STEPS asked for are the budget
            raise BudgetExhausted
        spent += 1
        return -float(run.budget.evaluate(x, "phase2")[0]) / run.scale

    run.measure_start()
    try:
        with warnings.catch_warnings():  # scipy's MAXFUN notes: the budget, not scipy, caps the evaluations
            warnings.filterwarnings("ignore", message=r".*MAXFUN.*")
            res = minimize(cobyla_objective, run.theta0, method="COBYLA",
                           options={"maxiter": steps, "rhobeg": COBYLA_RHOBEG})
        return np.asarray(res.x, float), bool(res.success)
    except (BudgetExhausted, StopEarly):
        return (run.budget.history[-1]["params"] if run.budget.history else run.theta0), False


def _report(problem, oracle, p: int, run: _PhaseTwo, start: _Start, last: Any, converged: bool, *,
            sampled: bool, k_final: int, score_ideal: bool, start_time: float, settings: dict[str, Any]) -> RunResult:
    """The final point (:func:`_finish`), ideal scores if ``score_ideal``, the solution (:func:`_solution`), the result.

    ``settings`` are the run's own arguments that the result records as given.
    """
    from .oracles import ideal_oracle

    budget, theta0 = run.budget, run.theta0
    finish = _finish(budget, theta0, run.e_start, sampled, k_final)
    best = finish["best"]
    ideal_init = ideal_final = float("nan")  # without score_ideal: ideal_scores() fills them in later
    if score_ideal:
        ideal = ideal_oracle(problem, p)
        ideal_init, ideal_final = (float(ideal.evaluate(t).energies[0]) for t in (theta0, best))
    ratio = lambda e: None if e is None else problem.approximation_ratio(e)  # noqa: E731
    solution = _solution(problem, p, oracle, best, budget, budget.base_seed)
    return RunResult(
        graph_id=problem.id,
        n=problem.n,
        max_cut=float(problem.max_cut),
        total_weight=problem.total_weight,
        p=p,
        init_params=[float(x) for x in theta0],
        final_params=[float(x) for x in best],
        best_params=[float(x) for x in best],
        ar_init=ratio(finish["init_expected"]),
        ar_final=ratio(finish["final_expected"]),
        ideal_ar_init=problem.approximation_ratio(ideal_init),
        ideal_ar_final=problem.approximation_ratio(ideal_final),
        evaluations=budget.evaluations,
        shots=budget.shots,
        best_cut=solution["best_cut"] if solution else budget.best_cut,
        best_bitstring=solution["best_bitstring"] if solution else budget.best_bitstring,
        job_ids=budget.job_ids,
        history=budget.history,
        wall_time=time.perf_counter() - start_time,
        phase1_evaluations=start.evaluations,
        converged=converged,
        last_params=[float(x) for x in np.asarray(last, float)],
        start_label=start.label,
        qpu_seconds=budget.qpu_seconds,
        qpu_jobs=budget.qpu_jobs,
        ibm_usage_seconds=(
            sum(budget.ibm_usage) if budget.ibm_usage and all(u is not None for u in budget.ibm_usage) else None
        ),
        budget_stop=budget.stopped_by,
        max_cut_source=str(problem.max_cut_source),
        ar_definition=ar_definition(problem),
        oracle_method=oracle.method or (",".join(sorted(budget.methods)) or None),
        objective_init=ratio(finish["init_value"]),
        objective_final=ratio(finish["final_value"]),
        stopped_early=bool(budget.monitor is not None and budget.monitor.stopped),
        selection=finish["selection"],
        solution=solution,
        min_value=float(problem.min_value if problem.min_value is not None else problem.with_max_cut().min_value),
        sense=problem.sense,
        **settings,
    )


def ideal_scores(result: RunResult, problem) -> RunResult:
    """``result`` with its start and final point scored on the ideal oracle (``score_ideal=False`` runs)."""
    from dataclasses import replace

    from .oracles import ideal_oracle

    ideal = ideal_oracle(problem, result.p)
    init, final = (float(ideal.evaluate(np.asarray(t, float)).energies[0]) for t in (result.init_params, result.final_params))
    return replace(result, ideal_ar_init=problem.approximation_ratio(init), ideal_ar_final=problem.approximation_ratio(final))


def progress_line(problem, result: RunResult, label: str) -> str:
    """One graph's finished run in a line (``hybrid run`` prints it)."""
    from .solutions import solution_line

    ratio = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
    return (
        f"graph {problem.id} (n={problem.n}): AR {ratio(result.ar_init)} -> {ratio(result.ar_final)} "
        f"on {label}, ideal {result.ideal_ar_final:.4f}, {result.evaluations} evaluations"
        + (f" ({result.oracle_method})" if result.oracle_method else "")
        + ("" if result.max_cut_source == "exact" else f"; AR = {result.ar_definition}")
        + (f"; {result.qpu_seconds:.1f} estimated QPU s" if result.qpu_jobs else "")
        + (f"; stopped by {result.budget_stop}, best point reported" if result.budget_stop else "")
        + solution_line(result)
    )


def _finish(budget: Budget, theta0: np.ndarray, e_start: float | None, sampled: bool, k_final: int) -> dict[str, Any]:
    """The final point and the start and final values (objective and expected cut) reported.

    Exact targets: the best evaluated point, values as evaluated. Sampled targets: chosen by
    fresh values and re-measured with the start (:func:`hybrid.selection.choose_final`).
    """
    if budget.best_params is None:  # nothing measured: the start is the answer
        return {"best": theta0, "init_value": None, "final_value": None, "init_expected": None,
                "final_expected": None, "selection": None}
    if not sampled:
        start_expected = next((h.get("expected_cuts", h["energies"])[0] for h in budget.history
                               if np.allclose(h["params"], theta0, rtol=0, atol=0)), e_start)
        return {"best": budget.best_params, "init_value": e_start, "final_value": budget.best_energy,
                "init_expected": start_expected, "final_expected": budget.best_expected, "selection": None}

    def measure(points, phase):
        try:
            values = budget.evaluate(points, phase, reserve=False)
        except BudgetExhausted:  # cannot happen: the re-measurements were reserved
            raise BudgetError("the final re-measurement did not fit its reserved budget") from None
        return values, expected_cuts(budget.last, values)

    choice = choose_final(measure, budget.history, theta0, k_final)
    return {"best": np.asarray(choice.final, float), "init_value": choice.init_value,
            "final_value": choice.final_value, "init_expected": choice.init_expected,
            "final_expected": choice.final_expected, "selection": choice.to_dict()}


def _solution(problem, p: int, oracle, theta: np.ndarray, budget: Budget, base_seed: int) -> dict[str, Any] | None:
    """The run's best sampled solution and its 1-flip polish (:mod:`hybrid.solutions`)."""
    from .solutions import solve

    seed = int(np.random.SeedSequence([base_seed, 2**31 - 1]).generate_state(1)[0])
    sol = solve(problem, p, oracle, theta, seed=seed, pool=budget.samples, pool_shots=budget.shots)
    return None if sol is None else sol.to_dict()


def ar_definition(problem) -> str:
    """What an AR of ``problem`` divides by: the exact max cut, or the best-known cut and how it was found."""
    if not problem.is_max_cut:
        return problem.ar_definition + ("" if problem.max_cut_source == "exact" else " (local search)")
    if problem.max_cut_source == "exact":
        how = problem.meta.get("max_cut_method")
        return "expected cut / max cut" + (f" (certified by the {problem.meta.get('max_cut_bound_method')} bound)" if how else "")
    how = problem.meta.get("max_cut_method", "heuristic")
    bound = problem.meta.get("max_cut_upper_bound")
    tail = f"; upper bound {bound:.6g} ({problem.meta.get('max_cut_bound_method')})" if bound is not None else ""
    return f"expected cut / best-known cut ({how}{tail})"
