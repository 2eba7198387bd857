"""Benchmark of the cost oracles: ideal (torch) and exact noisy (compacted Aer) vs naive Aer.

Run:  python tests/bench/bench_oracles.py [--device torino] [--repeats 5]

Prints, in one run:

* ideal: evaluation + gradient time of the torch statevector oracle for
  n = 10, 14, 20 and p = 1, 3 (and the p = 1 closed form), one torch thread;
  target: n = 14, p = 3 under 20 ms;
* noisy: exact noisy evaluation + central-difference gradient (5 points, one Aer
  call) on ``fake:<device>`` for 3-regular n = 6, 8, 10 at p = 1, against the
  naive route (``AerSimulator.from_backend`` running a 4000-shot job of the same
  QAOA circuit transpiled the plain way, ``generate_preset_pass_manager(3,
  backend, seed_transpiler=0)``), and the ratio naive / ours; target: n = 10
  under 2 s and at least 10x faster than naive.

Timings are medians of ``--repeats`` runs; this machine may be shared, so the
load average is printed too. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from backends import get_target, load_fake_backend
from hybrid.ansatz import qaoa_circuit
from hybrid.oracle_factory import make_oracle
from hybrid.oracles import IdealOracle, P1ClosedForm, counts_statistics
from hybrid.problems import paper_graph, regular_graph

SEED = 7
SHOTS = 4000
THETA_P1 = np.array([0.6, 0.35])


def median_time(fn, repeats: int) -> float:
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
    return float(np.median(walls))


def bench_ideal(repeats: int) -> None:
    torch.set_num_threads(1)
    print("ideal oracle: evaluation + gradient (autograd), 1 torch thread")
    print(f"{'n':>4} {'p':>3} {'statevector ms':>15} {'closed form ms':>15}")
    for n in (10, 14, 20):
        problem = paper_graph(n, 4, seed=SEED + n)
        for p in (1, 3):
            theta = np.random.default_rng(SEED).uniform(0, 1, 2 * p)
            oracle = IdealOracle(problem, p)
            oracle.value_and_grad(theta)
            sv = median_time(lambda: oracle.value_and_grad(theta), repeats) * 1e3
            cf = "-"
            if p == 1:
                closed = P1ClosedForm(problem)
                cf = f"{median_time(lambda: closed.value_and_grad(theta), repeats) * 1e3:15.2f}"
            print(f"{n:>4} {p:>3} {sv:15.2f} {cf:>15}")


def bench_noisy(device: str, repeats: int) -> None:
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_aer import AerSimulator

    print(f"\nexact noisy oracle on fake:{device}, 3-regular graphs, p = 1 (Aer on all cores)")
    print(
        f"{'n':>3} {'active':>6} {'compile s':>9} {'eval s':>8} {'eval+grad s':>11} "
        f"{'naive active':>12} {'naive 4000 shots s':>18} {'naive/ours(eval+grad)':>22} {'<C> ours':>9} {'<C> naive':>15}"
    )
    target = get_target(f"fake:{device}")
    backend = load_fake_backend(device)
    start = time.perf_counter()
    naive_sim = AerSimulator.from_backend(backend)
    naive_build = time.perf_counter() - start
    for n in (6, 8, 10):
        problem = regular_graph(n, 3, seed=SEED)
        oracle = make_oracle(problem, 1, target)
        start = time.perf_counter()
        oracle.evaluate(THETA_P1)  # first call: layout search, compaction
        compile_s = time.perf_counter() - start
        ev_s = median_time(lambda: oracle.evaluate(THETA_P1), repeats)
        vg_s = median_time(lambda: oracle.value_and_grad(THETA_P1), repeats)
        ours = float(oracle.evaluate(THETA_P1).energies[0])
        active = target.layout_info(oracle.circuit)["num_active_qubits"]

        pm = generate_preset_pass_manager(optimization_level=3, backend=backend, seed_transpiler=0)
        isa = pm.run(qaoa_circuit(problem, 1).assign_parameters(THETA_P1))
        naive_active = len({isa.find_bit(q).index for inst in isa.data for q in inst.qubits})
        start = time.perf_counter()
        counts = naive_sim.run(isa, shots=SHOTS, seed_simulator=SEED).result().get_counts()
        naive_s = time.perf_counter() - start
        stats = counts_statistics(problem, {int(k.replace(" ", ""), 2): v for k, v in counts.items()})
        print(
            f"{n:>3} {active:>6} {compile_s:9.2f} {ev_s:8.3f} {vg_s:11.3f} {naive_active:>12} {naive_s:18.2f} "
            f"{naive_s / vg_s:21.1f}x {ours:9.3f} {stats['mean']:8.3f}+-{stats['stderr']:.3f}"
        )
    print(f"(building AerSimulator.from_backend once: {naive_build:.2f} s, not counted above)")


def main() -> None:
    parser = argparse.ArgumentParser(description="cost oracle benchmark")
    parser.add_argument("--device", default="torino")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-noisy", action="store_true")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    bench_ideal(args.repeats)
    if not args.skip_noisy:
        bench_noisy(args.device, args.repeats)


if __name__ == "__main__":
    main()
