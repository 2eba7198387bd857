"""The paper benchmark (arXiv:2512.05058): 90 test graphs, Phase I then Phase II, ideal, p = 1.

For every method the Phase I output (the Phase II start) is scored exactly, then
Phase II runs with the paper's protocol (SGD, lr 1e-3, at most 300 steps, stop at
``|dE| <= 1e-6``) and with Adam. Baselines: the best constant fitted on the
training distribution, the fixed-angle formula, truly random starts. The paper's
own numbers (recomputed from its stored outputs) are printed beside ours.

Also: learned vs fitted constant on graph families never seen in training, and
the learned start against TQA and fixed-angle/INTERP at p = 2, 3.

``hybrid paper-benchmark`` is a run in the ledger (``spec["kind"] == "paper-benchmark"``,
registered by :func:`start_paper_benchmark` before anything runs), recorded at the cell
level (ideal simulation only, no hardware job): the fitted constant, each (method, graph)
of p = 1 (Phase I value, both Phase II runs), each depth's comparison and each unseen
family are one result each, written the moment they finish. ``hybrid jobs resume RUN_ID``
takes those from the ledger and computes the rest: the same report (wall time aside).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .oracles import ideal_oracle
from .strategies.fit import fit_constant
from .optimize import descend
from .device_graphs import load_graphs
from .problems import MaxCutProblem, erdos_renyi, paper_dataset, regular_graph
from .schedules import denormalise, fixed_angle_params, random_params, tqa_params

#: Paper Phase II protocol.
SGD_LR, MAX_STEPS, TOL = 1e-3, 300, 1e-6
#: Our Adam rate for the same budget and stopping rule.
ADAM_LR = 0.02
#: Random starts per graph for the random baseline.
RANDOM_STARTS = 5
#: Training distribution used to fit the constant baseline (as the models', smaller).
CONSTANT_FIT_PER_NK = 8
CHECKPOINT_ITERS = (0, 10, 50, 100, 300)

#: The ledger kind of a ``hybrid paper-benchmark`` run.
PAPER_KIND = "paper-benchmark"

PAPER_METHODS = {"LSTM": "paper LSTM", "QK": "paper QK-LSTM", "QLSTM": "paper QLSTM", "FWP": "paper QFWP"}


#: The paper's 90 test graphs and reference results, shipped inside the package (see its README.md).
PAPER_DATA_DIR = Path(__file__).resolve().parent / "data" / "paper"


def default_paths() -> tuple[Path, Path]:
    """The paper's graph and reference files shipped as package data (``hybrid/data/paper/``)."""
    graphs, reference = PAPER_DATA_DIR / "paper_maxcut_graphs.json", PAPER_DATA_DIR / "paper_reference_results.json"
    if not graphs.is_file() or not reference.is_file():
        raise FileNotFoundError(
            f"the package's paper benchmark files are missing from {PAPER_DATA_DIR} (a broken install: reinstall "
            "hybrid-qaoa); or pass --graphs and --reference"
        )
    return graphs, reference


@dataclass
class MethodRun:
    name: str
    ar_phase1: np.ndarray  # (G,)
    phase1_evaluations: int
    sgd_ar: dict[int, np.ndarray]
    sgd_iters: np.ndarray
    adam_ar: dict[int, np.ndarray]
    adam_iters: np.ndarray


def constant_baseline(p: int = 1, seed: int = 0) -> np.ndarray:
    train = paper_dataset(ns=range(6, 10), per_nk=CONSTANT_FIT_PER_NK, seed=seed)
    return fit_constant(train, p=p, restarts=6, seed=seed)


def learned_starts(spec: str, problems: Sequence[MaxCutProblem], p: int) -> tuple[list[np.ndarray], int]:
    from .meta import load_pretrained, phase_one

    model, cfg, _ = load_pretrained(spec, p)
    thetas = []
    for pr in problems:
        oracle = ideal_oracle(pr, p)
        thetas.append(phase_one(model, cfg, pr, lambda theta: oracle.evaluate(theta).energies[0]).theta)
    return thetas, cfg.steps


def graph_run(pr: MaxCutProblem, theta: np.ndarray, phase2: bool = True) -> dict[str, Any]:
    """One graph of one method: the start's ideal AR, then Phase II with SGD (paper) and Adam (plain data)."""
    oracle = ideal_oracle(pr, len(theta) // 2)
    row: dict[str, Any] = {"ar_phase1": pr.approximation_ratio(float(oracle.evaluate(theta).energies[0]))}
    if phase2:
        for opt, lr in (("sgd", SGD_LR), ("adam", ADAM_LR)):
            res = descend(oracle, theta, optimizer=opt, lr=lr, max_steps=MAX_STEPS, tol=TOL)
            row[f"{opt}_ar"] = {str(k): float(pr.approximation_ratio(res.energy_after(k))) for k in CHECKPOINT_ITERS}
            row[f"{opt}_iters"] = int(res.steps)
    return row


def method_run(name: str, rows: Sequence[dict[str, Any]], evals: int) -> MethodRun:
    """A :class:`MethodRun` from the per-graph rows of :func:`graph_run`."""
    run = [r for r in rows if "sgd_ar" in r]
    ar = lambda opt: {k: np.array([r[f"{opt}_ar"][str(k)] for r in run]) for k in CHECKPOINT_ITERS}  # noqa: E731
    its = lambda opt: np.array([r[f"{opt}_iters"] for r in run])  # noqa: E731
    return MethodRun(name, np.array([r["ar_phase1"] for r in rows]), evals, ar("sgd"), its("sgd"), ar("adam"), its("adam"))


def _compute(key: str, compute: Callable[[], Any]) -> Any:
    return compute()


def paper_rows(reference: dict[str, Any], ids: Sequence[int]) -> dict[str, dict[str, np.ndarray]]:
    graphs = {g["id"]: g for g in reference["graphs"]}
    rows = {}
    for method, label in {**PAPER_METHODS, "QAOA_Random_1": "paper random 1", "QAOA_Random_2": "paper random 2"}.items():
        ms = [graphs[i]["methods"][method] for i in ids]
        rows[label] = {
            "ar_phase1": np.array([m["ar_phase1"] if m["ar_phase1"] is not None else m["ar_iter0"] for m in ms]),
            "ar_final": np.array([m["ar_iter300"] for m in ms]),
            "iters": np.array([m["iters_to_converge"] for m in ms]),
        }
    rows["per-graph optimum"] = {"ar_phase1": np.array([graphs[i]["p1_optimum"]["ar"] for i in ids])}
    return rows


def paper_benchmark(
    models: Sequence[str] = ("learned",),
    *,
    graphs_path: str | Path | None = None,
    reference_path: str | Path | None = None,
    seed: int = 0,
    limit: int | None = None,
    depths: Sequence[int] = (2, 3),
    families: bool = True,
    log: Callable[[str], None] = print,
    cells: Callable[[str, Callable[[], Any]], Any] = _compute,
) -> dict[str, Any]:
    """Run everything and return a JSON-able report (also used by ``hybrid paper-benchmark``).

    ``cells(key, compute)`` (a :class:`hybrid.ledger.sweeps.Cells`) records each cell and
    returns a recorded one instead of computing it again.
    """
    torch.set_num_threads(1)
    if graphs_path is None or reference_path is None:
        g_default, r_default = default_paths()
        graphs_path = graphs_path or g_default
        reference_path = reference_path or r_default
    problems = [pr.with_max_cut() for pr in load_graphs(graphs_path)]
    if limit:
        problems = problems[:limit]
    reference = json.loads(Path(reference_path).read_text())
    started = time.perf_counter()
    report: dict[str, Any] = {"graphs": str(graphs_path), "num_graphs": len(problems), "p1": {}, "depths": {}, "families": {}}

    def per_graph(name: str, start_of: Callable[[int, MaxCutProblem], np.ndarray],
                  evals: Callable[[], int] = lambda: 0) -> MethodRun:
        rows = [cells(f"p1|{name}|{i}:{pr.id}",
                      lambda i=i, pr=pr: {**graph_run(pr, start_of(i, pr)), "phase1_evaluations": evals()})
                for i, pr in enumerate(problems)]
        return method_run(name, rows, rows[0]["phase1_evaluations"] if rows else 0)

    constant = np.asarray(cells("constant|p1", lambda: constant_baseline(1, seed).tolist()), float)
    report["constant_p1"] = constant.tolist()
    runs: list[MethodRun] = []
    for spec in models:  # the model loads only when one of its cells runs
        runs.append(per_graph(spec, lambda i, pr, spec=spec: learned_starts(spec, [pr], 1)[0][0],
                              lambda spec=spec: load_pretrained_steps(spec, 1)))
        log(f"  {spec}: Phase I mean AR {runs[-1].ar_phase1.mean():.4f}")
    runs.append(per_graph("fitted constant", lambda i, pr: denormalise(constant, pr)))
    runs.append(per_graph("fixed-angle formula", lambda i, pr: fixed_angle_params(pr, 1)))
    rng = np.random.default_rng(seed)
    draws = [[random_params(pr, 1, rng) for pr in problems] for _ in range(RANDOM_STARTS)]  # the original order
    rand_runs = [per_graph(f"random#{r}", lambda i, pr, r=r: draws[r][i]) for r in range(RANDOM_STARTS)]
    runs.append(_average_runs(f"random (mean of {RANDOM_STARTS} starts)", rand_runs))
    paper = paper_rows(reference, [pr.id for pr in problems])

    for n in sorted({pr.n for pr in problems}) + ["all"]:
        report["p1"][str(n)] = p1_table(runs, paper, np.array([n == "all" or pr.n == n for pr in problems]))

    for p in depths:
        report["depths"][str(p)] = cells(f"depth|p{p}", lambda p=p: depth_comparison(models[0], problems, p, constant=None))
        log(f"  p={p}: " + ", ".join(f"{k} {v:.4f}" for k, v in report["depths"][str(p)].items() if k != "learned_error"))
    if families:
        report["families"] = family_comparison(models[0], constant, seed=seed, cells=cells)
    report["wall_time"] = time.perf_counter() - started
    return report


def p1_table(runs: Sequence[MethodRun], paper: dict[str, dict[str, np.ndarray]], mask: np.ndarray) -> dict[str, Any]:
    """The p = 1 table of the graphs in ``mask``: each method's Phase I and Phase II means, and the paper's."""
    table = {}
    for run in runs:
        table[run.name] = {
            "ar_phase1": float(run.ar_phase1[mask].mean()),
            "phase1_evaluations": run.phase1_evaluations,
            "sgd_ar": {str(k): float(v[mask].mean()) for k, v in run.sgd_ar.items()},
            "sgd_iters_mean": float(run.sgd_iters[mask].mean()),
            "sgd_iters_median": float(np.median(run.sgd_iters[mask])),
            "adam_ar": {str(k): float(v[mask].mean()) for k, v in run.adam_ar.items()},
            "adam_iters_mean": float(run.adam_iters[mask].mean()),
            "adam_iters_median": float(np.median(run.adam_iters[mask])),
        }
    for label, row in paper.items():
        entry = {"ar_phase1": float(row["ar_phase1"][mask].mean())}
        if "ar_final" in row:
            entry["sgd_ar"] = {"300": float(row["ar_final"][mask].mean())}
            entry["sgd_iters_mean"] = float(row["iters"][mask].mean())
            entry["sgd_iters_median"] = float(np.median(row["iters"][mask]))
        table[label] = entry
    return table


def validate_paper_benchmark(models: Sequence[str] = ("learned",), run_id: str = "", *,
                             graphs_path: str | Path | None = None, reference_path: str | Path | None = None,
                             seed: int = 0, limit: int | None = None, depths: Sequence[int] = (2, 3),
                             families: bool = True, out: str | Path | None = None) -> tuple[dict[str, Any], str]:
    """Every check the paper benchmark can fail, before the ledger is opened: ``(spec, target label)``.

    The run id, the graphs, the reference, every model, and ``out``: a new file (a user's file
    is never replaced).
    """
    from . import outputs
    from .meta import load_pretrained

    outputs.check_run_id(run_id)
    if not models:
        raise ValueError("--models must name at least one model, e.g. learned")
    if graphs_path is None or reference_path is None:
        g_default, r_default = default_paths()
        graphs_path, reference_path = graphs_path or g_default, reference_path or r_default
    for flag, path in (("--graphs", graphs_path), ("--reference", reference_path)):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{flag}: {path} does not exist or is not a file")
    load_graphs(graphs_path)
    for spec in models:
        load_pretrained(spec, 1)
    if out is not None:
        outputs.check_new_file(out, run_id, flag="--out")
    spec = {"kind": PAPER_KIND, "models": list(models), "graphs_path": str(Path(graphs_path).resolve()),
            "reference_path": str(Path(reference_path).resolve()), "seed": seed, "limit": limit,
            "depths": [int(d) for d in depths], "families": families,
            "out": None if out is None else str(Path(out).resolve())}
    return spec, f"{PAPER_KIND}:ideal"


def start_paper_benchmark(ledger, models: Sequence[str] = ("learned",), run_id: str | None = None,
                          **options: Any) -> str:
    """Validate (:func:`validate_paper_benchmark`) and register the benchmark in ``ledger``; nothing runs yet."""
    from .ledger import new_run_id

    run_id = run_id or new_run_id()
    spec, label = validate_paper_benchmark(models, run_id, **options)
    return ledger.create_run(spec, label, run_id=run_id)


def execute_paper_benchmark(ledger, run_id: str, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or resume) the paper benchmark ``run_id``; recorded cells come from the ledger.

    Writes the report to the run's ``out`` (when it has one) and returns it with ``kind``
    and ``out``; a finished run is assembled from its cells, nothing computed again.
    """
    from . import outputs
    from .ledger.sweeps import Cells, drive

    spec = ledger.run(run_id)["spec"]
    args = dict(models=spec["models"], graphs_path=spec["graphs_path"], reference_path=spec["reference_path"],
                seed=spec["seed"], limit=spec["limit"], depths=spec["depths"], families=spec["families"], log=log)

    def already_done(record: dict[str, Any]) -> dict[str, Any]:  # assembled from its recorded cells
        return {**paper_benchmark(**args, cells=Cells(ledger, run_id)), "run_id": run_id, "kind": PAPER_KIND,
                "out": spec["out"], "already_done": True}

    def execute(record: dict[str, Any]) -> dict[str, Any]:
        report = {"run_id": run_id, **paper_benchmark(**args, cells=Cells(ledger, run_id))}
        if spec["out"]:
            outputs.write_json(outputs.check_new_file(spec["out"], run_id, flag="--out"), report)
        return {**report, "kind": PAPER_KIND, "out": spec["out"]}

    return drive(ledger, run_id, PAPER_KIND, execute, already_done)


def load_pretrained_steps(spec: str, p: int) -> int:
    """Phase I evaluations of a model (its proposal steps)."""
    from .meta import load_pretrained

    return int(load_pretrained(spec, p)[1].steps)


def _average_runs(name: str, runs: Sequence[MethodRun]) -> MethodRun:
    mean = lambda xs: np.mean(np.stack(xs), axis=0)  # noqa: E731
    return MethodRun(
        name,
        mean([r.ar_phase1 for r in runs]),
        0,
        {k: mean([r.sgd_ar[k] for r in runs]) for k in CHECKPOINT_ITERS},
        mean([r.sgd_iters for r in runs]),
        {k: mean([r.adam_ar[k] for r in runs]) for k in CHECKPOINT_ITERS},
        mean([r.adam_iters for r in runs]),
    )


def depth_comparison(spec: str, problems: Sequence[MaxCutProblem], p: int, constant=None) -> dict[str, float]:
    """Mean ideal AR of the Phase II start at depth p: learned vs TQA vs fixed-angle/INTERP."""
    out = {}
    try:
        starts, _ = learned_starts(spec, problems, p)
        out["learned"] = _mean_ar(problems, starts)
    except ValueError as exc:  # no shipped model for this depth
        out["learned"] = float("nan")
        out["learned_error"] = str(exc)  # type: ignore[assignment]
    out["tqa"] = _mean_ar(problems, [tqa_params(pr, p) for pr in problems])
    out["fixed+interp"] = _mean_ar(problems, [fixed_angle_params(pr, p) for pr in problems])
    return out


def _mean_ar(problems: Sequence[MaxCutProblem], thetas: Sequence[np.ndarray]) -> float:
    return float(np.mean([pr.approximation_ratio(ideal_oracle(pr, len(t) // 2).evaluate(t).energies[0]) for pr, t in zip(problems, thetas)]))


def unseen_families(seed: int = 0) -> dict[str, list[MaxCutProblem]]:
    rng = np.random.default_rng(seed + 991)
    return {
        "3-regular n=10..16": [regular_graph(n, 3, seed=rng) for n in (10, 12, 14, 16) for _ in range(5)],
        "weighted ER n=10..14": [erdos_renyi(n, 0.4, seed=rng, weights="uniform:0.2,1.0") for n in (10, 12, 14) for _ in range(6)],
        "sparse ER n=18": [erdos_renyi(18, 3 / 18, seed=rng, connected=False) for _ in range(10)],
    }


def family_comparison(spec: str, constant: np.ndarray, seed: int = 0,
                      cells: Callable[[str, Callable[[], Any]], Any] = _compute) -> dict[str, dict[str, float]]:
    out = {}
    for name, graphs in unseen_families(seed).items():
        out[name] = cells(f"family|{name}", lambda graphs=graphs: _family_row(spec, constant, graphs))
    return out


def _family_row(spec: str, constant: np.ndarray, graphs: Sequence[MaxCutProblem]) -> dict[str, float]:
    graphs = [g.with_max_cut() for g in graphs]
    learned, _ = learned_starts(spec, graphs, 1)
    return {
        "learned": _mean_ar(graphs, learned),
        "fitted constant": _mean_ar(graphs, [denormalise(constant, g) for g in graphs]),
        "fixed-angle formula": _mean_ar(graphs, [fixed_angle_params(g, 1) for g in graphs]),
    }


def render_report(report: dict[str, Any], console) -> None:
    """Print the benchmark report as rich tables (one per n, then depths and families)."""
    from rich.table import Table

    fmt = lambda x: "-" if x is None else f"{x:.4f}"  # noqa: E731
    fit = lambda x: "-" if x is None else f"{x:.0f}"  # noqa: E731
    for n, table in report["p1"].items():
        t = Table(title=f"p = 1, n = {n} ({'all 90 graphs' if n == 'all' else 'paper test graphs'}), ideal")
        for col in ("method", "AR Phase I", "evals I", "SGD AR@10", "SGD AR@300", "SGD iters mean", "median", "Adam AR@300", "Adam iters median"):
            t.add_column(col, justify="right" if col != "method" else "left")
        for name, row in table.items():
            sgd = row.get("sgd_ar", {})
            adam = row.get("adam_ar", {})
            t.add_row(
                name,
                fmt(row.get("ar_phase1")),
                str(row.get("phase1_evaluations", "-")),
                fmt(sgd.get("10")),
                fmt(sgd.get("300")),
                fit(row.get("sgd_iters_mean")),
                fit(row.get("sgd_iters_median")),
                fmt(adam.get("300")),
                fit(row.get("adam_iters_median")),
            )
        console.print(t)
    if report.get("depths"):
        t = Table(title="p > 1: mean AR of the Phase II start, paper graphs, ideal")
        t.add_column("p")
        for col in ("learned", "tqa", "fixed+interp"):
            t.add_column(col, justify="right")
        for p, row in report["depths"].items():
            t.add_row(p, fmt(row.get("learned")), fmt(row.get("tqa")), fmt(row.get("fixed+interp")))
        console.print(t)
    if report.get("families"):
        t = Table(title="p = 1, unseen graph families: mean AR of the Phase II start")
        t.add_column("family")
        for col in ("learned", "fitted constant", "fixed-angle formula"):
            t.add_column(col, justify="right")
        for fam, row in report["families"].items():
            t.add_row(fam, fmt(row["learned"]), fmt(row["fitted constant"]), fmt(row["fixed-angle formula"]))
        console.print(t)
    console.print(f"fitted constant (gamma, beta): {report.get('constant_p1')}; wall time {report.get('wall_time', 0):.0f} s")
