"""The run-kind interface and its registry.

A *run kind* is what one command registers in the ledger (``spec["kind"]``): ``run``
(``hybrid run``/``submit``), ``evaluate``, ``compare``, ``benchmark`` and
``paper-benchmark``. Each kind declares, in one module of this package, how it

* **validates**: ``validate(...) -> Plan``, every check the run can fail, before the
  ledger is opened and before any file is created (its arguments are the command's);
* **registers**: :meth:`RunKind.register` writes the plan to the ledger;
* **executes** and **resumes**: ``execute(ledger, run_id, log)``, the same call (recorded
  cells and oracle calls come from the ledger), inside the one drive wrapper
  (:func:`hybrid.ledger.sweeps.drive`: kind checked, lock held, status tracked);
* **reports**: ``fetch(ledger, run_id, out, console)`` writes the partial or final report,
  ``report(report, console)`` prints the final one;
* **renders** for ``hybrid jobs show``: ``render(value)``, one recorded result in a line.

``jobs list/show/fetch/resume`` look the kind up (:func:`kind_of`); nothing outside this
package compares kind names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..ledger import LedgerError
from ..ledger.sweeps import run_kind


class KindError(LedgerError):
    """A ledger run of a kind this installation does not know."""


@dataclass(frozen=True)
class Plan:
    """A validated run, ready to register: its id, kind, spec (what the ledger keeps) and target label."""

    run_id: str
    kind: str
    spec: dict[str, Any]
    target: str

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "kind": self.kind, "spec": self.spec, "target": self.target}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Plan":
        return cls(run_id=str(data["run_id"]), kind=str(data["kind"]), spec=dict(data["spec"]), target=str(data["target"]))


@dataclass(frozen=True)
class RunKind:
    """One run kind: how it validates, registers, executes (and resumes), reports and renders."""

    name: str  # spec["kind"] in the ledger ("run" for a plain run, which stores none)
    command: str  # the command(s) that register it
    help: str  # one line, for `hybrid jobs --help`
    cells: bool  # its results are cells of a grid (else graphs)
    validate: Callable[..., Plan]
    execute: Callable[..., dict[str, Any]]  # (ledger, run_id, log) -> report; resumes as well
    report: Callable[[dict[str, Any], Any], None]  # (report, console): the final report printed
    fetch: Callable[..., None]  # (ledger, run_id, out, console): the report so far written
    render: Callable[[Any], str]  # one recorded result in a line, for `hybrid jobs show`

    def register(self, ledger, plan: Plan) -> str:
        """Write ``plan`` to ``ledger``: the run exists, nothing has run yet."""
        if plan.kind != self.name:
            raise KindError(f"a {plan.kind} plan cannot be registered as a {self.name} run")
        return ledger.create_run(plan.spec, plan.target, run_id=plan.run_id)


_REGISTRY: dict[str, RunKind] = {}


def register(kind: RunKind) -> RunKind:
    """Make ``kind`` known to ``hybrid jobs`` (by ``kind.name``)."""
    if not kind.name or kind.name in _REGISTRY:
        raise KindError(f"run kind name {kind.name!r} must be non-empty and not registered yet")
    _REGISTRY[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def kind_names() -> dict[str, str]:
    """Registered kinds and their help lines."""
    return {name: kind.help for name, kind in _REGISTRY.items()}


def get_kind(name: str) -> RunKind:
    if name not in _REGISTRY:
        raise KindError(f"unknown run kind {name!r}; this installation knows: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def kind_of(record: dict[str, Any]) -> RunKind:
    """The kind of a ledger run (its record from ``Ledger.run``)."""
    return get_kind(run_kind(record))
