"""The paper's graphs and reference results ship inside the package: benchmarks work from a fresh clone."""

from __future__ import annotations

import json
from pathlib import Path

import hybrid
from hybrid.paper_benchmark import PAPER_DATA_DIR, default_paths
from hybrid.benchmark import QUICK, slice_graphs
from hybrid.problems import load_graphs

PAPER_GRAPHS = 90


def test_the_paper_files_are_package_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing is looked up beside the working directory
    graphs, reference = default_paths()
    package = Path(hybrid.__file__).resolve().parent
    assert graphs.parent == reference.parent == PAPER_DATA_DIR == package / "data" / "paper"
    problems = load_graphs(graphs)  # every max_cut in the file is checked on load
    assert len(problems) == PAPER_GRAPHS and all(p.max_cut_source == "exact" for p in problems)
    assert isinstance(json.loads(reference.read_text()), (dict, list))
    pyproject = (package.parent / "pyproject.toml").read_text()
    assert '"data/paper/*.json"' in pyproject


def test_the_quick_benchmark_finds_its_paper_graphs_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = [g for sl in QUICK.slices for name, g in slice_graphs(sl) if name == "paper90"]
    assert found and all(g.max_cut is not None for g in found)
