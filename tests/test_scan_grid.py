"""Scanned matrices: grid from pixels, marks from pixels, text by OCR — same answers as the text PDF."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pymupdf
import pytest

from conftest import SAMPLES
from extractors.grids.grid import Grid
from extractors.grids.mark_pixels import classify_cell
from extractors.matrix import extract_matrices, page_grids
from extractors.grids.scan_grid import estimate_skew, find_scanned_grids, rotate
from pipeline.reading.pdf import iter_pages, open_document
from pipeline.model.records import Record
from tests.matrix_pdf import MatrixSpec, Variant, render
from tests.scan_pdf import scan

TEXT_PDF = SAMPLES / "mlit_r7_senkoteki.pdf"
SCAN_PDF = SAMPLES / "mlit_r7_ichiran_scan.pdf"


# ---------------------------------------------------------------- pixel classifier


def _canvas(scale: float) -> np.ndarray:
    return np.zeros((int(60 * scale), int(130 * scale)), np.uint8)


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_pixel_classifier_reads_disc_ring_dash_at_any_size(scale):
    centre = (int(65 * scale), int(30 * scale))
    disc, ring, dash = _canvas(scale), _canvas(scale), _canvas(scale)
    cv2.circle(disc, centre, int(14 * scale), 255, -1, lineType=cv2.LINE_AA)
    cv2.circle(ring, centre, int(14 * scale), 255, max(1, int(2.5 * scale)), lineType=cv2.LINE_AA)
    cv2.rectangle(dash, (int(50 * scale), int(29 * scale)), (int(80 * scale), int(31 * scale) + 1), 255, -1)
    for ink, mark in [(disc, "●"), (ring, "○"), (dash, "—")]:
        reading = classify_cell(ink)
        assert (reading.kind, reading.mark) == ("mark", mark), reading
        assert reading.confidence >= 0.6


def test_pixel_classifier_tells_empty_specks_and_text_apart():
    assert classify_cell(_canvas(1)).kind == "empty"
    dusty = _canvas(1)
    for x, y in [(10, 10), (100, 45), (60, 20)]:
        cv2.circle(dusty, (x, y), 1, 255, -1)
    assert classify_cell(dusty).kind == "empty"
    text = _canvas(1)
    cv2.putText(text, "1st", (20, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 2)
    assert classify_cell(text).kind == "text"


def test_half_filled_blob_is_flagged_not_trusted():
    blob = _canvas(1)
    cv2.ellipse(blob, (65, 30), (14, 14), 0, 0, 180, 255, -1)  # ◓-like: half disc
    cv2.circle(blob, (65, 30), 14, 255, 2)
    reading = classify_cell(blob)
    assert reading.kind == "mark" and reading.confidence < 0.6


def test_deskew_recovers_the_angle_and_maps_back():
    img = np.full((600, 900), 255, np.uint8)
    for y in range(100, 500, 40):
        cv2.line(img, (100, y), (800, y), 0, 2)
    m = cv2.getRotationMatrix2D((450, 300), 1.3, 1.0)
    skewed = cv2.warpAffine(img, m, (900, 600), borderValue=255)
    angle = estimate_skew((skewed < 128).astype(np.uint8) * 255)
    assert abs(angle + 1.3) < 0.1
    straight, back = rotate(skewed, angle)
    # A point on the straightened page maps back onto the skewed one.
    ys, xs = np.nonzero(straight < 100)
    x, y = float(xs[len(xs) // 2]), float(ys[len(ys) // 2])
    bx, by = back @ np.array([x, y, 1.0])
    assert skewed[int(round(by)), int(round(bx))] < 200


# ---------------------------------------------------------------- scanned variants of the text PDF


def _pages(pdf: bytes | Path, doc_id: str = "v"):
    doc = pymupdf.open(pdf) if isinstance(pdf, Path) else pymupdf.open(stream=pdf, filetype="pdf")
    return list(iter_pages(doc, doc_id, "0" * 64))


@pytest.fixture(scope="module")
def text_matrix_grids() -> list[Grid]:
    """The text PDF's matrix pages (found by content: grids holding marks)."""
    grids = [g for page in _pages(TEXT_PDF) for g in page_grids(page) if sum(c.mark == "●" for c in g.cells) >= 5]
    assert len(grids) == 2
    return grids


def _cell_classes(grid: Grid) -> dict[tuple[int, int], str]:
    out = {}
    for cell in grid.cells:
        if cell.mark:
            out[(cell.row, cell.col)] = cell.mark
        elif cell.text.strip() or (cell.note or "").startswith("text not read"):
            out[(cell.row, cell.col)] = "text"
        else:
            out[(cell.row, cell.col)] = "empty"
    return out


SCANS = {
    "150dpi_rotated_-1.5": dict(dpi=150, angle=-1.5, noise=4),
    "200dpi_rotated_1_noisy_dusty": dict(dpi=200, angle=1.0, noise=12, specks=300, seed=7),
}


@pytest.mark.parametrize("name", sorted(SCANS))
def test_scanned_variant_has_same_grid_and_marks(name, text_matrix_grids):
    source = TEXT_PDF.read_bytes()
    page_index = 4  # the second matrix page: continues without new structure
    truth = text_matrix_grids[1]
    page = _pages(scan(source, pages=[page_index], **SCANS[name]))[0]
    grids = find_scanned_grids(page, read_text=False)
    grid = max(grids, key=lambda g: len(g.cells))
    assert (grid.n_rows, grid.n_cols) == (truth.n_rows, truth.n_cols)
    assert _cell_classes(grid) == _cell_classes(truth)
    # Boxes refer to the scanned page as it is (skewed): each cell's centre
    # is where the scanner's rotation put the text PDF's cell.
    rotation = cv2.getRotationMatrix2D((page.width / 2, page.height / 2), SCANS[name]["angle"], 1.0)
    truth_boxes = {(c.row, c.col): c.bbox for c in truth.cells}
    for cell in grid.cells:
        t = truth_boxes[(cell.row, cell.col)]
        ex, ey = rotation @ np.array([(t[0] + t[2]) / 2, (t[1] + t[3]) / 2, 1.0])
        assert abs((cell.bbox[0] + cell.bbox[2]) / 2 - ex) < 1.5
        assert abs((cell.bbox[1] + cell.bbox[3]) / 2 - ey) < 1.5


# ---------------------------------------------------------------- end to end with OCR


def _mark_cells(records: list[Record]) -> set[tuple[int, int, str]]:
    """(row, theme column number, mark): columns numbered left to right per page.

    Theme labels of a scan carry OCR noise and its boxes sit where the
    scanner put them, so columns are compared by their order on the page.
    """
    marks = [r for r in records if r.dataset == "theme_marks"]
    x_of: dict[tuple[int, str], list[float]] = {}
    for r in marks:
        x_of.setdefault((r.provenance.page, r.values["theme"]), []).append((r.provenance.bbox[0] + r.provenance.bbox[2]) / 2)
    order: dict[tuple[int, str], int] = {}
    for page in {p for p, _ in x_of}:
        columns = sorted((sum(xs) / len(xs), theme) for (p, theme), xs in x_of.items() if p == page)
        order.update({(page, theme): n for n, (_, theme) in enumerate(columns)})
    return {(r.values["row"], order[(r.provenance.page, r.values["theme"])], r.values["mark"]) for r in marks}


def _same_marks(text: list[Record], scanned: list[Record]) -> None:
    expected, got = _mark_cells(text), _mark_cells(scanned)
    assert len(got) == len(expected)
    assert got == expected


def _consortia(records: list[Record]) -> list[tuple]:
    return [(r.values["row"], r.values["round"], r.values["tour"], r.values["ocr"]) for r in records if r.dataset == "consortia"]


@pytest.fixture(scope="module")
def sample_scan_records(tmp_path_factory) -> tuple[list[Record], list[Record]]:
    text = extract_matrices(_pages(TEXT_PDF, "mlit_r7_senkoteki"))
    doc = open_document(SCAN_PDF, str(SCAN_PDF))
    pages = list(iter_pages(doc, "mlit_r7_ichiran_scan", "0" * 64))
    import os

    os.environ["NICHIIKI_OCR_CACHE"] = str(tmp_path_factory.mktemp("ocr-cache"))
    try:
        scanned = extract_matrices(pages)
    finally:
        del os.environ["NICHIIKI_OCR_CACHE"]
    return text, scanned


@pytest.mark.slow
def test_sample_scan_yields_the_text_pdfs_rows_tours_and_marks(sample_scan_records):
    text, scanned = sample_scan_records
    text_rows = [c[:3] for c in _consortia(text)]
    scan_rows = _consortia(scanned)
    assert len(scan_rows) == 44
    assert [c[:3] for c in scan_rows] == text_rows
    assert all(c[3] is True for c in scan_rows)
    _same_marks(text, scanned)
    marks = [r for r in scanned if r.dataset == "theme_marks"]
    assert {r.values["mark_source"] for r in marks} == {"pixels"}
    assert all(0.6 <= r.values["confidence"] <= 1.0 for r in marks)


@pytest.mark.slow
def test_sample_scan_headers_and_names_are_read(sample_scan_records):
    _, scanned = sample_scan_records
    marks = [r for r in scanned if r.dataset == "theme_marks"]
    # Group headers come from OCR; both groups are found on both pages.
    assert {r.values["group"].rstrip("・") for r in marks} == {"中長期的課題", "取組テーマ"}
    names = [r.values["consortium_name_raw"] for r in scanned if r.dataset == "consortia"]
    # Names carry OCR noise (the cleaning stage repairs it) but are read.
    assert sum("コンソーシアム" in n for n in names) >= 20
    assert all(len(n) >= 5 for n in names)


@pytest.mark.slow
def test_scanned_table_continued_without_header_rows(tmp_path):
    spec = MatrixSpec(
        groups=[("中長期的課題", ["経費削減", "生活環境"]), ("取組テーマ", ["域内交通", "防災", "住まい"])],
        rows=[
            {"round": 1 + (i % 3), "region": f"{name}市", "name": f"{name}二地域居住推進コンソーシアム", "tour": [True, False, None][i % 3],
             "marks": {t: m for t, m in zip(["経費削減", "生活環境", "域内交通", "防災", "住まい"], pattern)}}
            for i, (name, pattern) in enumerate(zip(
                ["釧路", "函館", "青森", "盛岡", "仙台", "秋田", "山形", "福島"],
                [["●", "", "○", "", "○"], ["", "●", "", "○", ""], ["●", "", "", "", "○"], ["", "●", "○", "○", "○"],
                 ["●", "", "○", "", ""], ["", "●", "", "", "○"], ["●", "", "○", "○", ""], ["", "●", "", "○", "○"]],
            ))
        ],
    )
    source = render(spec, Variant(repeat_header=False, rows_per_page=4, fontsize=9))
    text = extract_matrices(_pages(source))
    scanned = extract_matrices(_pages(scan(source, dpi=200, angle=0.8, noise=5)))
    assert len(_consortia(text)) == 8
    assert [c[:3] for c in _consortia(scanned)] == [c[:3] for c in _consortia(text)]
    _same_marks(text, scanned)


def test_dust_on_a_heavy_noise_scan_is_flagged_not_read_as_marks(text_matrix_grids):
    truth = text_matrix_grids[0]
    # The benchmark's harshest variant (benchmarks/marks_variants.py), first page.
    page = _pages(scan(TEXT_PDF.read_bytes(), pages=[3, 4], dpi=150, angle=-0.7, noise=15, specks=300, seed=5))[0]
    grid = max(find_scanned_grids(page, read_text=False), key=lambda g: len(g.cells))
    # No dust became a mark: every mark read is the text PDF's mark there.
    # (Noise this heavy can erase thin rules, merging a few cells; the
    # benchmark counts those as errors.)
    read = [(c, truth.cell_at(c.row, c.col)) for c in grid.cells if c.mark]
    assert len(read) >= 0.9 * sum(1 for c in truth.cells if c.mark)
    assert all(t is not None and t.mark == c.mark for c, t in read)
    flagged = [c for c in grid.cells if (c.note or "").startswith("low confidence")]
    assert flagged, "dust this heavy must leave some cells for review"
    # Flagged: dust (no mark) or a mark whose outline dust has spoiled (still right).
    assert all((c.mark is None and "dust" in c.note) or c.mark == truth.cell_at(c.row, c.col).mark for c in flagged)
    assert sum(c.mark is None for c in flagged) > len(flagged) / 2


@pytest.mark.slow
def test_sample_scan_lists_uncertain_cells_for_review(sample_scan_records):
    _, scanned = sample_scan_records
    reviews = [r.values for r in scanned if r.dataset == "cell_reviews"]
    assert all(v["reason"].startswith("low confidence") for v in reviews)
    # Only label text is uncertain on this scan; no mark cell is.
    assert all(v["mark"] is None for v in reviews)


def test_ink_split_from_level_counts_equals_the_split_from_the_pixels():
    """Paper's median and the dark class's mean come from the 256 level counts, not from sorting a
    page of pixels: the split must be the one the pixels themselves give, on every kind of page."""
    import cv2

    from extractors.grids.mark_pixels import _ink_split

    def from_pixels(gray: np.ndarray) -> float:
        otsu, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        dark = gray[gray < otsu]
        paper = float(np.median(gray[gray >= otsu])) if (gray >= otsu).any() else 255.0
        if dark.size == 0 or float(dark.mean()) <= paper / 2:
            return float(otsu)
        within, _ = cv2.threshold(dark.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        return float(within)

    rng = np.random.default_rng(3)
    for trial in range(800):
        h, w = (int(v) for v in rng.integers(1, 60, 2))
        kind = trial % 4
        if kind == 0:  # noise
            gray = rng.integers(0, 256, (h, w))
        elif kind == 1:  # one level: no dark class
            gray = np.full((h, w), rng.integers(0, 256))
        elif kind == 2:  # ink on paper
            gray = np.where(rng.random((h, w)) < rng.random(), rng.integers(0, 80), rng.integers(150, 256)) + rng.integers(0, 30, (h, w))
        else:  # shading over paper with a little ink: the darker class is re-split
            gray = np.where(rng.random((h, w)) < 0.3, 200, 240) - rng.integers(0, 90, (h, w)) * (rng.random((h, w)) < 0.1)
        gray = np.clip(gray, 0, 255).astype(np.uint8)
        assert _ink_split(gray) == from_pixels(gray), trial


def test_median_level_is_numpys_median_of_the_counted_levels():
    from extractors.grids.mark_pixels import _median_level

    rng = np.random.default_rng(5)
    for trial in range(500):
        first = int(rng.integers(0, 200))
        values = rng.integers(first, 256, int(rng.integers(1, 40)))
        counts = np.bincount(values, minlength=256)[first:]
        assert _median_level(counts, first) == float(np.median(values)), trial


@pytest.mark.parametrize("level", [0, 128, 255])
def test_a_page_of_one_gray_level_holds_no_grid_and_is_not_searched(level, monkeypatch):
    import extractors.grids.scan_grid as scan_grid
    from pipeline.model.records import ParsedPage

    def blank_page() -> ParsedPage:
        return ParsedPage("d", "0" * 64, 1, 144, 216, chars=(), image=np.full((900, 600), level, np.uint8), image_dpi=300)

    with monkeypatch.context() as searched:
        searched.setattr(scan_grid, "estimate_skew", lambda ink: pytest.fail("a blank page was searched"))
        assert find_scanned_grids(blank_page()) == []
    # The whole search, the shortcut turned off, finds nothing there either.
    monkeypatch.setattr(scan_grid, "blank", lambda gray: False)
    assert find_scanned_grids(blank_page()) == []


@pytest.mark.slow
def test_a_page_without_two_vertical_boundaries_is_not_searched_further_and_no_grid_changes(monkeypatch):
    import extractors.grids.scan_grid as scan_grid

    notice = SAMPLES / "mic_tsuchi_71_scan.pdf"
    pages = list(iter_pages(open_document(notice, str(notice)), "notice", "0" * 64))[:3]
    pages += list(iter_pages(open_document(SCAN_PDF, str(SCAN_PDF)), "ichiran", "0" * 64))[:1]
    sought: list[str] = []
    mask = scan_grid.faint_rule_mask
    monkeypatch.setattr(scan_grid, "faint_rule_mask", lambda gray, dpi, orientation: sought.append(orientation) or mask(gray, dpi, orientation))
    gated = []
    for page in pages:
        sought.clear()
        gated.append((find_scanned_grids.__wrapped__(page, read_text=False), list(sought)))
    # A page of the notice's text is left once its vertical boundaries are counted; the ichiran's
    # table is searched both ways.
    assert [found for found, _ in gated][:3] == [[], [], []] and len(gated[3][0]) == 1
    assert any(orientations == ["v"] for _, orientations in gated[:3])
    assert gated[3][1] == ["v", "h"]
    # Without the shortcut the whole search finds the same grids, cell for cell.
    monkeypatch.setattr(scan_grid, "could_hold_cells", lambda ruled, fill: True)
    assert [find_scanned_grids.__wrapped__(page, read_text=False) for page in pages] == [found for found, _ in gated]
