"""Instance features of a graph for the sequence models and the fitted start strategies."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from .core import MaxCutProblem

FEATURE_NAMES = ("inv_sqrt_n", "degree_angle", "degree_spread", "edge_density", "triangle_density")


def graph_features(problem: MaxCutProblem) -> np.ndarray:
    """Instance features for the sequence models, bounded so they extrapolate in n.

    Weights enter by their magnitude ``|w|`` (the same for Max-Cut), so Ising and QUBO
    problems get the features of their coupling graph; their fields are not a feature.

    * ``inv_sqrt_n``: ``1 / sqrt(n)``;
    * ``degree_angle``: ``arctan(1 / sqrt(d - 1))`` of the mean weighted degree ``d``
      (in units of the mean edge weight; ``pi/2`` for ``d <= 1``): the mean degree
      mapped to the fixed-angle gamma, which tracks the p = 1 optimum closely;
    * ``degree_spread``: standard deviation over mean of the weighted degree;
    * ``edge_density``: ``2m / n(n-1)``;
    * ``triangle_density``: triangles over ``C(n, 3)``.
    """
    n = problem.n
    wbar = float(np.mean(np.abs(problem.weights)))
    deg = problem.degrees(weighted=True) / wbar
    mean_deg = float(deg.mean())
    angle = math.atan(1.0 / math.sqrt(mean_deg - 1.0)) if mean_deg > 1.0 else math.pi / 2
    density = 2 * problem.m / (n * (n - 1)) if n > 1 else 0.0
    triangles = sum(nx.triangles(problem.to_networkx()).values()) / 3
    tri_density = triangles / math.comb(n, 3) if n >= 3 else 0.0
    spread = float(deg.std()) / mean_deg if mean_deg > 0 else 0.0
    return np.array([1.0 / math.sqrt(n), angle, spread, density, tri_density], dtype=float)


#: Names of :func:`family_features`, in order.
FAMILY_FEATURE_NAMES = (
    "inv_sqrt_n",
    "degree_angle",
    "degree_spread",
    "edge_density",
    "transitivity",
    "weight_spread",
    "degree_regularity",
    "inv_mean_degree",
)


def family_features(problem: MaxCutProblem) -> np.ndarray:
    """Instance features that tell the graph families apart, bounded and O(m) to compute.

    Every entry lies in ``[0, 1]`` (``degree_angle`` in ``[0, pi/2]``) whatever ``n``,
    so a model trained on n <= 12 sees familiar inputs at n = 1000:

    * ``inv_sqrt_n``: ``1 / sqrt(n)``;
    * ``degree_angle``: ``arctan(1 / sqrt(d - 1))`` of the mean weighted degree ``d`` in
      units of the mean edge weight (``pi/2`` for ``d <= 1``): the fixed-angle gamma;
    * ``degree_spread``: coefficient of variation of the weighted degree, ``min(., 1)``;
    * ``edge_density``: ``2m / n(n-1)`` (dense G(n, k/n) graphs versus sparse families);
    * ``transitivity``: ``3 * triangles / connected triples`` (0 for trees and
      triangle-free graphs; about the edge probability for G(n, p)); counted over
      edges by neighbour-set intersection, ``O(m * d_max)``;
    * ``weight_spread``: coefficient of variation of the edge weights, ``min(., 1)``
      (0 for unit graphs; about 0.47 for uniform weights on [0.1, 1]);
    * ``degree_regularity``: fraction of nodes whose (unweighted) degree is the most
      common one (1 for regular graphs);
    * ``inv_mean_degree``: ``1 / mean unweighted degree`` (0 for an edgeless graph).
    """
    n, m = problem.n, problem.m
    w = np.abs(problem.weights)
    wbar = float(np.mean(w)) if m else 1.0
    deg_w = problem.degrees(weighted=True) / wbar
    mean_w = float(deg_w.mean()) if n else 0.0
    angle = math.atan(1.0 / math.sqrt(mean_w - 1.0)) if mean_w > 1.0 else math.pi / 2
    spread = min(float(deg_w.std()) / mean_w, 1.0) if mean_w > 0 else 0.0
    density = 2 * m / (n * (n - 1)) if n > 1 else 0.0
    nbrs: list[set[int]] = [set() for _ in range(n)]
    for u, v, _ in problem.edges:
        nbrs[u].add(v)
        nbrs[v].add(u)
    closed = sum(len(nbrs[u] & nbrs[v]) for u, v, _ in problem.edges)  # 3 per triangle
    deg = np.array([len(s) for s in nbrs], dtype=float)
    triples = float((deg * (deg - 1) / 2).sum())
    transitivity = closed / triples if triples > 0 else 0.0
    weight_spread = min(float(np.std(w)) / wbar, 1.0) if m else 0.0
    regularity = float(np.bincount(deg.astype(int)).max()) / n if n else 0.0
    inv_degree = 1.0 / float(deg.mean()) if m else 0.0
    return np.array(
        [1.0 / math.sqrt(n), angle, spread, density, transitivity, weight_spread, regularity, inv_degree], dtype=float
    )
