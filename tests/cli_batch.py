"""Drive many ``hybrid`` command lines in one process (the imports are paid once).

Usage: ``python tests/cli_batch.py CASES.json RESULTS.json``. ``CASES.json`` is a list of
``{"argv": [...], "ledger": PATH | null, "stdin": TEXT | null}``; each case runs the real
CLI entry point (``hybrid.cli.app``) with stdout/stderr captured and stdin replaced (not
a terminal). ``RESULTS.json`` gets, per case, the exit code, the output, whether an
exception escaped the CLI, and the ledger's row counts before and after.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import sys
import traceback


def row_counts(path: str | None) -> dict[str, int] | None:
    if not path or not os.path.isfile(path) or os.path.getsize(path) == 0:
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("runs", "evaluations", "jobs", "results")
        }
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def run_case(case: dict) -> dict:
    from hybrid.cli import app

    out, err = io.StringIO(), io.StringIO()
    before = row_counts(case.get("ledger"))
    escaped = None
    code = None
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(case.get("stdin") or "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                app(args=case["argv"], prog_name="hybrid")
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - anything that escaped the CLI is a failure to report
        escaped = traceback.format_exc()
    finally:
        sys.stdin = old_stdin
    return {
        "argv": case["argv"],
        "code": code,
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "escaped": escaped,
        "before": before,
        "after": row_counts(case.get("ledger")),
    }


def main() -> None:
    cases_path, results_path = sys.argv[1], sys.argv[2]
    with open(cases_path) as f:
        cases = json.load(f)
    results = [run_case(case) for case in cases]
    with open(results_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
