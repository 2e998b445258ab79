"""Measure `nichiiki diff` on a worst realistic case: a whole document's rows are new.

Extracts samples/mlit_r7_senkoteki.pdf, diffs an empty output against it (every row added,
so every row gets a card and a crop) and writes the figures to
benchmarks/results/diff_report.json: diff seconds, HTML seconds, HTML bytes, crops, peak RSS.

    .venv/bin/python benchmarks/diff_report.py
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.review.outputs import diff_outputs  # noqa: E402
from pipeline.runs.local import extract_to_folder  # noqa: E402
from pipeline.review.report_html import default_pdf_resolver, write_html  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        new, old = Path(tmp) / "new", Path(tmp) / "old"
        extract_to_folder([REPO / "samples" / "mlit_r7_senkoteki.pdf"], new)
        old.mkdir()
        import pandas as pd

        for file in new.glob("*.parquet"):
            pd.read_parquet(file).iloc[0:0].to_parquet(old / file.name, index=False)
        started = time.perf_counter()
        diff = diff_outputs(old, new)
        diff_seconds = time.perf_counter() - started
        started = time.perf_counter()
        report = write_html(diff, Path(tmp) / "report.html", default_pdf_resolver(diff, samples_dir=REPO / "samples"))
        html_seconds = time.perf_counter() - started
        text = report.read_text(encoding="utf-8")
        figures = {
            "case": "empty output vs mlit_r7_senkoteki (every row added)",
            "rows_added": sum(len(d.added) for d in diff.datasets.values()),
            "diff_seconds": round(diff_seconds, 3),
            "html_seconds": round(html_seconds, 3),
            "html_bytes": report.stat().st_size,
            "crops_embedded": text.count('<img class="crop"'),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "machine": f"{platform.machine()} {platform.python_version()}, {os.cpu_count()} cpus",
            "load_average_1min": round(os.getloadavg()[0], 1),  # the figures are only comparable at similar load
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    out = REPO / "benchmarks" / "results" / "diff_report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
