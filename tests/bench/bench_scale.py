"""Benchmark: a compare sweep in process, on 1 Ray worker and on 2 Ray workers.

Run:  python tests/bench/bench_scale.py [--units 16] [--steps 5]

The sweep: graphs (n = 6..8) x {fake:torino, fake:torino+rem} x {learned, fixed}
at p = 1, exact noisy simulation, Adam for Phase II. Every configuration starts
cold (fresh processes: noise models and transpilations built again), which is what
a user pays. Each process, the driver included, runs one OpenMP thread, so 2
workers use the 2 cores without oversubscription. Prints wall times, the speed-up
of 2 workers over 1 (goal >= 1.6x), and Ray's overhead per unit against the
in-process executor. Not collected by pytest.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before Aer loads: one thread per process

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

GRAPH_SEED = 31


def sweep_config(out: str, units: int, steps: int):
    from hybrid.compare import CompareConfig
    from hybrid.problems import paper_graph, save_graphs

    per_graph = 4  # 2 targets x 2 inits
    count = max(1, -(-units // per_graph))
    graphs = [paper_graph(6 + i % 3, 3 + i % 3, seed=GRAPH_SEED + i, id=f"g{i}") for i in range(count)]
    path = save_graphs([g.with_max_cut() for g in graphs], Path(out) / "graphs.json")
    return CompareConfig(
        graphs=str(path), backends=["fake:torino", "fake:torino+rem"], inits=["learned", "fixed"],
        optimizer=f"adam:{steps}", out=out, landscape={"enabled": False},
    )


def one(mode: str, units: int, steps: int) -> None:
    """Run one configuration in this (fresh) process and print its wall time."""
    from hybrid.compare import run_compare

    with tempfile.TemporaryDirectory() as out:
        cfg = sweep_config(out, units, steps)
        executor = None
        if mode != "local":
            import ray

            from hybrid.executors import get_executor

            workers = int(mode.split("-")[1])
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
            executor = get_executor("ray")
        start = time.perf_counter()
        report = run_compare(cfg, executor=executor, progress=False)
        wall = time.perf_counter() - start
        if executor is not None:
            executor.shutdown()
            import ray

            ray.shutdown()
    print(f"RESULT {mode} {len(report['cells'])} {wall:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="compare sweep scaling on Ray")
    parser.add_argument("--units", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.units, args.steps)
        return
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; one OpenMP thread per process")
    walls = {}
    for mode in ("local", "ray-1", "ray-2"):
        proc = subprocess.run(
            [sys.executable, __file__, "--one", mode, "--units", str(args.units), "--steps", str(args.steps)],
            capture_output=True, text=True, check=True,
        )
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
        _, _, units, wall = line.split()
        walls[mode] = float(wall)
        print(f"{mode:>6}: {units} units in {float(wall):7.2f} s ({float(wall) / int(units):.2f} s per unit)")
    units = int(units)
    print(f"speed-up, 2 Ray workers over 1: {walls['ray-1'] / walls['ray-2']:.2f}x (goal >= 1.6x)")
    print(f"Ray overhead per unit vs in process (1 worker): {(walls['ray-1'] - walls['local']) / units * 1000:.0f} ms")


if __name__ == "__main__":
    main()
