"""Noisy Aer from a fake IBM device (``fake:<device>``).

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

Longer than 600 lines because the target's five evaluation routes (exact density
matrix, noisy light cones, Pauli propagation, sampled, MPS at device scale) share its compiled-circuit
cache; compiling lives in :mod:`backends.compile`, the noise model in :mod:`backends.noise`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from .base import (
    SampleResult,
    TargetError,
    as_circuit_list,
    as_generator,
    as_parameter_batch,
    check_isa,
    check_shots,
    circuit_fingerprint,
    supported_instructions,
)
from .capabilities import Capability
from .circuits import (
    IGNORED_OPS,
    CompactCircuit,
    apply_confusion,
    clbit_index_map,
    compact_bound,
    counts_from_result,
    measured_qubits_by_clbit,
    multinomial_counts,
    to_clbit_order,
)
from .compile import CompiledCircuit, compile_circuit, native_layout
from .devices import fake_device_names, load_fake_backend, normalise_device_name
from .ideal import DEFAULT_CACHE_SIZE, LRUCache, aer_run_options, run_batch
from .noise import DeviceNoise
from .transpile import active_and_two_qubit, check_options
from .usage import JobUsage, UsageEstimating

# Density matrices hold 16 * 4**k bytes: 4 GiB at k = 14 active qubits.
EXACT_MAX_ACTIVE_QUBITS = 14
# Up to this many active qubits, exact probabilities + multinomial beat Aer trajectories.
AUTO_EXACT_SAMPLE_MAX_QUBITS = 12
DEFAULT_CACHE_SIZE = 256
SAMPLE_METHODS = ("auto", "exact", "shots", "mps")
# Above this many active qubits, samples are noiseless MPS shots passed through readout error.
TRAJECTORY_MAX_QUBITS = 26
MPS_SAMPLE_METHOD = "mps-noiseless+readout"
# Bond dimension cap of those MPS shots (Aer's ``matrix_product_state_max_bond_dimension``):
# unbounded, 1024 shots at p = 3 on Torino's 133-qubit graph ran for over 10 minutes; at 64, 92 s; at 16, 7 s.
MPS_MAX_BOND_DIMENSION = 16
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
    "mps_max_bond_dimension",
)




class FakeDeviceTarget(UsageEstimating):
    """Noisy Aer with the noise model of a ``qiskit_ibm_runtime`` fake device.

    ``probabilities`` is the exact noisy outcome distribution (density matrix on the
    active qubits, readout applied as confusion matrices); ``sample`` draws from it
    (or, above :data:`AUTO_EXACT_SAMPLE_MAX_QUBITS` active qubits with
    ``sample_method="auto"``, runs Aer trajectories with readout error in the model).
    """

    kind = "fake"
    noisy = True
    exact = True
    capabilities = frozenset({Capability.EXACT_PROBABILITIES, Capability.EXACT_ISA, Capability.ISA_EXECUTION, Capability.CALIBRATION, Capability.NOISY_CONES,
                              Capability.PAULI_PROPAGATION, Capability.QPU_USAGE})

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
        mps_max_bond_dimension: int | None = MPS_MAX_BOND_DIMENSION,
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
        if mps_max_bond_dimension is not None and (not isinstance(mps_max_bond_dimension, (int, np.integer))
                                                   or mps_max_bond_dimension < 1):
            raise TargetError(f"mps_max_bond_dimension must be a positive integer or None, got {mps_max_bond_dimension!r}")
        self.mps_max_bond_dimension = None if mps_max_bond_dimension is None else int(mps_max_bond_dimension)
        self._cache = LRUCache(cache_size)
        self._last: CompiledCircuit | None = None
        # Simulators with the noise model restricted to an active-qubit set (bound ISA runs).
        self._isa_simulators = LRUCache(max(8, int(cache_size) // 8))
        self._supported = None

    # ---------------------------------------------------------------- basics
    @property
    def usage_backend(self) -> Any:
        """The fake backend whose durations and ``default_rep_delay`` the usage model reads."""
        return self.backend

    @property
    def _noise(self) -> DeviceNoise:
        return DeviceNoise.get(self.device)

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
    def native_layout(self, circuit: QuantumCircuit) -> tuple[int, ...] | None:
        """The physical qubits of a circuit built for this device (see :func:`backends.compile.native_layout`)."""
        return native_layout(circuit, self.device, self.num_qubits, self.spec)

    def compiled(self, circuit: QuantumCircuit) -> CompiledCircuit:
        """The cached compilation of ``circuit``'s structure (layout search on first use)."""
        native = self.native_layout(circuit)
        key = (circuit_fingerprint(circuit), native)
        hit = self._cache.get(key)
        if hit is not None:
            self._last = hit
            return hit
        self.check_fits(circuit.num_qubits)
        comp = compile_circuit(
            circuit,
            self.backend,
            self.spec,
            native=native,
            seed_transpiler=self.seed_transpiler,
            optimization_level=self.optimization_level,
            layout_trials=self.layout_trials,
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
        comp.index_map = clbit_index_map(
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
        result, index = run_batch(comp.simulator, comp.compact, comp.parameter_names, values)
        probs = np.asarray([result.data(i)["probabilities"] for i in index], dtype=np.float64)
        probs = apply_confusion(probs, comp.confusion)
        return to_clbit_order(probs, comp.index_map, comp.num_clbits)

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
        result, index = run_batch(sim, full, comp.parameter_names, values)
        probs = np.asarray([result.data(i)["probabilities"] for i in index], dtype=np.float64)
        probs = apply_confusion(probs, comp.confusion)
        return to_clbit_order(probs, comp.index_map, comp.num_clbits)

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

    def pauli_propagation(self, circuit: QuantumCircuit, pairs):
        """The :class:`backends.pauli_prop.PauliPropagation` of ``circuit`` for clbit ``pairs`` (cached).

        Rotation form and twirled noise are prepared once per circuit structure and pair list.
        """
        from .pauli_prop import PauliPropagation, TwirledNoise

        comp = self.compiled(circuit)
        pairs = tuple((int(a), int(b)) for a, b in pairs)
        if comp._pauli is not None and comp._pauli[0] == pairs:
            return comp._pauli[1]
        by_clbit = dict(comp.clbit_physical)
        missing = sorted({c for pair in pairs for c in pair} - set(by_clbit))
        if missing:
            raise TargetError(f"clbit(s) {missing} are never measured; measure every qubit of the pairs")
        prop = PauliPropagation(
            comp.isa, TwirledNoise.get(self.device, self._noise), [(by_clbit[a], by_clbit[b]) for a, b in pairs],
            parameter_names=comp.parameter_names,
        )
        comp._pauli = (pairs, prop)
        return prop

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
            counts = multinomial_counts(probs, shots, as_generator(seed))
            method_name = "density-matrix-multinomial"
        else:
            circ, sim = self._shots_setup(comp)
            run_options = aer_run_options(shots, seed)
            if circ.parameters:
                result, _ = run_batch(sim, circ, comp.parameter_names, values, **run_options)
            else:
                result = sim.run([circ] * values.shape[0], **run_options).result()
            counts = counts_from_result(result, values.shape[0])
            job_ids = (result.job_id,)
            method_name = "aer-trajectories"
        metadata = {"target": self.spec, "method": method_name, **comp.summary(),
                    **({"mps_max_bond_dimension": self.mps_max_bond_dimension} if method == "mps" else {}),
                    "usage": [JobUsage(None, self.estimate_usage([circuit], shots, [len(values)])).to_dict()]}
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
            bond = {} if self.mps_max_bond_dimension is None else {
                "matrix_product_state_max_bond_dimension": self.mps_max_bond_dimension}
            comp._mps_simulator = AerSimulator(
                method="matrix_product_state", max_parallel_threads=self.max_parallel_threads, **bond
            )
        rng = as_generator(seed)
        run_options: dict[str, Any] = {"shots": shots, "seed_simulator": int(rng.integers(2**31))}
        result, index = run_batch(comp._mps_simulator, circ, comp.parameter_names, values, **run_options)
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

    def _run_compact_groups(self, parts: list[CompactCircuit], readout: bool, **run_options):
        """One Aer run per distinct active-qubit set; returns (per-circuit data, job ids)."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, part in enumerate(parts):
            groups.setdefault(part.active, []).append(i)
        data: list[Any] = [None] * len(parts)
        job_ids = []
        for active, indices in groups.items():
            sim = self._isa_simulator(active, readout)
            result = sim.run([parts[i].circuit for i in indices], **run_options).result()
            if not result.success:
                raise TargetError(f"Aer failed on {self.spec}: {result.status}")
            job_ids.append(str(result.job_id))
            for j, i in enumerate(indices):
                data[i] = result.data(j)
        return data, tuple(job_ids)

    def _exact_isa(self, circuits: list[QuantumCircuit]) -> tuple[list[np.ndarray], list[CompactCircuit], tuple]:
        parts = [compact_bound(c, measure=False) for c in circuits]
        worst = max(len(p.active) for p in parts)
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
            probs = apply_confusion(probs, [noise.confusion(q) for q in part.measured])
            index_map = clbit_index_map(part.measured, part.clbit_qubit, part.num_clbits)
            out.append(to_clbit_order(probs, index_map, part.num_clbits)[0])
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
            counts = tuple(multinomial_counts(p[None, :], shots, rng)[0] for p in probs)
            method_name = "density-matrix-multinomial"
        else:
            parts = [compact_bound(c, measure=True) for c in circuits]
            run_options = aer_run_options(shots, seed)
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
                "active_qubits": [list(a) for a in sorted({p.active for p in parts})],
                "two_qubit_gates": [p.two_qubit_gates for p in parts],
                "usage": [JobUsage(None, self.estimate_usage(circuits, shots, isa=True)).to_dict()],
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
