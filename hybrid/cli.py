"""The ``hybrid`` command line: a thin layer over the library."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

#: Set to 1 to see the traceback of an unexpected error instead of its one-line summary.
DEBUG_ENV = "HYBRID_DEBUG"


def _one_line(message: str) -> str:
    return "; ".join(part.strip() for part in str(message).splitlines() if part.strip())


class _App(typer.Typer):
    """Every error leaves as one ``error: ...`` line on stderr and a non-zero exit code."""

    def __call__(self, *args, **kwargs):
        if "standalone_mode" in kwargs:
            return super().__call__(*args, **kwargs)
        from typer._click.exceptions import ClickException

        try:
            code = super().__call__(*args, standalone_mode=False, **kwargs)
        except ClickException as exc:  # usage errors: bad flags, bad values, unknown commands
            print(f"error: {_one_line(exc.format_message())} (see --help)", file=sys.stderr)
            sys.exit(exc.exit_code or 2)
        except typer.Abort:
            print("error: aborted", file=sys.stderr)
            sys.exit(1)
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - one line, the traceback on request
            if os.environ.get(DEBUG_ENV):
                raise
            print(
                f"error: {type(exc).__name__}: {_one_line(exc)} (set {DEBUG_ENV}=1 for the traceback)",
                file=sys.stderr,
            )
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = _App(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Learned warm starts for QAOA Max-Cut on IBM devices.",
)
# Tables are wide; when output is not a terminal (logs, CI) do not squeeze them to 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=160)


def _fail(message: str) -> None:
    print(f"error: {_one_line(message)}", file=sys.stderr)
    raise typer.Exit(code=2)


def _on_sigterm() -> None:
    """SIGTERM ends a run like Ctrl-C: recorded as interrupted, resumable."""
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _ask(question: str) -> bool:
    return typer.confirm(question.rstrip(" ?[y/N]") + "?", default=False)


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
    init: str = typer.Option("learned", "--init", help="a start strategy: learned[:NAME], fixed, tqa, regression, auto, random:K, ..."),
    shots: int = typer.Option(0, "--shots", help="0 = exact where the target allows it"),
    seed: int = typer.Option(0, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the rows as JSON here"),
) -> None:
    """Warm-start every graph on a target: the start (learned, random:K: their Phase I) and its AR there and ideally."""
    from hybrid.evaluate import ideal_oracle, make_oracle
    from hybrid.meta import CheckpointError
    from hybrid.device_graphs import load_graphs
    from hybrid.problems import ProblemError
    from hybrid.strategies import get_strategy

    rows = []
    try:
        strategy = get_strategy(init)
        problems = [pr.with_max_cut() for pr in load_graphs(graphs)]
        for pr in problems:
            oracle = make_oracle(pr, p, backend, shots=shots or None)
            result = strategy.start(pr, p, evaluate=lambda th: float(oracle.evaluate(th, seed=seed).energies[0]), seed=seed)
            theta, energy, evals = result.theta, result.value, result.evaluations
            if energy is None:
                energy, evals = float(oracle.evaluate(theta, seed=seed).energies[0]), evals + 1
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
YES_OPTION = typer.Option(False, "--yes", "-y", help="run even when the estimate says it will take long (no prompt)")
app.add_typer(jobs_app, name="jobs")

LEDGER_OPTION = typer.Option(None, "--ledger", help="ledger database (default jobs/ledger.db or $HYBRID_LEDGER)")


def _run_errors():
    from backends import TargetError
    from hybrid.config import ConfigError
    from hybrid.ledger import LedgerError
    from hybrid.meta import CheckpointError
    from hybrid.mitigation import MitigationError
    from hybrid.problems import ProblemError

    return (ConfigError, TargetError, LedgerError, CheckpointError, ProblemError, MitigationError)


def _config_with_flags(config: Optional[Path], flags: dict, cls):
    """A validated config from an optional YAML file, with the flags that were given on top."""
    import yaml

    from hybrid.config import ConfigError, parse_config

    base = {}
    if config is not None:
        if not config.is_file():
            raise ConfigError(f"-c: config file {str(config)!r} does not exist or is not a file")
        try:
            base = yaml.safe_load(config.read_text()) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"-c {config}: not valid YAML ({_one_line(exc)})") from None
        if not isinstance(base, dict):
            raise ConfigError(f"-c {config}: expected a mapping of options, got {type(base).__name__}")
    merged = {**base, **{k: v for k, v in flags.items() if v is not None}}
    if "graphs" not in merged:
        raise ConfigError("give --graphs FILE.json (or a config with 'graphs')")
    return parse_config(merged, cls, where=str(config or "flags"))


def _ar(value) -> str:
    """An AR for a table; ``-`` where nothing was measured (a zero budget)."""
    return "-" if value is None else f"{value:.4f}"


def _print_results(report: dict) -> None:
    if report.get("already_done"):
        console.print(f"run {report['run_id']} is already done; results: {report.get('path')}")
        return
    table = Table(title=f"run {report['run_id']} on {report['spec']['backend']} ({report['spec']['init']} start, {report['spec']['optimizer']})")
    for col in ("id", "n", "max cut", "AR init", "AR final", "ideal AR init", "ideal AR final", "evaluations", "shots", "best cut"):
        table.add_column(col, justify="right")
    for g in report["graphs"]:
        table.add_row(
            str(g["id"]), str(g["n"]), f"{g['max_cut']:g}", _ar(g["ar_init"]), _ar(g["ar_final"]),
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
    yes: bool = YES_OPTION,
) -> None:
    """Warm-started QAOA (Phase I + Phase II) on every graph; results JSON + ledger entry."""
    from hybrid.ledger import Ledger
    from hybrid.runs import RunConfig, execute_run, start_run

    _on_sigterm()

    try:
        flags = {
            "graphs": str(graphs) if graphs else None, "backend": backend, "init": init, "p": p,
            "optimizer": optimizer, "mitigation": mitigation, "shots": shots, "gradient": gradient,
            "seed": seed, "out": str(out) if out else None,
        }
        cfg = _config_with_flags(config, flags, RunConfig)
        with Ledger(ledger) as led:
            rid = start_run(cfg, led, run_id, yes=yes, ask=_ask, announce=console.print)
            console.print(f"run id: {rid} (ledger {led.path})")
            report = _drive(led, rid)
    except _run_errors() as exc:
        _fail(str(exc))
    _print_results(report)


def _drive(led, rid: str) -> dict:
    from hybrid.runs import execute_run

    try:
        return execute_run(led, rid, progress=lambda m: console.print(m))
    except KeyboardInterrupt:
        _fail(f"run {rid} interrupted; resume it with `hybrid jobs resume {rid}`")


@app.command()
def submit(
    spec: Path = typer.Argument(..., help="job spec YAML (see jobs/)"),
    ledger: Optional[Path] = LEDGER_OPTION,
    detach: Optional[bool] = typer.Option(None, "--detach/--foreground", help="default: detach for ibm: targets"),
    run_id: Optional[str] = typer.Option(None, "--run-id"),
    yes: bool = YES_OPTION,
) -> None:
    """Register a run from a job spec; QPU runs continue in the background and return the run id at once."""
    import subprocess

    from hybrid.ledger import Ledger
    from hybrid.runs import load_run_config, start_run

    try:
        if not spec.is_file():
            _fail(f"job spec {str(spec)!r} does not exist or is not a file")
        cfg = load_run_config(spec)
        with Ledger(ledger) as led:
            rid = start_run(cfg, led, run_id, yes=yes, ask=_ask, announce=console.print)
            path = led.path
            background = detach if detach is not None else cfg.backend.startswith("ibm:")
            if not background:
                _on_sigterm()
                console.print(f"run id: {rid}")
                report = _drive(led, rid)
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
    """Every run in the ledger (a run whose process is gone shows as interrupted)."""
    from hybrid.ledger import Ledger, LedgerError

    try:
        with Ledger(ledger, mode="read") as led:
            rows = led.runs()
            readonly = led.readonly
    except LedgerError as exc:
        _fail(str(exc))
    table = Table(title=f"runs ({len(rows)})" + (" [read-only ledger]" if readonly else ""))
    for col in ("run id", "created", "status", "target", "graphs done", "evaluations", "jobs"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["run_id"], r["created"], r["status"], r["target"], str(r["graphs_done"]), str(r["evaluations"]), str(r["jobs"]))
    console.print(table)


def _live_states(led, run_id: str) -> tuple[dict, str | None]:
    """Live job states from the service for ibm: runs, or why they are unavailable."""
    from backends import TargetError
    from hybrid.runs import live_job_states

    try:
        return live_job_states(led, run_id), None
    except (TargetError, OSError) as exc:
        return {}, _one_line(exc)


@jobs_app.command("show")
def jobs_show(run_id: str, ledger: Optional[Path] = LEDGER_OPTION) -> None:
    """A run's spec, progress, hardware jobs (recorded state, and live state for ibm:) and results so far."""
    from hybrid.ledger import Ledger, LedgerError

    try:
        with Ledger(ledger, mode="read") as led:
            run_row = led.run(run_id)
            live, offline = _live_states(led, run_id)
            evaluations = led.evaluations(run_id)
            jobs = led.jobs(run_id)
            results = led.results(run_id)
    except LedgerError as exc:
        _fail(str(exc))
    console.print(f"[bold]{run_id}[/bold]: {run_row['status']} on {run_row['target']} (created {run_row['created']})", soft_wrap=True)
    if run_row["error"]:
        console.print(run_row["error"], style="red", markup=False, soft_wrap=True)
    console.print_json(json.dumps(run_row["spec"]))
    done = sum(e["status"] == "done" for e in evaluations)
    console.print(f"oracle calls recorded: {done} done, {len(evaluations) - done} pending; graphs finished: {len(results)}")
    if jobs:
        table = Table(title="hardware jobs")
        columns = ["job id", "graph", "call", "status"] + (["live"] if live or offline else []) + [
            "submitted", "finished", "resubmit of", "detail"]
        for col in columns:
            table.add_column(col, overflow="fold")
        for j in jobs:
            row = [j["job_id"], j["graph"], str(j["idx"]), j["status"]]
            if live or offline:
                row.append(live.get(j["job_id"], "-" if j["status"] != "submitted" else "unknown"))
            row += [j["created"], j["finished"] or "-", j["resubmit_of"] or "-", j["detail"] or ""]
            table.add_row(*row)
        console.print(table)
    if offline:
        console.print(f"live job states unavailable: {offline}", markup=False, soft_wrap=True)
    for key, res in results.items():
        console.print(f"  {key}: AR {_ar(res['ar_init'])} -> {_ar(res['ar_final'])}, ideal {res['ideal_ar_final']:.4f}")


@jobs_app.command("fetch")
def jobs_fetch(
    run_id: str,
    ledger: Optional[Path] = LEDGER_OPTION,
    out: Optional[Path] = typer.Option(None, "--out", help="write the results JSON here (default: the run's out dir)"),
) -> None:
    """Write what the ledger knows of a run to its results JSON; unfinished graphs are listed as pending."""
    from hybrid.ledger import Ledger
    from hybrid.runs import write_results

    try:
        with Ledger(ledger, mode="read") as led:
            led.run(run_id)
            live, offline = _live_states(led, run_id)
            for job_id, state in live.items():
                console.print(f"job {job_id}: {state} (live)")
            if offline:
                console.print(f"offline, live job states unavailable: {offline}", markup=False, soft_wrap=True)
            report = write_results(led, run_id, out=out)
    except _run_errors() as exc:
        _fail(str(exc))
    pending = report["pending"]
    console.print(
        f"{run_id}: {report['status']}, {len(report['graphs'])} graph(s) finished"
        + ("" if report["complete"] else f", {len(pending)} graph(s) unfinished (marked 'pending' in the file)")
    )
    _print_results(report)


@jobs_app.command("resume")
def jobs_resume(run_id: str, ledger: Optional[Path] = LEDGER_OPTION) -> None:
    """Continue a run: recorded calls replayed, live jobs re-attached by id, failed jobs resubmitted."""
    from hybrid.ledger import Ledger

    _on_sigterm()
    try:
        with Ledger(ledger) as led:
            report = _drive(led, run_id)
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


@app.command("fit-baselines")
def fit_baselines_cmd(
    per_family: int = typer.Option(6, "--per-family", help="training graphs per family (split 'train')"),
    depths: str = typer.Option("1,2,3,4,5", "--depths", help="depths to fit"),
    seed: int = typer.Option(0, "--seed"),
    check_tables: bool = typer.Option(False, "--check-tables", help="also re-check the fixed-angle tables"),
    out: Optional[Path] = typer.Option(None, "--out", help="default: the package's strategies/data/baselines.json"),
) -> None:
    """Fit the start baselines (constant, regression, tqa, lrqaoa, transfer) on training graphs only."""
    from hybrid.strategies.fit import BASELINES_PATH, TABLES_PATH, fit_baselines, verify_fixed_angle_tables, write_json

    try:
        depth_list = [int(d) for d in depths.split(",") if d.strip()]
    except ValueError:
        _fail(f"--depths must be comma-separated integers, got {depths!r}")
    if not depth_list or min(depth_list) < 1:
        _fail(f"--depths must list depths >= 1, got {depths!r}")
    if check_tables:
        tables = json.loads(TABLES_PATH.read_text())
        for item in tables.pop("left_out", []):  # re-check entries left out before
            tables["angles"].setdefault(str(item["d"]), {})[str(item["p"])] = item["entry"]
        for by_p in tables["angles"].values():
            for entry in by_p.values():
                entry.pop("check", None)
        write_json(verify_fixed_angle_tables(tables, log=console.print), TABLES_PATH)
        console.print(f"fixed-angle tables checked: {TABLES_PATH}")
    doc = fit_baselines(per_family, depth_list, seed=seed, log=console.print)
    path = write_json(doc, out or BASELINES_PATH)
    console.print(f"baselines written to {path}")


@app.command("benchmark")
def benchmark_cmd(
    quick: bool = typer.Option(False, "--quick", help="the small form (< 15 min on 2 cores): few graphs, p <= 3"),
    config: Optional[Path] = typer.Option(None, "-c", "--config", help="a benchmark config JSON (BenchmarkConfig.to_dict)"),
    out: Path = typer.Option(Path("results/benchmark"), "--out", help="results.json, tables.md, figures/"),
    best_known: Optional[Path] = typer.Option(None, "--best-known", help="best-known AR cache (default OUT/best_known.json)"),
    graphs: Optional[Path] = typer.Option(None, "--graphs", help="the paper's graphs (default: shared/benchmarks)"),
    write_auto: bool = typer.Option(True, "--write-auto/--no-write-auto", help="write the `auto` strategy's table"),
) -> None:
    """Every start at equal budgets (0, 10, 30, 100 evaluations, Phase I included) with COBYLA, SPSA and Adam."""
    from hybrid.equal_budget import FULL, QUICK, BenchmarkConfig, run_benchmark

    if config is not None:
        try:
            cfg = BenchmarkConfig.from_dict(json.loads(config.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _fail(f"--config {config}: {exc}")
    else:
        cfg = QUICK if quick else FULL
    report = run_benchmark(cfg, out, best_known_path=best_known, paper_path=graphs, write_auto=write_auto,
                           log=lambda m: console.print(m))
    console.print((out / "tables.md").read_text())
    console.print(f"{len(report['cells'])} cells in {report['wall_time']:.0f} s; written to {out}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # python -m hybrid.cli (used for detached submissions)
    main()
