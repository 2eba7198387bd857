"""Honest numbers under shot noise: fresh re-measurement of start and final, selection, early stop."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid.oracles import Charge, Evaluation
from hybrid.oracles.base import as_batch
from hybrid.optimize import optimize_graph
from hybrid.problems import regular_graph
from hybrid.selection import PATIENCE, EarlyStop, StopEarly, candidates, choose_final, final_reserve

SEED = 5
P = 1
SHOTS = 100
LUCK = 3.0  # how much the first reading of a point overstates it (a winner's-curse draw)
NOISE = 0.01
TOL = 1e-12


class LuckyOracle:
    """A sampled stand-in: the first reading of every point is ``LUCK`` too high, later readings are
    the true value (plus ``NOISE`` from the seed). Counts its readings per point."""

    exact = False
    method = "stand-in"
    target = None

    def __init__(self, problem, p, value):
        self.problem, self.p, self.value = problem, p, value
        self.readings: dict[tuple, int] = {}
        self.calls: list[int] = []

    def charge(self, kind, points=1):
        count = points * (5 if kind == "value_and_grad" else 1)
        return Charge(count, count * SHOTS)

    def _read(self, point, rng):
        key = tuple(np.round(point, 12))
        self.readings[key] = self.readings.get(key, 0) + 1
        luck = LUCK if self.readings[key] == 1 else 0.0
        return self.value(point) + luck + NOISE * rng.standard_normal()

    def evaluate(self, params, seed=None):
        batch = as_batch(params, self.p)
        rng = np.random.default_rng(seed)
        self.calls.append(batch.shape[0])
        values = np.array([self._read(x, rng) for x in batch])
        return Evaluation(batch, values, np.full(len(values), NOISE), shots=SHOTS * len(values))

    def value_and_grad(self, theta, seed=None):
        theta = as_batch(theta, self.p)[0]
        step = 1e-2
        points = np.vstack([theta, theta + step * np.eye(2), theta - step * np.eye(2)])
        ev = self.evaluate(points, seed)
        e = ev.energies
        return float(e[0]), (e[1:3] - e[3:]) / (2 * step), ev

    def reads_of(self, point):
        return self.readings.get(tuple(np.round(point, 12)), 0)


@pytest.fixture(scope="module")
def problem():
    return regular_graph(6, 3, seed=SEED).with_max_cut()


def peak(problem, at):
    return lambda x: problem.max_cut * (0.9 - 0.5 * float(np.sum((np.asarray(x) - at) ** 2)))


def test_start_and_final_are_fresh_readings_taken_the_same_way(problem):
    oracle = LuckyOracle(problem, P, peak(problem, np.array([0.7, 0.4])))
    res = optimize_graph(problem, oracle, p=P, init="fixed", optimizer="spsa:6", seed=SEED)
    start = np.array(res.init_params)
    assert oracle.reads_of(start) >= 2  # the Phase II reading, then fresh ones
    phases = [h["phase"] for h in res.history]
    assert phases[-1] == "final" and "select" in phases
    final = res.history[-1]
    # both reported values come from the last batch, free of the first (lucky) reading
    assert res.ar_init * problem.max_cut == pytest.approx(final["energies"][0], abs=TOL)
    truth = oracle.value(start)
    assert abs(res.ar_init * problem.max_cut - truth) < 10 * NOISE
    assert abs(res.ar_final * problem.max_cut - oracle.value(res.final_params)) < 10 * NOISE
    assert res.selection["candidates"][0]["start"] is True


def test_the_final_point_is_chosen_by_fresh_values_not_the_luckiest_reading(problem):
    history = [
        {"phase": "phase2", "params": [0.1, 0.1], "energies": [9.0]},  # lucky reading of a poor point
        {"phase": "phase2", "params": [0.5, 0.5], "energies": [5.0]},
    ]
    truth = {(0.0, 0.0): 4.0, (0.1, 0.1): 3.0, (0.5, 0.5): 6.0}
    calls = []

    def measure(points, phase):
        calls.append(phase)
        values = np.array([truth[tuple(np.round(x, 6))] for x in points])
        return values, values

    choice = choose_final(measure, history, np.zeros(2), k=2)
    assert calls == ["select", "final"]
    assert choice.final == [0.5, 0.5] and not choice.chose_start
    assert (choice.init_value, choice.final_value) == (4.0, 6.0)


def test_candidates_skip_the_start_and_duplicates():
    history = [
        {"phase": "phase2", "params": [0.0, 0.0], "energies": [9.0]},
        {"phase": "phase2", "params": [0.1, 0.1], "points": [[0.1, 0.1], [0.2, 0.2]], "energies": [3.0, 4.0]},
        {"phase": "phase2", "params": [0.2, 0.2], "energies": [2.0]},
        {"phase": "final", "params": [0.3, 0.3], "energies": [99.0]},
    ]
    got = candidates(history, np.zeros(2), 5)
    assert [list(c) for c in got] == [[0.2, 0.2], [0.1, 0.1]]


def test_a_run_that_cannot_improve_on_its_start_stops_early(problem):
    flat = LuckyOracle(problem, P, lambda x: 0.8 * problem.max_cut)
    res = optimize_graph(problem, flat, p=P, init="fixed", optimizer="adam:40", seed=SEED, max_shots=10**6)
    phase2 = [h for h in res.history if h["phase"] == "phase2"]
    assert res.stopped_early and len(phase2) == PATIENCE + 1  # the start's reading, then PATIENCE without gain
    climbing = LuckyOracle(problem, P, peak(problem, np.array([1.2, 0.9])))
    res = optimize_graph(problem, climbing, p=P, init="fixed", optimizer="adam:40", lr=0.05, seed=SEED)
    assert len([h for h in res.history if h["phase"] == "phase2"]) > PATIENCE + 1
    assert res.ar_final > res.ar_init


def test_early_stop_waits_for_patience_readings_without_gain():
    stop = EarlyStop(patience=3, z=1.0)
    stop.start(1.0, 0.1)
    stop.observe(2.0, 0.1)  # a clear gain resets the count
    stop.observe(1.0, 0.1)
    stop.observe(1.0, 0.1)
    with pytest.raises(StopEarly):
        stop.observe(1.0, 0.1)
    assert stop.stopped


def test_the_reserve_shrinks_to_half_the_free_budget():
    class Counting:
        def charge(self, kind, points=1):
            return Charge(points, points * SHOTS)

    assert final_reserve(Counting(), None, None)[0] == 3
    k, charge = final_reserve(Counting(), 10, None)
    assert k == 2 and charge == Charge(5, 5 * SHOTS)
    k, charge = final_reserve(Counting(), 2, 2 * SHOTS)
    assert k == 0 and charge.evaluations == 2  # the two report points are always kept
