"""Every check a run's input gets before anything is registered in the ledger or sent.

Longer than 600 lines: every pre-run check, the usage estimate and the objective check live in one place.

One place for graphs (files, folders, weights), seeds, start strategies (any spec of
:mod:`hybrid.strategies`, ``.pt`` paths as ``learned:PATH``), mitigation, optimizer and numeric
ranges, the target (spec, device size, credentials) and a memory and time estimate of
the simulation the target implies:

* ideal statevector (torch, with gradients): ``16 * 2^n`` bytes per state, about
  ``SV_PEAK_BASE + SV_PEAK_PER_LAYER * p`` states alive at the gradient's peak;
* exact noisy density matrix (``fake:``): ``16 * 4^k`` bytes for ``k`` active qubits
  (``k >= n``; the layout can only add qubits);
* sampled simulation (``aer``, ``fake:`` with ``--shots``, ``local:``): Aer picks the
  density matrix when shots exceed ``2^k``, else statevector trajectories
  (``16 * 2^k`` bytes each);
* the p = 1 closed form (``ideal`` with n > 12) and ``ibm:`` need no local memory
  beyond the ideal re-scoring.

Input that cannot run raises :class:`InputError`, one line naming the flag to change.
A run whose estimate exceeds ``LONG_RUN_S`` must be confirmed (``--yes`` in scripts).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import ConfigError

#: Seeds must fit numpy's SeedSequence entropy as one 32-bit word.
MAX_SEED = 2**32 - 1
MAX_P = 50
MAX_SHOTS = 10_000_000
MAX_STEPS = 1_000_000
#: Edge weights outside this range overflow or vanish in gamma * w; rescale the graph.
MIN_WEIGHT, MAX_WEIGHT = 1e-6, 1e6
#: Fraction of physical memory a simulation may take (Aer's own default limit is half).
MEMORY_FRACTION = 0.5
#: Environment variable that sets the memory limit in GiB instead (e.g. on a shared machine).
MEMORY_ENV = "HYBRID_MAX_MEMORY_GB"
#: Runs estimated longer than this (seconds) print the estimate and ask first.
LONG_RUN_S = 600.0
# Cost model from tests/bench/bench_estimates.py on a shared 2-core machine, one torch thread
# (regular_graph(n, 3), p = 3: n = 16/18/20 took 0.047-0.05/0.08-0.32/0.30-0.70 s per
# evaluation and 0.23-0.29/0.55-0.81/2.7-5.1 s per gradient, peaking 56/151/659 MiB above
# the interpreter), on the slow side so that long runs are announced rather than missed.
SV_SECONDS_PER_AMP_GATE = 4e-9
SV_GRAD_FACTOR = 9.0
SV_PEAK_BASE, SV_PEAK_PER_LAYER = 4, 16
# Exact noisy density matrix (DESIGN.md: ~0.5 s at n = 10, p = 1; 5-40 s at n = 12).
DM_SECONDS_PER_ELEMENT_LAYER = 5e-7
CALL_OVERHEAD_S = 0.05  # per circuit run through Aer or Runtime
SV_OVERHEAD_S = 0.002  # per torch statevector evaluation (n = 4: ~3 ms per Adam step, ledger included)
# Noisy light cones on fake devices, energy + gradient per edge and depth (tests/bench/bench_scale_oracles.py,
# 133-node heavy-hex on an idle machine: 9.7 s at p = 1, 29.6 s at p = 2 for 150 edges); x3 per further layer.
NOISY_CONE_GRAD_SECONDS_PER_EDGE = {1: 0.065, 2: 0.2}
NOISY_CONE_EVAL_FRACTION = 0.4  # an energy alone, relative to energy + gradient
NOISY_CONE_BYTES = 16.0 * 4**10  # one 10-qubit density matrix (the default max_cone_qubits)
# Noiseless MPS shots of a 133-qubit heavy-hex circuit: 200 shots in 2.4 s at p = 1 (DESIGN.md).
MPS_SECONDS_PER_SHOT_LAYER = 0.012


class InputError(ConfigError):
    """Input that cannot run; the one-line message names the flag to change."""


@dataclass(frozen=True)
class Estimate:
    """What a run will cost locally, at least (k = n active qubits)."""

    memory_bytes: float
    seconds: float
    evaluations: int
    method: str
    largest_n: int
    qpu_seconds: float | None = None  # estimated QPU quantum seconds of the whole run (ibm:, local:)
    qpu_jobs: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Estimate":
        return cls(**data)

    @property
    def long(self) -> bool:
        from .usage_plan import LONG_QPU_S

        return self.seconds > LONG_RUN_S or (self.qpu_seconds or 0.0) > LONG_QPU_S

    def usage_line(self) -> str:
        """The QPU part of the estimate (empty when the target models no QPU)."""
        if self.qpu_seconds is None:
            return ""
        return (
            f"QPU usage estimate: about {self.qpu_seconds:.1f} quantum seconds in {self.qpu_jobs} jobs "
            "(what job or batch mode bills; a session also bills the classical time between jobs)"
        )

    def line(self) -> str:
        usage = self.usage_line()
        return (
            f"estimate: about {_duration(self.seconds)} and {_bytes(self.memory_bytes)} peak memory "
            f"({self.evaluations} oracle calls, {self.method}, largest graph n={self.largest_n})"
            + (f"; {usage}" if usage else "")
        )


def _exp2(k: float) -> float:
    """``2.0 ** k`` as a float that saturates at infinity (no OverflowError at any graph size)."""
    return 2.0**k if k < 1000 else math.inf


def _bytes(value: float) -> str:
    if not math.isfinite(value):
        return "more memory than any machine has (2^n amplitudes)"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value / 2**10:.3g} KiB"


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "forever (2^n amplitudes)"
    if seconds >= 86400:
        return f"{seconds / 86400:.3g} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"


def memory_limit() -> float:
    """Bytes a simulation may use here: ``$HYBRID_MAX_MEMORY_GB`` or ``MEMORY_FRACTION`` of physical memory."""
    env = os.environ.get(MEMORY_ENV, "").strip()
    if env:
        try:
            value = float(env)
        except ValueError:
            value = float("nan")
        if not math.isfinite(value) or value <= 0:
            raise InputError(f"${MEMORY_ENV} must be a number of GiB > 0, got {env!r}")
        return value * 2**30
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        total = 8 * 2**30
    return MEMORY_FRACTION * total


# ---------------------------------------------------------------------------- single fields
def check_seed(seed: Any, flag: str = "--seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"{flag} must be an integer between 0 and {MAX_SEED}, got {seed!r}")
    return seed


def _check_int(value: Any, flag: str, lo: int, hi: int, what: str = "") -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InputError(f"{flag} must be an integer between {lo} and {hi}{what}, got {value!r}")


def _check_float(value: Any, flag: str, *, positive: bool) -> None:
    if value is None:
        return
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (value <= 0 if positive else value < 0):
        bound = "> 0" if positive else ">= 0"
        raise InputError(f"{flag} must be a finite number {bound}, got {value!r}")


def check_optimizer(text: str) -> tuple[str, int]:
    from .optimize import parse_optimizer
    from .problems import ProblemError

    try:
        name, steps = parse_optimizer(text)
    except ProblemError as exc:
        raise InputError(f"--optimizer: {exc}") from None
    if steps > MAX_STEPS:
        raise InputError(f"--optimizer {text!r}: STEPS must be <= {MAX_STEPS}")
    return name, steps


def check_gradient(gradient: str | None, flag: str = "--gradient") -> None:
    """``None`` (the default rule) or a rule of :data:`hybrid.oracles.GRADIENTS`."""
    from .oracles.gradients import GRADIENTS

    if gradient is not None and gradient not in GRADIENTS:
        raise InputError(f"{flag} {gradient!r}: use one of {', '.join(GRADIENTS)} (or leave it out)")


def check_init(init: str, p: int) -> str:
    """The normalised strategy (a ``.pt`` path becomes ``learned:PATH``); loads learned models and fitted data."""
    from .meta import CheckpointError
    from .strategies import StrategyError, get_strategy, strategy_names

    if not isinstance(init, str) or not init.strip():
        raise InputError(f"--init must name a start: one of {', '.join(strategy_names())} (learned[:NAME|PATH.pt], tqa[:DT], random[:K])")
    init = init.strip()
    if init.endswith(".pt") and not init.startswith("learned"):
        init = f"learned:{Path(init).expanduser().resolve()}"
    try:
        get_strategy(init).cost(p)
    except (StrategyError, CheckpointError) as exc:
        raise InputError(f"--init: {exc}") from None
    return init


def _phase_one_cost(init: str, p: int) -> int:
    """Evaluations before Phase II: the start's declared cost, or the one measurement of a zero-cost start."""
    from .strategies import get_strategy

    return get_strategy(init).cost(p) or 1


def check_mitigation(text: str, flag: str = "--mitigation") -> str:
    """The canonical name of a mitigation spec (``"none"``, ``"zne+rem"``, ...)."""
    if text == "none":
        return "none"
    from .mitigation import MitigationError, parse_mitigation

    try:
        return parse_mitigation(text).name
    except MitigationError as exc:
        raise InputError(f"{flag}: {exc}") from None


# ---------------------------------------------------------------------------- the spec grammar
SPEC_GRAMMAR = "TARGET[+TECHNIQUE...], e.g. ideal, fake:torino, fake:torino+zne+rem"


@dataclass(frozen=True)
class TargetSpec:
    """``TARGET[+TECHNIQUE...]``: a target spec and the mitigation applied on it.

    The one grammar of ``hybrid run --backend``, ``hybrid compare --backends``, job specs
    and configs: ``fake:torino+zne+rem`` is the target ``fake:torino`` with ZNE and
    readout mitigation; ``mitigation`` is ``"none"`` without a suffix.
    """

    target: str
    mitigation: str = "none"

    @property
    def label(self) -> str:
        return self.target if self.mitigation == "none" else f"{self.target}+{self.mitigation}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TargetSpec":
        return cls(target=str(data["target"]), mitigation=str(data.get("mitigation", "none")))


def parse_target_spec(text: Any, flag: str = "--backend") -> TargetSpec:
    """Parse ``TARGET[+TECHNIQUE...]``; the target kind and the techniques are checked.

    Raises :class:`~backends.TargetError` for a bad target and :class:`InputError` for bad
    techniques, each one line starting with ``flag``. The device itself is checked when the
    target is built (:func:`backends.get_target`).
    """
    from backends import TargetError, parse_spec

    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{flag}: give a target spec {SPEC_GRAMMAR}; got {text!r}")
    target, plus, techniques = text.strip().partition("+")
    target = target.strip()
    try:
        parse_spec(target)
    except TargetError as exc:
        raise TargetError(f"{flag} {text}: {exc}") from None
    if not plus:
        return TargetSpec(target)
    techniques = techniques.strip()
    if not techniques or check_mitigation(techniques, f"{flag} {text}") == "none":
        raise InputError(f"{flag} {text}: name a technique after '+' ({SPEC_GRAMMAR}) or drop the '+'")
    return TargetSpec(target, techniques)


def resolve_target(backend: Any, mitigation: str | None = None) -> TargetSpec:
    """``--backend`` and an explicitly given ``--mitigation`` as one :class:`TargetSpec`.

    ``--backend fake:torino+zne+rem`` means ``--backend fake:torino --mitigation zne+rem``;
    giving both with different techniques is refused naming both flags.
    """
    spec = parse_target_spec(backend)
    if mitigation is None:
        return spec
    given = check_mitigation(mitigation)
    if spec.mitigation == "none":
        return TargetSpec(spec.target, mitigation)
    if check_mitigation(spec.mitigation) != given:
        raise InputError(
            f"--backend {backend} and --mitigation {mitigation} name different techniques; "
            f"give them once, as --backend {spec.target}+TECHNIQUES or as --mitigation"
        )
    return spec


def load_checked_graphs(path: Any) -> list:
    """Graphs from ``--graphs``: a readable JSON file of valid graphs with sane weights."""
    from .device_graphs import load_graphs
    from .problems import ProblemError

    if path is None or not str(path).strip():
        raise InputError("--graphs: give a graph JSON file")
    p = Path(str(path)).expanduser()
    if p.is_dir():
        raise InputError(f"--graphs {str(p)!r} is a directory; give a graph JSON file inside it")
    if p.exists() and not p.is_file():  # a FIFO or device would block the read (and nothing may be created first)
        raise InputError(f"--graphs {str(p)!r} is not a regular file (a FIFO, socket or device); give a graph JSON file")
    if p.exists() and not os.access(p, os.R_OK):
        raise InputError(f"--graphs {str(p)!r} is not readable; fix its permissions")
    try:
        problems = load_graphs(p)
    except ProblemError as exc:
        raise InputError(f"--graphs: {exc}") from None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise InputError(f"--graphs {str(p)!r}: not a usable graph file ({type(exc).__name__}: {exc})") from None
    except RecursionError:
        raise InputError(f"--graphs {str(p)!r}: JSON nested too deeply to be a graph file") from None
    except MemoryError:
        raise InputError(f"--graphs {str(p)!r}: too large to load into the memory here; use a smaller graph file") from None
    for pr in problems:
        w = np.abs(np.concatenate([pr.weights, pr.field_array[pr.field_array != 0]]))  # magnitudes: Ising terms have both signs
        if len(w) and (float(w.max()) > MAX_WEIGHT or float(w.min()) < MIN_WEIGHT):
            what = "edge weights" if pr.is_max_cut else "coefficients of magnitude"
            raise InputError(
                f"--graphs: graph {pr.id!r} has {what} in [{float(w.min()):g}, {float(w.max()):g}]; "
                f"weights must lie in [{MIN_WEIGHT:g}, {MAX_WEIGHT:g}]: rescale them"
            )
    return problems


def place_graphs(problems: list, target, graphs: Any, shots: int | None = None) -> list:
    """Graphs too large for ``target``'s exact density matrix, laid SWAP-free onto its device.

    :func:`hybrid.device_graphs.place_on_device`: a graph file whose graph is a subgraph of
    a ``fake:`` device's healthy coupling map gets physical qubits, as a ``heavyhex:`` spec
    has. One that does not embed is sampled on a routed layout when ``shots`` are given, and
    refused otherwise in one line naming ``--graphs`` and the fix.
    """
    from .device_graphs import place_on_device
    from .problems import ProblemError

    out = []
    for pr in problems:
        try:
            out.extend(place_on_device([pr], target, where=f"--graphs {graphs}"))
        except ProblemError as exc:
            if shots is not None:  # sampled: Aer routes it, as on hardware
                out.append(pr)
                continue
            raise InputError(f"{exc}; or sample it on a routed layout with --shots N") from None
    return out


# ---------------------------------------------------------------------------- estimates
def _gradient_evaluations(cfg, sampled: bool, n: int, m: int) -> float:
    gradient = cfg.gradient or ("param_shift" if sampled else "fd")
    if gradient == "param_shift":
        return 1 + 2 * (n + m) * cfg.p
    if gradient == "spsa":  # two perturbed points, whatever the depth
        return 3
    return 1 + 4 * cfg.p


def _native(pr, device: str) -> bool:
    from .problems import physical_qubits

    return physical_qubits(pr, device) is not None


def _ideal_plan(pr, p: int) -> tuple[str, float, float, float]:
    """How the exact ideal oracle will evaluate ``pr`` at depth ``p``: (method, memory, eval s, gradient s).

    Mirrors :func:`hybrid.oracles.ideal_oracle`: the p = 1 closed form above 12 nodes,
    the statevector up to its size limit, exact light cones beyond it (refused here, in
    one line, when a cone is too large).
    """
    from .oracles import STATEVECTOR_MAX_NODES

    n, m = pr.n, pr.m
    if p == 1 and n > 12:
        return "p = 1 closed form", 0.0, SV_OVERHEAD_S, SV_OVERHEAD_S
    if n <= STATEVECTOR_MAX_NODES:
        amps = SV_SECONDS_PER_AMP_GATE * _exp2(n) * p * (n + m)
        return ("statevector", 16.0 * _exp2(n) * (SV_PEAK_BASE + SV_PEAK_PER_LAYER * p),
                SV_OVERHEAD_S + amps, SV_OVERHEAD_S + amps * SV_GRAD_FACTOR)
    from .oracles.light_cone import MAX_CONE_QUBITS, cone_sizes

    k = int(cone_sizes(pr, p).max())
    if k > MAX_CONE_QUBITS:
        raise InputError(
            f"--p {p}: graph {pr.id} (n={n}) has a {k}-qubit light cone, above the {MAX_CONE_QUBITS} an exact "
            f"ideal evaluation can hold; use --p 1 (the closed form runs any n) or sparser --graphs; "
            f"{_sampling_route(n)}"
        )
    # an upper bound: every edge's cone simulated (isomorphic cones are in fact simulated once)
    amps = SV_SECONDS_PER_AMP_GATE * m * _exp2(k) * p * 3 * k
    return "exact light cones", 16.0 * _exp2(k) * (SV_PEAK_BASE + SV_PEAK_PER_LAYER * p), SV_OVERHEAD_S + amps, \
        SV_OVERHEAD_S + amps * SV_GRAD_FACTOR


def _sampling_route(n: int, limit: float | None = None) -> str:
    """Whether sampling can run an ``n``-node graph here, said as the flags that do it, or plainly that it cannot."""
    from backends.ideal import AER_MAX_QUBITS

    limit = memory_limit() if limit is None else limit
    if n <= AER_MAX_QUBITS and 16.0 * _exp2(n) <= limit:
        return "or sample it with --backend aer --shots N"
    return f"sampling cannot help: no simulator here holds {n} qubits"


def _exact_ideal_route(pr, p: int) -> str | None:
    """The flags of an exact ideal run that holds ``pr`` (``None`` when none does at any depth <= p)."""
    from .oracles import STATEVECTOR_MAX_NODES
    from .oracles.light_cone import MAX_CONE_QUBITS, cone_sizes

    if pr.n <= STATEVECTOR_MAX_NODES or p == 1:
        return f"--backend ideal --p {p} without --shots"
    if int(cone_sizes(pr, p).max()) <= MAX_CONE_QUBITS:
        return f"--backend ideal --p {p} without --shots (exact light cones)"
    return "--backend ideal --p 1 without --shots (the closed form runs any n)"


def estimate_run(cfg, problems, target) -> Estimate:
    """A lower bound on memory and a rough time for ``cfg`` on ``target`` (see module doc)."""
    from .oracles import DEFAULT_SHOTS

    name, steps = check_optimizer(cfg.optimizer)
    kind = target.kind
    exact = cfg.shots is None and bool(target.exact) and cfg.mitigation == "none"
    sampled = not exact
    shots = cfg.shots or DEFAULT_SHOTS
    total_s, peak, calls, method = 0.0, 0.0, 0, ""
    for pr in problems:
        n, m, p = pr.n, pr.m, cfg.p
        sv_state = 16.0 * _exp2(n)
        ideal_method, ideal_peak, ideal_eval, ideal_grad = _ideal_plan(pr, p)
        # a graph native to a fake device runs on its own qubits (no SWAPs): noisy cones and MPS apply
        native = kind == "fake" and _native(pr, target.device)
        if kind == "ideal" and exact:
            method, per_eval, per_grad, mem = ideal_method, ideal_eval, ideal_grad, ideal_peak
        elif kind == "ibm":
            method = "hardware (ideal re-scoring locally)"
            per_eval = per_grad = 0.0
            mem = ideal_peak
        elif exact and native and n > target.max_exact_qubits:  # fake, device-native graph: noisy light cones
            method = "noisy light cones"
            per_grad = m * NOISY_CONE_GRAD_SECONDS_PER_EDGE.get(p, NOISY_CONE_GRAD_SECONDS_PER_EDGE[2] * 3 ** (p - 2))
            per_eval = per_grad * NOISY_CONE_EVAL_FRACTION
            mem = max(NOISY_CONE_BYTES * (SV_PEAK_BASE + SV_PEAK_PER_LAYER * p), ideal_peak)
        elif exact:  # fake: exact noisy density matrix
            method = "density matrix"
            per_eval = CALL_OVERHEAD_S + DM_SECONDS_PER_ELEMENT_LAYER * _exp2(2 * n) * p
            per_grad = per_eval * _gradient_evaluations(cfg, False, n, m)
            mem = max(16.0 * _exp2(2 * n), ideal_peak)
        elif not exact and native and n > target.max_exact_qubits:  # samples at device scale
            method = "MPS samples with readout error"
            per_eval = CALL_OVERHEAD_S + shots * MPS_SECONDS_PER_SHOT_LAYER * p
            per_grad = per_eval * _gradient_evaluations(cfg, True, n, m)
            mem = max(NOISY_CONE_BYTES * (SV_PEAK_BASE + SV_PEAK_PER_LAYER * p), ideal_peak)
        else:
            dm = kind in ("fake", "local") and shots > _exp2(n)
            method = "density matrix" if dm else "statevector trajectories" if kind in ("fake", "local") else "statevector"
            state = 16.0 * _exp2(2 * n) if dm else sv_state
            if dm:
                per_eval = CALL_OVERHEAD_S + DM_SECONDS_PER_ELEMENT_LAYER * _exp2(2 * n) * p
            elif kind in ("fake", "local"):
                per_eval = CALL_OVERHEAD_S + shots * SV_SECONDS_PER_AMP_GATE * _exp2(n) * p * (n + m)
            else:
                per_eval = SV_OVERHEAD_S + SV_SECONDS_PER_AMP_GATE * _exp2(n) * p * (n + m)
            per_grad = per_eval * _gradient_evaluations(cfg, True, n, m)
            mem = max(state, ideal_peak)
        phase_one = _phase_one_cost(cfg.init, cfg.p)
        if cfg.max_evaluations is not None:
            steps = min(steps, cfg.max_evaluations)
        if name == "cobyla":
            phase_two, step_cost = steps, per_eval
        elif name == "spsa":
            phase_two, step_cost = 2 * steps, 2 * per_eval
        else:
            phase_two, step_cost = steps, per_grad
        seconds = (phase_one + 1) * per_eval + steps * step_cost
        seconds += 2 * ideal_eval  # ideal re-scoring
        total_s += seconds
        calls += phase_one + 1 + phase_two
        peak = max(peak, mem)
    return Estimate(peak, total_s, calls, method, max(pr.n for pr in problems))


def check_memory(estimate: Estimate, cfg, limit: float | None = None) -> None:
    limit = memory_limit() if limit is None else limit
    if estimate.memory_bytes <= limit:
        return
    need, have = _bytes(estimate.memory_bytes), _bytes(limit)
    n = estimate.largest_n
    sampling = _sampling_route(n, limit)
    if "density matrix" in estimate.method and cfg.shots is None and sampling.startswith("or"):
        fix = "use --shots N to sample instead of the exact density matrix, or smaller --graphs"
    elif estimate.method == "statevector" and cfg.p > 1 or "re-scoring" in estimate.method:
        fix = "lower --p (p = 1 uses the closed form above 12 nodes) or use smaller --graphs"
    else:
        fix = (f"use smaller --graphs; noisy or sampled simulation of {n} qubits is out of reach here; "
               "the exact ideal oracle runs it: --backend ideal --p 1 without --shots")
    raise InputError(
        f"a {n}-node graph needs at least {need} for its {estimate.method} "
        f"(more than the {have} allowed here: half of the memory, or ${MEMORY_ENV}); {fix}"
    )


# ---------------------------------------------------------------------------- the target fits
def check_target_fits(target, problems, *, shots: int | None, mitigation: str = "none", flag: str = "--backend",
                      label: str | None = None, p: int | None = None) -> None:
    """Every graph fits ``target`` (one line naming ``--graphs`` and ``flag``): the one target-fits check.

    Exact ideal runs (no shots, no mitigation) never touch the target's simulator: their
    limit is the light cone (:func:`estimate_run`), so they are not checked here. With the
    depth ``p`` the refusal names the exact ideal run that holds the graph, when one does.
    """
    from backends import TargetError

    if target.kind == "ideal" and shots is None and mitigation == "none":
        return
    for pr in problems:
        try:
            target.check_fits(pr.n)
        except TargetError as exc:
            where = f" on {label}" if label else ""
            route = _exact_ideal_route(pr, p) if p is not None else None
            advice = f"; use smaller graphs or another {flag}" + (f", or run it exactly with {route}" if route else "")
            noisy = "" if target.kind == "ideal" else f" (noisy simulation of {pr.n} qubits is out of reach here)"
            raise TargetError(f"--graphs: graph {pr.id!r}{where}: {exc}{advice}{noisy}") from None


# ---------------------------------------------------------------------------- the whole run
def validate_run_config(cfg, target=None, *, limit: float | None = None, run_id: str | None = None):
    """``(cfg, problems, target, estimate)``: the normalised config, its graphs and target.

    Raises :class:`InputError` (or the target's :class:`~backends.TargetError`) with one
    line naming the flag to change. ``target`` replaces the one the spec names.
    """
    from backends import TargetError, get_target

    check_seed(cfg.seed)
    _check_int(cfg.p, "--p", 1, MAX_P)
    _check_int(cfg.shots, "--shots", 1, MAX_SHOTS, " (or leave it out for exact simulation)")
    _check_int(cfg.max_evaluations, "max_evaluations", 1, 10**9)
    _check_int(cfg.max_shots, "max_shots", 1, 10**15)
    _check_float(cfg.max_qpu_seconds, "--max-qpu-seconds", positive=True)
    _check_float(cfg.lr, "--lr", positive=True)
    _check_float(cfg.tol, "tol", positive=False)
    check_optimizer(cfg.optimizer)
    check_gradient(cfg.gradient)
    spec = resolve_target(cfg.backend, cfg.mitigation if "mitigation" in cfg.model_fields_set else None)
    if (spec.target, spec.mitigation) != (cfg.backend, cfg.mitigation):
        cfg = cfg.model_copy(update={"backend": spec.target, "mitigation": spec.mitigation})
    objective = check_objective(cfg.objective, cfg.mitigation, cfg.gradient)
    if objective != cfg.objective:
        cfg = cfg.model_copy(update={"objective": objective})
    init = check_init(cfg.init, cfg.p)
    if init != cfg.init:
        cfg = cfg.model_copy(update={"init": init})
    problems = load_checked_graphs(cfg.graphs)
    if target is None:
        try:
            target = get_target(cfg.backend, **cfg.options)  # ibm: checks credentials here
        except TargetError as exc:
            raise TargetError(f"--backend {cfg.backend}: {exc}") from None
        except TypeError as exc:
            raise InputError(f"options for --backend {cfg.backend}: {exc}") from None
    check_target_fits(target, problems, shots=cfg.shots, mitigation=cfg.mitigation, p=cfg.p)
    problems = place_graphs(problems, target, cfg.graphs, cfg.shots)
    if cfg.out is not None:  # after the inputs: a wrong flag is named before the folder
        check_out(cfg.out, run_id)
    estimate = estimate_run(cfg, problems, target)
    check_memory(estimate, cfg, limit)
    return cfg, problems, target, estimate


#: Target kinds whose runs print their QPU usage estimate before anything is sent.
USAGE_KINDS = ("ibm", "local")


def with_usage(estimate: Estimate, cfg, problems, target) -> Estimate:
    """``estimate`` with the run's QPU usage (:func:`hybrid.usage_plan.plan_usage`) on ``ibm:``/``local:``."""
    from dataclasses import replace

    from .usage_plan import plan_usage, prepare

    if target.kind not in USAGE_KINDS:
        return estimate
    oracles = prepare(problems, target, p=cfg.p, shots=cfg.shots, mitigation=cfg.mitigation,
                      gradient=cfg.gradient, init=cfg.init, objective=cfg.objective)
    plan = plan_usage(problems, oracles, p=cfg.p, init=cfg.init, optimizer=cfg.optimizer,
                      target_spec=cfg.backend, max_qpu_seconds=cfg.max_qpu_seconds)
    return replace(estimate, qpu_seconds=plan.quantum_seconds, qpu_jobs=plan.jobs)


def check_objective(objective: str, mitigation: str = "none", gradient: str | None = None) -> str:
    """``--objective`` parsed and normalised (``expectation`` or ``cvar:ALPHA``), checked against the run."""
    from .oracles.objective import parse_objective
    from .problems import ProblemError

    try:
        obj = parse_objective(objective)
    except ProblemError as exc:
        raise InputError(str(exc)) from None
    if obj.cvar and mitigation not in ("none", "", None):
        raise InputError(f"--objective {obj.spec()} with --mitigation {mitigation}: mitigation corrects expectation "
                         "values, not distributions; drop --mitigation or use --objective expectation")
    if obj.cvar and gradient == "param_shift":
        raise InputError(f"--objective {obj.spec()} with --gradient param_shift: the shift rule holds for "
                         "expectations only; use --gradient fd (the default with CVaR)")
    return obj.spec()


def check_run_id(run_id: str) -> str:
    """``run_id`` when the output policy allows it (:func:`hybrid.outputs.check_run_id`), else :class:`InputError`."""
    from .outputs import OutputError, check_run_id as allowed

    try:
        return allowed(run_id)
    except OutputError as exc:
        raise InputError(str(exc)) from None


def run_folder(out: str | None, run_id: str, ledger_path) -> str:
    """The run's folder: ``out``, or ``results/<run_id>`` when None, empty or already this run's
    in this ledger (:func:`hybrid.outputs.check_folder`), else :class:`InputError` naming the flag."""
    from .outputs import OutputError, check_folder, default_folder

    folder = out if out is not None else str(default_folder(run_id))
    try:
        check_folder(folder, run_id, ledger_path, flag="--out" if out else "--run-id (results/<run_id>)")
    except OutputError as exc:
        raise InputError(str(exc)) from None
    return folder


def check_out(out: str, run_id: str | None = None, ledger=None) -> None:
    """``--out`` must be a folder that is empty or already this run's (:func:`hybrid.outputs.check_folder`)."""
    from .outputs import OutputError, check_folder

    try:
        check_folder(out, run_id or "", ledger, flag="--out")
    except OutputError as exc:
        raise InputError(str(exc)) from None


def as_file_keys(message: str, path: str | Path, keys) -> str:
    """``message`` with each ``--flag`` of ``keys`` named as the key of the file it came from (``submit SPEC``)."""
    import re

    names = {k.replace("_", "-"): k for k in keys}
    return re.sub(r"--([a-z][a-z-]*)\b", lambda m: f"{path}: {names[m.group(1)]}" if m.group(1) in names else m.group(0),
                  message)


def confirm(estimate: Estimate, *, yes: bool, ask=None, interactive: bool | None = None, announce=None) -> None:
    """Accept a long run only with ``--yes`` or an interactive yes; never waits on a non-terminal stdin.

    A long run accepted by ``--yes`` says its estimate through ``announce`` (when given); the
    question or the refusal carries it otherwise.
    """
    import sys

    if estimate.long and yes and announce is not None:
        announce(estimate.line())
    if not estimate.long or yes:
        return
    interactive = sys.stdin is not None and sys.stdin.isatty() if interactive is None else interactive
    if not interactive or ask is None:
        raise InputError(f"{estimate.line()}; pass --yes to run it anyway (stdin is not a terminal: no prompt)")
    if not ask(f"{estimate.line()}. Run it? [y/N] "):
        raise InputError(f"{estimate.line()}; declined (pass --yes to skip the question)")
