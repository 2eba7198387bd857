"""The data of meta-training: training and validation graph sets, graph features, batch normalisation.

* :func:`training_graphs` and :func:`validation_graphs` build the graph sets a
  :class:`~hybrid.config.MetaConfig` names (the paper family, Erdos-Renyi, regular,
  the families' splits, or a graph file).
* Parameters seen by the models are normalised: ``gamma * mean_weight`` and ``beta``
  (so weighted graphs look like unit ones); :func:`param_scale` gives the factors for a
  batch of graphs, :func:`to_actual` undoes them, :func:`start_params` is the
  normalised episode start.
* :func:`feature_matrix` stacks the graph features a model is fed (``FEATURE_SETS``).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from ..ansatz import weight_scale
from ..config import ConfigError, MetaConfig
from ..device_graphs import load_graphs
from ..problems import (
    FAMILY_FEATURE_NAMES,
    MaxCutProblem,
    as_rng,
    erdos_renyi,
    family_features,
    graph_features,
    paper_dataset,
    paper_graph,
    regular_graph,
)
from ..schedules import fixed_angle_params, tqa_params


def training_graphs(cfg: MetaConfig) -> list[MaxCutProblem]:
    data = cfg.data
    if data.generator == "families":
        from ..families import split_graphs

        return split_graphs("train", data.per_family, families=data.families)
    if data.generator == "paper":
        graphs = paper_dataset(ns=data.ns, per_nk=data.per_nk, seed=data.seed, weights=data.weights)
    elif data.generator == "erdos_renyi":
        rng = as_rng(data.seed)
        graphs = [
            erdos_renyi(int(rng.choice(data.ns)), data.edge_probability, seed=rng, weights=data.weights, id=i)
            for i in range(data.count)
        ]
    elif data.generator == "regular":
        rng = as_rng(data.seed)
        graphs = [
            regular_graph(int(rng.choice(data.ns)), data.degree, seed=rng, weights=data.weights, id=i)
            for i in range(data.count)
        ]
    else:
        if not data.path:
            raise ConfigError("data.generator 'file' needs data.path (a graph JSON file)")
        graphs = load_graphs(data.path)
    too_big = [g.n for g in graphs if g.n > 16]
    if too_big:
        raise ConfigError(f"training graphs must have n <= 16 (got n={max(too_big)}); the ideal oracle is a statevector")
    return [g.with_max_cut() for g in graphs]


def validation_graphs(cfg: MetaConfig, ns: Sequence[int] | None = None, count: int | None = None) -> list[MaxCutProblem]:
    """Held-out graphs: the paper family drawn with their own seed, or the families' "validation" split.

    For ``validation.generator: families``, ``ns`` (if given) replaces the split's node
    counts and ``count`` the number per family.
    """
    if cfg.validation.generator == "families":
        from ..families import split_graphs

        nodes = {f: list(ns) for f in cfg.data.families} if ns else None
        return split_graphs("validation", count or cfg.validation.per_family, families=cfg.data.families, nodes=nodes)
    rng = as_rng(cfg.validation.seed)
    ns = list(ns or cfg.validation.ns)
    out = []
    for i in range(count or cfg.validation.count):
        n = ns[i % len(ns)]
        k = int(rng.integers(3, n))
        out.append(paper_graph(n, k, seed=rng, weights=cfg.data.weights, id=f"val{i}").with_max_cut())
    return out


def param_scale(problems: Sequence[MaxCutProblem], p: int) -> torch.Tensor:
    """Per-graph normalisation ``[w, .., w, 1, .., 1]`` (normalised = actual * scale)."""
    return torch.tensor([[weight_scale(g)] * p + [1.0] * p for g in problems], dtype=torch.float64)


def to_actual(normalised: np.ndarray, problem: MaxCutProblem, p: int) -> np.ndarray:
    return np.asarray(normalised, float) / np.array([weight_scale(problem)] * p + [1.0] * p)


def start_params(problems: Sequence[MaxCutProblem], p: int, start: str) -> torch.Tensor:
    """Normalised episode start ``x_0`` for each graph."""
    rows = []
    for g in problems:
        if start == "zero":
            theta = np.zeros(2 * p)
        elif start == "fixed":
            theta = fixed_angle_params(g, p)
        elif start == "tqa":
            theta = tqa_params(g, p)
        else:
            raise ConfigError(f"unknown start {start!r}; use zero, fixed or tqa")
        rows.append(theta * np.array([weight_scale(g)] * p + [1.0] * p))
    return torch.tensor(np.array(rows), dtype=torch.float64)


FEATURE_SETS: dict[str, tuple[Callable[[MaxCutProblem], np.ndarray], int]] = {
    "basic": (graph_features, 5),
    "family": (family_features, len(FAMILY_FEATURE_NAMES)),
}


def feature_matrix(problems: Sequence[MaxCutProblem], kind: str = "basic") -> torch.Tensor:
    fn = FEATURE_SETS[kind][0]
    return torch.tensor(np.array([fn(g) for g in problems]), dtype=torch.float64)


def num_model_features(cfg: MetaConfig) -> int:
    """Width of the model's ``features`` input: graph features (if used) plus the feedback inputs."""
    return (FEATURE_SETS[cfg.features][1] if cfg.use_features else 0) + len(cfg.feedback)

