"""The one oracle constructor, :func:`make_oracle`.

It lives above :mod:`hybrid.oracles` and :mod:`hybrid.mitigation` because it composes
them: the fastest exact ideal oracle (:func:`hybrid.oracles.ideal_oracle`), the noisy exact
and sampled oracles, or a :class:`~hybrid.mitigation.MitigatedOracle`, with a target, shots
and a gradient rule. Neither package imports it, so there is no loop between them.
"""

from __future__ import annotations

from typing import Any

from backends import get_target
from backends.capabilities import Capability, require, supports

from .mitigation.oracle import MitigatedOracle
from .mitigation.spec import OPTIONS as MITIGATION_OPTIONS
from .mitigation.spec import parse_mitigation
from .ansatz import qaoa_circuit
from .oracles.base import DEFAULT_SHOTS
from .oracles.ideal import ideal_oracle
from .oracles.noisy_exact import NoisyExactOracle
from .oracles.objective import EXPECTATION, CVaRIdealOracle, objective_gradient, parse_objective, with_objective
from .oracles.sampled import SampledOracle
from .oracles.statevector import STATEVECTOR_MAX_NODES
from .pauli_oracle import PauliPropOracle
from .problems import MaxCutProblem, ProblemError

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


def objective_oracle(problem: MaxCutProblem, p: int, target: Any, *, objective: Any = EXPECTATION,
                     shots: int | None = None, mitigation: Any = "none", gradient: str | None = None, **options):
    """:func:`make_oracle` for ``objective``: CVaR sampled at its alpha, gradients by fd."""
    obj = parse_objective(objective)
    if obj.cvar:
        if str(mitigation) not in ("none", "") and mitigation is not None:
            raise ProblemError(f"--objective {obj.spec()} with --mitigation {mitigation}: mitigation corrects "
                               "expectation values, not distributions; use one or the other")
        if shots is not None or not _exact(target):
            options["cvar_alpha"] = obj.alpha
        gradient = objective_gradient(obj, gradient)
        if shots is None and _is_ideal(target) and problem.n <= STATEVECTOR_MAX_NODES:
            return CVaRIdealOracle(problem, p, obj.alpha)  # the statevector, also where p = 1 would take the closed form
    return with_objective(make_oracle(problem, p, target, shots=shots, mitigation=mitigation,
                                      gradient=gradient, **options), obj)


def _is_ideal(target: Any) -> bool:
    return target == "ideal" if isinstance(target, str) else target.kind == "ideal"


def _exact(target: Any) -> bool:
    if isinstance(target, str):
        from backends import get_target

        target = get_target(target)
    return bool(target.exact)
