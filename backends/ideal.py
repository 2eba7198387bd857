"""Noiseless targets: ``ideal`` (exact statevector) and ``aer`` (noiseless Aer with shots).

Also the small Aer helpers the noisy fake-device target shares with them: an LRU
cache keyed by circuit fingerprints and one Aer ``run`` per parameter batch.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from .base import (
    SampleResult,
    TargetError,
    as_circuit_list,
    as_generator,
    as_parameter_batch,
    check_shots,
    circuit_fingerprint,
    resolve_seed,
)
from .capabilities import Capability
from .circuits import (
    clbit_index_map,
    counts_from_result,
    multinomial_counts,
    split_final_measurements,
    to_clbit_order,
)
from .transpile import check_options

IDEAL_MAX_QUBITS = 26
AER_MAX_QUBITS = 30
DEFAULT_CACHE_SIZE = 256


# ----------------------------------------------------------------------------- helpers
class LRUCache:
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



def parameter_binds(
    circuit: QuantumCircuit, names: tuple[str, ...], values: np.ndarray
) -> list[dict] | None:
    """Aer ``parameter_binds`` for ``circuit`` from values ordered as ``names``."""
    if not circuit.parameters:
        return None
    column = {name: j for j, name in enumerate(names)}
    return [{p: values[:, column[p.name]].tolist() for p in circuit.parameters}]


def aer_run_options(shots: int, seed: int | np.random.Generator | None) -> dict[str, Any]:
    """Aer ``run`` options: ``shots`` and, when ``seed`` is given, ``seed_simulator``."""
    options: dict[str, Any] = {"shots": shots}
    sim_seed = resolve_seed(seed)
    if sim_seed is not None:
        options["seed_simulator"] = sim_seed
    return options


def run_batch(sim, circuit: QuantumCircuit, names, values: np.ndarray, **run_options):
    """One Aer ``run`` for the whole batch; returns (result, per-point result index)."""
    binds = parameter_binds(circuit, names, values)
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
        self._split_cache = LRUCache(cache_size)

    def check_fits(self, num_qubits: int) -> None:
        if num_qubits > self.max_qubits:
            raise TargetError(
                f"target 'ideal' simulates at most {self.max_qubits} qubits "
                f"(statevector of 2**n amplitudes), got {num_qubits} (the target option max_qubits sets the limit)"
            )

    def isa_circuit(self, circuit: QuantumCircuit) -> QuantumCircuit:
        self.check_fits(circuit.num_qubits)
        return circuit

    def _split(self, circuit: QuantumCircuit):
        key = circuit_fingerprint(circuit)
        hit = self._split_cache.get(key)
        if hit is None:
            meas = split_final_measurements(circuit)
            qubits = meas.qubits
            hit = (meas, qubits, clbit_index_map(qubits, meas.clbit_qubit, meas.num_clbits))
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
        return to_clbit_order(np.asarray(rows), index_map, meas.num_clbits)

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
        counts = multinomial_counts(probs, shots, as_generator(seed))
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
            meas = split_final_measurements(circuit)
            qubits = meas.qubits
            probs = Statevector(meas.body).probabilities(qargs=list(qubits))[None, :]
            index_map = clbit_index_map(qubits, meas.clbit_qubit, meas.num_clbits)
            probs = to_clbit_order(probs, index_map, meas.num_clbits)
            counts.append(multinomial_counts(probs, shots, rng)[0])
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
        max_bond_dimension: int | None = None,
        **options: Any,
    ):
        from qiskit_aer import AerSimulator

        check_options(
            "aer",
            options,
            ("method", "max_qubits", "max_parallel_threads", "cache_size", "seed_transpiler", "max_bond_dimension"),
        )
        self.method = method
        self.max_qubits = int(max_qubits)
        self.seed_transpiler = int(seed_transpiler)
        # matrix_product_state only: a cap on the bond dimension makes the state approximate beyond it
        self.max_bond_dimension = None if max_bond_dimension is None else int(max_bond_dimension)
        extra = {} if self.max_bond_dimension is None else {
            "matrix_product_state_max_bond_dimension": self.max_bond_dimension}
        self._sim = AerSimulator(method=method, max_parallel_threads=max_parallel_threads, **extra)
        self._cache = LRUCache(cache_size)

    def check_fits(self, num_qubits: int) -> None:
        if num_qubits > self.max_qubits:
            raise TargetError(
                f"target 'aer' simulates at most {self.max_qubits} qubits, got {num_qubits} "
                "(the target option max_qubits sets the limit)"
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
        run_options = aer_run_options(shots, seed)
        if isa.parameters:
            result, _ = run_batch(self._sim, isa, names, values, **run_options)
            counts = counts_from_result(result, values.shape[0])
        else:
            result = self._sim.run([isa] * values.shape[0], **run_options).result()
            counts = counts_from_result(result, values.shape[0])
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
        run_options = aer_run_options(shots, seed)
        result = self._sim.run(circuits, **run_options).result()
        return SampleResult(
            counts=counts_from_result(result, len(circuits)),
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
            "max_bond_dimension": self.max_bond_dimension,
            "qiskit_aer": qiskit_aer.__version__,
        }
