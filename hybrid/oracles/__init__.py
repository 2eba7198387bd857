"""Cost oracles beyond the full statevector.

* :mod:`hybrid.oracles.light_cone`: the exact ideal ``<C>`` of graphs of any size
  from the light cone of each edge, isomorphic cones simulated once (torch,
  batched, differentiable).

:func:`hybrid.evaluate.ideal_oracle` and :func:`hybrid.evaluate.make_oracle`
choose it for ``ideal`` when the statevector does not fit.
"""

from .light_cone import MAX_CONE_QUBITS, ConeClass, LightConeError, LightConeOracle, edge_light_cone

__all__ = ["MAX_CONE_QUBITS", "ConeClass", "LightConeError", "LightConeOracle", "edge_light_cone"]
