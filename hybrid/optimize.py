"""Warm-started QAOA on one graph: Phase I (a start strategy), Phase II (a classical optimiser).

Budgets are exact. ``max_evaluations`` counts parameter points and ``max_shots``
counts shots over the whole run: Phase I proposals, Phase II points, the points of
every gradient, calibration and mitigation circuits (via the oracle's
:meth:`charge`), and the final re-measurement. A call that would overspend is not
made: the run stops before it. An exact gradient obtained by autograd is charged
as the ``4p`` extra points that central differences would cost on hardware, so
gradient and gradient-free optimisers compete at the same budget.

The run returns the *best point it evaluated*. On a sampled target that point's
value is a maximum over noisy draws, so it is re-measured with fresh shots (one
evaluation, reserved from the budget at the start) and ``ar_final`` is that
fresh value. On an exact target the best value is already exact.

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

from .oracles.base import Charge
from .problems import ProblemError

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
    except BudgetExhausted:
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


def parse_optimizer(text: str) -> tuple[str, int]:
    """``"adam:50"`` -> ``("adam", 50)``."""
    name, _, steps = str(text).partition(":")
    name = name.strip().lower()
    if name not in OPTIMIZERS:
        raise ProblemError(f"unknown optimizer {text!r}; use one of {', '.join(f'{o}:STEPS' for o in OPTIMIZERS)}")
    try:
        count = int(steps) if steps else 50
    except ValueError:
        raise ProblemError(f"optimizer {text!r}: STEPS must be an integer, e.g. {name}:50") from None
    if count < 0:
        raise ProblemError(f"optimizer {text!r}: STEPS must be >= 0")
    return name, count


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
    max_cut_source: str = "exact"
    ar_definition: str = "expected cut / max cut"
    oracle_method: str | None = None  # how the target's energies were computed (e.g. noisy light cones)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunResult":
        return cls(**data)

    def summary(self) -> dict[str, Any]:
        keys = (
            "graph_id", "n", "max_cut", "init_params", "final_params", "ar_init", "ar_final",
            "ideal_ar_init", "ideal_ar_final", "evaluations", "shots", "best_cut", "max_cut_source",
            "ar_definition", "oracle_method",
        )
        out = {k: getattr(self, k) for k in keys}
        out["id"] = out.pop("graph_id")
        return out


class Budget:
    """Charges every oracle call of one run against exact limits; keeps the history and the best point.

    ``reserve`` is held back for the final re-measurement. ``limit(...)`` opens a
    nested cap (Phase I may spend at most its declared cost).
    """

    def __init__(self, oracle, max_evaluations: int | None, max_shots: int | None, base_seed: int, reserve: Charge):
        self.oracle, self.max_evaluations, self.max_shots = oracle, max_evaluations, max_shots
        self.reserve = reserve
        self.base_seed, self.calls = int(base_seed), 0
        self.history: list[dict[str, Any]] = []
        self.evaluations = self.shots = 0
        self.best_energy, self.best_params = -np.inf, None
        self.best_cut, self.best_bitstring = None, None
        self.job_ids: list[str] = []
        self.cap: tuple[int, str] | None = None  # (evaluation count not to exceed, who)
        self.methods: set[str] = set()  # how the target computed energies or samples (evaluation metadata)

    def _fits(self, charge: Charge, reserve: Charge) -> bool:
        if self.max_evaluations is not None and self.evaluations + charge.evaluations + reserve.evaluations > self.max_evaluations:
            return False
        if self.max_shots is not None and self.shots + charge.shots + reserve.shots > self.max_shots:
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
        self.job_ids.extend(ev.job_ids)
        if ev.best_cut is not None and (self.best_cut is None or ev.best_cut > self.best_cut):
            self.best_cut, self.best_bitstring = ev.best_cut, ev.best_bitstring
        if phase != "final":
            for point, value in zip(points, values):
                if value > self.best_energy:
                    self.best_energy, self.best_params = float(value), np.array(point, float)
        self.history.append(
            {
                "phase": phase,
                "params": [float(x) for x in points[0]],
                "energy": float(values[0]),
                "energies": [float(v) for v in values],
                "stderr": float(ev.stderr[0]),
                "evaluations": self.evaluations,
                "shots": self.shots,
                "job_ids": list(ev.job_ids),
            }
        )

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

    strategy = get_strategy(init)
    cost = strategy.cost(p, problem)
    if cost == 0:
        result = strategy.start(problem, p, seed=rng)
        return _Start(np.asarray(result.theta, float), 0, None, result.label)
    budget.cap = (budget.evaluations + cost, f"start {init!r}")
    try:
        result = strategy.start(problem, p, evaluate=lambda th: float(budget.evaluate(th, "phase1")[0]), seed=rng)
    except BudgetExhausted:
        raise BudgetError(
            f"start {init!r} needs {cost} evaluations in Phase I, which do not fit max_shots={budget.max_shots}; "
            "raise max_shots"
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
) -> RunResult:
    """Phase I (any start strategy) then Phase II on ``oracle``, within exact budgets.

    ``oracle`` offers ``evaluate``, ``value_and_grad`` and ``charge`` (see
    :mod:`hybrid.oracles`); its randomness (shots) is seeded per call from
    ``seed``. ``tol`` applies to the energy normalised by the total edge weight.
    Returns the best evaluated point (see the module doc). The steps: the budget
    (:func:`_budget`), the start (:func:`_budgeted_start`), the Phase II loop
    (:func:`_phase_two`) and the report (:func:`_report`).
    """
    from .problems import as_rng
    from .strategies.builtin import for_target

    start_time = time.perf_counter()
    name, steps = parse_optimizer(optimizer)
    rng = as_rng(seed)
    budget, sampled = _budget(oracle, max_evaluations, max_shots, seed, rng)
    init = for_target(init, target, sampled)
    start = _budgeted_start(init, problem, p, budget, rng, max_evaluations)
    phase = _PhaseTwo(budget, start.theta, start.value, problem.total_weight)
    converged, last = _phase_two(phase, name, steps, rng, lr, tol)
    return _report(problem, p, oracle, budget, start, phase.e_start, converged, last, sampled=sampled, init=init,
                   optimizer=optimizer, target=target, mitigation=mitigation, max_evaluations=max_evaluations,
                   max_shots=max_shots, started=start_time)


def _budget(oracle, max_evaluations: int | None, max_shots: int | None, seed, rng) -> tuple[Budget, bool]:
    """The run's :class:`Budget` (one evaluation reserved for the final re-measurement when sampled)."""
    if max_evaluations is not None and max_evaluations < 0:
        raise BudgetError(f"max_evaluations must be >= 0, got {max_evaluations}")
    if max_shots is not None and max_shots < 0:
        raise BudgetError(f"max_shots must be >= 0, got {max_shots}")
    base_seed = int(seed) if isinstance(seed, (int, np.integer)) else int(rng.integers(2**63))
    sampled = not oracle.exact
    reserve = oracle.charge("evaluate", 1) if sampled else Charge(0, 0)
    return Budget(oracle, max_evaluations, max_shots, base_seed, reserve), sampled


def _budgeted_start(init: str, problem, p: int, budget: Budget, rng, max_evaluations: int | None):
    """Phase I: the start, refused up front when its evaluations do not fit the budget."""
    cost = start_cost(init, p, problem)
    reserve = budget.reserve
    if cost and max_evaluations is not None and cost + reserve.evaluations > max_evaluations:
        raise BudgetError(
            f"start {init!r} spends {cost} evaluations in Phase I but max_evaluations={max_evaluations}"
            f"{' (1 more is kept for the final re-measurement)' if reserve.evaluations else ''}; "
            "raise max_evaluations or choose a zero-evaluation start"
        )
    return _start(init, problem, p, budget, rng)


class _PhaseTwo:
    """What the Phase II loop shares: the budget, the start and its measured value (``e_start``)."""

    def __init__(self, budget: Budget, theta0: np.ndarray, e_start: float | None, scale: float):
        self.budget, self.theta0, self.e_start, self.scale = budget, theta0, e_start, scale

    def measure_start(self) -> float | None:
        if self.e_start is None:
            try:
                self.e_start = float(self.budget.evaluate(self.theta0, "init")[0])
            except BudgetExhausted:
                return None
        return self.e_start


def _phase_two(phase: _PhaseTwo, name: str, steps: int, rng, lr: float | None, tol: float) -> tuple[bool, np.ndarray]:
    """The Phase II loop of optimiser ``name``: ``(converged, last point)``."""
    if name in ("adam", "sgd") and steps > 0:
        return _phase_two_gradient(phase, name, steps, lr, tol)
    if name == "spsa" and steps > 0:
        return False, _phase_two_spsa(phase, steps, rng)
    if name == "cobyla" and steps > 0:
        return _phase_two_cobyla(phase, steps)
    phase.measure_start()
    return False, phase.theta0


def _phase_two_gradient(phase: _PhaseTwo, name: str, steps: int, lr: float | None, tol: float) -> tuple[bool, np.ndarray]:
    first = True

    def value_and_grad(theta):
        nonlocal first
        value, grad = phase.budget.value_and_grad(theta, "phase2")
        if first and phase.e_start is None:
            phase.e_start = value
        first = False
        return value, grad

    traj = ascend(value_and_grad, phase.theta0, optimizer=name, lr=lr if lr is not None else DEFAULT_LR[name],
                  max_steps=steps, tol=tol, scale=phase.scale)
    return traj.converged, traj.theta


def _phase_two_spsa(phase: _PhaseTwo, steps: int, rng) -> np.ndarray:
    phase.measure_start()
    theta = phase.theta0.copy()
    try:
        for k in range(steps):
            a_k = SPSA_A / (k + 1 + 0.1 * steps) ** SPSA_ALPHA
            c_k = SPSA_C / (k + 1) ** SPSA_GAMMA
            delta = rng.choice([-1.0, 1.0], size=theta.size)
            plus, minus = phase.budget.evaluate(np.vstack([theta + c_k * delta, theta - c_k * delta]), "phase2")
            # ascent on the normalised energy <C>/W, so the gains do not depend on the graph
            theta = theta + a_k * (plus - minus) / (2 * c_k * phase.scale) * delta
    except BudgetExhausted:
        pass
    return theta


def _phase_two_cobyla(phase: _PhaseTwo, steps: int) -> tuple[bool, np.ndarray]:
    from scipy.optimize import minimize

    def objective(x):
        x = np.asarray(x, float)
        if phase.e_start is not None and np.array_equal(x, phase.theta0):
            return -phase.e_start / phase.scale  # the start's value is already measured
        return -float(phase.budget.evaluate(x, "phase2")[0]) / phase.scale

    phase.measure_start()
    try:
        res = minimize(objective, phase.theta0, method="COBYLA", options={"maxiter": steps, "rhobeg": COBYLA_RHOBEG})
        return bool(res.success), np.asarray(res.x, float)
    except BudgetExhausted:
        return False, phase.budget.history[-1]["params"] if phase.budget.history else phase.theta0


def _report(problem, p: int, oracle, budget: Budget, start, e_start: float | None, converged: bool, last, *,
            sampled: bool, init: str, optimizer: str, target: str, mitigation: str, max_evaluations: int | None,
            max_shots: int | None, started: float) -> RunResult:
    """The best measured point, re-measured once when sampled, and its ideal AR: the :class:`RunResult`."""
    from .oracles import ideal_oracle

    theta0 = start.theta
    if budget.best_params is None:  # nothing measured: the start is the answer
        best, best_value = theta0, None
    else:
        best, best_value = budget.best_params, budget.best_energy
    e_final = best_value
    if sampled and best_value is not None:
        try:
            e_final = float(budget.evaluate(best, "final", reserve=False)[0])
        except BudgetExhausted:  # cannot happen: the re-measurement was reserved
            raise BudgetError("the final re-measurement did not fit its reserved budget") from None
    ideal = ideal_oracle(problem, p)
    ideal_init = float(ideal.evaluate(theta0).energies[0])
    ideal_final = float(ideal.evaluate(best).energies[0])
    ratio = lambda e: None if e is None else e / problem.max_cut  # noqa: E731
    return RunResult(
        graph_id=problem.id,
        n=problem.n,
        max_cut=float(problem.max_cut),
        total_weight=problem.total_weight,
        target=target,
        p=p,
        init=init,
        optimizer=optimizer,
        init_params=[float(x) for x in theta0],
        final_params=[float(x) for x in best],
        best_params=[float(x) for x in best],
        ar_init=ratio(e_start),
        ar_final=ratio(e_final),
        ideal_ar_init=ideal_init / problem.max_cut,
        ideal_ar_final=ideal_final / problem.max_cut,
        evaluations=budget.evaluations,
        shots=budget.shots,
        best_cut=budget.best_cut,
        best_bitstring=budget.best_bitstring,
        job_ids=budget.job_ids,
        history=budget.history,
        wall_time=time.perf_counter() - started,
        mitigation=mitigation,
        phase1_evaluations=start.evaluations,
        converged=converged,
        last_params=[float(x) for x in np.asarray(last, float)],
        max_evaluations=max_evaluations,
        max_shots=max_shots,
        start_label=start.label,
        max_cut_source=str(problem.max_cut_source),
        ar_definition=ar_definition(problem),
        oracle_method=oracle.method or (",".join(sorted(budget.methods)) or None),
    )


def ar_definition(problem) -> str:
    """What an AR of ``problem`` divides by: the exact max cut, or the best-known cut and how it was found."""
    if problem.max_cut_source == "exact":
        how = problem.meta.get("max_cut_method")
        return "expected cut / max cut" + (f" (certified by the {problem.meta.get('max_cut_bound_method')} bound)" if how else "")
    how = problem.meta.get("max_cut_method", "heuristic")
    bound = problem.meta.get("max_cut_upper_bound")
    tail = f"; upper bound {bound:.6g} ({problem.meta.get('max_cut_bound_method')})" if bound is not None else ""
    return f"expected cut / best-known cut ({how}{tail})"
