"""What a recorded run costs in each Runtime execution mode, read from its ledger.

    OMP_NUM_THREADS=1 python tests/bench/bench_run_cost.py [--shots N] [--price-on TARGET] LEDGER RUN_ID [...]

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
  and classical work inside a call are not in it); ``first_call_setup_s`` is how much
  longer each graph's first call took than its median call (transpilation and simulator
  set-up done inside the first call), which a session also bills when that work is done
  after it opened (``session_with_setup_s``);
* **split**: Phase I's calls (the start's proposals) in job/batch mode, a session opened
  per graph only around its Phase II calls: Phase I's quantum seconds plus, per graph,
  Phase II's quantum seconds and the classical time between its Phase II calls;
* the *local span* is the wall-clock span on this machine, where the simulator stands
  in for the QPU (what a local-mode session measures).

Runs without mitigation only (their calls are plain QAOA circuits, one per point).
``--shots N`` prices every call at ``N`` shots per circuit: an exact run (no shots, e.g.
a 133-qubit run whose noisy energies come from Pauli propagation) then stands for the
same run on hardware, its classical work between calls measured, its jobs estimated;
``--price-on TARGET`` (e.g. ``fake:torino``) takes the usage model of that device for a
run on a target without one (the ideal simulator's light cones at 133 qubits).
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


def run_cost(ledger: str, run_id: str, shots: int | None = None, price_on: str | None = None) -> dict:
    from backends import get_target
    from backends.capabilities import Capability, supports
    from hybrid.ansatz import qaoa_circuit
    from hybrid.device_graphs import load_graphs
    from hybrid.optimize import start_cost
    from hybrid.strategies.builtin import for_target

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
    target = get_target(price_on or spec["backend"])
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
        priced = int(shots or record["shots"])
        if priced < 1:
            raise SystemExit(f"run {run_id} is exact (no shots); pass --shots N to price its calls at N shots")
        estimate = target.estimate_usage([circuit], priced, points=[points])
        start = _time(created)
        calls.append({"graph": graph, "start": start, "end": start + float(record["wall_time"]),
                      "quantum_seconds": estimate.quantum_seconds, "job_overhead_s": estimate.job_overhead_s,
                      "circuits": points, "shots": priced})
    seen: dict[str, int] = {}
    for c in calls:  # the first start_cost calls of each graph are its Phase I
        problem = problems[c["graph"]]
        phase_one = start_cost(for_target(spec["init"], spec["backend"], True), spec["p"], problem)
        seen[c["graph"]] = seen.get(c["graph"], 0) + 1
        c["phase"] = "phase1" if seen[c["graph"]] <= phase_one else "phase2"
    split = math.fsum(c["quantum_seconds"] for c in calls)
    for graph in problems:
        later = [c for c in calls if c["graph"] == graph and c["phase"] == "phase2"]
        split += math.fsum(max(0.0, b["start"] - a["end"]) for a, b in zip(later, later[1:]))
    setup = 0.0  # per graph, how much longer its first call took than its median call: transpilation, simulator set-up
    for graph in problems:
        walls = [c["end"] - c["start"] for c in calls if c["graph"] == graph]
        if len(walls) > 1:
            setup += max(0.0, walls[0] - float(sorted(walls[1:])[len(walls[1:]) // 2]))
    quantum = math.fsum(c["quantum_seconds"] for c in calls)
    overhead = math.fsum(c["job_overhead_s"] for c in calls)
    between = math.fsum(max(0.0, b["start"] - a["end"]) for a, b in zip(calls, calls[1:]))
    tail = max(0.0, _time(run_updated) - calls[-1]["end"]) if calls else 0.0
    session = quantum + between + tail
    return {
        "run_id": run_id, "backend": spec["backend"], "graphs": len(problems), "p": spec["p"],
        "optimizer": spec["optimizer"], "init": spec["init"], "shots": spec.get("shots"), "priced_shots": shots,
        "priced_on": price_on or spec["backend"],
        "jobs": len(calls), "circuits": sum(c["circuits"] for c in calls),
        "quantum_seconds": quantum, "job_overhead_share": overhead / quantum if quantum else None,
        "classical_between_calls_s": between, "after_last_call_s": tail,
        "session_billed_s": session, "split_billed_s": split, "first_call_setup_s": setup,
        "session_with_setup_s": session + setup,
        "phase1_jobs": sum(c["phase"] == "phase1" for c in calls), "session_classical_share": (between + tail) / session if session else None,
        "local_span_s": (_time(run_updated) - calls[0]["start"]) if calls else 0.0,
        "simulated_call_seconds": math.fsum(c["end"] - c["start"] for c in calls),
    }


def main(argv: list[str]) -> None:
    shots = price_on = None
    while argv[:1] in (["--shots"], ["--price-on"]):
        if argv[0] == "--shots":
            shots = int(argv[1])
        else:
            price_on = argv[1]
        argv = argv[2:]
    if len(argv) < 2 or len(argv) % 2:
        raise SystemExit(__doc__)
    for ledger, run_id in zip(argv[::2], argv[1::2]):
        cost = run_cost(ledger, run_id, shots, price_on)
        print(json.dumps(cost))
        print(f"{run_id}: {cost['jobs']} jobs, {cost['circuits']} circuits; job/batch mode bills "
              f"{cost['quantum_seconds']:.1f} quantum s (per-job overhead {cost['job_overhead_share']:.0%}); a session "
              f"bills at least {cost['session_billed_s']:.1f} s ({cost['session_classical_share']:.0%} classical); "
              f"with first-call set-up {cost['session_with_setup_s']:.1f} s; "
              f"Phase I in batch, Phase II in a session {cost['split_billed_s']:.1f} s; "
              f"local span {cost['local_span_s']:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
