"""Transfer of the learned starts to device-scale graphs, scored exactly by the light-cone oracle.

Run:  python tests/bench/bench_scale_transfer.py

For each graph (the 133-qubit heavy-hex graph of FakeTorino, a 156-qubit one of
FakeFez, weighted, and a random 3-regular graph of 200 nodes at p <= 2) and p = 1..3:
the ideal AR (expected cut / max cut, certified by the SDP bound on the bipartite
heavy-hex graphs, else expected cut / best-known cut) of the start of each strategy,
with no Phase II: ``learned`` (the shipped model for that p, its Phase I proposals
evaluated on the same oracle), ``fixed`` (fixed-angle formula / tables) and ``tqa``.
The models were trained on n <= 10 and are not retrained. Not collected by pytest.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from hybrid.evaluate import ideal_oracle
from hybrid.optimize import ar_definition, optimize_graph
from hybrid.problems import heavy_hex_graph, regular_graph

SEED = 0
STARTS = ("learned", "fixed", "tqa")


def main() -> None:
    torch.set_num_threads(1)
    graphs = [
        (heavy_hex_graph("torino"), (1, 2, 3)),
        (heavy_hex_graph("fez", weights="uniform:0.1,1.0"), (1, 2, 3)),
        (regular_graph(200, 3, seed=SEED, id="3-regular-200"), (1, 2)),
    ]
    print(f"{'graph':24s} {'n':>4s} {'p':>2s} " + " ".join(f"{s:>9s}" for s in STARTS) + "  best baseline  learned - best")
    for problem, depths in graphs:
        problem = problem.with_max_cut()
        for p in depths:
            oracle = ideal_oracle(problem, p)
            ars = {}
            for start in STARTS:
                res = optimize_graph(problem, oracle, p=p, init=start, optimizer="adam:0", seed=SEED)
                ars[start] = res.ideal_ar_init
            best = max(ars["fixed"], ars["tqa"])
            print(f"{str(problem.id):24s} {problem.n:4d} {p:2d} " + " ".join(f"{ars[s]:9.4f}" for s in STARTS)
                  + f"  {best:13.4f}  {ars['learned'] - best:+.4f}")
        print(f"  AR = {ar_definition(problem)}; oracle: {type(oracle).__name__}")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.1f} s")
