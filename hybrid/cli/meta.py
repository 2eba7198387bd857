"""``hybrid meta-train`` and ``hybrid meta-ablation``: train a sequence model, test its feedback."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import _fail, app, console


@app.command("meta-train")
def meta_train(
    config: Path = typer.Option(..., "-c", "--config", help="meta-training YAML (see configs/)"),
    resume: bool = typer.Option(False, "--resume", help="continue from OUT/checkpoint.pt"),
    out: Optional[Path] = typer.Option(None, "--out", help="override the config's out directory"),
    device: Optional[str] = typer.Option(None, "--device", help="override the config's device (cpu, cuda)"),
    executor: Optional[str] = typer.Option(None, "--executor", help="local, ray or ray:ADDRESS (noisy-stage oracle calls)"),
    ship: Optional[str] = typer.Option(None, "--ship", help="copy the best model into the package as NAME"),
    force: bool = typer.Option(False, "--force", help="start afresh over an existing OUT/checkpoint.pt"),
    seeds: Optional[str] = typer.Option(
        None, "--seeds", help="comma-separated training seeds: one run each into OUT/seed<k>, spread in OUT/seeds.json"
    ),
) -> None:
    """Meta-train a sequence model (ideal and/or noisy fake-device oracle)."""
    from hybrid.config import ConfigError, MetaConfig, load_config
    from hybrid.executors import ExecutorError
    from hybrid.meta import CheckpointError, check_meta_config, ship_model, train, train_seeds

    try:
        cfg = load_config(config, MetaConfig)
        overrides = {k: v for k, v in (("out", str(out) if out else None), ("device", device), ("executor", executor)) if v}
        if overrides:
            cfg = cfg.model_copy(update=overrides)
        check_meta_config(cfg, ship)  # every config error before any training
        if seeds is not None:
            if resume:
                _fail("--resume and --seeds cannot be combined; resume one seed with --out OUT/seed<k> and seed: k")
            try:
                seed_list = [int(k) for k in seeds.split(",") if k.strip()]
            except ValueError:
                _fail(f"--seeds must be comma-separated integers, got {seeds!r}")
            summary = train_seeds(cfg, seed_list, log=lambda m: console.print(m), overwrite=force)
            console.print(
                f"validation AR {summary['mean']:.4f} mean, spread {summary['spread']:.4f} (max - min) over seeds "
                f"{[r['seed'] for r in summary['runs']]}; best seed {summary['best_seed']}: {summary['best_checkpoint']}"
            )
            if ship:
                path = ship_model(summary["best_checkpoint"], ship, seeds=summary)
                console.print(f"shipped as learned:{ship} ({path})")
            return
        ckpt = Path(cfg.out) / "checkpoint.pt"
        if resume and force:
            _fail("--resume and --force exclude each other: --resume continues the checkpoint, --force starts afresh")
        if resume and not ckpt.exists():
            _fail(f"--resume: no checkpoint at {ckpt}; start without --resume")
        result = train(cfg, resume=ckpt if resume else None, log=lambda m: None, overwrite=force)
    except (ConfigError, CheckpointError, ExecutorError) as exc:
        _fail(str(exc))
    console.print(
        f"best validation AR {result.best_validation_ar:.4f} in {result.wall_time:.0f} s "
        f"({result.parameter_count} parameters); best model: {result.best_checkpoint}"
    )
    if ship:
        path = ship_model(result.best_checkpoint, ship)
        console.print(f"shipped as learned:{ship} ({path})")


@app.command("meta-ablation")
def meta_ablation(
    model: str = typer.Option("learned", "--model", help="learned, learned:NAME or a .pt path"),
    p: int = typer.Option(1, "--p", help="depth (picks learned's default for it)"),
    per_family: int = typer.Option(6, "--per-family", help="graphs of each family from the validation split"),
    shots: int = typer.Option(1000, "--shots", help="shots per evaluation (0: exact costs)"),
    steps: Optional[int] = typer.Option(None, "--steps", help="Phase I steps (default: the model's)"),
    seed: int = typer.Option(0, "--seed", help="noise seed"),
) -> None:
    """Feedback ablation: best-of-Phase-I AR with the measured costs fed back versus a constant."""
    from hybrid.families import split_graphs
    from hybrid.meta import CheckpointError, feedback_ablation, load_pretrained

    try:
        net, cfg, _ = load_pretrained(model, p)
    except CheckpointError as exc:
        _fail(str(exc))
    graphs = split_graphs("validation", per_family)
    out = feedback_ablation(net, cfg, graphs, shots=shots or None, steps=steps, seed=seed)
    console.print(
        f"{model} p={cfg.p}: {out['graphs']} validation graphs, {out['steps']} steps, shots {out['shots']}: "
        f"best-of-episode AR real feedback {out['real']:.4f}, constant feedback {out['constant']:.4f}, "
        f"difference {out['difference']:+.4f} +- {out['difference_stderr']:.4f} (first proposal {out['first_proposal']:.4f}, episode start {out['start']:.4f})"
    )
