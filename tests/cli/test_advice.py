"""Every size refusal's advice leads somewhere: applying the flags it names gives a run that validates,
or the message says plainly that nothing here will run it."""

from __future__ import annotations

import re

import pytest

from backends import TargetError
from hybrid.problems import regular_graph, save_graphs
from hybrid.runs import RunConfig
from hybrid.validation import MEMORY_ENV, InputError, validate_run_config

SEED = 11
MEMORY_GB = "8"
ROUTE = re.compile(r"--backend (\S+) --p (\d+) without --shots")


@pytest.fixture
def graph_file(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, MEMORY_GB)

    def make(n: int) -> str:
        return str(save_graphs([regular_graph(n, 3, seed=SEED)], tmp_path / f"g{n}.json"))

    return make


def follow(cfg: RunConfig, message: str) -> RunConfig:
    """The config the refusal's advice names."""
    route = ROUTE.search(message)
    if route:
        return cfg.model_copy(update={"backend": route.group(1), "p": int(route.group(2)), "shots": None})
    if "use --p 1" in message:
        return cfg.model_copy(update={"p": 1})
    if "use --shots N" in message:
        return cfg.model_copy(update={"shots": 1000})
    if "sample it with --backend aer --shots N" in message:
        return cfg.model_copy(update={"backend": "aer", "shots": 1000})
    raise AssertionError(f"the advice names no flags to follow: {message}")


@pytest.mark.parametrize(
    "n, update",
    [
        (40, {"backend": "ideal", "p": 3}),  # a 30-qubit light cone
        (40, {"backend": "ideal", "shots": 100}),  # ideal sampling beyond 26 qubits
        (40, {"backend": "aer", "shots": 100}),  # aer beyond 30 qubits
        (200, {"backend": "fake:torino", "p": 1}),  # a graph larger than the device
        (32, {"backend": "aer", "shots": 100, "p": 2}),
    ],
)
def test_each_refusal_names_a_route_that_validates(graph_file, n, update):
    cfg = RunConfig(graphs=graph_file(n), init="fixed", optimizer="adam:2", **update)
    with pytest.raises((InputError, TargetError)) as info:
        validate_run_config(cfg)
    message = str(info.value)
    assert message.startswith("--") and "\n" not in message
    assert "raise max_qubits" not in message and "use 'aer' with shots" not in message
    if "sampling cannot help" in message or "out of reach" in message:
        assert "--shots" not in follow(cfg, message).model_dump(exclude_none=True)
    cfg2, problems, _, estimate = validate_run_config(follow(cfg, message))
    assert problems[0].n == n and estimate.memory_bytes < float(MEMORY_GB) * 2**30


def test_no_overflow_at_any_size(graph_file):
    """1024 nodes and more: the estimates stay finite where they can, refuse by name where they cannot."""
    path = graph_file(1024)
    _, _, _, estimate = validate_run_config(RunConfig(graphs=path, backend="ideal", init="fixed", p=1))
    assert estimate.method == "p = 1 closed form"
    for update in ({"backend": "aer", "shots": 10}, {"backend": "ideal", "shots": 10}, {"backend": "fake:torino"}):
        with pytest.raises((InputError, TargetError), match=r"^--graphs.*1024") as info:
            validate_run_config(RunConfig(graphs=path, init="fixed", **update))
        assert "OverflowError" not in str(info.value)
