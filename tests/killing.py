"""Helpers of the crash-resume tests: start a `hybrid` command, `kill -9` it once the ledger shows
progress, and compare reports without the fields that name a run or time it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any, Callable

POLL_S = 0.02


def cli(*args: str) -> list[str]:
    """The command line of ``hybrid ARGS`` in this interpreter."""
    return [sys.executable, "-m", "hybrid.cli", *args]


def without(value: Any, fields: tuple[str, ...]) -> Any:
    """``value`` (JSON data) with every dict key in ``fields`` dropped, at any depth: what may
    differ between a resumed and an uninterrupted run (wall times, run ids)."""
    if isinstance(value, dict):
        return {k: without(v, fields) for k, v in value.items() if k not in fields}
    if isinstance(value, list):
        return [without(v, fields) for v in value]
    return value


def cli_env() -> dict[str, str]:
    """This process's environment, unbuffered, with one OpenMP thread."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def kill_when(args: list[str], ready: Callable[[], bool], timeout_s: float, env: dict[str, str] | None = None) -> None:
    """Run ``hybrid ARGS`` and SIGKILL it as soon as ``ready()`` holds (or at ``timeout_s``).

    Fails when the command ends by itself first (it must be long enough to be cut short).
    ``env`` defaults to :func:`cli_env`."""
    env = env or cli_env()
    victim = subprocess.Popen(cli(*args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if ready():
                break
            assert victim.poll() is None, f"`hybrid {args[0]}` ended before it could be killed; make it longer"
            time.sleep(POLL_S)
        os.kill(victim.pid, signal.SIGKILL)
    finally:
        victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
