"""Qiskit Runtime local testing mode (``local:<device>``), fast enough to rehearse a hardware run.

Every job goes through the real executor Sampler
(``qiskit_ibm_runtime.executor_sampler.Sampler``): PUBs, options, dynamical decoupling,
twirling, job ids. Only the ``mode`` differs from a QPU run: local mode accepts an
``AerSimulator`` there and runs the job in-process on a deep copy of it.

``simulator="restricted"`` (the default) passes a cached ``AerSimulator`` carrying the
device's transpiler target and the device noise model **restricted to the qubits that
can influence the measured bits** of the circuits actually submitted (after the
Sampler's own dynamical decoupling; see :func:`causal_qubits`). Physical qubit numbers
are kept and delay relaxation is kept. Gates outside that set act on qubits never
coupled to a measured one, so leaving them noiseless cannot change the counts under
Aer's gate-local noise model. The method is chosen per job (:func:`choose_method`):

* ``density_matrix`` (exact noisy state, shots drawn from it) by default;
* ``statevector`` trajectories when twirling is enabled (each randomisation is its
  own small-shot run) or when more than ``max_density_qubits`` qubits are active
  (the density matrix needs ``16 * 4**k`` bytes).

``simulator="device"`` is the reference path: the fake backend itself is the ``mode``;
local mode then builds ``AerSimulator.from_backend`` with the whole device noise model
for every job and lets Aer pick its method (noisy trajectories unless
``shots > 2**active``). It gives the same counts statistically, many times slower.

Bound circuits sharing one structure (same gates on the same qubits, only gate angles
differing, e.g. the parameter points of one ZNE scale factor) are sent as **one** PUB
of a parametrised template with one row per circuit (``batch_pubs=True``): local
mode makes one Aer run per PUB.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from typing import Any, Iterator

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Gate, ParameterVector

from .capabilities import Capability
from .base import (
    JobFailedError,
    SampleResult,
    TargetError,
    as_circuit_list,
    as_parameter_batch,
    circuit_fingerprint,
    check_shots,
    resolve_seed,
)
from .devices import load_fake_backend, normalise_device_name
from .circuits import clbit_order, counts_from_pub_result, layout_physical_qubits
from .device import DEFAULT_LAYOUT_TRIALS, DeviceTranspiling, merge_options
from .transpile import active_and_two_qubit, check_options
from .usage import JobUsage

__all__ = [
    "DEFAULT_MAX_DENSITY_QUBITS",
    "LocalRuntimeTarget",
    "METHODS",
    "SIMULATORS",
    "batch_pubs",
    "causal_qubits",
    "choose_method",
    "program_circuits",
    "restricted_simulator",
]

SIMULATORS = ("restricted", "device")
METHODS = ("auto", "density_matrix", "statevector")
# Above this many active qubits the density matrix (16 * 4**k bytes) loses to
# trajectories at 2000 shots: p = 1 QAOA on Torino, one circuit, CPU seconds measured by
# tests/bench/bench_local_runtime.py --threshold: 11 qubits 5.5 (DM) vs 9.5 (trajectories),
# 12 qubits 19.9 vs 46.2, 13 qubits 83.5 vs 41.6.
DEFAULT_MAX_DENSITY_QUBITS = 12
SIMULATOR_CACHE_SIZE = 32

_SIMULATORS: OrderedDict = OrderedDict()


# ----------------------------------------------------------------------------- helpers
def program_circuits(pubs: list, options: dict[str, Any] | None, shots: int, backend: Any):
    """The circuits the executor will run for ``pubs`` and whether twirling is on.

    Calls the Sampler's own ``prepare`` (the same conversion ``Sampler.run`` makes, with
    dynamical decoupling padded from ``backend.target``). Returns ``(circuits, twirling)``.
    """
    from qiskit_ibm_runtime.executor_sampler.prepare import prepare
    from qiskit_ibm_runtime.options_models.sampler import SamplerOptions

    try:
        program, _ = prepare(
            pubs, SamplerOptions(**dict(options or {})), shots, add_tags=True, backend=backend
        )
    except (TypeError, ValueError) as exc:
        raise TargetError(
            f"the Sampler rejected these PUBs or sampler_options: {exc}; check the option names "
            "against qiskit_ibm_runtime.options_models.SamplerOptions"
        ) from None
    twirling = bool(program.passthrough_data["post_processor"]["twirling"])
    return [item.circuit for item in program.items], twirling


def _walk(circuit: QuantumCircuit, qubits: list[int]):
    """``(name, physical qubits, is_measure)`` of every instruction, control-flow/box bodies included."""
    for inst in circuit.data:
        qs = [qubits[circuit.find_bit(q).index] for q in inst.qubits]
        blocks = getattr(inst.operation, "blocks", ())
        if blocks:
            for block in blocks:
                yield from _walk(block, qs)
            continue
        yield inst.operation.name, qs


def causal_qubits(circuits) -> tuple[int, ...]:
    """Physical qubits that can influence a measured bit of any of ``circuits`` (sorted).

    The union of the connected components (linked by multi-qubit instructions) that
    hold a measured qubit. Qubits outside it never interact with a measured qubit, so
    under a gate-local noise model their gates and noise cannot change the counts.
    """
    out: set[int] = set()
    for circuit in circuits:
        parent = list(range(circuit.num_qubits))

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        measured: set[int] = set()
        touched: set[int] = set()
        for name, qs in _walk(circuit, list(range(circuit.num_qubits))):
            if name == "barrier":
                continue
            touched.update(qs)
            if name == "measure":
                measured.update(qs)
            for q in qs[1:]:
                ra, rb = find(qs[0]), find(q)
                if ra != rb:
                    parent[rb] = ra
        roots = {find(q) for q in measured}
        out.update(q for q in touched if find(q) in roots)
    return tuple(sorted(out))


def choose_method(
    num_active: int, twirling: bool, method: str = "auto", max_density_qubits: int = DEFAULT_MAX_DENSITY_QUBITS
) -> tuple[str, str]:
    """``(Aer method, reason)`` for a job with ``num_active`` causal qubits."""
    if method not in METHODS:
        raise TargetError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method != "auto":
        return method, "requested"
    if twirling:
        return "statevector", "twirling: one small-shot run per randomisation"
    if num_active > max_density_qubits:
        return "statevector", f"{num_active} active qubits > max_density_qubits={max_density_qubits}"
    return "density_matrix", f"{num_active} active qubits <= max_density_qubits={max_density_qubits}"


def restricted_simulator(device: str, active: tuple[int, ...], method: str):
    """A cached ``AerSimulator`` for ``device`` with the noise model kept on ``active`` only.

    It carries the device's transpiler target (the Sampler pads dynamical decoupling
    from it) and the device noise model restricted to ``active`` physical qubits
    (numbers kept, readout and delay relaxation included). Cached per
    ``(device, active, method)``.
    """
    from qiskit_aer import AerSimulator

    from .noise import DeviceNoise

    key = (normalise_device_name(device), tuple(active), method)
    sim = _SIMULATORS.get(key)
    if sim is None:
        noise = DeviceNoise.get(key[0])
        model = noise.restricted(key[1], readout=True, relabel=False)
        sim = AerSimulator(method=method, noise_model=model, target=noise.backend.target)
        _SIMULATORS[key] = sim
        while len(_SIMULATORS) > SIMULATOR_CACHE_SIZE:
            _SIMULATORS.popitem(last=False)
    else:
        _SIMULATORS.move_to_end(key)
    return sim


def _template(circuits: list[QuantumCircuit]) -> tuple[QuantumCircuit, np.ndarray]:
    """One parametrised circuit and a ``(len(circuits), P)`` value array reproducing them.

    Every gate angle that differs between the circuits becomes a parameter.
    """
    first = circuits[0]
    varying = []
    for i, inst in enumerate(first.data):
        params = inst.operation.params
        if not params or not isinstance(inst.operation, Gate):
            continue
        for j, value in enumerate(params):
            if any(float(c.data[i].operation.params[j]) != float(value) for c in circuits[1:]):
                varying.append((i, j))
    theta = ParameterVector("_batch", len(varying))
    template = first.copy()
    ops: dict[int, Any] = {}
    for k, (i, j) in enumerate(varying):
        op = ops.get(i)
        if op is None:
            op = ops[i] = template.data[i].operation.to_mutable()
            op.params = list(op.params)
        op.params[j] = theta[k]
    for i, op in ops.items():
        template.data[i] = template.data[i].replace(operation=op)
    values = np.array(
        [[float(c.data[i].operation.params[j]) for i, j in varying] for c in circuits], dtype=float
    ).reshape(len(circuits), len(varying))
    # Columns follow template.parameters (the vector's order).
    return template, values


def batch_pubs(circuits: list[QuantumCircuit]) -> list[tuple[tuple, list[int]]]:
    """Group bound circuits into as few Sampler PUBs as possible.

    Returns ``[(pub, indices)]``: circuits that differ only in gate angles share one
    PUB ``(template, values)`` with one row per circuit, in ``indices`` order; a circuit
    alone in its group is sent as ``(circuit,)``.
    """
    groups: dict[tuple, list[int]] = {}
    for i, circuit in enumerate(circuits):
        groups.setdefault(circuit_fingerprint(circuit, angles=False), []).append(i)
    out = []
    for indices in groups.values():
        if len(indices) == 1:
            out.append(((circuits[indices[0]],), indices))
            continue
        template, values = _template([circuits[i] for i in indices])
        if values.shape[1] == 0:
            # Identical circuits: one PUB each keeps the per-circuit shot count.
            out.extend(((circuits[i],), [i]) for i in indices)
        else:
            out.append(((template, values), indices))
    return out


# ------------------------------------------------------------------------------ target
class LocalRuntimeTarget(DeviceTranspiling):
    """``local:<device>``: the executor Sampler in Runtime local testing mode.

    Options: ``layout_trials`` (transpiler seeds tried per circuit, default 4; the ISA
    circuit with the fewest active qubits, then two-qubit gates, is kept),
    ``sampler_options`` (a dict for ``SamplerOptions``, e.g. ``{"twirling": {...}}``),
    ``simulator`` (``"restricted"``, default, or ``"device"``: see the module doc),
    ``method`` (``"auto"``, ``"density_matrix"`` or ``"statevector"``),
    ``max_density_qubits`` (12) and ``batch_pubs`` (True).
    """

    kind = "local"
    noisy = True
    exact = False
    capabilities = frozenset({Capability.ISA_EXECUTION, Capability.CALIBRATION, Capability.SESSIONS, Capability.QPU_USAGE})
    OPTIONS = (
        "layout_trials",
        "sampler_options",
        "simulator",
        "method",
        "max_density_qubits",
        "batch_pubs",
    )
    #: Largest problem local mode simulates: beyond it even noisy trajectories of the active qubits do not fit.
    MAX_QUBITS = 26

    def check_fits(self, num_qubits: int) -> None:
        super().check_fits(num_qubits)
        if num_qubits > self.MAX_QUBITS:
            device = self.spec.split(":", 1)[1]
            raise TargetError(
                f"a {num_qubits}-qubit problem is beyond local simulation on {self.spec}: Runtime "
                f"local mode simulates every active qubit (limit {self.MAX_QUBITS}); "
                f"use fake:{device} (noisy light cones for energies, MPS samples with readout error) "
                "or run it on hardware with ibm:<backend>"
            )

    def __init__(
        self,
        device: str,
        seed_transpiler: int = 0,
        optimization_level: int = 3,
        **options: Any,
    ):
        check_options("LocalRuntimeTarget", options, self.OPTIONS)
        self._backend = load_fake_backend(device)
        self.device = normalise_device_name(device)
        self.spec = f"local:{self.device}"
        self.num_qubits = int(self._backend.num_qubits)
        self.seed_transpiler = int(seed_transpiler)
        self.optimization_level = int(optimization_level)
        self.layout_trials = int(options.get("layout_trials", DEFAULT_LAYOUT_TRIALS))
        if self.layout_trials < 1:
            raise TargetError(f"layout_trials must be >= 1, got {self.layout_trials}")
        self.sampler_options = dict(options.get("sampler_options") or {})
        self.simulator = options.get("simulator", "restricted")
        if self.simulator not in SIMULATORS:
            raise TargetError(
                f"simulator must be one of {', '.join(SIMULATORS)}, got {self.simulator!r}"
            )
        self.method = options.get("method", "auto")
        if self.method not in METHODS:
            raise TargetError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        self.max_density_qubits = int(options.get("max_density_qubits", DEFAULT_MAX_DENSITY_QUBITS))
        if self.max_density_qubits < 1:
            raise TargetError(f"max_density_qubits must be >= 1, got {self.max_density_qubits}")
        self.batch_pubs = bool(options.get("batch_pubs", True))
        self._isa_cache: dict[tuple, QuantumCircuit] = {}
        self._execution = "job"

    def __repr__(self) -> str:
        return (
            f"LocalRuntimeTarget({self.device!r}, seed_transpiler={self.seed_transpiler}, "
            f"simulator={self.simulator!r})"
        )

    @property
    def backend(self) -> Any:
        """The fake backend whose target and noise model local mode simulates."""
        return self._backend

    def _mode_for(self, pubs: list, shots: int, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The Sampler ``mode`` for this job and what was chosen (for the result metadata)."""
        if self.simulator == "device":
            return self._backend, {
                "simulator": "device",
                "method": "automatic",
                "method_reason": "Aer's choice on the whole-device noise model",
            }
        circuits, twirling = program_circuits(pubs, options, shots, self._backend)
        active = causal_qubits(circuits)
        method, reason = choose_method(len(active), twirling, self.method, self.max_density_qubits)
        sim = restricted_simulator(self.device, active, method)
        return sim, {
            "simulator": "restricted",
            "method": method,
            "method_reason": reason,
            "noise_qubits": list(active),
            "twirling": twirling,
        }

    def _run_job(self, pubs: list, shots: int, seed: int | None, options: dict[str, Any] | None = None):
        """One local Sampler job: ``(result, job id, choice metadata)``; failures carry the job id."""
        from qiskit_ibm_runtime.executor_sampler import Sampler

        options = self.sampler_options if options is None else options
        mode, info = self._mode_for(pubs, shots, options)
        sampler = Sampler(mode=mode, options=dict(options) or None)
        # Local mode forwards this to the simulator and to the twirling RNG, so a fixed
        # seed reproduces the counts exactly.
        sampler.options.simulator.seed_simulator = seed
        job = sampler.run(pubs, shots=shots)
        job_id = str(job.job_id())
        try:
            return job.result(), job_id, info
        except Exception as exc:  # noqa: BLE001 - re-raised with the job id
            raise JobFailedError(
                f"local Sampler job {job_id} on {self.spec} failed: {type(exc).__name__}: {exc}",
                job_id,
                "ERROR",
            ) from exc

    def sample(
        self,
        circuit: QuantumCircuit,
        parameter_values: np.ndarray,
        shots: int,
        seed: int | np.random.Generator | None = None,
    ) -> SampleResult:
        values = as_parameter_batch(circuit, parameter_values)
        shots = check_shots(shots)
        isa = self.isa_circuit(circuit)
        order = clbit_order(isa)
        sim_seed = resolve_seed(seed)
        start = time.perf_counter()
        result, job_id, info = self._run_job([(isa, values)], shots, sim_seed)
        counts, got_shots = counts_from_pub_result(result[0], len(values), order)
        active, two_q = active_and_two_qubit(isa)
        return SampleResult(
            counts=counts,
            shots=got_shots,
            job_ids=(job_id,),
            wall_time=time.perf_counter() - start,
            metadata=self._job_metadata(
                sim_seed,
                info,
                physical_qubits=layout_physical_qubits(isa, circuit.num_qubits),
                active_qubits=len(active),
                two_qubit_gates=two_q,
                pubs=1,
                usage=[JobUsage(job_id, self.estimate_usage([circuit], shots, [len(values)])).to_dict()],
            ),
        )

    def run_isa(
        self,
        circuits,
        shots: int,
        seed: int | np.random.Generator | None = None,
        *,
        sampler_options: dict[str, Any] | None = None,
    ) -> SampleResult:
        """Bound ISA ``circuits`` as one Sampler job; ``counts[i]`` belongs to ``circuits[i]``.

        With ``batch_pubs`` circuits that differ only in gate angles share one PUB (see
        :func:`batch_pubs`); otherwise one PUB per circuit. ``sampler_options`` are
        merged over the target's own for this job only (e.g.
        ``{"dynamical_decoupling": {"enable": True, "sequence_type": "XX"}}``).
        """
        circuits = as_circuit_list(circuits)
        shots = check_shots(shots)
        self._check_isa(circuits)
        orders = [clbit_order(c) for c in circuits]
        sim_seed = resolve_seed(seed)
        options = merge_options(self.sampler_options, sampler_options)
        start = time.perf_counter()
        if self.batch_pubs:
            grouped = batch_pubs(circuits)
        else:
            grouped = [((c,), [i]) for i, c in enumerate(circuits)]
        result, job_id, info = self._run_job([pub for pub, _ in grouped], shots, sim_seed, options)
        counts: list[dict[int, int] | None] = [None] * len(circuits)
        got_shots = shots
        for k, (_, indices) in enumerate(grouped):
            pub_counts, got_shots = counts_from_pub_result(result[k], len(indices), orders[indices[0]])
            for i, c in zip(indices, pub_counts):
                counts[i] = c
        return SampleResult(
            counts=tuple(counts),
            shots=got_shots,
            job_ids=(job_id,),
            wall_time=time.perf_counter() - start,
            metadata=self._job_metadata(
                sim_seed,
                info,
                num_circuits=len(circuits),
                pubs=len(grouped),
                two_qubit_gates=[active_and_two_qubit(c)[1] for c in circuits],
                sampler_options=options,
                usage=[JobUsage(job_id, self.estimate_usage(circuits, shots, isa=True)).to_dict()],
            ),
        )

    def _job_metadata(self, sim_seed: int, info: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """A local job's result metadata: target, execution, seed, what was run (``extra``), the simulator (``info``)."""
        return {
            "target": self.spec,
            "backend": self._backend.name,
            "mode": "local",
            "execution": self._execution,
            "seed_simulator": sim_seed,
            **extra,
            **info,
            "retries": 0,
        }

    @contextlib.contextmanager
    def _execution_mode(self, kind: str, max_time: int | str | None) -> Iterator["LocalRuntimeTarget"]:
        from qiskit_ibm_runtime import Batch, Session

        if self._execution != "job":
            raise TargetError(
                f"{self.spec} is already inside a Runtime {self._execution}; leave it before opening another"
            )
        cls = Session if kind == "session" else Batch
        # Local mode accepts the Session/Batch and runs each job in-process; jobs are
        # still sent with the simulator as their mode.
        with cls(backend=self._backend, max_time=max_time):
            self._execution = kind
            try:
                yield self
            finally:
                self._execution = "job"

    def session(self, max_time: int | str | None = None) -> contextlib.AbstractContextManager:
        """A Runtime ``Session`` on the fake backend (accepted by local mode); yields the target."""
        return self._execution_mode("session", max_time)

    def batch(self, max_time: int | str | None = None) -> contextlib.AbstractContextManager:
        """A Runtime ``Batch`` on the fake backend (accepted by local mode); yields the target."""
        return self._execution_mode("batch", max_time)

    def describe(self) -> dict[str, Any]:
        restricted = self.simulator == "restricted"
        return {
            "spec": self.spec,
            "kind": self.kind,
            "device": self._backend.name,
            "qubits": self.num_qubits,
            "noisy": True,
            "exact": False,
            "noise": (
                f"{self._backend.name} noise model restricted to the qubits coupled to measured ones"
                if restricted
                else f"{self._backend.name} noise model (whole device)"
            ),
            "engine": "qiskit_ibm_runtime.executor_sampler.Sampler (local mode)",
            "simulator": self.simulator,
            "method": self.method,
            "max_density_qubits": self.max_density_qubits,
            "batch_pubs": self.batch_pubs,
            "seed_transpiler": self.seed_transpiler,
            "optimization_level": self.optimization_level,
            "layout_trials": self.layout_trials,
            "sampler_options": self.sampler_options,
        }
