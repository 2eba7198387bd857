"""What a Runtime session would bill for the same run, with and without the classical work done first.

    OMP_NUM_THREADS=1 python tests/bench/bench_session_span.py [--backend local:torino] [--optimizer spsa:3]

Runs the demo graphs (``configs/graphs/demo.json``, learned start, p = 1, 1000 shots)
in session mode twice on a simulator target: ``inside`` builds each graph's oracle
(transpilation, usage timing) and loads its start inside the session, as runs did
before; ``before`` builds every oracle before the session opens (the default now).
On a simulator the time inside jobs is replaced by their estimated quantum seconds
(:class:`backends.usage.SessionUsage`), so the span printed is what the QPU would
bill: the estimated quantum seconds plus the classical time between jobs. Prints one
line per variant: estimated quantum seconds, the session's billed seconds, its
classical share, and the wall time of the run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def run_once(backend: str, optimizer: str, shots: int, prebuild: bool, folder: Path) -> dict:
    import hybrid.runs as runs
    from hybrid.config import parse_config
    from hybrid.ledger import Ledger

    original = runs.prepare
    if not prebuild:
        runs.prepare = lambda *args, **kwargs: {}  # oracles built per graph, inside the session
    try:
        cfg = parse_config(
            {"graphs": "configs/graphs/demo.json", "backend": backend, "init": "learned", "p": 1,
             "optimizer": optimizer, "shots": shots, "seed": 0, "execution": "session",
             "out": str(folder / ("before" if prebuild else "inside"))},
            runs.RunConfig,
        )
        start = time.perf_counter()
        with Ledger(folder / f"ledger-{prebuild}.db") as led:
            rid = runs.start_run(cfg, led, yes=True)
            report = runs.execute_run(led, rid)
        report["wall"] = time.perf_counter() - start
    finally:
        runs.prepare = original
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="local:torino")
    parser.add_argument("--optimizer", default="spsa:3")
    parser.add_argument("--shots", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for prebuild in (False, True):
            r = run_once(args.backend, args.optimizer, args.shots, prebuild, Path(tmp))
            (session,) = r["sessions"]
            print(json.dumps({
                "variant": "before" if prebuild else "inside",
                "backend": args.backend,
                "qpu_seconds": round(r["qpu_seconds"], 2),
                "jobs": r["qpu_jobs"],
                "session_seconds": round(r["session_seconds"], 2),
                "classical_seconds": round(r["session_seconds"] - session["quantum_seconds"], 2),
                "classical_share": round(r["classical_share"], 4),
                "wall_s": round(r["wall"], 1),
            }), flush=True)


if __name__ == "__main__":
    main()
