"""No number on trust in a graph file: a given max_cut is checked, node ids are the integers 0..n-1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid.problems import ProblemError, load_graphs, regular_graph
from hybrid.problems.core import MAX_CUT_CHECK_BRUTE_NODES, MAX_CUT_CHECK_SDP_NODES
from hybrid.validation import InputError, load_checked_graphs

SEED = 7
TRIANGLE = [[0, 1, 1.0], [1, 2, 1.0], [0, 2, 1.0]]
#: n = 40, 3-regular: beyond brute force, within the SDP bound's range.
MEDIUM_N = 40
#: A 3-regular graph's max cut is at least this fraction of its edges (1-flip local optima cut >= 1/2).
LOCAL_OPT_FRACTION = 0.5


def write(tmp_path: Path, graphs) -> Path:
    path = tmp_path / "graphs.json"
    path.write_text(json.dumps(graphs))
    return path


def test_a_wrong_max_cut_of_a_small_graph_is_refused_naming_the_file(tmp_path):
    path = write(tmp_path, [{"n": 3, "edges": TRIANGLE, "max_cut": 1}])
    with pytest.raises(ProblemError, match=r"graphs\.json\[0\].*max_cut=1 but the maximum cut is 2 \(brute force\)"):
        load_graphs(path)
    with pytest.raises(InputError, match=r"--graphs.*graphs\.json.*max_cut=1"):
        load_checked_graphs(path)
    for wrong in (2.5, 3):
        with pytest.raises(ProblemError, match="max_cut"):
            load_graphs(write(tmp_path, [{"n": 3, "edges": TRIANGLE, "max_cut": wrong}]))
    (problem,) = load_graphs(write(tmp_path, [{"n": 3, "edges": TRIANGLE, "max_cut": 2}]))
    assert problem.max_cut == 2 and problem.max_cut_source == "exact"


def test_beyond_brute_force_the_value_is_held_between_a_cut_found_and_the_sdp_bound(tmp_path):
    problem = regular_graph(MEDIUM_N, 3, seed=SEED)
    assert MAX_CUT_CHECK_BRUTE_NODES < problem.n <= MAX_CUT_CHECK_SDP_NODES
    true_value = problem.with_max_cut(seed=SEED).max_cut
    data = problem.to_dict()
    for too_high in (problem.total_weight, true_value + 3):
        with pytest.raises(ProblemError, match="above the sdp-dual upper bound"):
            load_graphs(write(tmp_path, [{**data, "max_cut": too_high}]))
    with pytest.raises(ProblemError, match="below a cut of"):
        load_graphs(write(tmp_path, [{**data, "max_cut": LOCAL_OPT_FRACTION * problem.m - 1}]))
    (ok,) = load_graphs(write(tmp_path, [{**data, "max_cut": true_value}]))
    assert ok.max_cut == true_value


@pytest.mark.parametrize(
    "edges, n, match",
    [
        ([[0, 1], [1, -2]], None, "node -2, outside 0..n-1"),
        ([[0, 1], [1, 3]], 3, "node 3, outside 0..2"),
        ([[0, 1.0], [1, 2]], None, "names node 1.0; nodes are the integers"),
        ([[0, 1], ["0", 2]], None, "names node '0'; nodes are the integers"),
        ([["a", "b"]], None, "names node 'a'"),
        ([[True, 2]], None, "names node True"),
        ([[0, 1]], True, "'n' must be a positive integer"),
    ],
)
def test_node_ids_must_be_the_integers_0_to_n_minus_1(tmp_path, edges, n, match):
    graph = {"edges": edges} if n is None else {"n": n, "edges": edges}
    with pytest.raises(ProblemError, match=match):
        load_graphs(write(tmp_path, [graph]))
    with pytest.raises(InputError, match="--graphs"):
        load_checked_graphs(tmp_path / "graphs.json")
