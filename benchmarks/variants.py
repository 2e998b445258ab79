"""The whole-report variant suite: every rendering and its scans, scored per dataset.

Each text or drawn-shape rendering of tests/report_variants.py is read with
every extractor and scored against the generator's gold (tests/variant_score.py).
Each rendering's matrix pages are also scanned at 150, 200 and 300 dpi
(skewed, noisy, JPEG, greyscale) and the matrix is read from the scan
and its grid and marks are read without OCR (``matrix_cells``: cell F1 against
the rendering's own grid). OCR makes scans slow (minutes per scan on two
cores), so only the scans of ``END_TO_END`` are also read end to end, scored
on theme_marks and consortia (OCR'd header labels and names included).

    .venv/bin/python benchmarks/variants.py            # writes benchmarks/variants.json
    .venv/bin/python benchmarks/variants.py --no-scans # text and drawn-shape renderings only (scans kept from the last report)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.report_variants import SCANS, matrix_pages, render, scan, variants  # noqa: E402
from tests.variant_score import DATASETS, read, scan_cells, score  # noqa: E402

OUT = REPO / "benchmarks" / "variants.json"
# Scans of these renderings are also read end to end (OCR included).
END_TO_END = ("chromium_landscape",)


def family(name: str) -> str:
    if "ovals" in name:
        return "drawn shapes"
    return name.split("_")[0]  # the producer


def _summary(results: dict) -> dict:
    """Per family: the lowest F1 of each dataset (the suite's target is per variant)."""
    out: dict[str, dict] = {}
    for name, r in results.items():
        fam = r["family"]
        entry = out.setdefault(fam, {"variants": 0})
        entry["variants"] += 1
        for ds, s in r["datasets"].items():
            key = f"min_f1_{ds}"
            entry[key] = min(entry.get(key, 1.0), s["f1"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-scans", action="store_true")
    parser.add_argument("--only", nargs="*", help="variant names")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    # OCR results are cached by the image's pixels: a re-run of the same scans costs no OCR.
    ocr_cache = REPO / ".cache" / "ocr"
    ocr_cache.mkdir(parents=True, exist_ok=True)
    for v in variants():
        if args.only and v.name not in args.only:
            continue
        started = time.perf_counter()
        pdf = render(v)
        rows, failed, seconds = read(pdf)
        results[v.name] = {
            "family": family(v.name),
            "producer": v.producer,
            "failed_extractors": failed,
            "datasets": score(rows),
            "seconds": round(time.perf_counter() - started, 2),
        }
        print(v.name, {k: s["f1"] for k, s in results[v.name]["datasets"].items()}, failed or "", file=sys.stderr, flush=True)
        if args.no_scans:
            continue
        pages = matrix_pages(pdf)
        for label, options in SCANS.items():
            started = time.perf_counter()
            scanned = scan(pdf, options, pages)
            name = f"{v.name}@scan{label}"
            results[name] = {
                "family": f"scan {label}",
                "producer": v.producer,
                "scan": options.__dict__,
                "failed_extractors": {},
                "datasets": {"matrix_cells": scan_cells(pdf, scanned, pages)},
            }
            if v.name in END_TO_END:
                # OCR of every text cell: minutes per scan on two cores, so one rendering only.
                rows, failed, _ = read(scanned, Path(ocr_cache))
                results[name]["failed_extractors"] = failed
                results[name]["datasets"].update(score(rows, ("theme_marks", "consortia")))
            results[name]["seconds"] = round(time.perf_counter() - started, 2)
            print(name, {k: s["f1"] for k, s in results[name]["datasets"].items()}, failed or "", file=sys.stderr, flush=True)
    if args.no_scans or args.only:
        # A partial run keeps the rest of the last report (scans take hours of OCR).
        names = {v.name for v in variants()}
        previous = json.loads(OUT.read_text(encoding="utf-8"))["variants"] if OUT.exists() else {}
        kept = {k: r for k, r in previous.items() if k not in results and k.split("@")[0] in names
                and not (args.no_scans and "@" not in k and not args.only)}
        order = [n for v in variants() for n in (v.name, *(f"{v.name}@scan{label}" for label in SCANS))]
        merged = kept | results
        results = {n: merged[n] for n in order if n in merged}
    report = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "datasets": list(DATASETS),
        "summary": _summary(results),
        "variants": results,
    }
    OUT.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report["summary"], ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
