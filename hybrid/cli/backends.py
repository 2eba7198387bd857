"""``hybrid backends``: the targets this installation can resolve."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from .app import app, console


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
