"""Graphs, validation, JSON I/O, cut values and exact optima."""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from hybrid.problems import (
    MAX_CUT_EXACT,
    MAX_CUT_HEURISTIC,
    MaxCutProblem,
    ProblemError,
    brute_force_max_cut,
    coupling_subgraph,
    cut_diagonal,
    erdos_renyi,
    from_edges,
    from_networkx,
    graph_features,
    heuristic_max_cut,
    load_graphs,
    paper_dataset,
    paper_graph,
    physical_qubits,
    regular_graph,
    save_graphs,
)

SEED = 1234
BENCHMARK_FILE = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "paper_maxcut_graphs.json"


def naive_cut(problem: MaxCutProblem, z: int) -> float:
    return sum(w for u, v, w in problem.edges if ((z >> u) & 1) != ((z >> v) & 1))


# --------------------------------------------------------------------------- hand-solved optima
@pytest.mark.parametrize(
    "edges, expected",
    [
        ([(0, 1)], 1.0),  # single edge
        ([(0, 1), (1, 2), (0, 2)], 2.0),  # triangle
        ([(0, 1), (1, 2), (2, 3), (3, 0)], 4.0),  # square is bipartite
        ([(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)], 4.0),  # odd cycle C5
        ([(i, j) for i in range(4) for j in range(i + 1, 4)], 4.0),  # K4: 2x2 split
        ([(i, j) for i in range(5) for j in range(i + 1, 5)], 6.0),  # K5: 2x3 split
        ([(0, 1, 3.0), (1, 2, 1.0), (0, 2, 2.0)], 5.0),  # weighted triangle: drop the lightest
    ],
)
def test_brute_force_hand_solved(edges, expected):
    problem = from_edges(edges)
    value, z = brute_force_max_cut(problem)
    assert value == expected
    assert naive_cut(problem, z) == expected
    assert problem.with_max_cut().max_cut_source == MAX_CUT_EXACT


def test_petersen_graph_max_cut():
    problem = from_networkx(nx.petersen_graph())
    assert brute_force_max_cut(problem)[0] == 12.0


def test_cut_diagonal_matches_naive_weighted():
    problem = erdos_renyi(9, 0.5, seed=SEED, weights="uniform:0.2,3")
    diag = cut_diagonal(problem)
    assert diag.shape == (2**9,)
    expected = np.array([naive_cut(problem, z) for z in range(2**9)])
    np.testing.assert_allclose(diag, expected, atol=1e-12)
    assert problem.cut_of(5) == pytest.approx(naive_cut(problem, 5))


def test_brute_force_matches_diagonal_and_chunking():
    problem = erdos_renyi(12, 0.4, seed=SEED, weights="integer:5")
    assert brute_force_max_cut(problem)[0] == pytest.approx(cut_diagonal(problem).max())


def test_brute_force_n24_is_feasible():
    problem = erdos_renyi(24, 0.25, seed=SEED)
    value, z = brute_force_max_cut(problem)
    assert naive_cut(problem, z) == value
    heuristic, _ = heuristic_max_cut(problem, seed=SEED)
    assert heuristic <= value


def test_heuristic_marked_beyond_brute_force():
    problem = regular_graph(30, 3, seed=SEED)
    solved = problem.with_max_cut(max_nodes=20, seed=SEED)
    assert solved.max_cut_source == MAX_CUT_HEURISTIC
    assert 0 < solved.max_cut <= problem.total_weight
    with pytest.raises(ProblemError, match="brute force is limited"):
        brute_force_max_cut(problem, max_nodes=20)


def test_approximation_ratio():
    problem = from_edges([(0, 1), (1, 2), (0, 2)]).with_max_cut()
    assert problem.approximation_ratio(1.5) == pytest.approx(0.75)
    np.testing.assert_allclose(problem.approximation_ratio(np.array([1.0, 2.0])), [0.5, 1.0])


def test_cost_operator_is_cut_diagonal():
    problem = erdos_renyi(6, 0.6, seed=SEED, weights="uniform:0.5,2")
    diag = np.real(np.diag(problem.cost_operator().to_matrix()))
    np.testing.assert_allclose(diag, cut_diagonal(problem), atol=1e-12)


# --------------------------------------------------------------------------- generators
def test_generators_are_seeded():
    assert erdos_renyi(10, 0.3, seed=SEED) == erdos_renyi(10, 0.3, seed=SEED)
    assert paper_graph(8, 4, seed=SEED).edges == paper_graph(8, 4, seed=SEED).edges
    assert regular_graph(10, 3, seed=SEED).degrees(weighted=False).tolist() == [3.0] * 10
    weighted = erdos_renyi(10, 0.5, seed=SEED, weights="uniform:0.5,1.5")
    assert weighted.is_weighted and all(0.5 <= w <= 1.5 for w in weighted.weights)


def test_paper_dataset_size():
    data = paper_dataset(ns=[6, 7], per_nk=2, seed=SEED)
    assert len(data) == 2 * (3 + 4)
    assert {p.n for p in data} == {6, 7}


def test_graph_features_scale():
    feats = graph_features(from_networkx(nx.complete_graph(5)))
    assert feats[0] == pytest.approx(1 / math.sqrt(5))
    assert feats[1] == pytest.approx(math.atan(1 / math.sqrt(3)))  # degree 4
    assert feats[2] == pytest.approx(0.0)  # regular: no spread
    assert feats[3] == pytest.approx(1.0)  # complete graph: density 1
    assert feats[4] == pytest.approx(1.0)  # every triple is a triangle


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "edges, match",
    [
        ([(0, 0)], "self-loop"),
        ([(0, 1), (1, 0)], "duplicate edge"),
        ([(0, 1), (0, 1, 2.0)], "duplicate edge"),
        ([(0, 1, float("nan"))], "finite"),
        ([(0, 1, float("inf"))], "finite"),
        ([(0, 1, 0.0)], "zero-weight"),
        ([], "no edges"),
        ([(0, 1, "heavy")], "non-numeric weight"),
        ([(0, 1, 2, 3)], r"\[u, v\] or \[u, v, w\]"),
    ],
)
def test_bad_edges_rejected(edges, match):
    with pytest.raises(ProblemError, match=match):
        from_edges(edges)


def test_bad_n_rejected():
    with pytest.raises(ProblemError, match="n must be a positive integer|'n' must be a positive integer"):
        from_edges([(0, 1)], n=0)
    with pytest.raises(ProblemError, match="n must be >= 2"):
        erdos_renyi(1, 0.5)


def test_relabelling_keeps_mapping():
    problem = from_edges([("b", "a"), ("a", "c", 2.0)])
    assert problem.n == 3
    assert problem.labels == ("a", "b", "c")
    assert problem.edges == ((0, 1, 1.0), (0, 2, 2.0))
    gaps = from_edges([(10, 20), (20, 35)])
    assert gaps.n == 3 and gaps.labels == (10, 20, 35)
    kept = from_edges([(0, 1), (3, 4)], n=6)  # labels inside 0..n-1 are kept, isolated nodes too
    assert kept.n == 6 and kept.labels is None
    float_labels = from_edges([(0.5, 1.5)])
    assert float_labels.labels == (0.5, 1.5) and float_labels.n == 2


def test_max_cut_field_checked():
    with pytest.raises(ProblemError, match="exceeds the total edge weight"):
        MaxCutProblem.from_dict({"n": 2, "edges": [[0, 1, 1.0]], "max_cut": 5.0})
    with pytest.raises(ProblemError, match="'m'=3 but 1 edges"):
        MaxCutProblem.from_dict({"n": 2, "m": 3, "edges": [[0, 1, 1.0]]})


# --------------------------------------------------------------------------- JSON
def test_json_round_trip(tmp_path):
    problems = [erdos_renyi(8, 0.5, seed=SEED, id=0, weights="uniform:0.1,1").with_max_cut(), regular_graph(6, 3, seed=2, id=1)]
    path = save_graphs(problems, tmp_path / "g.json")
    loaded = load_graphs(path)
    assert [p.edges for p in loaded] == [p.edges for p in problems]
    assert loaded[0].max_cut == problems[0].max_cut


@pytest.mark.parametrize(
    "content, match",
    [
        ("not json at all", "not a JSON graph file"),
        ("[]", "non-empty JSON list"),
        ('{"foo": 1}', "non-empty JSON list"),
        ('[{"n": 3}]', "missing 'edges'"),
        ('[{"n": 3, "edges": "0-1"}]', "'edges' must be a list"),
        ('[[0, 1]]', "expected an object"),
    ],
)
def test_bad_files_rejected(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ProblemError, match=match):
        load_graphs(path)


def test_missing_file_rejected(tmp_path):
    with pytest.raises(ProblemError, match="does not exist"):
        load_graphs(tmp_path / "nope.json")


@pytest.mark.skipif(not BENCHMARK_FILE.exists(), reason="shared benchmarks not present")
def test_paper_benchmark_graphs_load_and_max_cut():
    problems = load_graphs(BENCHMARK_FILE)
    assert len(problems) == 90
    assert [p.n for p in problems[:14]] == [10] * 14
    # the recorded brute-force optimum of the file agrees with ours on a few graphs
    for problem in problems[::15]:
        assert brute_force_max_cut(problem)[0] == problem.max_cut
    raw = json.loads(BENCHMARK_FILE.read_text())
    assert problems[1].meta["connected"] is False and raw[1]["connected"] is False
    assert math.isclose(problems[0].total_weight, raw[0]["m"])


# --------------------------------------------------------------------------- layering and device-native graphs
#: Project modules the graph layer may import (everything else of hybrid/ and backends/ sits above it).
GRAPH_LAYER_MAY_IMPORT = ("hybrid.problems", "hybrid.maxcut")
GRAPH_LAYER_FILES = sorted((Path(__file__).resolve().parents[2] / "hybrid" / "problems").glob("*.py")) + [
    Path(__file__).resolve().parents[2] / "hybrid" / "maxcut.py"
]


def _project_imports(path: Path) -> set[str]:
    """Every project module ``path`` imports, at the top or inside functions (relative imports resolved)."""
    import ast

    package = "hybrid.problems" if path.parent.name == "problems" else "hybrid"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            found.add(name)
    return {m for m in found if m.split(".")[0] in ("hybrid", "backends")}


@pytest.mark.parametrize("path", GRAPH_LAYER_FILES, ids=lambda p: p.name)
def test_the_graph_layer_imports_nothing_above_it(path):
    above = {m for m in _project_imports(path) if not m.startswith(GRAPH_LAYER_MAY_IMPORT)}
    assert not above, f"{path.name} imports {sorted(above)}"


def test_a_device_spec_is_not_read_as_a_file():
    with pytest.raises(ProblemError, match="device graph spec.*hybrid.device_graphs.load_graphs"):
        load_graphs("heavyhex:torino:12")


def test_coupling_subgraph_is_a_connected_set_of_couplers():
    coupling = nx.grid_2d_graph(4, 5)
    coupling = nx.convert_node_labels_to_integers(coupling, ordering="sorted")
    problem = coupling_subgraph(coupling, "grid", 9, seed=SEED)
    qubits = physical_qubits(problem, "grid")
    assert problem.n == 9 and len(qubits) == 9 and list(qubits) == sorted(qubits)
    assert nx.is_connected(problem.to_networkx())
    assert {(qubits[u], qubits[v]) for u, v, _ in problem.edges} == set(coupling.subgraph(qubits).edges)
    assert problem == coupling_subgraph(coupling, "grid", 9, seed=SEED)
    assert physical_qubits(problem, "other") is None
    whole = coupling_subgraph(coupling, "grid")
    assert whole.n == 20 and whole.m == coupling.number_of_edges()
    with pytest.raises(ProblemError, match=r"n must be an integer in \[2, 20\] for grid"):
        coupling_subgraph(coupling, "grid", 21)
