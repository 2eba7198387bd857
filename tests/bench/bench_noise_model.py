"""The device noise model restricted to active qubits: public-API build against the
former private-attribute copy, and what restricting buys in a simulation.

Run: ``OMP_NUM_THREADS=1 python tests/bench/bench_noise_model.py [--device torino] [--repeat 5]``

It prints, for the device:

* the one-off cost per device: ``NoiseModel.from_backend`` (whole device) and
  :class:`backends.noise.DeviceNoise` (the same errors read once through
  ``qiskit_aer.noise.device``, as ``from_backend`` itself does);
* the restricted model of a 10-qubit active set, median of ``--repeat`` builds:
  through the public ``add_quantum_error``/``add_readout_error`` (``DeviceNoise.restricted``,
  what the targets use) and through the former copy of ``NoiseModel``'s private
  dictionaries (kept here only as the yardstick);
* the largest probability difference between the two restricted models on a
  10-qubit circuit (they must agree);
* one density-matrix run of that circuit under the restricted model and under the
  whole-device model (``AerSimulator(noise_model=from_backend(...))``).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from qiskit import QuantumCircuit

from backends import load_fake_backend
from backends.noise import DeviceNoise


def private_copy(full, active):
    """The former route: copy the errors out of ``NoiseModel``'s private tables."""
    from qiskit_aer.noise import NoiseModel

    remap = {q: i for i, q in enumerate(active)}
    model = NoiseModel(basis_gates=full.basis_gates)
    for name, by_qubits in full._local_quantum_errors.items():
        for qubits, error in by_qubits.items():
            if all(q in remap for q in qubits):
                model.add_quantum_error(error, name, [remap[q] for q in qubits], warnings=False)
    return model


def chain_circuit(width: int) -> QuantumCircuit:
    qc = QuantumCircuit(width)
    for q in range(width):
        qc.sx(q)
        qc.rz(0.3 + 0.1 * q, q)
    for q in range(width - 1):
        qc.cz(q, q + 1)
        qc.sx(q + 1)
    qc.save_probabilities(list(range(width)))
    return qc


def timed(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="torino")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel

    backend = load_fake_backend(args.device)
    t_full, full = timed(lambda: NoiseModel.from_backend(backend), 1)
    start = time.perf_counter()
    noise = DeviceNoise(args.device)
    t_device = time.perf_counter() - start
    print(f"{args.device}: {backend.num_qubits} qubits")
    print(f"NoiseModel.from_backend (whole device, once):       {t_full:8.3f} s")
    print(f"DeviceNoise (public device functions, once):        {t_device:8.3f} s")

    # A 10-qubit path of couplers (so the circuit's two-qubit gates are native).
    cz_pairs = backend.target.qargs_for_operation_name("cz")
    path = [0]
    neighbours = {}
    for a, b in cz_pairs:
        neighbours.setdefault(a, set()).add(b)
    while len(path) < 10:
        path.append(min(q for q in neighbours[path[-1]] if q not in path))
    active = tuple(sorted(path))
    t_public, public = timed(lambda: noise.restricted(active), args.repeat)
    t_private, private = timed(lambda: private_copy(full, active), args.repeat)
    print(f"restricted to {len(active)} qubits, public API (median of {args.repeat}): {t_public * 1e3:8.2f} ms")
    print(f"restricted to {len(active)} qubits, private copy (median of {args.repeat}): {t_private * 1e3:8.2f} ms")

    # The compact circuit: the path relabelled 0..9, gates in the order of the path.
    order = {q: i for i, q in enumerate(active)}
    compact = QuantumCircuit(len(active))
    for q in path:
        compact.sx(order[q])
        compact.rz(0.3, order[q])
    for a, b in zip(path, path[1:]):
        compact.cz(order[a], order[b])
        compact.sx(order[b])
    compact.save_probabilities(list(range(len(active))))
    p_public = AerSimulator(method="density_matrix", noise_model=public).run(compact).result().data(0)["probabilities"]
    p_private = AerSimulator(method="density_matrix", noise_model=private).run(compact).result().data(0)["probabilities"]
    print(f"max |p_public - p_private|: {np.abs(np.asarray(p_public) - np.asarray(p_private)).max():.2e}")

    wide = QuantumCircuit(backend.num_qubits)
    for inst in compact.data[:-1]:
        wide.append(inst.operation, [active[compact.find_bit(q).index] for q in inst.qubits])
    wide.save_probabilities(list(active))
    sim = AerSimulator(method="density_matrix", noise_model=public)
    t_run_restricted, _ = timed(lambda: sim.run(compact).result(), 1)
    whole = AerSimulator(method="density_matrix", noise_model=full)
    t_run_full, result = timed(lambda: whole.run(wide).result(), 1)
    p_full = np.asarray(result.data(0)["probabilities"])
    print(f"density-matrix run, restricted model, {len(active)} qubits:  {t_run_restricted:8.3f} s")
    print(f"density-matrix run, whole-device model, same circuit: {t_run_full:8.3f} s "
          f"(max |p - p_restricted| {np.abs(p_full - np.asarray(p_public)).max():.2e})")


if __name__ == "__main__":
    main()
