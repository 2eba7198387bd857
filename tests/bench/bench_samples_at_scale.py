"""Samples at device scale: how far noiseless MPS + readout error is from the noisy truth.

Run:  python tests/bench/bench_samples_at_scale.py [--sizes 10,12] [--seeds 0,1,2] [--p 1,2]

At device scale ``fake:<device>`` samples come from noiseless MPS shots passed through each
qubit's readout error (``backends.fake_device.MPS_SAMPLE_METHOD``). On device-native graphs
small enough for the exact noisy density matrix (heavy-hex subgraphs of FakeTorino, n <= 12),
this script compares, as exact distributions (no shot noise), at the ideal-optimal angles:

* ``ideal``: the noiseless distribution, no readout error;
* ``mps+ro``: noiseless distribution through readout error (what device-scale samples are);
* ``mix``: ``mps+ro`` mixed with uniformly random bits (through readout) with the weight that
  makes its expected cut equal the exact noisy energy (at scale: from noisy light cones or
  Pauli propagation); a valid joint distribution, cheap to sample;
* ``truth``: the exact noisy density matrix with readout (``FakeDeviceTarget.probabilities``).

For each it prints the expected cut, the expected best cut among K samples (K = 5, 20,
100) and CVaR at 0.1 (the mean of the best 10 % of outcomes), all as ratios to the
maximum cut, and the mean absolute gap of each method to the truth. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.optimize import minimize

from backends import get_target
from backends.circuits import apply_confusion
from hybrid.ansatz import qaoa_circuit
from hybrid.device_graphs import heavy_hex_graph
from hybrid.oracle_factory import make_oracle

SHOTS_K = (5, 20, 100)
CVAR_ALPHA = 0.1
METHODS = ("ideal", "mps+ro", "mix", "truth")
#: Start of the ideal optimisation (gamma_l, then beta_l), and its COBYLA iterations.
START = {1: [0.6, 0.39], 2: [0.5, 0.8, 0.55, 0.3], 3: [0.4, 0.7, 0.85, 0.6, 0.45, 0.25]}
OPT_ITERATIONS = 60


def best_of_k(probs: np.ndarray, cuts: np.ndarray, k: int) -> float:
    """E[max of k independent draws of the cut] under ``probs``."""
    values, inverse = np.unique(cuts, return_inverse=True)
    mass = np.bincount(inverse, weights=probs, minlength=len(values))
    cdf = np.clip(np.cumsum(mass) / mass.sum(), 0.0, 1.0)
    below = np.concatenate([[0.0], cdf[:-1]])
    return float(np.sum(values * (cdf**k - below**k)))


def cvar(probs: np.ndarray, cuts: np.ndarray, alpha: float) -> float:
    """Mean cut of the best ``alpha`` of the probability mass."""
    order = np.argsort(-cuts, kind="stable")
    p, c = probs[order] / probs.sum(), cuts[order]
    before = np.concatenate([[0.0], np.cumsum(p)[:-1]])
    take = np.clip(alpha - before, 0.0, p)
    return float(np.sum(take * c) / alpha)


def ideal_angles(problem, p: int) -> np.ndarray:
    oracle = make_oracle(problem, p, "ideal")
    res = minimize(lambda x: -float(oracle.evaluate(np.asarray(x)).energies[0]), START[p], method="COBYLA",
                   options={"maxiter": OPT_ITERATIONS, "rhobeg": 0.1})
    return np.asarray(res.x, float)


def distributions(problem, p: int, theta: np.ndarray, target) -> dict[str, np.ndarray]:
    from qiskit.quantum_info import Statevector

    circuit = qaoa_circuit(problem, p)
    truth = target.probabilities(circuit, theta[None, :])[0]
    comp = target.compiled(circuit)
    by_clbit = dict(comp.clbit_physical)
    confusion = [target._noise.confusion(by_clbit[c]) for c in range(problem.n)]
    logical = qaoa_circuit(problem, p, measure=False).assign_parameters(theta)
    ideal = Statevector(logical).probabilities()  # qubit i = clbit i
    mps = apply_confusion(ideal[None, :], confusion)[0]
    uniform = apply_confusion(np.full((1, 2**problem.n), 2.0**-problem.n), confusion)[0]
    cuts = problem.cut_values()
    e_true, e_mps, e_u = truth @ cuts, mps @ cuts, uniform @ cuts
    lam = float(np.clip((e_true - e_u) / (e_mps - e_u), 0.0, 1.0))
    return {"ideal": ideal, "mps+ro": mps, "mix": lam * mps + (1 - lam) * uniform, "truth": truth, "lambda": lam}


def metrics(probs: np.ndarray, cuts: np.ndarray, max_cut: float) -> list[float]:
    out = [float(probs @ cuts) / max_cut]
    out += [best_of_k(probs, cuts, k) / max_cut for k in SHOTS_K]
    out.append(cvar(probs, cuts, CVAR_ALPHA) / max_cut)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,12")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--p", default="1,2")
    parser.add_argument("--device", default="torino")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; device fake:{args.device}; exact distributions (no shot noise)")
    names = ["E[cut]"] + [f"best of {k}" for k in SHOTS_K] + [f"CVaR {CVAR_ALPHA}"]
    print(f"{'graph':>14} {'p':>2} {'method':>7} " + " ".join(f"{n:>11}" for n in names) + "   lambda   s")
    target = get_target(f"fake:{args.device}")
    gaps: dict[tuple[int, str], list[list[float]]] = {}
    for n in (int(x) for x in args.sizes.split(",")):
        for seed in (int(x) for x in args.seeds.split(",")):
            problem = heavy_hex_graph(args.device, n, seed=seed).with_max_cut()
            cuts = problem.cut_values()
            for p in (int(x) for x in args.p.split(",")):
                theta = ideal_angles(problem, p)
                start = time.perf_counter()
                dists = distributions(problem, p, theta, target)
                seconds = time.perf_counter() - start
                truth = metrics(dists["truth"], cuts, problem.max_cut)
                for method in METHODS:
                    row = metrics(dists[method], cuts, problem.max_cut)
                    if method != "truth":
                        gaps.setdefault((p, method), []).append([abs(a - b) for a, b in zip(row, truth)])
                    extra = f"   {dists['lambda']:.3f} {seconds:5.1f}" if method == "truth" else ""
                    print(f"{f'n={n} seed={seed}':>14} {p:>2} {method:>7} " + " ".join(f"{v:11.4f}" for v in row) + extra)
    print("\nmean |method - truth| (ratio to max cut) over the graphs above")
    print(f"{'p':>2} {'method':>7} " + " ".join(f"{n:>11}" for n in names))
    for (p, method), rows in sorted(gaps.items()):
        print(f"{p:>2} {method:>7} " + " ".join(f"{v:11.4f}" for v in np.mean(rows, axis=0)))


if __name__ == "__main__":
    main()
