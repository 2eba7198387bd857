"""The ``hybrid`` command line: a thin layer over the library, one module per command group.

:mod:`.app` holds the application, the shared options and the one-line errors and imports no
command; each command module registers its commands on it when imported here.
"""

# importing a command module registers its commands, in this order in `hybrid --help`
from . import run, compare, benchmark, meta, demo, plan, backends, plot, jobs  # noqa: F401  isort: skip
from .app import app, console

__all__ = ["app", "console", "main"]


def main() -> None:  # pragma: no cover
    app()
