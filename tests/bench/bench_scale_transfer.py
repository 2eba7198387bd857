"""Transfer of the learned starts to device-scale graphs, scored exactly by the light-cone oracle.

Run:  python tests/bench/bench_scale_transfer.py

For each graph (the 133-qubit heavy-hex graph of FakeTorino, a 156-qubit one of
FakeFez, weighted, and a random 3-regular graph of 200 nodes at p <= 2) and p = 1..3:
the ideal AR (expected cut / max cut, certified by the SDP bound on the bipartite
heavy-hex graphs, else expected cut / best-known cut) at an equal budget of
``BUDGET`` oracle evaluations: ``learned`` (the shipped model for that p spends them
all on its Phase I proposals and keeps the best) against the zero-evaluation starts
``regression``, ``transfer``, ``fixed`` (fixed-angle formula / tables) and ``tqa``,
each followed by COBYLA for the same budget; the zero-evaluation starts alone are
printed too. The models were trained on n <= 12 and are not retrained. Not collected
by pytest.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from hybrid.oracles import ideal_oracle
from hybrid.optimize import ar_definition, optimize_graph
from hybrid.device_graphs import heavy_hex_graph
from hybrid.problems import regular_graph

SEED = 0
#: Oracle evaluations every start gets (the learned start's Phase I length).
BUDGET = 10
BASELINES = ("regression", "transfer", "fixed", "tqa")


def main() -> None:
    torch.set_num_threads(1)
    graphs = [
        (heavy_hex_graph("torino"), (1, 2, 3)),
        (heavy_hex_graph("fez", weights="uniform:0.1,1.0"), (1, 2, 3)),
        (regular_graph(200, 3, seed=SEED, id="3-regular-200"), (1, 2)),
    ]
    header = " ".join(f"{s:>10s}" for s in ("learned",) + BASELINES)
    print(f"ideal AR at {BUDGET} evaluations (baselines + COBYLA); in brackets the baselines' start alone")
    print(f"{'graph':24s} {'n':>4s} {'p':>2s} {header}  learned - best")
    for problem, depths in graphs:
        problem = problem.with_max_cut()
        for p in depths:
            oracle = ideal_oracle(problem, p)
            at_budget, alone = {}, {}
            for start in ("learned",) + BASELINES:
                res = optimize_graph(problem, oracle, p=p, init=start, optimizer=f"cobyla:{BUDGET}",
                                     max_evaluations=BUDGET, seed=SEED)
                at_budget[start], alone[start] = res.ideal_ar_final, res.ideal_ar_init
            best = max(at_budget[s] for s in BASELINES)
            cells = [f"{at_budget['learned']:10.4f}"] + [f"{at_budget[s]:.4f}({alone[s]:.3f})" for s in BASELINES]
            print(f"{str(problem.id):24s} {problem.n:4d} {p:2d} " + " ".join(f"{c:>10s}" for c in cells)
                  + f"  {at_budget['learned'] - best:+.4f}")
        print(f"  AR = {ar_definition(problem)}; oracle: {type(oracle).__name__}")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.1f} s")
