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
from backends.capabilities import Capability, require, supports

from ..mitigation.oracle import MitigatedOracle
from ..mitigation.spec import OPTIONS as MITIGATION_OPTIONS
from ..mitigation.spec import parse_mitigation
from ..ansatz import qaoa_circuit
from ..problems import MaxCutProblem, ProblemError
from .base import DEFAULT_SHOTS
from .closed_form import P1ClosedForm
from .light_cone import LightConeOracle
from .noisy_exact import NoisyExactOracle
from .pauli_prop import PauliPropOracle
from .sampled import SampledOracle
from .statevector import STATEVECTOR_MAX_NODES, IdealOracle

#: Options ``make_oracle`` passes to the oracle it builds (besides the mitigation options).
ORACLE_OPTIONS = ("seed", "fd_step", "fd_mode", "method", "cvar_alpha", "atol", "max_terms", "zne_noise")
#: Methods ``make_oracle(..., method=NAME)`` can force; ``auto`` picks the exact one that fits.
ORACLE_METHODS = ("auto", "density_matrix", "noisy_cones", "pauli_prop", "statevector", "closed_form", "light_cone")
#: Older spellings: the noisy oracle's own names.
_METHOD_ALIASES = {"density-matrix": "density_matrix", "noisy-light-cone": "noisy_cones", "pauli-propagation": "pauli_prop"}
_NOISY_METHODS = ("auto", "density_matrix", "noisy_cones", "pauli_prop")
_IDEAL_METHODS = ("auto", "statevector", "closed_form", "light_cone")
#: Which of them each circuit oracle takes.
_TAKES = {
    "MitigatedOracle": ("seed", "fd_step"),
    "NoisyExactOracle": ("fd_step", "fd_mode", "method"),
    "PauliPropOracle": ("fd_step", "fd_mode", "atol", "max_terms", "zne_noise", "mitigation"),
    "SampledOracle": ("fd_step", "cvar_alpha"),
}


def _build(cls, *args, **options):
    extra = sorted(set(options) - set(_TAKES[cls.__name__]) - {"shots", "gradient"})
    if extra:
        raise ProblemError(
            f"{cls.__name__} does not take {', '.join(map(repr, extra))}; it takes {', '.join(_TAKES[cls.__name__])}"
        )
    return cls(*args, **options)


def resolve_method(method: str, target: Any) -> str:
    """``method`` (one of :data:`ORACLE_METHODS` or an older spelling) checked against ``target``'s kind."""
    if not isinstance(method, str):
        raise ProblemError(f"method must be one of {', '.join(ORACLE_METHODS)}, got {method!r}")
    name = _METHOD_ALIASES.get(method, method)
    if name == "light-cone":  # the noisy oracle's older name for its cones; light cones on ideal targets
        name = "light_cone" if target.kind == "ideal" else "noisy_cones"
    valid = _IDEAL_METHODS if target.kind == "ideal" else _NOISY_METHODS
    if name not in valid:
        raise ProblemError(
            f"method {method!r} does not apply to target {target.spec!r}; its methods: {', '.join(valid)}"
        )
    return name


def ideal_oracle(problem: MaxCutProblem, p: int, *, device: str | torch.device = "cpu", method: str = "auto"):
    """The fastest exact ideal oracle.

    The closed form at p = 1 (n > 12), the statevector while it fits
    (n <= :data:`STATEVECTOR_MAX_NODES`), else the light-cone oracle
    (:class:`hybrid.oracles.LightConeOracle`), which raises
    :class:`hybrid.oracles.LightConeError` when an edge's cone is too large.
    """
    if method == "closed_form":
        if p != 1:
            raise ProblemError(f"method='closed_form' is the p = 1 formula; got p={p}: use statevector or light_cone")
        return P1ClosedForm(problem, device=device)
    if method == "statevector":
        return IdealOracle(problem, p, device=device)
    if method == "light_cone":
        return LightConeOracle(problem, p, device=device)
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
    ``fake:<device>``: exact noisy density matrix, also under mitigation, and Pauli
    propagation of the twirled device noise when the density matrix does not fit); otherwise, or
    for ``aer``/``local``/``ibm``, shots are sampled (``DEFAULT_SHOTS`` when not given).
    ``mitigation`` is a spec such as ``"zne+rem"`` (:func:`hybrid.mitigation.parse_mitigation`;
    its options, e.g. ``fold="all"``, are keyword arguments here and are validated even
    for ``"none"``). ``gradient`` names the rule of :mod:`hybrid.oracles.gradients`
    (``"param_shift"``, ``"fd"`` or ``"spsa"``) of every circuit oracle, mitigated ones
    included; the exact ideal oracles differentiate by autograd. Other ``options``
    (:data:`ORACLE_OPTIONS`) go to the oracle built. ``method`` (:data:`ORACLE_METHODS`)
    forces how exact values are computed: ``density_matrix``, ``noisy_cones`` or
    ``pauli_prop`` on ``fake:<device>`` (``atol``, ``max_terms``, ``zne_noise`` set the Pauli
    propagation's truncation and ZNE noise amplification), ``statevector``,
    ``closed_form`` or ``light_cone`` on ``ideal``; the oracle's ``method`` names the one used.
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
    method = resolve_method(options.pop("method", "auto"), target)
    if _uses_pauli_prop(problem, p, target, method, shots):
        if gradient is not None:
            options["gradient"] = gradient
        return _build(PauliPropOracle, problem, p, target, mitigation=spec, **options)
    extra = sorted({"atol", "max_terms", "zne_noise"} & set(options))
    if extra:
        raise ProblemError(f"{', '.join(map(repr, extra))} apply to method='pauli_prop' only; drop them or force that method")
    if spec.active:
        if method == "noisy_cones":
            raise ProblemError("method='noisy_cones' has no mitigation; use method='pauli_prop' or 'density_matrix'")
        if shots is None and not supports(target, Capability.EXACT_ISA):
            shots = DEFAULT_SHOTS
        return _build(MitigatedOracle, problem, p, target, spec, shots=shots, gradient=gradient, **options)
    if gradient is not None:
        options["gradient"] = gradient
    if shots is None and target.exact:
        if target.kind == "ideal":
            return ideal_oracle(problem, p, method=method)
        noisy = {"auto": "auto", "density_matrix": "density-matrix", "noisy_cones": "light-cone"}[method]
        return _build(NoisyExactOracle, problem, p, target, method=noisy, **options)
    if method != "auto":
        raise ProblemError(f"method={method!r} computes exact values; drop shots or the method")
    return _build(SampledOracle, problem, p, target, shots=shots or DEFAULT_SHOTS, **options)


def _uses_pauli_prop(problem: MaxCutProblem, p: int, target: Any, method: str, shots: int | None) -> bool:
    """Forced, or ``auto`` on a target that offers it when the exact density matrix does not fit."""
    if method == "pauli_prop":
        require(target, Capability.PAULI_PROPAGATION, "method='pauli_prop'", "use a fake:<device> target")
        if shots is not None:
            raise ProblemError("method='pauli_prop' computes exact (twirled) values; drop shots")
        return True
    if method != "auto" or shots is not None or not supports(target, Capability.PAULI_PROPAGATION):
        return False
    return target.uses_light_cones(qaoa_circuit(problem, p, measure=True))
