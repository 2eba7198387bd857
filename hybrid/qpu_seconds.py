"""Estimated QPU seconds of a run's oracle calls, for the benchmark's tables.

A run on a sampled target makes one job per oracle call (:mod:`hybrid.oracles.sampled`:
a batch of parameter points is one job; every point is one circuit execution at the
run's shots). Given the run's calls as cumulative ``[evaluations, shots]`` pairs (the
history of :class:`hybrid.optimize.RunResult`, see
:func:`hybrid.benchmark.job_calls`), the quantum seconds of each call follow from the
target's usage model (:mod:`backends.usage`: per job, per circuit, and per shot x
(scheduled circuit duration + rep delay)).

*QPU seconds to reach* a fraction of the best-known AR: the seconds of every call up to
the one whose point first reached it (judged by the point's exact value on the target,
not by its noisy reading), plus one fresh re-measurement job of that point, which is
what reporting it costs under the rule that does not reward lucky draws (the run
engine re-measures its final point the same way).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from backends.capabilities import Capability, supports

from .ansatz import qaoa_circuit

#: Circuits of the fresh re-measurement that reports a point (one parameter point).
REMEASURE_CIRCUITS = 1

JobSeconds = Callable[[int], float]


def job_seconds_for(target: Any, problem, p: int, shots: int) -> JobSeconds | None:
    """``circuits -> quantum seconds`` of one job of the QAOA circuit of ``problem`` at depth ``p``
    on ``target`` (``circuits`` parameter points, ``shots`` each); None when the target has no
    usage model (ideal simulators) or the run is exact (no shots, no jobs to bill)."""
    if not shots or not supports(target, Capability.QPU_USAGE):
        return None
    circuit = qaoa_circuit(problem, p, measure=True)
    cache: dict[int, float] = {}

    def seconds(circuits: int) -> float:
        if circuits not in cache:
            cache[circuits] = float(target.estimate_usage([circuit], int(shots), points=[int(circuits)]).quantum_seconds)
        return cache[circuits]

    return seconds


def call_seconds(calls: Sequence[Sequence[int]], shots: int, job_seconds: JobSeconds) -> list[float]:
    """The quantum seconds of each call (``calls``: cumulative ``[evaluations, shots]`` after each)."""
    out, spent = [], 0
    for _, total in calls:
        circuits = (int(total) - spent) // int(shots)
        spent = int(total)
        out.append(job_seconds(circuits) if circuits > 0 else 0.0)
    return out


def qpu_seconds(calls: Sequence[Sequence[int]], shots: int, job_seconds: JobSeconds) -> float:
    """The quantum seconds of all calls: what job or batch mode bills for the run."""
    return math.fsum(call_seconds(calls, shots, job_seconds))


def reach_qpu_seconds(calls: Sequence[Sequence[int]], reach_evaluations: float, shots: int,
                      job_seconds: JobSeconds) -> float:
    """QPU seconds until the incumbent first reached the target fraction (the call that made
    ``reach_evaluations``, and every call before it) plus one re-measurement job; NaN if never."""
    if reach_evaluations is None or math.isnan(reach_evaluations):
        return math.nan
    per_call = call_seconds(calls, shots, job_seconds)
    spent = math.fsum(s for (evals, _), s in zip(calls, per_call) if evals <= reach_evaluations)
    return spent + job_seconds(REMEASURE_CIRCUITS)


def add_qpu_seconds(row: dict[str, Any], shots: int, job_seconds: JobSeconds | None) -> None:
    """Set ``qpu_seconds`` (all of the cell's calls) and ``reach_qpu_seconds`` on a finished benchmark cell.

    Cells without a usage model (ideal targets, exact runs) get None for both.
    """
    if job_seconds is None or "jobs" not in row and row.get("budget") != 0:
        row["qpu_seconds"] = row["reach_qpu_seconds"] = None
        return
    calls = row.get("jobs", [])
    row["qpu_seconds"] = qpu_seconds(calls, shots, job_seconds)
    row["reach_qpu_seconds"] = reach_qpu_seconds(calls, row["reach_evaluations"], shots, job_seconds)
