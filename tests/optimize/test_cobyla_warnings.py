"""scipy's COBYLA MAXFUN notes do not leak: a budget COBYLA would exceed is refused in our words, and
one it can keep runs without a scipy warning."""

from __future__ import annotations

import warnings

import pytest

from hybrid.oracles import make_oracle
from hybrid.optimize import optimize_graph
from hybrid.problems import regular_graph
from hybrid.validation import InputError, check_cobyla_budget

SEED = 4
P = 2
TINY_STEPS = 2  # below COBYLA's 2p + 2 points: scipy would raise it to 2p + 2 and warn about MAXFUN


def test_cobyla_with_a_tiny_budget_warns_nothing_and_keeps_the_budget():
    problem = regular_graph(6, 3, seed=SEED).with_max_cut()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = optimize_graph(problem, make_oracle(problem, P, "ideal"), p=P, init="fixed",
                             optimizer=f"cobyla:{2 * P + 2}", seed=SEED)
    assert not [w for w in caught if "MAXFUN" in str(w.message)]
    assert res.evaluations <= 2 * P + 2 + 1  # the budget (and at most the start's measurement)
    with pytest.raises(InputError, match=rf"--optimizer cobyla:{TINY_STEPS}: COBYLA needs at least 2p\+2 = {2 * P + 2}"):
        check_cobyla_budget(f"cobyla:{TINY_STEPS}", P)
    check_cobyla_budget("cobyla:0", P)
