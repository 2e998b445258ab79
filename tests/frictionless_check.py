"""Run the frictionless CLI on a release's datapackage.json, as a user would, and return its JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def frictionless_validate(release: Path) -> dict:
    """``python -m frictionless validate --json datapackage.json`` in ``release``, data included.

    The repository root is on the path, so frictionless loads frictionless_nichiiki
    (how it reads Parquet) as a user running it from the root does.
    """
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-m", "frictionless", "validate", "--json", "datapackage.json"],
        cwd=release, env=env, capture_output=True, text=True, timeout=300,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"frictionless did not report (exit {done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}") from None
    report["exit_code"] = done.returncode
    return report


def errors(report: dict) -> list[tuple[str, str, str | None, str]]:
    """(resource, error type, field, note) of every error, for an assertion message."""
    out = [("", e["type"], None, e["note"]) for e in report.get("errors", [])]
    for task in report.get("tasks", []):
        out += [(task["name"], e["type"], e.get("fieldName"), e["note"]) for e in task["errors"]]
    return out
