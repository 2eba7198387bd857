"""Graph families and the train / validation / test splits."""

from dataclasses import replace

import pytest

from hybrid.families import FAMILIES, SPARSE_CLASSIFY_DEGREE, SPLIT_NODES, classify, family_graph, split_graphs
from hybrid.problems import ProblemError

PER_FAMILY = 4


def _key(problem):
    return (problem.n, tuple(problem.edges))


def test_splits_are_deterministic_and_extend():
    small = split_graphs("train", 2, with_max_cut=False)
    large = split_graphs("train", PER_FAMILY, with_max_cut=False)
    again = split_graphs("train", 2, with_max_cut=False)
    assert [_key(g) for g in small] == [_key(g) for g in again]
    by_id = {g.id: _key(g) for g in large}
    assert all(by_id[g.id] == _key(g) for g in small)


def test_a_family_does_not_depend_on_the_others_asked_for():
    alone = split_graphs("train", 2, families=["sparse"], with_max_cut=False)
    together = [g for g in split_graphs("train", 2, with_max_cut=False) if g.meta["family"] == "sparse"]
    assert [_key(g) for g in alone] == [_key(g) for g in together]


def test_splits_share_no_graph():
    keys = {split: {_key(g) for g in split_graphs(split, PER_FAMILY, with_max_cut=False)} for split in ("train", "validation", "test")}
    assert not keys["train"] & keys["validation"]
    assert not keys["train"] & keys["test"]
    assert not keys["validation"] & keys["test"]


def test_test_graphs_are_larger_than_training():
    largest_train = max(max(ns) for ns in SPLIT_NODES["train"].values())
    assert all(g.n >= 12 for g in split_graphs("test", PER_FAMILY, with_max_cut=False))
    assert max(g.n for g in split_graphs("test", PER_FAMILY, with_max_cut=False)) > largest_train


@pytest.mark.parametrize("family", FAMILIES)
def test_classify_recovers_the_family_without_labels(family):
    for graph in split_graphs("validation", PER_FAMILY, families=[family], with_max_cut=False):
        assert graph.meta["family"] == family
        assert classify(graph) == family
        found = classify(replace(graph, meta={}))
        if family in ("regular", "weighted"):
            assert found == family
        else:  # unit, irregular graphs: by mean degree
            sparse = graph.degrees(weighted=False).mean() <= SPARSE_CLASSIFY_DEGREE
            assert found == ("sparse" if sparse else "paper")


def test_family_properties():
    regular = family_graph("regular", 12, seed=3)
    degrees = regular.degrees(weighted=False)
    assert (degrees == degrees[0]).all() and degrees[0] in (3, 4, 5)
    weighted = family_graph("weighted", 10, seed=3)
    assert weighted.is_weighted and all(0.1 <= w <= 1.0 for w in weighted.weights)
    sparse = family_graph("sparse", 18, seed=3)
    assert sparse.degrees(weighted=False).mean() <= SPARSE_CLASSIFY_DEGREE


def test_bad_family_and_split_are_named():
    with pytest.raises(ProblemError, match="unknown graph family 'dense'"):
        family_graph("dense", 10, seed=0)
    with pytest.raises(ProblemError, match="unknown split 'dev'"):
        split_graphs("dev", 1)
    with pytest.raises(ProblemError, match="per_family must be >= 1"):
        split_graphs("train", 0)
