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
    init: str = typer.Option("fixed", "--init", help="random, fixed, tqa, interp"),
    shots: int = typer.Option(0, "--shots", help="0 = exact where the target allows it"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Evaluate the initial QAOA point of every graph on a target (AR measured there)."""
    from hybrid.ansatz import initial_params
    from hybrid.evaluate import make_oracle
    from hybrid.problems import ProblemError, load_graphs

    try:
        problems = [pr.with_max_cut() for pr in load_graphs(graphs)]
        rows = []
        for pr in problems:
            theta = initial_params(init, pr, p, seed=seed)
            ev = make_oracle(pr, p, backend, shots=shots or None).evaluate(theta, seed=seed)
            rows.append({"id": pr.id, "n": pr.n, "theta": theta.tolist(), "ar": float(ev.energies[0] / pr.max_cut)})
    except (ProblemError, ValueError) as exc:
        _fail(str(exc))
    console.print_json(json.dumps(rows))


def main() -> None:  # pragma: no cover
    app()
