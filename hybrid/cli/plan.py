"""``hybrid plan``: which depth and mitigation to run on a device, predicted before paying for it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import _fail, _run_errors, app, console


@app.command("plan")
def plan_cmd(
    graphs: str = typer.Option(..., "--graphs", help="a graph file or a device spec such as heavyhex:fez"),
    backend: str = typer.Option(..., "--backend", help="the fake device to predict, e.g. fake:fez"),
    p: str = typer.Option("1,2,3", "--p", help="depths, comma-separated"),
    mitigation: str = typer.Option(
        "none,zne+rem", "--mitigation", help="mitigations, comma-separated: none, or techniques joined by +: {TECHNIQUES}"
    ),
    budget: Optional[float] = typer.Option(None, "--budget-qpu-seconds", help="QPU seconds a run may use (default: no limit)"),
    shots: int = typer.Option(4000, "--shots", help="shots per circuit"),
    evaluations: int = typer.Option(10, "--evaluations", help="oracle evaluations per run"),
    method: Optional[str] = typer.Option(None, "--method", help="noisy oracle method (make_oracle method=; default: automatic)"),
    out: Path = typer.Option(Path("results/plan"), "--out", help="plan.json, plan.md, figures/"),
) -> None:
    """Which depth and mitigation to run on a device: predicted ideal, noisy and mitigated AR, circuit size, QPU time."""
    from hybrid.plan import PlanConfig, run_plan

    try:
        depths = tuple(int(x) for x in p.split(",") if x.strip())
    except ValueError:
        _fail(f"--p must be comma-separated integers such as 1,2,3, got {p!r}")
    try:
        cfg = PlanConfig(graphs, backend, depths, tuple(m.strip() for m in mitigation.split(",") if m.strip()),
                         budget, shots, evaluations, oracle_method=method)
        plan = run_plan(cfg, out, log=console.print)
    except (*_run_errors(), OSError) as exc:
        _fail(str(exc))
    console.print((Path(plan["out"]) / "plan.md").read_text())
    console.print(f"[bold]plan:[/bold] {Path(plan['out']) / 'plan.json'}")
