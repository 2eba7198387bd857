"""No number taken on trust at the door: strict YAML types, optimizer specs, backend lists, plot inputs,
executor specs; each refusal names the flag or file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from cli_batch import run_case

from hybrid.compare import CompareConfig, start_compare
from hybrid.config import ConfigError, MetaConfig, parse_config
from hybrid.executors import ExecutorError, check_executor
from hybrid.ledger import Ledger
from hybrid.plots import check_compare_report, plot_directory
from hybrid.runs import RunConfig
from hybrid.validation import InputError, check_optimizer

TRIANGLE = [{"n": 3, "edges": [[0, 1], [1, 2], [0, 2]]}]


@pytest.mark.parametrize(
    "cls, data, match",
    [
        (RunConfig, {"graphs": "g", "p": True}, "--p: must be an integer.*boolean"),
        (RunConfig, {"graphs": "g", "seed": True}, "--seed: must be an integer"),
        (RunConfig, {"graphs": "g", "shots": False}, "--shots: must be an integer"),
        (RunConfig, {"graphs": "g", "p": 2.0}, "--p: must be an integer"),
        (RunConfig, {"graphs": "g", "lr": True}, "--lr: must be a number"),
        (RunConfig, {"graphs": "g", "gradient": True}, "--gradient: Input should be a valid string"),
        (CompareConfig, {"graphs": "g", "ps": [1, True]}, "--ps: must be an integer list"),
        (MetaConfig, {"p": True}, "--p: must be an integer"),
    ],
)
def test_flags_never_take_a_boolean_for_a_number(cls, data, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(data, cls, where="flags")


def test_yaml_booleans_are_refused_in_every_config_model_naming_the_file():
    for cls, data in ((MetaConfig, {"seed": True}), (MetaConfig, {"stages": [{"iterations": True}]}),
                      (MetaConfig, {"validation": {"every": False}}), (MetaConfig, {"data": {"ns": [6, True]}}),
                      (RunConfig, {"graphs": "g", "max_evaluations": True}),
                      (CompareConfig, {"graphs": "g", "landscape": {"points": True}})):
        with pytest.raises(ConfigError, match=r"cfg\.yaml: .*(boolean)"):
            parse_config(data, cls, where="cfg.yaml")
    assert parse_config({"graphs": "g", "p": 2, "lr": 1}, RunConfig).p == 2


@pytest.mark.parametrize("spec", ["adam:", "adam:-1", "adam: 5", "adam:5_0", "adam:+5", "adam:5:3", ":5", "adamw:5", "", " "])
def test_malformed_optimizer_specs_are_refused(spec):
    with pytest.raises(InputError, match="--optimizer"):
        check_optimizer(spec)


def test_well_formed_optimizer_specs_are_read_exactly():
    assert check_optimizer("adam") == ("adam", 50)
    assert check_optimizer("COBYLA:7") == ("cobyla", 7)
    assert check_optimizer("spsa:0") == ("spsa", 0)


@pytest.mark.parametrize("flag", ["--backends", "--init", "--p"])
def test_an_empty_compare_list_is_refused_before_registration(tmp_path, flag):
    graphs = tmp_path / "g.json"
    graphs.write_text(json.dumps(TRIANGLE))
    ledger = tmp_path / "l.db"
    result = run_case({"argv": ["compare", "--graphs", str(graphs), flag, "", "--ledger", str(ledger),
                                "--out", str(tmp_path / "out")]})
    assert result["escaped"] is None and result["code"] != 0
    assert result["stderr"].startswith(f"error: {flag}") and "at least one" in result["stderr"]
    assert not ledger.exists() and not (tmp_path / "out").exists()


def test_a_bogus_executor_is_refused_before_registration(tmp_path):
    graphs = tmp_path / "g.json"
    graphs.write_text(json.dumps(TRIANGLE))
    for bad in ("bogus", "ray:", "", "local:x"):
        with pytest.raises(ExecutorError, match="--executor"):
            check_executor(bad)
    assert check_executor("ray:10.0.0.1:6379") == "ray:10.0.0.1:6379"
    cfg = CompareConfig(graphs=str(graphs), backends=["ideal"], inits=["fixed"], executor="bogus")
    with Ledger(tmp_path / "l.db") as led:
        with pytest.raises(ExecutorError, match="--executor"):
            start_compare(cfg, led)
        assert led.counts()["runs"] == 0
    assert not (tmp_path / "l.db").exists()


@pytest.mark.parametrize(
    "text, match",
    [
        ("{}", "no 'cells' or 'summary'"),
        ("[1, 2]", "expected a compare report"),
        ("not json at all", "not a readable JSON file"),
        (json.dumps({"cells": [], "summary": [{"label": "ideal", "init": "fixed", "p": 1,
                                               "ar_target_mean": math.nan, "ar_ideal_mean": math.nan}]}),
         "no finite approximation ratio"),
        (json.dumps({"cells": [{"label": "ideal", "init": "fixed", "p": 1,
                                "result": {"ar_final": None, "ideal_ar_final": math.nan}}]}), "no finite"),
    ],
)
def test_plot_refuses_empty_garbage_and_all_nan_reports_naming_the_file(tmp_path, text, match):
    (tmp_path / "compare.json").write_text(text)
    with pytest.raises(ValueError, match=f"compare.json: {match}"):
        plot_directory(tmp_path)
    assert not (tmp_path / "figures").exists()
    result = run_case({"argv": ["plot", str(tmp_path)]})
    assert result["code"] != 0 and "compare.json" in result["stderr"]


def test_a_binary_compare_json_is_refused(tmp_path):
    (tmp_path / "compare.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="compare.json: not a readable JSON file"):
        plot_directory(tmp_path)
    check_compare_report({"summary": [{"ar_target_mean": 0.9}]}, Path("x"))  # one finite value is enough
