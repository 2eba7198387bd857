"""A run's QPU usage before anything is sent: its oracles built up front, and the estimate of the whole run.

:func:`prepare` builds every graph's oracle before a Runtime session opens (transpilation,
ZNE folding, readout-calibration circuits and the usage model's circuit durations are
all classical work that a session would otherwise bill), and loads each start's fitted
data or model. :func:`plan_usage` estimates the quantum seconds of the whole run from
those oracles' charges (:meth:`charge`, :mod:`backends.usage`) and the optimiser's call
pattern, so ``hybrid run`` and ``hybrid submit`` can print it, and ask, before sending.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator

from backends.capabilities import Capability, supports

from .optimize import parse_optimizer, start_cost
from .selection import FINAL_CANDIDATES

#: Runs estimated above this many QPU quantum seconds are confirmed first (``--yes`` skips):
#: ten minutes, the monthly allowance of IBM's Open Plan.
LONG_QPU_S = 600.0


@dataclass(frozen=True)
class UsagePlan:
    """The estimated QPU usage of a whole run (every graph, every oracle call, one job each)."""

    quantum_seconds: float
    jobs: int
    per_graph: tuple[float, ...]
    max_qpu_seconds: float | None = None

    @property
    def long(self) -> bool:
        return self.quantum_seconds > LONG_QPU_S

    def line(self) -> str:
        cap = (
            f", capped by max_qpu_seconds={self.max_qpu_seconds:g} per graph"
            if self.max_qpu_seconds is not None else ""
        )
        return (
            f"QPU usage estimate: about {self.quantum_seconds:.1f} quantum seconds in {self.jobs} jobs "
            f"over {len(self.per_graph)} graphs (job/batch mode bill; a session also bills the classical "
            f"time between jobs){cap}"
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["per_graph"] = list(self.per_graph)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "UsagePlan":
        return cls(float(data["quantum_seconds"]), int(data["jobs"]), tuple(float(x) for x in data["per_graph"]),
                   data.get("max_qpu_seconds"))


def execution_mode(target, execution: str = "auto") -> str:
    """The Runtime execution mode a run uses: ``session``, ``batch`` or ``job`` (``auto``:
    batch, which gives the same results as a session but bills only the jobs' quantum
    seconds, not the classical work between them; job mode where the target has no sessions)."""
    mode = "batch" if execution == "auto" else execution
    return mode if mode in ("session", "batch") and supports(target, Capability.SESSIONS) else "job"


@contextlib.contextmanager
def timed_execution(ledger, run_id: str, clock, execution) -> Iterator[None]:
    """Run the block inside ``execution`` (a Runtime session, batch or nothing) timed by
    ``clock`` (:class:`backends.usage.SessionClock`); the span is written to the run's
    ledger entry when the execution closes, also when the block raised (a crash or an
    interrupt still leaves a billed session behind)."""
    try:
        with execution:
            clock.open()
            yield
    finally:
        session = clock.close()
        if session.first_job_at is not None:
            ledger.record_session(run_id, session.to_dict())


def _key(index: int, problem) -> str:
    return f"{index}:{problem.id}"


def prepare(problems: Iterable, target, *, p: int, shots: int | None, mitigation: str = "none",
            gradient: str | None = None, init: str = "learned", skip=frozenset(),
            objective: str = "expectation") -> dict[str, Any]:
    """Every graph's oracle keyed ``"INDEX:ID"`` (the run's graph keys), built now, with the
    usage model's durations and the start's data loaded; graphs in ``skip`` are left out."""
    from .oracle_factory import objective_oracle
    from .strategies import get_strategy
    from .strategies.builtin import for_target

    oracles: dict[str, Any] = {}
    for index, problem in enumerate(problems):
        key = _key(index, problem)
        if key in skip:
            continue
        oracle = objective_oracle(problem, p, target, objective=objective, shots=shots, mitigation=mitigation,
                                  gradient=gradient)
        oracle.charge("evaluate", 1)  # transpiles and times the circuits now
        oracle.charge("value_and_grad", 1)
        strategy = get_strategy(for_target(init, target.spec, not oracle.exact))
        strategy.cost(p, problem)  # loads the fitted table or the model
        oracles[key] = oracle
    return oracles


def graph_calls(optimizer: str, phase_one: int, one_job: bool = False, p: int = 1) -> list[tuple[str, int, int]]:
    """``(kind, points, count)``: the oracle calls one graph makes with this optimiser and Phase I cost.

    Phase I evaluates one point per call (``one_job``: all its points in one call, as
    ``random:K`` does); a zero-cost start is measured once (except under Adam/SGD, whose
    first gradient call measures it); Phase II as the optimiser calls; on sampled targets
    the selection batch and the final re-measurement.
    """
    name, steps = parse_optimizer(optimizer)
    calls = ([("evaluate", phase_one, 1)] if one_job else [("evaluate", 1, phase_one)]) if phase_one else []
    if name in ("adam", "sgd") and steps > 0:
        calls.append(("value_and_grad", 1, steps + 1))
    elif name == "spsa" and steps > 0:
        calls += [("evaluate", 1, 0 if phase_one else 1), ("evaluate", 2, steps)]
    elif name == "cobyla" and steps > 0:
        # COBYLA's first call is the (already measured) start; scipy raises maxfun to 2p + 2,
        # and the run stops below it at STEPS new evaluations (hybrid.optimize)
        new = steps - 1 if steps >= 2 * p + 2 else min(steps, 2 * p + 1)
        calls += [("evaluate", 1, (0 if phase_one else 1) + new)]
    elif not phase_one:
        calls.append(("evaluate", 1, 1))
    # the final selection (hybrid.selection): the start and up to FINAL_CANDIDATES other
    # measured points re-measured in one job, then the start and the chosen point in another
    others = sum(points * count for _, points, count in calls) - 1
    k = min(FINAL_CANDIDATES, max(others, 0))
    if k:
        calls.append(("evaluate", k + 1, 1))
    calls.append(("evaluate", 2 if k else 1, 1))
    return [c for c in calls if c[2] > 0]


def plan_usage(problems: Iterable, oracles: dict[str, Any], *, p: int, init: str, optimizer: str,
               target_spec: str = "", max_qpu_seconds: float | None = None) -> UsagePlan:
    """The estimated quantum seconds of the run (see :class:`UsagePlan`)."""
    from .strategies import get_strategy
    from .strategies.builtin import RandomStarts, for_target

    per_graph, jobs = [], 0
    for index, problem in enumerate(problems):
        oracle = oracles.get(_key(index, problem))
        if oracle is None or oracle.exact or oracle.target is None or not supports(oracle.target, Capability.QPU_USAGE):
            continue
        spec = for_target(init, target_spec, True)
        phase_one = start_cost(spec, p, problem)
        seconds = 0.0
        for kind, points, count in graph_calls(optimizer, phase_one, isinstance(get_strategy(spec), RandomStarts), p):
            seconds += count * oracle.charge(kind, points).qpu_seconds
            jobs += count
        per_graph.append(min(seconds, max_qpu_seconds) if max_qpu_seconds is not None else seconds)
    return UsagePlan(sum(per_graph), jobs, tuple(per_graph), max_qpu_seconds)


def run_usage(graphs: Iterable[dict[str, Any]], sessions: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A run's usage for its report, from its graphs' results and its recorded sessions.

    ``qpu_seconds`` sums the estimated quantum seconds of every job (job and batch mode
    bill that); ``session_seconds`` sums the active spans (first job to last result or
    close) of the run's executions: what a session is billed, or, when the run did not
    use one (``execution`` says), what one would have been billed; ``classical_share``
    is the part of those spans no job of the run was using. ``billed_seconds`` is what
    the execution mode used bills. ``ibm_usage_seconds`` sums IBM's ``job.usage()``
    where every graph has it.
    """
    from backends.usage import SessionUsage

    graphs = list(graphs)
    spans = [SessionUsage.from_dict(s) for s in sessions]
    qpu = sum(float(g.get("qpu_seconds") or 0.0) for g in graphs)
    actual = [g.get("ibm_usage_seconds") for g in graphs]
    span = sum(s.billed_seconds for s in spans) if spans else None
    busy = sum(s.quantum_seconds for s in spans)
    modes = sorted({s.mode for s in spans})
    execution = ",".join(modes) if modes else None
    share = None if not span else min(1.0, max(0.0, 1.0 - busy / span))
    billed = span if execution == "session" else qpu
    return {
        "qpu_seconds": qpu,
        "qpu_jobs": sum(int(g.get("qpu_jobs") or 0) for g in graphs),
        "ibm_usage_seconds": sum(actual) if actual and all(a is not None for a in actual) else None,
        "execution": execution,
        "session_seconds": span,
        "classical_share": share,
        "billed_seconds": billed,
        "sessions": [s.to_dict() for s in spans],
    }


def usage_line(jobs: Iterable[dict[str, Any]], sessions: Iterable[dict[str, Any]]) -> str:
    """One line on a run's QPU usage from its ledger rows (``hybrid jobs show``): the jobs'
    estimated quantum seconds, IBM's figures where recorded, and each execution's billed span."""
    from backends.usage import SessionUsage

    jobs = list(jobs)
    parts = []
    est = [j["estimated_seconds"] for j in jobs if j.get("estimated_seconds") is not None]
    if est:
        parts.append(f"estimated {sum(est):.1f} quantum s over {len(est)} jobs")
    ibm_est = [j["ibm_estimated_seconds"] for j in jobs if j.get("ibm_estimated_seconds") is not None]
    if ibm_est:
        parts.append(f"IBM usage_estimation {sum(ibm_est):.1f} s ({len(ibm_est)} jobs)")
    actual = [j["actual_seconds"] for j in jobs if j.get("actual_seconds") is not None]
    if actual:
        parts.append(f"IBM usage() {sum(actual):.1f} s ({len(actual)} jobs)")
    for s in map(SessionUsage.from_dict, sessions):
        share = "-" if s.classical_share is None else f"{100 * s.classical_share:.0f} %"
        what = "session billed" if s.mode == "session" else f"{s.mode} mode, a session would bill"
        parts.append(f"{what} {s.billed_seconds:.1f} s ({s.jobs} jobs, classical share {share}"
                     + (", simulated jobs timed as QPU estimates" if s.simulated else "") + ")")
    return "QPU usage: " + ("; ".join(parts) if parts else "none recorded")
