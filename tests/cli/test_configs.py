"""Every shipped config and job spec validates (unknown keys would be rejected)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybrid.compare import CompareConfig
from hybrid.config import MetaConfig, load_config
from hybrid.runs import RunConfig, load_run_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("meta_*.yaml")), ids=lambda p: p.name)
def test_meta_configs_validate(path):
    cfg = load_config(path, MetaConfig)
    assert cfg.stages


@pytest.mark.parametrize("path", [ROOT / "configs" / "run.yaml", *sorted((ROOT / "jobs").glob("*.yaml"))], ids=lambda p: p.name)
def test_run_configs_and_job_specs_validate(path):
    cfg = load_run_config(path)
    assert isinstance(cfg, RunConfig) and (ROOT / cfg.graphs).exists()


def test_compare_config_validates():
    assert load_config(ROOT / "configs" / "compare.yaml", CompareConfig).executor == "local"


def test_shipped_specs_follow_the_one_grammar():
    from hybrid.compare import split_label
    from hybrid.validation import TargetSpec, parse_target_spec

    for path in [ROOT / "configs" / "run.yaml", *sorted((ROOT / "jobs").glob("*.yaml"))]:
        spec = parse_target_spec(load_run_config(path).backend)
        assert spec.target.split(":")[0] in ("ideal", "aer", "fake", "local", "ibm")
    cfg = load_config(ROOT / "configs" / "compare.yaml", CompareConfig)
    assert [split_label(label) for label in cfg.backends] == [
        ("ideal", "none"), ("fake:torino", "none"), ("fake:torino", "rem"), ("fake:torino", "zne+rem")
    ]
    spec = parse_target_spec(" fake:torino+zne+rem ")
    assert (spec.target, spec.mitigation, spec.label) == ("fake:torino", "zne+rem", "fake:torino+zne+rem")
    assert TargetSpec.from_dict(spec.to_dict()) == spec
    assert parse_target_spec("ideal") == TargetSpec("ideal", "none")
