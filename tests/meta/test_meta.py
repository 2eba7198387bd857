"""Meta-training, checkpoints, the shipped models and the learned warm start."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hybrid.config import ConfigError, MetaConfig, load_config, parse_config
from hybrid.oracles import FD_STEP, IdealOracle, StackedIdealOracle, ideal_oracle
from hybrid.oracles import fd_value_and_grad as _fd_value_and_grad
from hybrid.meta import (
    FEEDBACK_GAIN,
    CheckpointError,
    EpisodeOracle,
    FeedbackInputs,
    best_so_far,
    feedback_ablation,
    num_model_features,
    train_seeds,
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
from hybrid.meta.episode import _FiniteDifferenceCuts
from hybrid.models import build_model
from hybrid.families import split_graphs
from hybrid.problems import erdos_renyi, family_features, from_networkx, paper_graph, regular_graph
from hybrid.strategies import get_strategy, initial_params

SEED = 3
#: Sampled-cost check: draws, and the relative tolerance on their variance (about 4 standard errors).
NOISE_DRAWS = 4000
NOISE_VAR_RTOL = 4 * (2 / NOISE_DRAWS) ** 0.5
FEATURE_ATOL = 1e-12
TINY = {
    "model": "lstm",
    "data": {"ns": [5, 6], "per_nk": 3},
    "validation": {"count": 4, "ns": [6], "every": 5, "patience": 50},
    "stages": [{"name": "s", "iterations": 10, "batch_size": 6, "lr": 0.02, "lr_final": 0.005}],
    "steps": 4,
    "seed": SEED,
}
#: A tiny run of the families set-up: sampled costs, best-so-far loss, family features, feedback inputs.
TINY_FAMILIES = {
    **TINY,
    "features": "family",
    "feedback": ["delta", "best", "step"],
    "loss": "best_so_far",
    "data": {"generator": "families", "per_family": 3},
    "validation": {"generator": "families", "per_family": 1, "every": 5, "patience": 50},
    "stages": [{"name": "s", "iterations": 10, "batch_size": 6, "lr": 0.02, "lr_final": 0.005, "shots": 1000}],
}
SHIPPED = ("default", "default-p2", "default-p3", "default-p4", "default-p5", "lstm", "lstm-torino", "qfwp-torino", "qk_lstm", "qlstm", "qfwp")
#: Models trained on the graph families with sampled costs; their cards carry the seed spread and the ablation.
FAMILY_MODELS = ("default", "default-p2", "default-p3", "default-p4", "default-p5")


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

    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / "meta_default.yaml", MetaConfig)
    assert cfg.stages[-1].oracle == "fake:torino"


def test_meta_losses():
    ratios = torch.tensor([[0.5, 0.6], [0.7, 0.5], [0.8, 0.9]])
    assert meta_loss(ratios, "final").item() == pytest.approx(-0.85)
    # step weights 1, 2, 3 over their sum 6: graph 0 (0.5 + 1.4 + 2.4) / 6, graph 1 (0.6 + 1.0 + 2.7) / 6
    assert meta_loss(ratios, "weighted").item() == pytest.approx(-4.3 / 6)
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
        # central differences of exact values only (no autograd), as the noisy stage computes them
        out = [_fd_value_and_grad(o, t, FD_STEP, "central", None)[:2] for o, t in zip(oracles, thetas)]
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
    import hybrid.meta.training as training

    full = train(tiny_config(tmp_path / "full"), progress=False)
    cfg = tiny_config(tmp_path / "crash")
    original = training.validate
    calls = {"n": 0}

    def crash_on_second_validation(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # iteration 10, after the checkpoint of iteration 5
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "validate", crash_on_second_validation)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, progress=False)
    monkeypatch.setattr(training, "validate", original)
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


@pytest.mark.parametrize("name", FAMILY_MODELS)
def test_default_models_say_their_seed_spread_and_feedback_ablation(name):
    _, cfg, card = load_pretrained(f"learned:{name}")
    assert cfg.data.generator == "families" and cfg.stages[0].shots == 1000 and cfg.loss == "best_so_far"
    seeds = card["seeds"]
    assert len(seeds["seeds"]) >= 3 and seeds["spread"] == pytest.approx(max(seeds["validation_ar"]) - min(seeds["validation_ar"]), abs=2e-5)
    for key in ("real", "constant", "difference"):
        assert key in card["feedback_ablation"]


def test_shipped_model_names_resolve():
    _, _, card = load_pretrained("learned:qfwp-torino")
    assert card["oracles"][-1] == "fake:torino"
    assert resolve_pretrained("learned", p=1).name == "default.pt"
    assert resolve_pretrained("learned", p=2).name == "default-p2.pt"
    with pytest.raises(CheckpointError, match="no shipped model 'nope'"):
        resolve_pretrained("learned:nope")


def test_learned_warm_start_beats_fixed_angle_on_a_new_graph():
    problem = paper_graph(11, 5, seed=SEED).with_max_cut()
    model, cfg, _ = load_pretrained("learned")
    oracle = ideal_oracle(problem, 1)
    result = phase_one(model, cfg, problem, lambda theta: oracle.evaluate(theta).energies[0])
    assert result.evaluations == cfg.steps == len(result.energies)
    fixed = oracle.evaluate(initial_params("fixed", problem, 1)).energies[0]
    assert result.best_energy >= fixed and result.best_energy == result.energies.max()
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


# ---------------------------------------------------------------------------- Phase I returns the best proposal
def test_phase_one_returns_the_best_measured_proposal_and_honours_steps():
    problem = paper_graph(7, 3, seed=SEED).with_max_cut()
    torch.manual_seed(SEED)
    model = build_model("lstm", {"p": 1, "num_features": 5})
    cfg = parse_config({**TINY, "steps": 6}, MetaConfig)
    values = iter([3.0, 5.0, 4.0, 5.0, 1.0, 2.0])  # best is the first 5.0, index 1
    result = phase_one(model, cfg, problem, lambda theta: next(values))
    assert result.evaluations == 6 and result.best_index == 1 and result.best_energy == 5.0
    np.testing.assert_array_equal(result.theta, result.thetas[1])
    np.testing.assert_array_equal(result.best_theta, result.thetas[1])
    short = phase_one(model, cfg, problem, lambda theta: 1.0, steps=3)
    assert short.evaluations == 3 == len(short.thetas)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        phase_one(model, cfg, problem, lambda theta: 1.0, steps=0)


def test_an_episode_oracle_needs_a_target_with_exact_probabilities():
    problem = paper_graph(6, 3, seed=SEED).with_max_cut()
    with pytest.raises(ConfigError, match="'aer' has no exact mode; use ideal or fake:<device>"):
        EpisodeOracle([problem], 1, "aer")


def test_phase_one_takes_the_cut_as_a_number_and_names_the_fix_for_an_evaluation():
    problem = paper_graph(7, 3, seed=SEED).with_max_cut()
    torch.manual_seed(SEED)
    model = build_model("lstm", {"p": 1, "num_features": 5})
    cfg = parse_config({**TINY, "steps": 2}, MetaConfig)
    oracle = ideal_oracle(problem, 1)
    as_numbers = phase_one(model, cfg, problem, lambda theta: oracle.evaluate(theta).energies[0])
    np.testing.assert_allclose(as_numbers.energies, [oracle.evaluate(t).energies[0] for t in as_numbers.thetas])
    with pytest.raises(TypeError, match="got Evaluation.*oracle.evaluate\\(theta\\).energies\\[0\\]"):
        phase_one(model, cfg, problem, oracle.evaluate)


def test_best_so_far_and_its_loss():
    ratios = torch.tensor([[0.5, 0.6], [0.7, 0.5], [0.8, 0.9]])
    measured = torch.tensor([[5.0, 6.0], [7.0, 7.0], [6.0, 5.0]])  # graph 1 picks its second proposal (AR 0.5)
    best = best_so_far(ratios, measured)
    np.testing.assert_allclose(best.numpy(), [[0.5, 0.6], [0.7, 0.5], [0.7, 0.5]])
    w = torch.tensor([1.0, 2.0, 3.0])
    expected = -float((w[:, None] * best).sum(0).mean() / w.sum())
    assert meta_loss(ratios, "best_so_far", measured).item() == pytest.approx(expected)
    # selected by the ARs themselves when nothing was measured
    assert meta_loss(ratios, "best_so_far").item() == pytest.approx(-float((w[:, None] * torch.tensor([[0.5, 0.6], [0.7, 0.6], [0.8, 0.9]])).sum(0).mean() / 6))


def test_feedback_inputs_by_hand():
    graphs = [paper_graph(6, 3, seed=SEED).with_max_cut()]
    total = graphs[0].total_weight
    cfg = parse_config({**TINY, "features": "family", "feedback": ["delta", "best", "step"], "steps": 4}, MetaConfig)
    assert num_model_features(cfg) == 8 + 3
    inputs = FeedbackInputs(graphs, cfg, device="cpu", dtype=torch.float64)
    f0 = inputs.features()
    np.testing.assert_allclose(f0[0, :8].numpy(), family_features(graphs[0]), atol=FEATURE_ATOL)
    np.testing.assert_allclose(f0[0, 8:].numpy(), [0.0, 0.0, 0.0])
    for cut in (0.6 * total, 0.7 * total, 0.65 * total):
        inputs.observe(torch.tensor([cut], dtype=torch.float64))
    f = inputs.features()[0, 8:].numpy()
    np.testing.assert_allclose(f, [np.tanh(FEEDBACK_GAIN * -0.05), np.tanh(FEEDBACK_GAIN * -0.05), 3 / 4], atol=1e-12)
    assert inputs.cost().item() == pytest.approx(0.65)


def test_sampled_costs_have_the_exact_shot_noise_variance():
    problems = [paper_graph(6, 3, seed=SEED).with_max_cut()]
    theta = torch.tensor([[0.6, 0.35]], dtype=torch.float64)
    mean, var = StackedIdealOracle(problems, 1).moments(theta)
    probs = IdealOracle(problems[0], 1).probabilities(theta).detach().numpy()[0]
    cuts = problems[0].cut_values()
    exact_var = float(probs @ cuts**2 - (probs @ cuts) ** 2)
    assert var.item() == pytest.approx(exact_var, rel=1e-10)
    oracle = EpisodeOracle(problems, 1)
    gen = torch.Generator().manual_seed(SEED)
    draws = torch.stack([oracle.sampled(theta, 100, gen)[1] for _ in range(NOISE_DRAWS)]).numpy()[:, 0]
    assert draws.var() == pytest.approx(exact_var / 100, rel=NOISE_VAR_RTOL)


def test_family_features_are_bounded_and_tell_families_apart():
    import networkx as nx

    graphs = split_graphs("validation", 2)
    for g in graphs:
        f = family_features(g)
        assert np.all(f >= 0) and np.all(f <= np.pi / 2)
        assert f[4] == pytest.approx(nx.transitivity(g.to_networkx()), abs=FEATURE_ATOL)
    regular = regular_graph(10, 3, seed=SEED)
    assert family_features(regular)[6] == 1.0 and family_features(regular)[5] == 0.0
    weighted = erdos_renyi(10, 0.5, seed=SEED, weights="uniform:0.1,1.0", connected=True)
    assert family_features(weighted)[5] > 0.2
    big = erdos_renyi(1000, 3 / 999, seed=SEED)  # large and sparse: still in range
    f = family_features(big)
    assert np.all(f >= 0) and np.all(f <= np.pi / 2) and f[0] == pytest.approx(1 / np.sqrt(1000))
    assert family_features(from_networkx(nx.complete_graph(5)))[4] == 1.0


def test_feedback_config_is_validated():
    with pytest.raises(ConfigError, match="feedback must not repeat"):
        parse_config({"feedback": ["delta", "delta"]}, MetaConfig)
    with pytest.raises(ConfigError, match="shots must be >= 1"):
        parse_config({"stages": [{"shots": 0}]}, MetaConfig)


# ---------------------------------------------------------------------------- families, shots, ablation, seeds
def test_families_training_with_sampled_costs_and_the_feedback_ablation(tmp_path):
    cfg = parse_config({**TINY_FAMILIES, "out": str(tmp_path / "run")}, MetaConfig)
    result = train(cfg, progress=False)
    card = json.loads((tmp_path / "run" / "best.json").read_text())
    assert card["features"] == "family" and card["feedback"] == ["cost", "delta", "best", "step"]
    assert "families' validation split" in card["validation"]
    model, cfg2, _ = load_checkpoint(result.best_checkpoint)
    graphs = split_graphs("validation", 1)
    out = feedback_ablation(model, cfg2, graphs, shots=1000, seed=SEED)
    assert out["graphs"] == 4 and out["steps"] == cfg.steps
    for key in ("real", "constant", "first_proposal"):
        assert 0.5 < out[key] <= 1.0, key
    assert out["difference"] == pytest.approx(out["real"] - out["constant"])
    # best of the episode never loses to its first proposal (selection on sampled costs: up to noise)
    assert out["real_by_step"][0] == pytest.approx(out["first_proposal"])
    exact = feedback_ablation(model, cfg2, graphs, shots=None, steps=3)
    assert exact["steps"] == 3 and exact["real"] >= exact["first_proposal"]


def test_constant_feedback_changes_what_a_model_proposes():
    graphs = split_graphs("validation", 1)
    torch.manual_seed(SEED)
    cfg = parse_config({**TINY_FAMILIES}, MetaConfig)
    model = build_model("lstm", {"p": 1, "num_features": num_model_features(cfg)}).double()
    with torch.no_grad():
        model.head.weight.mul_(10.0)  # untrained heads take tiny steps; make the effect visible
    oracle = EpisodeOracle(graphs, 1)
    real = rollout(model, graphs, oracle, cfg)
    flat = rollout(model, graphs, oracle, cfg, constant_feedback=real.measured.mean(0))
    torch.testing.assert_close(real.params[0], flat.params[0])  # nothing fed back before the first proposal
    assert not torch.allclose(real.params[-1], flat.params[-1])


def test_a_later_stage_keeps_its_start_weights_unless_it_beats_them(tmp_path):
    stages = [
        {"name": "a", "iterations": 5, "batch_size": 6, "lr": 0.02, "lr_final": 0.005},
        {"name": "b", "iterations": 5, "batch_size": 6, "lr": 0.0, "lr_final": 0.0},
    ]
    result = train(tiny_config(tmp_path, stages=stages), progress=False)
    card = json.loads((tmp_path / "run" / "best.json").read_text())
    second = card["stages"][1]
    assert second["improved"] is False and second["best_val_ar"] == second["start_val_ar"]
    assert result.best_validation_ar == second["start_val_ar"]


def test_train_seeds_reports_the_spread(tmp_path):
    summary = train_seeds(tiny_config(tmp_path), [SEED, SEED + 1])
    ars = [r["validation_ar"] for r in summary["runs"]]
    assert summary["spread"] == pytest.approx(max(ars) - min(ars))
    assert summary["best_checkpoint"].endswith(f"seed{summary['best_seed']}/best.pt")
    assert json.loads((tmp_path / "run" / "seeds.json").read_text())["mean"] == pytest.approx(np.mean(ars))
    with pytest.raises(ConfigError, match="distinct"):
        train_seeds(tiny_config(tmp_path), [1, 1])
