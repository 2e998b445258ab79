"""Cell accuracy of the scan and drawn-mark readers, per variant, against the text PDF.

For every variant the truth is the text-PDF extraction of the same matrix
pages: each cell is ●, ○, —, text or empty. A scanned variant is read with
``find_scanned_grids`` and scored cell by cell (grid found with the same
shape, then the share of cells whose class matches). The bundled scan is also
read end to end with OCR (rows, tours, marks, label text similarity).
Drawn-mark PDFs are read with ``extract_matrices`` and scored per mark cell.

    .venv/bin/python benchmarks/marks_variants.py   # writes benchmarks/marks_variants.json
"""

from __future__ import annotations

import difflib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pymupdf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from extractors.grids.grid import Grid  # noqa: E402
from extractors.base import Context  # noqa: E402
from extractors.matrix import extract_matrices, page_grids  # noqa: E402
from extractors.grids.scan_grid import find_scanned_grids  # noqa: E402
from pipeline.reading.pdf import iter_pages  # noqa: E402
from tests.matrix_pdf import Variant, render  # noqa: E402
from tests.scan_pdf import scan  # noqa: E402
from tests.test_mark_shapes import SPEC, _powerpoint_style  # noqa: E402

TEXT_PDF = REPO / "samples" / "mlit_r7_senkoteki.pdf"
SCAN_PDF = REPO / "samples" / "mlit_r7_ichiran_scan.pdf"
OUT = REPO / "benchmarks" / "marks_variants.json"

SCANS = {
    "100dpi": dict(dpi=100),
    "150dpi": dict(dpi=150),
    "200dpi_rot+1.0": dict(dpi=200, angle=1.0),
    "200dpi_rot-2.0_noise8": dict(dpi=200, angle=-2.0, noise=8),
    "300dpi_rot+1.5_noise12_dust": dict(dpi=300, angle=1.5, noise=12, specks=400, seed=3),
    "150dpi_rot-0.7_noise15_dust": dict(dpi=150, angle=-0.7, noise=15, specks=300, seed=5),
    "120dpi_rot+2.5_noise6": dict(dpi=120, angle=2.5, noise=6),
}


def _pages(pdf: bytes | Path, doc_id: str = "v"):
    doc = pymupdf.open(pdf) if isinstance(pdf, Path) else pymupdf.open(stream=pdf, filetype="pdf")
    return list(iter_pages(doc, doc_id, "0" * 64))


def _class(cell) -> str:
    if cell is None:
        return "missing"
    if cell.mark:
        return cell.mark
    if cell.text.strip() or (cell.note or "").startswith("text not read"):
        return "text"
    return "empty"


def score(truth: Grid, grids: list[Grid]) -> dict:
    if not grids:
        return {"grid_found": False, "cells": len(truth.cells), "correct": 0, "accuracy": 0.0}
    grid = max(grids, key=lambda g: len(g.cells))
    starts = {(c.row, c.col): c for c in grid.cells}

    def same(c) -> bool:
        # The same cell (start and spans) holding the same class of content.
        s = starts.get((c.row, c.col))
        return s is not None and (s.row_span, s.col_span) == (c.row_span, c.col_span) and _class(s) == _class(c)

    correct = sum(same(c) for c in truth.cells)
    return {
        "grid_found": (grid.n_rows, grid.n_cols) == (truth.n_rows, truth.n_cols),
        "cells": len(truth.cells),
        "correct": correct,
        "accuracy": round(correct / len(truth.cells), 4),
        "mark_cells": sum(_class(c) in "●○—" for c in truth.cells),
        "mark_cells_correct": sum(_class(c) in "●○—" and same(c) for c in truth.cells),
        "low_confidence_cells": sum(bool(c.note and c.note.startswith("low confidence")) for c in grid.cells),
    }


def _merge(parts: list[dict]) -> dict:
    cells = sum(p["cells"] for p in parts)
    correct = sum(p["correct"] for p in parts)
    return {
        "grid_found": all(p["grid_found"] for p in parts),
        "cells": cells,
        "correct": correct,
        "accuracy": round(correct / cells, 4) if cells else 0.0,
        "mark_cells": sum(p.get("mark_cells", 0) for p in parts),
        "mark_cells_correct": sum(p.get("mark_cells_correct", 0) for p in parts),
        "low_confidence_cells": sum(p.get("low_confidence_cells", 0) for p in parts),
    }


def scanned_variants(truth_pages: list[int], truths: list[Grid]) -> dict:
    source = TEXT_PDF.read_bytes()
    results = {}
    for name, options in SCANS.items():
        started = time.perf_counter()
        pages = _pages(scan(source, pages=truth_pages, **options))
        parts = [score(t, find_scanned_grids(p, read_text=False)) for t, p in zip(truths, pages)]
        results[name] = _merge(parts) | {"options": options, "seconds": round(time.perf_counter() - started, 2)}
        print(name, results[name]["accuracy"], file=sys.stderr)
    return results


def bundled_scan(truths: list[Grid]) -> dict:
    """The bundled 200 dpi scan: cells without OCR, then the whole matrix with OCR."""
    started = time.perf_counter()
    pages = _pages(SCAN_PDF, "mlit_r7_ichiran_scan")
    parts = [score(t, find_scanned_grids(p, read_text=False)) for t, p in zip(truths, pages)]
    cells = _merge(parts) | {"seconds": round(time.perf_counter() - started, 2)}
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        scanned = extract_matrices(pages, context=Context(ocr_cache_dir=Path(cache)))
        cold = time.perf_counter() - started
        started = time.perf_counter()
        extract_matrices(pages, context=Context(ocr_cache_dir=Path(cache)))
        warm = time.perf_counter() - started
    text = extract_matrices(_pages(TEXT_PDF, "mlit_r7_senkoteki"))

    def consortia(records):
        return [r.values for r in records if r.dataset == "consortia"]

    def marks(records):
        return sorted((r.values["row"], r.values["mark"]) for r in records if r.dataset == "theme_marks")

    t_rows, s_rows = consortia(text), consortia(scanned)
    pairs = list(zip(t_rows, s_rows))
    similarity = {
        field: round(sum(difflib.SequenceMatcher(None, a[field], b[field]).ratio() for a, b in pairs) / max(len(pairs), 1), 4)
        for field in ("region_raw", "consortium_name_raw")
    }
    return {
        "cells": cells,
        "end_to_end": {
            "rows_text": len(t_rows),
            "rows_scan": len(s_rows),
            "round_equal": sum(a["round"] == b["round"] for a, b in pairs),
            "tour_equal": sum(a["tour"] == b["tour"] for a, b in pairs),
            "theme_marks_text": len(marks(text)),
            "theme_marks_scan": len(marks(scanned)),
            "marks_equal_per_row": marks(text) == marks(scanned),
            "ocr_text_similarity": similarity,
            "seconds_cold_ocr": round(cold, 2),
            "seconds_cached_ocr": round(warm, 2),
        },
    }


def drawn_variants() -> dict:
    """Drawn ovals read back through extract_matrices, scored per expected mark."""
    expected = {(n, t): m for n, row in enumerate(SPEC.rows, start=1) for t, m in row["marks"].items()}
    results = {}
    for name, pdf in {
        "ovals_pymupdf": render(SPEC, Variant(shapes=True, rows_per_page=2)),
        "powerpoint_style_slide": _powerpoint_style(SPEC),
    }.items():
        records = extract_matrices(_pages(pdf))
        got = {(r.values["row"], r.values["theme"]): (r.values["mark"], r.values["mark_source"]) for r in records if r.dataset == "theme_marks"}
        correct = sum(got.get(k) == (m, "shape") for k, m in expected.items())
        results[name] = {
            "marks": len(expected),
            "correct": correct,
            "extra": len(set(got) - set(expected)),
            "accuracy": round(correct / len(expected), 4),
        }
    return results


def main() -> None:
    text_pages = _pages(TEXT_PDF)
    matrix = [(p.page_number - 1, g) for p in text_pages for g in page_grids(p) if sum(c.mark == "●" for c in g.cells) >= 5]
    truth_pages = [i for i, _ in matrix]
    truths = [g for _, g in matrix]
    report = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "truth": {"document": TEXT_PDF.name, "pages": [i + 1 for i in truth_pages], "cells": sum(len(g.cells) for g in truths)},
        "bundled_scan": bundled_scan(truths),
        "scanned_variants": scanned_variants(truth_pages, truths),
        "drawn_variants": drawn_variants(),
    }
    OUT.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
