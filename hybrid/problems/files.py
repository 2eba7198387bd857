"""Problem files: JSON lists of graphs, QUBOs and Ising problems (read and checked), and their writing.

A file is a JSON list of objects (or ``{"graphs": [...]}``, or one object), each one of

* a graph, in the format of ``shared/benchmarks/paper_maxcut_graphs.json``: ``id``, ``n``,
  ``edges`` (``[[u, v, w], ...]``), optionally ``max_cut``, and for Ising problems written as
  cuts ``fields``, ``offset``, ``sense`` (what :meth:`MaxCutProblem.to_dict` writes);
* a QUBO: ``{"id", "qubo": [[...], ...], "linear", "constant", "sense"}``;
* an Ising problem: ``{"id", "ising": {"J": [[u, v, J], ...], "h": [...], "constant"}}``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from .core import DEVICE_SPEC_PREFIX, ISING_KEYS, MaxCutProblem, ProblemError, check_max_cut
from .ising import from_dict as ising_from_dict


def problem_from_dict(data: Any, where: str = "graph") -> MaxCutProblem:
    """One object of a problem file: a graph (:meth:`MaxCutProblem.from_dict`), a QUBO or an Ising problem."""
    if isinstance(data, dict) and any(key in data for key in ISING_KEYS):
        return ising_from_dict(data, where)
    return MaxCutProblem.from_dict(data, where=where)


def load_graphs(path: str | Path) -> list[MaxCutProblem]:
    """Read a graph file: a JSON list of graph objects (or ``{"graphs": [...]}``, or one object).

    Graph specs that name a device (``heavyhex:DEVICE...``) are resolved above the
    backends, by :func:`hybrid.device_graphs.load_graphs`.
    """
    if str(path).startswith(DEVICE_SPEC_PREFIX):
        raise ProblemError(
            f"{str(path)!r} is a device graph spec, not a file; resolve it with hybrid.device_graphs.load_graphs"
        )
    path = Path(path)
    if not path.exists():
        raise ProblemError(f"graph file {str(path)!r} does not exist")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProblemError(f"{path}: not a JSON graph file ({exc}); expected a list of {{'n', 'edges'}} objects") from exc
    if isinstance(data, dict) and "graphs" in data:
        data = data["graphs"]
    elif isinstance(data, dict) and any(key in data for key in ("edges",) + ISING_KEYS):
        data = [data]
    if not isinstance(data, list) or not data:
        raise ProblemError(f"{path}: expected a non-empty JSON list of graph objects with 'n' and 'edges'")
    problems = []
    for k, item in enumerate(data):
        problem = problem_from_dict(item, where=f"{path.name}[{k}]")
        check_max_cut(problem, where=f"{path}[{k}]")
        if problem.id is None:
            problem = replace(problem, id=k)
        problems.append(problem)
    return problems


def save_graphs(problems: Sequence[MaxCutProblem], path: str | Path) -> Path:
    """Write problems in the benchmark JSON format (one object per line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ",\n".join(json.dumps(p.to_dict()) for p in problems)
    path.write_text("[\n" + lines + "\n]\n")
    return path
