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
    backend: str = typer.Option("ideal", "--backend", help="TARGET[+TECHNIQUE...], e.g. ideal, fake:torino or fake:torino+rem"),
    p: int = typer.Option(1, "--p", help="QAOA depth"),
    init: str = typer.Option("learned", "--init", help="a start strategy: learned[:NAME], fixed, tqa, regression, auto, random:K, ..."),
    shots: int = typer.Option(0, "--shots", help="0 = exact where the target allows it"),
    seed: int = typer.Option(0, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the rows as JSON here"),
    ledger: Optional[Path] = typer.Option(None, "--ledger", help="ledger database (default jobs/ledger.db or $HYBRID_LEDGER)"),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the run in the ledger (default: time-stamped)"),
) -> None:
    """Warm-start every graph on a target: the start (learned, random:K: their Phase I) and its AR there and ideally.

    A run without Phase II: its oracle calls and rows are in the ledger (`hybrid jobs resume` finishes it)."""
    from hybrid.ledger import Ledger
    from hybrid.runs import EvaluateConfig, start_evaluate

    _on_sigterm()
    try:
        flags = {"graphs": str(graphs), "backend": backend, "p": p, "init": init, "shots": shots or None, "seed": seed}
        cfg = _config_with_flags(None, flags, EvaluateConfig)
        with Ledger(ledger) as led:
            rid = start_evaluate(cfg, led, run_id)
            report = drive_evaluate(led, rid)
    except (*_run_errors(), ValueError) as exc:
        _fail(str(exc))
    print_rows(report)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report["rows"], indent=1))
        console.print(f"rows written to {out}")


def drive_evaluate(led, rid: str) -> dict:
    from hybrid.runs import execute_evaluate

    try:
        return execute_evaluate(led, rid)
    except KeyboardInterrupt:
        _fail(f"run {rid} interrupted; resume it with `hybrid jobs resume {rid}`")


def print_rows(report: dict) -> None:
    """The table of ``hybrid evaluate`` (also printed by ``hybrid jobs resume`` of such a run)."""
    spec = report["spec"]
    table = Table(title=f"{spec['init']} start on {spec['backend']} (p={spec['p']}), run {report['run_id']}")
    for col in ("id", "n", "max cut", "params (gammas, betas)", f"AR on {spec['backend']}", "AR ideal", "evaluations"):
        table.add_column(col, justify="right")
    for r in report["rows"]:
        table.add_row(
            str(r["id"]), str(r["n"]), f"{r['max_cut']:g}", ", ".join(f"{x:.3f}" for x in r["params"]),
            f"{r['ar_target']:.4f}", f"{r['ar_ideal']:.4f}", str(r["evaluations"]),
        )
    console.print(table)


# ---------------------------------------------------------------------------- shared by the commands
YES_OPTION = typer.Option(False, "--yes", "-y", help="run even when the estimate says it will take long (no prompt)")

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


# ---------------------------------------------------------------------------- compare, plot, demo
def print_summary(report: dict, title: str) -> None:
    """The compare summary table (also used by ``hybrid jobs resume`` of a compare sweep)."""
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
    backends: Optional[str] = typer.Option(
        None, "--backends", help="comma-separated TARGET[+TECHNIQUE...], e.g. ideal,fake:torino,fake:torino+zne+rem"
    ),
    init: Optional[str] = typer.Option(None, "--init", help="comma-separated strategies, e.g. learned,fixed,tqa,random"),
    p: Optional[str] = typer.Option(None, "--p", help="comma-separated depths, e.g. 1,2"),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="adam:STEPS, sgd:STEPS, spsa:STEPS, cobyla:STEPS"),
    shots: Optional[int] = typer.Option(None, "--shots", help="default: exact where the target allows it"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="directory for compare.json, compare.csv and figures/"),
    executor: Optional[str] = typer.Option(None, "--executor", help="local (default), ray or ray:ADDRESS"),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="draw the figures into OUT/figures"),
    ledger: Optional[Path] = LEDGER_OPTION,
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the sweep in the ledger (default: time-stamped)"),
) -> None:
    """Noisy vs mitigated vs ideal: run the grid (every cell in the ledger), re-score exactly, write table and figures."""
    from hybrid.cli.jobs import _drive_compare, _finish_compare
    from hybrid.compare import CompareConfig, start_compare
    from hybrid.executors import ExecutorError
    from hybrid.ledger import Ledger

    _on_sigterm()
    try:
        split = lambda text: [x.strip() for x in text.split(",") if x.strip()]  # noqa: E731
        try:
            depths = [int(x) for x in split(p)] if p else None
        except ValueError:
            _fail(f"--p must be comma-separated integers, got {p!r}")
        flags = {
            "graphs": str(graphs) if graphs else None,
            "backends": split(backends) if backends else None,
            "inits": split(init) if init else None,
            "ps": depths,
            "optimizer": optimizer, "shots": shots, "seed": seed, "out": str(out) if out else None,
            "executor": executor,
        }
        cfg = _config_with_flags(config, flags, CompareConfig)
        with Ledger(ledger) as led:
            rid = start_compare(cfg, led, run_id)
            console.print(f"run id: {rid} (ledger {led.path})")
            report = _drive_compare(led, rid)
    except (*_run_errors(), ExecutorError) as exc:
        _fail(str(exc))
    _finish_compare(report, plots)


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
    from hybrid.cli.jobs import jobs_show
    from hybrid.demo import run_demo

    def show_jobs(run_id: str, ledger_path: Path) -> str:
        with console.capture() as captured:
            jobs_show(run_id, ledger_path)
        return captured.get()

    try:
        report_path = run_demo(out, console, show_jobs)
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
    ledger: Optional[Path] = LEDGER_OPTION,
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the benchmark in the ledger (default: time-stamped)"),
) -> None:
    """The paper's 90-graph benchmark: Phase I / Phase II ARs and iterations, ours vs the paper's.

    A run in the ledger: each finished cell is recorded; `hybrid jobs resume RUN_ID` finishes a killed one."""
    from hybrid.benchmark import start_paper_benchmark
    from hybrid.ledger import Ledger

    try:
        depth_list = [int(d) for d in depths.split(",") if d.strip()]
    except ValueError:
        _fail(f"--depths must be comma-separated integers, got {depths!r}")
    _on_sigterm()
    try:
        with Ledger(ledger) as led:
            rid = start_paper_benchmark(
                led, [m.strip() for m in models.split(",") if m.strip()], run_id, graphs_path=graphs,
                reference_path=reference, seed=seed, limit=limit, depths=depth_list, out=out,
            )
            console.print(f"run id: {rid} (ledger {led.path})")
            report = drive_benchmark(led, rid)
    except (*_run_errors(), OSError, ValueError) as exc:
        _fail(str(exc))
    print_benchmark(report)


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
    ledger: Optional[Path] = LEDGER_OPTION,
    run_id: Optional[str] = typer.Option(None, "--run-id", help="name the benchmark in the ledger (default: time-stamped)"),
) -> None:
    """Every start at equal budgets (0, 10, 30, 100 evaluations, Phase I included) with COBYLA, SPSA and Adam.

    A run in the ledger: each finished cell is recorded; `hybrid jobs resume RUN_ID` finishes a killed one."""
    from hybrid.equal_budget import FULL, QUICK, BenchmarkConfig, start_benchmark
    from hybrid.ledger import Ledger

    if config is not None:
        try:
            cfg = BenchmarkConfig.from_dict(json.loads(config.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _fail(f"--config {config}: {exc}")
    else:
        cfg = QUICK if quick else FULL
    _on_sigterm()
    try:
        with Ledger(ledger) as led:
            rid = start_benchmark(cfg, led, out, run_id, best_known_path=best_known, paper_path=graphs,
                                  write_auto=write_auto)
            console.print(f"run id: {rid} (ledger {led.path})")
            report = drive_benchmark(led, rid)
    except (*_run_errors(), OSError) as exc:
        _fail(str(exc))
    print_benchmark(report)


def drive_benchmark(led, rid: str) -> dict:
    """Run or resume a ``benchmark`` or ``paper-benchmark`` run (``hybrid jobs resume`` uses it too)."""
    from hybrid.benchmark import PAPER_KIND, execute_paper_benchmark
    from hybrid.equal_budget import execute_benchmark
    from hybrid.ledger.sweeps import run_kind

    log = lambda m: console.print(m)  # noqa: E731
    try:
        if run_kind(led.run(rid)) == PAPER_KIND:
            return execute_paper_benchmark(led, rid, log=log)
        return execute_benchmark(led, rid, log=log)
    except KeyboardInterrupt:
        _fail(f"benchmark {rid} interrupted; resume it with `hybrid jobs resume {rid}`")


def print_benchmark(report: dict) -> None:
    """What ``hybrid benchmark`` / ``paper-benchmark`` print at the end (also after ``hybrid jobs resume``)."""
    from hybrid.benchmark import PAPER_KIND, render_report

    if report.get("kind") == PAPER_KIND:
        render_report(report, console)
        if report.get("already_done"):
            console.print(f"paper benchmark {report['run_id']} is already done (tables above from its recorded cells)")
        elif report.get("out"):
            console.print(f"report written to {report['out']}")
        return
    out = Path(report["out"])
    if report.get("already_done"):
        console.print(f"benchmark {report['run_id']} is already done; results: {out / 'results.json'}")
        return
    console.print((out / "tables.md").read_text())
    console.print(f"{len(report['cells'])} cells in {report['wall_time']:.0f} s; written to {out}")


# run, submit and jobs live in hybrid/cli/jobs.py; importing it registers them on ``app``.
from . import jobs  # noqa: E402,F401


def main() -> None:  # pragma: no cover
    app()

