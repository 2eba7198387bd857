"""scipy's COBYLA MAXFUN notes do not leak, and COBYLA keeps a budget below its 2p + 2 start points."""

from __future__ import annotations

import warnings

from hybrid.oracle_factory import make_oracle
from hybrid.optimize import optimize_graph
from hybrid.problems import regular_graph

SEED = 4
P = 2
TINY_STEPS = 2  # below COBYLA's 2p + 2 points: scipy would raise it to 2p + 2 and warn about MAXFUN


def test_cobyla_with_a_tiny_budget_warns_nothing_and_keeps_the_budget():
    problem = regular_graph(6, 3, seed=SEED).with_max_cut()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = optimize_graph(problem, make_oracle(problem, P, "ideal"), p=P, init="fixed",
                             optimizer=f"cobyla:{TINY_STEPS}", seed=SEED)
    assert not [w for w in caught if "MAXFUN" in str(w.message)]
    start = res.evaluations - TINY_STEPS
    assert start in (0, 1), res.evaluations  # the budget asked for, plus at most the start's measurement
