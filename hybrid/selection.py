"""Honest numbers under shot noise: the reported start and final values, and when to stop.

On a sampled target every value the optimiser sees is a noisy reading, and the largest
of many noisy readings is biased upward (winner's curse). A run therefore:

1. **stops early** (:class:`EarlyStop`) when its Phase II readings stop rising: a
   moving mean of the last :data:`PATIENCE` readings must beat the best one so far by
   one standard error of the difference, or the run stops after :data:`PATIENCE`
   readings without such a gain (a run that cannot improve on its start stops after
   :data:`PATIENCE` readings instead of spending its budget);
2. **selects** its final point by fresh values (:func:`choose_final`): the start and the
   :data:`FINAL_CANDIDATES` best distinct points by their noisy readings are measured
   again, in one batch, and the best *fresh* value picks the point;
3. **reports** the start and the chosen point from one more fresh batch, independent of
   the selection, so "init -> final" compares two readings taken the same way, neither
   of them a maximum over draws (when the start is chosen, one reading serves both).

The shots for steps 2 and 3 are reserved from the budget before Phase I
(:func:`final_reserve`). On exact targets none of this is needed: values are exact.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

#: Best distinct Phase I/II points re-measured beside the start to choose the final point.
FINAL_CANDIDATES = 3
#: Phase II readings without a significant gain before a sampled run stops.
PATIENCE = 5
#: Standard errors a moving mean must gain to count as progress.
PROGRESS_Z = 1.0
#: Points closer than this (radians, max norm) are the same candidate.
SAME_POINT_ATOL = 1e-9


class StopEarly(Exception):
    """Raised inside a run when :class:`EarlyStop` sees no progress; the run goes to its final selection."""


class EarlyStop:
    """Stops Phase II when a moving mean of its readings has not risen for :data:`PATIENCE` readings.

    ``start(value, stderr)`` sets the reference (the start's reading); ``observe(value,
    stderr)`` takes one Phase II reading and raises :class:`StopEarly` once ``patience``
    readings in a row brought no gain of ``z`` standard errors.
    """

    def __init__(self, patience: int = PATIENCE, z: float = PROGRESS_Z):
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        self.patience, self.z = int(patience), float(z)
        self.readings: list[tuple[float, float]] = []
        self.best: tuple[float, float] | None = None  # (mean, its standard error)
        self.since = 0
        self.stopped = False

    def start(self, value: float, stderr: float) -> None:
        if self.best is None:
            self.best = (float(value), float(stderr))

    def observe(self, value: float, stderr: float) -> None:
        self.readings.append((float(value), float(stderr)))
        window = self.readings[-self.patience:]
        mean = float(np.mean([v for v, _ in window]))
        err = math.sqrt(sum(s * s for _, s in window)) / len(window)
        if self.best is None:
            self.best = (mean, err)
            return
        if mean - self.best[0] > self.z * math.hypot(err, self.best[1]):
            self.best, self.since = (mean, err), 0
            return
        self.since += 1
        if self.since >= self.patience:
            self.stopped = True
            raise StopEarly


#: The final selection takes at most this fraction of the budget left after Phase I.
RESERVE_FRACTION = 0.5


def final_reserve(oracle, free_evaluations: int | None, free_shots: int | None, candidates: int = FINAL_CANDIDATES,
                  free_qpu_seconds: float | None = None):
    """``(candidates, Charge)`` to hold back for the selection and report batches.

    ``free_evaluations`` / ``free_shots`` / ``free_qpu_seconds`` are what the budget
    leaves after Phase I (``None``: unlimited). The candidate count shrinks until the reserve takes at most
    :data:`RESERVE_FRACTION` of them; the two report points are always kept.
    """

    def charge(k: int):  # two calls (each a job with its own overhead): select, then final
        final = oracle.charge("evaluate", 2)
        return final if k == 0 else oracle.charge("evaluate", k + 1) + final

    def fits(c) -> bool:
        return ((free_evaluations is None or c.evaluations <= RESERVE_FRACTION * free_evaluations)
                and (free_shots is None or c.shots <= RESERVE_FRACTION * free_shots)
                and (free_qpu_seconds is None or c.qpu_seconds <= RESERVE_FRACTION * free_qpu_seconds))

    k = candidates
    while k > 0 and not fits(charge(k)):
        k -= 1
    return k, charge(k)


def candidates(history: list[dict[str, Any]], start: np.ndarray, k: int) -> list[np.ndarray]:
    """The ``k`` best distinct Phase I/II points by their (noisy) readings, the start left out."""
    seen: list[tuple[float, np.ndarray]] = []
    for entry in history:
        if entry["phase"] not in ("phase1", "phase2", "init"):
            continue
        for point, value in zip(entry.get("points") or [entry["params"]], entry["energies"]):
            point = np.asarray(point, float)
            if np.allclose(point, start, rtol=0, atol=SAME_POINT_ATOL):
                continue
            seen.append((float(value), point))
    seen.sort(key=lambda item: -item[0])
    out: list[np.ndarray] = []
    for _, point in seen:
        if len(out) == k:
            break
        if not any(np.allclose(point, q, rtol=0, atol=SAME_POINT_ATOL) for q in out):
            out.append(point)
    return out


@dataclass(frozen=True)
class Choice:
    """The final point chosen by fresh values, and the start and final readings reported."""

    final: list[float]
    chose_start: bool
    init_value: float  # objective at the start, from the report batch
    final_value: float  # objective at the chosen point, from the report batch
    init_expected: float  # expected cut at the start (same readings)
    final_expected: float
    candidates: list[dict[str, Any]]  # every re-measured point with its noisy and fresh values
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Measure = Callable[[np.ndarray, str], tuple[np.ndarray, np.ndarray]]


def choose_final(measure: Measure, history: list[dict[str, Any]], start: np.ndarray, k: int) -> Choice:
    """Re-measure the start and the ``k`` best points (phase ``select``), pick by the fresh values,
    then measure the start and the chosen point again (phase ``final``) for the report.

    ``measure(points, phase)`` returns ``(objective values, expected cuts)`` of a batch.
    """
    start = np.asarray(start, float)
    cands = candidates(history, start, k)
    noisy = {i: _noisy_value(history, c) for i, c in enumerate(cands)}
    rows: list[dict[str, Any]] = []
    chosen = start
    if cands:
        values, _ = measure(np.vstack([start] + cands), "select")
        rows.append({"params": start.tolist(), "start": True, "fresh": float(values[0])})
        for i, c in enumerate(cands):
            rows.append({"params": c.tolist(), "start": False, "noisy": noisy[i], "fresh": float(values[i + 1])})
        best = int(np.argmax(values))
        chosen = start if best == 0 else cands[best - 1]
    chose_start = chosen is start
    if chose_start:
        values, expected = measure(start[None, :], "final")
        init_v = final_v = float(values[0])
        init_e = final_e = float(expected[0])
    else:
        values, expected = measure(np.vstack([start, chosen]), "final")
        init_v, final_v = float(values[0]), float(values[1])
        init_e, final_e = float(expected[0]), float(expected[1])
    return Choice(
        final=[float(x) for x in chosen],
        chose_start=chose_start,
        init_value=init_v,
        final_value=final_v,
        init_expected=init_e,
        final_expected=final_e,
        candidates=rows,
        rule=(f"start + {len(cands)} best points re-measured with fresh shots, best fresh value chosen; "
              "start and chosen point reported from a further fresh batch"),
    )


def _noisy_value(history: list[dict[str, Any]], point: np.ndarray) -> float:
    best = -math.inf
    for entry in history:
        for q, value in zip(entry.get("points") or [entry["params"]], entry["energies"]):
            if np.allclose(np.asarray(q, float), point, rtol=0, atol=SAME_POINT_ATOL):
                best = max(best, float(value))
    return best
