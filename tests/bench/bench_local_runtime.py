"""Runtime local mode: the reference path against the restricted-simulator path.

Run: ``python tests/bench/bench_local_runtime.py [--shots 2000] [--points 5] [--threshold]``

The case of issue 13: ``configs/graphs/torino11.json`` (``erdos_renyi(11, 23/55, seed=19,
connected=True)``: 11 nodes, 23 edges; on FakeTorino 11 active qubits and 100 CZ), QAOA
p = 1 at the fixed-angle point, ZNE with two-qubit folding at scale factors 1, 3, 5: one
job of 3 bound circuits x ``--shots`` shots. It prints, in one run:

* wall and CPU time of that job on ``local:torino`` through the reference path
  (``simulator="device"``: the fake backend as the Sampler mode), through the new
  path (cached restricted ``AerSimulator``; first job, then a warm job as in a run),
  and on ``fake:torino`` for comparison; the ratio reference / new;
* the agreement of each path's three estimates with the exact noisy values
  (``fake:torino`` density matrix with readout), in standard errors;
* the PUB batching: ``--points`` parameter points x 3 scale factors as one job with
  one PUB per circuit and with one PUB per scale factor (``--batch-graphs``: the 11-node
  graph and the 8-node ``er8`` of ``configs/graphs/demo.json``);
* with ``--threshold``: density matrix against statevector trajectories at 10-13
  active qubits (the ``max_density_qubits`` choice).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from backends import get_target
from backends.local import LocalRuntimeTarget
from hybrid.ansatz import qaoa_circuit
from hybrid.schedules import fixed_angle_params
from hybrid.oracle_factory import make_oracle
from hybrid.oracles import counts_statistics
from hybrid.problems import erdos_renyi, load_graphs

GRAPH = Path(__file__).resolve().parents[2] / "configs" / "graphs" / "torino11.json"
DEMO_GRAPHS = GRAPH.with_name("demo.json")
SEED = 2026
FD_STEP = 0.05


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def estimates(problem, counts):
    stats = [counts_statistics(problem, c) for c in counts]
    return [s["mean"] for s in stats], [s["stderr"] for s in stats]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=int, default=2000)
    ap.add_argument("--points", type=int, default=5, help="parameter points in the batching test")
    ap.add_argument("--threshold", action="store_true", help="also time density matrix vs trajectories")
    ap.add_argument("--threshold-sizes", default="10,11,12,13", help="graph sizes of the threshold test")
    ap.add_argument("--skip-reference", action="store_true", help="skip the slow reference path")
    ap.add_argument(
        "--batch-graphs", default="torino11,er8", help="graphs of the batching test (torino11, or ids in demo.json)"
    )
    args = ap.parse_args()

    problem = load_graphs(GRAPH)[0]
    theta = fixed_angle_params(problem, 1)
    new = get_target("local:torino")
    oracle = make_oracle(problem, 1, new, mitigation="zne", shots=args.shots, seed=SEED)
    circuits = oracle.circuits_for(theta)
    fake = get_target("fake:torino")
    exact_probs = fake.exact_isa_probabilities(circuits)
    exact = exact_probs @ problem.cut_values()

    info = new.describe()
    from backends.transpile import active_and_two_qubit

    active, cz = active_and_two_qubit(oracle.isa)
    print(
        f"graph {problem.id}: n={problem.n}, m={len(problem.edges)}; ISA on FakeTorino: "
        f"{len(active)} active qubits, {cz} CZ; ZNE scale factors {list(oracle.scales)} "
        f"(CZ per circuit {[active_and_two_qubit(c)[1] for c in circuits]}), {args.shots} shots each"
    )
    print(f"point theta = {np.round(theta, 4).tolist()}; exact noisy <C> per scale: {np.round(exact, 4).tolist()}")
    print(f"new path: {info['engine']}, simulator={info['simulator']}, method={info['method']}")
    print()

    rows = []
    if not args.skip_reference:
        ref = LocalRuntimeTarget("torino", simulator="device")
        res, wall, cpu = timed(lambda: ref.run_isa(circuits, args.shots, seed=SEED))
        rows.append(("local:torino reference (mode=FakeTorino)", res, wall, cpu))
    res, wall, cpu = timed(lambda: new.run_isa(circuits, args.shots, seed=SEED))
    rows.append(("local:torino new, first job (builds caches)", res, wall, cpu))
    res, wall, cpu = timed(lambda: new.run_isa(circuits, args.shots, seed=SEED + 1))
    rows.append(("local:torino new, warm job", res, wall, cpu))
    fake.run_isa(circuits, args.shots, seed=SEED)  # warm the fake target's caches
    res, wall, cpu = timed(lambda: fake.run_isa(circuits, args.shots, seed=SEED + 2))
    rows.append(("fake:torino (exact DM + multinomial), warm", res, wall, cpu))

    print(f"{'path':46s} {'wall s':>8s} {'CPU s':>8s} {'method':>15s}  z = (estimate - exact) / stderr at 1, 3, 5")
    for label, res, wall, cpu in rows:
        means, errs = estimates(problem, res.counts)
        z = [(m - e) / s for m, e, s in zip(means, exact, errs)]
        method = res.metadata.get("method", "")
        print(f"{label:46s} {wall:8.2f} {cpu:8.2f} {method:>15s}  " + "  ".join(f"{v:+.2f}" for v in z))
    if not args.skip_reference:
        ref_wall, ref_cpu = rows[0][2], rows[0][3]
        for label, _, wall, cpu in rows[1:3]:
            print(f"ratio reference / {label.split(', ')[1]}: wall {ref_wall / wall:.1f}x, CPU {ref_cpu / cpu:.1f}x")
    print("estimates, mean cut +- stderr at scale 1, 3, 5:")
    for label, res, _, _ in rows:
        means, errs = estimates(problem, res.counts)
        print(f"  {label:44s} " + "  ".join(f"{m:.3f} +- {e:.3f}" for m, e in zip(means, errs)))
    print()

    # PUB batching: several points x 3 scale factors in one job, at 11 and at 8 qubits.
    rng = np.random.default_rng(SEED)
    unbatched = LocalRuntimeTarget("torino", batch_pubs=False)
    for name in args.batch_graphs.split(","):
        pr = problem if name == problem.id else next(g for g in load_graphs(DEMO_GRAPHS) if g.id == name)
        orc = oracle if pr is problem else make_oracle(pr, 1, new, mitigation="zne", shots=args.shots, seed=SEED)
        x0 = fixed_angle_params(pr, 1)
        points = x0 + FD_STEP * rng.standard_normal((args.points, x0.size))
        many = [c for row in points for c in orc.circuits_for(row)]
        new.run_isa(many[:1], args.shots, seed=SEED)  # warm caches for both
        unbatched.run_isa(many[:1], args.shots, seed=SEED)
        for label, target in (("one PUB per circuit", unbatched), ("one PUB per structure", new)):
            res, wall, cpu = timed(lambda: target.run_isa(many, args.shots, seed=SEED))
            print(
                f"batching {pr.id} (n={pr.n}), {len(many)} circuits ({args.points} points x "
                f"{len(orc.scales)} scales): {label:22s} {res.metadata['pubs']:3d} PUBs  "
                f"wall {wall:6.2f} s  CPU {cpu:6.2f} s"
            )

    if args.threshold:
        print()
        print("density matrix vs statevector trajectories (p = 1 QAOA, one circuit, forced method):")
        for n in (int(v) for v in args.threshold_sizes.split(",")):
            pr = erdos_renyi(n, 0.35, seed=SEED, connected=True)
            circuit = qaoa_circuit(pr, 1)
            x = fixed_angle_params(pr, 1)
            line = []
            for method in ("density_matrix", "statevector"):
                t = LocalRuntimeTarget("torino", method=method)
                t.sample(circuit, x, 16, seed=SEED)  # transpile + cache
                res, wall, cpu = timed(lambda: t.sample(circuit, x, args.shots, seed=SEED))
                line.append(f"{method} {wall:6.2f} s (CPU {cpu:6.2f})")
            k = len(active_and_two_qubit(t.isa_circuit(circuit))[0])
            print(f"  n={n:2d}, {k:2d} active qubits: " + "   ".join(line))


if __name__ == "__main__":
    main()
