"""Mitigation benchmark: ideal, noisy, REM, ZNE, ZNE+REM at a fixed QAOA point on a fake device.

Run: ``python tests/bench/bench_mitigation.py [--sizes 6 8] [--shots 4000] [--device torino]``

For each 3-regular graph (p = 1, fixed-angle point gamma = arctan(1/sqrt(2)), beta = pi/8)
it prints the sampled energy (seed ``--seed``) with its standard error, the
approximation ratio, the error against the ideal energy, the RMS error over ``--seeds``
seeds (bias and shot noise together), the shot-free (exact-distribution) value of the
same estimator and its bias, and the cost of one evaluation relative to the unmitigated
one: circuits, two-qubit gates, shots and wall time (warm caches, median over the seeds).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from backends import get_target
from hybrid.ansatz import qaoa_circuit
from hybrid.oracle_factory import make_oracle
from hybrid.oracles import p1_expectation
from hybrid.mitigation import parse_mitigation
from hybrid.problems import regular_graph
from hybrid.schedules import fixed_angle_params

METHODS = (
    ("rem", {}),
    ("zne", {}),
    ("zne+rem", {}),
    ("zne+rem", {"fold": "all"}),
    ("zne+rem", {"factory": "exponential"}),
)


def over_seeds(oracle, theta, seed: int, count: int, ideal: float):
    """(evaluation at ``seed``, RMS error over ``count`` seeds, median wall time)."""
    times, errors, first = [], [], None
    for k in range(count):
        start = time.perf_counter()
        ev = oracle.evaluate(theta, seed=seed + k)
        times.append(time.perf_counter() - start)
        errors.append(ev.energies[0] - ideal)
        first = first or ev
    return first, float(np.sqrt(np.mean(np.square(errors)))), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[6, 8])
    parser.add_argument("--shots", type=int, default=4000)
    parser.add_argument("--device", default="torino")
    parser.add_argument("--graph-seed", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--seeds", type=int, default=10, help="seeds for the RMS error and timing")
    args = parser.parse_args()
    torch.set_num_threads(1)

    target = get_target(f"fake:{args.device}")
    print(f"target {target.spec}, shots {args.shots} per circuit, seed {args.seed}, p = 1")
    for n in args.sizes:
        problem = regular_graph(n, 3, seed=args.graph_seed).with_max_cut()
        theta = fixed_angle_params(problem, 1)
        ideal = p1_expectation(problem, *theta)
        start = time.perf_counter()
        noisy_exact = float(make_oracle(problem, 1, target).evaluate(theta).energies[0])
        compile_s = time.perf_counter() - start
        info = target.layout_info(qaoa_circuit(problem, 1))
        plain = make_oracle(problem, 1, target, shots=args.shots)
        plain_ev, plain_rms, plain_wall = over_seeds(plain, theta, args.seed, args.seeds, ideal)
        base_2q = info["two_qubit_gates"]
        print(
            f"\nn = {n}, m = {problem.m}, max cut {problem.max_cut:g}, theta = {np.round(theta, 4).tolist()}, "
            f"{info['num_active_qubits']} active qubits, {base_2q} two-qubit gates (compile {compile_s:.1f} s)"
        )
        header = (
            f"{'method':<28}{'energy':>9}{'stderr':>8}{'AR':>8}{'|err|':>8}{'rms err':>8}{'exact':>9}{'|bias|':>8}"
            f"{'circ':>6}{'2q':>7}{'shots':>8}{'wall s':>8}{'x2q':>6}{'xshots':>7}{'xwall':>7}"
        )
        print(header)
        print("-" * len(header))

        def row(name, energy, stderr, rms, exact, circuits, two_q, shots, wall):
            err = abs(energy - ideal) if energy is not None else None
            bias = abs(exact - ideal) if exact is not None else None
            fmt = lambda x, w, d: f"{x:>{w}.{d}f}" if x is not None else f"{'-':>{w}}"  # noqa: E731
            print(
                f"{name:<28}{fmt(energy, 9, 4)}{fmt(stderr, 8, 4)}"
                f"{fmt(None if energy is None else energy / problem.max_cut, 8, 4)}{fmt(err, 8, 4)}{fmt(rms, 8, 4)}"
                f"{fmt(exact, 9, 4)}{fmt(bias, 8, 4)}{circuits:>6}{two_q:>7}{shots:>8}"
                f"{fmt(wall, 8, 3)}{fmt(None if wall is None else two_q / base_2q, 6, 1)}"
                f"{fmt(None if wall is None else shots / args.shots, 7, 1)}"
                f"{fmt(None if wall is None else wall / plain_wall, 7, 1)}"
            )

        row("ideal", ideal, 0.0, 0.0, ideal, 0, 0, 0, None)
        row(
            "noisy",
            plain_ev.energies[0],
            plain_ev.stderr[0],
            plain_rms,
            noisy_exact,
            1,
            base_2q,
            args.shots,
            plain_wall,
        )
        for name, options in METHODS:
            spec = parse_mitigation(name, **options)
            label = name + "".join(f" {k}={v}" for k, v in options.items())
            sampled = make_oracle(problem, 1, target, mitigation=spec, shots=args.shots, seed=args.seed)
            ev, rms, wall = over_seeds(sampled, theta, args.seed, args.seeds, ideal)
            exact = make_oracle(problem, 1, target, mitigation=spec).evaluate(theta).energies[0]
            cost = ev.metadata["cost"]
            row(
                label,
                ev.energies[0],
                ev.stderr[0],
                rms,
                exact,
                cost["circuits"],
                cost["two_qubit_gates_per_point"],
                ev.shots,
                wall,
            )


if __name__ == "__main__":
    main()
