"""The meta-training loop: stages, validation, resumable checkpoints, seeds, the feedback ablation.

:func:`train` meta-trains ``cfg.model`` through ``cfg.stages`` (each stage with its
oracle, shots, batch, learning-rate schedule and validation), writing a resumable
``checkpoint.pt`` and the best weights ``best.pt`` with a JSON card;
:func:`train_seeds` repeats it over training seeds; :func:`feedback_ablation`
measures what the cost feedback is worth to a trained model.
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

from ..config import ConfigError, MetaConfig, StageConfig
from ..executors import get_executor
from ..models import build_model, count_parameters
from ..problems import MaxCutProblem
from .checkpoint import CheckpointError, config_json, load_checkpoint, save_checkpoint
from .data import num_model_features, param_scale, start_params, training_graphs, validation_graphs
from .episode import EpisodeOracle, _noise_generator, meta_loss, ratio_bounds, rollout


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


def check_meta_config(cfg: MetaConfig, ship: str | None = None) -> MetaConfig:
    """Every check of a meta-training config that can fail, before any training: the executor, the
    stage oracles' specs and the ``--ship`` name (numeric ranges are checked when the config is read)."""
    from backends import TargetError, parse_spec

    from ..config import ConfigError
    from ..executors import ExecutorError, check_executor
    from .pretrained import check_ship_name

    try:
        check_executor(cfg.executor, "executor (or --executor)")
    except ExecutorError as exc:
        raise ConfigError(str(exc)) from None
    for i, stage in enumerate(cfg.stages):
        try:
            parse_spec(stage.oracle)
        except TargetError as exc:
            raise ConfigError(f"stages[{i}].oracle {stage.oracle!r}: {exc}") from None
    if ship is not None:
        check_ship_name(ship)
    return cfg


@dataclass
class _TrainState:
    """What one checkpoint saves together: the place in the stages, the best weights, patience, the RNGs."""

    rng: np.random.Generator
    started: float
    history: list[dict[str, Any]] = field(default_factory=list)
    stage_results: list[dict[str, Any]] = field(default_factory=list)
    stage_index: int = 0
    iteration: int = 0
    best_ar: float = -math.inf
    best_state: dict[str, torch.Tensor] | None = None
    bad: int = 0
    opt_state: dict[str, Any] | None = None
    elapsed_before: float = 0.0

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.started

    def keep_best(self, model) -> None:
        self.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _model_and_data(cfg: MetaConfig):
    """Threads, device, output folder, the seeded model (sized by the graph features) and both graph sets."""
    torch.set_num_threads(max(1, cfg.threads))
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for but torch sees no GPU; use device: cpu")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    options = {"p": cfg.p, "num_features": num_model_features(cfg), **cfg.model_options}
    model = build_model(cfg.model, options).to(device)
    return device, out, model, training_graphs(cfg), validation_graphs(cfg)


def _resume_state(state: _TrainState, model, cfg: MetaConfig, resume: str | Path, device) -> None:
    """Load the weights and the training state of the checkpoint ``resume`` into ``model`` and ``state``."""
    model_r, cfg_r, payload = load_checkpoint(resume, map_location=str(device))
    if cfg_r.model_dump() != cfg.model_dump():
        raise CheckpointError(f"{resume}: was trained with a different config; resume with the same config file")
    model.load_state_dict(model_r.state_dict())
    tr = payload["training"]
    state.stage_index, state.iteration, state.best_ar, state.bad = tr["stage"], tr["iteration"], tr["best_ar"], tr["bad"]
    state.history = json.loads(tr["history_json"])
    state.stage_results = json.loads(tr.get("stages_json", "[]"))
    state.rng.bit_generator.state = json.loads(tr["rng_json"])
    torch.set_rng_state(tr["torch_rng"])
    state.best_state = tr.get("best_state") or None
    state.opt_state = tr.get("optimizer")
    state.elapsed_before = float(tr.get("elapsed", 0.0))


def _checkpoint(out: Path, model, cfg: MetaConfig, state: _TrainState, stage_i: int, it: int, optimizer) -> None:
    """Write ``out/checkpoint.pt`` (weights and training state) and ``out/history.json``."""
    training = {
        "stage": stage_i,
        "iteration": it,
        "best_ar": state.best_ar,
        "bad": state.bad,
        "history_json": json.dumps(state.history),
        "stages_json": json.dumps(state.stage_results),
        "rng_json": json.dumps(state.rng.bit_generator.state),
        "torch_rng": torch.get_rng_state(),
        "best_state": state.best_state or {},
        "optimizer": optimizer.state_dict() if optimizer is not None else {},
        "elapsed": state.elapsed(),
    }
    save_checkpoint(out / "checkpoint.pt", model, cfg, training)
    (out / "history.json").write_text(json.dumps(state.history, indent=1))


def _stage_data(cfg: MetaConfig, stage: StageConfig, stage_index: int, train_set, val_set):
    """The stage's training pool (``max_n``, then a seeded ``pool_size`` subset), validation oracle and graphs."""
    pool = [g for g in train_set if stage.max_n is None or g.n <= stage.max_n]
    if not pool:
        raise ConfigError(f"stage {stage.name!r}: no training graph with n <= {stage.max_n}")
    if stage.pool_size is not None and stage.pool_size < len(pool):
        chosen = np.random.default_rng(cfg.seed + stage_index).choice(len(pool), stage.pool_size, replace=False)
        pool = [pool[i] for i in sorted(chosen)]
    val_spec = "ideal" if stage.validate_on == "ideal" else stage.oracle
    stage_val = val_set if val_spec == "ideal" else validation_graphs(cfg, stage.val_ns, stage.val_count)
    return pool, val_spec, stage_val


def _episode(model, pool, stage: StageConfig, cfg: MetaConfig, rng: np.random.Generator, device, executor):
    """One training episode on a batch drawn from ``pool``: its rollout and meta-loss."""
    idx = rng.choice(len(pool), size=min(stage.batch_size, len(pool)), replace=False)
    batch = [pool[i] for i in idx]
    oracle = EpisodeOracle(batch, cfg.p, stage.oracle, device=device, executor=executor)
    ro = rollout(model, batch, oracle, cfg, shots=stage.shots)
    return ro, meta_loss(ro.ratios, cfg.loss, ro.measured)


def _training_step(model, optimizer, pool, stage: StageConfig, cfg: MetaConfig, state: _TrainState, device, executor):
    """Set the cosine learning rate, run one episode, take one clipped Adam step; the iteration's record."""
    for group in optimizer.param_groups:
        group["lr"] = _cosine_lr(stage, state.iteration)
    ro, loss = _episode(model, pool, stage, cfg, state.rng, device, executor)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), stage.grad_clip)
    optimizer.step()
    state.iteration += 1
    return {
        "stage": stage.name,
        "iteration": state.iteration,
        "loss": loss.item(),
        "train_ar_final": ro.ratios[-1].mean().item(),
        "train_ar_best": ro.best_ratios()[-1].mean().item(),
        "lr": optimizer.param_groups[0]["lr"],
    }


def _validation(model, stage_val, cfg: MetaConfig, stage: StageConfig, val_spec: str, state: _TrainState, executor, record) -> float:
    """Validate, note the AR in ``record``, keep the weights if they beat the best (else count patience)."""
    val_ar = validate(model, stage_val, cfg, val_spec, executor=executor, shots=stage.shots)
    record["val_ar"] = val_ar
    if val_ar > state.best_ar + 1e-6:
        state.best_ar, state.bad = val_ar, 0
        state.keep_best(model)
    else:
        state.bad += 1
    return val_ar


def _start_stage(model, stage_val, cfg: MetaConfig, stage: StageConfig, val_spec: str, state: _TrainState, executor):
    """At a stage's first iteration, reset its best; a later stage first validates the weights it starts from."""
    start_ar = None
    if state.iteration == 0:  # each stage selects its best weights by its own validation ...
        state.best_ar, state.bad = -math.inf, 0
        if state.stage_index > 0:  # ... and must beat the weights it starts from to change them
            start_ar = validate(model, stage_val, cfg, val_spec, executor=executor, shots=stage.shots)
            state.best_ar = start_ar
            state.keep_best(model)
            state.history.append({"stage": stage.name, "iteration": 0, "start_val_ar": start_ar, "val_ar": start_ar})
    return start_ar


def _end_stage(model, stage: StageConfig, val_spec: str, start_ar, state: _TrainState) -> None:
    """Record the stage's result and move on to the next stage, from the best weights so far."""
    result = {"stage": stage.name, "oracle": stage.oracle, "shots": stage.shots, "validated_on": val_spec, "best_val_ar": state.best_ar}
    if state.stage_index > 0:
        first = next((r for r in state.history if r["stage"] == stage.name and "start_val_ar" in r), None)
        start = first["start_val_ar"] if first else start_ar
        result["start_val_ar"] = start
        result["improved"] = start is not None and state.best_ar > start + 1e-6
    state.stage_results.append(result)
    state.stage_index += 1
    state.iteration, state.bad = 0, 0
    if state.best_state:
        model.load_state_dict(state.best_state)


def _run_stage(model, cfg: MetaConfig, state: _TrainState, data, out: Path, device, executor, bar, log) -> None:
    """Train the current stage from ``state`` to its end or its patience, validating and checkpointing."""
    train_set, val_set = data
    stage = cfg.stages[state.stage_index]
    pool, val_spec, stage_val = _stage_data(cfg, stage, state.stage_index, train_set, val_set)
    start_ar = _start_stage(model, stage_val, cfg, stage, val_spec, state, executor)
    optimizer = torch.optim.Adam(model.parameters(), lr=stage.lr)
    if state.opt_state:
        optimizer.load_state_dict(state.opt_state)
        state.opt_state = None
    val = state.best_ar if state.best_ar > -math.inf else float("nan")
    task = bar.add_task("train", total=stage.iterations, completed=state.iteration, stage=stage.name, loss=float("nan"), val=val)
    while state.iteration < stage.iterations:
        record = _training_step(model, optimizer, pool, stage, cfg, state, device, executor)
        loss = record["loss"]
        if state.iteration % cfg.validation.every == 0 or state.iteration == stage.iterations:
            val_ar = _validation(model, stage_val, cfg, stage, val_spec, state, executor, record)
            bar.update(task, val=val_ar)
            if log:
                log(f"{stage.name} it {state.iteration}: loss {loss:.4f} val AR {val_ar:.4f}")
            state.history.append(record)
            _checkpoint(out, model, cfg, state, state.stage_index, state.iteration, optimizer)
            if state.bad >= cfg.validation.patience:
                break
        else:
            state.history.append(record)
        bar.update(task, completed=state.iteration, loss=loss)
    _end_stage(model, stage, val_spec, start_ar, state)
    _checkpoint(out, model, cfg, state, state.stage_index, state.iteration, None)


def _progress_columns() -> list:
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return [
        TextColumn("[bold]{task.fields[stage]}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("loss {task.fields[loss]:.4f}  val AR {task.fields[val]:.4f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]


def _write_best(model, cfg: MetaConfig, state: _TrainState, val_set, out: Path, wall: float) -> Path:
    """Save the best weights with their card to ``out/best.pt`` and ``out/best.json``."""
    card = {
        "model": cfg.model,
        "p": cfg.p,
        "parameters": count_parameters(model),
        "validation_ar": state.best_ar,
        "validation": _describe_validation(cfg, val_set),
        "validation_metric": "mean exact AR of the best measured of the Phase I proposals"
        + (f" (costs sampled with {cfg.stages[0].shots} shots)" if cfg.stages[0].shots else " (exact costs)"),
        "features": cfg.features if cfg.use_features else "none",
        "feedback": ["cost", *cfg.feedback],
        "loss": cfg.loss,
        "seed": cfg.seed,
        "stages": state.stage_results,
        "data": cfg.data.model_dump(),
        "oracles": [s.oracle for s in cfg.stages],
        "training_seconds": round(wall, 1),
        "date": _dt.date.today().isoformat(),
        "torch": str(torch.__version__),
    }
    best_path = save_checkpoint(out / "best.pt", model, cfg, {}, card)
    (out / "best.json").write_text(json.dumps({"meta_config": config_json(cfg), **card}, indent=1))
    return best_path


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

    The steps: :func:`_model_and_data` seeds and builds the model and the graph sets
    (:func:`_resume_state` then loads a checkpoint into them and the :class:`_TrainState`);
    :func:`_run_stage` trains each stage on its pool (:func:`_stage_data`), one
    :func:`_training_step` (an :func:`_episode` and its optimiser step) per iteration, with
    :func:`_validation` every ``cfg.validation.every`` iterations and :func:`_checkpoint`
    after it; :func:`_write_best` saves the best weights with their card.
    """
    check_meta_config(cfg)
    existing = Path(cfg.out) / "checkpoint.pt"
    if resume is None and not overwrite and existing.exists():
        raise CheckpointError(
            f"{existing} already exists; pass --resume to continue it, --force to start afresh over it, "
            "or another --out"
        )
    device, out, model, train_set, val_set = _model_and_data(cfg)
    state = _TrainState(rng=np.random.default_rng(cfg.seed), started=time.perf_counter())
    if resume is not None:
        _resume_state(state, model, cfg, resume, device)

    from rich.progress import Progress

    executor = None
    if any(stage.oracle != "ideal" for stage in cfg.stages[state.stage_index:]):
        executor = get_executor(cfg.executor)
    with Progress(*_progress_columns(), disable=not progress, transient=False) as bar, _shut_down_after(executor):
        while state.stage_index < len(cfg.stages):
            _run_stage(model, cfg, state, (train_set, val_set), out, device, executor, bar, log)
    if state.best_state:
        model.load_state_dict(state.best_state)
    wall = state.elapsed()
    best_path = _write_best(model, cfg, state, val_set, out, wall)
    return TrainingResult(out / "checkpoint.pt", best_path, state.history, state.best_ar, wall, count_parameters(model))


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
    graphs = [g if g.max_cut is not None and g.min_value is not None else g.with_max_cut() for g in graphs]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        oracle = EpisodeOracle(graphs, cfg.p, "ideal", device=device)
        real = rollout(model, graphs, oracle, cfg, shots=shots, generator=_noise_generator(seed, device), steps=steps)
        scale = param_scale(graphs, cfg.p).to(device)
        low, span = ratio_bounds(graphs, device)
        start = (oracle(start_params(graphs, cfg.p, cfg.start).to(device) / scale) - low) / span
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


