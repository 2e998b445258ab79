"""What the parse sandbox costs: fork-server start, per-document overhead, and a real document.

    .venv/bin/python scripts/bench_sandbox.py   # writes benchmarks/sandbox.json
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.document.extract import extract_pdf  # noqa: E402
from pipeline.model.limits import Limits  # noqa: E402
from pipeline.reading.sandbox import run_in_sandbox  # noqa: E402


def noop() -> int:
    return 0


def timed(fn, *args, **kwargs) -> float:
    started = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - started


def main() -> int:
    limits = Limits()
    sample = ROOT / "samples" / "mic_tsuchi_71.pdf"
    first = timed(run_in_sandbox, noop, limits=limits, source="noop")  # starts the fork server
    noop_calls = [timed(run_in_sandbox, noop, limits=limits, source="noop") for _ in range(20)]
    fork_calls = [timed(run_in_sandbox, noop, limits=limits, source="noop", start_method="fork") for _ in range(20)]
    extract_pdf(sample, "warm")  # warm caches in this process too
    inline = [timed(extract_pdf, sample, "doc") for _ in range(5)]
    sandboxed = [timed(run_in_sandbox, extract_pdf, sample, "doc", limits=limits, source=str(sample)) for _ in range(5)]
    result = {
        "what": "seconds per call of pipeline.reading.sandbox.run_in_sandbox",
        "forkserver_first_call_s": round(first, 3),
        "forkserver_noop_median_s": round(statistics.median(noop_calls), 4),
        "fork_noop_median_s": round(statistics.median(fork_calls), 4),
        "document": sample.name,
        "extract_inline_median_s": round(statistics.median(inline), 3),
        "extract_sandboxed_median_s": round(statistics.median(sandboxed), 3),
        "load_average_1min": os.getloadavg()[0],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "note": "measured on a shared machine; load_average says how busy it was",
    }
    out = ROOT / "benchmarks" / "sandbox.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
