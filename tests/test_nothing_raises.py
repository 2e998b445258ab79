"""No extractor raises on any page of any PDF we have: the samples, real PDFs of other kinds, variants.

Every registered extractor runs over each document as the pipeline runs it
(all pages at once) and over each page alone (a one-page excerpt is a
document too, and a layout an extractor does not expect is most often met on
one page). An extractor finding nothing is fine; raising is not, since it
would cost the document that step's datasets (pipeline.document.extract records it and
goes on). Each PDF is parsed once per session (OCR'd pages from .cache/ocr).

PDFs: samples/*.pdf, samples/real/*.pdf (12 real government PDFs, sources in
samples/real/SOURCES.tsv), the re-rendered matrix, narrative and tables4
variants the other tests draw, a scan, and the hostile files that still open.
"""

from __future__ import annotations

import traceback
from functools import lru_cache
from pathlib import Path
from typing import Callable

import pytest

from conftest import SAMPLES
from extractors.catalogue import all_extractors
from pipeline.model.errors import DocumentError
from extractors.base import Context
from pipeline.document.extract import REPO_CACHE_DIR, parse_pages, sha256_file
from pipeline.model.records import ParsedPage
from tests import hostile
from tests.matrix_pdf import Variant, render
from tests.scan_pdf import scan

REAL = SAMPLES / "real"


def _matrix(variant: Variant) -> Callable[[], bytes]:
    def build() -> bytes:
        from tests.test_matrix import _spec_from_golden

        return render(_spec_from_golden(), variant)

    return build


def _powerpoint() -> bytes:
    from tests.test_mark_shapes import SPEC, _powerpoint_style

    return _powerpoint_style(SPEC)


def _stacked_tours() -> bytes:
    from tests.test_tours import stacked_panels_pdf

    return stacked_panels_pdf()


# Generated documents: name → bytes. Bombs are left out (they are budget cases, tests/test_faults.py).
GENERATED: dict[str, Callable[[], bytes]] = {
    "hostile_text": lambda: hostile.text_pdf(),
    "hostile_corrupt_xref": lambda: hostile.corrupt_xref(hostile.text_pdf()),
    "hostile_zero_pages": hostile.zero_pages,
    "hostile_page_tree_cycle": hostile.page_tree_cycle,
    "hostile_page_count_lies": hostile.page_count_lies,
    "matrix_a4_portrait_split": _matrix(Variant(page_size=(595, 842), rows_per_page=30, fontsize=5.5)),
    "matrix_glyph_variants_headerless": _matrix(Variant(glyphs={"●": "⚫", "○": "〇", "—": "－"}, repeat_header=False, rows_per_page=20, fontsize=6.5)),
    "matrix_drawn_ovals": _matrix(Variant(shapes=True, rows_per_page=15)),
    "matrix_prose_pages": _matrix(Variant(glyphs={"○": "◯"}, filler_pages=2, rows_per_page=11)),
    "matrix_slide_shapes": _powerpoint,
    "matrix_scan_150dpi": lambda: scan(_matrix(Variant(rows_per_page=30, page_size=(595, 842), fontsize=5.5))(), dpi=150, angle=-1.5, noise=4, pages=[0]),
    "tours_stacked_portrait": _stacked_tours,
}


def _narrative_report() -> bytes:
    import tempfile

    from tests.narrative_pdf import make_pdf
    from tests.test_sections import _report_pages

    with tempfile.TemporaryDirectory() as folder:
        return make_pdf(_report_pages(), Path(folder) / "report.pdf").read_bytes()


GENERATED["narrative_report"] = _narrative_report


def _whole_report(name: str) -> Callable[[], bytes]:
    """A whole-report rendering of the variant suite (reportlab: fast, needs no browser or office)."""

    def build() -> bytes:
        from tests.report_variants import render, variants

        return render(next(v for v in variants() if v.name == name))

    return build


GENERATED["report_reportlab_tables_no_header"] = _whole_report("reportlab_tables_no_header")
GENERATED["report_reportlab_portrait_mincho_grey"] = _whole_report("reportlab_portrait_mincho_grey")


def _tables4_pages() -> dict[str, Callable[[], list[ParsedPage]]]:
    """The tables4 tests' redrawn pages (case studies, budget, opinions, tours), parsed as the pipeline does."""
    from tests.test_budget import _variant_pages
    from tests.test_case_studies import _theme_page
    from tests.test_expert_opinions import _slide
    from tests.test_tours import _tour_pages

    return {
        "tables4_theme_page": _theme_page,
        "tables4_budget_pages": _variant_pages,
        "tables4_opinion_slide": lambda: _slide("有識者のご意見まとめ"),
        "tables4_tour_pages": _tour_pages,
    }


PAGES = _tables4_pages()


def _documents() -> list[str]:
    files = sorted(SAMPLES.glob("*.pdf")) + sorted(REAL.glob("*.pdf"))
    return [str(p.relative_to(SAMPLES)) for p in files] + sorted(GENERATED) + sorted(PAGES)


@lru_cache(maxsize=None)
def _path(name: str, folder: str) -> Path:
    if name not in GENERATED:
        return SAMPLES / name
    path = Path(folder) / f"{name}.pdf"
    path.write_bytes(GENERATED[name]())
    return path


@lru_cache(maxsize=4)  # parsed pages hold page images: keep only the last few documents
def _parsed(name: str, folder: str) -> tuple[ParsedPage, ...] | DocumentError:
    if name in PAGES:
        return tuple(PAGES[name]())
    path = _path(name, folder)
    doc_id = Path(name).stem
    try:
        _info, pages = parse_pages(path, doc_id, sha256_file(path), str(path), REPO_CACHE_DIR)
    except DocumentError as exc:  # refused as a whole (a document-level failure, reported as such)
        return exc
    return tuple(pages)


@pytest.fixture(scope="session")
def generated_folder(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("generated"))


def test_the_real_pdfs_are_bundled_with_their_sources():
    pdfs = sorted(p.name for p in REAL.glob("*.pdf"))
    assert len(pdfs) == 12
    listed = {line.split("\t")[0] for line in (REAL / "SOURCES.tsv").read_text(encoding="utf-8").splitlines()[1:] if line}
    assert listed == set(pdfs)


@pytest.mark.parametrize("name", _documents())
def test_no_extractor_raises(name, generated_folder):
    parsed = _parsed(name, generated_folder)
    if isinstance(parsed, DocumentError):
        assert name.startswith("hostile_"), f"{name} was refused: {parsed}"
        return
    pages = list(parsed)
    raised = []
    for extractor in all_extractors():
        alone = [(f"page {p.page_number} alone", [p]) for p in pages] if len(pages) > 1 else []
        for label, part in [("all pages", pages)] + alone:
            try:
                extractor(part, Context(ocr_cache_dir=REPO_CACHE_DIR))
            except Exception as exc:  # noqa: BLE001 — collected, so one run lists every failure
                where = traceback.extract_tb(exc.__traceback__)[-1]
                raised.append(f"{extractor.name} on {label}: {type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})")
    assert not raised, f"{name}:\n" + "\n".join(raised)
