"""The backend abstraction: one target spec, any execution engine.

``get_target("ideal" | "aer" | "fake:<device>" | "local:<device>" | "ibm:<backend>")``
returns an object following :class:`backends.base.Target`. This package is the only
place that imports ``qiskit_ibm_runtime``.
"""

from __future__ import annotations

from typing import Any

from .base import KINDS, JobFailedError, SampleResult, Target, TargetError
from .devices import fake_device_names, load_fake_backend

__all__ = [
    "KINDS",
    "JobFailedError",
    "SampleResult",
    "Target",
    "TargetError",
    "available_targets",
    "cached_target",
    "fake_device_names",
    "get_target",
    "load_fake_backend",
    "parse_spec",
]

SPEC_HELP = (
    "ideal, aer, fake:<device>, local:<device>, ibm:<backend> "
    "(devices: see `hybrid backends`, e.g. fake:torino)"
)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split ``"fake:torino"`` into ``("fake", "torino")``; validates the kind."""
    if not isinstance(spec, str) or not spec.strip():
        raise TargetError(f"target spec must be a non-empty string; valid specs: {SPEC_HELP}")
    kind, _, arg = spec.strip().partition(":")
    kind = kind.lower()
    if kind not in KINDS:
        raise TargetError(f"unknown target spec {spec!r}; valid specs: {SPEC_HELP}")
    if kind in ("ideal", "aer"):
        if arg:
            raise TargetError(f"target {kind!r} takes no device; use {kind!r}, not {spec!r}")
        return kind, None
    if not arg:
        raise TargetError(f"target {kind!r} needs a device, e.g. {kind}:torino; valid specs: {SPEC_HELP}")
    return kind, arg


def get_target(spec: str, **options: Any) -> Target:
    """Resolve a target spec. ``options`` go to the target (e.g. ``seed_transpiler``).

    The target's declared capabilities are checked (:mod:`backends.capabilities`)."""
    from .capabilities import check_capabilities

    return check_capabilities(_build_target(spec, **options))


def _build_target(spec: str, **options: Any) -> Target:
    kind, arg = parse_spec(spec)
    if kind == "ideal":
        from .ideal import IdealTarget

        return IdealTarget(**options)
    if kind == "aer":
        from .ideal import AerTarget

        return AerTarget(**options)
    if kind == "fake":
        from .fake_device import FakeDeviceTarget

        return FakeDeviceTarget(arg, **options)
    if kind == "local":
        from .local import LocalRuntimeTarget

        return LocalRuntimeTarget(arg, **options)
    from .ibm.target import IBMTarget

    return IBMTarget(arg, **options)


_CACHED: dict[str, Target] = {}


def cached_target(spec: str) -> Target:
    """One target object per spec in this process, so transpilations and noise models are reused."""
    if spec not in _CACHED:
        _CACHED[spec] = get_target(spec)
    return _CACHED[spec]


def available_targets() -> list[dict[str, Any]]:
    """Every resolvable spec with its qubit count (IBM backends only with credentials)."""
    rows: list[dict[str, Any]] = [
        {"spec": "ideal", "qubits": None, "noise": "none", "what": "exact statevector"},
        {"spec": "aer", "qubits": None, "noise": "none", "what": "Aer with shots"},
    ]
    from .devices import UNTYPICAL_DEVICES, normalise_device_name

    for name in fake_device_names():
        backend = load_fake_backend(name)
        note = " (error values not typical of the real device)" if normalise_device_name(name) in UNTYPICAL_DEVICES else ""
        for kind, what in (("fake", "noisy Aer (device noise model)"), ("local", "Runtime local mode")):
            rows.append(
                {"spec": f"{kind}:{name}", "qubits": backend.num_qubits, "noise": name, "what": what + note}
            )
    return rows
