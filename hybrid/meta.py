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
    MaxCutProblem,
    as_rng,
    erdos_renyi,
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
    """Held-out graphs from the paper family, drawn with their own seed."""
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


def feature_matrix(problems: Sequence[MaxCutProblem]) -> torch.Tensor:
    return torch.tensor(np.array([graph_features(g) for g in problems]), dtype=torch.float64)


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


@dataclass
class Rollout:
    params: torch.Tensor  # (T, G, 2p), normalised
    cuts: torch.Tensor  # (T, G) expected cuts
    ratios: torch.Tensor  # (T, G) approximation ratios


def rollout(model, problems: Sequence[MaxCutProblem], oracle: Callable[[torch.Tensor], torch.Tensor], cfg: MetaConfig) -> Rollout:
    """Run one episode on every graph at once (gradients flow through the parameters)."""
    p, device = cfg.p, next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    scale = param_scale(problems, p).to(device)
    total = torch.tensor([g.total_weight for g in problems], dtype=torch.float64, device=device)
    max_cut = torch.tensor([g.max_cut for g in problems], dtype=torch.float64, device=device)
    feats = feature_matrix(problems).to(device=device, dtype=dtype) if cfg.use_features else None
    x = start_params(problems, p, cfg.start).to(device=device, dtype=dtype)
    cost = torch.zeros(len(problems), 1, device=device, dtype=dtype)
    state = model.initial_state(len(problems))
    params, cuts = [], []
    for _ in range(cfg.steps):
        x, state = model(x, cost, feats, state)
        cut = oracle(x.to(torch.float64) / scale)
        cost = (cut / total).detach().to(dtype)[:, None]
        params.append(x)
        cuts.append(cut)
    cuts_t = torch.stack(cuts)
    return Rollout(torch.stack(params), cuts_t, cuts_t / max_cut)


def meta_loss(ratios: torch.Tensor, kind: str) -> torch.Tensor:
    """Meta-loss to minimise from approximation ratios ``(T, G)``.

    ``weighted``: minus the mean AR with weights growing linearly in t;
    ``observed_improvement``: minus the summed gains over the best AR so far
    (Verdon et al. 2019, for a maximised objective); ``final``: minus the last AR.
    """
    steps = ratios.shape[0]
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
    raise ConfigError(f"unknown meta-loss {kind!r}; use weighted, observed_improvement or final")


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


def validate(model, graphs: Sequence[MaxCutProblem], cfg: MetaConfig, oracle_spec: str = "ideal", executor=None) -> float:
    """Mean AR of the last Phase I proposal on ``graphs``."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        oracle = EpisodeOracle(graphs, cfg.p, oracle_spec, device=device, executor=executor)
        ar = rollout(model, graphs, oracle, cfg).ratios[-1].mean().item()
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
    options = {"p": cfg.p, "num_features": 5 if cfg.use_features else 0, **cfg.model_options}
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
            if iteration == 0:  # each stage selects its best weights by its own validation
                best_ar, bad = -math.inf, 0
            optimizer = torch.optim.Adam(model.parameters(), lr=stage.lr)
            if opt_state:
                optimizer.load_state_dict(opt_state)
                opt_state = None
            task = bar.add_task("train", total=stage.iterations, completed=iteration, stage=stage.name, loss=float("nan"), val=best_ar if best_ar > -math.inf else float("nan"))
            val_spec = "ideal" if stage.validate_on == "ideal" else stage.oracle
            stage_val = val_set if val_spec == "ideal" else validation_graphs(cfg, stage.val_ns, stage.val_count)
            while iteration < stage.iterations:
                for group in optimizer.param_groups:
                    group["lr"] = _cosine_lr(stage, iteration)
                idx = rng.choice(len(pool), size=min(stage.batch_size, len(pool)), replace=False)
                batch = [pool[i] for i in idx]
                oracle = EpisodeOracle(batch, cfg.p, stage.oracle, device=device, executor=executor)
                ro = rollout(model, batch, oracle, cfg)
                loss = meta_loss(ro.ratios, cfg.loss)
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
                    "lr": optimizer.param_groups[0]["lr"],
                }
                if iteration % cfg.validation.every == 0 or iteration == stage.iterations:
                    val_ar = validate(model, stage_val, cfg, val_spec, executor=executor)
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
            stage_results.append({"stage": stage.name, "oracle": stage.oracle, "validated_on": val_spec, "best_val_ar": best_ar})
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
        "validation": f"{len(val_set)} held-out G(n, k/n) graphs, n in {cfg.validation.ns} (per-stage sets in 'stages')",
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


# ---------------------------------------------------------------------------- Phase I at inference
@dataclass
class PhaseOneResult:
    """The learned proposal for one graph and what it cost."""

    theta: np.ndarray  # actual parameters, last proposal (the Phase II start)
    thetas: np.ndarray  # (T, 2p) every proposal
    energies: np.ndarray  # (T,) expected cut measured at each proposal
    evaluations: int
    best_theta: np.ndarray = field(default_factory=lambda: np.zeros(0))
    evaluation_records: list = field(default_factory=list)


def phase_one(model, cfg: MetaConfig, problem: MaxCutProblem, evaluate: Callable[[np.ndarray], Any]) -> PhaseOneResult:
    """Run the model for ``cfg.steps`` steps; each proposal costs one ``evaluate(theta)``.

    ``evaluate`` returns the expected cut at actual parameters, either as a float
    or as an object with ``energies`` (an :class:`~hybrid.evaluate.Evaluation`).
    """
    p = cfg.p
    if model.config.get("p", p) != p:
        raise CheckpointError(f"model was trained for p={model.config.get('p')}, asked for p={p}")
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    feats = feature_matrix([problem]).to(device=device, dtype=dtype) if cfg.use_features else None
    x = start_params([problem], p, cfg.start).to(device=device, dtype=dtype)
    cost = torch.zeros(1, 1, device=device, dtype=dtype)
    state = model.initial_state(1)
    thetas, energies, records = [], [], []
    with torch.no_grad():
        for _ in range(cfg.steps):
            x, state = model(x, cost, feats, state)
            theta = to_actual(x[0].double().cpu().numpy(), problem, p)
            result = evaluate(theta)
            value = float(result.energies[0]) if hasattr(result, "energies") else float(result)
            records.append(result)
            thetas.append(theta)
            energies.append(value)
            cost = torch.tensor([[value / problem.total_weight]], device=device, dtype=dtype)
    thetas_a, energies_a = np.array(thetas), np.array(energies)
    return PhaseOneResult(
        theta=thetas_a[-1],
        thetas=thetas_a,
        energies=energies_a,
        evaluations=len(energies),
        best_theta=thetas_a[int(np.argmax(energies_a))],
        evaluation_records=records,
    )


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


def learned_strategy(problem: MaxCutProblem, p: int, *, seed=None, spec: str = "learned", oracle=None, **_) -> np.ndarray:
    """The ``learned`` initial strategy: Phase I of a shipped model.

    Each proposal is evaluated on ``oracle`` (default: the exact ideal simulator),
    so this spends ``steps`` evaluations; use :func:`phase_one` to see them.
    """
    from .evaluate import ideal_oracle

    model, cfg, _ = load_pretrained(spec, p)
    if oracle is None:
        oracle = ideal_oracle(problem, p)
    result = phase_one(model, cfg, problem, lambda theta: oracle.evaluate(theta, seed=seed))
    return result.theta


def ship_model(checkpoint: str | Path, name: str) -> Path:
    """Copy a trained model into the package (``learned:NAME``) with its JSON card."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise CheckpointError(f"model name {name!r} must be letters, digits, '-' or '_'")
    model, cfg, payload = load_checkpoint(checkpoint)
    PRETRAINED_DIR.mkdir(parents=True, exist_ok=True)
    card = dict(payload.get("card", {}))
    card["name"] = name
    path = save_checkpoint(PRETRAINED_DIR / f"{name}.pt", model, cfg, {}, card)
    (PRETRAINED_DIR / f"{name}.json").write_text(json.dumps({"meta_config": _jsonable(cfg), **card}, indent=1) + "\n")
    _MODEL_CACHE.pop(str(path.resolve()), None)
    return path
