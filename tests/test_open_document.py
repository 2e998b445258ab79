"""open_document's decisions about damaged and hostile files, and bombs under the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.model.errors import ParseError, TimeBudgetExceeded
from pipeline.model.limits import Limits
from pipeline.reading.pdf import document_info, document_warnings, iter_pages, open_document
from pipeline.reading.sandbox import run_in_sandbox
from tests import hostile
from tests import sandbox_work as work


@pytest.fixture(scope="module")
def good() -> bytes:
    return hostile.text_pdf(pages=3)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path: Path, match: str, limits: Limits = Limits()) -> None:
    with pytest.raises(ParseError, match=match) as err:
        open_document(path, str(path), limits)
    assert str(path) in str(err.value) and err.value.stage == "parse"


def test_good_file_opens_without_warnings(tmp_path, good):
    doc = open_document(write(tmp_path, "ok.pdf", good), "ok.pdf")
    assert doc.page_count == 3 and document_warnings(doc) == ()
    assert [p.page_number for p in iter_pages(doc, "d", "0" * 64)] == [1, 2, 3]


def test_truncated_refused(tmp_path, good):
    refused(write(tmp_path, "cut.pdf", hostile.truncated(good)), r"truncated PDF: no %%EOF in the last 1024 bytes")


def test_corrupt_xref_repaired_with_warning(tmp_path, good):
    doc = open_document(write(tmp_path, "xref.pdf", hostile.corrupt_xref(good)), "xref.pdf")
    assert doc.page_count == 3
    assert any("cross-reference" in w for w in document_warnings(doc))
    assert document_info(doc).warnings == document_warnings(doc)
    text = "".join(c.text for p in iter_pages(doc, "d", "0" * 64) for c in p.chars)
    assert "二地域居住の推進について 3" in text  # nothing lost in the repair


def test_user_password_refused(tmp_path, good):
    refused(write(tmp_path, "locked.pdf", hostile.encrypted(good, "user-pw")), "needs a user password")


def test_owner_password_only_opens_with_warning(tmp_path, good):
    doc = open_document(write(tmp_path, "owner.pdf", hostile.encrypted(good, None)), "owner.pdf")
    assert any("owner password only" in w for w in document_warnings(doc))
    assert doc[0].get_text().strip().startswith("二地域居住")


def test_zero_pages_refused(tmp_path):
    refused(write(tmp_path, "zero.pdf", hostile.zero_pages()), "PDF has no pages")


@pytest.mark.parametrize(
    "name, data, match",
    [
        ("one.pdf", b"%", r"not a PDF \(starts with b'%'\)"),
        ("empty.pdf", b"", r"file is empty \(0 bytes\)"),
        ("page.pdf", hostile.html_page(), r"not a PDF \(starts with b'<!DOCTYPE"),
        ("image.pdf", hostile.png_image(), r"not a PDF \(starts with b'\\x89PNG"),
        ("header.pdf", b"%PDF-1.7\n%%EOF\n", "cannot open PDF"),
    ],
)
def test_not_pdfs_refused(tmp_path, name, data, match):
    refused(write(tmp_path, name, data), match)


def test_missing_file(tmp_path):
    refused(tmp_path / "gone.pdf", "cannot read file")


def test_size_cap(tmp_path, good):
    refused(write(tmp_path, "big.pdf", good), r"exceeds cap 0.0 MB", Limits(max_file_bytes=1000))


def test_page_cap(tmp_path, good):
    refused(write(tmp_path, "many.pdf", good), r"3 pages exceeds cap 2", Limits(max_pages=2))


def test_deep_nesting_is_bounded(tmp_path):
    path = write(tmp_path, "deep.pdf", hostile.deep_nesting())
    # MuPDF caps nesting itself; the file parses, in bounded time, inside the sandbox.
    assert run_in_sandbox(work.parse_all, str(path), limits=Limits(seconds_per_page=20, memory_mb=1024), source=str(path)) == 1


def test_image_bomb_stopped_by_page_budget(tmp_path):
    path = write(tmp_path, "bomb.pdf", hostile.image_bomb(side=400_000, layers=2))  # beyond any machine's speed
    with pytest.raises(TimeBudgetExceeded, match=r"bomb.pdf: parse failed: page 1 exceeded 2 s page budget"):
        run_in_sandbox(work.parse_all, str(path), limits=Limits(seconds_per_page=2, memory_mb=1024), source=str(path))


def test_page_tree_cycle_is_a_parse_error_naming_page(tmp_path):
    from pipeline.document.extract import extract_pdf

    path = write(tmp_path, "cycle.pdf", hostile.page_tree_cycle())
    with pytest.raises(ParseError, match=r"cycle.pdf: parse failed: page 1: FzErrorFormat: .*cycle in page tree"):
        extract_pdf(path, "cycle")


def test_page_count_lies(tmp_path):
    refused(write(tmp_path, "count.pdf", hostile.page_count_lies()), "cannot read page tree")


def test_every_sample_passes_the_checks(tmp_path):
    """No false alarms: the real reports (text, scans, Chrome/Word/PowerPoint producers) open cleanly."""
    from pipeline.ingest.fetch import FetchSettings, fetch
    from pipeline.ingest.registry import SourceEntry

    samples = sorted((Path(__file__).resolve().parents[1] / "samples").glob("*.pdf"))
    assert len(samples) >= 7
    for path in samples:
        doc = open_document(path, str(path))
        assert doc.page_count > 0 and document_warnings(doc) == (), path.name
        doc.close()
        got = fetch(SourceEntry("s", "p", "t", None, None, path), tmp_path, FetchSettings(), use_network=False)
        assert got.path == path


def _image_only_page(path: Path, width: float, height: float) -> Path:
    """One page of the given size holding only a small gray image (no text: it will be rendered)."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=width, height=height)
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 8, 8), False)
    pix.set_rect(pix.irect, (128,))
    page.insert_image(pymupdf.Rect(10, 10, 110, 110), pixmap=pix)
    doc.save(path)
    return path


def test_large_scanned_page_renders_below_the_pixel_cap(tmp_path):
    """An A0 poster at 300 dpi would be 139 Mpx: it is rendered at a lower dpi instead."""
    from pipeline.reading.pdf import MAX_RENDER_PIXELS

    path = _image_only_page(tmp_path / "poster.pdf", 2384, 3370)
    doc = open_document(path, str(path))
    page = next(iter(iter_pages(doc, "poster", "0" * 64, source=str(path))))
    assert page.image is not None and page.image.size <= MAX_RENDER_PIXELS
    assert 72 <= page.image_dpi < 300
    assert abs(page.image.shape[1] - 2384 / 72 * page.image_dpi) <= 1  # coordinates stay consistent with the dpi


def test_page_too_large_to_render_is_refused_by_name(tmp_path):
    """A damaged or hostile MediaBox (here 14,400 pt square) must not allocate gigapixels."""
    path = _image_only_page(tmp_path / "huge.pdf", 14400, 14400)
    doc = open_document(path, str(path))
    with pytest.raises(ParseError, match=r"huge.pdf.*page 1: 14400×14400 pt is too large to render"):
        list(iter_pages(doc, "huge", "0" * 64, source=str(path)))


def test_reading_pdfs_loads_no_pymupdf_add_on_and_keeps_glyph_boxes_uncorrected():
    """pymupdf 2 imports pymupdf4llm (onnxruntime, a layout model) from ``import pymupdf``; the
    pipeline skips it but keeps the MuPDF option it set, on which every golden's glyph boxes rest."""
    import json
    import os
    import subprocess
    import sys

    probe = (
        "import json, sys\n"
        "import pipeline.reading.pdf, pymupdf\n"
        "loaded = sorted(m for m in ('pymupdf4llm', 'pymupdf.layout', 'onnxruntime') if sys.modules.get(m) is not None)\n"
        "print(json.dumps({'loaded': loaded, 'uncorrected': bool(pymupdf.TOOLS.unset_quad_corrections())}))\n"
    )
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", probe], cwd=repo, env=dict(os.environ, PYTHONPATH=str(repo)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"loaded": [], "uncorrected": True}
