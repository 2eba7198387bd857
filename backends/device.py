"""What the Runtime targets (``local:`` and ``ibm:``) share: device-sized checks, the cached
seeded ISA circuit of each circuit structure, calibration readout and Sampler options."""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from .base import TargetError, check_isa, circuit_fingerprint
from .circuits import backend_readout_confusion, clbit_order, measured_qubits_by_clbit
from .transpile import transpile_best
from .usage import UsageEstimating

DEFAULT_LAYOUT_TRIALS = 4


def merge_options(base: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    """``base`` updated by ``extra``, merging nested dicts one level deep."""
    out = dict(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out



class DeviceTranspiling(UsageEstimating):
    """What both Runtime targets share: the size check, the cached seeded ISA circuit
    and the usage model of the device (:mod:`backends.usage`).

    ``_prefer`` picks the layout ranking (:func:`backends.transpile.layout_score`).
    """

    _prefer = "active"

    @property
    def usage_backend(self) -> Any:
        """The backend whose durations and ``default_rep_delay`` the usage model reads."""
        return self._backend

    def _calibration(self) -> Any:
        """The ``BackendProperties`` readout is read from (None: the transpiler target's)."""
        return None

    def readout_confusion(self, physical_qubits) -> list[np.ndarray]:
        """Per-qubit readout confusion ``m[i, k] = P(read k | prepared i)`` (see
        :func:`backends.circuits.backend_readout_confusion`)."""
        return backend_readout_confusion(self._backend, physical_qubits, self._calibration())

    def measured_physical_qubits(self, circuit: QuantumCircuit) -> tuple[int, ...]:
        """Entry ``c``: the physical qubit read into clbit ``c`` of ``circuit``.

        A circuit as wide as the device is taken as an ISA circuit; a narrower (logical)
        circuit is transpiled first (:meth:`isa_circuit`).
        """
        if circuit.num_qubits != self.num_qubits:
            circuit = self.isa_circuit(circuit)
        return measured_qubits_by_clbit(circuit)

    def _check_isa(self, circuits: list[QuantumCircuit]) -> None:
        check_isa(circuits, self._backend.target, self.spec)

    def check_fits(self, num_qubits: int) -> None:
        if num_qubits < 1:
            raise TargetError(f"num_qubits must be >= 1, got {num_qubits}")
        if num_qubits > self.num_qubits:
            raise TargetError(
                f"a {num_qubits}-qubit problem does not fit {self.spec} ({self.num_qubits} qubits); "
                "choose a larger device (see `hybrid backends`)"
            )

    def isa_circuit(self, circuit: QuantumCircuit) -> QuantumCircuit:
        key = circuit_fingerprint(circuit)
        if key not in self._isa_cache:
            self.check_fits(circuit.num_qubits)
            clbit_order(circuit)
            self._isa_cache[key] = transpile_best(
                circuit,
                self._backend,
                seed_transpiler=self.seed_transpiler,
                optimization_level=self.optimization_level,
                trials=self.layout_trials,
                prefer=self._prefer,
            )
        return self._isa_cache[key]
