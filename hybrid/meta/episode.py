"""Unrolled episodes, meta-losses and Phase I at inference.

An *episode* on a graph runs a sequence model for ``steps`` recurrent steps. Step
``t`` feeds the model the previous parameters, the previous *normalised* cost
(expected cut over total edge weight, known without solving Max-Cut) and the graph
features (:class:`FeedbackInputs`); the model proposes new parameters, which are
evaluated on the oracle (:class:`EpisodeOracle`).

* The oracle is ``ideal`` (exact, differentiable, batched over graphs) or
  ``fake:<device>`` (exact noisy density matrix; gradients with respect to the
  proposed parameters by finite differences inside a custom autograd function).
* Meta-losses (:func:`meta_loss`) are computed on approximation ratios (training
  graphs have exact optima), never on raw energies, so graphs of every size weigh the same.
* :func:`phase_one` runs the same recurrence on one graph with any cost function:
  the learned warm start.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from ..config import ConfigError, MetaConfig
from ..oracles import StackedIdealOracle
from ..executors import LocalExecutor
from ..problems import MaxCutProblem
from .checkpoint import CheckpointError
from .data import feature_matrix, param_scale, start_params, to_actual

#: Gain of the feedback inputs: a change of 0.02 in normalised cost (cut / total weight) maps to tanh(1).
FEEDBACK_GAIN = 50.0


class FeedbackInputs:
    """What the model sees besides its last parameters, step by step; one definition for training and Phase I.

    The model's ``prev_cost`` is the last measured normalised cost ``c_t`` (cut over
    total edge weight; 0 before the first evaluation). Its ``features`` are the graph
    features followed by the entries of ``cfg.feedback``:

    * ``delta``: ``tanh(FEEDBACK_GAIN * (c_t - c_{t-1}))`` (0 until two costs are known);
    * ``best``: ``tanh(FEEDBACK_GAIN * (c_t - max_{s<t} c_s))``: did the last proposal beat the best?
    * ``step``: evaluations so far over ``cfg.steps``.
    """

    def __init__(self, problems: Sequence[MaxCutProblem], cfg: MetaConfig, *, device, dtype):
        self.cfg, self.device, self.dtype = cfg, device, dtype
        self.batch = len(problems)
        self.total = torch.tensor([g.cost_scale for g in problems], dtype=torch.float64, device=device)
        self.floor = torch.tensor([g.cost_floor for g in problems], dtype=torch.float64, device=device)
        self.graph = feature_matrix(problems, cfg.features).to(device=device, dtype=dtype) if cfg.use_features else None
        self.count = 0
        self.last = torch.zeros(self.batch, dtype=torch.float64, device=device)
        self.delta = torch.zeros_like(self.last)
        self.gain = torch.zeros_like(self.last)
        self.best = torch.full_like(self.last, -math.inf)

    def observe(self, cut: torch.Tensor) -> None:
        """Record the measured cuts ``(G,)`` of the last proposals."""
        c = (cut.detach().to(torch.float64) - self.floor) / self.total
        if self.count > 0:
            self.delta = torch.tanh(FEEDBACK_GAIN * (c - self.last))
            self.gain = torch.tanh(FEEDBACK_GAIN * (c - self.best))
        self.best = torch.maximum(self.best, c)
        self.last = c
        self.count += 1

    def cost(self) -> torch.Tensor:
        return self.last.to(self.dtype)[:, None]

    def features(self) -> torch.Tensor | None:
        parts = [] if self.graph is None else [self.graph]
        extra = {
            "delta": lambda: self.delta,
            "best": lambda: self.gain,
            "step": lambda: torch.full_like(self.last, self.count / self.cfg.steps),
        }
        parts += [extra[name]().to(self.dtype)[:, None] for name in self.cfg.feedback]
        return torch.cat(parts, dim=1) if parts else None


class _FiniteDifferenceCuts(torch.autograd.Function):
    """Expected cuts from exact, non-differentiable oracles, with their finite-difference gradients.

    ``compute(thetas)`` returns ``(values, grads)`` as arrays for a ``(G, 2p)`` batch.
    """

    @staticmethod
    def forward(ctx, theta: torch.Tensor, compute: Callable) -> torch.Tensor:  # type: ignore[override]
        values, grads = compute(theta.detach().cpu().numpy())
        ctx.save_for_backward(torch.as_tensor(np.asarray(grads), dtype=theta.dtype, device=theta.device))
        return torch.as_tensor(np.asarray(values), dtype=theta.dtype, device=theta.device)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
        (grads,) = ctx.saved_tensors
        return grad_out[:, None] * grads, None


class EpisodeOracle:
    """Expected cuts of a list of graphs at actual parameters ``(G, 2p)``, differentiable.

    ``ideal``: one batched exact statevector. ``fake:<device>``: exact noisy oracle
    calls (value and finite-difference gradient per graph) through ``executor``
    (:mod:`hybrid.executors`: in process, or spread over Ray workers).
    """

    def __init__(self, problems: Sequence[MaxCutProblem], p: int, spec: str = "ideal", *, device="cpu", executor=None):
        self.problems, self.p, self.spec = list(problems), p, spec
        if spec == "ideal":
            self._stacked = StackedIdealOracle(self.problems, p, device=device)
            return
        from backends import cached_target

        if not cached_target(spec).exact:  # every target declares it (backends.base.Target)
            raise ConfigError(f"meta-training oracle {spec!r} has no exact mode; use ideal or fake:<device>")
        self._stacked = None
        self._executor = executor or LocalExecutor()
        self._graphs = [g.to_dict() for g in self.problems]

    def _compute(self, thetas: np.ndarray):
        return self._executor.value_and_grads(self._graphs, self.p, self.spec, thetas)

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        if self._stacked is not None:
            return self._stacked.expectation(theta)
        return _FiniteDifferenceCuts.apply(theta, self._compute)

    def sampled(self, theta: torch.Tensor, shots: int, generator: torch.Generator | None = None):
        """``(exact <C>, sampled <C>)``: the sample is ``<C> + N(0, Var(C)/shots)`` (not differentiable)."""
        if self._stacked is None:
            raise ConfigError(f"sampled costs (stage shots) need the ideal oracle, not {self.spec!r}; set shots: null")
        mean, var = self._stacked.moments(theta)
        noise = torch.randn(mean.shape, generator=generator, dtype=torch.float64, device=mean.device)
        return mean, mean.detach() + noise * torch.sqrt(var / shots)


@dataclass
class Rollout:
    params: torch.Tensor  # (T, G, 2p), normalised
    cuts: torch.Tensor  # (T, G) exact expected cuts (differentiable)
    ratios: torch.Tensor  # (T, G) exact approximation ratios
    measured: torch.Tensor | None = None  # (T, G) the cuts fed back and used to pick the best (sampled or exact)

    def best_ratios(self) -> torch.Tensor:
        """``(T, G)``: exact AR of the proposal with the best measured cut among the first ``t + 1``."""
        return best_so_far(self.ratios, self.cuts.detach() if self.measured is None else self.measured)


def best_so_far(ratios: torch.Tensor, measured: torch.Tensor) -> torch.Tensor:
    """Exact AR of the best-measured proposal so far, step by step (gradients reach the chosen proposals)."""
    best_m = measured[0]
    best_r = ratios[0]
    out = [best_r]
    for t in range(1, ratios.shape[0]):
        better = measured[t] > best_m
        best_m = torch.where(better, measured[t], best_m)
        best_r = torch.where(better, ratios[t], best_r)
        out.append(best_r)
    return torch.stack(out)


def rollout(
    model,
    problems: Sequence[MaxCutProblem],
    oracle: Callable[[torch.Tensor], torch.Tensor],
    cfg: MetaConfig,
    *,
    shots: int | None = None,
    generator: torch.Generator | None = None,
    constant_feedback: torch.Tensor | None = None,
    steps: int | None = None,
) -> Rollout:
    """Run one episode on every graph at once (gradients flow through the parameters).

    ``shots``: feed back sampled cuts (``oracle.sampled``; noise from ``generator`` or
    torch's global RNG). ``constant_feedback``: ``(G,)`` cuts fed back at every step
    instead of the measured ones (the feedback ablation); the measured cuts still pick
    the best proposal.
    """
    p, device = cfg.p, next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    scale = param_scale(problems, p).to(device)
    low, span = ratio_bounds(problems, device)
    inputs = FeedbackInputs(problems, cfg, device=device, dtype=dtype)
    x = start_params(problems, p, cfg.start).to(device=device, dtype=dtype)
    state = model.initial_state(len(problems))
    params, cuts, measured = [], [], []
    for _ in range(steps or cfg.steps):
        x, state = model(x, inputs.cost(), inputs.features(), state)
        theta = x.to(torch.float64) / scale
        if shots is None:
            cut = oracle(theta)
            seen = cut.detach()
        else:
            cut, seen = oracle.sampled(theta, shots, generator)
        inputs.observe(seen if constant_feedback is None else constant_feedback)
        params.append(x)
        cuts.append(cut)
        measured.append(seen)
    cuts_t = torch.stack(cuts)
    return Rollout(torch.stack(params), cuts_t, (cuts_t - low) / span, torch.stack(measured))


def ratio_bounds(problems: Sequence[MaxCutProblem], device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(C_min, C_max - C_min)`` per problem: the ratio is ``(C - low) / span`` (``C / max_cut`` for Max-Cut)."""
    low = torch.tensor([g.min_value for g in problems], dtype=torch.float64, device=device)
    high = torch.tensor([g.max_cut for g in problems], dtype=torch.float64, device=device)
    return low, high - low


def meta_loss(ratios: torch.Tensor, kind: str, measured: torch.Tensor | None = None) -> torch.Tensor:
    """Meta-loss to minimise from approximation ratios ``(T, G)``.

    ``best_so_far``: minus the mean, with weights growing linearly in t, of the exact AR
    of the proposal Phase I would return after t steps (the best by ``measured`` cuts,
    default: by the ARs themselves), so proposals are free to explore;
    ``weighted``: minus the mean AR with weights growing linearly in t;
    ``observed_improvement``: minus the summed gains over the best AR so far
    (Verdon et al. 2019, for a maximised objective); ``final``: minus the last AR.
    """
    steps = ratios.shape[0]
    if kind == "best_so_far":
        best = best_so_far(ratios, ratios.detach() if measured is None else measured)
        w = torch.arange(1, steps + 1, dtype=ratios.dtype, device=ratios.device)
        return -(w[:, None] * best).sum(0).mean() / w.sum()
    if kind == "weighted":
        w = torch.arange(1, steps + 1, dtype=ratios.dtype, device=ratios.device)
        return -(w[:, None] * ratios).sum(0).mean() / w.sum()
    if kind == "observed_improvement":
        best = torch.zeros_like(ratios[0])
        total = torch.zeros_like(ratios[0])
        for t in range(steps):
            total = total + torch.relu(ratios[t] - best)
            best = torch.maximum(best, ratios[t])
        return -total.mean()
    if kind == "final":
        return -ratios[-1].mean()
    raise ConfigError(f"unknown meta-loss {kind!r}; use best_so_far, weighted, observed_improvement or final")



def _noise_generator(seed: int, device) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


# ---------------------------------------------------------------------------- Phase I at inference
@dataclass
class PhaseOneResult:
    """The learned proposals for one graph and what they cost."""

    theta: np.ndarray  # actual parameters of the best measured proposal (the Phase II start)
    thetas: np.ndarray  # (T, 2p) every proposal
    energies: np.ndarray  # (T,) expected cut measured at each proposal
    evaluations: int
    best_theta: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the same as ``theta``
    best_index: int = 0  # which proposal ``theta`` is

    @property
    def best_energy(self) -> float:
        return float(self.energies[self.best_index])


def _measured_cut(value: object) -> float:
    if not isinstance(value, numbers.Real):
        raise TypeError(
            f"phase_one's evaluate must return the expected cut as a number, got {type(value).__name__}; "
            "wrap an oracle as evaluate=lambda theta: oracle.evaluate(theta).energies[0]"
        )
    return float(value)


def phase_one(
    model,
    cfg: MetaConfig,
    problem: MaxCutProblem,
    evaluate: Callable[[np.ndarray], float],
    *,
    steps: int | None = None,
) -> PhaseOneResult:
    """Run the model for ``steps`` (default ``cfg.steps``) steps; each proposal costs one ``evaluate(theta)``.

    ``evaluate`` returns the expected cut at actual parameters as a real number (wrap
    an oracle as ``lambda theta: oracle.evaluate(theta).energies[0]``).
    Returns the proposal with the best measured value (the first of equals) as
    ``theta``, and every proposal with its value. Fewer steps than in training meet a
    smaller budget (the model was trained on the best-so-far at every step).
    """
    p = cfg.p
    if model.config.get("p", p) != p:
        raise CheckpointError(f"model was trained for p={model.config.get('p')}, asked for p={p}")
    steps = cfg.steps if steps is None else int(steps)
    if steps < 1:
        raise ValueError(f"steps must be >= 1 (Phase I evaluations), got {steps}")
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    inputs = FeedbackInputs([problem], cfg, device=device, dtype=dtype)
    x = start_params([problem], p, cfg.start).to(device=device, dtype=dtype)
    state = model.initial_state(1)
    thetas, energies = [], []
    with torch.no_grad():
        for _ in range(steps):
            x, state = model(x, inputs.cost(), inputs.features(), state)
            theta = to_actual(x[0].double().cpu().numpy(), problem, p)
            value = _measured_cut(evaluate(theta))
            thetas.append(theta)
            energies.append(value)
            inputs.observe(torch.tensor([value], dtype=torch.float64, device=device))
    thetas_a, energies_a = np.array(thetas), np.array(energies)
    best = int(np.argmax(energies_a))
    return PhaseOneResult(
        theta=thetas_a[best],
        thetas=thetas_a,
        energies=energies_a,
        evaluations=len(energies),
        best_theta=thetas_a[best],
        best_index=best,
    )


