"""Exact noiseless ``<C>`` by a batched torch statevector (differentiable by autograd).

:class:`IdealOracle` serves one graph up to :data:`STATEVECTOR_MAX_NODES` nodes;
:class:`StackedIdealOracle` runs many graphs at once (meta-training batches).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from ..problems import MaxCutProblem, ProblemError
from .base import AutogradOracle

#: Largest n simulated as a full statevector by the ideal oracle.
STATEVECTOR_MAX_NODES = 24
#: Qubits per dense block of the mixer in the statevector oracle.
MIXER_BLOCK_QUBITS = 4


class IdealOracle(AutogradOracle):
    """Exact noiseless ``<C>`` by a batched torch statevector (differentiable).

    ``expectation(theta)`` accepts a tensor ``(..., 2p)`` and returns ``(...)``
    with autograd. The cut diagonal is computed once.
    """

    exact = True
    method = "statevector"

    def __init__(self, problem: MaxCutProblem, p: int, *, device: str | torch.device = "cpu"):
        if problem.n > STATEVECTOR_MAX_NODES:
            raise ProblemError(
                f"the statevector oracle is limited to n <= {STATEVECTOR_MAX_NODES} (got n={problem.n}); "
                "use p1_expectation (p = 1) or a sampled target"
            )
        if p < 1:
            raise ProblemError(f"p must be >= 1, got {p}")
        self.problem, self.p, self.device = problem, int(p), torch.device(device)
        self.cut = torch.as_tensor(problem.cut_values(), dtype=torch.float64, device=self.device)
        n = problem.n
        self._dim = 2**n
        block = MIXER_BLOCK_QUBITS
        self._blocks = [block] * (n // block) + ([n % block] if n % block else [])

    def _mix(self, state: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """``exp(-i beta sum_j X_j)``: ``RX(2 beta)^{(x) k}`` blocks applied as matmuls.

        The mixer is the same on every qubit, so a block of ``k`` qubits is one
        ``2^k x 2^k`` symmetric matrix; blocks are applied along the axes of the
        reshaped state (much faster than ``n`` single-qubit updates).
        """
        batch = state.shape[0]
        c = torch.cos(beta).to(state.dtype).view(batch, 1, 1)
        s = (-1j * torch.sin(beta)).to(state.dtype).view(batch, 1, 1)
        rx = torch.cat([torch.cat([c, s], 2), torch.cat([s, c], 2)], 1)  # (B, 2, 2)
        blocks: dict[int, torch.Tensor] = {}
        rest = state.shape[1]
        for k in self._blocks:
            if k not in blocks:
                u = rx
                for _ in range(k - 1):
                    d = u.shape[1]
                    u = torch.einsum("bij,bkl->bikjl", u, rx).reshape(batch, 2 * d, 2 * d)
                blocks[k] = u
            rest //= 2**k
            # state index = high * 2^k * rest + mid * rest + low; block acts on ``mid``
            view = state.reshape(batch, -1, 2**k, rest)
            state = torch.matmul(blocks[k].unsqueeze(1), view).reshape(batch, -1)
        return state

    def probabilities(self, theta: torch.Tensor) -> torch.Tensor:
        theta = torch.as_tensor(theta, dtype=torch.float64, device=self.device)
        shape = theta.shape[:-1]
        flat = theta.reshape(-1, 2 * self.p)
        probs = self._probabilities(flat, self.cut[None, :])
        return probs.reshape(*shape, self._dim)

    def _probabilities(self, flat: torch.Tensor, cut: torch.Tensor) -> torch.Tensor:
        """``flat``: (B, 2p); ``cut``: (1, dim) shared or (B, dim) one diagonal per row."""
        batch = flat.shape[0]
        state = torch.full((batch, self._dim), 1 / math.sqrt(self._dim), dtype=torch.complex128, device=self.device)
        for layer in range(self.p):
            gamma, beta = flat[:, layer], flat[:, self.p + layer]
            state = state * torch.exp(-1j * gamma[:, None] * cut)
            state = self._mix(state, beta)
        return state.real**2 + state.imag**2

    def expectation(self, theta: torch.Tensor) -> torch.Tensor:
        return self.probabilities(theta) @ self.cut


class StackedIdealOracle:
    """Exact ideal ``<C>`` of many graphs at once: row ``g`` of ``theta`` runs on graph ``g``.

    Graphs are grouped by size; each group is one batched statevector run.
    Used by meta-training, where a meta-batch holds many graphs.
    """

    exact = True

    def __init__(self, problems: Sequence[MaxCutProblem], p: int, *, device: str | torch.device = "cpu"):
        if not problems:
            raise ProblemError("StackedIdealOracle needs at least one problem")
        self.problems, self.p = list(problems), int(p)
        groups: dict[int, list[int]] = {}
        for index, problem in enumerate(self.problems):
            groups.setdefault(problem.n, []).append(index)
        self._groups = []
        for n, indices in sorted(groups.items()):
            sim = IdealOracle(self.problems[indices[0]], self.p, device=device)
            cuts = torch.stack([torch.as_tensor(self.problems[i].cut_values(), dtype=torch.float64) for i in indices])
            self._groups.append((sim, torch.tensor(indices), cuts.to(sim.device)))

    def expectation(self, theta: torch.Tensor) -> torch.Tensor:
        """``theta``: (G, 2p) -> (G,) expected cuts, differentiable."""
        theta = torch.as_tensor(theta, dtype=torch.float64)
        if theta.shape != (len(self.problems), 2 * self.p):
            raise ProblemError(f"theta must have shape ({len(self.problems)}, {2 * self.p}), got {tuple(theta.shape)}")
        out = torch.zeros(len(self.problems), dtype=torch.float64, device=theta.device)
        for sim, indices, cuts in self._groups:
            probs = sim._probabilities(theta[indices], cuts)
            out = out.index_put((indices,), (probs * cuts).sum(-1))
        return out

    def moments(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``theta``: (G, 2p) -> ``(<C>, Var(C))``, each (G,); ``<C>`` differentiable.

        ``Var(C) = <C^2> - <C>^2`` of the cut in the exact output distribution: the
        variance of a single shot, so a ``shots``-shot estimate has variance ``Var(C)/shots``.
        """
        theta = torch.as_tensor(theta, dtype=torch.float64)
        if theta.shape != (len(self.problems), 2 * self.p):
            raise ProblemError(f"theta must have shape ({len(self.problems)}, {2 * self.p}), got {tuple(theta.shape)}")
        mean = torch.zeros(len(self.problems), dtype=torch.float64, device=theta.device)
        var = torch.zeros(len(self.problems), dtype=torch.float64, device=theta.device)
        for sim, indices, cuts in self._groups:
            probs = sim._probabilities(theta[indices], cuts)
            first = (probs * cuts).sum(-1)
            second = (probs.detach() * cuts**2).sum(-1)
            mean = mean.index_put((indices,), first)
            var = var.index_put((indices,), (second - first.detach() ** 2).clamp_min(0.0))
        return mean, var
