"""Start-up time of the ``nichiiki`` command: --help, --version and an argument error.

Each case runs in a fresh interpreter (the console script's own ``python``),
``ROUNDS`` times; the median wall time goes to benchmarks/cli_startup.json,
next to the bare interpreter start for reference. A measurement, never a test.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 7
CASES = {
    "python -c pass (interpreter only)": [sys.executable, "-c", "pass"],
    "nichiiki --help": [sys.executable, "-m", "pipeline.cli", "--help"],
    "nichiiki --version": [sys.executable, "-m", "pipeline.cli", "--version"],
    "nichiiki run --help": [sys.executable, "-m", "pipeline.cli", "run", "--help"],
    "nichiiki run --workers 0 (user error)": [sys.executable, "-m", "pipeline.cli", "run", "--workers", "0"],
    "nichiiki nonsense (unknown command)": [sys.executable, "-m", "pipeline.cli", "nonsense"],
}


def median_seconds(argv: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    results = {name: round(median_seconds(argv), 3) for name, argv in CASES.items()}
    load = os.getloadavg()[0]
    report = {"rounds": ROUNDS, "python": platform.python_version(), "load_average_1min": round(load, 2), "median_seconds": results}
    (ROOT / "benchmarks" / "cli_startup.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    for name, seconds in results.items():
        print(f"{seconds:6.3f} s  {name}")
    print(f"(load average {load:.2f})")


if __name__ == "__main__":
    main()
