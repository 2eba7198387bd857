"""Checkpoints: self-describing ``torch.save`` files of tensors and JSON-able values.

A checkpoint carries its format tag, the model name, the model config and the
meta-training config, so it describes itself; it is loaded with ``weights_only=True``
(no pickle). :class:`CheckpointError` says why a file cannot be used and what to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..config import MetaConfig, parse_config
from ..models import build_model

CHECKPOINT_FORMAT = "hybrid-qaoa-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message says why and what to do."""


def config_json(cfg: MetaConfig) -> dict[str, Any]:
    return json.loads(cfg.model_dump_json())


def save_checkpoint(path: str | Path, model, cfg: MetaConfig, training: dict[str, Any] | None = None, card: dict[str, Any] | None = None) -> Path:
    """Write a self-describing checkpoint (atomic: temp file then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model_name": model.name,
        "model_config": dict(model.config),
        "meta_config": config_json(cfg),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "training": training or {},
        "card": card or {},
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: str | Path, map_location: str = "cpu"):
    """``(model, meta_config, payload)`` from a checkpoint; clear errors when it is unusable."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt files
        raise CheckpointError(f"{path}: not a readable hybrid-qaoa checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a hybrid-qaoa checkpoint (expected format {CHECKPOINT_FORMAT!r})")
    try:
        cfg = parse_config(payload["meta_config"], MetaConfig, where=f"{path} meta_config")
        model = build_model(payload["model_name"], payload["model_config"])
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: its model description is invalid ({exc})") from None
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: weights do not match model {payload['model_name']!r} with config {payload['model_config']} ({exc})"
        ) from None
    model.eval()
    return model, cfg, payload

