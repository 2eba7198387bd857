"""How far a fake device's noise moves the QAOA optimum, and what the noisy optimum is worth.

For each graph (one per family of the validation split, n nodes) and depth p:
the ideal optimum (multi-start exact optimisation, ``optimise_angles``) is scored
exactly on ``fake:DEVICE`` (density matrix of the active qubits, readout applied
exactly); COBYLA on that exact noisy oracle, started at the ideal optimum, finds the
noisy optimum. Printed per row: the ideal and noisy AR at both points, the noisy AR
gained by moving to the noisy optimum, and the shift in radians.

A gain near zero means device noise damps the landscape without moving its
maximum: fine-tuning a start on that device's noise has nothing to gain there.

    python tests/bench/bench_noise_shift.py [--device torino] [--n 8] [--depths 1,2,3] [--evals 150]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.optimize import minimize

from hybrid.oracle_factory import make_oracle
from hybrid.oracles import ideal_oracle
from hybrid.families import FAMILIES, split_graphs
from hybrid.strategies import optimise_angles

#: COBYLA's first trust radius around the ideal optimum (radians).
RHOBEG = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="torino")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--depths", default="1,2,3")
    parser.add_argument("--evals", type=int, default=150, help="COBYLA evaluations on the noisy oracle")
    args = parser.parse_args()
    torch.set_num_threads(1)
    graphs = split_graphs("validation", 1, nodes={f: [args.n] for f in FAMILIES})
    print(f"fake:{args.device}, validation split, n = {args.n}; AR = expected cut / max cut")
    print(f"{'p':>2} {'family':9} {'ideal opt: ideal / noisy AR':>28} {'noisy opt: noisy / ideal AR':>28} {'gain':>8} {'shift rad':>9} {'s':>5}")
    gains = []
    for p in (int(x) for x in args.depths.split(",")):
        for graph in graphs:
            start = time.perf_counter()
            theta_ideal = optimise_angles(graph, p, seed=0).theta
            noisy = make_oracle(graph, p, f"fake:{args.device}")
            ideal = ideal_oracle(graph, p)
            res = minimize(lambda x: -float(noisy.evaluate(x).energies[0]), theta_ideal, method="COBYLA",
                           options={"maxiter": args.evals, "rhobeg": RHOBEG})
            theta_noisy = np.asarray(res.x, float)
            ar = lambda oracle, x: float(oracle.evaluate(x).energies[0]) / graph.max_cut  # noqa: E731
            gain = max(0.0, ar(noisy, theta_noisy) - ar(noisy, theta_ideal))
            gains.append(gain)
            print(f"{p:>2} {graph.meta['family']:9} {ar(ideal, theta_ideal):>13.4f} / {ar(noisy, theta_ideal):.4f}      "
                  f"{ar(noisy, theta_noisy):>13.4f} / {ar(ideal, theta_noisy):.4f}      {gain:+8.4f} "
                  f"{np.linalg.norm(theta_noisy - theta_ideal):9.3f} {time.perf_counter() - start:5.0f}", flush=True)
    print(f"largest noisy-AR gain from the noisy optimum: {max(gains):.4f}")


if __name__ == "__main__":
    main()
