"""A fast subset of the whole-report variant suite (benchmarks/variants.py runs all of it).

Each rendering is made by the generator in tests/report_variants.py and read
with every extractor; what is read is compared with what the generator wrote.
Known misreadings are xfail with their reason, so a fix shows up as XPASS.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest

from tests.report_variants import SCANS, SOFFICE, gold, matrix_pages, render, scan, variants
from tests.variant_score import read, scan_cells, score

BY_NAME = {v.name: v for v in variants()}
FAST = (
    "chromium_landscape",
    "chromium_no_header_continuation",
    "slide_ovals",
    "ovals_touching_rules",
    "chromium_glyphs_bullseye",
    "mupdf_portrait",
    "chromium_tours_cases_tables",
    "mupdf_grey_shaded_glyphs",
    "reportlab_tables_no_header",
    # The one LibreOffice rendering in the fast subset (~6 s to render); Impress and the rest
    # run in the benchmark.
    "writer_landscape",
)
# (variant, dataset): why it is not read yet.
KNOWN: dict[tuple[str, str], str] = {}


@cache
def _render(name: str) -> bytes:
    return render(BY_NAME[name])


@cache
def _read(name: str):
    return read(_render(name))


def test_gold_is_what_the_generator_writes():
    g = gold()
    assert len(g["consortia"]) == 44 and len(g["theme_marks"]) == 199
    assert len(g["consortium_issues"]) == 44 and len(g["case_studies"]) == 26 and len(g["budget_items"]) == 12
    assert len(variants()) >= 20 and len({v.name for v in variants()}) == len(variants())
    assert {v.producer for v in variants()} == {"chromium", "mupdf", "writer", "impress", "reportlab"}


@pytest.mark.parametrize(
    "name,dataset",
    [
        pytest.param(n, d, marks=[pytest.mark.xfail(reason=KNOWN[(n, d)], strict=True)] if (n, d) in KNOWN else [])
        for n in FAST
        for d in ("theme_marks", "consortia", "consortium_issues", "case_studies", "tours", "budget_items")
    ],
)
def test_variant_reads_every_dataset(name, dataset):
    if BY_NAME[name].producer in ("writer", "impress") and not Path(SOFFICE).exists():
        pytest.skip("LibreOffice is not installed (scripts/setup.sh installs it)")
    rows, failed, _ = _read(name)
    result = score(rows, (dataset,))[dataset]
    assert result["f1"] == 1.0, (failed, result["missing"], result["extra"])


@pytest.mark.parametrize("name", ["chromium_landscape", "slide_ovals"])
def test_no_variant_loses_a_whole_page_of_the_matrix(name):
    """Every matrix page is read: rows are numbered across pages without a gap."""
    rows, _, _ = _read(name)
    assert sorted(r[0] for r in rows["theme_marks"] if r[0]) == sorted(r[0] for r in gold()["theme_marks"])


@pytest.mark.parametrize(
    "name,label",
    [
        ("chromium_landscape", "150dpi"),
        # Hairline grey rules between zebra rows, lost in a 150 dpi JPEG.
        ("slide_ovals", "150dpi"),
        # Drawn marks as tall as their rows, touching and crossing the rulings.
        ("ovals_touching_rules", "150dpi"),
        # A table broken by the page itself: the last row on the page has no rule under it.
        ("chromium_vlgothic_split_10_25", "150dpi"),
        # Thin grey rules beside dense text, shaded header cells (MuPDF shades per glyph line).
        ("mupdf_grey_shaded_glyphs", "150dpi"),
        # Thin grey rules and a shaded header that covers more of the page than its ink does.
        ("reportlab_portrait_mincho_grey", "300dpi"),
        # Headerless portrait pages: 1次 set one character per line down a narrow column.
        ("writer_portrait_no_header", "300dpi"),
        # A slide's table: no dark rules, banded fills parted by white rules; continuation
        # pages start on a row styled as a header (white marks on a dark fill). ~25 s to render,
        # once for both resolutions.
        ("impress_no_header_glyphs", "150dpi"),
        # ... at 300 dpi the white rings of that first row sit within a pixel or two of the
        # fill's top edge: a boundary placed a few pixels low cuts them open.
        ("impress_no_header_glyphs", "300dpi"),
    ],
)
def test_scan_matrix_cells(name, label):
    if BY_NAME[name].producer in ("writer", "impress") and not Path(SOFFICE).exists():
        pytest.skip("LibreOffice is not installed (scripts/setup.sh installs it)")
    pdf = _render(name)
    pages = matrix_pages(pdf)
    result = scan_cells(pdf, scan(pdf, SCANS[label], pages), pages)
    assert result["f1"] >= 0.99, result


def test_renderings_are_deterministic():
    """Same variant, same text and drawings (Chromium stamps only its dates)."""
    import pymupdf

    v = replace(BY_NAME["mupdf_portrait"], name="again")
    a, b = (pymupdf.open(stream=render(v), filetype="pdf") for _ in range(2))
    assert [p.get_text() for p in a] == [p.get_text() for p in b]
    # reportlab in invariant mode writes no dates or ids: the same bytes.
    assert render(BY_NAME["reportlab_tables_no_header"]) == render(BY_NAME["reportlab_tables_no_header"])
    # The scan's image (the PDF wrapper stamps its own ids): the same pixels, seed for seed.
    s1, s2 = (pymupdf.open(stream=scan(render(v), SCANS["150dpi"], [0]), filetype="pdf") for _ in range(2))
    assert s1.extract_image(s1[0].get_images()[0][0])["image"] == s2.extract_image(s2[0].get_images()[0][0])["image"]
