"""Refusals come before any work and name what to change: meta-train config errors before training,
non-regular graph files before a ledger exists, job specs by their keys, and honest table labels."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_batch import run_case

from hybrid.ledger import Ledger
from hybrid.validation import InputError, load_checked_graphs

TRIANGLE = [{"n": 3, "edges": [[0, 1], [1, 2], [0, 2]]}]
NESTING = 100_000


@pytest.mark.parametrize(
    "yaml_text, extra, match",
    [
        ("validation: {every: 0}\n", [], "validation.every: must be >= 1"),
        ("threads: 0\n", [], "threads: must be >= 1"),
        ("executor: bogus\n", [], "unknown executor 'bogus'"),
        ("", ["--executor", "bogus"], "unknown executor 'bogus'"),
        ("stages: [{oracle: 'nowhere:x'}]\n", [], r"stages\[0\]\.oracle"),
        ("stages: [{iterations: 0}]\n", [], "iterations: must be >= 1"),
        ("", ["--ship", "bad name!"], "--ship: model name 'bad name!'"),
    ],
)
def test_meta_train_refuses_config_errors_before_training(tmp_path, yaml_text, extra, match):
    out = tmp_path / "out"
    config = tmp_path / "meta.yaml"
    config.write_text(yaml_text + f"out: {out}\ndata: {{generator: regular, count: 4, ns: [6]}}\n"
                      "stages: [{iterations: 1, batch_size: 2}]\n" * ("stages" not in yaml_text))
    result = run_case({"argv": ["meta-train", "-c", str(config), *extra]})
    assert result["escaped"] is None and result["code"] != 0
    assert result["stderr"].count("\n") == 1 and __import__("re").search(match, result["stderr"]), result["stderr"]
    assert not out.exists(), "nothing trained, nothing written"


def test_a_fifo_graph_file_is_refused_before_anything_is_created(tmp_path):
    fifo = tmp_path / "graphs.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="--graphs .*not a regular file"):
        load_checked_graphs(fifo)
    ledger = tmp_path / "l.db"
    result = run_case({"argv": ["run", "--graphs", str(fifo), "--ledger", str(ledger)]})
    assert result["code"] != 0 and "not a regular file" in result["stderr"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graphs.json"]


def test_a_deeply_nested_graph_file_names_the_flag(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * NESTING + "]" * NESTING)
    with pytest.raises(InputError, match="--graphs .*deep.json"):
        load_checked_graphs(path)
    path.write_bytes(b"\xff\xfe[garbage")
    with pytest.raises(InputError, match="--graphs.*deep.json"):
        load_checked_graphs(path)


def test_submit_names_the_spec_keys_not_flags_it_lacks(tmp_path):
    graphs = tmp_path / "g.json"
    graphs.write_text(json.dumps(TRIANGLE))
    spec = tmp_path / "job.yaml"
    spec.write_text(f"graphs: {graphs}\nbackend: fake:nowhere\ninit: fixed\n")
    result = run_case({"argv": ["submit", str(spec), "--ledger", str(tmp_path / "l.db"), "--foreground"]})
    assert result["code"] != 0 and f"{spec}: backend" in result["stderr"], result["stderr"]
    assert "--backend" not in result["stderr"]
    spec.write_text(f"graphs: {graphs}\nbackend: ideal\np: 0\n")
    result = run_case({"argv": ["submit", str(spec), "--ledger", str(tmp_path / "l.db"), "--foreground"]})
    assert result["code"] != 0 and f"{spec}: p must be" in result["stderr"] and "--p" not in result["stderr"]
    assert not (tmp_path / "l.db").exists()


def test_jobs_list_counts_oracle_calls_by_that_name(tmp_path):
    ledger = tmp_path / "l.db"
    with Ledger(ledger) as led:
        led.create_run({}, "ideal", "r")
        led.begin_evaluation("r", "0:g", 0, "evaluate", [0.1, 0.2])
    result = run_case({"argv": ["jobs", "list", "--ledger", str(ledger)]})
    assert result["code"] == 0 and "oracle calls" in result["stdout"] and "evaluations" not in result["stdout"]


@pytest.mark.parametrize("content", [b"\xff\xfe\x00binary", b"[" * NESTING, b"p: [1\n"])
def test_unreadable_config_files_are_named(tmp_path, content):
    from hybrid.config import ConfigError, MetaConfig, load_config

    path = tmp_path / "meta.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"meta\.yaml: ") as info:
        load_config(path, MetaConfig)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(tmp_path, MetaConfig)
