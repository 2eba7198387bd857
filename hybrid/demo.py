"""``hybrid demo``: the shipped model on FakeTorino, with and without mitigation, against ideal.

No account, no network: three small graphs, the ``learned`` and ``fixed`` starts,
exact noisy simulation of IBM Torino's noise model (and zero-noise extrapolation
with readout mitigation on it), re-scored on the ideal simulator. Then one short
warm-started run goes through the Qiskit Runtime path a QPU run takes
(``local:torino``: executor Sampler in local mode, inside a Runtime Session, job ids in
the run ledger), beside the same run on ``fake:torino``. The compare sweep and both
runs are recorded in ``OUT/ledger.db``. Last, one small plan (:mod:`hybrid.plan`): which
depth and mitigation to run on Torino for an 8-node device-native graph, and at what QPU
cost. Writes a short Markdown report with the tables and the figures.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from .compare import CompareConfig, LandscapeConfig, run_compare
from .problems import erdos_renyi, paper_graph, regular_graph, save_graphs

DEMO_SEED = 2026
DEMO_BACKENDS = ["ideal", "fake:torino", "fake:torino+zne+rem"]
DEMO_INITS = ["learned", "fixed"]
DEMO_OPTIMIZER = "adam:5"
#: Landscape grid points per axis: fine enough to show the basin (optima refined off the grid).
DEMO_LANDSCAPE_POINTS = 33
# The Runtime rehearsal: one graph, the learned start, ZNE + REM, a few SPSA steps.
DEMO_RUNTIME_TARGETS = ("local:torino", "fake:torino")
DEMO_RUNTIME_RUN = {
    "init": "learned",
    "p": 1,
    "optimizer": "spsa:3",
    "mitigation": "zne+rem",
    "shots": 2000,
    "execution": "session",
}
# The plan: a small device-native graph, p = 1, 2, without and with ZNE + REM.
DEMO_PLAN = {"graphs": "heavyhex:torino:8:seed=1", "backend": "fake:torino", "depths": (1, 2),
             "mitigations": ("none", "zne+rem"), "refine_iters": 5}


def demo_graphs():
    return [
        paper_graph(6, 3, seed=DEMO_SEED, id="er6"),
        regular_graph(6, 3, seed=DEMO_SEED, id="reg6"),
        erdos_renyi(7, 0.5, seed=DEMO_SEED, weights="uniform:0.5,1.5", id="wer7"),
    ]


def runtime_graph():
    return regular_graph(8, 3, seed=DEMO_SEED, id="reg8")


def run_runtime_rehearsal(out: Path, show_jobs: Callable[[str, Path], str] | None = None) -> dict[str, Any]:
    """The same short run on ``local:torino`` and ``fake:torino``, both in ``out/ledger.db``.

    Returns the rows of the comparison, the job ids the ledger holds for each run and
    what ``show_jobs(run_id, ledger_path)`` (the CLI passes ``hybrid jobs show``) prints
    for the local run.
    """
    from .config import parse_config
    from .ledger import Ledger
    from .runs import RunConfig, execute_run, start_run

    graph = save_graphs([runtime_graph().with_max_cut()], out / "runtime_graph.json")
    ledger_path = out / "ledger.db"
    rows = []
    from .ledger import new_run_id

    with Ledger(ledger_path) as led:
        for backend in DEMO_RUNTIME_TARGETS:
            run_id = new_run_id()  # each demo adds its runs beside the earlier ones, each in its own folder
            cfg = parse_config(
                {
                    **DEMO_RUNTIME_RUN,
                    "graphs": str(graph),
                    "backend": backend,
                    "seed": DEMO_SEED,
                    "out": str(out / "runs" / f"{run_id}-{backend.replace(':', '_')}"),
                    "description": "hybrid demo: Runtime rehearsal",
                },
                RunConfig,
                where="demo run",
            )
            run_id = start_run(cfg, led, run_id)
            start = time.perf_counter()
            report = execute_run(led, run_id)
            rows.append(
                {
                    "backend": backend,
                    "run_id": run_id,
                    "summary": report["graphs"][0],
                    "jobs": led.jobs(run_id),
                    "wall_time": time.perf_counter() - start,
                }
            )
    shown = show_jobs(rows[0]["run_id"], ledger_path) if show_jobs is not None else ""
    return {"rows": rows, "ledger": str(ledger_path), "jobs_show": shown}


def _runtime_section(runtime: dict[str, Any]) -> list[str]:
    run = DEMO_RUNTIME_RUN
    lines = [
        "## Through the Runtime path",
        "",
        f"Graph `{runtime_graph().id}` (n = {runtime_graph().n}), `{run['init']}` start, `{run['optimizer']}`, "
        f"mitigation `{run['mitigation']}`, {run['shots']} shots per circuit, in a Runtime {run['execution']}. "
        "`local:torino` runs every oracle call as a job of the executor Sampler in Qiskit Runtime local mode "
        "(the code path of a QPU run); `fake:torino` is the same run on the exact noisy simulator.",
        "",
        "| target | run id | AR start -> final | ideal AR final | evaluations | shots | jobs in ledger | wall time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in runtime["rows"]:
        s = row["summary"]
        lines.append(
            f"| {row['backend']} | `{row['run_id']}` | {s['ar_init']:.4f} -> {s['ar_final']:.4f} | "
            f"{s['ideal_ar_final']:.4f} | {s['evaluations']} | {s['shots']} | {len(row['jobs'])} | "
            f"{row['wall_time']:.1f} |"
        )
    local = runtime["rows"][0]
    lines += [
        "",
        f"Job ids the ledger (`{runtime['ledger']}`) recorded for the `local:torino` run:",
        "",
    ]
    lines += [f"- `{j['job_id']}` (call {j['idx']}, {j['status']})" for j in local["jobs"]]
    lines += [
        "",
        f"`hybrid jobs show {local['run_id']} --ledger {runtime['ledger']}`:",
        "",
        "```",
        runtime["jobs_show"].rstrip(),
        "```",
        "",
    ]
    return lines


def _markdown_table(summary: list[dict]) -> str:
    lines = [
        "| target | start | AR on target | AR ideal (re-scored) | evaluations | wall time (s) | optimum shift (rad) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in summary:
        lines.append(
            f"| {r['label']} | {r['init']} | {r['ar_target_mean']:.4f} ± {r['ar_target_std']:.4f} "
            f"| {r['ar_ideal_mean']:.4f} ± {r['ar_ideal_std']:.4f} | {r['evaluations_mean']:.0f} "
            f"| {r['wall_time_mean']:.1f} | {r['optimum_shift_mean']:.3f} |"
        )
    return "\n".join(lines)


def _plan_section(plan: dict[str, Any], out: Path) -> list[str]:
    cfg = plan["config"]
    table = (Path(plan["out"]) / "plan.md").read_text().split("\n", 2)[2].replace("\n## ", "\n### ")  # without its title
    lines = ["## Plan a device run", "",
             f"`hybrid plan --graphs {cfg['graphs']} --backend {cfg['backend']} --p {','.join(map(str, cfg['depths']))} "
             f"--mitigation {','.join(cfg['mitigations'])}` ({plan['wall_time']:.0f} s): the ideal AR at good parameters, "
             "the noisy and mitigated AR predicted there, the circuit and the QPU time of a run.", "", table, ""]
    lines += [f"![{Path(f).stem}]({Path(f).relative_to(out)})" for f in plan["figures"] if f.endswith(".png")]
    return lines + [""]


def write_markdown(report: dict, figures: list[Path], out: Path, runtime: dict[str, Any] | None = None,
                   plan: dict[str, Any] | None = None) -> Path:
    from .meta import load_pretrained

    _, _, card = load_pretrained("learned")
    by = {(r["label"], r["init"]): r for r in report["summary"]}
    noisy = by.get(("fake:torino", "learned"))
    mitigated = by.get(("fake:torino+zne+rem", "learned"))
    ideal = by.get(("ideal", "learned"))
    lines = [
        "# hybrid-qaoa demo",
        "",
        f"Three small Max-Cut graphs, QAOA p = 1, the shipped `learned` model ({card.get('model')}, "
        f"{card.get('parameters')} parameters, trained on {', '.join(card.get('oracles', []))}) and the fixed-angle "
        f"start, {DEMO_OPTIMIZER} for Phase II, on the exact simulator, on the noise model of IBM Torino "
        "(`fake:torino`, exact density matrix of the active qubits, readout included) and on the same with "
        "zero-noise extrapolation and readout mitigation. Every final point is re-scored on the ideal simulator.",
        "",
        _markdown_table(report["summary"]),
        "",
    ]
    if noisy and mitigated and ideal:
        lines += [
            f"Noise costs the learned start {ideal['ar_target_mean'] - noisy['ar_target_mean']:.4f} of approximation "
            f"ratio on Torino's model; ZNE + REM recovers {mitigated['ar_target_mean'] - noisy['ar_target_mean']:.4f} "
            "of it, at three times the circuits. The parameters found under noise re-score ideally at "
            f"{noisy['ar_ideal_mean']:.4f} (ideal run: {ideal['ar_ideal_mean']:.4f}).",
            "",
        ]
    if runtime is not None:
        lines += _runtime_section(runtime)
    if plan is not None:
        lines += _plan_section(plan, out)
    lines += ["## Figures", ""]
    for fig in figures:
        if fig.suffix == ".png":
            lines += [f"![{fig.stem}]({fig.relative_to(out)})", ""]
    lines += [
        "## Reproduce",
        "",
        "```bash",
        "hybrid demo                      # this report",
        f"hybrid compare --graphs {out / 'graphs.json'} --backends {','.join(DEMO_BACKENDS)} --init {','.join(DEMO_INITS)} --out results/compare",
        f"hybrid plot {out}                # redraw the figures from compare.json",
        f"hybrid jobs list --ledger {out / 'ledger.db'}   # the compare sweep and the Runtime rehearsal runs",
        "```",
        "",
        f"Total wall time: {report['wall_time'] + sum(r['wall_time'] for r in (runtime or {}).get('rows', [])) + (plan or {}).get('wall_time', 0.0):.0f} s.",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_demo(
    out: str | Path = "results/demo", console=None, show_jobs: Callable[[str, Path], str] | None = None
) -> Path:
    """Run the demo into ``out``; ``console`` prints progress, ``show_jobs`` renders a run's ledger entry."""
    from .plots import plot_directory

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    graphs = save_graphs([g.with_max_cut() for g in demo_graphs()], out / "graphs.json")
    cfg = CompareConfig(
        graphs=str(graphs),
        backends=DEMO_BACKENDS,
        inits=DEMO_INITS,
        ps=[1],
        optimizer=DEMO_OPTIMIZER,
        shots=None,
        seed=DEMO_SEED,
        out=str(out),
        landscape=LandscapeConfig(enabled=True, points=DEMO_LANDSCAPE_POINTS, graphs=1, max_n=8),
    )
    if console is not None:
        console.print(f"demo: {len(demo_graphs())} graphs x {len(DEMO_BACKENDS)} targets x {len(DEMO_INITS)} starts on FakeTorino's noise model")
    from .ledger import Ledger

    from .ledger import new_run_id
    from .outputs import hand_over

    run_id = new_run_id()
    hand_over(out, run_id, out / "ledger.db", "compare")  # the demo's folder is this demo's sweep's folder
    with Ledger(out / "ledger.db") as led:  # earlier demos' runs stay in it: the report cites only live ids
        report = run_compare(cfg, progress=console is not None, ledger=led, run_id=run_id)
    figures = plot_directory(out)
    (out / "summary.json").write_text(json.dumps(report["summary"], indent=1))
    if console is not None:
        console.print(
            f"demo: one {DEMO_RUNTIME_RUN['optimizer']} run on {' and '.join(DEMO_RUNTIME_TARGETS)} "
            "(Runtime local mode, job ids in the ledger)"
        )
    runtime = run_runtime_rehearsal(out, show_jobs)
    from .plan import PlanConfig, run_plan

    if console is not None:
        console.print(f"demo: a plan for {DEMO_PLAN['graphs']} on {DEMO_PLAN['backend']}")
    plan = run_plan(PlanConfig(**DEMO_PLAN), out / "plan", log=lambda _msg: None)
    return write_markdown(report, figures, out, runtime, plan)
