"""The built-in start strategies (registered in :mod:`hybrid.strategies`).

Zero-evaluation: ``fixed``, ``sk``, ``tqa[:DT]``, ``lrqaoa``, ``constant``, ``regression``,
``transfer``, ``interp``. Evaluating: ``random:K`` (costs K), ``learned[:NAME]``
(costs the model's steps), ``auto[:KIND]`` (whatever the benchmark measured best).
Fitted values come from ``data/baselines.json`` (``hybrid fit-baselines``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..problems import MaxCutProblem, as_rng
from ..schedules import (
    TQA_DT,
    denormalise,
    fixed_angle_params,
    interp_params,
    interp_to,
    lrqaoa_params,
    random_params,
    tqa_params,
)
from .base import Evaluate, StartResult, StrategyError, check_depth
from . import fit as _fit
from .fit import class_key, fitted, load_json, nearest_key, regression_features, ridge_predict


def _zero(theta: np.ndarray, label: str) -> StartResult:
    return StartResult(np.asarray(theta, float), 0, None, label)


def _no_arg(name: str, arg: str) -> None:
    if arg:
        raise StrategyError(f"strategy {name!r} takes no argument, got {name}:{arg}; use '{name}'")


# ---------------------------------------------------------------------------- zero-evaluation
def regular_degree(problem: MaxCutProblem) -> int | None:
    """``d`` when the graph is d-regular with unit weights, else None."""
    if problem.is_weighted:
        return None
    degrees = problem.degrees(weighted=False)
    return int(degrees[0]) if degrees.size and np.all(degrees == degrees[0]) else None


@dataclass(frozen=True)
class Fixed:
    """Fixed-angle formula (INTERP-grown for p > 1); the published tables on d-regular graphs."""

    name: str = "fixed"

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        return 0

    def start(self, problem, p, *, evaluate=None, seed=None) -> StartResult:
        p = check_depth(p)
        d = regular_degree(problem)
        if d is not None:
            entry = load_json(_fit.TABLES_PATH, "fixed").get("angles", {}).get(str(d), {}).get(str(p))
            if entry is not None:
                return _zero(np.array(entry["gamma"] + entry["beta"], float), f"fixed (table d={d}, p={p})")
        label = "fixed (formula)" if p == 1 else "fixed (formula + INTERP)"
        return _zero(fixed_angle_params(problem, p), label)


#: Optimal angles of the Sherrington-Kirkpatrick model at infinite size (Farhi, Goldstone, Gutmann,
#: Zhou, "The QAOA and the Sherrington-Kirkpatrick model at infinite size", Quantum 6, 759 (2022),
#: Table 1), for ``H = sum J_uv s_u s_v / sqrt(n)``, ``J = +-1``; in this project's convention
#: (we maximise ``C = -H``) the same numbers. Checked here: on 6 SK instances with n = 12 a local
#: optimiser started from them gains only 0.002-0.007 in ratio (p = 1-3).
SK_ANGLES = {
    1: ([0.5], [math.pi / 8]),
    2: ([0.3817, 0.6655], [0.4960, 0.2690]),
    3: ([0.3297, 0.5688, 0.6406], [0.5500, 0.3675, 0.2109]),
}


def coupling_strength(problem: MaxCutProblem) -> float:
    """Root-mean-square coupling per spin in Ising units, ``sqrt(mean_i (sum_j J_ij^2 + h_i^2))`` with
    ``J = w / 2`` and the fields as couplings to a fixed spin (1 for SK as ``n`` grows)."""
    sq = np.zeros(problem.n)
    for u, v, w in problem.edges:
        sq[u] += (w / 2) ** 2
        sq[v] += (w / 2) ** 2
    sq += (problem.field_array / 2) ** 2
    return float(np.sqrt(sq.mean()))


@dataclass(frozen=True)
class SkAngles:
    """The infinite-size SK angles, gamma divided by the problem's rms coupling per spin (INTERP beyond p = 3).

    Made for dense Ising problems with couplings of both signs (SK, and QUBOs as Ising); on sparse
    Max-Cut graphs the fixed-angle tables fit better."""

    name: str = "sk"

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        return 0

    def start(self, problem, p, *, evaluate=None, seed=None) -> StartResult:
        p = check_depth(p)
        q = min(p, max(SK_ANGLES))
        gammas, betas = SK_ANGLES[q]
        theta = np.array(list(gammas) + list(betas), float)
        theta[:q] /= coupling_strength(problem)
        while theta.size // 2 < p:
            theta = interp_params(theta)
        return _zero(theta, f"sk (infinite-size SK angles, p={q}{', + INTERP' if q < p else ''})")


@dataclass(frozen=True)
class Tqa:
    """TQA with the time step tuned per class on training graphs, or the given ``tqa:DT``."""

    dt: float | None = None
    name: str = "tqa"

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        return 0

    def start(self, problem, p, *, evaluate=None, seed=None) -> StartResult:
        p = check_depth(p)
        if self.dt is not None:
            return _zero(tqa_params(problem, p, self.dt), f"tqa (dt={self.dt:g})")
        table = fitted(p, "tqa")
        key = nearest_key(class_key(problem), table, "tqa")
        return _zero(tqa_params(problem, p, float(table[key])), f"tqa (tuned dt={float(table[key]):.3f}, class {key})")


@dataclass(frozen=True)
class LrQaoa:
    """Linear-ramp QAOA with slopes tuned per class on training graphs."""

    name: str = "lrqaoa"

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        return 0

    def start(self, problem, p, *, evaluate=None, seed=None) -> StartResult:
        p = check_depth(p)
        table = fitted(p, "lrqaoa")
        key = nearest_key(class_key(problem), table, "lrqaoa")
        dg, db = table[key]
        return _zero(lrqaoa_params(problem, p, dg, db), f"lrqaoa (dgamma={dg:.3f}, dbeta={db:.3f}, class {key})")


@dataclass(frozen=True)
class Constant:
    """One fitted theta per depth (gamma in mean-weight units)."""

    name: str = "constant"

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        return 0

    def start(self, problem, p, *, evaluate=None, seed=None) -> StartResult:
        p = check_depth(p)
        return _zero(denormalise(fitted(p, "constant"), problem), "constant (fitted)")


@dataclass(frozen=True)
class Regression:
    """Ridge regression from graph features to optimised angles, per depth."""

    name: str = "regression"

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        return 0

    def start(self, problem, p, *, evaluate=None, seed=None) -> StartResult:
        p = check_depth(p)
        model = fitted(p, "regression")
        theta = ridge_predict(model, regression_features(problem))
        return _zero(denormalise(theta, problem), "regression (ridge on graph features)")


def transferred(problem: MaxCutProblem, p: int) -> tuple[np.ndarray, str]:
    table = fitted(p, "transfer")
    key = nearest_key(class_key(problem), table, "transfer")
    return denormalise(table[key], problem), key


@dataclass(frozen=True)
class Transfer:
    """Median optimised angles of training graphs of the same degree and weight class."""

    name: str = "transfer"

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        return 0

    def start(self, problem, p, *, evaluate=None, seed=None) -> StartResult:
        theta, key = transferred(problem, check_depth(p))
        return _zero(theta, f"transfer (median of class {key})")


@dataclass(frozen=True)
class Interp:
    """INTERP of the transferred depth p-1 angles (the transferred angles themselves at p = 1)."""

    name: str = "interp"

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        return 0

    def start(self, problem, p, *, evaluate=None, seed=None) -> StartResult:
        p = check_depth(p)
        if p == 1:
            theta, key = transferred(problem, 1)
            return _zero(theta, f"interp (p=1: transferred angles of class {key})")
        theta, key = transferred(problem, p - 1)
        return _zero(interp_to(theta, p), f"interp (INTERP of transferred p={p - 1} angles, class {key})")


# ---------------------------------------------------------------------------- evaluating
def _need(evaluate: Evaluate | None, spec: str) -> Evaluate:
    if evaluate is None:
        raise StrategyError(f"strategy {spec!r} evaluates points: pass evaluate=<callable theta -> expected cut>")
    return evaluate


@dataclass(frozen=True)
class RandomPoint:
    """One uniformly random point, not evaluated (``random`` without ``:K``)."""

    name: str = "random"

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        return 0

    def start(self, problem, p, *, evaluate=None, seed=None) -> StartResult:
        return _zero(random_params(problem, check_depth(p), seed), "random (one uniform point)")


@dataclass(frozen=True)
class RandomStarts:
    """``K`` uniformly random points, each evaluated; the best is kept (costs ``K``)."""

    k: int
    name: str = "random"

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        return self.k

    def proposals(self, problem, p, seed=None) -> np.ndarray:
        """The ``K`` points :meth:`start` evaluates, drawn the same way: they do not depend on
        each other's values, so a run measures them all in one job."""
        p = check_depth(p)
        rng = as_rng(seed)
        return np.array([random_params(problem, p, rng) for _ in range(self.k)])

    def start(self, problem, p, *, evaluate=None, seed=None) -> StartResult:
        p = check_depth(p)
        evaluate = _need(evaluate, f"random:{self.k}")
        best, best_value = None, -np.inf
        for theta in self.proposals(problem, p, seed):
            value = float(evaluate(theta))
            if value > best_value:
                best, best_value = theta, value
        return StartResult(best, self.k, best_value, f"random:{self.k} (best of {self.k})")


@dataclass(frozen=True)
class Learned:
    """Phase I of a shipped sequence model (``learned[:NAME][@STEPS]``); keeps the best proposal.

    ``@STEPS`` runs the model for fewer proposals than it was trained with, so the
    learned start fits small budgets (``learned@4`` spends 4 evaluations).
    """

    spec: str = "learned"
    name: str = "learned"
    steps: int | None = None

    def _model(self, p: int):
        from .. import meta

        model, cfg, card = meta.load_pretrained(self.spec, p)
        if int(cfg.p) != p:  # a model proposes parameters for the depth it was trained at
            raise StrategyError(f"{self.spec} was trained at p = {cfg.p}, not p = {p}; "
                                f"pass --p {cfg.p}, or a model trained at p = {p} (e.g. learned, which picks one)")
        return model, cfg, card

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        trained = int(self._model(check_depth(p))[1].steps)
        return trained if self.steps is None else self.steps

    def start(self, problem, p, *, evaluate=None, seed=None) -> StartResult:
        from .. import meta

        p = check_depth(p)
        evaluate = _need(evaluate, self.spec)
        model, cfg, _ = self._model(p)
        result = meta.phase_one(model, cfg, problem, lambda theta: float(evaluate(theta)), steps=self.steps)
        # phase_one already hands over its best measured proposal
        return StartResult(np.asarray(result.theta, float), int(result.evaluations), float(result.best_energy),
                           f"{self.spec} (best of {result.evaluations} proposals)")


def _learned(arg: str) -> Learned:
    name, at, steps = arg.rpartition("@") if "@" in arg else (arg, "", "")
    spec = f"learned:{name}" if name else "learned"
    if not at:
        return Learned(spec)
    try:
        count = int(steps)
    except ValueError:
        count = 0
    if count < 1:
        raise StrategyError(f"learned@STEPS needs a positive number of proposals, got {steps!r} (e.g. learned@4)")
    return Learned(spec, steps=count)


#: Target kinds the ``auto`` table distinguishes.
AUTO_KINDS = ("ideal", "ideal-shots", "noisy", "noisy-shots")


def target_kind(target: str, shots: int | None) -> str:
    """The ``auto`` table's kind for a target spec and shot count."""
    noisy = not str(target).startswith(("ideal", "aer"))
    return ("noisy" if noisy else "ideal") + ("-shots" if shots else "")


def for_target(spec: str, target: str, sampled: bool) -> str:
    """``auto`` made specific to the run's target (``auto:noisy-shots`` on a sampled device); others unchanged."""
    if spec.strip() == "auto":
        return f"auto:{target_kind(target or 'ideal', 1 if sampled else None)}"
    return spec


@dataclass(frozen=True)
class Auto:
    """The start the benchmark measured best for the graph's family, the depth and the target kind."""

    kind: str = "ideal"
    name: str = "auto"

    def _table(self) -> dict[str, Any]:
        return load_json(_fit.AUTO_PATH, "auto")["choices"]

    def _kind_for(self, family: str, p: int) -> str:
        """The measured kind closest to this one: noisy-shots, then noisy, then ideal (likewise for ideal-shots)."""
        table = self._table()
        order = {"noisy-shots": ("noisy-shots", "noisy", "ideal"), "noisy": ("noisy", "ideal"),
                 "ideal-shots": ("ideal-shots", "ideal"), "ideal": ("ideal",)}[self.kind]
        for kind in order:
            if str(p) in table.get(kind, {}).get(family, {}):
                return kind
        have = sorted(f"{k}/{f}/p={q}" for k, fams in table.items() for f, ps in fams.items() for q in ps)
        raise StrategyError(
            f"auto: the benchmark measured no start for target kind {self.kind!r}, family {family!r}, p={p} "
            f"(measured: {', '.join(have) or 'none'}); run `hybrid benchmark` with that depth, or name a strategy"
        )

    def choice(self, family: str, p: int) -> str:
        return str(self._table()[self._kind_for(family, p)][family][str(p)])

    def cost(self, p: int, problem: MaxCutProblem | None = None) -> int:
        """What the start picked for ``problem`` costs; without a problem, the largest cost it may pick at ``p``."""
        from ..families import FAMILIES, classify

        if problem is not None:
            return get(self.choice(classify(problem), p)).cost(p, problem)
        costs = []
        for family in FAMILIES:
            try:
                costs.append(get(self.choice(family, p)).cost(p))
            except StrategyError:
                continue  # nothing measured for this family at p
        if not costs:
            self.choice(FAMILIES[0], p)  # raises the named error
        return max(costs)

    def start(self, problem, p, *, evaluate=None, seed=None) -> StartResult:
        from ..families import classify

        p = check_depth(p)
        family = classify(problem)
        kind = self._kind_for(family, p)
        spec = self.choice(family, p)
        result = get(spec).start(problem, p, evaluate=evaluate, seed=seed)
        measured = kind if kind == self.kind else f"{self.kind}, as measured on {kind}"
        return StartResult(result.theta, result.evaluations, result.value, f"auto ({measured}, {family}, p={p}) -> {result.label}")


def get(spec: str):
    from .base import get_strategy

    return get_strategy(spec)


# ---------------------------------------------------------------------------- factories
def _float_arg(name: str, arg: str) -> float:
    try:
        value = float(arg)
    except ValueError:
        raise StrategyError(f"strategy {name}:{arg}: the argument must be a number, e.g. {name}:0.75") from None
    if not (value > 0 and np.isfinite(value)):
        raise StrategyError(f"strategy {name}:{arg}: the argument must be > 0 and finite")
    return value


def _random(arg: str) -> RandomPoint | RandomStarts:
    if not arg:
        return RandomPoint()
    if not arg.isdigit() or int(arg) < 1:
        raise StrategyError(f"strategy random:{arg}: K must be a positive integer, e.g. random:8")
    return RandomStarts(int(arg))


def _auto(arg: str) -> Auto:
    kind = arg or "ideal"
    if kind not in AUTO_KINDS:
        raise StrategyError(f"strategy auto:{arg}: unknown target kind; use one of {', '.join(AUTO_KINDS)}")
    return Auto(kind)


def _plain(cls):
    def factory(arg: str):
        _no_arg(cls.name, arg)
        return cls()

    return factory


FACTORIES = {
    "fixed": (_plain(Fixed), "fixed-angle formula; published tables on d-regular graphs (d = 3, 4, 5)"),
    "sk": (_plain(SkAngles), "infinite-size Sherrington-Kirkpatrick angles, scaled by the rms coupling (Ising, QUBO)"),
    "tqa": (lambda arg: Tqa(_float_arg("tqa", arg) if arg else None), f"TQA, dt tuned per class (tqa:DT fixes it; classic {TQA_DT})"),
    "lrqaoa": (_plain(LrQaoa), "linear-ramp QAOA, slopes tuned per class"),
    "constant": (_plain(Constant), "one fitted theta per depth"),
    "regression": (_plain(Regression), "ridge regression from graph features"),
    "transfer": (_plain(Transfer), "median optimised angles of the class"),
    "interp": (_plain(Interp), "INTERP of the transferred p-1 angles"),
    "random": (_random, "random: one uniform point; random:K: best of K evaluated uniform points (costs K)"),
    "learned": (_learned, "learned[:NAME][@STEPS], Phase I of a shipped model (STEPS proposals, default as trained)"),
    "auto": (_auto, "auto[:KIND], the start the benchmark measured best (KIND: " + ", ".join(AUTO_KINDS) + ")"),
}
