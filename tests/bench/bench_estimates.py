"""Measured vs estimated cost of the ideal statevector oracle (the constants in hybrid/validation.py).

    OMP_NUM_THREADS=1 python tests/bench/bench_estimates.py [N ...]

For 3-regular graphs at p = 3: one evaluation, one value-and-gradient, and the peak
memory above the interpreter, next to what ``hybrid.validation`` estimates. Run each
size in its own process so that peak memory is per size.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time

import numpy as np

P = 3
DEGREE = 3
GRAPH_SEED = 1
DEFAULT_SIZES = (14, 16, 18)


def measure(n: int) -> None:
    import torch

    torch.set_num_threads(1)
    from hybrid.oracles import ideal_oracle
    from hybrid.problems import regular_graph
    from hybrid.validation import SV_GRAD_FACTOR, SV_OVERHEAD_S, SV_PEAK_BASE, SV_PEAK_PER_LAYER, SV_SECONDS_PER_AMP_GATE

    g = regular_graph(n, DEGREE, seed=GRAPH_SEED)
    oracle = ideal_oracle(g, P)
    theta = np.full(2 * P, 0.3)
    oracle.evaluate(theta)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    oracle.evaluate(theta)
    t_eval = time.perf_counter() - start
    start = time.perf_counter()
    oracle.value_and_grad(theta)
    t_grad = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    amps = SV_SECONDS_PER_AMP_GATE * 2**n * P * (n + g.m)
    est_eval, est_grad = SV_OVERHEAD_S + amps, SV_OVERHEAD_S + amps * SV_GRAD_FACTOR
    est_mem = 16.0 * 2**n * (SV_PEAK_BASE + SV_PEAK_PER_LAYER * P)
    print(
        f"n={n} p={P} m={g.m}: evaluation {t_eval:.3f} s (estimate {est_eval:.3f}), "
        f"gradient {t_grad:.3f} s (estimate {est_grad:.3f}), "
        f"peak above start {peak / 2**20:.0f} MiB (estimate {est_mem / 2**20:.0f} MiB)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        measure(int(sys.argv[2]))
    else:
        for n in [int(x) for x in sys.argv[1:]] or DEFAULT_SIZES:
            subprocess.run([sys.executable, __file__, "--one", str(n)], check=True)
