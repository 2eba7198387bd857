"""Where work units run: in this process (default) or on a Ray cluster.

``get_executor("local" | "ray" | "ray:ADDRESS")``. The local executor imports
nothing. The Ray executor (``pip install -e '.[ray]'``) starts a local Ray instance
for ``"ray"`` or connects to an existing cluster for ``"ray:ADDRESS"`` (``auto``,
``HOST:6379`` or ``ray://HOST:10001``).

Units are plain data (graph JSON, target spec, strategy, parameters, seed); workers
rebuild targets and their caches locally and keep them for the next unit, so results
are the same as in process: the same code on the same inputs (floating-point
results are identical on identical machines and libraries; across machines expect
agreement to about 1e-12).

Two kinds of work are distributed:

* :meth:`RayExecutor.map_units`: compare cells, one task per unit, retried by Ray
  (``max_retries`` for lost workers, exceptions retried too) and reported with the
  unit when every attempt failed; never dropped silently;
* :meth:`RayExecutor.value_and_grads`: exact noisy oracle calls of a meta-training
  batch (one per graph and step) on a pool of actors, a graph always on the same
  actor so its transpilation is reused; the driver gathers the values and
  gradients and takes the optimiser step.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

#: Attempts per unit beyond the first, on the Ray executor.
RAY_RETRIES = 2


class ExecutorError(RuntimeError):
    """A unit that failed on every attempt, or an executor that cannot start."""


class LocalExecutor:
    """Everything in this process, in order."""

    name = "local"

    def map_units(self, fn: Callable[[dict], dict], units: Sequence[dict], advance: Callable[[], None] | None = None) -> list[dict]:
        out = []
        for unit in units:
            out.append(fn(unit))
            if advance:
                advance()
        return out

    def value_and_grads(self, graphs: Sequence[dict], p: int, spec: str, thetas: np.ndarray):
        return _local_value_and_grads(graphs, p, spec, thetas)

    def shutdown(self) -> None:
        pass


_ORACLES: dict[tuple, Any] = {}


def _noisy_oracle(graph: dict, p: int, spec: str):
    """A cached exact oracle per (graph, p, target) in this process."""
    import json

    from backends import cached_target

    from .oracles import NoisyExactOracle
    from .problems import MaxCutProblem

    key = (json.dumps(graph, sort_keys=True), p, spec)
    if key not in _ORACLES:
        _ORACLES[key] = NoisyExactOracle(MaxCutProblem.from_dict(graph), p, cached_target(spec))
    return _ORACLES[key]


def _local_value_and_grads(graphs: Sequence[dict], p: int, spec: str, thetas: np.ndarray):
    values, grads = [], []
    for graph, theta in zip(graphs, thetas):
        value, grad, _ = _noisy_oracle(graph, p, spec).value_and_grad(theta)
        values.append(value)
        grads.append(grad)
    return np.array(values), np.array(grads)


def _describe_unit(unit: dict) -> str:
    graph = unit.get("graph", {})
    return f"graph {graph.get('id')} on {unit.get('label', unit.get('backend'))}, init {unit.get('init')}, p={unit.get('p')}"


class RayExecutor:
    """Units as Ray tasks; noisy oracle calls on a pool of actors."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, actors: int | None = None):
        try:
            import ray
        except ImportError:
            raise ExecutorError("the ray executor needs Ray: pip install -e '.[ray]'") from None
        self._ray = ray
        self._started_here = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"ignore_reinit_error": True, "include_dashboard": False, "log_to_driver": False}
            if address:
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = num_cpus
                self._started_here = True
            ray.init(**kwargs)
        self._num_actors = actors
        self._pool: list | None = None
        self._run = ray.remote(max_retries=RAY_RETRIES, retry_exceptions=True)(_run_unit_task)

    @property
    def workers(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def map_units(self, fn: Callable[[dict], dict], units: Sequence[dict], advance: Callable[[], None] | None = None) -> list[dict]:
        ray = self._ray
        refs = {self._run.remote(fn, unit): i for i, unit in enumerate(units)}
        results: list[dict | None] = [None] * len(units)
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            ref = done[0]
            index = refs[ref]
            try:
                results[index] = ray.get(ref)
            except Exception as exc:  # every attempt failed
                for other in pending:
                    ray.cancel(other)
                raise ExecutorError(
                    f"unit {index} ({_describe_unit(units[index])}) failed after {RAY_RETRIES + 1} attempts: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            if advance:
                advance()
        return results  # type: ignore[return-value]

    def _actors(self):
        if self._pool is None:
            actor_cls = self._ray.remote(max_restarts=RAY_RETRIES, max_task_retries=RAY_RETRIES)(_OracleActor)
            self._pool = [actor_cls.remote() for _ in range(self._num_actors or self.workers)]
        return self._pool

    def value_and_grads(self, graphs: Sequence[dict], p: int, spec: str, thetas: np.ndarray):
        pool = self._actors()
        refs = [
            pool[_stable_index(graph, len(pool))].value_and_grad.remote(graph, p, spec, np.asarray(theta))
            for graph, theta in zip(graphs, thetas)
        ]
        out = self._ray.get(refs)
        return np.array([v for v, _ in out]), np.array([g for _, g in out])

    def shutdown(self) -> None:
        self._pool = None
        if self._started_here:
            self._ray.shutdown()


def _stable_index(graph: dict, k: int) -> int:
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps(graph, sort_keys=True).encode()).digest()
    return int.from_bytes(digest[:4], "little") % k


def _run_unit_task(fn: Callable[[dict], dict], unit: dict) -> dict:
    return fn(unit)


class _OracleActor:
    """Keeps targets, transpilations and noise models warm across meta-training steps."""

    def value_and_grad(self, graph: dict, p: int, spec: str, theta: np.ndarray):
        value, grad, _ = _noisy_oracle(graph, p, spec).value_and_grad(theta)
        return float(value), np.asarray(grad)


def check_executor(spec: Any, flag: str = "--executor") -> str:
    """``spec`` normalised if it names an executor (``local``, ``ray``, ``ray:ADDRESS``); nothing is started."""
    if spec is None:
        return "local"
    if not isinstance(spec, str) or not spec.strip():
        raise ExecutorError(f"{flag}: give local, ray or ray:ADDRESS, got {spec!r}")
    text = spec.strip()
    kind, colon, address = text.partition(":")
    if text != "local" and (kind != "ray" or (colon and not address.strip())):
        raise ExecutorError(f"{flag}: unknown executor {spec!r}; use local, ray or ray:ADDRESS")
    return text


def get_executor(spec: str | None = "local", **options: Any):
    """``local`` (default), ``ray`` (a local Ray instance) or ``ray:ADDRESS`` (an existing cluster)."""
    spec = (spec or "local").strip()
    if spec == "local":
        return LocalExecutor()
    kind, _, address = spec.partition(":")
    if kind != "ray":
        raise ExecutorError(f"unknown executor {spec!r}; use local, ray or ray:ADDRESS")
    return RayExecutor(address or None, **options)
