"""Start-up time of the ``nichiiki`` command: --help, --version and an argument error.

Each case runs in a fresh interpreter (the console script's own ``python``),
``ROUNDS`` times; the median wall time goes to benchmarks/cli_startup.json,
next to the bare interpreter start for reference. A measurement, never a test.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 7
CASES = {
    "python -c pass (interpreter only)": [sys.executable, "-c", "pass"],
    "nichiiki --help": [sys.executable, "-m", "flows.cli", "--help"],
    "nichiiki --version": [sys.executable, "-m", "flows.cli", "--version"],
    "nichiiki run --help": [sys.executable, "-m", "flows.cli", "run", "--help"],
    "nichiiki run --workers 0 (user error)": [sys.executable, "-m", "flows.cli", "run", "--workers", "0"],
    "nichiiki nonsense (unknown command)": [sys.executable, "-m", "flows.cli", "nonsense"],
}


def median_seconds(argv: list[str]) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the child.

    The CPU time is what the start-up costs whatever else the machine is
    doing; the wall time grows with the load average, which is recorded too.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    walls, cpus = [], []
    for _ in range(ROUNDS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    load = os.getloadavg()[0]
    results = {}
    for name, argv in CASES.items():
        wall, cpu = median_seconds(argv)
        results[name] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}
        print(f"wall {wall:6.3f} s  cpu {cpu:6.3f} s  {name}")
    report = {"rounds": ROUNDS, "python": platform.python_version(), "cpus": os.cpu_count(),
              "load_average_1min": [round(load, 2), round(os.getloadavg()[0], 2)], "median": results}
    (ROOT / "benchmarks" / "cli_startup.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"(load average {load:.2f} at start)")


if __name__ == "__main__":
    main()
