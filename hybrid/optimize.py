"""Phase II: classical refinement of QAOA parameters on a cost oracle.

:func:`descend` is gradient ascent on the expected cut (SGD or Adam) with the
paper's stopping rule: stop at the first step ``k >= 1`` where the energy changed
by at most ``tol``; ``steps`` is the number of updates taken (``max_steps`` when
the rule never fired).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .problems import ProblemError

#: Adam moments (Kingma & Ba defaults).
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


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
class DescentResult:
    theta: np.ndarray  # final parameters
    thetas: np.ndarray  # (K+1, 2p): start, then after every update
    energies: np.ndarray  # (K+1,) expected cut at each of them
    steps: int
    converged: bool
    evaluations: int

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


def descend(
    oracle,
    theta0: Any,
    *,
    optimizer: str = "sgd",
    lr: float = 1e-3,
    max_steps: int = 300,
    tol: float = 1e-6,
    seed: int | np.random.Generator | None = None,
) -> DescentResult:
    """Maximise ``<C>`` from ``theta0`` with gradients from ``oracle.value_and_grad``."""
    if optimizer not in ("sgd", "adam"):
        raise ProblemError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    if lr <= 0 or max_steps < 0:
        raise ProblemError(f"need lr > 0 and max_steps >= 0, got lr={lr}, max_steps={max_steps}")
    theta = np.array(theta0, dtype=float)
    value, grad, _ = oracle.value_and_grad(theta, seed=seed)
    thetas, energies = [theta.copy()], [value]
    step = AscentStep(optimizer, lr, theta.size)
    converged = False
    for _ in range(max_steps):
        theta = step(theta, grad)
        value, grad, _ = oracle.value_and_grad(theta, seed=seed)
        thetas.append(theta.copy())
        energies.append(value)
        if abs(energies[-1] - energies[-2]) <= tol:
            converged = True
            break
    steps = len(energies) - 1
    return DescentResult(theta, np.array(thetas), np.array(energies), steps, converged, evaluations=steps + 1)


# ---------------------------------------------------------------------------- full runs
OPTIMIZERS = ("adam", "sgd", "spsa", "cobyla")
#: Default learning rates (radians per step) for gradient optimisers on measured energies.
DEFAULT_LR = {"adam": 0.02, "sgd": 0.01}
#: SPSA gains (Spall's recommended exponents), step sizes in radians.
SPSA_A, SPSA_C, SPSA_ALPHA, SPSA_GAMMA = 0.1, 0.1, 0.602, 0.101


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
    """One graph's warm-started QAOA run on one target (JSON round trip)."""

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
    ar_init: float  # measured on the target at the Phase II start
    ar_final: float  # measured on the target at the final parameters
    ideal_ar_init: float  # exact ideal re-scoring
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
    max_cut_source: str = "exact"
    ar_definition: str = "expected cut / max cut"
    oracle_method: str | None = None  # how the target's energies were computed (e.g. noisy light cones)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

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


class _Tracker:
    """Counts evaluations and shots, keeps the history, the best point and the best cut."""

    def __init__(self, oracle, max_evaluations: int | None, max_shots: int | None, base_seed: int):
        self.oracle, self.max_evaluations, self.max_shots = oracle, max_evaluations, max_shots
        self.base_seed, self.calls = int(base_seed), 0
        self.history: list[dict[str, Any]] = []
        self.evaluations = self.shots = 0
        self.best_energy, self.best_params = -np.inf, None
        self.best_cut, self.best_bitstring = None, None
        self.job_ids: list[str] = []
        self.methods: set[str] = set()  # how the target computed energies or samples (evaluation metadata)

    def _note(self, phase: str, ev, theta, value) -> None:
        if ev.metadata.get("method"):
            self.methods.add(str(ev.metadata["method"]))
        self.evaluations += ev.num_points
        self.shots += ev.shots
        self.job_ids.extend(ev.job_ids)
        if ev.best_cut is not None and (self.best_cut is None or ev.best_cut > self.best_cut):
            self.best_cut, self.best_bitstring = ev.best_cut, ev.best_bitstring
        if value > self.best_energy:
            self.best_energy, self.best_params = value, np.array(theta, float)
        self.history.append(
            {
                "phase": phase,
                "params": [float(x) for x in theta],
                "energy": float(value),
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

    def evaluate(self, theta, phase: str) -> float:
        ev = self.oracle.evaluate(np.asarray(theta, float), seed=self.next_seed())
        value = float(ev.energies[0])
        self._note(phase, ev, theta, value)
        return value

    def evaluate_batch(self, points: np.ndarray, theta, phase: str) -> np.ndarray:
        ev = self.oracle.evaluate(np.asarray(points, float), seed=self.next_seed())
        self._note(phase, ev, theta, float(np.mean(ev.energies)))
        return np.asarray(ev.energies, float)

    def value_and_grad(self, theta, phase: str):
        value, grad, ev = self.oracle.value_and_grad(np.asarray(theta, float), seed=self.next_seed())
        self._note(phase, ev, theta, value)
        return value, np.asarray(grad, float)

    def exhausted(self) -> bool:
        return (self.max_evaluations is not None and self.evaluations >= self.max_evaluations) or (
            self.max_shots is not None and self.shots >= self.max_shots
        )


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
    """Phase I (any initial strategy, ``learned`` included) then Phase II on ``oracle``.

    ``oracle`` is any object with ``evaluate`` / ``value_and_grad`` (see
    :mod:`hybrid.evaluate`); its randomness (shots) is its own. ``tol`` applies to
    the energy normalised by the total edge weight. Phase II keeps the best-so-far
    point; the final parameters are the last iterate, re-measured on the target.
    """
    import time

    from .ansatz import initial_params
    from .evaluate import ideal_oracle
    from .problems import as_rng

    start = time.perf_counter()
    name, steps = parse_optimizer(optimizer)
    rng = as_rng(seed)
    base_seed = int(seed) if isinstance(seed, (int, np.integer)) else int(rng.integers(2**63))
    track = _Tracker(oracle, max_evaluations, max_shots, base_seed)
    phase1 = 0
    if init.startswith("learned"):
        from .meta import load_pretrained, phase_one

        model, cfg, _ = load_pretrained(init, p)
        result = phase_one(model, cfg, problem, lambda th: track.evaluate(th, "phase1"))
        theta = result.theta
        phase1 = result.evaluations
        e_init = float(result.energies[-1])
    else:
        theta = initial_params(init, problem, p, seed=rng)
        e_init = track.evaluate(theta, "init")
    theta0 = np.array(theta, float)
    scale = problem.total_weight
    converged = False

    if name in ("adam", "sgd") and steps > 0:
        step = AscentStep(name, lr if lr is not None else DEFAULT_LR[name], theta.size)
        prev = None
        for _ in range(steps):
            if track.exhausted():
                break
            value, grad = track.value_and_grad(theta, "phase2")
            if prev is not None and abs(value - prev) / scale <= tol:
                converged = True
                break
            prev = value
            theta = step(theta, grad)
    elif name == "spsa" and steps > 0:
        for k in range(steps):
            if track.exhausted():
                break
            a_k = SPSA_A / (k + 1 + 0.1 * steps) ** SPSA_ALPHA
            c_k = SPSA_C / (k + 1) ** SPSA_GAMMA
            delta = rng.choice([-1.0, 1.0], size=theta.size)
            plus, minus = track.evaluate_batch(np.vstack([theta + c_k * delta, theta - c_k * delta]), theta, "phase2")
            # ascent on the normalised energy <C>/W, so the gains do not depend on the graph
            theta = theta + a_k * (plus - minus) / (2 * c_k * scale) * delta
    elif name == "cobyla" and steps > 0:
        from scipy.optimize import minimize

        def objective(x):
            if track.exhausted():
                return -track.best_energy / scale
            return -track.evaluate(x, "phase2") / scale

        res = minimize(objective, theta, method="COBYLA", options={"maxiter": steps, "rhobeg": 0.1})
        theta = np.asarray(res.x, float)
        converged = bool(res.success)

    e_final = track.evaluate(theta, "final")
    ideal = ideal_oracle(problem, p)
    ideal_init = float(ideal.evaluate(theta0).energies[0])
    ideal_final = float(ideal.evaluate(theta).energies[0])
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
        final_params=[float(x) for x in theta],
        best_params=[float(x) for x in track.best_params],
        ar_init=e_init / problem.max_cut,
        ar_final=e_final / problem.max_cut,
        ideal_ar_init=ideal_init / problem.max_cut,
        ideal_ar_final=ideal_final / problem.max_cut,
        evaluations=track.evaluations,
        shots=track.shots,
        best_cut=track.best_cut,
        best_bitstring=track.best_bitstring,
        job_ids=track.job_ids,
        history=track.history,
        wall_time=time.perf_counter() - start,
        mitigation=mitigation,
        phase1_evaluations=phase1,
        converged=converged,
        max_cut_source=str(problem.max_cut_source),
        ar_definition=ar_definition(problem),
        oracle_method=getattr(oracle, "method", None) or (",".join(sorted(track.methods)) or None),
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
