"""What a recorded run costs in each Runtime execution mode, read from its ledger.

    OMP_NUM_THREADS=1 python tests/bench/bench_run_cost.py LEDGER RUN_ID [LEDGER RUN_ID ...]

For every oracle call of the run (the ledger's ``evaluations``: when the call started,
its wall time, its parameter points and shots) the estimated quantum seconds of its
job (:mod:`backends.usage` on the run's target: per job, per circuit, shots x (scheduled
duration + rep delay)), and the classical work between calls (from the end of one call
to the start of the next: optimiser, start model, result handling, ledger writes).

* **job / batch mode** bill the jobs' quantum seconds;
* **session mode** bills the session's active span. On hardware that span holds the
  jobs' quantum seconds and every classical second between them, so the bill printed
  here is ``quantum + classical between calls + after the last call until the run
  ends`` (a lower bound: the server-side time of each job beyond its quantum seconds,
  and classical work inside a call, such as a first transpilation, are not in it);
* the *local span* is the wall-clock span on this machine, where the simulator stands
  in for the QPU (what a local-mode session measures).

Runs without mitigation only (their calls are plain QAOA circuits, one per point).
Works on ledgers of any version that records evaluations (the branch before and after
a change can be compared with the same script).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
import sys


def _time(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def run_cost(ledger: str, run_id: str) -> dict:
    from backends import get_target
    from backends.capabilities import Capability, supports
    from hybrid.ansatz import qaoa_circuit
    from hybrid.device_graphs import load_graphs

    conn = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    try:
        spec_json, run_updated = conn.execute("SELECT spec_json, updated FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        rows = conn.execute("SELECT graph, idx, kind, params_json, record_json, created FROM evaluations "
                            "WHERE run_id = ? AND status = 'done' ORDER BY created", (run_id,)).fetchall()
    finally:
        conn.close()
    spec = json.loads(spec_json)
    if spec.get("mitigation", "none") != "none" or "+" in spec["backend"]:
        raise SystemExit(f"run {run_id} uses mitigation; this script prices plain QAOA circuits only")
    target = get_target(spec["backend"])
    if not supports(target, Capability.QPU_USAGE):
        raise SystemExit(f"{spec['backend']} has no usage model (backends.usage); use a device target")
    problems = {f"{i}:{g.id}": g for i, g in enumerate(load_graphs(spec["graphs"]))}
    calls = []
    for graph, idx, kind, params_json, record_json, created in rows:
        if kind != "evaluate":
            raise SystemExit(f"call {graph}#{idx} is a {kind!r} call; this script prices evaluate calls only")
        record = json.loads(record_json)
        points = len(json.loads(params_json))
        circuit = qaoa_circuit(problems[graph], spec["p"], measure=True)
        estimate = target.estimate_usage([circuit], int(record["shots"]), points=[points])
        start = _time(created)
        calls.append({"graph": graph, "start": start, "end": start + float(record["wall_time"]),
                      "quantum_seconds": estimate.quantum_seconds, "job_overhead_s": estimate.job_overhead_s,
                      "circuits": points, "shots": int(record["shots"])})
    quantum = math.fsum(c["quantum_seconds"] for c in calls)
    overhead = math.fsum(c["job_overhead_s"] for c in calls)
    between = math.fsum(max(0.0, b["start"] - a["end"]) for a, b in zip(calls, calls[1:]))
    tail = max(0.0, _time(run_updated) - calls[-1]["end"]) if calls else 0.0
    session = quantum + between + tail
    return {
        "run_id": run_id, "backend": spec["backend"], "graphs": len(problems), "p": spec["p"],
        "optimizer": spec["optimizer"], "init": spec["init"], "shots": spec.get("shots"),
        "jobs": len(calls), "circuits": sum(c["circuits"] for c in calls),
        "quantum_seconds": quantum, "job_overhead_share": overhead / quantum if quantum else None,
        "classical_between_calls_s": between, "after_last_call_s": tail,
        "session_billed_s": session, "session_classical_share": (between + tail) / session if session else None,
        "local_span_s": (_time(run_updated) - calls[0]["start"]) if calls else 0.0,
        "simulated_call_seconds": math.fsum(c["end"] - c["start"] for c in calls),
    }


def main(argv: list[str]) -> None:
    if len(argv) < 2 or len(argv) % 2:
        raise SystemExit(__doc__)
    for ledger, run_id in zip(argv[::2], argv[1::2]):
        cost = run_cost(ledger, run_id)
        print(json.dumps(cost))
        print(f"{run_id}: {cost['jobs']} jobs, {cost['circuits']} circuits; job/batch mode bills "
              f"{cost['quantum_seconds']:.1f} quantum s (per-job overhead {cost['job_overhead_share']:.0%}); a session "
              f"bills at least {cost['session_billed_s']:.1f} s ({cost['session_classical_share']:.0%} classical); "
              f"local span {cost['local_span_s']:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
