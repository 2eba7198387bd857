"""QAOA circuits: the one place that fixes the parameter convention.

Convention (tested against ``qiskit.circuit.library.qaoa_ansatz`` + ``Statevector``):

* cost operator ``C = sum_e w_e (I - Z_u Z_v) / 2`` (the cut, to be *maximised*);
* mixer ``B = sum_j X_j``;
* ``|gamma, beta> = prod_{l=1..p} [exp(-i beta_l B) exp(-i gamma_l C)] |+>^n``;
* parameter vector ``theta = [gamma_1, ..., gamma_p, beta_1, ..., beta_p]``;
* gates: ``exp(-i gamma C)`` is ``RZZ(-gamma w_e)`` on every edge (up to a global
  phase), ``exp(-i beta B)`` is ``RX(2 beta)`` on every qubit;
* Ising and QUBO problems add ``h_i z_i = h_i (I - Z_i) / 2`` to ``C``: ``RZ(-gamma h_i)``
  on each qubit with a field, after the layer's ``RZZ`` gates.

Symmetries: ``(gamma, beta) -> (-gamma, -beta)`` leaves ``<C>`` unchanged, and
``beta`` has period ``pi/2``. The paper (arXiv:2512.05058) evolves under
``H_C = -C``: its ``[gamma, beta]`` is ours with the sign of gamma flipped
(:func:`from_paper_params`).

Start strategies live in :mod:`hybrid.strategies` (closed-form schedules in
:mod:`hybrid.schedules`); nothing here imports them.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from .problems import MaxCutProblem, ProblemError

def split_params(theta: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``theta -> (gammas, betas)``."""
    theta = np.asarray(theta, dtype=float)
    if theta.ndim != 1 or theta.size % 2 or theta.size == 0:
        raise ProblemError(f"theta must be a flat vector of length 2p (gammas then betas), got shape {theta.shape}")
    p = theta.size // 2
    return theta[:p], theta[p:]


def join_params(gammas: Sequence[float], betas: Sequence[float]) -> np.ndarray:
    gammas, betas = np.asarray(gammas, float).ravel(), np.asarray(betas, float).ravel()
    if gammas.size != betas.size:
        raise ProblemError(f"need as many gammas as betas, got {gammas.size} and {betas.size}")
    return np.concatenate([gammas, betas])


def from_paper_params(params: Sequence[float]) -> np.ndarray:
    """The paper's p=1 ``[gamma, beta]`` (evolution under ``-C``) in our convention."""
    gamma, beta = params
    return np.array([-gamma, beta], dtype=float)


def canonical_params(theta: Sequence[float]) -> np.ndarray:
    """Fold ``theta`` by the symmetries: every beta in ``(-pi/4, pi/4]`` and ``gamma_1 >= 0``."""
    gammas, betas = split_params(theta)
    betas = (betas + math.pi / 4) % (math.pi / 2) - math.pi / 4
    betas = np.where(np.isclose(betas, -math.pi / 4), math.pi / 4, betas)
    if gammas[0] < 0:
        gammas, betas = -gammas, -betas
    return join_params(gammas, betas)


def qaoa_circuit(problem: MaxCutProblem, p: int, *, measure: bool = True) -> QuantumCircuit:
    """Depth-``p`` QAOA for ``problem`` with parameters ``theta[0..2p-1]`` (our order).

    ``circuit.parameters`` is ordered as ``theta``, so ``circuit.assign_parameters(theta)``
    binds a parameter vector directly. With ``measure``, qubit ``i`` is read into clbit ``i``.
    """
    if not isinstance(p, (int, np.integer)) or p < 1:
        raise ProblemError(f"QAOA depth p must be a positive integer, got {p!r}")
    theta = ParameterVector("theta", 2 * p)
    qc = QuantumCircuit(problem.n, problem.n if measure else 0, name=f"qaoa_p{p}")
    qc.h(range(problem.n))
    for layer in range(p):
        gamma, beta = theta[layer], theta[p + layer]
        for u, v, w in layer_edges(problem, layer):
            qc.rzz(-w * gamma, u, v)
        for i, h in field_terms(problem):
            qc.rz(-h * gamma, i)
        qc.rx(2 * beta, range(problem.n))
    if measure:
        qc.measure(range(problem.n), range(problem.n))
    _native_metadata(problem, qc)
    return qc


def layer_edges(problem: MaxCutProblem, layer: int) -> tuple[tuple[int, int, float], ...]:
    """The order of the cost gates in ``layer`` (they commute, so only noise sees it).

    ``problem.edges`` as they are, except for graphs native to a device
    (``heavy_hex_graph``, graph files laid onto a device): there the gates go by colour
    class of a proper edge colouring, in reverse on odd layers, which keeps each edge's
    causal cone on the device small (what the noisy light cones of ``fake:<device>``
    simulate). Colours, order and the two qubits of each gate follow the physical qubits,
    so relabelling the nodes of a graph on the same qubits changes no gate.
    """
    qubits = problem.meta.get("physical_qubits")
    if qubits is None:
        return problem.edges
    import networkx as nx

    # coloured and ordered by physical coupler, so a relabelled copy on the same qubits
    # (a graph file laid onto the device) gets the same gate order, hence the same noise
    def coupler(e):
        return (min(qubits[e[0]], qubits[e[1]]), max(qubits[e[0]], qubits[e[1]]))

    by_coupler = sorted(problem.edges, key=coupler)
    line = nx.line_graph(nx.Graph(coupler(e) for e in by_coupler))
    colours = min(
        (nx.greedy_color(line, strategy=s) for s in ("smallest_last", "largest_first", "DSATUR")),
        key=lambda c: (max(c.values(), default=0), sorted(c.items())),
    )
    def colour(e):
        a, b = coupler(e)
        return colours.get((a, b), colours.get((b, a), 0))

    ordered = [(u, v, w) if qubits[u] < qubits[v] else (v, u, w)
               for u, v, w in sorted(by_coupler, key=lambda e: (colour(e), coupler(e)))]
    return tuple(ordered[::-1] if layer % 2 else ordered)


def field_terms(problem: MaxCutProblem) -> tuple[tuple[int, float], ...]:
    """``(node, h)`` of every nonzero field, in node order (none for Max-Cut)."""
    if problem.fields is None:
        return ()
    return tuple((i, h) for i, h in enumerate(problem.fields) if h != 0.0)


def _native_metadata(problem: MaxCutProblem, qc: QuantumCircuit) -> None:
    """Graphs native to a device (``heavy_hex_graph``) carry their physical qubits to the target."""
    qubits = problem.meta.get("physical_qubits")
    if qubits is not None and problem.meta.get("device") and len(qubits) == problem.n:
        qc.metadata = {"device": problem.meta["device"], "physical_qubits": [int(q) for q in qubits]}


def qaoa_gate_circuit(problem: MaxCutProblem, p: int) -> tuple[QuantumCircuit, np.ndarray]:
    """QAOA with one free angle per rotation gate, and the Jacobian ``d phi / d theta``.

    Gate ``g`` is ``RZZ(phi_g)``, ``RZ(phi_g)`` (fields) or ``RX(phi_g)``; at ``phi = J.T @ theta`` the circuit
    equals :func:`qaoa_circuit` at ``theta``. Every gate is ``exp(-i phi/2 P)`` with a
    Pauli ``P``, so the two-term parameter-shift rule with shift ``pi/2`` is exact
    per gate; ``dE/dtheta = J @ dE/dphi``. Used for unbiased gradients from shots.
    """
    if not isinstance(p, (int, np.integer)) or p < 1:
        raise ProblemError(f"QAOA depth p must be a positive integer, got {p!r}")
    fields = field_terms(problem)
    count = p * (problem.m + len(fields) + problem.n)
    phi = ParameterVector("phi", count)
    jac = np.zeros((2 * p, count))
    qc = QuantumCircuit(problem.n, problem.n, name=f"qaoa_gates_p{p}")
    qc.h(range(problem.n))
    g = 0
    for layer in range(p):
        for u, v, w in layer_edges(problem, layer):
            qc.rzz(phi[g], u, v)
            jac[layer, g] = -w
            g += 1
        for i, h in fields:
            qc.rz(phi[g], i)
            jac[layer, g] = -h
            g += 1
        for j in range(problem.n):
            qc.rx(phi[g], j)
            jac[p + layer, g] = 2.0
            g += 1
    qc.measure(range(problem.n), range(problem.n))
    _native_metadata(problem, qc)
    return qc, jac


# ---------------------------------------------------------------------------- angle units
def weight_scale(problem: MaxCutProblem) -> float:
    """Mean edge weight (mean ``|w|`` when weights have both signs, as in Ising problems): angles
    for weighted graphs are those of the unit graph divided by it."""
    return float(np.mean(np.abs(problem.weights)))
