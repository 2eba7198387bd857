"""The exact density matrix of a circuit under the Pauli twirl of the device noise: the reference
Pauli propagation must match (test helper, on the ``tests`` path like ``standins``)."""

from __future__ import annotations

import numpy as np
from qiskit_aer import AerSimulator

from backends.circuits import apply_confusion, to_clbit_order
from backends.ideal import run_batch
from backends.pauli_prop import TwirledNoise
from hybrid.ansatz import qaoa_circuit


def twirled_dm_energy(target, problem, p: int, theta) -> float:
    """``<C>`` of QAOA at ``theta`` on ``target`` with each gate's twirled noise and readout, exactly."""
    comp = target.compiled(qaoa_circuit(problem, p))
    tw = TwirledNoise.get(target.device, target._noise)
    sim = AerSimulator(method="density_matrix", noise_model=tw.noise_model(comp.active))
    result, index = run_batch(sim, comp.compact, comp.parameter_names, np.atleast_2d(theta))
    probs = apply_confusion(np.asarray([result.data(i)["probabilities"] for i in index]), comp.confusion)
    return float((to_clbit_order(probs, comp.index_map, comp.num_clbits) @ problem.cut_values())[0])
