"""The ``hybrid`` command line: a thin layer over the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Learned warm starts for QAOA Max-Cut on IBM devices.")
# Tables are wide; when output is not a terminal (logs, CI) do not squeeze them to 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=160)


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


# ---------------------------------------------------------------------------- runs and jobs
jobs_app = typer.Typer(no_args_is_help=True, help="The job ledger: list, show, fetch and resume runs.")
app.add_typer(jobs_app, name="jobs")

LEDGER_OPTION = typer.Option(None, "--ledger", help="ledger database (default jobs/ledger.db or $HYBRID_LEDGER)")


def _run_errors():
    from backends import TargetError
    from hybrid.config import ConfigError
    from hybrid.ledger import LedgerError
    from hybrid.meta import CheckpointError
    from hybrid.problems import ProblemError

    return (ConfigError, TargetError, LedgerError, CheckpointError, ProblemError)


def _config_with_flags(config: Optional[Path], flags: dict, cls):
    """A validated config from an optional YAML file, with the flags that were given on top."""
    import yaml

    from hybrid.config import ConfigError, parse_config

    base = {}
    if config is not None:
        if not config.exists():
            raise ConfigError(f"config file {str(config)!r} does not exist")
        base = yaml.safe_load(config.read_text()) or {}
    merged = {**base, **{k: v for k, v in flags.items() if v is not None}}
    if "graphs" not in merged:
        raise ConfigError("give --graphs FILE.json (or a config with 'graphs')")
    return parse_config(merged, cls, where=str(config or "flags"))


def _print_results(report: dict) -> None:
    table = Table(title=f"run {report['run_id']} on {report['spec']['backend']} ({report['spec']['init']} start, {report['spec']['optimizer']})")
    for col in ("id", "n", "max cut", "AR init", "AR final", "ideal AR init", "ideal AR final", "evaluations", "shots", "best cut"):
        table.add_column(col, justify="right")
    for g in report["graphs"]:
        table.add_row(
            str(g["id"]), str(g["n"]), f"{g['max_cut']:g}", f"{g['ar_init']:.4f}", f"{g['ar_final']:.4f}",
            f"{g['ideal_ar_init']:.4f}", f"{g['ideal_ar_final']:.4f}", str(g["evaluations"]), str(g["shots"]),
            "-" if g["best_cut"] is None else f"{g['best_cut']:g}",
        )
    console.print(table)
    if report.get("path"):
        console.print(f"results: {report['path']}")


@app.command()
def run(
    config: Optional[Path] = typer.Option(None, "-c", "--config", help="run YAML (flags override it)"),
    graphs: Optional[Path] = typer.Option(None, "--graphs", help="graph JSON file"),
    backend: Optional[str] = typer.Option(None, "--backend", help="ideal, aer, fake:<dev>, local:<dev>, ibm:<backend>"),
    init: Optional[str] = typer.Option(None, "--init", help="learned[:NAME], fixed, tqa, interp, random"),
    p: Optional[int] = typer.Option(None, "--p", help="QAOA depth"),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="adam:STEPS, sgd:STEPS, spsa:STEPS, cobyla:STEPS"),
    mitigation: Optional[str] = typer.Option(None, "--mitigation", help="none, zne, rem, zne+rem"),
    shots: Optional[int] = typer.Option(None, "--shots", help="shots per circuit (default: exact where possible)"),
    gradient: Optional[str] = typer.Option(None, "--gradient", help="param_shift or fd (Phase II gradients)"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="directory for results.json"),
    ledger: Optional[Path] = LEDGER_OPTION,
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the run (default: time-stamped)"),
) -> None:
    """Warm-started QAOA (Phase I + Phase II) on every graph; results JSON + ledger entry."""
    from hybrid.ledger import Ledger
    from hybrid.runs import RunConfig, execute_run, start_run

    try:
        flags = {
            "graphs": str(graphs) if graphs else None, "backend": backend, "init": init, "p": p,
            "optimizer": optimizer, "mitigation": mitigation, "shots": shots, "gradient": gradient,
            "seed": seed, "out": str(out) if out else None,
        }
        cfg = _config_with_flags(config, flags, RunConfig)
        with Ledger(ledger) as led:
            rid = start_run(cfg, led, run_id)
            console.print(f"run id: {rid} (ledger {led.path})")
            report = execute_run(led, rid, progress=lambda m: console.print(m))
    except _run_errors() as exc:
        _fail(str(exc))
    _print_results(report)


@app.command()
def submit(
    spec: Path = typer.Argument(..., help="job spec YAML (see jobs/)"),
    ledger: Optional[Path] = LEDGER_OPTION,
    detach: Optional[bool] = typer.Option(None, "--detach/--foreground", help="default: detach for ibm: targets"),
    run_id: Optional[str] = typer.Option(None, "--run-id"),
) -> None:
    """Register a run from a job spec; QPU runs continue in the background and return the run id at once."""
    import subprocess

    from hybrid.ledger import Ledger
    from hybrid.runs import execute_run, load_run_config, start_run

    try:
        cfg = load_run_config(spec)
        with Ledger(ledger) as led:
            rid = start_run(cfg, led, run_id)
            path = led.path
            background = detach if detach is not None else cfg.backend.startswith("ibm:")
            if not background:
                console.print(f"run id: {rid}")
                report = execute_run(led, rid, progress=lambda m: console.print(m))
                _print_results(report)
                return
    except _run_errors() as exc:
        _fail(str(exc))
    log_dir = Path(path).parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"{rid}.log", "ab")
    subprocess.Popen(
        [sys.executable, "-m", "hybrid.cli", "jobs", "resume", rid, "--ledger", str(path)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    console.print(f"submitted run {rid}; follow it with `hybrid jobs show {rid}` (log: {log_dir / (rid + '.log')})")


@jobs_app.command("list")
def jobs_list(ledger: Optional[Path] = LEDGER_OPTION) -> None:
    """Every run in the ledger."""
    from hybrid.ledger import Ledger

    with Ledger(ledger) as led:
        rows = led.runs()
    table = Table(title=f"runs ({len(rows)})")
    for col in ("run id", "created", "status", "target", "graphs done", "evaluations", "jobs"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["run_id"], r["created"], r["status"], r["target"], str(r["graphs_done"]), str(r["evaluations"]), str(r["jobs"]))
    console.print(table)


@jobs_app.command("show")
def jobs_show(run_id: str, ledger: Optional[Path] = LEDGER_OPTION) -> None:
    """A run's spec, progress, hardware jobs and results so far."""
    from hybrid.ledger import Ledger, LedgerError

    try:
        with Ledger(ledger) as led:
            run_row = led.run(run_id)
            evaluations = led.evaluations(run_id)
            jobs = led.jobs(run_id)
            results = led.results(run_id)
    except LedgerError as exc:
        _fail(str(exc))
    console.print(f"[bold]{run_id}[/bold]: {run_row['status']} on {run_row['target']} (created {run_row['created']})")
    if run_row["error"]:
        console.print(f"[red]{run_row['error']}[/red]")
    console.print_json(json.dumps(run_row["spec"]))
    done = sum(e["status"] == "done" for e in evaluations)
    console.print(f"oracle calls recorded: {done} done, {len(evaluations) - done} pending; graphs finished: {len(results)}")
    if jobs:
        table = Table(title="hardware jobs")
        for col in ("job id", "graph", "call", "status", "updated"):
            table.add_column(col)
        for j in jobs:
            table.add_row(j["job_id"], j["graph"], str(j["idx"]), j["status"], j["updated"])
        console.print(table)
    for key, res in results.items():
        console.print(f"  {key}: AR {res['ar_init']:.4f} -> {res['ar_final']:.4f}, ideal {res['ideal_ar_final']:.4f}")


@jobs_app.command("fetch")
def jobs_fetch(
    run_id: str,
    ledger: Optional[Path] = LEDGER_OPTION,
    out: Optional[Path] = typer.Option(None, "--out", help="write the results JSON here (default: the run's out dir)"),
) -> None:
    """Write a run's results JSON from the ledger, and report the state of its hardware jobs."""
    from hybrid.ledger import Ledger
    from hybrid.runs import results_report, write_results

    try:
        with Ledger(ledger) as led:
            jobs = led.jobs(run_id)
            pending = [j for j in jobs if j["status"] == "submitted"]
            if pending and led.run(run_id)["target"].startswith("ibm:"):
                from backends import get_target

                target = get_target(led.run(run_id)["target"])
                for j in pending:
                    console.print(f"job {j['job_id']}: {target.status(j['job_id'])}")
            if out is None:
                report = write_results(led, run_id)
            else:
                report = results_report(led, run_id)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(report, indent=1, default=str))
                report["path"] = str(out)
    except _run_errors() as exc:
        _fail(str(exc))
    console.print(f"{run_id}: {report['status']}, {len(report['graphs'])} graph(s) finished, {len(pending)} job(s) pending")
    _print_results(report)


@jobs_app.command("resume")
def jobs_resume(run_id: str, ledger: Optional[Path] = LEDGER_OPTION) -> None:
    """Continue a run: recorded calls are replayed, accepted jobs re-attached by id, the rest run."""
    from hybrid.ledger import Ledger
    from hybrid.runs import execute_run

    try:
        with Ledger(ledger) as led:
            report = execute_run(led, run_id, progress=lambda m: console.print(m))
    except _run_errors() as exc:
        _fail(str(exc))
    _print_results(report)


# ---------------------------------------------------------------------------- compare, plot, demo
def _print_summary(report: dict, title: str) -> None:
    table = Table(title=title)
    for col in ("target", "init", "p", "graphs", "AR target", "AR ideal (re-scored)", "evals", "shots", "wall s", "optimum shift"):
        table.add_column(col, justify="right" if col not in ("target", "init") else "left")
    for r in report["summary"]:
        table.add_row(
            r["label"], r["init"], str(r["p"]), str(r["graphs"]),
            f"{r['ar_target_mean']:.4f} ± {r['ar_target_std']:.4f}", f"{r['ar_ideal_mean']:.4f} ± {r['ar_ideal_std']:.4f}",
            f"{r['evaluations_mean']:.0f}", f"{r['shots_mean']:.0f}", f"{r['wall_time_mean']:.1f}", f"{r['optimum_shift_mean']:.3f}",
        )
    console.print(table)


@app.command()
def compare(
    config: Optional[Path] = typer.Option(None, "-c", "--config", help="compare YAML (flags override it)"),
    graphs: Optional[Path] = typer.Option(None, "--graphs", help="graph JSON file"),
    backends: Optional[str] = typer.Option(None, "--backends", help="comma-separated, e.g. ideal,fake:torino,fake:torino+zne"),
    init: Optional[str] = typer.Option(None, "--init", help="comma-separated strategies, e.g. learned,fixed,tqa,random"),
    p: Optional[str] = typer.Option(None, "--p", help="comma-separated depths, e.g. 1,2"),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="adam:STEPS, sgd:STEPS, spsa:STEPS, cobyla:STEPS"),
    shots: Optional[int] = typer.Option(None, "--shots", help="default: exact where the target allows it"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="directory for compare.json, compare.csv and figures/"),
    executor: Optional[str] = typer.Option(None, "--executor", help="local (default), ray or ray:ADDRESS"),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="draw the figures into OUT/figures"),
) -> None:
    """Noisy vs mitigated vs ideal: run the grid, re-score exactly, write table and figures."""
    from hybrid.compare import CompareConfig, run_compare
    from hybrid.executors import ExecutorError

    try:
        split = lambda text: [x.strip() for x in text.split(",") if x.strip()]  # noqa: E731
        flags = {
            "graphs": str(graphs) if graphs else None,
            "backends": split(backends) if backends else None,
            "inits": split(init) if init else None,
            "ps": [int(x) for x in split(p)] if p else None,
            "optimizer": optimizer, "shots": shots, "seed": seed, "out": str(out) if out else None,
            "executor": executor,
        }
        cfg = _config_with_flags(config, flags, CompareConfig)
        report = run_compare(cfg)
    except (*_run_errors(), ExecutorError) as exc:
        _fail(str(exc))
    _print_summary(report, f"compare ({len(report['cells'])} runs, {report['wall_time']:.0f} s)")
    console.print(f"table: {Path(cfg.out) / 'compare.csv'}, report: {Path(cfg.out) / 'compare.json'}")
    if plots:
        from hybrid.plots import plot_directory

        paths = plot_directory(Path(cfg.out))
        console.print(f"{len(paths)} figure files in {Path(cfg.out) / 'figures'}")


@app.command()
def plot(directory: Path = typer.Argument(..., help="a compare or meta-training output directory")) -> None:
    """Redraw every figure from saved results (compare.json, history.json); nothing is recomputed."""
    from hybrid.plots import plot_directory

    try:
        paths = plot_directory(directory)
    except ValueError as exc:
        _fail(str(exc))
    for path in paths:
        console.print(str(path))


@app.command()
def demo(
    out: Path = typer.Option(Path("results/demo"), "--out", help="where the report, table and figures go"),
) -> None:
    """The newcomer's tour, no account or network: the shipped model on FakeTorino, with and without mitigation, vs ideal."""
    from hybrid.demo import run_demo

    try:
        report_path = run_demo(out, console)
    except _run_errors() as exc:
        _fail(str(exc))
    console.print(f"[bold]report:[/bold] {report_path}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # python -m hybrid.cli (used for detached submissions)
    main()


@app.command("meta-train")
def meta_train(
    config: Path = typer.Option(..., "-c", "--config", help="meta-training YAML (see configs/)"),
    resume: bool = typer.Option(False, "--resume", help="continue from OUT/checkpoint.pt"),
    out: Optional[Path] = typer.Option(None, "--out", help="override the config's out directory"),
    device: Optional[str] = typer.Option(None, "--device", help="override the config's device (cpu, cuda)"),
    executor: Optional[str] = typer.Option(None, "--executor", help="local, ray or ray:ADDRESS (noisy-stage oracle calls)"),
    ship: Optional[str] = typer.Option(None, "--ship", help="copy the best model into the package as NAME"),
    seeds: Optional[str] = typer.Option(
        None, "--seeds", help="comma-separated training seeds: one run each into OUT/seed<k>, spread in OUT/seeds.json"
    ),
) -> None:
    """Meta-train a sequence model (ideal and/or noisy fake-device oracle)."""
    from hybrid.config import ConfigError, MetaConfig, load_config
    from hybrid.executors import ExecutorError
    from hybrid.meta import CheckpointError, ship_model, train, train_seeds

    try:
        cfg = load_config(config, MetaConfig)
        overrides = {k: v for k, v in (("out", str(out) if out else None), ("device", device), ("executor", executor)) if v}
        if overrides:
            cfg = cfg.model_copy(update=overrides)
        if seeds is not None:
            if resume:
                _fail("--resume and --seeds cannot be combined; resume one seed with --out OUT/seed<k> and seed: k")
            try:
                seed_list = [int(k) for k in seeds.split(",") if k.strip()]
            except ValueError:
                _fail(f"--seeds must be comma-separated integers, got {seeds!r}")
            summary = train_seeds(cfg, seed_list, log=lambda m: console.print(m))
            console.print(
                f"validation AR {summary['mean']:.4f} mean, spread {summary['spread']:.4f} (max - min) over seeds "
                f"{[r['seed'] for r in summary['runs']]}; best seed {summary['best_seed']}: {summary['best_checkpoint']}"
            )
            if ship:
                path = ship_model(summary["best_checkpoint"], ship, seeds=summary)
                console.print(f"shipped as learned:{ship} ({path})")
            return
        ckpt = Path(cfg.out) / "checkpoint.pt"
        if resume and not ckpt.exists():
            _fail(f"--resume: no checkpoint at {ckpt}; start without --resume")
        result = train(cfg, resume=ckpt if resume else None, log=lambda m: None)
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
