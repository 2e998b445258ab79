"""Scanned grids under what unseen renderings do to rulings: marks touching them, faint grey
rules beside dense text, a table the page breaks open, shaded bold headers.

Each page is drawn here in pixels (so its truth is known exactly) and wrapped as an
image-only PDF page, then read by the scan path without OCR.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pymupdf
import pytest

from extractors.grids.grid import Cell, Grid
from extractors.grids.mark_pixels import classify_cell
from extractors.matrix import DEFAULT_SETTINGS, _columns
from extractors.grids.scan_grid import find_scanned_grids
from pipeline.reading.pdf import iter_pages

DATA = Path(__file__).parent / "data"
DPI = 150
ROWS, COLS = 6, 7
CELL_W, CELL_H = 90, 45  # pixels at 150 dpi: 0.6 × 0.3 inch
LEFT, TOP = 60, 60


def _page(img: np.ndarray, dpi: int = DPI, quality: int = 80):
    """``img`` as the only page of an image-only PDF, parsed as the pipeline parses it."""
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    doc = pymupdf.open()
    h, w = img.shape
    page = doc.new_page(width=w * 72 / dpi, height=h * 72 / dpi)
    page.insert_image(page.rect, stream=jpg.tobytes())
    return next(iter(iter_pages(pymupdf.open(stream=doc.tobytes(), filetype="pdf"), "t", "0" * 64)))


def _table(rule_level: int = 0, open_bottom: bool = False, rows: int = ROWS) -> np.ndarray:
    img = np.full((TOP * 2 + rows * CELL_H + 60, LEFT * 2 + COLS * CELL_W), 255, np.uint8)
    bottom = TOP + rows * CELL_H
    for r in range(rows + (0 if open_bottom else 1)):
        y = TOP + r * CELL_H
        cv2.line(img, (LEFT, y), (LEFT + COLS * CELL_W, y), rule_level, 1)
    for c in range(COLS + 1):
        x = LEFT + c * CELL_W
        # A page that breaks the table draws its column rules on to the page's cut.
        cv2.line(img, (x, TOP), (x, bottom + (0 if not open_bottom else -CELL_H // 8)), rule_level, 1)
    return img


def _centre(r: int, c: int) -> tuple[int, int]:
    return LEFT + c * CELL_W + CELL_W // 2, TOP + r * CELL_H + CELL_H // 2


def _noisy(img: np.ndarray, sigma: float = 6.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def _marks(page) -> tuple[Grid, dict[tuple[int, int], str]]:
    grids = find_scanned_grids(page, None, read_text=False)
    assert grids, "no grid found"
    grid = max(grids, key=lambda g: len(g.cells))
    return grid, {(c.row, c.col): c.mark for c in grid.cells if c.mark in ("●", "○")}


def test_marks_touching_and_crossing_the_rules_are_read():
    """A disc as tall as its row joins the rules it touches; a ring crossing a rule is cut open by it."""
    img = _table()
    want = {}
    radius = CELL_H // 2 + 2  # reaches over both of its row's rules
    for r in range(1, ROWS):
        disc, ring = (r, 1 + (r % 3)), (r, 4 + (r % 3))
        cv2.circle(img, _centre(*disc), radius, 0, -1, lineType=cv2.LINE_AA)
        cv2.circle(img, _centre(*ring), radius, 0, 2, lineType=cv2.LINE_AA)
        want[disc], want[ring] = "●", "○"
    grid, got = _marks(_page(_noisy(img)))
    assert (grid.n_rows, grid.n_cols) == (ROWS, COLS)
    assert got == want


def test_faint_grey_rules_beside_dense_text_make_the_grid():
    """Hairline light-grey rules whose neighbours are dense black text: the ink threshold loses them."""
    img = _table(rule_level=205)
    for r in range(ROWS):
        for c in range(2):
            x, y = LEFT + c * CELL_W + 4, TOP + r * CELL_H + 6
            # Two lines of dense bold text filling the cell.
            cv2.putText(img, "WMWMW", (x, y + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 0, 2)
            cv2.putText(img, "MWMWM", (x, y + 33), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 0, 2)
    want = {(r, 2 + r % 5): "●" for r in range(ROWS)} | {(r, 3 + (r + 2) % 4): "○" for r in range(ROWS)}
    for (r, c), mark in want.items():
        cv2.circle(img, _centre(r, c), 10, 0, -1 if mark == "●" else 2, lineType=cv2.LINE_AA)
    grid, got = _marks(_page(_noisy(img, 8.0), quality=70))
    assert (grid.n_rows, grid.n_cols) == (ROWS, COLS)
    assert got == want


def test_a_row_of_bold_glyphs_is_not_a_rule():
    """Bold header glyphs whose strokes line up, at 150 dpi with JPEG noise, are not a faint rule.

    The crop (tests/data, cut from the variant suite's chromium_landscape scan: the 中長期的課題
    header over two body rows holding one ●) once grew a rule through 中長期的課題 that left a
    piece of the header alone in a cell, read as a disc.
    """
    img = cv2.imread(str(DATA / "scan_header_bold_glyphs.jpg"), cv2.IMREAD_GRAYSCALE)
    _, got = _marks(_page(img, quality=95))
    assert list(got.values()) == ["●"], got


def test_the_row_a_page_break_left_open_is_read():
    """No rule under the last row: the column rules end together at the page's cut."""
    img = _table(open_bottom=True)
    want = {(r, 1 + r % 6): "●" for r in range(ROWS)}
    for (r, c), mark in want.items():
        cv2.circle(img, _centre(r, c), 10, 0, -1, lineType=cv2.LINE_AA)
    grid, got = _marks(_page(_noisy(img)))
    assert grid.n_rows == ROWS
    assert got == want


def test_glyphs_run_together_are_text_not_a_disc():
    """Bold glyphs that merge into one round-ish blob (shaded header text at 150 dpi) are lumpy."""
    blob = np.zeros((80, 112), np.uint8)
    # A block of strokes run together: as tall as wide and solid, but notched between glyphs.
    cv2.rectangle(blob, (26, 10), (86, 70), 255, -1)
    for y in (22, 46):
        cv2.rectangle(blob, (26, y), (44, y + 6), 0, -1)
        cv2.rectangle(blob, (68, y + 4), (86, y + 10), 0, -1)
    cv2.rectangle(blob, (50, 10), (56, 24), 0, -1)
    reading = classify_cell(blob)
    assert reading.mark != "●", reading
    disc = np.zeros((80, 112), np.uint8)
    cv2.circle(disc, (56, 40), 28, 255, -1)
    assert classify_cell(disc).mark == "●"


def _header_grid(tour_marks: list[str | None], tour_label: str) -> Grid:
    box = (0.0, 0.0, 1.0, 1.0)
    cells = [
        Cell(0, 0, 2, 1, box, "採択次"), Cell(0, 1, 2, 1, box, "地域名"), Cell(0, 2, 2, 1, box, "コンソーシアム名"),
        Cell(0, 3, 2, 1, box, tour_label), Cell(0, 4, 1, 3, box, "取組テーマ"),
        Cell(1, 4, 1, 1, box, "防災"), Cell(1, 5, 1, 1, box, "住まい"), Cell(1, 6, 1, 1, box, "交通"),
    ]
    for i, tour in enumerate(tour_marks):
        r = 2 + i
        cells += [Cell(r, 0, 1, 1, box, "1次"), Cell(r, 1, 1, 1, box, f"市{i}"), Cell(r, 2, 1, 1, box, f"協議会{i}"),
                  Cell(r, 3, 1, 1, box, "", tour), Cell(r, 4 + i % 3, 1, 1, box, "", "●")]
    n_rows = 2 + len(tour_marks)
    return Grid(1, box, n_rows, 7, tuple(cells), tuple(range(8)), tuple(range(n_rows + 1)), ocr=True)


def test_the_tour_column_is_found_by_its_answers_when_its_header_is_misread():
    """An OCR'd ツチ施 for ツアー実施: the ungrouped column answering ○ or — in every row is the tour."""
    columns = _columns(_header_grid(["○", "—", "○", "—"], "ツチ施"), 2, DEFAULT_SETTINGS)
    assert columns[3].role == "tour"
    assert [c.role for c in columns[4:]] == [None, None, None]


@pytest.mark.parametrize("answers", [["○", None, "○", "—"], ["○", "○", "○", "○"]])
def test_a_column_that_does_not_answer_every_row_with_a_dash_somewhere_is_not_the_tour(answers):
    columns = _columns(_header_grid(answers, "ツチ施"), 2, DEFAULT_SETTINGS)
    assert all(c.role != "tour" for c in columns)


def test_the_round_column_is_found_by_its_values_when_its_header_is_lost():
    """A two-line 採択/次 header OCR'd as nothing: the column whose every cell names a round (1次) is the round."""
    grid = _header_grid(["○", "—", "○", "—"], "ツアー実施")
    grid = Grid(grid.page_number, grid.bbox, grid.n_rows, grid.n_cols,
                tuple(Cell(c.row, c.col, c.row_span, c.col_span, c.bbox, "" if c.text == "採択次" else c.text, c.mark) for c in grid.cells),
                grid.col_bounds, grid.row_bounds, grid.ocr)
    columns = _columns(grid, 2, DEFAULT_SETTINGS)
    assert [c.role for c in columns[:4]] == ["round", "region", "name", "tour"]


def test_a_column_rule_does_not_run_on_through_a_spanning_header():
    """A glyph set tight on the header's inner rule, one stroke in line with a column rule below:
    the rule must stop at the inner rule, or the spanning header is cut in two."""
    rows, cols, top, inner = 5, 4, TOP, TOP + 30
    img = np.full((TOP * 2 + 30 + rows * CELL_H, LEFT * 2 + cols * CELL_W), 255, np.uint8)
    right = LEFT + cols * CELL_W
    bottom = inner + rows * CELL_H
    cv2.line(img, (LEFT, top), (right, top), 0, 1)
    for r in range(rows + 1):
        cv2.line(img, (LEFT, inner + r * CELL_H), (right, inner + r * CELL_H), 0, 1)
    for c in range(cols + 1):
        x = LEFT + c * CELL_W
        cv2.line(img, (x, top if c in (0, 1, cols) else inner), (x, bottom), 0, 1)
    # A bold kanji-like block of strokes across the rule's line, 1 px above the inner rule.
    x = LEFT + 2 * CELL_W
    cv2.rectangle(img, (x - 13, top + 6), (x + 13, inner - 2), 0, 2)
    for y in range(top + 10, inner - 2, 4):
        cv2.line(img, (x - 13, y), (x + 13, y), 0, 1)
    cv2.line(img, (x, top + 6), (x, inner - 2), 0, 2)
    for r in range(rows):
        cv2.circle(img, (LEFT + (1 + r % 3) * CELL_W + CELL_W // 2, inner + r * CELL_H + CELL_H // 2), 10, 0, -1)
    grids = find_scanned_grids(_page(_noisy(img)), None, read_text=False)
    grid = max(grids, key=lambda g: len(g.cells))
    header = [c for c in grid.cells if c.row == 0 and c.col >= 1]
    assert [(c.col, c.col_span) for c in header] == [(1, 3)], header


def _inches(dpi: int):
    return lambda inches: int(round(inches * dpi))


def test_grey_rules_under_a_shaded_header_larger_than_the_ink_at_300_dpi():
    """A portrait page whose shaded header covers more of it than its ink does (thin grey rules,
    light text, a few marks): a page-wide ink/paper split would fall between paper and shading,
    and the whole header would be solid ink (its cells read as ●, false rules in its noise)."""
    dpi = 300
    px = _inches(dpi)
    rows, cols, head = 5, 12, 2
    cw, ch, hh = px(0.55), px(0.3), px(0.55)
    left = top = px(0.75)
    img = np.full((px(11.69), px(8.27)), 250, np.uint8)
    body, right = top + head * hh, left + cols * cw
    cv2.rectangle(img, (left, top), (right, body), 224, -1)
    ys = [top + r * hh for r in range(head + 1)] + [body + r * ch for r in range(1, rows + 1)]
    for y in ys:
        cv2.line(img, (left, y), (right, y), 166, 2)
    for c in range(cols + 1):
        cv2.line(img, (left + c * cw, top), (left + c * cw, ys[-1]), 166, 2)
    for c in range(cols):
        for r in range(head):
            cv2.putText(img, "Ab", (left + c * cw + px(0.15), top + r * hh + px(0.3)), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 1)
    want = {}
    for r in range(rows):
        for c in (2 + r, 7 + r):
            want[(head + r, c)] = mark = "●" if c % 2 else "○"
            centre = (left + c * cw + cw // 2, body + r * ch + ch // 2)
            cv2.circle(img, centre, px(0.05), 0, -1 if mark == "●" else px(0.012), lineType=cv2.LINE_AA)
    grid, got = _marks(_page(_noisy(img, 12.0), dpi, quality=85))
    assert (grid.n_rows, grid.n_cols) == (head + rows, cols)
    assert got == want


def test_glyph_strokes_stacked_down_a_narrow_column_are_no_dotted_rule():
    """A headerless portrait page: 1次 set one character per line in a narrow column. In every
    row the 1's stem and the two dots of 冫 lie in one column of pixels, short and thin like the
    dots of a dotted rule; row after row they must not add up to a column rule."""
    dpi = 300
    px = _inches(dpi)
    rows, rh = 8, px(0.27)
    left = top = px(0.5)
    xs = [left]
    for w in (0.3, 1.6, 0.3, 0.3, 0.3):
        xs.append(xs[-1] + px(w))
    img = np.full((top * 2 + rows * rh, xs[-1] + left), 255, np.uint8)
    for r in range(rows + 1):
        cv2.line(img, (xs[0], top + r * rh), (xs[-1], top + r * rh), 0, 2)
    for x in xs:
        cv2.line(img, (x, top), (x, top + rows * rh), 0, 2)
    want = {}
    for r in range(rows):
        y, x = top + r * rh, xs[0] + px(0.05)
        cv2.line(img, (x, y + px(0.02)), (x, y + px(0.1)), 0, 2)  # 1: stem and flag
        cv2.line(img, (x, y + px(0.02)), (x - px(0.02), y + px(0.04)), 0, 2)
        cv2.line(img, (x - 2, y + px(0.14)), (x + 4, y + px(0.165)), 0, 2)  # 冫
        cv2.line(img, (x + 4, y + px(0.2)), (x - 2, y + px(0.245)), 0, 2)
        cv2.rectangle(img, (x + px(0.04), y + px(0.14)), (x + px(0.14), y + px(0.25)), 0, 2)  # 欠
        cv2.line(img, (x + px(0.04), y + px(0.25)), (x + px(0.14), y + px(0.14)), 0, 2)
        c = 2 + r % 3
        cv2.circle(img, ((xs[c] + xs[c + 1]) // 2, y + rh // 2), px(0.05), 0, -1, lineType=cv2.LINE_AA)
        want[(r, c)] = "●"
    grid, got = _marks(_page(_noisy(img, 8.0), dpi, quality=85))
    assert (grid.n_rows, grid.n_cols) == (rows, len(xs) - 1)
    assert got == want


def test_strokes_lying_across_a_column_are_no_dots_of_a_vertical_rule():
    """三 over ー down a text cell: short thin strokes, but each lies across the column they
    stack in, as no dot of a vertical dotted rule does; a dotted rule's dots are found all the same."""
    from extractors.grids.scan_grid import _dotted_rules, _network

    dpi = 300
    ink = np.zeros((400, 400), np.uint8)
    ink[50:53, 50:350] = 255  # the table's top and bottom rules, and its sides
    ink[300:303, 50:350] = 255
    ink[50:303, 50:53] = 255
    ink[50:303, 347:350] = 255
    for y in range(58, 296, 12):  # strokes 0.08 in wide, stacked from rule to rule
        ink[y : y + 3, 100:124] = 255
    for y in range(56, 298, 9):  # a dotted column rule
        ink[y : y + 3, 250:253] = 255
    network = _network(ink, int(0.4 * dpi))
    h, v = _dotted_rules(ink, network, dpi, int(0.15 * dpi))
    assert not v[:, 100:124].any()
    assert v[150, 250:253].any()


@pytest.mark.parametrize("orientation", ["h", "v"])
def test_a_boundary_lies_where_its_pixels_are_not_where_a_spur_stretches_its_box(orientation):
    """A boundary that picked up a short spur (the blur of light type set close under a dark
    fill's edge) lies on its line: placed at its box's middle it moved into the first row, and
    the crop inside it cut the top of the marks that sit close to that edge."""
    from extractors.grids.scan_grid import mask_edges

    dpi = 300
    mask = np.zeros((400, 1200), np.uint8)
    mask[100:102, 50:1150] = 255  # the boundary: two pixels thick, rows 100-101
    mask[102:110, 600:630] = 255  # a spur of 8 pixels hanging off it over 30 pixels
    if orientation == "v":
        mask = np.ascontiguousarray(mask.T)
    (edge,) = mask_edges(mask, orientation, dpi)
    where = (edge.top if orientation == "h" else edge.x0) * dpi / 72
    assert 100.0 <= where <= 102.0, where  # on the line's two rows (its box's middle: 105)


@pytest.mark.parametrize("connectivity", [4, 8])
def test_page_components_number_and_measure_components_as_labelling_the_whole_page_does(connectivity):
    """Only the box holding ink is labelled, yet count, labels and stats (the paper's row included)
    are OpenCV's for the whole page: with the box's corner on odd coordinates OpenCV's 2×2 blocks
    would fall elsewhere and number the same components in another order."""
    from extractors.grids.scan_grid import page_components

    rng = np.random.default_rng(7)
    for _ in range(100):
        height, width = (int(v) for v in rng.integers(40, 300, 2))
        mask = np.zeros((height, width), np.uint8)
        y, x = int(rng.integers(1, height // 2)), int(rng.integers(1, width // 2))
        h, w = int(rng.integers(2, height // 3)), int(rng.integers(2, width // 3))
        mask[y : y + h, x : x + w] = (rng.random((h, w)) < 0.3) * 255
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=connectivity)
        got_n, got_labels, got_stats = page_components(mask, connectivity)
        assert got_n == n
        assert np.array_equal(got_labels, labels)
        assert np.array_equal(got_stats, stats)
    empty = np.zeros((30, 20), np.uint8)
    n, labels, stats = page_components(empty, connectivity)
    assert n == 1 and not labels.any() and stats.tolist() == [[0, 0, 20, 30, 600]]
