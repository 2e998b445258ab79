"""Read a rendering of the report with every extractor and score it against the generator's gold.

Rows are compared as normalised tuples (NFKC, whitespace removed): a dataset's
precision is the share of read rows that are in the gold, its recall the
share of gold rows that were read, F1 their harmonic mean. Matrix cells are
(row, theme, mark). An extractor that raises is recorded as failed and the
others still run, so one failure costs only its own datasets.
"""

from __future__ import annotations

import os
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path

from extractors.catalogue import all_extractors
from pipeline.document.extract import parse_pages
from tests.report_variants import gold

DATASETS = ("theme_marks", "consortia", "consortium_issues", "case_studies", "tours", "budget_items")


def _norm(value):
    if isinstance(value, str):
        return "".join(unicodedata.normalize("NFKC", value).split())
    return value


def _row(dataset: str, v: dict) -> tuple:
    if dataset == "theme_marks":
        return (v["row"], v["theme"], v["mark"])
    if dataset == "consortia":
        return (v["round"], v["region_raw"], v["consortium_name_raw"], v["tour"])
    if dataset == "consortium_issues":
        return (v["consortium_name_raw"], v["themes_raw"], v["issues_raw"])
    if dataset == "case_studies":
        return (v["theme"], v["place_raw"], v["consortium_name_raw"], v["description"])
    if dataset == "tours":
        return (v["consortium_name_raw"], v["participants"], v["participants_male"], v["participants_female"], v["households"], v["stay_days"])
    if dataset == "budget_items":
        return (v["item"], v["amount_text"], v["field"], v["description"], v["target"])
    raise KeyError(dataset)


def read(pdf: bytes, ocr_cache: Path | None = None) -> tuple[dict[str, list[tuple]], dict[str, str], dict[str, float]]:
    """(rows per dataset, failed extractors with their error, seconds per stage)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "variant.pdf"
        path.write_bytes(pdf)
        started = time.perf_counter()
        _, pages = parse_pages(path, "variant", "0" * 64, str(path), ocr_cache)
        seconds = {"parse": time.perf_counter() - started}
    before = os.environ.get("NICHIIKI_OCR_CACHE")
    os.environ["NICHIIKI_OCR_CACHE"] = str(ocr_cache) if ocr_cache else ""
    rows: dict[str, list[tuple]] = {d: [] for d in DATASETS}
    failed: dict[str, str] = {}
    try:
        for ex in all_extractors():
            started = time.perf_counter()
            try:
                records = ex(pages)
            except Exception as err:  # the suite records it and goes on, as isolation would
                failed[ex.name] = f"{type(err).__name__}: {err}"
                continue
            finally:
                seconds[ex.name] = time.perf_counter() - started
            for r in records:
                if r.dataset in rows:
                    rows[r.dataset].append(tuple(_norm(x) for x in _row(r.dataset, r.values)))
    finally:
        if before is None:
            os.environ.pop("NICHIIKI_OCR_CACHE", None)
        else:
            os.environ["NICHIIKI_OCR_CACHE"] = before
    return rows, failed, seconds


def score(rows: dict[str, list[tuple]], datasets: tuple[str, ...] = DATASETS) -> dict[str, dict]:
    expected = gold()
    out = {}
    for name in datasets:
        want = Counter(tuple(_norm(x) for x in t) for t in expected[name])
        got = Counter(rows[name])
        if name == "tours":
            got = Counter({t: n for t, n in got.items() if t[0] is not None})  # attribute tables carry no name
        hit = sum((want & got).values())
        precision = hit / sum(got.values()) if got else 0.0
        recall = hit / sum(want.values()) if want else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[name] = {
            "gold": sum(want.values()),
            "read": sum(got.values()),
            "correct": hit,
            "f1": round(f1, 4),
            "missing": [list(t) for t in sorted((want - got).elements(), key=str)][:5],
            "extra": [list(t) for t in sorted((got - want).elements(), key=str)][:5],
        }
    return out


def scan_cells(text_pdf: bytes, scanned_pdf: bytes, pages: list[int]) -> dict:
    """Matrix cell F1 of a scan, without OCR: every ●/○ cell (row, column, mark) of the grid
    found in the scan against the same page's grid read from the text rendering."""
    import pymupdf

    from extractors.matrix import page_grids
    from extractors.grids.scan_grid import find_scanned_grids
    from pipeline.reading.pdf import iter_pages

    text_doc = pymupdf.open(stream=text_pdf, filetype="pdf")
    scan_doc = pymupdf.open(stream=scanned_pdf, filetype="pdf")
    text_pages = list(iter_pages(text_doc, "text", "0" * 64))
    scan_pages = list(iter_pages(scan_doc, "scan", "0" * 64))
    want: Counter = Counter()
    got: Counter = Counter()
    grids_found = 0
    started = time.perf_counter()
    for k, index in enumerate(pages):
        truth = [g for g in page_grids(text_pages[index]) if any(c.mark in ("●", "○") for c in g.cells)]
        if not truth:
            continue
        t = max(truth, key=lambda g: len(g.cells))
        want.update(_body_marks(k, t))
        found = find_scanned_grids(scan_pages[k], None, read_text=False)
        if not found:
            continue
        s = max(found, key=lambda g: len(g.cells))
        grids_found += (s.n_rows, s.n_cols) == (t.n_rows, t.n_cols)
        got.update(_body_marks(k, s))
    hit = sum((want & got).values())
    precision = hit / sum(got.values()) if got else 0.0
    recall = hit / sum(want.values()) if want else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "pages": len(pages),
        "grids_same_shape": grids_found,
        "gold": sum(want.values()),
        "read": sum(got.values()),
        "correct": hit,
        "f1": round(f1, 4),
        "seconds": round(time.perf_counter() - started, 2),
    }


def _body_marks(page: int, grid) -> list[tuple]:
    """(page, body row, column, mark): rows counted from the first row holding a mark, so a
    header read as one row instead of two (its inner rule lost in the scan) shifts nothing."""
    marked = [c.row for c in grid.cells if c.mark in ("●", "○")]
    first = min(marked) if marked else 0
    return [(page, c.row - first, c.col, c.mark) for c in grid.cells if c.mark in ("●", "○")]
