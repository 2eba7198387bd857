"""Validated configuration files (YAML). Unknown keys are rejected with the valid ones named."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ConfigError(ValueError):
    """A configuration file or value that cannot be used; the message says what to fix."""


def _numeric_kind(annotation: Any) -> tuple[str | None, bool]:
    """``("int" | "float" | None, is_list)``: the number type a field holds (``int | None``, ``list[int]``, ...)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        kinds = [_numeric_kind(a) for a in typing.get_args(annotation) if a is not type(None)]
        return kinds[0] if len(kinds) == 1 else (None, False)
    if origin is list:
        (inner,) = typing.get_args(annotation) or (Any,)
        return _numeric_kind(inner)[0], True
    if annotation is int:
        return "int", False
    if annotation is float:
        return "float", False
    return None, False


class _Strict(BaseModel):
    """Base of every config model: unknown keys and a boolean given for a number (YAML ``p: true``) are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, field in cls.model_fields.items():
            if name not in data:
                continue
            kind, is_list = _numeric_kind(field.annotation)
            if kind is None:
                continue
            values = data[name] if is_list and isinstance(data[name], list) else [data[name]]
            if any(isinstance(v, bool) for v in values):
                what = "an integer" if kind == "int" else "a number"
                raise ValueError(f"{name}: must be {what}{' list' if is_list else ''}, got {data[name]!r} (a boolean)")
            if kind == "int" and any(isinstance(v, float) for v in values):
                raise ValueError(f"{name}: must be an integer, got {data[name]!r}")
        return data


class DataConfig(_Strict):
    """Where training graphs come from."""

    generator: Literal["paper", "erdos_renyi", "regular", "file", "families"] = "paper"
    ns: list[int] = Field(default_factory=lambda: [6, 7, 8, 9])
    per_nk: int = 56  # paper: graphs per (n, k), k = 3..n-1
    # families: hybrid.families.split_graphs("train", per_family, families=...) (node counts of that split)
    per_family: int = 64
    families: list[Literal["paper", "regular", "weighted", "sparse"]] = Field(
        default_factory=lambda: ["paper", "regular", "weighted", "sparse"]
    )
    count: int = 256  # erdos_renyi / regular: graphs in all
    edge_probability: float = 0.5
    degree: int = 3
    weights: str | None = None
    path: str | None = None
    seed: int = 0

    @field_validator("ns")
    @classmethod
    def _ns(cls, v: list[int]) -> list[int]:
        if not v or any(n < 3 or n > 20 for n in v):
            raise ValueError("ns must list graph sizes between 3 and 20")
        return v


class ValidationConfig(_Strict):
    # paper: `count` G(n, k/n) graphs of sizes `ns`; families: the "validation" split of
    # hybrid.families, `per_family` graphs of each of data.families
    generator: Literal["paper", "families"] = "paper"
    per_family: int = 8
    count: int = 24
    ns: list[int] = Field(default_factory=lambda: [8, 9, 10])
    seed: int = 12345
    every: int = 25  # iterations between validations
    patience: int = 8  # validations without improvement before the stage stops

    @field_validator("every", "count", "per_family")
    @classmethod
    def _at_least_one(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be >= 1")
        return v

    @field_validator("patience")
    @classmethod
    def _not_negative(cls, v: int) -> int:
        if v < 0:
            raise ValueError("must be >= 0")
        return v


class StageConfig(_Strict):
    """One training stage: an oracle, a budget and an optimiser schedule."""

    name: str = "stage"
    oracle: str = "ideal"  # ideal or fake:<device>
    iterations: int = 400
    batch_size: int = 32
    lr: float = 3e-3
    lr_final: float = 3e-4  # cosine decay to this
    max_n: int | None = None  # only graphs up to this size in this stage
    pool_size: int | None = None  # only this many of them (a fixed random subset: reuses transpilations)
    grad_clip: float = 1.0
    # sampled costs: exact <C> plus Gaussian noise of the exact shot-noise variance Var(C)/shots
    # (ideal oracle only); None feeds and selects on exact expectations
    shots: int | None = None
    validate_on: Literal["ideal", "stage"] = "ideal"
    # with validate_on: stage, a small held-out set of these sizes (noisy oracles are slow)
    val_ns: list[int] = Field(default_factory=lambda: [6, 7])
    val_count: int = 8

    @field_validator("iterations", "batch_size", "val_count")
    @classmethod
    def _stage_positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be >= 1")
        return v

    @field_validator("shots")
    @classmethod
    def _shots(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError("shots must be >= 1 (or null for exact costs)")
        return v


class MetaConfig(_Strict):
    """Meta-training of a sequence model (``hybrid meta-train -c FILE``)."""

    model: Literal["lstm", "qk_lstm", "qlstm", "qfwp"] = "lstm"
    model_options: dict[str, Any] = Field(default_factory=dict)
    p: int = 1
    use_features: bool = True
    steps: int = 10  # recurrent Phase I steps per episode
    start: Literal["zero", "fixed", "tqa"] = "fixed"
    loss: Literal["weighted", "observed_improvement", "final", "best_so_far"] = "weighted"
    # graph features given to the model: basic (5, problems.graph_features) or family (8, problems.family_features)
    features: Literal["basic", "family"] = "basic"
    # extra feedback inputs besides the last cost: delta (change of cost), best (gain over the
    # best cost so far), step (t / steps); see hybrid.meta.FeedbackInputs
    feedback: list[Literal["delta", "best", "step"]] = Field(default_factory=list)
    data: DataConfig = Field(default_factory=DataConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    stages: list[StageConfig] = Field(default_factory=lambda: [StageConfig()])
    seed: int = 0
    device: str = "cpu"
    threads: int = 1
    executor: str = "local"  # local, ray or ray:ADDRESS: where noisy-stage oracle calls run
    out: str = "runs/meta"

    @field_validator("feedback")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("feedback must not repeat an entry")
        return v

    @field_validator("p", "steps", "threads")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be >= 1")
        return v


def _format_error(exc: ValidationError, where: str) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if where == "flags" and loc:  # a command-line flag: name it as typed
            where_loc = f"--{loc.split('.')[0].replace('_', '-')}"
            loc = ".".join(loc.split(".")[1:])
        else:
            where_loc = where
        if where == "flags" and not loc and msg.partition(": ")[0].isidentifier():  # a model check naming its key
            key, _, msg = msg.partition(": ")
            where_loc = f"--{key.replace('_', '-')}"
        if err["type"] == "extra_forbidden":
            lines.append(f"{where_loc}: unknown key {loc!r}; remove it or check its spelling")
        else:
            lines.append(f"{where_loc}: {loc}: {msg}" if loc else f"{where_loc}: {msg}")
    return "\n".join(lines)


def load_config(path: str | Path, cls: type[BaseModel]) -> Any:
    """Read a YAML file into ``cls`` (strict: unknown keys are errors)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} is not a regular file (a folder, FIFO or device); give a YAML file")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text YAML file ({exc.reason} at byte {exc.start})") from None
    except (RecursionError, MemoryError) as exc:
        raise ConfigError(f"{path}: too deeply nested or too large to be a config ({type(exc).__name__})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_config(data, cls, where=str(path))


def parse_config(data: dict[str, Any], cls: type[BaseModel], where: str = "config") -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {type(data).__name__}")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, where)) from None
