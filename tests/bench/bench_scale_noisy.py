"""Equal-budget starts on device-native graphs under the devices' noise (Pauli propagation).

Run:  python tests/bench/bench_scale_noisy.py [--depths 1,2] [--seeds 0,1,2] [--families all]
                                              [--p3-families torino,fez-weighted] [--p3-atol 1e-4]

For each graph family (a connected ``N``-node subgraph of the healthy coupling map of
FakeTorino or FakeFez, unweighted or with weights uniform in [0.1, 1]; the seed picks the
subgraph and its weights) and each depth: the noisy AR (expected cut / max cut under the
twirled device noise with readout, by ``make_oracle``'s automatic choice on
``fake:<device>``, Pauli propagation) after an equal budget of ``BUDGET`` oracle
evaluations: ``learned`` (the shipped model spends them on its Phase I proposals) against
the zero-evaluation starts ``regression``, ``transfer`` and ``fixed`` (the fixed-angle
tables), each followed by COBYLA for the same budget. The ideal AR of the same final
point is printed beside it. The best-cut sampling of each run is skipped (it is not part
of this table). Summary: mean and standard deviation over the seeds. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

import hybrid.optimize as optimize
from backends import get_target
from hybrid.device_graphs import heavy_hex_graph
from hybrid.oracle_factory import make_oracle

#: Oracle evaluations every start gets (the learned start's Phase I length).
BUDGET = 10
STARTS = ("learned", "regression", "transfer", "fixed")
WEIGHTS = "uniform:0.1,1.0"
#: name -> (device, nodes, weights)
FAMILIES = {
    "torino": ("torino", 100, None),
    "torino-weighted": ("torino", 100, WEIGHTS),
    "fez": ("fez", 120, None),
    "fez-weighted": ("fez", 120, WEIGHTS),
    "torino-full": ("torino", None, None),
    "fez-full-weighted": ("fez", None, WEIGHTS),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="1,2")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--families", default="all")
    parser.add_argument("--p3-families", default="", help="families also run at p = 3 (seed 0 only)")
    parser.add_argument("--p3-atol", type=float, default=None, help="Pauli-propagation atol at p = 3 (default: the oracle's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    optimize._solution = lambda *a, **k: None  # no best-cut sampling: not part of this table
    depths = [int(x) for x in args.depths.split(",") if x]
    seeds = [int(x) for x in args.seeds.split(",") if x]
    families = list(FAMILIES) if args.families == "all" else args.families.split(",")
    cells = [(f, p, s) for f in families for p in depths for s in (seeds if FAMILIES[f][1] is not None else seeds[:1])]
    cells += [(f, 3, seeds[0]) for f in args.p3_families.split(",") if f]
    print(f"load average {os.getloadavg()}; budget {BUDGET} evaluations; starts {', '.join(STARTS)}")
    print("| family | n | p | seed | " + " | ".join(f"{s} noisy (ideal)" for s in STARTS) + " | learned - best | s/eval |")
    print("|---|---|---|---|" + "---|" * (len(STARTS) + 2))
    rows = []
    for family, p, seed in cells:
        device, n, weights = FAMILIES[family]
        problem = heavy_hex_graph(device, n, seed=seed, weights=weights, id=f"{family}-{seed}").with_max_cut()
        target = get_target(f"fake:{device}")
        options = {"atol": args.p3_atol} if p == 3 and args.p3_atol is not None else {}
        oracle = make_oracle(problem, p, target, **options)
        start = time.perf_counter()
        noisy, ideal, evals = {}, {}, 0
        for init in STARTS:
            res = optimize.optimize_graph(problem, oracle, p=p, init=init, optimizer=f"cobyla:{BUDGET}",
                                          max_evaluations=BUDGET, seed=seed, target=target.spec)
            noisy[init], ideal[init] = res.ar_final, res.ideal_ar_final
            evals += res.evaluations
        per_eval = (time.perf_counter() - start) / max(evals, 1)
        best = max(noisy[s] for s in STARTS[1:])
        rows.append({"family": family, "p": p, "seed": seed, "noisy": noisy, "ideal": ideal})
        print(f"| {family} | {problem.n} | {p} | {seed} | "
              + " | ".join(f"{noisy[s]:.4f} ({ideal[s]:.4f})" for s in STARTS)
              + f" | {noisy['learned'] - best:+.4f} | {per_eval:.2f} |", flush=True)
    print(f"\nmethod {oracle.method}; summary, noisy AR mean ± std over seeds (n seeds):")
    print("| family | p | seeds | " + " | ".join(STARTS) + " | learned - best |")
    print("|---|---|---|" + "---|" * (len(STARTS) + 1))
    for family in families:
        for p in sorted({r["p"] for r in rows if r["family"] == family}):
            group = [r for r in rows if r["family"] == family and r["p"] == p]
            stats = {s: (np.mean([r["noisy"][s] for r in group]), np.std([r["noisy"][s] for r in group])) for s in STARTS}
            gaps = [r["noisy"]["learned"] - max(r["noisy"][s] for s in STARTS[1:]) for r in group]
            print(f"| {family} | {p} | {len(group)} | " + " | ".join(f"{m:.4f} ± {sd:.4f}" for m, sd in stats.values())
                  + f" | {np.mean(gaps):+.4f} ± {np.std(gaps):.4f} |")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.1f} s")
