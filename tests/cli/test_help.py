"""``hybrid <command> --help`` lists what the registries hold: it cannot drift from what the code accepts."""

from __future__ import annotations

import re

import pytest

from backends import KINDS as TARGET_KINDS
from cli_batch import run_case
from hybrid.kinds import kind_names
from hybrid.mitigation.spec import TECHNIQUES
from hybrid.optimize import OPTIMIZERS
from hybrid.oracles.gradients import GRADIENTS
from hybrid.strategies import register, strategy_names, unregister

WIDE = "4000"  # no wrapping: one option's help on one line


def help_of(*command: str) -> dict[str, str]:
    """The help line of each ``--option`` of ``hybrid COMMAND --help``."""
    result = run_case({"argv": [*command, "--help"]})
    assert result["code"] == 0, result["stderr"]
    options = {}
    for line in result["stdout"].splitlines():
        found = re.match(r"\W*(--[a-z-]+)\s.*?<\w+>\s+(.*?)\s*\W*$", line)
        if found:
            options[found.group(1)] = found.group(2)
    return options


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", WIDE)
    monkeypatch.setenv("TERMINAL_WIDTH", WIDE)


def listed(text: str, names) -> set[str]:
    return {name for name in names if re.search(rf"(^|[\s,;:(]){re.escape(name)}([\s,;:)]|$)", text)}


@pytest.mark.parametrize("command, option", [(("run",), "--init"), (("evaluate",), "--init"), (("compare",), "--init")])
def test_init_lists_every_strategy(command, option):
    text = help_of(*command)[option]
    assert listed(text, strategy_names()) == set(strategy_names())
    for form in ("random:K", "learned[:NAME]", "tqa:DT", "auto[:KIND]"):
        assert form in text


def test_a_registered_strategy_appears_in_help():
    register("zz-test-start", lambda arg: None, "a start only this test registers")
    try:
        assert "zz-test-start: a start only this test registers" in help_of("run")["--init"]
    finally:
        unregister("zz-test-start")
    assert "zz-test-start" not in help_of("run")["--init"]


def test_run_options_list_the_registries():
    options = help_of("run")
    assert listed(options["--gradient"], GRADIENTS) == set(GRADIENTS)
    assert listed(options["--optimizer"], [f"{o}:STEPS" for o in OPTIMIZERS]) == {f"{o}:STEPS" for o in OPTIMIZERS}
    assert listed(options["--backend"], TARGET_KINDS) == set(TARGET_KINDS)
    assert listed(options["--backend"], TECHNIQUES) == set(TECHNIQUES)
    assert listed(options["--mitigation"], TECHNIQUES) == set(TECHNIQUES)
    assert "heavyhex:" in options["--graphs"]


def test_compare_and_evaluate_list_targets_and_techniques():
    for command, option in (("compare", "--backends"), ("evaluate", "--backend")):
        text = help_of(command)[option]
        assert listed(text, TARGET_KINDS) == set(TARGET_KINDS) and listed(text, TECHNIQUES) == set(TECHNIQUES)
    assert listed(help_of("compare")["--optimizer"], [f"{o}:STEPS" for o in OPTIMIZERS])


def test_jobs_lists_every_run_kind():
    result = run_case({"argv": ["jobs", "--help"]})
    assert set(kind_names()) <= listed(result["stdout"], kind_names())


def test_gradient_spsa_is_accepted(tmp_path, monkeypatch):
    from hybrid.problems import regular_graph, save_graphs

    monkeypatch.chdir(tmp_path)
    save_graphs([regular_graph(4, 3, seed=1, id="a").with_max_cut()], tmp_path / "g.json")
    ok = run_case({"argv": ["run", "--graphs", "g.json", "--backend", "ideal", "--shots", "200", "--init", "fixed",
                            "--optimizer", "adam:2", "--gradient", "spsa", "--ledger", "L.db", "--run-id", "s"]})
    assert ok["code"] == 0, ok["stderr"]
    bad = run_case({"argv": ["run", "--graphs", "g.json", "--backend", "ideal", "--gradient", "nope", "--ledger", "L.db"]})
    assert bad["code"] != 0 and re.search(r"--gradient 'nope': use one of param_shift, fd, spsa", bad["stderr"])
    assert not (tmp_path / "results" / "nope").exists()
