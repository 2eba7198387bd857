"""Benchmark: compacted exact noisy QAOA on a fake device vs the naive Aer route.

Run:  python tests/bench/bench_noisy.py [--device torino] [--sizes 6 8 10] [--threads 0]

For 3-regular graphs at p = 1 it prints, per size n:
  * active physical qubits of the best of ``layout_trials`` layouts, and the
    compile time (layout search + compaction, once per circuit structure);
  * ours: one exact noisy evaluation (warm) and a 5-point batch (value + central
    differences in gamma and beta) in one Aer call, medians of ``--repeats`` runs;
  * naive: ``AerSimulator.from_backend(device)`` running a 4000-shot job of the
    circuit transpiled with ``generate_preset_pass_manager(3, backend, seed_transpiler=0)``,
    first and warm run, and the ratio naive(warm) / ours(one evaluation).

Not collected by pytest. Timings depend on machine load; ``--threads`` sets Aer's
``max_parallel_threads`` for both routes (0 = all cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from backends import get_target  # noqa: E402

SHOTS = 4000
P = 1
THETA = np.array([0.6, 0.35])  # (gamma, beta)
FD_STEP = 1e-3
GRAPH_SEED = 7


def qaoa(edges, n, p=P):
    theta = ParameterVector("theta", 2 * p)
    qc = QuantumCircuit(n, n)
    qc.h(range(n))
    for layer in range(p):
        for u, v in edges:
            qc.rzz(-theta[layer], u, v)
        qc.rx(2 * theta[p + layer], range(n))
    qc.measure(range(n), range(n))
    return qc


def cut_values(edges, n):
    x = np.arange(2**n)
    return sum((((x >> u) & 1) != ((x >> v) & 1)).astype(float) for u, v in edges)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def repeat(times, fn, *args):
    """Result and median wall time of ``times`` calls (this machine is shared and noisy)."""
    walls = []
    for _ in range(times):
        out, wall = timed(fn, *args)
        walls.append(wall)
    return out, float(np.median(walls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="torino")
    parser.add_argument("--sizes", type=int, nargs="+", default=[6, 8, 10])
    parser.add_argument("--threads", type=int, default=0, help="Aer max_parallel_threads (0 = all)")
    parser.add_argument("--layout-trials", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5, help="median of this many timings (ours)")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()

    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_aer import AerSimulator

    from backends.devices import load_fake_backend

    print(f"cpus={os.cpu_count()} load={os.getloadavg()} threads={args.threads} device={args.device}")
    target, t_new = timed(
        get_target,
        f"fake:{args.device}",
        layout_trials=args.layout_trials,
        max_parallel_threads=args.threads,
    )
    backend = load_fake_backend(args.device)
    naive_sim = None
    rows = []
    for n in args.sizes:
        graph = nx.random_regular_graph(3, n, seed=GRAPH_SEED)
        edges = list(graph.edges)
        qc = qaoa(edges, n)
        cuts = cut_values(edges, n)

        _, t_compile = timed(target.isa_circuit, qc)  # first use also builds the device noise model
        info = target.layout_info(qc)
        batch = np.array([THETA] + [THETA + s * FD_STEP * e for e in np.eye(2) for s in (1.0, -1.0)])
        target.probabilities(qc, THETA)  # warm-up, single point and batch
        target.probabilities(qc, batch)
        probs, t_one = repeat(args.repeats, target.probabilities, qc, THETA)
        probs5, t_batch = repeat(args.repeats, target.probabilities, qc, batch)
        values = probs5 @ cuts
        grad = [(values[1] - values[2]) / (2 * FD_STEP), (values[3] - values[4]) / (2 * FD_STEP)]
        ideal = get_target("ideal").probabilities(qc, THETA)[0] @ cuts
        row = {
            "n": n,
            "edges": len(edges),
            "active": info["num_active_qubits"],
            "cz": info["two_qubit_gates"],
            "compile_s": t_compile,
            "one_s": t_one,
            "batch5_s": t_batch,
            "ideal": ideal,
            "noisy": float(probs[0] @ cuts),
            "grad": grad,
            "shot_se": float(np.sqrt(probs[0] @ (cuts - probs[0] @ cuts) ** 2 / SHOTS)),
        }
        if not args.skip_naive:
            if naive_sim is None:
                naive_sim, row["naive_build_s"] = timed(
                    AerSimulator.from_backend, backend, max_parallel_threads=args.threads
                )
            pm = generate_preset_pass_manager(optimization_level=3, backend=backend, seed_transpiler=0)
            plain = pm.run(qc.assign_parameters(THETA))
            active = {plain.find_bit(q).index for inst in plain.data for q in inst.qubits
                      if inst.operation.name != "barrier"}
            row["naive_active"] = len(active)
            res, row["naive_first_s"] = timed(
                lambda: naive_sim.run(plain, shots=SHOTS, seed_simulator=1).result()
            )
            res, row["naive_warm_s"] = timed(
                lambda: naive_sim.run(plain, shots=SHOTS, seed_simulator=2).result()
            )
            counts = res.get_counts()
            row["naive_mean"] = sum(cuts[int(k, 2)] * v for k, v in counts.items()) / SHOTS
            row["ratio"] = row["naive_warm_s"] / t_one
        rows.append(row)
        print(
            f"n={n:2d} |E|={len(edges):2d} active={row['active']:2d} cz={row['cz']:3d} "
            f"compile={t_compile:6.2f}s one={t_one:6.3f}s batch5={t_batch:6.3f}s "
            f"<C> ideal={ideal:.4f} noisy={row['noisy']:.4f} grad=({grad[0]:+.3f},{grad[1]:+.3f})",
            flush=True,
        )
        if not args.skip_naive:
            print(
                f"      naive: active={row['naive_active']:2d} "
                f"first={row['naive_first_s']:6.2f}s warm={row['naive_warm_s']:6.2f}s "
                f"<C>~{row['naive_mean']:.3f} (+-{row['shot_se']:.3f}) "
                f"ratio naive/ours={row['ratio']:.0f}x",
                flush=True,
            )
    print(f"target construction {t_new:.2f}s; first compile includes the device noise model build")
    if naive_sim is not None:
        print(f"naive AerSimulator.from_backend build {rows[0].get('naive_build_s', 0.0):.2f}s")


if __name__ == "__main__":
    main()
