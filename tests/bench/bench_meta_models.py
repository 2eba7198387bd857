"""Benchmark: learned Phase I on the families' validation split, with the feedback ablation.

Run:  python tests/bench/bench_meta_models.py --p 3 --models learned,runs/meta_p3/seed0/best.pt [--ceiling]

For each model (``learned``, ``learned:NAME`` or a ``.pt`` path) at depth p, on
``--per-family`` graphs of each family of the "validation" split (n = 10..12), with
``--shots`` shots per evaluation (sampled costs, one noise seed for every model),
prints the exact AR of:

* ``start``: the episode's start point (fixed angles, INTERP-grown for p > 1);
* ``first``: the first proposal (what a pure regressor would return);
* ``best@k``: the best measured of the first k proposals, k = 1, 3, 5, 10 (what Phase I returns);
* ``const@10``: the same with a constant cost fed back (the feedback ablation);

then the same per family. ``--ceiling`` adds a local optimum per graph (Adam on the
exact statevector, started from every model's best proposal and from the start;
the best of these), so the ARs can be read against what depth p reaches.
Not collected by pytest.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from hybrid.oracles import StackedIdealOracle  # noqa: E402
from hybrid.families import split_graphs  # noqa: E402
from hybrid.meta.episode import _noise_generator  # noqa: E402
from hybrid.meta import (  # noqa: E402
    EpisodeOracle,
    load_pretrained,
    param_scale,
    rollout,
    start_params,
)

BUDGETS = (1, 3, 5, 10)
NOISE_SEED = 0
CEILING_STEPS = 300
CEILING_LR = 0.02


def ceiling(graphs, p: int, starts: list[torch.Tensor]) -> np.ndarray:
    """Best local optimum (exact AR) per graph over Adam runs from each ``(G, 2p)`` start (actual angles)."""
    oracle = StackedIdealOracle(graphs, p)
    max_cut = torch.tensor([g.max_cut for g in graphs], dtype=torch.float64)
    best = torch.full((len(graphs),), -np.inf, dtype=torch.float64)
    for theta0 in starts:
        theta = theta0.clone().double().requires_grad_(True)
        opt = torch.optim.Adam([theta], lr=CEILING_LR)
        for _ in range(CEILING_STEPS):
            opt.zero_grad()
            (-oracle.expectation(theta).sum()).backward()
            opt.step()
        with torch.no_grad():
            best = torch.maximum(best, oracle.expectation(theta) / max_cut)
    return best.numpy()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--p", type=int, default=1)
    ap.add_argument("--models", default="learned")
    ap.add_argument("--per-family", type=int, default=6)
    ap.add_argument("--shots", type=int, default=1000)
    ap.add_argument("--ceiling", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    graphs = split_graphs("validation", args.per_family)
    families = [g.meta["family"] for g in graphs]
    names = sorted(set(families), key=families.index)
    shots = args.shots or None
    rows, starts = [], []
    for spec in [m.strip() for m in args.models.split(",") if m.strip()]:
        t0 = time.perf_counter()
        model, cfg, _ = load_pretrained(spec, args.p)
        oracle = EpisodeOracle(graphs, cfg.p)
        with torch.no_grad():
            real = rollout(model, graphs, oracle, cfg, shots=shots, generator=_noise_generator(NOISE_SEED, "cpu"))
            flat = rollout(
                model, graphs, oracle, cfg, shots=shots, generator=_noise_generator(NOISE_SEED, "cpu"),
                constant_feedback=real.measured.mean(0),
            )
            max_cut = torch.tensor([g.max_cut for g in graphs], dtype=torch.float64)
            x0 = start_params(graphs, cfg.p, cfg.start)
            start = (oracle(x0 / param_scale(graphs, cfg.p)) / max_cut).numpy()
        best = real.best_ratios().numpy()
        idx = np.array([int(np.argmax(real.measured[:, g].numpy())) for g in range(len(graphs))])
        starts.append(real.params[idx, np.arange(len(graphs))].detach().double() / param_scale(graphs, cfg.p))
        starts.append(x0 / param_scale(graphs, cfg.p))
        cols = {"start": start, "first": real.ratios[0].numpy()}
        cols.update({f"best@{k}": best[min(k, best.shape[0]) - 1] for k in BUDGETS})
        cols["const@10"] = flat.best_ratios().numpy()[-1]
        rows.append((spec, cols, time.perf_counter() - t0))
    ceil = ceiling(graphs, args.p, starts) if args.ceiling else None
    header = ["model"] + list(rows[0][1]) + (["ceiling"] if ceil is not None else [])
    print(f"p = {args.p}, {len(graphs)} validation graphs ({args.per_family} per family), shots {shots}")
    print(" | ".join(header))
    for spec, cols, _ in rows:
        vals = [f"{float(np.mean(v)):.4f}" for v in cols.values()]
        print(" | ".join([spec] + vals + ([f"{ceil.mean():.4f}"] if ceil is not None else [])))
    for fam in names:
        mask = np.array([f == fam for f in families])
        print(f"-- {fam}")
        for spec, cols, _ in rows:
            vals = [f"{float(np.mean(v[mask])):.4f}" for v in cols.values()]
            print(" | ".join([spec] + vals + ([f"{ceil[mask].mean():.4f}"] if ceil is not None else [])))


if __name__ == "__main__":
    main()
