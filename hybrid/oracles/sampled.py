"""``<C>`` estimated from shots on any target, and the statistics of counts.

:func:`counts_statistics` turns counts into the mean cut, its standard error, CVaR and
the best sampled cut; :class:`SampledOracle` samples parameter batches in one job each.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable

import numpy as np

from backends.capabilities import Capability, supports

from ..ansatz import qaoa_circuit
from ..problems import MaxCutProblem, ProblemError
from .base import Charge, Evaluation, as_batch, job_qpu_seconds, run_or_attach
from .gradients import GRADIENTS, gate_level, gradient_rule
from .statevector import STATEVECTOR_MAX_NODES


def _cut_lookup(problem: MaxCutProblem):
    """Outcome integers -> ``C`` (the cut plus fields and offset): the diagonal while it fits."""
    if problem.n <= STATEVECTOR_MAX_NODES:
        diag = problem.cut_values()
        return lambda keys: diag[np.asarray(keys, dtype=np.int64)]
    edges = problem.edge_array
    w = problem.weights

    def lookup(keys):
        keys = np.asarray([int(k) for k in keys], dtype=object)
        bits = np.array([[(k >> i) & 1 for i in range(problem.n)] for k in keys], dtype=np.int8)
        if problem.fields is not None or problem.offset:
            return problem.values_of(bits)  # the cut, the fields and the offset
        return (bits[:, edges[:, 0]] != bits[:, edges[:, 1]]) @ w

    return lookup


#: Distinct best outcomes an evaluation keeps (``Evaluation.samples``) for the run's solution.
TOP_SAMPLES = 16


def counts_statistics(problem: MaxCutProblem, counts: dict[int, int], cvar_alpha: float = 1.0) -> dict[str, Any]:
    """Mean cut, its standard error, CVaR-alpha (mean of the best alpha fraction), the best cut
    and the :data:`TOP_SAMPLES` best distinct outcomes (``top_keys``, best first)."""
    if not counts:
        raise ProblemError("counts are empty: the job returned no shots")
    if not 0 < cvar_alpha <= 1:
        raise ProblemError(f"cvar_alpha must be in (0, 1], got {cvar_alpha}")
    keys = list(counts)
    cuts = _cut_lookup(problem)(keys)
    freq = np.array([counts[k] for k in keys], dtype=float)
    shots = freq.sum()
    mean = float(freq @ cuts / shots)
    var = float(freq @ (cuts - mean) ** 2 / max(shots - 1, 1))
    order = np.argsort(-cuts)
    need = cvar_alpha * shots
    taken = np.minimum(np.cumsum(freq[order]), need)
    used = np.diff(np.concatenate([[0.0], taken]))
    cvar = float(used @ cuts[order] / need)
    best = int(order[0])
    return {
        "mean": mean,
        "stderr": math.sqrt(var / shots),
        "cvar": cvar,
        "best_cut": float(cuts[best]),
        "best_key": int(keys[best]),
        "top_keys": [int(keys[i]) for i in order[:TOP_SAMPLES]],
        "shots": int(shots),
    }


def bitstring(key: int, n: int) -> str:
    """Outcome integer -> bitstring with node 0 first (node i is character i)."""
    return "".join(str((key >> i) & 1) for i in range(n))


def top_samples(problem: MaxCutProblem, stats: list[dict[str, Any]]) -> tuple[str, ...]:
    """The :data:`TOP_SAMPLES` best distinct bitstrings over the statistics of several count sets."""
    keys = sorted({k for s in stats for k in s.get("top_keys", ())})
    if not keys:
        return ()
    cuts = _cut_lookup(problem)(keys)
    ranked = [k for _, k in sorted(zip(-np.asarray(cuts, float), keys))]
    return tuple(bitstring(k, problem.n) for k in ranked[:TOP_SAMPLES])


class SampledOracle:
    """``<C>`` estimated from shots on any target.

    Gradients (:meth:`value_and_grad`), all shifted points in one job, by a rule of
    :mod:`hybrid.oracles.gradients`:

    * ``gradient="param_shift"`` (default): the exact two-term rule per rotation gate
      (:func:`hybrid.ansatz.qaoa_gate_circuit`), unbiased under shot noise, at
      ``2 p (m + n)`` extra circuits;
    * ``gradient="fd"``: central differences in ``theta`` with step ``fd_step``
      (``4p`` extra circuits; biased by O(step^2), cheaper for large graphs);
    * ``gradient="spsa"``: one simultaneous perturbation, 2 extra circuits.
    """

    exact = False
    method = None  # sampled on the target; its metadata says how

    def __init__(
        self,
        problem: MaxCutProblem,
        p: int,
        target,
        *,
        shots: int = 4000,
        cvar_alpha: float = 1.0,
        fd_step: float = 0.1,
        gradient: str = "param_shift",
    ):
        if shots < 1:
            raise ProblemError(f"shots must be >= 1, got {shots}")
        if gradient not in GRADIENTS:
            raise ProblemError(f"gradient must be 'param_shift' or 'fd' or 'spsa', got {gradient!r}")
        target.check_fits(problem.n)
        self.problem, self.p, self.target = problem, int(p), target
        self.shots, self.cvar_alpha, self.fd_step = int(shots), float(cvar_alpha), float(fd_step)
        self.gradient, self.fd_mode = gradient, "central"
        self.gradient_rule = gradient_rule(gradient, fd_step=self.fd_step, fd_mode=self.fd_mode)
        self.circuit = qaoa_circuit(problem, p, measure=True)
        self._gates: tuple | None = None

    @property
    def supports_jobs(self) -> bool:
        """Whether the target submits jobs with ids that can be fetched again (``ibm:``)."""
        return supports(self.target, Capability.JOBS)

    def charge(self, kind: str, points: int = 1) -> Charge:
        """Budget charge of a call: every circuit point is one evaluation of ``shots`` shots,
        all in one job whose quantum seconds the target's usage model estimates."""
        count = points * self.gradient_rule.num_points(self) if kind == "value_and_grad" else points
        circuit = gate_level(self)[0] if self.gradient_rule.gate_level else self.circuit
        return Charge(count, count * self.shots, job_qpu_seconds(self.target, [circuit], self.shots, [count]))

    def evaluate(
        self,
        params: Any,
        seed: int | np.random.Generator | None = None,
        *,
        on_submit: Callable[[Any], None] | None = None,
        attach_job: Any = None,
    ) -> Evaluation:
        """Sample a parameter batch in one job.

        With a job-based target, ``on_submit(job)`` is called with the submitted job's
        record (``backends.ibm.SubmittedJob``) the moment the job is accepted (before
        waiting), and ``attach_job`` (a record, its dict or a job id) fetches an earlier
        job instead of submitting anything.
        """
        batch = as_batch(params, self.p)
        if not self.gradient_rule.gate_level:
            return self._sample(self.circuit, batch, seed, on_submit, attach_job)
        # the gate-level circuit, so values and parameter-shift gradients share one ISA circuit
        circuit, jac = gate_level(self)
        ev = self._sample(circuit, batch @ jac, seed, on_submit, attach_job)
        return dataclasses.replace(ev, params=batch)

    def evaluate_gates(self, points: Any, seed: int | np.random.Generator | None = None, **job_hooks) -> Evaluation:
        """Sample points of the gate-level circuit (one angle per rotation gate) in one job."""
        return self._sample(gate_level(self)[0], np.atleast_2d(np.asarray(points, float)), seed, **job_hooks)

    def _sample(self, circuit, batch: np.ndarray, seed, on_submit=None, attach_job=None) -> Evaluation:
        start = time.perf_counter()
        result = run_or_attach(
            self.target, attach_job=attach_job, on_submit=on_submit, jobs=self.supports_jobs,
            submit=lambda: self.target.submit(circuit, batch, self.shots),
            run=lambda: self.target.sample(circuit, batch, self.shots, seed=seed),
        )
        stats = [counts_statistics(self.problem, c, self.cvar_alpha) for c in result.counts]
        best = max(stats, key=lambda s: s["best_cut"])
        return Evaluation(
            params=batch,
            energies=np.array([s["mean"] for s in stats]),
            stderr=np.array([s["stderr"] for s in stats]),
            shots=self.shots * batch.shape[0],
            cvar=np.array([s["cvar"] for s in stats]),
            best_cut=best["best_cut"],
            best_bitstring=bitstring(best["best_key"], self.problem.n),
            job_ids=tuple(result.job_ids),
            samples=top_samples(self.problem, stats),
            wall_time=time.perf_counter() - start,
            metadata=dict(result.metadata),
        )

    def value_and_grad(self, theta: Any, seed: int | np.random.Generator | None = None, **job_hooks):
        return self.gradient_rule.value_and_grad(self, theta, seed, **job_hooks)
