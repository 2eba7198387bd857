"""The ``hybrid`` command line: a thin layer over the library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Learned warm starts for QAOA Max-Cut on IBM devices.")
console = Console()


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=2)


@app.command()
def backends(kind: Optional[str] = typer.Option(None, help="only this kind: ideal, aer, fake, local")) -> None:
    """List the target specs this installation can resolve without an account."""
    from backends import available_targets

    table = Table(title="targets")
    for col in ("spec", "qubits", "what"):
        table.add_column(col)
    for row in available_targets():
        if kind and not row["spec"].startswith(kind):
            continue
        table.add_row(row["spec"], "-" if row["qubits"] is None else str(row["qubits"]), row["what"])
    console.print(table)
    console.print("ibm:<backend> needs a saved IBM Quantum account or QISKIT_IBM_TOKEN / QISKIT_IBM_INSTANCE.")


@app.command()
def evaluate(
    graphs: Path = typer.Option(..., "--graphs", help="graph JSON file"),
    backend: str = typer.Option("ideal", "--backend", help="target spec, e.g. ideal or fake:torino"),
    p: int = typer.Option(1, "--p", help="QAOA depth"),
    init: str = typer.Option("learned", "--init", help="learned[:NAME], fixed, tqa, interp, random"),
    shots: int = typer.Option(0, "--shots", help="0 = exact where the target allows it"),
    seed: int = typer.Option(0, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the rows as JSON here"),
) -> None:
    """Warm-start every graph on a target: the initial point (learned: its Phase I) and its AR there and ideally."""
    from hybrid.ansatz import initial_params
    from hybrid.evaluate import ideal_oracle, make_oracle
    from hybrid.meta import CheckpointError, load_pretrained, phase_one
    from hybrid.problems import ProblemError, load_graphs

    rows = []
    try:
        problems = [pr.with_max_cut() for pr in load_graphs(graphs)]
        for pr in problems:
            oracle = make_oracle(pr, p, backend, shots=shots or None)
            if init.startswith("learned"):
                model, cfg, _ = load_pretrained(init, p)
                result = phase_one(model, cfg, pr, lambda th: oracle.evaluate(th, seed=seed))
                theta, energy, evals = result.theta, float(result.energies[-1]), result.evaluations
            else:
                theta = initial_params(init, pr, p, seed=seed)
                energy, evals = float(oracle.evaluate(theta, seed=seed).energies[0]), 1
            ideal = float(ideal_oracle(pr, p).evaluate(theta).energies[0])
            rows.append(
                {
                    "id": pr.id,
                    "n": pr.n,
                    "max_cut": pr.max_cut,
                    "params": [round(x, 6) for x in theta.tolist()],
                    "ar_target": energy / pr.max_cut,
                    "ar_ideal": ideal / pr.max_cut,
                    "evaluations": evals,
                }
            )
    except (ProblemError, CheckpointError, ValueError) as exc:
        _fail(str(exc))
    table = Table(title=f"{init} start on {backend} (p={p})")
    for col in ("id", "n", "max cut", "params (gammas, betas)", f"AR on {backend}", "AR ideal", "evaluations"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r["id"]), str(r["n"]), f"{r['max_cut']:g}", ", ".join(f"{x:.3f}" for x in r["params"]),
            f"{r['ar_target']:.4f}", f"{r['ar_ideal']:.4f}", str(r["evaluations"]),
        )
    console.print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rows, indent=1))
        console.print(f"rows written to {out}")


def main() -> None:  # pragma: no cover
    app()


@app.command("meta-train")
def meta_train(
    config: Path = typer.Option(..., "-c", "--config", help="meta-training YAML (see configs/)"),
    resume: bool = typer.Option(False, "--resume", help="continue from OUT/checkpoint.pt"),
    out: Optional[Path] = typer.Option(None, "--out", help="override the config's out directory"),
    device: Optional[str] = typer.Option(None, "--device", help="override the config's device (cpu, cuda)"),
    ship: Optional[str] = typer.Option(None, "--ship", help="copy the best model into the package as NAME"),
) -> None:
    """Meta-train a sequence model (ideal and/or noisy fake-device oracle)."""
    from hybrid.config import ConfigError, MetaConfig, load_config
    from hybrid.meta import CheckpointError, ship_model, train

    try:
        cfg = load_config(config, MetaConfig)
        overrides = {k: v for k, v in (("out", str(out) if out else None), ("device", device)) if v}
        if overrides:
            cfg = cfg.model_copy(update=overrides)
        ckpt = Path(cfg.out) / "checkpoint.pt"
        if resume and not ckpt.exists():
            _fail(f"--resume: no checkpoint at {ckpt}; start without --resume")
        result = train(cfg, resume=ckpt if resume else None, log=lambda m: None)
    except (ConfigError, CheckpointError) as exc:
        _fail(str(exc))
    console.print(
        f"best validation AR {result.best_validation_ar:.4f} in {result.wall_time:.0f} s "
        f"({result.parameter_count} parameters); best model: {result.best_checkpoint}"
    )
    if ship:
        path = ship_model(result.best_checkpoint, ship)
        console.print(f"shipped as learned:{ship} ({path})")


@app.command("paper-benchmark")
def paper_benchmark_cmd(
    models: str = typer.Option("learned", "--models", help="comma-separated: learned, learned:NAME or .pt paths"),
    graphs: Optional[Path] = typer.Option(None, "--graphs", help="paper_maxcut_graphs.json (default: shared/benchmarks)"),
    reference: Optional[Path] = typer.Option(None, "--reference", help="paper_reference_results.json"),
    limit: Optional[int] = typer.Option(None, "--limit", help="only the first N graphs"),
    depths: str = typer.Option("2,3", "--depths", help="depths p > 1 for the learned vs TQA/INTERP check ('' = none)"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the full report JSON here"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """The paper's 90-graph benchmark: Phase I / Phase II ARs and iterations, ours vs the paper's."""
    from hybrid.benchmark import paper_benchmark, render_report

    report = paper_benchmark(
        [m.strip() for m in models.split(",") if m.strip()],
        graphs_path=graphs,
        reference_path=reference,
        seed=seed,
        limit=limit,
        depths=[int(d) for d in depths.split(",") if d.strip()],
        log=lambda m: console.print(m),
    )
    render_report(report, console)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1))
        console.print(f"report written to {out}")
