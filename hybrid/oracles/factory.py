"""The one oracle constructor, :func:`make_oracle`, and the choice of the fastest exact ideal oracle.

It lives above the oracle modules and :mod:`hybrid.mitigation` because it composes them:
:func:`ideal_oracle` picks among the closed form, the statevector and the light cones
(the light-cone oracle itself builds on the statevector), and :func:`make_oracle` adds a
target, shots, mitigation and a gradient rule.
"""

from __future__ import annotations

from typing import Any

import torch

from backends import get_target
from backends.capabilities import Capability, supports

from ..mitigation.oracle import MitigatedOracle
from ..mitigation.spec import OPTIONS as MITIGATION_OPTIONS
from ..mitigation.spec import parse_mitigation
from ..problems import MaxCutProblem, ProblemError
from .base import DEFAULT_SHOTS
from .closed_form import P1ClosedForm
from .light_cone import LightConeOracle
from .noisy_exact import NoisyExactOracle
from .sampled import SampledOracle
from .statevector import STATEVECTOR_MAX_NODES, IdealOracle

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


def ideal_oracle(problem: MaxCutProblem, p: int, *, device: str | torch.device = "cpu"):
    """The fastest exact ideal oracle.

    The closed form at p = 1 (n > 12), the statevector while it fits
    (n <= :data:`STATEVECTOR_MAX_NODES`), else the light-cone oracle
    (:class:`hybrid.oracles.LightConeOracle`), which raises
    :class:`hybrid.oracles.LightConeError` when an edge's cone is too large.
    """
    if p == 1 and problem.n > 12:
        return P1ClosedForm(problem, device=device)
    if problem.n <= STATEVECTOR_MAX_NODES:
        return IdealOracle(problem, p, device=device)
    return LightConeOracle(problem, p, device=device)


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
