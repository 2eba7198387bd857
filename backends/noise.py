"""A fake device's noise model, and that model restricted to a few active qubits.

:class:`DeviceNoise` reads a ``qiskit_ibm_runtime`` fake device's calibration once per
device through Aer's public device-model functions
(``qiskit_aer.noise.device.basic_device_gate_errors`` and
``basic_device_readout_errors``, the two that ``NoiseModel.from_backend`` calls) and
keeps the errors per ``(gate, physical qubits)`` and per qubit. :meth:`DeviceNoise.restricted`
then builds the noise model of an active-qubit set with ``NoiseModel``'s public
``add_quantum_error``/``add_readout_error``: the same errors as the whole-device
``NoiseModel.from_backend``, without the cost of the 100+-qubit model in every run.

Delay relaxation (``RelaxationNoisePass``) is the one part with no public entry in
``NoiseModel`` (``from_backend`` itself appends it to a private list): that single
step is :func:`add_noise_pass`, which fails loudly, naming the Aer version, when Aer's
internals change (tests/backends/test_backends_aer.py checks it against ``from_backend``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit.circuit import Delay

from .base import TargetError
from .devices import load_fake_backend

#: Qubit temperature (mK) of the delay relaxation, as ``NoiseModel.from_backend`` defaults.
TEMPERATURE_MK = 0


def add_noise_pass(model: Any, npass: Any) -> None:
    """Append a custom noise pass (delay relaxation) to ``model``.

    ``NoiseModel`` has no public method for it; ``NoiseModel.from_backend`` appends to
    ``_custom_noise_passes``, and so does this, the only place that touches a private
    attribute of Aer's noise model.
    """
    passes = getattr(model, "_custom_noise_passes", None)
    if not isinstance(passes, list):
        import qiskit_aer

        raise TargetError(
            f"qiskit-aer {qiskit_aer.__version__} keeps no NoiseModel._custom_noise_passes list: "
            "delay relaxation cannot be added to a restricted noise model; pin qiskit-aer 0.18 "
            "or update backends.noise.add_noise_pass"
        )
    passes.append(npass)


class DeviceNoise:
    """A fake device's gate, readout and delay-relaxation errors, read once per device."""

    _cache: dict[str, "DeviceNoise"] = {}

    def __init__(self, name: str):
        from qiskit_aer.noise.device import basic_device_gate_errors, basic_device_readout_errors

        self.backend = load_fake_backend(name)
        target = self.backend.target
        self.basis_gates = list(self.backend.operation_names)
        # Exactly the calls (and defaults) of NoiseModel.from_backend for a BackendV2.
        self.gate_errors: dict[tuple[str, tuple[int, ...]], Any] = {
            (name_, tuple(qubits)): error
            for name_, qubits, error in basic_device_gate_errors(target=target, temperature=TEMPERATURE_MK)
        }
        self.readout_errors: dict[int, Any] = {
            int(qubits[0]): error for qubits, error in basic_device_readout_errors(target=target)
        }
        props = target.qubit_properties or []
        self._t1 = np.array([np.inf if p.t1 is None else p.t1 for p in props], dtype=float)
        t2 = [np.inf if p.t2 is None else p.t2 for p in props]
        self._t2 = np.minimum(np.array(t2, dtype=float), 2 * self._t1)  # from_backend truncates T2 at 2 T1
        self._model = None
        self._reference_sim = None

    @classmethod
    def get(cls, name: str) -> "DeviceNoise":
        hit = cls._cache.get(name)
        if hit is None:
            hit = cls._cache[name] = cls(name)
        return hit

    @property
    def model(self):
        """The whole-device ``NoiseModel.from_backend`` (built on first use; references only)."""
        if self._model is None:
            from qiskit_aer.noise import NoiseModel

            self._model = NoiseModel.from_backend(self.backend)
        return self._model

    def gate_error(self, name: str, qubits: tuple[int, ...]):
        """The ``QuantumError`` after gate ``name`` on physical ``qubits`` (None: noiseless)."""
        return self.gate_errors.get((name, tuple(qubits)))

    def confusion(self, qubit: int) -> np.ndarray | None:
        """P(read k | prepared i) as a 2x2 matrix for physical ``qubit`` (None: no error)."""
        err = self.readout_errors.get(int(qubit))
        if err is None:
            return None
        return np.asarray(err.probabilities, dtype=float)

    def _relaxation(self, idx: list[int] | None):
        """The delay-relaxation pass of ``NoiseModel.from_backend``, on ``idx`` qubits (None: all)."""
        from qiskit_aer.noise.passes import RelaxationNoisePass

        if not self._t1.size:
            return None
        if idx is None:
            t1s, t2s, target = self._t1, self._t2, self.backend.target
        else:
            t1s, t2s, target = self._t1[idx], self._t2[idx], None
        return RelaxationNoisePass(
            t1s=[float(x) for x in t1s],
            t2s=[float(x) for x in t2s],
            dt=self.backend.dt,
            op_types=Delay,
            excited_state_populations=[0.0] * len(t1s),  # temperature 0, as from_backend
            target=target,
        )

    def restricted(self, active: tuple[int, ...], readout: bool = False, relabel: bool = True):
        """The noise model on ``active`` physical qubits, relabelled ``0..k-1``.

        ``relabel=False`` keeps the physical qubit numbers (for circuits as wide as the
        device); delay relaxation then stays defined for every qubit, as in the full model.
        """
        from qiskit_aer.noise import NoiseModel

        remap = {q: (i if relabel else q) for i, q in enumerate(active)}
        model = NoiseModel(basis_gates=self.basis_gates)
        for (name, qubits), error in self.gate_errors.items():
            if all(q in remap for q in qubits):
                model.add_quantum_error(error, name, [remap[q] for q in qubits], warnings=False)
        if readout:
            for qubit, error in self.readout_errors.items():
                if qubit in remap:
                    model.add_readout_error(error, [remap[qubit]], warnings=False)
        npass = self._relaxation(None if not relabel else list(active))
        if npass is not None:
            add_noise_pass(model, npass)
        return model

    def reference_simulator(self):
        if self._reference_sim is None:
            from qiskit_aer import AerSimulator

            self._reference_sim = AerSimulator.from_backend(self.backend, method="density_matrix")
        return self._reference_sim
