"""Local simulator targets: ideal statevector, noiseless Aer, and noisy Aer from a fake IBM device.

The noisy target (:class:`FakeDeviceTarget`) is built for speed without giving up
exactness:

* **Layout search.** The logical circuit (measurements included, so that layout
  scoring sees readout errors) is transpiled with ``layout_trials`` transpiler seeds;
  the ISA circuit touching the fewest physical qubits, then with the fewest
  two-qubit gates, then with the smallest summed calibrated error, is kept, once per
  circuit structure.
* **Compaction.** Only the active physical qubits are simulated (relabelled
  ``0..k-1``) under the device noise model restricted to them. Idle qubits start in
  ``|0>`` and receive no instruction, so no noise: the result is exactly that of the
  whole-device simulation, without the cost of the 100+-qubit noise model.
* **Readout.** Readout error is left out of the simulation and applied exactly to
  the outcome distribution with each measured qubit's 2x2 confusion matrix.

Outcome probabilities are indexed in clbit order (bit ``i`` = clbit ``i``). They are
returned as simulated: the device noise channels leave the total a few 1e-8 below 1
at 10 qubits; :meth:`FakeDeviceTarget.sample` renormalises before drawing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Delay

from .capabilities import Capability
from .base import (
    SampleResult,
    TargetError,
    as_circuit_list,
    as_generator,
    as_parameter_batch,
    check_isa,
    check_shots,
    circuit_fingerprint,
    measured_qubits_by_clbit,
    resolve_seed,
    supported_instructions,
)
from .devices import fake_device_names, load_fake_backend, normalise_device_name
from .transpile import IGNORED_OPS, active_and_two_qubit, check_options, transpile_trials

IDEAL_MAX_QUBITS = 26
AER_MAX_QUBITS = 30
# Density matrices hold 16 * 4**k bytes: 4 GiB at k = 14 active qubits.
EXACT_MAX_ACTIVE_QUBITS = 14
# Up to this many active qubits, exact probabilities + multinomial beat Aer trajectories.
AUTO_EXACT_SAMPLE_MAX_QUBITS = 12
DEFAULT_CACHE_SIZE = 256
SAMPLE_METHODS = ("auto", "exact", "shots", "mps")
# Above this many active qubits, samples are noiseless MPS shots passed through readout error.
TRAJECTORY_MAX_QUBITS = 26
MPS_SAMPLE_METHOD = "mps-noiseless+readout"
# Large devices offered when a problem does not fit the chosen one.
_SUGGESTED_DEVICES = ("torino", "fez", "kingston", "marrakesh", "sherbrooke", "brisbane")
_FAKE_OPTIONS = (
    "seed_transpiler",
    "layout_trials",
    "optimization_level",
    "max_exact_qubits",
    "max_cone_qubits",
    "sample_method",
    "max_parallel_threads",
    "cache_size",
)


# ----------------------------------------------------------------------------- helpers
class _LRU:
    """A small least-recently-used cache keyed by circuit fingerprints."""

    def __init__(self, size: int):
        if int(size) < 1:
            raise TargetError(f"cache_size must be a positive integer, got {size!r}")
        self.size = int(size)
        self._data: OrderedDict = OrderedDict()

    def get(self, key):
        hit = self._data.get(key)
        if hit is not None:
            self._data.move_to_end(key)
        return hit

    def put(self, key, value) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class _Measured:
    """A logical circuit split into its unitary part and its final measurements."""

    body: QuantumCircuit  # the circuit without measurements (clbits kept)
    clbit_qubit: tuple[tuple[int, int], ...]  # (clbit, qubit) pairs, sorted by clbit
    num_clbits: int

    @property
    def qubits(self) -> tuple[int, ...]:
        """Distinct measured qubits, in order of their first clbit."""
        seen: list[int] = []
        for _, q in self.clbit_qubit:
            if q not in seen:
                seen.append(q)
        return tuple(seen)


def _split_final_measurements(circuit: QuantumCircuit) -> _Measured:
    """Remove final measurements; raise if any measurement is not final."""
    qindex = {q: i for i, q in enumerate(circuit.qubits)}
    cindex = {c: i for i, c in enumerate(circuit.clbits)}
    body = circuit.copy_empty_like()
    measured_qubits: set[int] = set()
    clbit_qubit: dict[int, int] = {}
    for inst in circuit.data:
        name = inst.operation.name
        qubits = [qindex[q] for q in inst.qubits]
        if name == "measure":
            (q,), (c,) = qubits, [cindex[b] for b in inst.clbits]
            if c in clbit_qubit:
                raise TargetError(
                    f"clbit {c} is measured twice; measure each qubit once into its own clbit"
                )
            clbit_qubit[c] = q
            measured_qubits.add(q)
            continue
        if name in IGNORED_OPS:
            body.append(inst)
            continue
        if inst.clbits or getattr(inst.operation, "condition", None) is not None:
            raise TargetError(
                f"instruction {name!r} uses classical bits; only final measurements are supported"
            )
        touched = measured_qubits.intersection(qubits)
        if touched:
            raise TargetError(
                f"instruction {name!r} acts on qubit(s) {sorted(touched)} after their measurement; "
                "only final measurements are supported (move measurements to the end)"
            )
        body.append(inst)
    if not clbit_qubit:
        raise TargetError(
            "the circuit has no measurements; measure qubit i into clbit i "
            "(e.g. qaoa_circuit(problem, p, measure=True))"
        )
    return _Measured(body, tuple(sorted(clbit_qubit.items())), circuit.num_clbits)


def _clbit_index_map(
    measured_qubits: tuple[int, ...], clbit_qubit, num_clbits: int
) -> np.ndarray | None:
    """Map outcome index over ``measured_qubits`` (little endian) to the clbit outcome index.

    ``None`` when the map is the identity (qubit ``i`` into clbit ``i`` for all clbits).
    """
    m = len(measured_qubits)
    masks = np.zeros(m, dtype=np.int64)
    pos = {q: j for j, q in enumerate(measured_qubits)}
    for c, q in clbit_qubit:
        masks[pos[q]] |= 1 << c
    if m == num_clbits and all(masks[j] == 1 << j for j in range(m)):
        return None
    idx = np.arange(2**m, dtype=np.int64)
    out = np.zeros(2**m, dtype=np.int64)
    for j in range(m):
        out |= np.where((idx >> j) & 1, masks[j], 0)
    return out


def _to_clbit_order(probs: np.ndarray, index_map: np.ndarray | None, num_clbits: int) -> np.ndarray:
    if index_map is None:
        return probs
    out = np.zeros((probs.shape[0], 2**num_clbits), dtype=probs.dtype)
    out[:, index_map] = probs
    return out


def apply_confusion(probs: np.ndarray, matrices: list[np.ndarray | None]) -> np.ndarray:
    """Apply per-bit readout confusion to ``probs`` of shape ``(B, 2**m)``.

    ``matrices[j][i, k]`` is P(read k | prepared i) for outcome bit ``j`` (``None`` = perfect).
    """
    m = len(matrices)
    batch = probs.shape[0]
    arr = probs.reshape((batch,) + (2,) * m)
    for j, mat in enumerate(matrices):
        if mat is None:
            continue
        axis = m - j  # C order: axis 1 is the most significant bit
        arr = np.moveaxis(np.tensordot(arr, mat, axes=([axis], [0])), -1, axis)
    return np.ascontiguousarray(arr).reshape(batch, 2**m)


def _multinomial_counts(
    probs: np.ndarray, shots: int, rng: np.random.Generator
) -> tuple[dict[int, int], ...]:
    out = []
    for row in probs:
        p = np.clip(row, 0.0, None)
        p = p / p.sum()
        draws = rng.multinomial(shots, p)
        nz = np.flatnonzero(draws)
        out.append({int(k): int(draws[k]) for k in nz})
    return tuple(out)


def _counts_from_result(result, num: int) -> tuple[dict[int, int], ...]:
    return tuple(
        {int(k, 16): int(v) for k, v in result.data(i)["counts"].items()} for i in range(num)
    )


def _parameter_binds(
    circuit: QuantumCircuit, names: tuple[str, ...], values: np.ndarray
) -> list[dict] | None:
    """Aer ``parameter_binds`` for ``circuit`` from values ordered as ``names``."""
    if not circuit.parameters:
        return None
    column = {name: j for j, name in enumerate(names)}
    return [{p: values[:, column[p.name]].tolist() for p in circuit.parameters}]


def _run_batch(sim, circuit: QuantumCircuit, names, values: np.ndarray, **run_options):
    """One Aer ``run`` for the whole batch; returns (result, per-point result index)."""
    binds = _parameter_binds(circuit, names, values)
    if binds is None:
        # Nothing to bind: every point is the same experiment.
        result = sim.run(circuit, **run_options).result()
        return result, [0] * values.shape[0]
    result = sim.run(circuit, parameter_binds=binds, **run_options).result()
    return result, list(range(values.shape[0]))


# ------------------------------------------------------------------------------ ideal
class IdealTarget:
    """Exact noiseless simulation (``qiskit.quantum_info.Statevector``)."""

    spec = "ideal"
    kind = "ideal"
    num_qubits: int | None = None
    noisy = False
    exact = True
    capabilities = frozenset({Capability.EXACT_PROBABILITIES, Capability.ISA_EXECUTION})

    def __init__(
        self, max_qubits: int = IDEAL_MAX_QUBITS, cache_size: int = DEFAULT_CACHE_SIZE, **options: Any
    ):
        # ``seed_transpiler`` is accepted (and unused) so every target takes the same options.
        options.pop("seed_transpiler", None)
        check_options("ideal", options, ("max_qubits", "cache_size", "seed_transpiler"))
        self.max_qubits = int(max_qubits)
        self._split_cache = _LRU(cache_size)

    def check_fits(self, num_qubits: int) -> None:
        if num_qubits > self.max_qubits:
            raise TargetError(
                f"target 'ideal' simulates at most {self.max_qubits} qubits "
                f"(statevector of 2**n amplitudes), got {num_qubits}; use 'aer' with shots "
                "or raise max_qubits"
            )

    def isa_circuit(self, circuit: QuantumCircuit) -> QuantumCircuit:
        self.check_fits(circuit.num_qubits)
        return circuit

    def _split(self, circuit: QuantumCircuit):
        key = circuit_fingerprint(circuit)
        hit = self._split_cache.get(key)
        if hit is None:
            meas = _split_final_measurements(circuit)
            qubits = meas.qubits
            hit = (meas, qubits, _clbit_index_map(qubits, meas.clbit_qubit, meas.num_clbits))
            self._split_cache.put(key, hit)
        return hit

    def probabilities(self, circuit: QuantumCircuit, parameter_values: Any) -> np.ndarray:
        """Exact outcome probabilities ``(B, 2**num_clbits)``, bit ``i`` = clbit ``i``."""
        from qiskit.quantum_info import Statevector

        self.check_fits(circuit.num_qubits)
        values = as_parameter_batch(circuit, parameter_values)
        meas, qubits, index_map = self._split(circuit)
        body = meas.body
        names = tuple(p.name for p in circuit.parameters)
        rows = []
        for row in values:
            bound = body.assign_parameters(dict(zip(body.parameters, _reorder(body, names, row))))
            rows.append(Statevector(bound).probabilities(qargs=list(qubits)))
        return _to_clbit_order(np.asarray(rows), index_map, meas.num_clbits)

    def sample(
        self,
        circuit: QuantumCircuit,
        parameter_values: Any,
        shots: int,
        seed: int | np.random.Generator | None = None,
    ) -> SampleResult:
        shots = check_shots(shots)
        start = time.perf_counter()
        probs = self.probabilities(circuit, parameter_values)
        counts = _multinomial_counts(probs, shots, as_generator(seed))
        return SampleResult(
            counts=counts,
            shots=shots,
            wall_time=time.perf_counter() - start,
            metadata={"target": self.spec, "method": "statevector-multinomial"},
        )

    def run_isa(
        self,
        circuits,
        shots: int,
        seed: int | np.random.Generator | None = None,
    ) -> SampleResult:
        """Counts of bound circuits (this target's ISA is the logical circuit itself)."""
        from qiskit.quantum_info import Statevector

        shots = check_shots(shots)
        circuits = as_circuit_list(circuits)
        start = time.perf_counter()
        rng = as_generator(seed)
        counts = []
        for circuit in circuits:
            self.check_fits(circuit.num_qubits)
            meas = _split_final_measurements(circuit)
            qubits = meas.qubits
            probs = Statevector(meas.body).probabilities(qargs=list(qubits))[None, :]
            index_map = _clbit_index_map(qubits, meas.clbit_qubit, meas.num_clbits)
            probs = _to_clbit_order(probs, index_map, meas.num_clbits)
            counts.append(_multinomial_counts(probs, shots, rng)[0])
        return SampleResult(
            counts=tuple(counts),
            shots=shots,
            wall_time=time.perf_counter() - start,
            metadata={"target": self.spec, "method": "statevector-multinomial", "num_circuits": len(circuits)},
        )

    def describe(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "kind": self.kind,
            "noisy": self.noisy,
            "exact": self.exact,
            "simulator": "qiskit.quantum_info.Statevector",
            "max_qubits": self.max_qubits,
        }


def _reorder(circuit: QuantumCircuit, names: tuple[str, ...], row: np.ndarray) -> list[float]:
    """Values for ``circuit.parameters`` from ``row`` ordered as ``names``."""
    column = {name: j for j, name in enumerate(names)}
    return [float(row[column[p.name]]) for p in circuit.parameters]


# -------------------------------------------------------------------------------- aer
class AerTarget:
    """Noiseless ``AerSimulator`` with shots; one ``run`` per parameter batch."""

    spec = "aer"
    kind = "aer"
    num_qubits: int | None = None
    noisy = False
    exact = False
    capabilities = frozenset({Capability.ISA_EXECUTION})

    def __init__(
        self,
        method: str = "automatic",
        max_qubits: int = AER_MAX_QUBITS,
        max_parallel_threads: int = 0,
        cache_size: int = DEFAULT_CACHE_SIZE,
        seed_transpiler: int = 0,
        **options: Any,
    ):
        from qiskit_aer import AerSimulator

        check_options(
            "aer",
            options,
            ("method", "max_qubits", "max_parallel_threads", "cache_size", "seed_transpiler"),
        )
        self.method = method
        self.max_qubits = int(max_qubits)
        self.seed_transpiler = int(seed_transpiler)
        self._sim = AerSimulator(method=method, max_parallel_threads=max_parallel_threads)
        self._cache = _LRU(cache_size)

    def check_fits(self, num_qubits: int) -> None:
        if num_qubits > self.max_qubits:
            raise TargetError(
                f"target 'aer' simulates at most {self.max_qubits} qubits, got {num_qubits}; "
                "use a smaller problem or raise max_qubits"
            )

    def isa_circuit(self, circuit: QuantumCircuit) -> QuantumCircuit:
        from qiskit import transpile

        self.check_fits(circuit.num_qubits)
        key = circuit_fingerprint(circuit)
        hit = self._cache.get(key)
        if hit is None:
            hit = transpile(
                circuit,
                backend=self._sim,
                optimization_level=1,
                seed_transpiler=self.seed_transpiler,
            )
            self._cache.put(key, hit)
        return hit

    def sample(
        self,
        circuit: QuantumCircuit,
        parameter_values: Any,
        shots: int,
        seed: int | np.random.Generator | None = None,
    ) -> SampleResult:
        shots = check_shots(shots)
        values = as_parameter_batch(circuit, parameter_values)
        if not any(inst.operation.name == "measure" for inst in circuit.data):
            raise TargetError("the circuit has no measurements; measure qubit i into clbit i")
        start = time.perf_counter()
        isa = self.isa_circuit(circuit)
        names = tuple(p.name for p in circuit.parameters)
        run_options: dict[str, Any] = {"shots": shots}
        sim_seed = resolve_seed(seed)
        if sim_seed is not None:
            run_options["seed_simulator"] = sim_seed
        if isa.parameters:
            result, _ = _run_batch(self._sim, isa, names, values, **run_options)
            counts = _counts_from_result(result, values.shape[0])
        else:
            result = self._sim.run([isa] * values.shape[0], **run_options).result()
            counts = _counts_from_result(result, values.shape[0])
        return SampleResult(
            counts=counts,
            shots=shots,
            job_ids=(result.job_id,),
            wall_time=time.perf_counter() - start,
            metadata={"target": self.spec, "method": f"aer-{self.method}"},
        )

    def run_isa(
        self,
        circuits,
        shots: int,
        seed: int | np.random.Generator | None = None,
    ) -> SampleResult:
        """Counts of bound circuits in one Aer ``run`` (any gate Aer simulates is accepted)."""
        shots = check_shots(shots)
        circuits = as_circuit_list(circuits)
        for circuit in circuits:
            self.check_fits(circuit.num_qubits)
        start = time.perf_counter()
        run_options: dict[str, Any] = {"shots": shots}
        sim_seed = resolve_seed(seed)
        if sim_seed is not None:
            run_options["seed_simulator"] = sim_seed
        result = self._sim.run(circuits, **run_options).result()
        return SampleResult(
            counts=_counts_from_result(result, len(circuits)),
            shots=shots,
            job_ids=(result.job_id,),
            wall_time=time.perf_counter() - start,
            metadata={"target": self.spec, "method": f"aer-{self.method}", "num_circuits": len(circuits)},
        )

    def describe(self) -> dict[str, Any]:
        import qiskit_aer

        return {
            "spec": self.spec,
            "kind": self.kind,
            "noisy": self.noisy,
            "exact": self.exact,
            "simulator": "qiskit_aer.AerSimulator",
            "method": self.method,
            "qiskit_aer": qiskit_aer.__version__,
        }


# ------------------------------------------------------------------------ fake device
class _DeviceNoise:
    """A device's full noise model and readout confusion, built once per device."""

    _cache: dict[str, "_DeviceNoise"] = {}

    def __init__(self, name: str):
        from qiskit_aer.noise import NoiseModel

        self.backend = load_fake_backend(name)
        self.model = NoiseModel.from_backend(self.backend)
        self._reference_sim = None

    @classmethod
    def get(cls, name: str) -> "_DeviceNoise":
        hit = cls._cache.get(name)
        if hit is None:
            hit = cls._cache[name] = cls(name)
        return hit

    def confusion(self, qubit: int) -> np.ndarray | None:
        """P(read k | prepared i) as a 2x2 matrix for physical ``qubit`` (None: no error)."""
        err = self.model._local_readout_errors.get((qubit,), self.model._default_readout_error)
        if err is None:
            return None
        return np.asarray(err.probabilities, dtype=float)

    def restricted(self, active: tuple[int, ...], readout: bool = False, relabel: bool = True):
        """The noise model on ``active`` physical qubits, relabelled ``0..k-1``.

        ``relabel=False`` keeps the physical qubit numbers (for circuits as wide as the
        device); delay relaxation then stays defined for every qubit, as in the full model.
        """
        from qiskit_aer.noise import NoiseModel
        from qiskit_aer.noise.passes import RelaxationNoisePass

        full = self.model
        remap = {q: (i if relabel else q) for i, q in enumerate(active)}
        model = NoiseModel(basis_gates=full.basis_gates)
        for name, error in full._default_quantum_errors.items():
            model.add_all_qubit_quantum_error(error, name, warnings=False)
        for name, by_qubits in full._local_quantum_errors.items():
            for qubits, error in by_qubits.items():
                if all(q in remap for q in qubits):
                    model.add_quantum_error(error, name, [remap[q] for q in qubits], warnings=False)
        if readout:
            if full._default_readout_error is not None:
                model.add_all_qubit_readout_error(full._default_readout_error, warnings=False)
            for qubits, error in full._local_readout_errors.items():
                if all(q in remap for q in qubits):
                    model.add_readout_error(error, [remap[q] for q in qubits], warnings=False)
        idx = list(active)
        for npass in full._custom_noise_passes:
            if isinstance(npass, RelaxationNoisePass) and not relabel:
                model._custom_noise_passes.append(npass)
            elif isinstance(npass, RelaxationNoisePass):
                # Delay-duration relaxation, restricted to the active qubits.
                model._custom_noise_passes.append(
                    RelaxationNoisePass(
                        t1s=[float(x) for x in npass._t1s[idx]],
                        t2s=[float(x) for x in npass._t2s[idx]],
                        dt=npass._dt,
                        op_types=Delay,
                        excited_state_populations=[float(x) for x in npass._p1s[idx]],
                    )
                )
            else:
                raise TargetError(
                    f"cannot restrict noise pass {type(npass).__name__} of this device to its "
                    "active qubits"
                )
        return model

    def reference_simulator(self):
        if self._reference_sim is None:
            from qiskit_aer import AerSimulator

            self._reference_sim = AerSimulator.from_backend(self.backend, method="density_matrix")
        return self._reference_sim


@dataclass
class CompiledCircuit:
    """One circuit structure compiled for a fake device (cached by the target)."""

    isa: QuantumCircuit  # ISA circuit on the device, measurements included
    active: tuple[int, ...]  # physical qubits touched by any instruction, sorted
    two_qubit_gates: int
    initial_layout: tuple[int, ...]  # logical qubit -> physical qubit before routing
    final_layout: tuple[int, ...]  # logical qubit -> physical qubit at the end
    clbit_physical: tuple[tuple[int, int], ...]  # (clbit, physical qubit) measured into it
    measured_physical: tuple[int, ...]  # distinct measured physical qubits (outcome bit order)
    parameter_names: tuple[str, ...]  # the logical circuit's parameter order
    num_clbits: int
    seed: int  # transpiler seed of the kept trial
    # (seed, active qubits, two-qubit gates, error score) per trial; None: unusable trial
    trials: tuple[tuple, ...]
    compact: QuantumCircuit = None  # active qubits only, ends in save_probabilities
    index_map: np.ndarray | None = None
    confusion: list = field(default_factory=list)
    simulator: Any = None
    _shots_circuit: QuantumCircuit | None = None
    _shots_simulator: Any = None
    _cones: Any = None  # (key, NoisyCones) of the last pair list asked for
    _mps_simulator: Any = None

    @property
    def num_active(self) -> int:
        return len(self.active)

    def summary(self) -> dict[str, Any]:
        return {
            "active_qubits": list(self.active),
            "num_active_qubits": self.num_active,
            "two_qubit_gates": self.two_qubit_gates,
            "initial_layout": list(self.initial_layout),
            "final_layout": list(self.final_layout),
            "measured_physical_qubits": {str(c): q for c, q in self.clbit_physical},
            "seed_transpiler": self.seed,
            "layout_trials": [list(t) for t in self.trials],
        }


class FakeDeviceTarget:
    """Noisy Aer with the noise model of a ``qiskit_ibm_runtime`` fake device.

    ``probabilities`` is the exact noisy outcome distribution (density matrix on the
    active qubits, readout applied as confusion matrices); ``sample`` draws from it
    (or, above :data:`AUTO_EXACT_SAMPLE_MAX_QUBITS` active qubits with
    ``sample_method="auto"``, runs Aer trajectories with readout error in the model).
    """

    kind = "fake"
    noisy = True
    exact = True
    capabilities = frozenset({Capability.EXACT_PROBABILITIES, Capability.EXACT_ISA, Capability.ISA_EXECUTION, Capability.CALIBRATION, Capability.NOISY_CONES})

    def __init__(
        self,
        device: str,
        seed_transpiler: int = 0,
        layout_trials: int = 8,
        optimization_level: int = 3,
        max_exact_qubits: int = EXACT_MAX_ACTIVE_QUBITS,
        max_cone_qubits: int | None = None,
        sample_method: str = "auto",
        max_parallel_threads: int = 0,
        cache_size: int = DEFAULT_CACHE_SIZE,
        **options: Any,
    ):
        check_options(f"fake:{device}", options, _FAKE_OPTIONS)
        self.backend = load_fake_backend(device)  # raises TargetError listing valid names
        self.device = normalise_device_name(device)
        self.spec = f"fake:{self.device}"
        self.num_qubits = int(self.backend.num_qubits)
        if not isinstance(layout_trials, (int, np.integer)) or layout_trials < 1:
            raise TargetError(f"layout_trials must be a positive integer, got {layout_trials!r}")
        if optimization_level not in (0, 1, 2, 3):
            raise TargetError(
                f"optimization_level must be 0, 1, 2 or 3, got {optimization_level!r}"
            )
        if sample_method not in SAMPLE_METHODS:
            raise TargetError(
                f"sample_method must be one of {', '.join(SAMPLE_METHODS)}, got {sample_method!r}"
            )
        self.seed_transpiler = int(seed_transpiler)
        self.layout_trials = int(layout_trials)
        self.optimization_level = int(optimization_level)
        self.max_exact_qubits = int(max_exact_qubits)
        from .noisy_cones import NOISY_CONE_MAX_QUBITS

        self.max_cone_qubits = int(max_cone_qubits) if max_cone_qubits is not None else NOISY_CONE_MAX_QUBITS
        self.sample_method = sample_method
        self.max_parallel_threads = int(max_parallel_threads)
        self._cache = _LRU(cache_size)
        self._last: CompiledCircuit | None = None
        # Simulators with the noise model restricted to an active-qubit set (bound ISA runs).
        self._isa_simulators = _LRU(max(8, int(cache_size) // 8))
        self._supported = None

    # ---------------------------------------------------------------- basics
    @property
    def _noise(self) -> _DeviceNoise:
        return _DeviceNoise.get(self.device)

    def check_fits(self, num_qubits: int) -> None:
        if num_qubits <= self.num_qubits:
            return
        bigger = []
        names = set(fake_device_names())
        for name in _SUGGESTED_DEVICES:
            if name in names:
                size = load_fake_backend(name).num_qubits
                if size >= num_qubits:
                    bigger.append(f"fake:{name} ({size} qubits)")
        hint = (
            f"use a larger device, e.g. {', '.join(bigger)}"
            if bigger
            else "no fake device is that large; use a smaller problem"
        )
        raise TargetError(
            f"a {num_qubits}-qubit problem does not fit {self.spec}, which has "
            f"{self.num_qubits} qubits; {hint}"
        )

    # ---------------------------------------------------------------- compile
    def _error_score(self, isa: QuantumCircuit) -> float:
        """Estimated total error, sum of -log(1 - e) over the ISA instructions (readout included)."""
        target = self.backend.target
        score = 0.0
        for inst in isa.data:
            name = inst.operation.name
            if name in IGNORED_OPS or name not in target.operation_names:
                continue
            props = target[name].get(tuple(isa.find_bit(q).index for q in inst.qubits))
            error = getattr(props, "error", None)
            if error:
                score -= float(np.log1p(-min(float(error), 1.0 - 1e-12)))
        return score

    def _transpile_best(self, circuit: QuantumCircuit):
        """Best of ``layout_trials`` transpilations of ``circuit`` (measurements included).

        Measurements stay in the circuit while transpiling so that layout scoring sees
        readout errors. A trial whose routing acts on a qubit after its measurement is
        not usable (measurements must be final) and is skipped.
        """
        def score(isa: QuantumCircuit):
            try:
                _split_final_measurements(isa)
            except TargetError:
                return None
            active, two_q = active_and_two_qubit(isa)
            return (len(active), two_q, round(self._error_score(isa), 9))

        isa, seed, record = transpile_trials(
            circuit,
            self.backend,
            seed_transpiler=self.seed_transpiler,
            optimization_level=self.optimization_level,
            trials=self.layout_trials,
            score=score,
        )
        trials = tuple((s, None, None, None) if v is None else (s, *v) for s, v in record)
        if isa is None:
            raise TargetError(
                f"no transpilation of this circuit for {self.spec} kept its measurements final "
                f"in {self.layout_trials} layout trials; raise layout_trials or change seed_transpiler"
            )
        active, two_q = active_and_two_qubit(isa)
        best = (None, seed, isa, active, two_q, _split_final_measurements(isa).clbit_qubit)
        return best, trials

    def native_layout(self, circuit: QuantumCircuit) -> tuple[int, ...] | None:
        """The physical qubits of a circuit built for this device (``metadata``), else None.

        :func:`hybrid.ansatz.qaoa_circuit` records them for graphs from
        ``heavy_hex_graph``; every two-qubit gate then acts on a coupler, so the
        identity layout onto them needs no SWAPs.
        """
        meta = circuit.metadata or {}
        qubits = meta.get("physical_qubits")
        if qubits is None or meta.get("device") != self.device:
            return None
        qubits = tuple(int(q) for q in qubits)
        if len(qubits) != circuit.num_qubits or len(set(qubits)) != len(qubits) or not all(
            0 <= q < self.num_qubits for q in qubits
        ):
            raise TargetError(
                f"circuit metadata lists physical_qubits {list(qubits)[:8]}... that are not "
                f"{circuit.num_qubits} distinct qubits of {self.spec}; drop the metadata to search a layout"
            )
        return qubits

    def _transpile_native(self, circuit: QuantumCircuit, qubits: tuple[int, ...]):
        """One transpilation with the identity layout onto ``qubits``; refuses SWAPs."""
        from qiskit.transpiler import generate_preset_pass_manager

        pm = generate_preset_pass_manager(
            self.optimization_level, target=self.backend.target, initial_layout=list(qubits),
            seed_transpiler=self.seed_transpiler,
        )
        isa = pm.run(circuit)
        layout = isa.layout
        final = tuple(layout.final_index_layout(filter_ancillas=True)[: circuit.num_qubits]) if layout else qubits
        if final != qubits:
            raise TargetError(
                f"the circuit's two-qubit gates are not all couplers of {self.spec}: routing moved "
                "qubits away from the listed physical_qubits; drop the circuit metadata to search a layout"
            )
        active, two_q = active_and_two_qubit(isa)
        best = (None, self.seed_transpiler, isa, active, two_q, _split_final_measurements(isa).clbit_qubit)
        return best, ((self.seed_transpiler, len(active), two_q, None),)

    def compiled(self, circuit: QuantumCircuit) -> CompiledCircuit:
        """The cached compilation of ``circuit``'s structure (layout search on first use)."""
        native = self.native_layout(circuit)
        key = (circuit_fingerprint(circuit), native)
        hit = self._cache.get(key)
        if hit is not None:
            self._last = hit
            return hit
        self.check_fits(circuit.num_qubits)
        _split_final_measurements(circuit)  # logical checks: final measurements only
        if native is not None:
            (_, seed, isa, active, two_q, clbit_physical), trials = self._transpile_native(circuit, native)
        else:
            (_, seed, isa, active, two_q, clbit_physical), trials = self._transpile_best(circuit)
        layout = isa.layout
        n = circuit.num_qubits
        if layout is not None:
            initial = tuple(layout.initial_index_layout(filter_ancillas=True)[:n])
            final = tuple(layout.final_index_layout(filter_ancillas=True)[:n])
        else:
            initial = final = tuple(range(n))
        measured = []
        for _, phys in clbit_physical:
            if phys not in measured:
                measured.append(phys)
        comp = CompiledCircuit(
            isa=isa,
            active=active,
            two_qubit_gates=two_q,
            initial_layout=initial,
            final_layout=final,
            clbit_physical=clbit_physical,
            measured_physical=tuple(measured),
            parameter_names=tuple(p.name for p in circuit.parameters),
            num_clbits=circuit.num_clbits,
            seed=seed,
            trials=trials,
        )
        self._compact(comp)
        self._cache.put(key, comp)
        self._last = comp
        return comp

    def _compact(self, comp: CompiledCircuit) -> None:
        from qiskit_aer import AerSimulator

        remap = {q: i for i, q in enumerate(comp.active)}
        isa = comp.isa
        compact = QuantumCircuit(len(comp.active), global_phase=isa.global_phase)
        for inst in isa.data:
            name = inst.operation.name
            if name in IGNORED_OPS or name == "measure":
                continue
            compact.append(inst.operation, [remap[isa.find_bit(q).index] for q in inst.qubits])
        compact.save_probabilities([remap[q] for q in comp.measured_physical])
        noise = self._noise
        comp.compact = compact
        comp.confusion = [noise.confusion(q) for q in comp.measured_physical]
        if comp.num_active > self.max_exact_qubits:
            return  # no whole-circuit density matrix: light cones or trajectories only
        comp.index_map = _clbit_index_map(
            comp.measured_physical, comp.clbit_physical, comp.num_clbits
        )
        comp.simulator = AerSimulator(
            method="density_matrix",
            noise_model=noise.restricted(comp.active),
            max_parallel_threads=self.max_parallel_threads,
        )

    def isa_circuit(self, circuit: QuantumCircuit) -> QuantumCircuit:
        """The best-layout ISA circuit (measurements included) for ``circuit``.

        Cached per circuit structure: the same object is returned again; do not mutate it.
        """
        return self.compiled(circuit).isa

    def layout_info(self, circuit: QuantumCircuit) -> dict[str, Any]:
        """Active qubits, two-qubit gate count, layouts and trial scores for ``circuit``."""
        return self.compiled(circuit).summary()

    # ---------------------------------------------------------------- run
    def probabilities(self, circuit: QuantumCircuit, parameter_values: Any) -> np.ndarray:
        """Exact noisy outcome probabilities ``(B, 2**num_clbits)``, bit ``i`` = clbit ``i``."""
        values = as_parameter_batch(circuit, parameter_values)
        comp = self.compiled(circuit)
        if comp.num_active > self.max_exact_qubits:
            raise TargetError(
                f"exact noisy simulation of {comp.num_active} active qubits on {self.spec} needs "
                f"{16 * 4**comp.num_active / 2**30:.1f} GiB; the limit is max_exact_qubits="
                f"{self.max_exact_qubits}: use sample(...) or raise max_exact_qubits"
            )
        result, index = _run_batch(comp.simulator, comp.compact, comp.parameter_names, values)
        probs = np.asarray([result.data(i)["probabilities"] for i in index], dtype=np.float64)
        probs = apply_confusion(probs, comp.confusion)
        return _to_clbit_order(probs, comp.index_map, comp.num_clbits)

    def reference_probabilities_full(
        self, circuit: QuantumCircuit, parameter_values: Any
    ) -> np.ndarray:
        """Slow reference for :meth:`probabilities`: the whole-device noisy simulator.

        ``AerSimulator.from_backend(backend, method="density_matrix")`` on the full ISA
        circuit, measurements replaced by ``save_probabilities``, then the same readout.
        """
        values = as_parameter_batch(circuit, parameter_values)
        comp = self.compiled(circuit)
        full = comp.isa.copy_empty_like()
        for inst in comp.isa.data:
            if inst.operation.name != "measure":
                full.append(inst)
        full.save_probabilities(list(comp.measured_physical))
        sim = self._noise.reference_simulator()
        result, index = _run_batch(sim, full, comp.parameter_names, values)
        probs = np.asarray([result.data(i)["probabilities"] for i in index], dtype=np.float64)
        probs = apply_confusion(probs, comp.confusion)
        return _to_clbit_order(probs, comp.index_map, comp.num_clbits)

    # ---------------------------------------------------------------- noisy light cones
    def uses_light_cones(self, circuit: QuantumCircuit) -> bool:
        """Whether exact energies of ``circuit`` need noisy light cones (too many active qubits)."""
        return self.compiled(circuit).num_active > self.max_exact_qubits

    def noisy_cones(self, circuit: QuantumCircuit, pairs, fallback=None):
        """The :class:`backends.noisy_cones.NoisyCones` of ``circuit`` for clbit ``pairs`` (cached).

        ``fallback[k]``: logical qubits of pair ``k``'s logical light cone, used when its
        causal cone on the device is too large for an exact density matrix.
        """
        from .noisy_cones import NoisyCones

        comp = self.compiled(circuit)
        pairs = tuple((int(a), int(b)) for a, b in pairs)
        key = ("cones", pairs)
        cached = comp._cones
        if cached is not None and cached[0] == key:
            return cached[1]
        by_clbit = dict(comp.clbit_physical)
        missing = sorted({c for pair in pairs for c in pair} - set(by_clbit))
        if missing:
            raise TargetError(f"clbit(s) {missing} are never measured; measure every qubit of the pairs")
        logical_to_physical = comp.final_layout
        physical_pairs = [(by_clbit[a], by_clbit[b]) for a, b in pairs]
        regions = None
        if fallback is not None:
            regions = [[logical_to_physical[q] for q in region] for region in fallback]
        cones = NoisyCones(
            comp.isa, self._noise, physical_pairs, parameter_names=comp.parameter_names, fallback=regions,
            max_exact_qubits=self.max_cone_qubits,
        )
        comp._cones = (key, cones)
        return cones

    def zz_expectations(self, circuit: QuantumCircuit, parameter_values: Any, pairs, fallback=None) -> np.ndarray:
        """Exact noisy ``<Z_a Z_b>`` (readout included) of clbit ``pairs``, shape ``(B, pairs)``.

        Computed from noisy light cones (:mod:`backends.noisy_cones`): any number of
        active qubits, as long as each pair's cone fits a density matrix.
        """
        values = as_parameter_batch(circuit, parameter_values)
        comp = self.compiled(circuit)
        return self.noisy_cones(circuit, pairs, fallback).zz(comp.parameter_names, values)

    def _shots_setup(self, comp: CompiledCircuit, noise: bool = True):
        if comp._shots_circuit is None or (noise and comp._shots_simulator is None):
            from qiskit_aer import AerSimulator

            remap = {q: i for i, q in enumerate(comp.active)}
            circ = QuantumCircuit(
                comp.compact.num_qubits, comp.num_clbits, global_phase=comp.compact.global_phase
            )
            for inst in comp.compact.data:
                if inst.operation.name != "save_probabilities":
                    circ.append(inst)
            for c, phys in comp.clbit_physical:
                circ.measure(remap[phys], c)
            comp._shots_circuit = circ
            if not noise:
                return circ, None
            comp._shots_simulator = AerSimulator(
                # No shot branching: with readout errors in the model it gives wrong,
                # run-to-run varying counts in qiskit-aer 0.18.
                method="statevector",
                noise_model=self._noise.restricted(comp.active, readout=True),
                max_parallel_threads=self.max_parallel_threads,
            )
        return comp._shots_circuit, comp._shots_simulator

    def sample(
        self,
        circuit: QuantumCircuit,
        parameter_values: Any,
        shots: int,
        seed: int | np.random.Generator | None = None,
    ) -> SampleResult:
        """Noisy counts for a batch: multinomial from the exact distribution or Aer trajectories."""
        shots = check_shots(shots)
        values = as_parameter_batch(circuit, parameter_values)
        start = time.perf_counter()
        comp = self.compiled(circuit)
        method = self.sample_method
        if method == "auto":
            if comp.num_active <= AUTO_EXACT_SAMPLE_MAX_QUBITS:
                method = "exact"
            else:
                method = "shots" if comp.num_active <= TRAJECTORY_MAX_QUBITS else "mps"
        job_ids: tuple[str, ...] = ()
        if method == "mps":
            counts, job_ids = self._mps_readout_counts(comp, values, shots, seed)
            method_name = MPS_SAMPLE_METHOD
        elif method == "exact":
            probs = self.probabilities(circuit, values)
            counts = _multinomial_counts(probs, shots, as_generator(seed))
            method_name = "density-matrix-multinomial"
        else:
            circ, sim = self._shots_setup(comp)
            run_options: dict[str, Any] = {"shots": shots}
            sim_seed = resolve_seed(seed)
            if sim_seed is not None:
                run_options["seed_simulator"] = sim_seed
            if circ.parameters:
                result, _ = _run_batch(sim, circ, comp.parameter_names, values, **run_options)
            else:
                result = sim.run([circ] * values.shape[0], **run_options).result()
            counts = _counts_from_result(result, values.shape[0])
            job_ids = (result.job_id,)
            method_name = "aer-trajectories"
        metadata = {"target": self.spec, "method": method_name, **comp.summary()}
        return SampleResult(
            counts=counts,
            shots=shots,
            job_ids=job_ids,
            wall_time=time.perf_counter() - start,
            metadata=metadata,
        )

    def _mps_readout_counts(self, comp: CompiledCircuit, values: np.ndarray, shots: int, seed):
        """Samples at device scale: noiseless MPS shots of the ISA circuit, then each bit through its readout error.

        An approximation: gate errors are left out of the samples (readout, 30-45 % of
        the noise effect on QAOA energies here, is kept exactly per qubit); noisy
        energies at this scale come from the noisy light cones instead.
        """
        from qiskit_aer import AerSimulator

        circ, _ = self._shots_setup(comp, noise=False)
        if comp._mps_simulator is None:
            comp._mps_simulator = AerSimulator(
                method="matrix_product_state", max_parallel_threads=self.max_parallel_threads
            )
        rng = as_generator(seed)
        run_options: dict[str, Any] = {"shots": shots, "seed_simulator": int(rng.integers(2**31))}
        result, index = _run_batch(comp._mps_simulator, circ, comp.parameter_names, values, **run_options)
        flips = []
        for c, phys in sorted(comp.clbit_physical):
            conf = self._noise.confusion(phys)
            flips.append((c, (0.0, 0.0) if conf is None else (float(conf[0, 1]), float(conf[1, 0]))))
        out = []
        for i in index:
            keys, freq = zip(*((int(k, 16), int(v)) for k, v in result.data(i)["counts"].items()))
            shot_keys = np.repeat(np.array(keys, dtype=object), freq)
            bits = np.array([[(k >> c) & 1 for c, _ in flips] for k in shot_keys], dtype=np.int8)
            p01 = np.array([f[0] for _, f in flips])
            p10 = np.array([f[1] for _, f in flips])
            flip = rng.random(bits.shape) < np.where(bits == 1, p10, p01)
            bits = bits ^ flip
            counts: dict[int, int] = {}
            for row in bits:
                key = sum(1 << c for (c, _), b in zip(flips, row) if b)
                counts[key] = counts.get(key, 0) + 1
            out.append(counts)
        return tuple(out), (str(result.job_id),)

    # ---------------------------------------------------------------- bound ISA circuits
    def readout_confusion(self, physical_qubits) -> list[np.ndarray]:
        """Readout confusion of each physical qubit from the device calibration.

        ``matrices[j][i, k]`` is P(read k | prepared i) for ``physical_qubits[j]`` (rows sum
        to 1): exactly the readout error this target simulates (the identity for a qubit
        without readout error).
        """
        noise = self._noise
        out = []
        for q in physical_qubits:
            q = int(q)
            if not 0 <= q < self.num_qubits:
                raise TargetError(
                    f"physical qubit {q} is not on {self.spec} (qubits 0..{self.num_qubits - 1})"
                )
            mat = noise.confusion(q)
            out.append(np.eye(2) if mat is None else np.array(mat, dtype=float))
        return out

    def measured_physical_qubits(self, circuit: QuantumCircuit) -> tuple[int, ...]:
        """Entry ``c``: the physical qubit read into clbit ``c``.

        A circuit as wide as the device is taken as an ISA circuit (qubit ``i`` = physical
        qubit ``i``); a narrower (logical) circuit is compiled first, as ``sample`` would.
        """
        if circuit.num_qubits == self.num_qubits:
            return measured_qubits_by_clbit(circuit)
        comp = self.compiled(circuit)
        by_clbit = dict(comp.clbit_physical)
        missing = sorted(set(range(comp.num_clbits)) - set(by_clbit))
        if missing:
            raise TargetError(f"clbit(s) {missing} are never measured; measure a qubit into every clbit")
        return tuple(by_clbit[c] for c in range(comp.num_clbits))

    def _check_isa(self, circuits: list[QuantumCircuit]) -> None:
        if self._supported is None:
            self._supported = supported_instructions(self.backend.target)
        check_isa(circuits, self.backend.target, self.spec, supported=self._supported)

    def _compact_bound(self, circuit: QuantumCircuit, measure: bool) -> dict[str, Any]:
        """Active-qubit version of one bound ISA circuit (delays and barriers dropped).

        ``measure=False``: ends in ``save_probabilities`` of the measured qubits (exact
        path); ``measure=True``: measures into the original clbits (trajectories).
        """
        meas = _split_final_measurements(circuit)
        qindex = {q: i for i, q in enumerate(circuit.qubits)}
        active: set[int] = set()
        body = []
        for inst in meas.body.data:
            if inst.operation.name in IGNORED_OPS:
                continue
            qs = [qindex[q] for q in inst.qubits]
            active.update(qs)
            body.append((inst.operation, qs))
        active.update(q for _, q in meas.clbit_qubit)
        active_t = tuple(sorted(active))
        remap = {q: i for i, q in enumerate(active_t)}
        if measure:
            compact = QuantumCircuit(len(active_t), meas.num_clbits, global_phase=circuit.global_phase)
        else:
            compact = QuantumCircuit(len(active_t), global_phase=circuit.global_phase)
        two_q = 0
        for op, qs in body:
            compact._append(op, [compact.qubits[remap[q]] for q in qs], [])
            two_q += len(qs) == 2
        measured = meas.qubits
        if measure:
            for c, q in meas.clbit_qubit:
                compact.measure(remap[q], c)
        else:
            compact.save_probabilities([remap[q] for q in measured])
        return {
            "compact": compact,
            "active": active_t,
            "measured": measured,
            "clbit_qubit": meas.clbit_qubit,
            "num_clbits": meas.num_clbits,
            "two_qubit_gates": two_q,
        }

    def _isa_simulator(self, active: tuple[int, ...], readout: bool):
        key = (active, readout)
        sim = self._isa_simulators.get(key)
        if sim is None:
            from qiskit_aer import AerSimulator

            sim = AerSimulator(
                method="statevector" if readout else "density_matrix",
                noise_model=self._noise.restricted(active, readout=readout),
                max_parallel_threads=self.max_parallel_threads,
            )
            self._isa_simulators.put(key, sim)
        return sim

    def _run_compact_groups(self, parts: list[dict], readout: bool, **run_options):
        """One Aer run per distinct active-qubit set; returns (per-circuit data, job ids)."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, part in enumerate(parts):
            groups.setdefault(part["active"], []).append(i)
        data: list[Any] = [None] * len(parts)
        job_ids = []
        for active, indices in groups.items():
            sim = self._isa_simulator(active, readout)
            result = sim.run([parts[i]["compact"] for i in indices], **run_options).result()
            if not result.success:
                raise TargetError(f"Aer failed on {self.spec}: {result.status}")
            job_ids.append(str(result.job_id))
            for j, i in enumerate(indices):
                data[i] = result.data(j)
        return data, tuple(job_ids)

    def _exact_isa(self, circuits: list[QuantumCircuit]) -> tuple[list[np.ndarray], list[dict], tuple]:
        parts = [self._compact_bound(c, measure=False) for c in circuits]
        worst = max(len(p["active"]) for p in parts)
        if worst > self.max_exact_qubits:
            raise TargetError(
                f"exact noisy simulation of {worst} active qubits on {self.spec} needs "
                f"{16 * 4**worst / 2**30:.1f} GiB; the limit is max_exact_qubits="
                f"{self.max_exact_qubits}: use run_isa(...) with sample_method='shots' or raise "
                "max_exact_qubits"
            )
        data, job_ids = self._run_compact_groups(parts, readout=False)
        noise = self._noise
        out = []
        for part, d in zip(parts, data):
            probs = np.asarray(d["probabilities"], dtype=np.float64)[None, :]
            probs = apply_confusion(probs, [noise.confusion(q) for q in part["measured"]])
            index_map = _clbit_index_map(part["measured"], part["clbit_qubit"], part["num_clbits"])
            out.append(_to_clbit_order(probs, index_map, part["num_clbits"])[0])
        return out, parts, job_ids

    def exact_isa_probabilities(self, circuits) -> np.ndarray:
        """Exact noisy outcome distributions ``(B, 2**num_clbits)`` of bound ISA ``circuits``.

        Same model as :meth:`probabilities` (density matrix of the active qubits, readout
        applied as confusion matrices; delays are not simulated, so idle qubits get no
        noise). Every circuit must have the same number of clbits.
        """
        circuits = as_circuit_list(circuits)
        widths = {c.num_clbits for c in circuits}
        if len(widths) > 1:
            raise TargetError(
                f"circuits have different numbers of clbits ({sorted(widths)}); "
                "call exact_isa_probabilities once per clbit width"
            )
        self._check_isa(circuits)
        probs, _, _ = self._exact_isa(circuits)
        return np.vstack(probs)

    def run_isa(
        self,
        circuits,
        shots: int,
        seed: int | np.random.Generator | None = None,
    ) -> SampleResult:
        """Counts of bound ISA ``circuits`` (e.g. folded ``isa_circuit(c).assign_parameters(x)``).

        Each circuit is compacted to its active qubits (cheap: no transpilation) and run
        under the device noise model restricted to them; circuits sharing an active set
        share one Aer run. As in :meth:`sample`, up to
        :data:`AUTO_EXACT_SAMPLE_MAX_QUBITS` active qubits the counts are a multinomial
        draw from the exact distribution, above that Aer trajectories with readout error.
        Delays (e.g. dynamical-decoupling padding) are not simulated: this model has no
        idle noise, so padding changes results only through the inserted gates' errors.
        """
        shots = check_shots(shots)
        circuits = as_circuit_list(circuits)
        self._check_isa(circuits)
        start = time.perf_counter()
        method = self.sample_method
        if method == "auto":
            worst = max(len(active_and_two_qubit(c)[0]) for c in circuits)
            method = "exact" if worst <= AUTO_EXACT_SAMPLE_MAX_QUBITS else "shots"
        if method == "exact":
            probs, parts, job_ids = self._exact_isa(circuits)
            rng = as_generator(seed)
            counts = tuple(_multinomial_counts(p[None, :], shots, rng)[0] for p in probs)
            method_name = "density-matrix-multinomial"
        else:
            parts = [self._compact_bound(c, measure=True) for c in circuits]
            run_options: dict[str, Any] = {"shots": shots}
            sim_seed = resolve_seed(seed)
            if sim_seed is not None:
                run_options["seed_simulator"] = sim_seed
            data, job_ids = self._run_compact_groups(parts, readout=True, **run_options)
            counts = tuple({int(k, 16): int(v) for k, v in d["counts"].items()} for d in data)
            method_name = "aer-trajectories"
        return SampleResult(
            counts=counts,
            shots=shots,
            job_ids=job_ids,
            wall_time=time.perf_counter() - start,
            metadata={
                "target": self.spec,
                "method": method_name,
                "num_circuits": len(circuits),
                "active_qubits": [list(a) for a in sorted({p["active"] for p in parts})],
                "two_qubit_gates": [p["two_qubit_gates"] for p in parts],
            },
        )


    def describe(self) -> dict[str, Any]:
        import qiskit_aer

        out: dict[str, Any] = {
            "spec": self.spec,
            "kind": self.kind,
            "device": self.device,
            "backend_name": self.backend.name,
            "device_qubits": self.num_qubits,
            "noisy": self.noisy,
            "exact": self.exact,
            "noise": (
                "NoiseModel.from_backend restricted to the active qubits; "
                "readout applied as per-qubit confusion matrices"
            ),
            "simulator": "AerSimulator(method='density_matrix')",
            "qiskit_aer": qiskit_aer.__version__,
            "seed_transpiler": self.seed_transpiler,
            "layout_trials": self.layout_trials,
            "optimization_level": self.optimization_level,
            "sample_method": self.sample_method,
            "compiled_circuits": len(self._cache),
        }
        if self._last is not None:
            out["last_circuit"] = self._last.summary()
        return out
