"""Which mitigation techniques to apply, and how: :class:`MitigationSpec`, :func:`parse_mitigation`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Techniques, in the canonical order of a spec's name ("zne+rem+dd").
TECHNIQUES = ("zne", "rem", "dd")
FACTORIES = ("richardson", "linear", "exponential")
FOLD_METHODS = ("two_qubit", "all", "global")
REM_SOURCES = ("device", "calibrate")
DD_SEQUENCES = ("XX", "XY4")
DD_METHODS = ("auto", "pad", "runtime")
#: Options of :func:`parse_mitigation` (fields of :class:`MitigationSpec`).
OPTIONS = (
    "scale_factors",
    "factory",
    "fold",
    "rem_source",
    "dd_sequence",
    "dd_method",
    "calibration_shots",
)
DEFAULT_SCALE_FACTORS = (1.0, 3.0, 5.0)


class MitigationError(ValueError):
    """A mitigation spec or option that cannot be used; the message lists the valid ones."""


@dataclass(frozen=True)
class MitigationSpec:
    """Which techniques to apply, and how (see :func:`parse_mitigation`)."""

    zne: bool = False
    rem: bool = False
    dd: bool = False
    scale_factors: tuple[float, ...] = DEFAULT_SCALE_FACTORS
    factory: str = "richardson"
    fold: str = "two_qubit"
    rem_source: str = "device"
    dd_sequence: str = "XX"
    dd_method: str = "auto"
    calibration_shots: int | None = None  # None: the oracle's shots

    def __post_init__(self) -> None:
        try:
            scales = tuple(float(s) for s in self.scale_factors)
        except (TypeError, ValueError):
            raise MitigationError(
                f"scale_factors must be a sequence of numbers >= 1, got {self.scale_factors!r}"
            ) from None
        object.__setattr__(self, "scale_factors", scales)
        if len(scales) < 2 or len(set(scales)) != len(scales):
            raise MitigationError(
                f"scale_factors needs at least two distinct values, got {scales}; e.g. (1, 3, 5)"
            )
        if any(not math.isfinite(s) or s < 1 for s in scales):
            raise MitigationError(f"every scale factor must be a finite number >= 1, got {scales}")
        check_choice("factory", self.factory, FACTORIES)
        check_choice("fold", self.fold, FOLD_METHODS)
        check_choice("rem_source", self.rem_source, REM_SOURCES)
        check_choice("dd_sequence", self.dd_sequence, DD_SEQUENCES)
        check_choice("dd_method", self.dd_method, DD_METHODS)
        if self.calibration_shots is not None:
            shots = self.calibration_shots
            if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
                raise MitigationError(
                    f"calibration_shots must be a positive integer or None, got {shots!r}"
                )
            object.__setattr__(self, "calibration_shots", int(shots))

    @property
    def name(self) -> str:
        """``"none"`` or the techniques joined by ``+`` in canonical order."""
        used = [t for t in TECHNIQUES if getattr(self, t)]
        return "+".join(used) if used else "none"

    @property
    def active(self) -> bool:
        return self.zne or self.rem or self.dd

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["scale_factors"] = list(self.scale_factors)
        data["name"] = self.name
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MitigationSpec":
        data = dict(data)
        data.pop("name", None)
        fields = ("zne", "rem", "dd") + OPTIONS
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise MitigationError(
                f"unknown mitigation field(s) {', '.join(map(repr, unknown))}; valid: {', '.join(fields)}"
            )
        if "scale_factors" in data:
            data["scale_factors"] = tuple(data["scale_factors"])
        return cls(**data)


def check_choice(option: str, value: Any, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise MitigationError(f"{option} must be one of {', '.join(valid)}; got {value!r}")


def parse_mitigation(text: str | MitigationSpec, **options: Any) -> MitigationSpec:
    """``"none"``, ``"zne"``, ``"rem"``, ``"dd"`` or a ``+``-combination (``"zne+rem+dd"``).

    ``options``: ``scale_factors`` (default (1, 3, 5)), ``factory`` (richardson, linear,
    exponential), ``fold`` (two_qubit, all, global), ``rem_source`` (device, calibrate),
    ``dd_sequence`` (XX, XY4), ``dd_method`` (auto, pad, runtime), ``calibration_shots``.
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise MitigationError(
            f"unknown mitigation option(s) {', '.join(map(repr, unknown))}; valid: {', '.join(OPTIONS)}"
        )
    if isinstance(text, MitigationSpec):
        return MitigationSpec.from_dict({**text.to_dict(), **options}) if options else text
    valid = "none, " + ", ".join(TECHNIQUES) + " or a '+'-combination such as zne+rem"
    if not isinstance(text, str) or not text.strip():
        raise MitigationError(f"mitigation must be a non-empty string: {valid}; got {text!r}")
    parts = [part.strip().lower() for part in text.split("+")]
    if parts == ["none"]:
        return MitigationSpec(**options)
    chosen: set[str] = set()
    for part in parts:
        if part == "none":
            raise MitigationError(f"'none' cannot be combined with other techniques in {text!r}")
        if part not in TECHNIQUES:
            raise MitigationError(f"unknown mitigation {part!r} in {text!r}; valid: {valid}")
        if part in chosen:
            raise MitigationError(f"mitigation {part!r} is repeated in {text!r}")
        chosen.add(part)
    return MitigationSpec(**{t: True for t in chosen}, **options)

