"""Graph families and the train / validation / test splits every comparison uses.

One definition, shared by meta-training, baseline fitting and the benchmark, so
that "never used for training or selection" is a property of the code and not of
a convention:

* **training** (``split="train"``): what models and fitted baselines learn from;
* **validation** (``split="validation"``): model and stage selection only;
* **test** (``split="test"``): the benchmark; fresh graphs, larger than training,
  drawn from a seed no other split uses, plus the paper's 90 test graphs.

Families (each graph carries ``meta["family"]``):

``paper``     G(n, k/n), k = 3..n-1 (arXiv:2512.05058's family), unit weights
``regular``   random d-regular, d = 3, 4, 5, unit weights
``weighted``  connected G(n, 0.5) with weights uniform in [0.1, 1]
``sparse``    connected G(n, c/(n-1)) with mean degree c in [2.5, 3.5], unit weights

:func:`classify` maps any graph (a user's too) to one of these names, which is how
``--init auto`` looks up the best measured start for a graph it has never seen.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

import numpy as np

from .problems import MaxCutProblem, ProblemError, as_rng, erdos_renyi, paper_graph, regular_graph

FAMILIES = ("paper", "regular", "weighted", "sparse")
SPLITS = ("train", "validation", "test")
#: One seed per split; no two splits share a random stream.
SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}
#: Node counts per split: tests are larger than anything trained on.
SPLIT_NODES = {
    "train": {"paper": range(8, 13), "regular": range(8, 13), "weighted": range(8, 13), "sparse": range(8, 13)},
    "validation": {"paper": range(10, 13), "regular": range(10, 13), "weighted": range(10, 13), "sparse": range(10, 13)},
    "test": {"paper": range(12, 15), "regular": range(12, 21), "weighted": range(12, 17), "sparse": range(16, 21)},
}
REGULAR_DEGREES = (3, 4, 5)
WEIGHTS = "uniform:0.1,1.0"
SPARSE_MEAN_DEGREE = (2.5, 3.5)
#: Mean unweighted degree at or below which a non-regular unit graph counts as sparse
#: (a sparse G(n, k/n) of the paper family is classified sparse: same angles suit both).
SPARSE_CLASSIFY_DEGREE = 4.0


def family_graph(family: str, n: int, *, seed=None, id=None) -> MaxCutProblem:
    """One graph of ``family`` on ``n`` nodes."""
    rng = as_rng(seed)
    if family == "paper":
        k = int(rng.integers(3, n))
        problem = paper_graph(n, k, seed=rng, id=id)
    elif family == "regular":
        degrees = [d for d in REGULAR_DEGREES if d < n and (n * d) % 2 == 0]
        if not degrees:
            raise ProblemError(f"no regular family degree fits n={n}; use n >= 6")
        problem = regular_graph(n, int(rng.choice(degrees)), seed=rng, id=id)
    elif family == "weighted":
        problem = erdos_renyi(n, 0.5, seed=rng, weights=WEIGHTS, connected=True, id=id)
    elif family == "sparse":
        c = float(rng.uniform(*SPARSE_MEAN_DEGREE))
        problem = erdos_renyi(n, min(1.0, c / (n - 1)), seed=rng, connected=True, id=id)
    else:
        raise ProblemError(f"unknown graph family {family!r}; use one of {', '.join(FAMILIES)}")
    return replace(problem, meta={**problem.meta, "family": family})


def split_graphs(
    split: str,
    per_family: int,
    *,
    families: Sequence[str] = FAMILIES,
    nodes: dict[str, Iterable[int]] | None = None,
    with_max_cut: bool = True,
) -> list[MaxCutProblem]:
    """``per_family`` graphs of each family for ``split``, node counts cycling over the split's range.

    Deterministic: the same arguments always give the same graphs; graph ``i`` of a
    family depends only on the split, the family and ``i`` (so a larger
    ``per_family`` extends a smaller one).
    """
    if split not in SPLITS:
        raise ProblemError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if per_family < 1:
        raise ProblemError(f"per_family must be >= 1, got {per_family}")
    out = []
    for family in families:
        if family not in FAMILIES:
            raise ProblemError(f"unknown graph family {family!r}; use one of {', '.join(FAMILIES)}")
        ns = list((nodes or SPLIT_NODES[split])[family])
        for i in range(per_family):
            seed = np.random.SeedSequence([SPLIT_SEEDS[split], FAMILIES.index(family), i])
            rng = np.random.default_rng(seed)
            graph = family_graph(family, ns[i % len(ns)], seed=rng, id=f"{split}-{family}-{i}")
            out.append(graph.with_max_cut() if with_max_cut else graph)
    return out


def classify(problem: MaxCutProblem) -> str:
    """The family name a graph belongs to (by its own ``meta['family']`` if it has a known one)."""
    named = problem.meta.get("family") if problem.meta else None
    if named in FAMILIES:
        return str(named)
    if problem.is_weighted:
        return "weighted"
    degrees = problem.degrees(weighted=False)
    if degrees.size and np.all(degrees == degrees[0]):
        return "regular"
    if float(degrees.mean()) <= SPARSE_CLASSIFY_DEGREE:
        return "sparse"
    return "paper"
