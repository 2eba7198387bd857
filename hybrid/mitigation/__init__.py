"""Error mitigation of QAOA energies: ZNE, readout-error mitigation (REM) and dynamical decoupling.

The only package that imports mitiq (lazily: mitiq pulls in cirq). Each technique
works alone on *bound ISA circuits*, in the style of mitiq, as a circuit transform and
a result post-processor:

* :mod:`.zne`: ``transform(isa_circuits, spec, target) -> (folded, ctx)`` (ISA-preserving
  folding), ``postprocess(values, ctx) -> (values, stderr)`` (mitiq factories);
* :mod:`.rem`: ``transform(circuits, ctx, target) -> (circuits + calibration, ctx)``,
  ``calibrate(outcomes, ctx)``, ``postprocess(outcomes, ctx, values)`` (tensored inversion);
* :mod:`.dd`: ``transform(circuits, spec, target)`` (Qiskit ``PadDynamicalDecoupling``), or
  the Runtime Sampler option (``run_options``);
* :mod:`.spec`: :class:`MitigationSpec` and :func:`parse_mitigation`;
* :mod:`.oracle`: :class:`MitigatedOracle`, which composes them around one ``run_isa``
  batch (build it with :func:`hybrid.oracle_factory.make_oracle`).

mitiq's own DDD and Pauli twirling insert non-ISA gates and are not used.
"""

from backends.transpile import two_qubit_count

from .dd import dd_sequence_gates, pad_dynamical_decoupling
from .oracle import FD_STEP_MAX, FD_STEP_MIN, MitigatedOracle
from .rem import (
    REM_DENSE_MAX_BITS,
    REM_MAX_BITS,
    ReadoutMitigator,
    RemContext,
    calibration_circuits,
    confusion_from_calibration,
)
from .spec import (
    DD_METHODS,
    DD_SEQUENCES,
    DEFAULT_SCALE_FACTORS,
    FACTORIES,
    FOLD_METHODS,
    OPTIONS,
    REM_SOURCES,
    TECHNIQUES,
    MitigationError,
    MitigationSpec,
    parse_mitigation,
)
from .zne import (
    SELF_INVERSE,
    ZneContext,
    extrapolate,
    extrapolation_coefficients,
    fold_isa,
    fold_two_qubit_gates,
    fold_with_mitiq,
    noise_scale,
)

__all__ = [
    "DD_METHODS",
    "DD_SEQUENCES",
    "DEFAULT_SCALE_FACTORS",
    "FACTORIES",
    "FD_STEP_MAX",
    "FD_STEP_MIN",
    "FOLD_METHODS",
    "OPTIONS",
    "REM_DENSE_MAX_BITS",
    "REM_MAX_BITS",
    "REM_SOURCES",
    "SELF_INVERSE",
    "TECHNIQUES",
    "MitigatedOracle",
    "MitigationError",
    "MitigationSpec",
    "ReadoutMitigator",
    "RemContext",
    "ZneContext",
    "calibration_circuits",
    "confusion_from_calibration",
    "dd_sequence_gates",
    "extrapolate",
    "extrapolation_coefficients",
    "fold_isa",
    "fold_two_qubit_gates",
    "fold_with_mitiq",
    "noise_scale",
    "pad_dynamical_decoupling",
    "parse_mitigation",
    "two_qubit_count",
]
