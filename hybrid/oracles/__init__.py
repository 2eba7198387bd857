"""Cost oracles: QAOA parameters (a batch) -> expected cuts (+ gradients), on any target.

Build every oracle with :func:`hybrid.oracle_factory.make_oracle` (above this package and
:mod:`hybrid.mitigation`, which it composes); the modules:

* :mod:`.base`: :class:`Evaluation`, the :class:`Oracle` Protocol, :class:`Charge`
  (budget accounting), batching;
* :mod:`.statevector`: :class:`IdealOracle` (batched torch statevector, autograd) and
  :class:`StackedIdealOracle` (many graphs at once, for meta-training);
* :mod:`.closed_form`: :class:`P1ClosedForm` and :func:`p1_expectation` (exact p = 1);
* :mod:`.light_cone`: exact ideal ``<C>`` of graphs of any size from edge light cones
  (and node cones for the fields of Ising problems), isomorphic cones simulated once;
* :mod:`.sampled`: :class:`SampledOracle` (shots on any target) and
  :func:`counts_statistics`;
* :mod:`.noisy_exact`: :class:`NoisyExactOracle` (exact noisy density matrix or noisy
  light cones on ``fake:<device>``);
* :mod:`.pauli_prop`: :class:`PauliPropOracle` (Pauli propagation of the twirled device
  noise on ``fake:<device>`` at any size; ZNE by rate scaling and exact REM);
* :mod:`.gradients`: finite differences, parameter shift and SPSA, each wrapping any
  circuit oracle's batch evaluation (mitigated ones included, :mod:`hybrid.mitigation`).

All oracles report the *expected cut* ``<C>`` (maximised; with fields and offset for Ising
and QUBO problems); ``problem.approximation_ratio(<C>)`` gives the ratio (``<C> / max_cut`` for Max-Cut).
"""

from .base import DEFAULT_SHOTS, FD_STEP, AutogradOracle, Charge, Evaluation, Oracle, as_batch, exact_gradient_charge, job_qpu_seconds
from .closed_form import P1ClosedForm, p1_expectation
from .gradients import GRADIENTS, SPSA, FiniteDifference, ParameterShift, fd_value_and_grad, gradient_rule
from .ideal import ideal_oracle
from .light_cone import MAX_CONE_QUBITS, ConeClass, LightConeError, LightConeOracle, edge_light_cone, node_light_cone
from .noisy_exact import NOISY_METHODS, NoisyExactOracle
from .sampled import SampledOracle, bitstring, counts_statistics
from .statevector import MIXER_BLOCK_QUBITS, STATEVECTOR_MAX_NODES, IdealOracle, StackedIdealOracle

__all__ = [
    "DEFAULT_SHOTS",
    "FD_STEP",
    "GRADIENTS",
    "MAX_CONE_QUBITS",
    "MIXER_BLOCK_QUBITS",
    "NOISY_METHODS",
    "SPSA",
    "STATEVECTOR_MAX_NODES",
    "AutogradOracle",
    "Charge",
    "ConeClass",
    "Evaluation",
    "FiniteDifference",
    "IdealOracle",
    "LightConeError",
    "LightConeOracle",
    "NoisyExactOracle",
    "Oracle",
    "P1ClosedForm",
    "ParameterShift",
    "SampledOracle",
    "StackedIdealOracle",
    "as_batch",
    "bitstring",
    "counts_statistics",
    "edge_light_cone",
    "node_light_cone",
    "exact_gradient_charge",
    "fd_value_and_grad",
    "gradient_rule",
    "job_qpu_seconds",
    "ideal_oracle",
]
