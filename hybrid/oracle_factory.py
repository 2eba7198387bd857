"""The one oracle constructor, :func:`make_oracle`.

It lives above :mod:`hybrid.oracles` and :mod:`hybrid.mitigation` because it composes
them: the fastest exact ideal oracle (:func:`hybrid.oracles.ideal_oracle`), the noisy exact
and sampled oracles, or a :class:`~hybrid.mitigation.MitigatedOracle`, with a target, shots
and a gradient rule. Neither package imports it, so there is no loop between them.
"""

from __future__ import annotations

from typing import Any

from backends import get_target
from backends.capabilities import Capability, supports

from .mitigation.oracle import MitigatedOracle
from .mitigation.spec import OPTIONS as MITIGATION_OPTIONS
from .mitigation.spec import parse_mitigation
from .oracles.base import DEFAULT_SHOTS
from .oracles.ideal import ideal_oracle
from .oracles.noisy_exact import NoisyExactOracle
from .oracles.sampled import SampledOracle
from .problems import MaxCutProblem, ProblemError

#: Options ``make_oracle`` passes to the oracle it builds (besides the mitigation options).
ORACLE_OPTIONS = ("seed", "fd_step", "fd_mode", "method", "cvar_alpha")
#: Which of them each circuit oracle takes.
_TAKES = {
    "MitigatedOracle": ("seed", "fd_step"),
    "NoisyExactOracle": ("fd_step", "fd_mode", "method"),
    "SampledOracle": ("fd_step", "cvar_alpha"),
}


def _build(cls, *args, **options):
    extra = sorted(set(options) - set(_TAKES[cls.__name__]) - {"shots", "gradient"})
    if extra:
        raise ProblemError(
            f"{cls.__name__} does not take {', '.join(map(repr, extra))}; it takes {', '.join(_TAKES[cls.__name__])}"
        )
    return cls(*args, **options)


def make_oracle(
    problem: MaxCutProblem,
    p: int,
    target: Any = "ideal",
    *,
    shots: int | None = None,
    mitigation: Any = "none",
    gradient: str | None = None,
    **options,
):
    """The oracle for a target spec or object: the one constructor every caller uses.

    ``shots=None`` means exact where the target allows it (``ideal``: torch
    statevector, p = 1 closed form, or light cones when the statevector does not fit;
    ``fake:<device>``: exact noisy density matrix, also under mitigation); otherwise, or
    for ``aer``/``local``/``ibm``, shots are sampled (``DEFAULT_SHOTS`` when not given).
    ``mitigation`` is a spec such as ``"zne+rem"`` (:func:`hybrid.mitigation.parse_mitigation`;
    its options, e.g. ``fold="all"``, are keyword arguments here and are validated even
    for ``"none"``). ``gradient`` names the rule of :mod:`hybrid.oracles.gradients`
    (``"param_shift"``, ``"fd"`` or ``"spsa"``) of every circuit oracle, mitigated ones
    included; the exact ideal oracles differentiate by autograd. Other ``options``
    (:data:`ORACLE_OPTIONS`) go to the oracle built.
    """
    unknown = sorted(set(options) - set(ORACLE_OPTIONS) - set(MITIGATION_OPTIONS))
    if unknown:
        raise ProblemError(
            f"unknown make_oracle option(s) {', '.join(map(repr, unknown))}; oracle options: "
            f"{', '.join(ORACLE_OPTIONS)}; mitigation options: {', '.join(MITIGATION_OPTIONS)}"
        )
    spec = parse_mitigation(mitigation, **{k: options.pop(k) for k in list(options) if k in MITIGATION_OPTIONS})
    if isinstance(target, str):
        target = get_target(target)
    if spec.active:
        if shots is None and not supports(target, Capability.EXACT_ISA):
            shots = DEFAULT_SHOTS
        return _build(MitigatedOracle, problem, p, target, spec, shots=shots, gradient=gradient, **options)
    if gradient is not None:
        options["gradient"] = gradient
    if shots is None and target.exact:
        if target.kind == "ideal":
            return ideal_oracle(problem, p)
        return _build(NoisyExactOracle, problem, p, target, **options)
    return _build(SampledOracle, problem, p, target, shots=shots or DEFAULT_SHOTS, **options)
