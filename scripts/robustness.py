"""Run the extraction over a folder of real PDFs and report what each one gave.

    .venv/bin/python scripts/robustness.py [FOLDER] [--out benchmarks/robustness.json]

FOLDER defaults to samples/real (the 12 real PDFs bundled with their sources). Every PDF goes
through the pipeline's one entry point (pipeline.document.extract.extract_pdf), so
what passes here is what `make run` does. A document that fails is reported
with the error class and message and the run goes on; the exit status is 1
when any document failed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.document.extract import doc_id_for, extract_pdf  # noqa: E402

DEFAULT_FOLDER = REPO / "samples" / "real"
DEFAULT_OUT = REPO / "benchmarks" / "robustness.json"


def measure(path: Path) -> dict:
    """Extract one PDF and count what came out (never raises)."""
    started = time.perf_counter()
    row: dict = {"file": path.name, "pages": None, "sections": 0, "footnotes": 0, "tables": 0, "cells": 0,
                 "marked_cells": 0, "notices": 0, "other_rows": 0, "error": None}
    try:
        result = extract_pdf(path, doc_id_for(path))
    except Exception as exc:  # the point is to report every failure, whatever its type
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["trace"] = traceback.format_exc(limit=3)
    else:
        frames = result.frames
        row["pages"] = result.info.pages
        row["producer"] = result.info.producer
        row["needs_ocr"] = result.info.needs_ocr
        row["sections"] = _rows(frames, "sections")
        row["footnotes"] = _rows(frames, "footnotes")
        row["notices"] = _rows(frames, "notices")
        tables = frames.get("tables")
        if tables is not None and not tables.empty:
            row["tables"] = int(tables["table_id"].nunique())
            row["cells"] = len(tables)
            row["marked_cells"] = int(tables["symbol"].notna().sum())
        row["other_rows"] = sum(len(f) for name, f in frames.items()
                                if name not in ("sections", "footnotes", "notices", "tables"))
        row["timings"] = {k: round(v, 3) for k, v in result.timings.items()}
        # Steps that raised: the document was still extracted, without what they make.
        row["failed_steps"] = [f"{f.stage}: {f.error_class}" + (f" (page {f.page})" if f.page else "") for f in result.failures]
    row["seconds"] = round(time.perf_counter() - started, 3)
    return row


def _rows(frames: dict, name: str) -> int:
    frame = frames.get(name)
    return 0 if frame is None else len(frame)


def print_table(rows: list[dict]) -> None:
    cols = ("file", "pages", "sections", "footnotes", "tables", "marked_cells", "notices", "seconds", "error")
    widths = {c: max(len(c), *(len(str(r.get(c) if r.get(c) is not None else "")) for r in rows)) for c in cols}
    widths["file"] = min(widths["file"], 58)
    widths["error"] = min(widths["error"], 60)
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        cells = []
        for c in cols:
            value = "" if r.get(c) is None else str(r[c])
            cells.append(value[: widths[c]].ljust(widths[c]))
        print("  ".join(cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"robustness: {args.folder} is not a folder of PDFs", file=sys.stderr)
        return 2
    pdfs = sorted(p for p in args.folder.iterdir() if p.suffix.lower() == ".pdf")
    if not pdfs:
        print(f"robustness: no PDFs in {args.folder}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    rows = [measure(p) for p in pdfs]
    report = {
        "folder": str(args.folder),
        "python": platform.python_version(),
        "documents": len(rows),
        "ok": sum(r["error"] is None for r in rows),
        "failed": sum(r["error"] is not None for r in rows),
        "seconds": round(time.perf_counter() - started, 2),
        "files": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print_table(rows)
    print(f"\n{report['ok']}/{report['documents']} documents extracted in {report['seconds']} s -> {args.out}")
    return 0 if report["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
