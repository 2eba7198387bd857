"""Meta-training, checkpoints, the shipped models and the learned warm start."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hybrid.config import ConfigError, MetaConfig, load_config, parse_config
from hybrid.evaluate import IdealOracle, StackedIdealOracle, ideal_oracle
from hybrid.meta import (
    CheckpointError,
    EpisodeOracle,
    _FiniteDifferenceCuts,
    load_checkpoint,
    load_pretrained,
    meta_loss,
    phase_one,
    pretrained_names,
    resolve_pretrained,
    rollout,
    save_checkpoint,
    train,
)
from hybrid.models import build_model
from hybrid.problems import paper_graph
from hybrid.strategies import get_strategy, initial_params

SEED = 3
TINY = {
    "model": "lstm",
    "data": {"ns": [5, 6], "per_nk": 3},
    "validation": {"count": 4, "ns": [6], "every": 5, "patience": 50},
    "stages": [{"name": "s", "iterations": 10, "batch_size": 6, "lr": 0.02, "lr_final": 0.005}],
    "steps": 4,
    "seed": SEED,
}
SHIPPED = ("default", "default-p2", "default-p3", "lstm", "lstm-torino", "qk_lstm", "qlstm", "qfwp")


def tiny_config(tmp_path, **changes) -> MetaConfig:
    return parse_config({**TINY, "out": str(tmp_path / "run"), **changes}, MetaConfig)


def test_config_rejects_unknown_keys(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'modle'"):
        parse_config({"modle": "lstm"}, MetaConfig)
    with pytest.raises(ConfigError, match="stages.0.lr_final"):
        parse_config({"stages": [{"lr_final": "fast"}]}, MetaConfig)
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, MetaConfig)


def test_shipped_default_config_is_valid():
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "meta_default.yaml", MetaConfig)
    assert cfg.stages[-1].oracle == "fake:torino"


def test_meta_losses():
    ratios = torch.tensor([[0.5, 0.6], [0.7, 0.5], [0.8, 0.9]])
    assert meta_loss(ratios, "final").item() == pytest.approx(-0.85)
    w = torch.tensor([1.0, 2.0, 3.0])
    assert meta_loss(ratios, "weighted").item() == pytest.approx(-float((w[:, None] * ratios).sum(0).mean() / 6))
    # improvements: graph 0: 0.5 + 0.2 + 0.1; graph 1: 0.6 + 0 + 0.3
    assert meta_loss(ratios, "observed_improvement").item() == pytest.approx(-(0.8 + 0.9) / 2)
    with pytest.raises(ConfigError, match="unknown meta-loss"):
        meta_loss(ratios, "best")


def test_finite_difference_oracle_matches_autograd():
    problems = [paper_graph(6, 3, seed=SEED), paper_graph(7, 4, seed=SEED)]
    theta = torch.tensor([[0.4, 0.3], [0.7, -0.2]], dtype=torch.float64, requires_grad=True)
    exact = StackedIdealOracle(problems, 1).expectation(theta)
    (g_exact,) = torch.autograd.grad(exact.sum(), theta)
    theta2 = theta.detach().clone().requires_grad_(True)
    oracles = [IdealOracle(pr, 1) for pr in problems]

    def compute(thetas):
        out = [o.value_and_grad(t)[:2] for o, t in zip(oracles, thetas)]
        return np.array([v for v, _ in out]), np.array([g for _, g in out])

    fd = _FiniteDifferenceCuts.apply(theta2, compute)
    (g_fd,) = torch.autograd.grad(fd.sum(), theta2)
    np.testing.assert_allclose(fd.detach().numpy(), exact.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(g_fd.numpy(), g_exact.numpy(), atol=1e-6)


def test_training_lowers_the_meta_loss(tmp_path):
    cfg = tiny_config(tmp_path, stages=[{"name": "s", "iterations": 25, "batch_size": 6, "lr": 0.02, "lr_final": 0.005}])
    batch = [paper_graph(6, k, seed=SEED + k).with_max_cut() for k in (3, 4, 5)]

    def loss_of(model) -> float:
        with torch.no_grad():
            return meta_loss(rollout(model, batch, EpisodeOracle(batch, 1), cfg).ratios, cfg.loss).item()

    torch.manual_seed(cfg.seed)
    untrained = build_model("lstm", {"p": 1, "num_features": 5})
    result = train(cfg, progress=False)
    trained, _, _ = load_checkpoint(result.best_checkpoint)
    assert loss_of(trained) < loss_of(untrained)
    card = json.loads((tmp_path / "run" / "best.json").read_text())
    assert card["parameters"] == result.parameter_count and card["model"] == "lstm"


def test_training_is_reproducible(tmp_path):
    a = train(tiny_config(tmp_path / "a"), progress=False)
    b = train(tiny_config(tmp_path / "b"), progress=False)
    assert a.history == b.history


def test_resume_after_a_crash_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    import hybrid.meta as meta

    full = train(tiny_config(tmp_path / "full"), progress=False)
    cfg = tiny_config(tmp_path / "crash")
    original = meta.validate
    calls = {"n": 0}

    def crash_on_second_validation(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # iteration 10, after the checkpoint of iteration 5
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(meta, "validate", crash_on_second_validation)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, progress=False)
    monkeypatch.setattr(meta, "validate", original)
    checkpoint = tmp_path / "crash" / "run" / "checkpoint.pt"
    assert torch.load(checkpoint, weights_only=True)["training"]["iteration"] == 5
    resumed = train(cfg, resume=checkpoint, progress=False)
    assert resumed.history == full.history
    assert resumed.best_validation_ar == full.best_validation_ar
    with pytest.raises(CheckpointError, match="different config"):
        train(tiny_config(tmp_path / "crash", seed=SEED + 1), resume=checkpoint, progress=False)


def test_checkpoint_round_trip_and_rejections(tmp_path):
    cfg = tiny_config(tmp_path)
    model = build_model("qk_lstm", {"p": 1, "num_features": 5})
    path = save_checkpoint(tmp_path / "m.pt", model, cfg)
    loaded, cfg2, payload = load_checkpoint(path)
    assert cfg2 == cfg and payload["model_name"] == "qk_lstm"
    x = torch.rand(3, 2)
    c = torch.rand(3, 1)
    f = torch.rand(3, 5)
    model.eval()
    assert torch.equal(model(x, c, f, model.initial_state(3))[0], loaded(x, c, f, loaded.initial_state(3))[0])

    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="not a readable hybrid-qaoa checkpoint"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a hybrid-qaoa checkpoint"):
        load_checkpoint(foreign)
    mismatched = tmp_path / "mismatch.pt"
    payload = torch.load(path, weights_only=True)
    payload["model_config"] = {**payload["model_config"], "hidden": 7}
    torch.save(payload, mismatched)
    with pytest.raises(CheckpointError, match="weights do not match model 'qk_lstm'"):
        load_checkpoint(mismatched)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_load_with_cards(name):
    assert name in pretrained_names()
    model, cfg, card = load_pretrained(f"learned:{name}")
    for key in ("model", "p", "parameters", "validation_ar", "data", "oracles", "date"):
        assert key in card, key
    assert model.config["p"] == cfg.p == card["p"]


def test_default_model_was_fine_tuned_on_torino():
    _, cfg, card = load_pretrained("learned")
    assert card["oracles"][-1] == "fake:torino"
    assert resolve_pretrained("learned", p=2).name == "default-p2.pt"
    with pytest.raises(CheckpointError, match="no shipped model 'nope'"):
        resolve_pretrained("learned:nope")


def test_learned_warm_start_beats_fixed_angle_on_a_new_graph():
    problem = paper_graph(11, 5, seed=SEED).with_max_cut()
    model, cfg, _ = load_pretrained("learned")
    oracle = ideal_oracle(problem, 1)
    result = phase_one(model, cfg, problem, oracle.evaluate)
    assert result.evaluations == cfg.steps == len(result.energies)
    fixed = oracle.evaluate(initial_params("fixed", problem, 1)).energies[0]
    assert result.energies[-1] >= fixed
    start = get_strategy("learned").start(problem, 1, evaluate=lambda th: oracle.evaluate(th).energies[0])
    best = int(np.argmax(result.energies))
    np.testing.assert_allclose(start.theta, result.thetas[best])
    assert start.evaluations == result.evaluations


def test_an_existing_checkpoint_is_never_overwritten_without_resume_or_force(tmp_path):
    cfg = tiny_config(tmp_path)
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"an earlier training run")
    with pytest.raises(CheckpointError, match="already exists.*--resume.*--force"):
        train(cfg, progress=False)
    assert checkpoint.read_bytes() == b"an earlier training run"
