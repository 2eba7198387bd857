"""The solution of a run: the best bitstring sampled, its cut, and a classical polish of the samples.

QAOA is run for its samples. :func:`solve` turns the final state (or the run's own
shots) into a :class:`Solution`:

* on an exact target (``ideal``, exact ``fake:<device>``) it samples ``shots`` outcomes of
  the exact final state through the target's sampler (statevector or noisy density
  matrix; the target's MPS sampler at scale, ``aer`` with ``matrix_product_state``
  for ideal graphs beyond the statevector); these shots are simulated, not charged;
* on a sampled target it uses the best distinct outcomes of every measurement the run
  made (``pool``): no extra shots are taken;
* then every one of the :data:`POLISH_STARTS` best distinct samples is improved by a
  greedy 1-flip local search (:func:`polish`); the polished cut and its gain over the
  best sample are reported separately, so the quantum part is never credited with the
  classical step.

Bitstrings put node ``i`` at character ``i`` (:func:`hybrid.oracles.bitstring`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

import numpy as np

from .ansatz import qaoa_circuit
from .oracles import bitstring as key_to_bitstring
from .problems import MaxCutProblem, ProblemError

#: Shots drawn from the exact final state in exact modes (simulated, not charged to the budget).
SOLUTION_SHOTS = 1024
#: Distinct best samples each polished by the 1-flip local search.
POLISH_STARTS = 16
#: Largest graph whose ideal final state is sampled as a statevector; above it, by MPS.
STATEVECTOR_SAMPLE_MAX_NODES = 24
#: Beyond the statevector, samples come from an MPS whose bond dimension is capped here:
#: exact on low-entanglement circuits (heavy-hex graphs at small p), approximate beyond, and
#: bounded in time on any graph (a 40-node 3-regular graph at p = 2 would otherwise need a
#: bond dimension in the thousands). Every sampled cut is re-computed from the graph.
SOLUTION_MAX_BOND = 64


@dataclass(frozen=True)
class Solution:
    """The best sampled cut of a run, its polish, and how both compare with the best-known cut."""

    best_cut: float
    best_bitstring: str
    assignment: dict[str, int]  # node -> side (0 or 1) of the best sample
    polished_cut: float
    polished_bitstring: str
    polish_gain: float  # polished_cut - best_cut (>= 0): what the classical local search added
    best_known_cut: float
    best_known_source: str  # "exact", or how the best-known cut was found (with its upper bound)
    ratio: float  # best_cut / best_known_cut
    polished_ratio: float
    solution_shots: int  # samples the solution was taken from
    solution_source: str  # "exact final state (...)" or "the run's measurements"
    distinct_samples: int
    #: The best and polished values in the user's terms (``-C`` for a minimised QUBO or Ising energy).
    best_objective: float | None = None
    polished_objective: float | None = None
    sense: str = "max"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Solution":
        return cls(**data)


def _check_bits(problem: MaxCutProblem, bits: str) -> np.ndarray:
    if len(bits) != problem.n or set(bits) - {"0", "1"}:
        raise ProblemError(f"bitstring must have {problem.n} characters 0/1 (node i at character i), got {bits!r}")
    return np.frombuffer(bits.encode(), dtype=np.uint8) - ord("0")


def cut_value(problem: MaxCutProblem, bits: str) -> float:
    """``C`` of ``bits`` on ``problem``: the total weight of edges whose ends differ (plus the
    fields of the nodes on side 1 and the offset, for Ising and QUBO problems)."""
    x = _check_bits(problem, bits)
    return float(problem.values_of(x[None, :])[0])


def assignment(bits: str) -> dict[str, int]:
    """Node -> side (0 or 1) of a bitstring, node ids as JSON keys."""
    return {str(i): int(b) for i, b in enumerate(bits)}


def polish(problem: MaxCutProblem, bits: str) -> tuple[str, float]:
    """Greedy 1-flip local search: flip the node with the largest gain in ``C`` while one gains.

    Returns the local optimum and its value; the value never goes down.
    """
    x = _check_bits(problem, bits).astype(np.int64)
    n = problem.n
    adj = np.zeros((n, n))
    for (u, v), w in zip(problem.edge_array, problem.weights):
        adj[u, v] += w
        adj[v, u] += w
    spin = 1 - 2 * x  # +1 for side 0, -1 for side 1
    field = problem.field_array
    cut = cut_value(problem, bits)
    for _ in range(10 * n * n + 10):  # each flip raises the value: terminates; the cap only guards rounding
        # flipping i changes the cut by sum_j w_ij s_i s_j (edges to the same side become cut)
        # and the field term h_i z_i by h_i s_i
        gain = spin * (adj @ spin + field)
        i = int(np.argmax(gain))
        if gain[i] <= 1e-12:
            break
        spin[i] = -spin[i]
        cut += float(gain[i])
    out = "".join("0" if s > 0 else "1" for s in spin)
    return out, cut_value(problem, out)


def best_known(problem: MaxCutProblem) -> tuple[float, str]:
    """The best-known cut and its source: ``exact``, or the heuristic with its upper bound."""
    source = str(problem.max_cut_source)
    if source == "exact":
        return float(problem.max_cut), "exact"
    how = problem.meta.get("max_cut_method", "heuristic")
    bound = problem.meta.get("max_cut_upper_bound")
    tail = f"; upper bound {bound:.6g} ({problem.meta.get('max_cut_bound_method')})" if bound is not None else ""
    return float(problem.max_cut), f"best known ({how}{tail})"


def exact_counts(problem: MaxCutProblem, p: int, target, theta, shots: int, seed) -> tuple[dict[int, int], str]:
    """``shots`` outcomes of the exact final state at ``theta`` on ``target`` (``None``: ideal).

    Returns ``(counts, how)``: counts keyed by outcome integer (bit ``i`` = node ``i``).
    """
    from backends import get_target

    if target is None:
        target = get_target("ideal") if problem.n <= STATEVECTOR_SAMPLE_MAX_NODES else get_target(
            "aer", method="matrix_product_state", max_qubits=max(problem.n, 1), max_bond_dimension=SOLUTION_MAX_BOND
        )
    circuit = qaoa_circuit(problem, p, measure=True)
    result = target.sample(circuit, np.asarray(theta, float)[None, :], int(shots), seed=seed)
    method = result.metadata.get("method") or getattr(target, "method", None) or target.kind
    bond = getattr(target, "max_bond_dimension", None)
    return dict(result.counts[0]), f"{target.spec}: {method}" + (f", bond dimension <= {bond}" if bond else "")


def _ranked(problem: MaxCutProblem, bitstrings: Iterable[str]) -> list[tuple[str, float]]:
    seen = {b: cut_value(problem, b) for b in bitstrings}
    return sorted(seen.items(), key=lambda item: (-item[1], item[0]))


def from_samples(
    problem: MaxCutProblem, bitstrings: Iterable[str], *, shots: int, source: str
) -> Solution:
    """The :class:`Solution` of a set of sampled bitstrings (their best, polished)."""
    ranked = _ranked(problem, bitstrings)
    if not ranked:
        raise ProblemError("no samples to take a solution from: the run measured nothing")
    best_bits, best_cut = ranked[0]
    polished = [polish(problem, b) for b, _ in ranked[:POLISH_STARTS]]
    pol_bits, pol_cut = max(polished, key=lambda item: item[1])  # ties: the polish of the best sample
    known, known_source = best_known(problem)
    if problem.is_max_cut:
        ratio = lambda c: c / known if known else float("nan")  # noqa: E731
    else:
        ratio = problem.approximation_ratio
    return Solution(
        best_cut=best_cut,
        best_bitstring=best_bits,
        assignment=assignment(best_bits),
        polished_cut=pol_cut,
        polished_bitstring=pol_bits,
        polish_gain=pol_cut - best_cut,
        best_known_cut=known,
        best_known_source=known_source,
        ratio=ratio(best_cut),
        polished_ratio=ratio(pol_cut),
        solution_shots=int(shots),
        solution_source=source,
        distinct_samples=len(ranked),
        best_objective=problem.objective_value(best_cut),
        polished_objective=problem.objective_value(pol_cut),
        sense=problem.sense,
    )


def solve(
    problem: MaxCutProblem,
    p: int,
    oracle,
    theta,
    *,
    seed: int | None,
    pool: Iterable[str] = (),
    pool_shots: int = 0,
    shots: int = SOLUTION_SHOTS,
) -> Solution | None:
    """The run's solution: sampled from the exact final state (exact oracles) or its own shots.

    ``oracle`` tells which (``exact``, ``target``); ``pool`` holds the best distinct
    bitstrings the run's measurements returned and ``pool_shots`` the shots they came from.
    Returns ``None`` when a sampled run measured nothing.
    """
    if oracle.exact:
        counts, how = exact_counts(problem, p, oracle.target, theta, shots, seed)
        bits = [key_to_bitstring(int(k), problem.n) for k in counts]
        return from_samples(problem, bits, shots=sum(counts.values()), source=f"exact final state ({how})")
    pool = list(pool)
    if not pool:
        return None
    return from_samples(problem, pool, shots=pool_shots, source="the run's measurements (best distinct outcomes)")


def solution_line(result) -> str:
    """``; best cut 9 ... (polished 10, +1) of 10 exact`` for a run's progress line, the objective first
    when it is not the expectation ('' without either)."""
    sol = result.solution
    head = ""
    if result.objective != "expectation" and result.objective_init is not None:
        head = f"; {result.objective} / max cut {result.objective_init:.4f} -> {result.objective_final:.4f}"
    if not sol:
        return head
    known = "exact" if sol["best_known_source"] == "exact" else "best known"
    if sol.get("sense", "max") == "min":  # a minimised QUBO / Ising energy: its own value, and C = -value
        best_obj = -sol["best_known_cut"]
        return head + (f"; best value {sol['best_objective']:g} {sol['best_bitstring']} (polished "
                       f"{sol['polished_objective']:g}) of minimum {best_obj:g} {known}")
    return head + (f"; best cut {sol['best_cut']:g} {sol['best_bitstring']} (polished {sol['polished_cut']:g}, "
            f"+{sol['polish_gain']:g}) of {sol['best_known_cut']:g} {known}")
