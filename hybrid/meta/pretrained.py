"""The shipped models: a registry of the checkpoints in ``hybrid/pretrained``.

``learned`` resolves to the default model for depth p (``default.pt``,
``default-pP.pt``), ``learned:NAME`` to a shipped model, anything with ``/`` or a
``.pt`` suffix to a checkpoint path. :func:`load_pretrained` caches what it loads;
:func:`ship_model` copies a trained checkpoint into the registry with its JSON card.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .checkpoint import CheckpointError, config_json, load_checkpoint, save_checkpoint

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"


def pretrained_names() -> list[str]:
    return sorted(p.stem for p in PRETRAINED_DIR.glob("*.pt"))


def resolve_pretrained(spec: str = "learned", p: int = 1) -> Path:
    """``learned`` (the default for depth p), ``learned:NAME`` (a shipped model) or a path."""
    name = spec.partition(":")[2] if spec.startswith("learned") else spec
    if name and (Path(name).suffix == ".pt" or "/" in name):
        path = Path(name)
        if not path.exists():
            raise CheckpointError(f"checkpoint {name!r} does not exist")
        return path
    if not name:
        name = "default" if p == 1 else f"default-p{p}"
    path = PRETRAINED_DIR / f"{name}.pt"
    if not path.exists():
        raise CheckpointError(
            f"no shipped model {name!r}; available: {', '.join(pretrained_names()) or 'none'} (or pass a .pt path)"
        )
    return path


_MODEL_CACHE: dict[str, tuple] = {}


def load_pretrained(spec: str = "learned", p: int = 1):
    """``(model, meta_config, card)`` of a shipped model or a checkpoint path (cached)."""
    path = resolve_pretrained(spec, p)
    key = str(path.resolve())
    if key not in _MODEL_CACHE:
        model, cfg, payload = load_checkpoint(path)
        _MODEL_CACHE[key] = (model, cfg, payload.get("card", {}))
    return _MODEL_CACHE[key]


def check_ship_name(name: Any, flag: str = "--ship") -> str:
    """A name a model can be shipped under (``learned:NAME``): letters, digits, '-' or '_'."""
    if not isinstance(name, str) or not name or not name.replace("-", "").replace("_", "").isalnum() or not name.isascii():
        raise CheckpointError(f"{flag}: model name {name!r} must be letters, digits, '-' or '_'")
    return name


def ship_model(checkpoint: str | Path, name: str, **card_extra: Any) -> Path:
    """Copy a trained model into the package (``learned:NAME``) with its JSON card (plus ``card_extra``)."""
    check_ship_name(name)
    model, cfg, payload = load_checkpoint(checkpoint)
    PRETRAINED_DIR.mkdir(parents=True, exist_ok=True)
    card = dict(payload.get("card", {}))
    card["name"] = name
    card.update(card_extra)
    path = save_checkpoint(PRETRAINED_DIR / f"{name}.pt", model, cfg, {}, card)
    (PRETRAINED_DIR / f"{name}.json").write_text(json.dumps({"meta_config": config_json(cfg), **card}, indent=1) + "\n")
    _MODEL_CACHE.pop(str(path.resolve()), None)
    return path
