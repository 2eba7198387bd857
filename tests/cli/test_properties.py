"""The door's promises as properties (Hypothesis): for every generated graph file, config, spec and
ledger name, validation either accepts it with a correct result or refuses it with one line that
names a flag or file, and neither the ledger nor the file system changes on a refusal.

The many cases drive the validation layer in-process; one subprocess checks the real command line.
Derandomized, with bounded examples, so the module takes well under a minute.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends import TargetError
from hybrid.config import ConfigError, parse_config
from hybrid.ledger import Ledger, LedgerError
from hybrid.problems import brute_force_max_cut
from hybrid.runs import RunConfig
from hybrid.validation import InputError, check_optimizer, load_checked_graphs, parse_target_spec, validate_run_config

EXAMPLES = 60
FEW_EXAMPLES = 25
PROPS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FEW = settings(PROPS, max_examples=FEW_EXAMPLES)
MAX_NODES = 7
TOLERANCE = 1e-9
HERE = Path(__file__).resolve().parents[2]
SUBPROCESS_TIMEOUT_S = 120

node = st.one_of(st.integers(-2, MAX_NODES + 1), st.floats(-1, MAX_NODES, allow_nan=False),
                 st.sampled_from(["0", "a", None, True]))
weight = st.one_of(st.just(1.0), st.floats(-1, 5), st.sampled_from([float("nan"), float("inf")]), st.integers(-1, 3),
                   st.sampled_from(["w", None, False]))
edge = st.one_of(st.tuples(node, node).map(list), st.tuples(node, node, weight).map(list),
                 st.lists(st.integers(0, 3), max_size=4))
graph = st.fixed_dictionaries(
    {"edges": st.lists(edge, max_size=10)},
    optional={"n": st.one_of(st.integers(-1, MAX_NODES + 2), st.just(True), st.just(2.0)),
              "max_cut": st.one_of(st.integers(0, 12), st.floats(0, 12), st.just(float("nan"))), "id": st.integers(0, 9)},
)
graph_file = st.one_of(st.lists(graph, max_size=3), graph, st.just({}), st.just("text"), st.just(None))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line_naming(message: str, *names: str) -> None:
    assert "\n" not in message and "Traceback" not in message, message
    assert any(name in message for name in names), message


@PROPS
@given(content=graph_file)
def test_graph_files_are_accepted_exactly_or_refused_naming_the_file(tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("graphs")
    path = folder / "graphs.json"
    path.write_text(json.dumps(content))
    before = snapshot(folder)
    try:
        problems = load_checked_graphs(path)
    except InputError as exc:
        one_line_naming(str(exc), "--graphs")
        assert str(exc).startswith("--graphs")
    else:
        items = content if isinstance(content, list) else [content]
        assert len(problems) == len(items)
        for item, pr in zip(items, problems):
            nodes = {x for e in item["edges"] for x in e[:2]}
            assert all(type(x) is int and 0 <= x < pr.n for x in nodes)  # node ids are 0..n-1, never relabelled
            assert pr.labels is None and pr.m == len(item["edges"])
            if item.get("max_cut") is not None:
                assert abs(pr.max_cut - brute_force_max_cut(pr)[0]) <= TOLERANCE * max(1.0, pr.max_cut)
    assert snapshot(folder) == before


run_value = st.one_of(st.integers(-2, 60), st.booleans(), st.floats(-1, 3), st.just(float("nan")), st.none(),
                      st.text("adm:0123fidelsoqr+,", max_size=8))
run_config = st.dictionaries(
    st.sampled_from(["p", "seed", "shots", "optimizer", "lr", "gradient", "init", "backend", "max_evaluations", "bogus"]),
    run_value, max_size=5,
)


@PROPS
@given(data=run_config)
def test_configs_are_typed_strictly_or_refused_naming_the_file(data):
    try:
        cfg = parse_config({"graphs": "g.json", **data}, RunConfig, where="run.yaml")
    except ConfigError as exc:
        assert all(line.startswith("run.yaml: ") for line in str(exc).splitlines()), str(exc)
        assert "Traceback" not in str(exc)
    else:
        for key in ("p", "seed", "shots", "max_evaluations"):
            value = getattr(cfg, key)
            assert value is None or type(value) is int  # never a bool or a float taken for an int
            if key in data:
                assert value == data[key] and type(value) is type(data[key])


@PROPS
@given(text=st.one_of(st.text(max_size=12), st.from_regex(r"(adam|sgd|spsa|cobyla|x)(:[0-9+\- _]{0,3})?", fullmatch=True)))
def test_optimizer_specs_are_read_exactly_or_refused(text):
    try:
        name, steps = check_optimizer(text)
    except InputError as exc:
        one_line_naming(str(exc), "--optimizer")
    else:
        match = re.fullmatch(r"\s*([A-Za-z]+)(?::([0-9]+))?\s*", text)
        assert match and name == match.group(1).lower() and steps == int(match.group(2) or 50)


@PROPS
@given(text=st.one_of(st.text(max_size=16), st.from_regex(r"(ideal|aer|fake:torino|fake:x|local:fez)(\+(zne|rem|dd|x)){0,3}\+?", fullmatch=True)))
def test_target_specs_parse_or_are_refused_naming_the_flag(text):
    try:
        spec = parse_target_spec(text)
    except (InputError, TargetError) as exc:
        one_line_naming(str(exc), "--backend")
    else:
        assert spec.label.replace(" ", "") in text.replace(" ", "") or spec.mitigation != "none"
        assert spec.target == text.strip().partition("+")[0].strip()


@FEW
@given(name=st.one_of(st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), max_size=12),
                      st.sampled_from([":memory:", "file:x.db", "file::memory:?cache=shared", "", ".", "sub/l.db"])))
def test_ledger_names_open_a_file_ledger_or_are_refused_leaving_nothing(tmp_path_factory, name):
    folder = tmp_path_factory.mktemp("ledgers")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        try:
            with Ledger(name) as led:
                assert led.runs() == []
        except LedgerError as exc:
            one_line_naming(str(exc), "--ledger", "ledger")
        assert snapshot(folder) == {} and list(folder.iterdir()) == []  # nothing created without a write
    finally:
        os.chdir(cwd)


@FEW
@given(update=st.fixed_dictionaries({}, optional={
    "p": st.integers(0, 4), "shots": st.one_of(st.none(), st.integers(0, 3000)),
    "backend": st.sampled_from(["ideal", "aer", "ideal+rem", "fake:nowhere", "bogus"]),
    "optimizer": st.sampled_from(["adam:3", "adam:", "cobyla:2", "x:1"]), "seed": st.integers(-1, 3),
    "init": st.sampled_from(["fixed", "tqa", "tqa:inf", "random:2", "nope"])}))
def test_a_run_config_validates_or_is_refused_by_one_flag_before_any_ledger(tmp_path_factory, update):
    folder = tmp_path_factory.mktemp("run")
    graphs = folder / "g.json"
    graphs.write_text(json.dumps([{"n": 4, "edges": [[0, 1], [1, 2], [2, 3], [0, 3]], "max_cut": 4}]))
    before = snapshot(folder)
    try:
        cfg, problems, _, estimate = validate_run_config(RunConfig(graphs=str(graphs), **update))
    except (InputError, TargetError, ConfigError) as exc:
        one_line_naming(str(exc), "--")
    else:
        assert problems[0].max_cut == 4 and estimate.evaluations >= 1 and 1 <= cfg.p <= 4
    assert snapshot(folder) == before


def test_the_command_line_refuses_a_generated_bad_input_with_one_line(tmp_path):
    """The one subprocess: the real entry point, a boolean depth from YAML, an untouched ledger."""
    graphs = tmp_path / "g.json"
    graphs.write_text(json.dumps([{"n": 3, "edges": [[0, 1], [1, 2], [0, 2]]}]))
    config = tmp_path / "run.yaml"
    config.write_text(f"graphs: {graphs}\np: true\n")
    ledger = tmp_path / "l.db"
    with Ledger(ledger) as led:
        led.create_run({}, "ideal", "kept")
    before = snapshot(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "hybrid.cli", "run", "-c", str(config), "--ledger", str(ledger)],
                          capture_output=True, text=True, env=env, timeout=SUBPROCESS_TIMEOUT_S)
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"error: {config}: p: must be an integer") and "Traceback" not in proc.stderr
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("l.db")} == {k: v for k, v in before.items() if not k.startswith("l.db")}
    with Ledger(ledger, mode="read") as led:
        assert [r["run_id"] for r in led.runs()] == ["kept"]
