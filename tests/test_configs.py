"""Every shipped config and job spec validates (unknown keys would be rejected)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybrid.compare import CompareConfig
from hybrid.config import MetaConfig, load_config
from hybrid.runs import RunConfig, load_run_config

ROOT = Path(__file__).resolve().parents[1]


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
