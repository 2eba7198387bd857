"""The choice of the fastest exact ideal oracle for a graph and a depth."""

from __future__ import annotations

import torch

from ..problems import MaxCutProblem, ProblemError
from .closed_form import P1ClosedForm
from .light_cone import LightConeOracle
from .statevector import STATEVECTOR_MAX_NODES, IdealOracle


def ideal_oracle(problem: MaxCutProblem, p: int, *, device: str | torch.device = "cpu", method: str = "auto"):
    """The fastest exact ideal oracle.

    The closed form at p = 1 (n > 12), the statevector while it fits
    (n <= :data:`STATEVECTOR_MAX_NODES`), else the light-cone oracle
    (:class:`hybrid.oracles.LightConeOracle`), which raises
    :class:`hybrid.oracles.LightConeError` when an edge's cone is too large.
    ``method`` (``closed_form``, ``statevector``, ``light_cone``) forces one.
    """
    if method == "closed_form":
        if p != 1:
            raise ProblemError(f"method='closed_form' is the p = 1 formula; got p={p}: use statevector or light_cone")
        return P1ClosedForm(problem, device=device)
    if method == "statevector":
        return IdealOracle(problem, p, device=device)
    if method == "light_cone":
        return LightConeOracle(problem, p, device=device)
    if p == 1 and problem.n > 12:
        return P1ClosedForm(problem, device=device)
    if problem.n <= STATEVECTOR_MAX_NODES:
        return IdealOracle(problem, p, device=device)
    return LightConeOracle(problem, p, device=device)
