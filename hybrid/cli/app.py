"""The ``hybrid`` application, its shared options and its one-line errors; it imports no command.

Every command module (:mod:`hybrid.cli.run`, :mod:`hybrid.cli.jobs`, ...) registers its commands
on :data:`app`; :mod:`hybrid.cli` imports them all.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console


DEBUG_ENV = "HYBRID_DEBUG"


def _one_line(message: str) -> str:
    return "; ".join(part.strip() for part in str(message).splitlines() if part.strip())


class _App(typer.Typer):
    """Every error leaves as one ``error: ...`` line on stderr and a non-zero exit code."""

    def __call__(self, *args, **kwargs):
        argv = kwargs.get("args") if kwargs.get("args") is not None else sys.argv[1:]
        if "--help" in argv or "-h" in argv or not argv:
            fill_help(self)  # help: the registries are imported only then
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


def registry_help() -> dict[str, str]:
    """What the registries hold, for help texts: every strategy, gradient rule, optimiser, target
    kind, mitigation technique and run kind the code accepts (``{STRATEGIES}`` etc. in a help text)."""
    from backends import KINDS as TARGET_KINDS
    from hybrid.kinds import kind_names
    from hybrid.mitigation.spec import TECHNIQUES
    from hybrid.optimize import OPTIMIZERS
    from hybrid.oracles.gradients import GRADIENTS
    from hybrid.strategies import strategy_names

    return {
        "STRATEGIES": "; ".join(f"{name}: {text}" for name, text in strategy_names().items()),
        "GRADIENTS": ", ".join(GRADIENTS),
        "OPTIMIZERS": ", ".join(f"{name}:STEPS" for name in OPTIMIZERS),
        "TARGETS": ", ".join(TARGET_KINDS) + " (fake, local: fake:<device>; ibm:<backend>)",
        "TECHNIQUES": ", ".join(TECHNIQUES),
        "KINDS": ", ".join(kind_names()),
    }


#: The help texts with their ``{PLACEHOLDERS}``, by the id of the object holding them (filled anew each time).
_TEMPLATES: dict[int, str] = {}


def _filled(holder_id: int, text: str | None, listing: dict[str, str]) -> str | None:
    template = _TEMPLATES.setdefault(holder_id, text or "") if text and "{" in text else _TEMPLATES.get(holder_id)
    return template.format_map(listing) if template else text


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill_help(typer_app: typer.Typer, listing: dict[str, str] | None = None) -> None:
    """Put the registries' contents into every help text of ``typer_app`` and its groups."""
    import inspect

    from typer.models import OptionInfo

    listing = _Keep(listing or registry_help())
    typer_app.info.help = _filled(id(typer_app.info), typer_app.info.help, listing)
    for command in typer_app.registered_commands:
        for param in inspect.signature(command.callback).parameters.values():
            default = param.default
            if isinstance(default, OptionInfo):
                default.help = _filled(id(default), default.help, listing)
    for group in typer_app.registered_groups:
        fill_help(group.typer_instance, listing)


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


def ledger_path(ledger: Optional[Path]) -> Path:
    """The ledger ``--ledger`` names (default ``jobs/ledger.db`` or ``$HYBRID_LEDGER``), not opened."""
    from hybrid.ledger import default_path

    return Path(ledger) if ledger is not None else default_path()


def new_run_id(run_id: Optional[str]) -> str:
    """``--run-id``, or a time-stamped one (validated with the rest of the run, before anything opens)."""
    from hybrid.ledger import new_run_id as fresh

    return run_id if run_id is not None else fresh()


def drive(kind, led, run_id: str) -> dict:
    """The one drive wrapper of every command: run or resume ``run_id`` of ``kind`` (a
    :class:`hybrid.kinds.RunKind`) with SIGTERM treated like Ctrl-C; an interrupted run says how
    to resume it. The kind's ``execute`` holds the lock and tracks the status
    (:func:`hybrid.ledger.sweeps.drive`)."""
    _on_sigterm()
    try:
        return kind.execute(led, run_id, lambda m: console.print(m))
    except KeyboardInterrupt:
        _fail(f"{kind.name} {run_id} interrupted; resume it with `hybrid jobs resume {run_id}`")


def register_and_drive(kind, ledger, plan) -> dict:
    """Register a validated ``plan`` of ``kind`` in ``ledger``, say its run id, and :func:`drive` it."""
    from hybrid.ledger import Ledger

    with Ledger(ledger) as led:
        rid = kind.register(led, plan)
        console.print(f"run id: {rid} (ledger {led.path})")
        return drive(kind, led, rid)


def _ask(question: str) -> bool:
    return typer.confirm(question.rstrip(" ?[y/N]") + "?", default=False)


# ---------------------------------------------------------------------------- shared by the commands
YES_OPTION = typer.Option(False, "--yes", "-y", help="run even when the estimate says it will take long (no prompt)")

LEDGER_OPTION = typer.Option(None, "--ledger", help="ledger database (default jobs/ledger.db or $HYBRID_LEDGER)")


def _run_errors():
    from backends import TargetError
    from hybrid.config import ConfigError
    from hybrid.ledger import LedgerError
    from hybrid.meta import CheckpointError
    from hybrid.mitigation import MitigationError
    from hybrid.outputs import OutputError
    from hybrid.problems import ProblemError

    return (ConfigError, TargetError, LedgerError, CheckpointError, ProblemError, MitigationError, OutputError)


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
