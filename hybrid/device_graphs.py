"""Graphs native to a device, and graph specs resolved to graphs.

The graph layer (:mod:`hybrid.problems`) does not import ``backends``; it builds a
device-native graph from a coupling graph it is handed
(:func:`hybrid.problems.coupling_subgraph`). This module sits above the backends: it
fetches a fake device's coupling map through :mod:`backends.devices` and resolves the
graph specs accepted wherever a graph file is (``--graphs``, configs):

* a path to a JSON graph file (:func:`hybrid.problems.load_graphs`);
* ``heavyhex:DEVICE[:N][:weighted][:seed=S]``: one connected ``N``-node subgraph of the
  device's coupling map (:func:`heavy_hex_graph`).
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np

from backends.devices import load_fake_backend, normalise_device_name

from .problems import DEVICE_SPEC_PREFIX, MaxCutProblem, coupling_subgraph, parse_heavy_hex_spec
from .problems import load_graphs as load_graph_file


def device_coupling_graph(device: str) -> tuple[str, nx.Graph]:
    """``(normalised name, undirected coupling graph)`` of a ``qiskit_ibm_runtime`` fake device."""
    backend = load_fake_backend(device)
    graph = nx.Graph()
    graph.add_nodes_from(range(backend.num_qubits))
    graph.add_edges_from((int(a), int(b)) for a, b in backend.coupling_map.get_edges() if a != b)
    return normalise_device_name(device), graph


def heavy_hex_graph(
    device: str, n: int | None = None, *, seed: int | np.random.Generator | None = None,
    weights: str | None = None, id: int | str | None = None,
) -> MaxCutProblem:
    """A connected subgraph of ``device``'s coupling map with ``n`` nodes (all qubits if None).

    Node ``i`` is physical qubit ``meta["physical_qubits"][i]``, every edge is a coupler
    (see :func:`hybrid.problems.coupling_subgraph`, which builds it).
    """
    name, coupling = device_coupling_graph(device)
    return coupling_subgraph(coupling, name, n, seed=seed, weights=weights, id=id)


def load_graphs(spec: str | Path) -> list[MaxCutProblem]:
    """The graphs of a graph file or of a ``heavyhex:DEVICE[:N][:weighted][:seed=S]`` spec."""
    if str(spec).startswith(DEVICE_SPEC_PREFIX):
        return [heavy_hex_graph(**parse_heavy_hex_spec(str(spec)))]
    return load_graph_file(spec)
