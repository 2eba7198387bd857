"""Every bad input is stopped at the door: non-zero exit, one line, no traceback, ledger untouched.

The table runs through the real CLI in one subprocess (``tests/cli_batch.py``, so the
imports are paid once); a few cases that depend on process boundaries (stdin that is not
a terminal, a mistyped ledger path) also run as their own subprocesses.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hybrid.ledger import Ledger
from hybrid.problems import erdos_renyi, regular_graph, save_graphs
from hybrid.runs import RunConfig, execute_run, start_run

HERE = Path(__file__).resolve().parents[1]
SEED = 5
BATCH_TIMEOUT_S = 400
SINGLE_TIMEOUT_S = 120
#: Memory limit for the estimates, so that the size cases fail the same way on any machine.
MEMORY_LIMIT_GB = "8"
MIN_CASES = 50
DONE_RUN = "done-run"


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QISKIT_IBM")}
    env.update(
        PYTHONPATH=str(HERE.parent) + os.pathsep + env.get("PYTHONPATH", ""),
        HYBRID_MAX_MEMORY_GB=MEMORY_LIMIT_GB,
        HYBRID_LEDGER=str(tmp / "ledger.db"),
        OMP_NUM_THREADS="1",
        HOME=str(tmp / "home"),  # no saved IBM account
        COLUMNS="200",
    )
    return env


def _graph_file(path: Path, text: str, write: bool) -> str:
    if write:
        path.write_text(text)
    return str(path)


def _edges(n: int, weight) -> str:
    return json.dumps([{"id": "w", "n": n, "edges": [[0, 1, weight], [1, 2, 1.0], [0, 2, 1.0]]}])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A folder with good and bad inputs and a ledger that holds one finished run."""
    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "home").mkdir()
    good = save_graphs(
        [erdos_renyi(4, 0.8, seed=SEED, id="a").with_max_cut(), regular_graph(4, 3, seed=SEED, id="b").with_max_cut()],
        tmp / "good.json",
    )
    save_graphs([regular_graph(8, 3, seed=SEED, id="n8")], tmp / "n8.json")
    save_graphs([regular_graph(20, 3, seed=SEED, id="n20")], tmp / "n20.json")
    save_graphs([regular_graph(30, 3, seed=SEED, id="n30")], tmp / "n30.json")
    save_graphs([regular_graph(22, 3, seed=SEED, id="n22")], tmp / "n22.json")
    save_graphs([regular_graph(24, 3, seed=SEED, id="n24")], tmp / "n24.json")
    ledger = tmp / "ledger.db"
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        cfg = RunConfig(graphs=str(good), backend="ideal", init="fixed", optimizer="adam:1", out=str(tmp / "taken"))
        with Ledger(ledger) as led:
            execute_run(led, start_run(cfg, led, DONE_RUN))
    finally:
        os.chdir(cwd)
    data = ledger.read_bytes()
    (tmp / "truncated.db").write_bytes(data[: len(data) // 2])
    (tmp / "readonly.db").write_bytes(data)
    (tmp / "readonly.db").chmod(0o444)
    (tmp / "afile").write_text("x")
    (tmp / "zero.db").write_bytes(b"")
    (tmp / "garbage.db").write_bytes(b"definitely not sqlite " * 200)
    (tmp / "ledgerdir").mkdir()
    (tmp / "meta").mkdir()
    (tmp / "meta" / "checkpoint.pt").write_bytes(b"an earlier training run")
    (tmp / "meta.yaml").write_text(f"out: {tmp / 'meta'}\n")
    (tmp / "unknown.yaml").write_text(f"graphs: {good}\noptimiser: adam:3\n")
    (tmp / "badyaml.yaml").write_text("graphs: [unclosed\n")
    (tmp / "list.yaml").write_text("- 1\n- 2\n")
    (tmp / "lr.yaml").write_text(f"graphs: {good}\nbackend: ideal\nlr: -1\n")
    (tmp / "tol.yaml").write_text(f"graphs: {good}\nbackend: ideal\ntol: .nan\n")
    (tmp / "maxev.yaml").write_text(f"graphs: {good}\nbackend: ideal\nmax_evaluations: 0\n")
    (tmp / "spec_seed.yaml").write_text(f"graphs: {good}\nbackend: ideal\nseed: -4\n")
    (tmp / "spec_plus.yaml").write_text(f"graphs: {good}\nbackend: fake:manila+zne+bogus\n")
    (tmp / "spec_opts.yaml").write_text(f"graphs: {good}\nbackend: fake:manila\noptions: {{warp: 9}}\n")
    return tmp


def _cases(t: Path, write: bool = True) -> list[tuple[str, list[str], str]]:
    """(name, argv, regex the one-line message must match); ``write`` creates the bad graph files."""
    good = str(t / "good.json")
    L = ["--ledger", str(t / "ledger.db")]
    run = ["run", "--graphs", good, "--backend", "ideal", "--init", "fixed", "--optimizer", "adam:1", *L]
    cmp = ["compare", "--graphs", good, "--backends", "ideal", "--init", "fixed", "--optimizer", "adam:1", "--no-plots",
           "--out", str(t / "cmp"), *L]
    g = lambda name, text: _graph_file(t / f"{name}.json", text, write)  # noqa: E731
    return [
        # seeds
        ("seed negative", [*run, "--seed", "-1"], "--seed"),
        ("seed too large", [*run, "--seed", str(2**32)], "--seed"),
        ("seed not a number", [*run, "--seed", "abc"], "--seed"),
        ("seed in a spec", ["submit", str(t / "spec_seed.yaml"), *L], r"spec_seed\.yaml: seed"),
        # strategies
        ("tqa:abc", [*run, "--init", "tqa:abc"], "--init.*tqa"),
        ("tqa negative", [*run, "--init", "tqa:-1"], "--init.*tqa"),
        ("missing .pt", [*run, "--init", str(t / "missing.pt")], "--init.*does not exist"),
        ("not a checkpoint .pt", [*run, "--init", str(t / "meta" / "checkpoint.pt")], "--init"),
        ("unknown shipped model", [*run, "--init", "learned:nope"], "--init.*no shipped model"),
        ("unknown strategy", [*run, "--init", "bogus"], "--init"),
        ("constant with argument", [*run, "--init", "constant:1"], "--init.*takes no argument"),
        ("empty strategy", [*run, "--init", ""], "--init"),
        ("fixed with argument", [*run, "--init", "fixed:3"], "--init"),
        # graphs
        ("graphs is a directory", [*run, "--graphs", str(t)], "--graphs.*directory"),
        ("graphs missing", [*run, "--graphs", str(t / "missing.json")], "--graphs.*does not exist"),
        ("graphs not json", [*run, "--graphs", g("text", "hello")], "--graphs.*JSON"),
        ("graphs empty list", [*run, "--graphs", g("empty", "[]")], "--graphs"),
        ("graphs a number", [*run, "--graphs", g("number", "5")], "--graphs"),
        ("graphs binary", [*run, "--graphs", _bin(t, write)], "--graphs"),
        ("weight 1e308", [*run, "--graphs", g("huge", _edges(3, 1e308))], "--graphs.*weights must lie"),
        ("weight 1e-12", [*run, "--graphs", g("tiny", _edges(3, 1e-12))], "--graphs.*weights must lie"),
        ("weight zero", [*run, "--graphs", g("zero", _edges(3, 0.0))], "--graphs.*zero-weight"),
        ("weight NaN", [*run, "--graphs", g("nan", _edges(3, float("nan")))], "--graphs.*weight"),
        ("weight a string", [*run, "--graphs", g("str", _edges(3, "heavy"))], "--graphs"),
        ("more nodes than n", [*run, "--graphs", g("range", json.dumps([{"n": 2, "edges": [[0, 1], [1, 2]]}]))], r"--graphs.*node 2, outside 0\.\.1"),
        ("self-loop", [*run, "--graphs", g("loop", json.dumps([{"n": 3, "edges": [[0, 0]]}]))], "--graphs.*self-loop"),
        ("duplicate edge", [*run, "--graphs", g("dup", json.dumps([{"n": 3, "edges": [[0, 1], [0, 1]]}]))], "--graphs.*duplicate"),
        ("no edges", [*run, "--graphs", g("noedge", json.dumps([{"n": 3, "edges": []}]))], "--graphs.*no edges"),
        ("n not a number", [*run, "--graphs", g("non", json.dumps([{"n": "three", "edges": [[0, 1]]}]))], "--graphs"),
        # sizes, memory and time
        ("20 nodes on fake:torino exact", [*run, "--graphs", str(t / "n20.json"), "--backend", "fake:torino"], "--shots"),
        ("30 nodes with 200 shots", [*run, "--graphs", str(t / "n30.json"), "--backend", "fake:torino", "--shots", "200"], "--graphs"),
        ("30 nodes ideal at p = 3", [*run, "--graphs", str(t / "n30.json"), "--p", "3"], "--p 3: graph .* light cone"),
        ("24 nodes ideal p=3", [*run, "--graphs", str(t / "n24.json"), "--p", "3"], "--p"),
        ("8 nodes on a 5-qubit device", [*run, "--graphs", str(t / "n8.json"), "--backend", "fake:manila"], "--graphs.*does not fit"),
        ("long run, stdin not a terminal", [*run, "--graphs", str(t / "n22.json"), "--p", "3", "--optimizer", "adam:500"], "--yes"),
        # mitigation
        ("mitigation zne+foo", [*run, "--mitigation", "zne+foo"], "--mitigation.*foo"),
        ("mitigation none+zne", [*run, "--mitigation", "none+zne"], "--mitigation"),
        ("mitigation repeated", [*run, "--mitigation", "zne+zne"], "--mitigation.*repeated"),
        ("mitigation empty", [*run, "--mitigation", ""], "--mitigation"),
        # the spec grammar TARGET[+TECHNIQUE...] (run, submit, compare, configs)
        ("backend+unknown technique", [*run, "--backend", "fake:manila+foo"], "--backend.*foo"),
        ("backend with a bare +", [*run, "--backend", "fake:manila+"], "--backend.*technique"),
        ("backend+none", [*run, "--backend", "fake:manila+none"], "--backend.*technique"),
        ("backend+technique repeated", [*run, "--backend", "fake:manila+rem+rem"], "--backend.*repeated"),
        ("backend and mitigation disagree", [*run, "--backend", "fake:manila+rem", "--mitigation", "zne"],
         "--backend fake:manila\\+rem and --mitigation zne"),
        ("backend+rem, mitigation none", [*run, "--backend", "fake:manila+rem", "--mitigation", "none"], "--mitigation none"),
        ("unknown kind with a technique", [*run, "--backend", "nonsense+zne"], "--backend.*nonsense"),
        ("spec grammar in a job spec", ["submit", str(t / "spec_plus.yaml"), *L], r"spec_plus\.yaml: backend.*bogus"),
        ("compare: bad technique", [*cmp, "--backends", "ideal,fake:manila+zne+zne"], "--backends.*repeated"),
        ("compare: unknown kind", [*cmp, "--backends", "ideal,nonsense"], "--backends.*nonsense"),
        ("compare: unknown device", [*cmp, "--backends", "fake:atlantis+rem"], "--backends.*atlantis"),
        ("compare: graph too big", [*cmp, "--graphs", str(t / "n8.json"), "--backends", "fake:manila"], "--graphs.*does not fit"),
        ("compare: p zero", [*cmp, "--p", "0"], "--p"),
        ("compare: p not a number", [*cmp, "--p", "one"], "--p"),
        ("compare: unknown start", [*cmp, "--init", "fixed,bogus"], "--init"),
        ("compare: run id taken", [*cmp, "--run-id", DONE_RUN], "already exists"),
        ("compare: graphs missing", [*cmp, "--graphs", str(t / "missing.json")], "--graphs.*does not exist"),
        # numeric ranges and option values
        ("p zero", [*run, "--p", "0"], "--p"),
        ("p negative", [*run, "--p", "-3"], "--p"),
        ("p huge", [*run, "--p", "1000"], "--p"),
        ("shots zero", [*run, "--shots", "0"], "--shots"),
        ("shots negative", [*run, "--shots", "-5"], "--shots"),
        ("shots huge", [*run, "--shots", "100000000"], "--shots"),
        ("optimizer unknown", [*run, "--optimizer", "lbfgs:3"], "--optimizer"),
        ("optimizer steps not a number", [*run, "--optimizer", "adam:many"], "--optimizer"),
        ("optimizer steps negative", [*run, "--optimizer", "adam:-1"], "--optimizer"),
        ("optimizer steps huge", [*run, "--optimizer", "adam:10000000"], "--optimizer"),
        ("gradient unknown", [*run, "--gradient", "bogus"], "gradient"),
        ("lr negative", ["run", "-c", str(t / "lr.yaml"), *L], "--lr"),
        ("tol NaN", ["run", "-c", str(t / "tol.yaml"), *L], "tol"),
        ("max_evaluations zero", ["run", "-c", str(t / "maxev.yaml"), *L], "max_evaluations"),
        # targets
        ("unknown fake device", [*run, "--backend", "fake:atlantis"], "--backend.*atlantis"),
        ("unknown target kind", [*run, "--backend", "nonsense"], "--backend.*nonsense"),
        ("ideal with a device", [*run, "--backend", "ideal:x"], "--backend"),
        ("fake without a device", [*run, "--backend", "fake:"], "--backend"),
        ("ibm without credentials", [*run, "--backend", "ibm:ibm_torino"], "--backend.*credentials"),
        ("unknown target option", ["submit", str(t / "spec_opts.yaml"), *L], "warp"),
        # configs and flags
        ("config missing", ["run", "-c", str(t / "missing.yaml"), *L], "-c"),
        ("config not yaml", ["run", "-c", str(t / "badyaml.yaml"), *L], "YAML"),
        ("config a list", ["run", "-c", str(t / "list.yaml"), *L], "mapping"),
        ("config unknown key", ["run", "-c", str(t / "unknown.yaml"), *L], "unknown key 'optimiser'"),
        ("no graphs", ["run", "--backend", "ideal", *L], "--graphs"),
        ("unknown flag", [*run, "--bogus"], "bogus"),
        ("unknown command", ["launch", *L], "launch"),
        ("submit missing spec", ["submit", str(t / "missing.yaml"), *L], "does not exist"),
        # outputs and run ids
        ("out is a file", [*run, "--out", str(t / "afile")], "--out.*file"),
        ("out holds another run", [*run, "--out", str(t / "taken")], f"--out.*{DONE_RUN}"),
        ("run id taken", [*run, "--run-id", DONE_RUN], "already exists"),
        # the ledger and its commands
        ("show unknown run", ["jobs", "show", "nope", *L], "no run 'nope'"),
        ("fetch unknown run", ["jobs", "fetch", "nope", *L], "no run 'nope'"),
        ("resume unknown run", ["jobs", "resume", "nope", *L], "no run 'nope'"),
        ("list mistyped ledger", ["jobs", "list", "--ledger", str(t / "typo" / "ledger.db")], "no ledger at"),
        ("show mistyped ledger", ["jobs", "show", DONE_RUN, "--ledger", str(t / "typo.db")], "no ledger at"),
        ("ledger is a directory", [*run[:-2], "--ledger", str(t / "ledgerdir")], "directory"),
        ("ledger 0 bytes (run)", [*run[:-2], "--ledger", str(t / "zero.db")], "0-byte"),
        ("ledger 0 bytes (list)", ["jobs", "list", "--ledger", str(t / "zero.db")], "0-byte"),
        ("ledger garbage (list)", ["jobs", "list", "--ledger", str(t / "garbage.db")], r"corrupt.*\.recover"),
        ("ledger garbage (run)", [*run[:-2], "--ledger", str(t / "garbage.db")], r"corrupt.*\.recover"),
        ("ledger truncated (show)", ["jobs", "show", DONE_RUN, "--ledger", str(t / "truncated.db")], r"corrupt.*\.recover"),
        ("ledger read-only (run)", [*run[:-2], "--ledger", str(t / "readonly.db")], "read-only.*jobs list/show/fetch"),
        ("ledger read-only (resume)", ["jobs", "resume", DONE_RUN, "--ledger", str(t / "readonly.db")], "read-only"),
        # meta-training never overwrites a checkpoint
        ("meta-train over a checkpoint", ["meta-train", "-c", str(t / "meta.yaml")], "--resume.*--force"),
        ("meta-train --resume --force", ["meta-train", "-c", str(t / "meta.yaml"), "--resume", "--force"], "--force"),
        ("meta-train config missing", ["meta-train", "-c", str(t / "missing.yaml")], "missing.yaml"),
    ]


def _bin(t: Path, write: bool) -> str:
    path = t / "binary.json"
    if write:
        path.write_bytes(bytes(range(256)) * 4)
    return str(path)


def _one_line_error(result: dict) -> str:
    text = (result["stdout"] + result["stderr"]).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"{result['argv']}: expected one line, got:\n{text}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def batch(world):
    cases = _cases(world)
    payload = [{"argv": argv, "ledger": str(world / "ledger.db"), "stdin": ""} for _, argv, _ in cases]
    (world / "cases.json").write_text(json.dumps(payload))
    proc = subprocess.run(
        [sys.executable, str(HERE / "cli_batch.py"), str(world / "cases.json"), str(world / "results.json")],
        cwd=world, env=_env(world), capture_output=True, text=True, timeout=BATCH_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return cases, json.loads((world / "results.json").read_text())


def test_the_table_is_big_enough():
    assert len(_cases(Path("/nonexistent"), write=False)) >= MIN_CASES


@pytest.mark.parametrize("index", range(len(_cases(Path("/nonexistent"), write=False))))
def test_bad_input_is_refused_in_one_line_and_leaves_the_ledger_alone(batch, index):
    import re

    cases, results = batch
    name, argv, pattern = cases[index]
    result = results[index]
    assert result["escaped"] is None, f"{name}: {result['escaped']}"
    assert result["code"] not in (0, None), f"{name}: exit {result['code']}\n{result['stdout']}{result['stderr']}"
    line = _one_line_error(result)
    assert "Traceback" not in result["stdout"] + result["stderr"]
    assert re.search(pattern, line), f"{name}: {line!r} does not match {pattern!r}"
    assert result["before"] is not None and result["before"] == result["after"], name


def test_read_commands_work_on_the_read_only_ledger(batch, world):
    env = _env(world)
    for argv in (["jobs", "list"], ["jobs", "show", DONE_RUN]):
        proc = subprocess.run([sys.executable, "-m", "hybrid.cli", *argv, "--ledger", str(world / "readonly.db")],
                              cwd=world, env=env, capture_output=True, text=True, timeout=SINGLE_TIMEOUT_S)
        assert proc.returncode == 0 and DONE_RUN in proc.stdout, proc.stderr


def test_nothing_was_created_by_read_commands_or_refused_runs(batch, world):
    assert not (world / "typo.db").exists() and not (world / "typo").exists()
    assert not (world / "results").exists()  # no refused run wrote results
    assert not (world / "cmp").exists()  # nor a refused compare sweep
    assert (world / "zero.db").stat().st_size == 0  # the 0-byte file was left as it was
    with Ledger(world / "ledger.db", mode="read") as led:
        assert [r["run_id"] for r in led.runs()] == [DONE_RUN]


def test_separate_processes_stdin_not_a_terminal_never_hangs(world):
    """The long-run question is not asked when stdin is a pipe: refused at once, naming --yes."""
    argv = [sys.executable, "-m", "hybrid.cli", "run", "--graphs", str(world / "n22.json"), "--backend", "ideal",
            "--p", "3", "--optimizer", "adam:500", "--ledger", str(world / "ledger.db")]
    before = Ledger(world / "ledger.db", mode="read").counts()
    proc = subprocess.run(argv, cwd=world, env=_env(world), stdin=subprocess.PIPE, capture_output=True, text=True,
                          timeout=SINGLE_TIMEOUT_S)
    assert proc.returncode != 0
    lines = [x for x in (proc.stdout + proc.stderr).splitlines() if x.strip()]
    assert lines[-1].startswith("error: estimate: about") and "--yes" in lines[-1]
    assert "Traceback" not in proc.stdout + proc.stderr
    with Ledger(world / "ledger.db", mode="read") as led:
        assert led.counts() == before
    show = subprocess.run([sys.executable, "-m", "hybrid.cli", "jobs", "show", DONE_RUN, "--ledger", str(world / "nowhere.db")],
                          cwd=world, env=_env(world), capture_output=True, text=True, timeout=SINGLE_TIMEOUT_S)
    assert show.returncode != 0 and show.stderr.strip().startswith("error: no ledger at")
    assert not (world / "nowhere.db").exists()


def test_row_counts_are_read_from_the_real_tables(world):
    conn = sqlite3.connect(world / "ledger.db")
    try:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
    finally:
        conn.close()


# --------------------------------------------------------------------------- the validation module itself
def test_estimates_follow_the_documented_memory_formulas(world):
    from backends import get_target
    from hybrid.validation import SV_PEAK_BASE, SV_PEAK_PER_LAYER, estimate_run

    n20 = load_graphs_from(world / "n20.json")
    exact = RunConfig(graphs="x", backend="fake:torino", init="fixed", optimizer="adam:1")
    dm = estimate_run(exact, n20, get_target("fake:torino"))
    assert dm.method == "density matrix" and dm.memory_bytes == 16.0 * 4**20
    sampled = estimate_run(exact.model_copy(update={"shots": 200}), n20, get_target("fake:torino"))
    assert sampled.method == "statevector trajectories" and sampled.memory_bytes == 16.0 * 2**20  # p = 1 re-scoring: closed form
    ideal = estimate_run(exact.model_copy(update={"backend": "ideal", "p": 2}), n20, get_target("ideal"))
    assert ideal.method == "statevector" and ideal.memory_bytes == 16.0 * 2**20 * (SV_PEAK_BASE + 2 * SV_PEAK_PER_LAYER)
    closed = estimate_run(exact.model_copy(update={"backend": "ideal"}), n20, get_target("ideal"))
    assert closed.method == "p = 1 closed form" and closed.memory_bytes == 0


def test_long_runs_need_yes_or_an_interactive_yes():
    from hybrid.validation import LONG_RUN_S, Estimate, InputError, confirm

    long = Estimate(memory_bytes=1e6, seconds=2 * LONG_RUN_S, evaluations=10, method="statevector", largest_n=20)
    short = Estimate.from_dict({**long.to_dict(), "seconds": LONG_RUN_S / 2})
    confirm(short, yes=False)  # nothing asked
    confirm(long, yes=True)
    asked = []
    confirm(long, yes=False, ask=lambda q: asked.append(q) or True, interactive=True)
    assert asked and asked[0].startswith("estimate: about 20 min")
    with pytest.raises(InputError, match="declined.*--yes"):
        confirm(long, yes=False, ask=lambda q: False, interactive=True)
    with pytest.raises(InputError, match="--yes.*not a terminal"):
        confirm(long, yes=False, ask=lambda q: pytest.fail("asked without a terminal"), interactive=False)


def load_graphs_from(path: Path):
    from hybrid.problems import load_graphs

    return load_graphs(path)
