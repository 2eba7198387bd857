"""Learning to learn QAOA parameters: unrolled episodes, meta-losses, checkpoints, Phase I.

An *episode* on a graph runs a sequence model for ``steps`` recurrent steps. Step
``t`` feeds the model the previous parameters, the previous *normalised* cost
(expected cut over total edge weight, known without solving Max-Cut) and the graph
features; the model proposes new parameters, which are evaluated on the oracle.

* Parameters seen by the models are normalised: ``gamma * mean_weight`` and ``beta``
  (so weighted graphs look like unit ones); :func:`to_actual` undoes it.
* Meta-losses are computed on approximation ratios (training graphs have exact
  optima), never on raw energies, so graphs of every size weigh the same.
* The oracle is ``ideal`` (exact, differentiable, batched over graphs) or
  ``fake:<device>`` (exact noisy density matrix; gradients with respect to the
  proposed parameters by finite differences inside a custom autograd function).

Checkpoints are ``torch.save`` dictionaries of tensors and JSON-able values,
loaded with ``weights_only=True``; they carry the model name, model config and the
meta-training config, so they describe themselves.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .ansatz import weight_scale
from .config import ConfigError, MetaConfig, StageConfig, parse_config
from .evaluate import StackedIdealOracle
from .problems import (
    FAMILY_FEATURE_NAMES,
    MaxCutProblem,
    as_rng,
    erdos_renyi,
    family_features,
    graph_features,
    load_graphs,
    paper_dataset,
    paper_graph,
    regular_graph,
)
from .schedules import fixed_angle_params, tqa_params

CHECKPOINT_FORMAT = "hybrid-qaoa-checkpoint/1"
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message says why and what to do."""


# ---------------------------------------------------------------------------- data
def training_graphs(cfg: MetaConfig) -> list[MaxCutProblem]:
    data = cfg.data
    if data.generator == "families":
        from .families import split_graphs

        return split_graphs("train", data.per_family, families=data.families)
    if data.generator == "paper":
        graphs = paper_dataset(ns=data.ns, per_nk=data.per_nk, seed=data.seed, weights=data.weights)
    elif data.generator == "erdos_renyi":
        rng = as_rng(data.seed)
        graphs = [
            erdos_renyi(int(rng.choice(data.ns)), data.edge_probability, seed=rng, weights=data.weights, id=i)
            for i in range(data.count)
        ]
    elif data.generator == "regular":
        rng = as_rng(data.seed)
        graphs = [
            regular_graph(int(rng.choice(data.ns)), data.degree, seed=rng, weights=data.weights, id=i)
            for i in range(data.count)
        ]
    else:
        if not data.path:
            raise ConfigError("data.generator 'file' needs data.path (a graph JSON file)")
        graphs = load_graphs(data.path)
    too_big = [g.n for g in graphs if g.n > 16]
    if too_big:
        raise ConfigError(f"training graphs must have n <= 16 (got n={max(too_big)}); the ideal oracle is a statevector")
    return [g.with_max_cut() for g in graphs]


def validation_graphs(cfg: MetaConfig, ns: Sequence[int] | None = None, count: int | None = None) -> list[MaxCutProblem]:
    """Held-out graphs: the paper family drawn with their own seed, or the families' "validation" split.

    For ``validation.generator: families``, ``ns`` (if given) replaces the split's node
    counts and ``count`` the number per family.
    """
    if cfg.validation.generator == "families":
        from .families import split_graphs

        nodes = {f: list(ns) for f in cfg.data.families} if ns else None
        return split_graphs("validation", count or cfg.validation.per_family, families=cfg.data.families, nodes=nodes)
    rng = as_rng(cfg.validation.seed)
    ns = list(ns or cfg.validation.ns)
    out = []
    for i in range(count or cfg.validation.count):
        n = ns[i % len(ns)]
        k = int(rng.integers(3, n))
        out.append(paper_graph(n, k, seed=rng, weights=cfg.data.weights, id=f"val{i}").with_max_cut())
    return out


# ---------------------------------------------------------------------------- episodes
def param_scale(problems: Sequence[MaxCutProblem], p: int) -> torch.Tensor:
    """Per-graph normalisation ``[w, .., w, 1, .., 1]`` (normalised = actual * scale)."""
    return torch.tensor([[weight_scale(g)] * p + [1.0] * p for g in problems], dtype=torch.float64)


def to_actual(normalised: np.ndarray, problem: MaxCutProblem, p: int) -> np.ndarray:
    return np.asarray(normalised, float) / np.array([weight_scale(problem)] * p + [1.0] * p)


def start_params(problems: Sequence[MaxCutProblem], p: int, start: str) -> torch.Tensor:
    """Normalised episode start ``x_0`` for each graph."""
    rows = []
    for g in problems:
        if start == "zero":
            theta = np.zeros(2 * p)
        elif start == "fixed":
            theta = fixed_angle_params(g, p)
        elif start == "tqa":
            theta = tqa_params(g, p)
        else:
            raise ConfigError(f"unknown start {start!r}; use zero, fixed or tqa")
        rows.append(theta * np.array([weight_scale(g)] * p + [1.0] * p))
    return torch.tensor(np.array(rows), dtype=torch.float64)


FEATURE_SETS: dict[str, tuple[Callable[[MaxCutProblem], np.ndarray], int]] = {
    "basic": (graph_features, 5),
    "family": (family_features, len(FAMILY_FEATURE_NAMES)),
}
#: Gain of the feedback inputs: a change of 0.02 in normalised cost (cut / total weight) maps to tanh(1).
FEEDBACK_GAIN = 50.0


def feature_matrix(problems: Sequence[MaxCutProblem], kind: str = "basic") -> torch.Tensor:
    fn = FEATURE_SETS[kind][0]
    return torch.tensor(np.array([fn(g) for g in problems]), dtype=torch.float64)


def num_model_features(cfg: MetaConfig) -> int:
    """Width of the model's ``features`` input: graph features (if used) plus the feedback inputs."""
    return (FEATURE_SETS[cfg.features][1] if cfg.use_features else 0) + len(cfg.feedback)


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
        self.total = torch.tensor([g.total_weight for g in problems], dtype=torch.float64, device=device)
        self.graph = feature_matrix(problems, cfg.features).to(device=device, dtype=dtype) if cfg.use_features else None
        self.count = 0
        self.last = torch.zeros(self.batch, dtype=torch.float64, device=device)
        self.delta = torch.zeros_like(self.last)
        self.gain = torch.zeros_like(self.last)
        self.best = torch.full_like(self.last, -math.inf)

    def observe(self, cut: torch.Tensor) -> None:
        """Record the measured cuts ``(G,)`` of the last proposals."""
        c = cut.detach().to(torch.float64) / self.total
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

        if not getattr(cached_target(spec), "exact", False):
            raise ConfigError(f"meta-training oracle {spec!r} has no exact mode; use ideal or fake:<device>")
        from .executors import LocalExecutor

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
    max_cut = torch.tensor([g.max_cut for g in problems], dtype=torch.float64, device=device)
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
    return Rollout(torch.stack(params), cuts_t, cuts_t / max_cut, torch.stack(measured))


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


# ---------------------------------------------------------------------------- checkpoints
def _jsonable(cfg: MetaConfig) -> dict[str, Any]:
    return json.loads(cfg.model_dump_json())


def save_checkpoint(path: str | Path, model, cfg: MetaConfig, training: dict[str, Any] | None = None, card: dict[str, Any] | None = None) -> Path:
    """Write a self-describing checkpoint (atomic: temp file then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model_name": model.name,
        "model_config": dict(model.config),
        "meta_config": _jsonable(cfg),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "training": training or {},
        "card": card or {},
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: str | Path, map_location: str = "cpu"):
    """``(model, meta_config, payload)`` from a checkpoint; clear errors when it is unusable."""
    from .models import build_model

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt files
        raise CheckpointError(f"{path}: not a readable hybrid-qaoa checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a hybrid-qaoa checkpoint (expected format {CHECKPOINT_FORMAT!r})")
    try:
        cfg = parse_config(payload["meta_config"], MetaConfig, where=f"{path} meta_config")
        model = build_model(payload["model_name"], payload["model_config"])
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: its model description is invalid ({exc})") from None
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: weights do not match model {payload['model_name']!r} with config {payload['model_config']} ({exc})"
        ) from None
    model.eval()
    return model, cfg, payload


# ---------------------------------------------------------------------------- training
def _describe_validation(cfg: MetaConfig, graphs: Sequence[MaxCutProblem]) -> str:
    if cfg.validation.generator == "families":
        sizes = sorted({g.n for g in graphs})
        return (
            f"{len(graphs)} graphs of the families' validation split ({cfg.validation.per_family} each of "
            f"{', '.join(cfg.data.families)}; n = {sizes[0]}..{sizes[-1]}) (per-stage sets in 'stages')"
        )
    return f"{len(graphs)} held-out G(n, k/n) graphs, n in {cfg.validation.ns} (per-stage sets in 'stages')"


@dataclass
class TrainingResult:
    checkpoint: Path
    best_checkpoint: Path
    history: list[dict[str, Any]]
    best_validation_ar: float
    wall_time: float
    parameter_count: int


@contextlib.contextmanager
def _shut_down_after(executor):
    try:
        yield executor
    finally:
        if executor is not None:
            executor.shutdown()


def _cosine_lr(stage: StageConfig, it: int) -> float:
    frac = min(it / max(stage.iterations - 1, 1), 1.0)
    return stage.lr_final + 0.5 * (stage.lr - stage.lr_final) * (1 + math.cos(math.pi * frac))


def _noise_generator(seed: int, device) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def validate(
    model,
    graphs: Sequence[MaxCutProblem],
    cfg: MetaConfig,
    oracle_spec: str = "ideal",
    executor=None,
    shots: int | None = None,
    steps: int | None = None,
) -> float:
    """Mean exact AR of what Phase I returns on ``graphs``: the best measured of its proposals.

    With ``shots``, costs are sampled (noise from a generator seeded by
    ``cfg.validation.seed``, so every call sees the same draws for the same proposals).
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        oracle = EpisodeOracle(graphs, cfg.p, oracle_spec, device=device, executor=executor)
        gen = _noise_generator(cfg.validation.seed, device) if shots is not None else None
        ro = rollout(model, graphs, oracle, cfg, shots=shots, generator=gen, steps=steps)
        ar = ro.best_ratios()[-1].mean().item()
    model.train(was_training)
    return float(ar)


def train(
    cfg: MetaConfig,
    *,
    resume: str | Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    overwrite: bool = False,
) -> TrainingResult:
    """Meta-train ``cfg.model`` through ``cfg.stages``; resumable from ``out/checkpoint.pt``.

    Without ``resume``, an existing ``out/checkpoint.pt`` is never overwritten unless
    ``overwrite=True`` (``--force``).
    """
    from .models import build_model, count_parameters

    existing = Path(cfg.out) / "checkpoint.pt"
    if resume is None and not overwrite and existing.exists():
        raise CheckpointError(
            f"{existing} already exists; pass --resume to continue it, --force to start afresh over it, "
            "or another --out"
        )

    torch.set_num_threads(max(1, cfg.threads))
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for but torch sees no GPU; use device: cpu")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    options = {"p": cfg.p, "num_features": num_model_features(cfg), **cfg.model_options}
    model = build_model(cfg.model, options).to(device)
    train_set = training_graphs(cfg)
    val_set = validation_graphs(cfg)
    rng = np.random.default_rng(cfg.seed)
    history: list[dict[str, Any]] = []
    stage_results: list[dict[str, Any]] = []
    stage_index, iteration, best_ar, best_state, bad = 0, 0, -math.inf, None, 0
    opt_state = None
    started = time.perf_counter()
    elapsed_before = 0.0
    if resume is not None:
        model_r, cfg_r, payload = load_checkpoint(resume, map_location=str(device))
        if cfg_r.model_dump() != cfg.model_dump():
            raise CheckpointError(f"{resume}: was trained with a different config; resume with the same config file")
        model.load_state_dict(model_r.state_dict())
        tr = payload["training"]
        stage_index, iteration, best_ar, bad = tr["stage"], tr["iteration"], tr["best_ar"], tr["bad"]
        history = json.loads(tr["history_json"])
        stage_results = json.loads(tr.get("stages_json", "[]"))
        rng.bit_generator.state = json.loads(tr["rng_json"])
        torch.set_rng_state(tr["torch_rng"])
        best_state = tr.get("best_state") or None
        opt_state = tr.get("optimizer")
        elapsed_before = float(tr.get("elapsed", 0.0))

    def checkpoint(stage_i: int, it: int, optimizer) -> None:
        training = {
            "stage": stage_i,
            "iteration": it,
            "best_ar": best_ar,
            "bad": bad,
            "history_json": json.dumps(history),
            "stages_json": json.dumps(stage_results),
            "rng_json": json.dumps(rng.bit_generator.state),
            "torch_rng": torch.get_rng_state(),
            "best_state": best_state or {},
            "optimizer": optimizer.state_dict() if optimizer is not None else {},
            "elapsed": elapsed_before + time.perf_counter() - started,
        }
        save_checkpoint(out / "checkpoint.pt", model, cfg, training)
        (out / "history.json").write_text(json.dumps(history, indent=1))

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = [
        TextColumn("[bold]{task.fields[stage]}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("loss {task.fields[loss]:.4f}  val AR {task.fields[val]:.4f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    executor = None
    if any(stage.oracle != "ideal" for stage in cfg.stages[stage_index:]):
        from .executors import get_executor

        executor = get_executor(cfg.executor)
    with Progress(*columns, disable=not progress, transient=False) as bar, _shut_down_after(executor):
        while stage_index < len(cfg.stages):
            stage = cfg.stages[stage_index]
            pool = [g for g in train_set if stage.max_n is None or g.n <= stage.max_n]
            if not pool:
                raise ConfigError(f"stage {stage.name!r}: no training graph with n <= {stage.max_n}")
            if stage.pool_size is not None and stage.pool_size < len(pool):
                chosen = np.random.default_rng(cfg.seed + stage_index).choice(len(pool), stage.pool_size, replace=False)
                pool = [pool[i] for i in sorted(chosen)]
            val_spec = "ideal" if stage.validate_on == "ideal" else stage.oracle
            stage_val = val_set if val_spec == "ideal" else validation_graphs(cfg, stage.val_ns, stage.val_count)
            start_ar = None
            if iteration == 0:  # each stage selects its best weights by its own validation ...
                best_ar, bad = -math.inf, 0
                if stage_index > 0:  # ... and must beat the weights it starts from to change them
                    start_ar = validate(model, stage_val, cfg, val_spec, executor=executor, shots=stage.shots)
                    best_ar = start_ar
                    best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                    history.append({"stage": stage.name, "iteration": 0, "start_val_ar": start_ar, "val_ar": start_ar})
            optimizer = torch.optim.Adam(model.parameters(), lr=stage.lr)
            if opt_state:
                optimizer.load_state_dict(opt_state)
                opt_state = None
            task = bar.add_task("train", total=stage.iterations, completed=iteration, stage=stage.name, loss=float("nan"), val=best_ar if best_ar > -math.inf else float("nan"))
            while iteration < stage.iterations:
                for group in optimizer.param_groups:
                    group["lr"] = _cosine_lr(stage, iteration)
                idx = rng.choice(len(pool), size=min(stage.batch_size, len(pool)), replace=False)
                batch = [pool[i] for i in idx]
                oracle = EpisodeOracle(batch, cfg.p, stage.oracle, device=device, executor=executor)
                ro = rollout(model, batch, oracle, cfg, shots=stage.shots)
                loss = meta_loss(ro.ratios, cfg.loss, ro.measured)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), stage.grad_clip)
                optimizer.step()
                iteration += 1
                record = {
                    "stage": stage.name,
                    "iteration": iteration,
                    "loss": loss.item(),
                    "train_ar_final": ro.ratios[-1].mean().item(),
                    "train_ar_best": ro.best_ratios()[-1].mean().item(),
                    "lr": optimizer.param_groups[0]["lr"],
                }
                if iteration % cfg.validation.every == 0 or iteration == stage.iterations:
                    val_ar = validate(model, stage_val, cfg, val_spec, executor=executor, shots=stage.shots)
                    record["val_ar"] = val_ar
                    if val_ar > best_ar + 1e-6:
                        best_ar, bad = val_ar, 0
                        best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                    else:
                        bad += 1
                    bar.update(task, val=val_ar)
                    if log:
                        log(f"{stage.name} it {iteration}: loss {loss.item():.4f} val AR {val_ar:.4f}")
                    history.append(record)
                    checkpoint(stage_index, iteration, optimizer)
                    if bad >= cfg.validation.patience:
                        break
                else:
                    history.append(record)
                bar.update(task, completed=iteration, loss=loss.item())
            result = {"stage": stage.name, "oracle": stage.oracle, "shots": stage.shots, "validated_on": val_spec, "best_val_ar": best_ar}
            if stage_index > 0:
                first = next((r for r in history if r["stage"] == stage.name and "start_val_ar" in r), None)
                start = first["start_val_ar"] if first else start_ar
                result["start_val_ar"] = start
                result["improved"] = start is not None and best_ar > start + 1e-6
            stage_results.append(result)
            stage_index += 1
            iteration, bad = 0, 0
            # the next stage starts from the best weights so far
            if best_state:
                model.load_state_dict(best_state)
            checkpoint(stage_index, iteration, None)
    if best_state:
        model.load_state_dict(best_state)
    wall = elapsed_before + time.perf_counter() - started
    card = {
        "model": cfg.model,
        "p": cfg.p,
        "parameters": count_parameters(model),
        "validation_ar": best_ar,
        "validation": _describe_validation(cfg, val_set),
        "validation_metric": "mean exact AR of the best measured of the Phase I proposals"
        + (f" (costs sampled with {cfg.stages[0].shots} shots)" if cfg.stages[0].shots else " (exact costs)"),
        "features": cfg.features if cfg.use_features else "none",
        "feedback": ["cost", *cfg.feedback],
        "loss": cfg.loss,
        "seed": cfg.seed,
        "stages": stage_results,
        "data": cfg.data.model_dump(),
        "oracles": [s.oracle for s in cfg.stages],
        "training_seconds": round(wall, 1),
        "date": _dt.date.today().isoformat(),
        "torch": str(torch.__version__),
    }
    best_path = save_checkpoint(out / "best.pt", model, cfg, {}, card)
    (out / "best.json").write_text(json.dumps({"meta_config": _jsonable(cfg), **card}, indent=1))
    return TrainingResult(out / "checkpoint.pt", best_path, history, best_ar, wall, count_parameters(model))


def train_seeds(
    cfg: MetaConfig,
    seeds: Sequence[int],
    *,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train ``cfg`` once per training seed (sequentially) into ``OUT/seed<k>``; write ``OUT/seeds.json``.

    An existing ``OUT/seed<k>/checkpoint.pt`` is refused unless ``overwrite`` (``--force``).

    Only the model seed changes (initial weights, batch order, sampled-cost noise); the
    data and validation graphs stay the same, so the spread of the validation ARs is
    the seed-to-seed noise a model comparison must exceed. The summary names the seed
    with the best validation AR (``best_checkpoint``).
    """
    seeds = [int(k) for k in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds must be distinct integers, got {seeds}")
    out = Path(cfg.out)
    runs = []
    for k in seeds:
        run_cfg = cfg.model_copy(update={"seed": k, "out": str(out / f"seed{k}")})
        result = train(run_cfg, progress=progress, log=log, overwrite=overwrite)
        runs.append({"seed": k, "validation_ar": result.best_validation_ar, "seconds": round(result.wall_time, 1),
                     "checkpoint": str(result.best_checkpoint)})
        if log:
            log(f"seed {k}: validation AR {result.best_validation_ar:.4f} in {result.wall_time:.0f} s")
    ars = np.array([r["validation_ar"] for r in runs])
    best = runs[int(np.argmax(ars))]
    summary = {
        "model": cfg.model,
        "p": cfg.p,
        "runs": runs,
        "mean": float(ars.mean()),
        "std": float(ars.std(ddof=1)) if len(ars) > 1 else 0.0,
        "spread": float(ars.max() - ars.min()),
        "best_seed": best["seed"],
        "best_checkpoint": best["checkpoint"],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "seeds.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


# ---------------------------------------------------------------------------- Phase I at inference
@dataclass
class PhaseOneResult:
    """The learned proposals for one graph and what they cost."""

    theta: np.ndarray  # actual parameters of the best measured proposal (the Phase II start)
    thetas: np.ndarray  # (T, 2p) every proposal
    energies: np.ndarray  # (T,) expected cut measured at each proposal
    evaluations: int
    best_theta: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the same as ``theta``
    evaluation_records: list = field(default_factory=list)
    best_index: int = 0  # which proposal ``theta`` is

    @property
    def best_energy(self) -> float:
        return float(self.energies[self.best_index])


def phase_one(
    model,
    cfg: MetaConfig,
    problem: MaxCutProblem,
    evaluate: Callable[[np.ndarray], Any],
    *,
    steps: int | None = None,
) -> PhaseOneResult:
    """Run the model for ``steps`` (default ``cfg.steps``) steps; each proposal costs one ``evaluate(theta)``.

    ``evaluate`` returns the expected cut at actual parameters, either as a float
    or as an object with ``energies`` (an :class:`~hybrid.evaluate.Evaluation`).
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
    thetas, energies, records = [], [], []
    with torch.no_grad():
        for _ in range(steps):
            x, state = model(x, inputs.cost(), inputs.features(), state)
            theta = to_actual(x[0].double().cpu().numpy(), problem, p)
            result = evaluate(theta)
            value = float(result.energies[0]) if hasattr(result, "energies") else float(result)
            records.append(result)
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
        evaluation_records=records,
        best_index=best,
    )


# ---------------------------------------------------------------------------- feedback ablation
def feedback_ablation(
    model,
    cfg: MetaConfig,
    graphs: Sequence[MaxCutProblem],
    *,
    shots: int | None = 1000,
    steps: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Does the model use its cost feedback? Best-of-episode AR with real versus constant costs fed back.

    Both episodes measure every proposal the same way (exact, or sampled with
    ``shots``: the same noise seed for both) and return the best measured one, scored
    by its exact AR. In the ``constant`` episode the model is fed, at every step, the
    mean of the costs it measured in the real episode instead of each measured cost
    (so ``delta`` and ``best`` inputs stay 0): its proposals then depend on the graph
    features alone. ``real - constant`` is what the feedback is worth.
    """
    graphs = [g if g.max_cut is not None else g.with_max_cut() for g in graphs]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        oracle = EpisodeOracle(graphs, cfg.p, "ideal", device=device)
        real = rollout(model, graphs, oracle, cfg, shots=shots, generator=_noise_generator(seed, device), steps=steps)
        scale = param_scale(graphs, cfg.p).to(device)
        start = oracle(start_params(graphs, cfg.p, cfg.start).to(device) / scale) / torch.tensor(
            [g.max_cut for g in graphs], dtype=torch.float64, device=device
        )
        constant = real.measured.mean(0)
        flat = rollout(
            model, graphs, oracle, cfg, shots=shots, generator=_noise_generator(seed, device), steps=steps,
            constant_feedback=constant,
        )
    model.train(was_training)
    real_best, flat_best = real.best_ratios(), flat.best_ratios()
    out = {
        "graphs": len(graphs),
        "shots": shots,
        "steps": int(real.ratios.shape[0]),
        "real": float(real_best[-1].mean()),
        "constant": float(flat_best[-1].mean()),
        "start": float(start.mean()),  # the episode's start point (cfg.start), not evaluated in Phase I
        "first_proposal": float(real.ratios[0].mean()),
        "real_last": float(real.ratios[-1].mean()),
        "constant_last": float(flat.ratios[-1].mean()),
        "real_by_step": [float(v) for v in real_best.mean(1)],
        "constant_by_step": [float(v) for v in flat_best.mean(1)],
    }
    diff = (real_best[-1] - flat_best[-1]).double()
    out["difference"] = out["real"] - out["constant"]
    out["difference_stderr"] = float(diff.std() / math.sqrt(len(graphs))) if len(graphs) > 1 else float("nan")
    return out


# ---------------------------------------------------------------------------- shipped models
def pretrained_names() -> list[str]:
    return sorted(p.stem for p in PRETRAINED_DIR.glob("*.pt"))


def resolve_pretrained(spec: str = "learned", p: int = 1) -> Path:
    """``learned`` (the default for depth p), ``learned:NAME`` (a shipped model) or a path."""
    name = spec.partition(":")[2] if spec.startswith("learned") else spec
    if name and (Path(name).suffix == ".pt" or "/" in name):
        path = Path(name)
        if not path.exists():
            raise CheckpointError(f"checkpoint {name!r} does not exist")
        return path
    if not name:
        name = "default" if p == 1 else f"default-p{p}"
    path = PRETRAINED_DIR / f"{name}.pt"
    if not path.exists():
        raise CheckpointError(
            f"no shipped model {name!r}; available: {', '.join(pretrained_names()) or 'none'} (or pass a .pt path)"
        )
    return path


_MODEL_CACHE: dict[str, tuple] = {}


def load_pretrained(spec: str = "learned", p: int = 1):
    """``(model, meta_config, card)`` of a shipped model or a checkpoint path (cached)."""
    path = resolve_pretrained(spec, p)
    key = str(path.resolve())
    if key not in _MODEL_CACHE:
        model, cfg, payload = load_checkpoint(path)
        _MODEL_CACHE[key] = (model, cfg, payload.get("card", {}))
    return _MODEL_CACHE[key]


def learned_strategy(
    problem: MaxCutProblem, p: int, *, seed=None, spec: str = "learned", oracle=None, steps: int | None = None, **_
) -> np.ndarray:
    """The ``learned`` initial strategy: Phase I of a shipped model, its best proposal.

    Each proposal is evaluated on ``oracle`` (default: the exact ideal simulator),
    so this spends ``steps`` (default: the model's) evaluations; use :func:`phase_one` to see them.
    """
    from .evaluate import ideal_oracle

    model, cfg, _ = load_pretrained(spec, p)
    if oracle is None:
        oracle = ideal_oracle(problem, p)
    result = phase_one(model, cfg, problem, lambda theta: oracle.evaluate(theta, seed=seed), steps=steps)
    return result.theta


def ship_model(checkpoint: str | Path, name: str, **card_extra: Any) -> Path:
    """Copy a trained model into the package (``learned:NAME``) with its JSON card (plus ``card_extra``)."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise CheckpointError(f"model name {name!r} must be letters, digits, '-' or '_'")
    model, cfg, payload = load_checkpoint(checkpoint)
    PRETRAINED_DIR.mkdir(parents=True, exist_ok=True)
    card = dict(payload.get("card", {}))
    card["name"] = name
    card.update(card_extra)
    path = save_checkpoint(PRETRAINED_DIR / f"{name}.pt", model, cfg, {}, card)
    (PRETRAINED_DIR / f"{name}.json").write_text(json.dumps({"meta_config": _jsonable(cfg), **card}, indent=1) + "\n")
    _MODEL_CACHE.pop(str(path.resolve()), None)
    return path
