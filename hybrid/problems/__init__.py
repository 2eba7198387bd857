"""Max-Cut problems (and Ising / QUBO problems written as cuts with fields): the validated
problem and everything computed from it alone.

* :mod:`.core`: :class:`MaxCutProblem`, validation, JSON I/O, the cut diagonal,
  exact and heuristic optima, the approximation ratio;
* :mod:`.files`: problem files (graphs, QUBOs, Ising problems): reading, checking, writing;
* :mod:`.ising`: QUBO, Ising, ``SparsePauliOp`` and ``QuadraticProgram`` input, SK and
  random-QUBO families;
* :mod:`.generators`: random families (paper G(n, k/n), Erdos-Renyi, d-regular),
  heavy-hex lattices and connected subgraphs of a coupling graph;
* :mod:`.features`: instance features for the models and fitted strategies.

The package is the bottom of the data flow: it imports nothing from the rest of the
project except :mod:`hybrid.maxcut`, and nothing from ``backends``. Graphs native to a
device (``heavyhex:DEVICE`` specs, whose coupling map comes from a fake backend) are
built by :mod:`hybrid.device_graphs`, which sits above the backends.
"""

from __future__ import annotations

from .core import (
    BRUTE_FORCE_MAX_NODES,
    DEVICE_SPEC_PREFIX,
    MAX_CUT_EXACT,
    MAX_CUT_HEURISTIC,
    MaxCutProblem,
    ProblemError,
    as_rng,
    brute_force_max_cut,
    check_max_cut,
    cut_diagonal,
    from_edges,
    from_networkx,
    heuristic_max_cut,
)
from .files import load_graphs, problem_from_dict, save_graphs
from .ising import from_ising, from_quadratic_program, from_qubo, from_sparse_pauli_op, glover_qubo, random_qubo, sk_instance
from .features import FAMILY_FEATURE_NAMES, FEATURE_NAMES, family_features, graph_features
from .generators import (
    HEAVY_HEX_PREFIX,
    HEAVY_HEX_WEIGHTS,
    coupling_subgraph,
    erdos_renyi,
    heavy_hex_lattice,
    paper_dataset,
    paper_graph,
    parse_heavy_hex_spec,
    physical_qubits,
    regular_graph,
)

__all__ = [
    "problem_from_dict",
    "from_ising",
    "from_quadratic_program",
    "from_qubo",
    "from_sparse_pauli_op",
    "glover_qubo",
    "random_qubo",
    "sk_instance",
    "BRUTE_FORCE_MAX_NODES",
    "DEVICE_SPEC_PREFIX",
    "FAMILY_FEATURE_NAMES",
    "FEATURE_NAMES",
    "HEAVY_HEX_PREFIX",
    "HEAVY_HEX_WEIGHTS",
    "MAX_CUT_EXACT",
    "MAX_CUT_HEURISTIC",
    "MaxCutProblem",
    "ProblemError",
    "as_rng",
    "brute_force_max_cut",
    "check_max_cut",
    "coupling_subgraph",
    "cut_diagonal",
    "erdos_renyi",
    "family_features",
    "from_edges",
    "from_networkx",
    "graph_features",
    "heavy_hex_lattice",
    "heuristic_max_cut",
    "load_graphs",
    "paper_dataset",
    "paper_graph",
    "parse_heavy_hex_spec",
    "physical_qubits",
    "regular_graph",
    "save_graphs",
]
