"""Mark tables of any document: every marked cell with its row and full column path.

The tables are generated with their gold (tests/mark_tables_pdf.py) in the
layouts government documents use: merged row groups, three-level headers,
leaf sub-columns split by dotted, dashed or thin-rectangle rules, headers set
one character per line, and every mark class, typed or drawn. Scans are in
benchmarks/marks_tables.py (OCR makes them slow); one small scan runs here.
"""

from __future__ import annotations

from dataclasses import replace

import pymupdf
import pytest

from extractors.grids.grid import Edge, cell_boxes_from_edges, join_dotted
from extractors.mark_tables import extract_mark_tables
from extractors.grids.marks import classify_symbol
from extractors.matrix import extract_matrices
from pipeline.reading.pdf import iter_pages
from tests.mark_tables_pdf import (
    dotted_layout, f1, gold, gold_positional, labelled, layouts, leaves, positional, render, render_scan, shelter_layout,
    with_rule,
)


def _pages(pdf: bytes, doc_id: str = "t"):
    return list(iter_pages(pymupdf.open(stream=pdf, filetype="pdf"), doc_id, "0" * 64))


@pytest.mark.parametrize("mode", ["text", "drawn"])
@pytest.mark.parametrize("layout", layouts(), ids=lambda layout: layout.name)
def test_every_mark_with_its_row_and_column_path(layout, mode):
    records = extract_mark_tables(_pages(render(layout, mode)))
    assert f1(labelled(records), gold(layout))["f1"] == 1.0
    shape = [r for r in records if r.dataset == "mark_tables"]
    assert len(shape) == 1
    assert shape[0].values["n_rows"] == len(layout.rows)
    assert shape[0].values["row_labels"] == [row[-1] for row in layout.rows]


@pytest.mark.parametrize("rule", ["solid", "dotted", "dashed", "rect"])
def test_leaf_columns_split_by_any_kind_of_rule(rule):
    layout = with_rule(layouts()[1], rule)
    records = extract_mark_tables(_pages(render(layout)))
    assert f1(labelled(records), gold(layout))["f1"] == 1.0
    # No merged "●●●" cells: every mark sits in its own leaf column.
    assert all(r.values["mark_raw"] == "●" for r in records if r.dataset == "marks")


def test_vertical_headers_read_as_one_label_and_paths_follow_spans():
    layout = layouts()[1]
    records = [r for r in extract_mark_tables(_pages(render(layout))) if r.dataset == "marks"]
    paths = {tuple(r.values["column_path"]) for r in records}
    assert ("取組の状況", "推進体制", "一部") in paths
    assert ("備考欄", "要検討") in paths  # a leaf that spans down to the bottom header row


def test_merged_row_groups_repeat_their_label():
    layout = shelter_layout()
    records = [r for r in extract_mark_tables(_pages(render(layout))) if r.dataset == "marks"]
    by_label = {r.values["row_label"]: r.values["row_headers"] for r in records}
    for row in layout.rows:
        if row[-1] in by_label:
            assert by_label[row[-1]] == row


def test_dotted_rule_is_joined_and_a_lone_dot_is_not():
    dots = [Edge("v", 100.0, y, 100.0, y + 0.6) for y in range(0, 40, 2)]
    joined = join_dotted(dots)
    assert len(joined) == 1 and joined[0].top == 0 and joined[0].bottom == pytest.approx(38.6)
    assert join_dotted([Edge("v", 100.0, 10.0, 100.0, 10.6)]) == []
    # Far-apart dots are not a rule.
    assert join_dotted([Edge("v", 100.0, y, 100.0, y + 0.6) for y in range(0, 100, 20)]) == []


def test_mark_classes_from_unicode_names():
    assert [classify_symbol(c) for c in "●⚫○〇◯◎△▲×✕✓✔―－"] == list("●●○○○◎△△××✓✓——")
    assert classify_symbol("県") is None and classify_symbol("●●") is None


def test_a_mark_table_that_is_no_consortium_matrix_is_not_claimed_by_it():
    # A village plan's 避難場所 × hazard table: a 名称 column and 〇 marks, but no 採択 or 地域名.
    layout = replace(shelter_layout(), row_titles=["地区", "避難場所の名称"])
    pages = _pages(render(layout))
    assert [r for r in extract_matrices(pages) if r.dataset == "consortia"] == []
    assert f1(labelled(extract_mark_tables(pages)), gold(layout))["f1"] == 1.0


def test_a_legend_is_not_a_mark_table():
    doc = pymupdf.open()
    page = doc.new_page()
    shape = page.new_shape()
    for y in (100, 120):
        for x0, x1 in ((100, 120), (120, 220)):
            shape.draw_rect(pymupdf.Rect(x0, y, x1, y + 20))
    shape.finish(color=(0, 0, 0), width=0.6)
    shape.commit()
    page.insert_text((105, 115), "●", fontname="japan", fontsize=9)
    page.insert_text((125, 115), "主なテーマ", fontname="japan", fontsize=9)
    page.insert_text((105, 135), "○", fontname="japan", fontsize=9)
    page.insert_text((125, 135), "関連テーマ", fontname="japan", fontsize=9)
    assert extract_mark_tables(_pages(doc.tobytes())) == []


@pytest.mark.slow
def test_scanned_mark_table_gives_the_text_result(tmp_path, monkeypatch):
    monkeypatch.setenv("NICHIIKI_OCR_CACHE", str(tmp_path))
    layout = shelter_layout()
    records = extract_mark_tables(_pages(render_scan(layout, dpi=200)))
    assert f1(positional(records, layout), gold_positional(layout))["f1"] == 1.0
    # Labels come from OCR (tesseract misreads a few kanji); structure and marks must be exact.
    assert f1(labelled(records), gold(layout))["f1"] >= 0.75
    assert all(r.values["ocr"] and r.values["mark_source"] == "pixels" for r in records if r.dataset == "marks")


@pytest.mark.parametrize("repeat_header", [True, False])
def test_a_table_split_over_pages_is_one_table(repeat_header):
    layout = shelter_layout()
    first, second = replace(layout, rows=layout.rows[:6], marks=layout.marks[:6]), replace(layout, rows=layout.rows[6:], marks=layout.marks[6:])
    doc = pymupdf.open(stream=render(first), filetype="pdf")
    rest = pymupdf.open(stream=render(second), filetype="pdf")
    if not repeat_header:
        # Cut the header rows off the second page: the body goes on where the first page stopped.
        page = rest[0]
        grid_top = 70.0 + 2 * 8.0 * 2.2  # the generator's header: two rows of 2.2 × font size
        page.add_redact_annot(pymupdf.Rect(0, 0, page.rect.width, grid_top - 0.5))
        page.apply_redactions(images=0, graphics=1, text=0)
    doc.insert_pdf(rest)
    records = extract_mark_tables(_pages(doc.tobytes()))
    tables = [r for r in records if r.dataset == "mark_tables"]
    assert len(tables) == 1 and tables[0].values["pages"] == [1, 2]
    assert tables[0].values["row_labels"] == [row[-1] for row in layout.rows]
    assert f1(labelled(records), gold(layout))["f1"] == 1.0


def test_a_column_nobody_marked_is_part_of_the_shape():
    layout = shelter_layout()
    unmarked = replace(layout, marks=[{j: m for j, m in marks.items() if j != 2} for marks in layout.marks])
    records = extract_mark_tables(_pages(render(unmarked)))
    shape = [r.values for r in records if r.dataset == "mark_tables"][0]
    assert shape["columns"] == [f"災害の種類 / {h}" for h in ("洪水", "土砂災害", "高潮", "地震", "津波", "大規模な火事")]
    assert f1(labelled(records), gold(unmarked))["f1"] == 1.0


def test_chart_gridlines_with_markers_are_not_a_mark_table():
    doc = pymupdf.open()
    page = doc.new_page()
    shape = page.new_shape()
    for k in range(6):
        shape.draw_line((100, 100 + 20 * k), (300, 100 + 20 * k))
        shape.draw_line((100 + 40 * k, 100), (100 + 40 * k, 200))
    shape.finish(color=(0.6, 0.6, 0.6), width=0.5)
    for k in range(5):  # a line chart's markers, one per gridline cell
        shape.draw_circle((120 + 40 * k, 110 + 20 * (k % 3)), 3)
        shape.finish(color=(0, 0, 0), fill=None, width=0.8)
    shape.commit()
    assert extract_mark_tables(_pages(doc.tobytes())) == []


def test_scanned_dotted_rule_must_meet_the_rulings():
    import numpy as np

    from extractors.grids.scan_grid import _dotted_rules, _network

    dpi = 200.0
    ink = np.zeros((400, 400), np.uint8)
    ink[50:53, 50:350] = 255  # the table's top and bottom rules, and its sides
    ink[300:303, 50:350] = 255
    ink[50:303, 50:53] = 255
    ink[50:303, 347:350] = 255
    for y in range(56, 298, 7):  # a dotted column rule from top to bottom rule
        ink[y : y + 2, 200:202] = 255
    for x in range(90, 180, 7):  # a row of short strokes inside a cell (ー, 一, dots of シ)
        ink[150:152, x : x + 3] = 255
    network = _network(ink, int(0.4 * dpi))
    h, v = _dotted_rules(ink, network, dpi, int(0.15 * dpi))
    assert v[150, 200:202].any() and v[60, 200:202].any()
    assert not h[150, 90:180].any()


# ---------------------------------------------------------------- scans: marks from pixels, labels by OCR


def _scanned_body_marks(layout, dpi: int) -> list[tuple[int, int, str]]:
    """(body row, leaf column, class) of every mark read from the scan's pixels (no OCR)."""
    from extractors.grids.scan_grid import find_scanned_grids

    (page,) = _pages(render_scan(layout, dpi=dpi))
    grid = max(find_scanned_grids(page, None, read_text=False), key=lambda g: len(g.cells))
    first = min(c.row for c in grid.cells if c.mark)
    offset = len(layout.row_titles)
    return sorted((c.row - first, c.col - offset, c.mark) for c in grid.cells if c.mark)


@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_scanned_skill_matrix_marks_read_from_pixels(dpi):
    # Small ◎ (its inner ring lost or run into the outer one by any page-wide threshold), △ whose
    # hole blurs round at 150 dpi, and a dashed rule between two marks lost at 150 dpi.
    layout = layouts()[2]
    assert {m for marks in layout.marks for m in marks.values()} == set("◎○△×")
    assert _scanned_body_marks(layout, dpi) == sorted(gold_positional(layout))


def _gray_mark(kind: str, scale: float, blur: float) -> "np.ndarray":
    import cv2
    import numpy as np

    size = int(40 * scale)
    img = np.full((size, int(1.6 * size)), 255, np.uint8)
    centre, r = (img.shape[1] // 2, size // 2), int(11 * scale)
    stroke = max(1, int(round(1.6 * scale)))
    if kind == "●":
        cv2.circle(img, centre, r, 0, -1, lineType=cv2.LINE_AA)
    else:
        cv2.circle(img, centre, r, 0, stroke, lineType=cv2.LINE_AA)
    if kind == "◎":
        cv2.circle(img, centre, int(r * 0.55), 0, stroke, lineType=cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), blur * scale) if blur else img


@pytest.mark.parametrize("scale", [0.7, 1.0, 2.0])
@pytest.mark.parametrize("kind", ["●", "○", "◎"])
def test_round_marks_counted_from_the_gray_profile(kind, scale):
    from extractors.grids.mark_pixels import PixelReading, binarize, classify_cell, refine_round

    for blur in (0.0, 1.2):
        gray = _gray_mark(kind, scale, blur)
        ink = binarize(gray)
        first = classify_cell(ink)
        assert first.kind == "mark", first
        reading = refine_round(gray, ink, first)
        assert reading.mark == kind, (blur, first, reading)
        # Whatever the binarized reading was (the rings merged: ● or ○), the profile decides.
        for wrong in ("●", "○"):
            forced = refine_round(gray, ink, PixelReading("mark", wrong, 0.3, "forced"))
            assert forced.mark == kind, (blur, wrong, forced)


def test_a_triangle_whose_hole_blurred_round_has_three_corners():
    import cv2
    import numpy as np

    from extractors.grids.mark_pixels import _corners

    tri = np.zeros((40, 40), np.uint8)
    cv2.polylines(tri, [np.array([[20, 6], [34, 32], [6, 32]])], True, 1, 4)
    disc = np.zeros((40, 40), np.uint8)
    cv2.circle(disc, (20, 20), 13, 1, -1)
    assert _corners(tri) == 3 and _corners(disc) >= 4


def _rendered_cell(text: str, vertical: bool, width_chars: int = 1) -> "np.ndarray":
    """A header cell's text as a cleaned gray image (black on white), set as the generator sets it."""
    import numpy as np

    from tests.mark_tables_pdf import _font

    fs = 8.0
    doc = pymupdf.open()
    page = doc.new_page(width=fs * (width_chars + 2), height=fs * (len(text) * 1.15 + 2))
    writer = pymupdf.TextWriter(page.rect)
    if vertical:
        for k, ch in enumerate(text):
            writer.append((fs, fs * 2 + k * fs * 1.15), ch, font=_font(), fontsize=fs)
    else:
        for k in range(0, len(text), width_chars):
            writer.append((fs, fs * 2 + (k // width_chars) * fs * 1.15), text[k : k + width_chars], font=_font(), fontsize=fs)
    writer.write_text(page)
    pix = page.get_pixmap(dpi=300, colorspace=pymupdf.csGRAY)
    return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).copy()


def test_a_header_set_one_character_per_line_is_cut_into_its_characters():
    from extractors.grids.cell_ocr import vertical_characters

    assert len(vertical_characters(_rendered_cell("一部", vertical=True)) or []) == 2
    assert len(vertical_characters(_rendered_cell("全体", vertical=True)) or []) == 2
    assert len(vertical_characters(_rendered_cell("二部", vertical=True)) or []) == 2  # 二: two pieces, one character
    # Lines of several characters each (a wrapped horizontal header) are not a column.
    assert vertical_characters(_rendered_cell("マーケティング", vertical=False, width_chars=3)) is None
    assert vertical_characters(_rendered_cell("計画", vertical=False, width_chars=2)) is None


def test_an_ocr_misread_header_is_repaired_by_the_lexicon():
    from extractors.mark_tables import _repaired_header

    assert _repaired_header("高齡者") == "高齢者"
    assert _repaired_header("社会福祉士") == "社会福祉士"


@pytest.mark.slow
@pytest.mark.parametrize("name,dpi", [("dotted", 200), ("skills", 300), ("skills", 150)])
def test_scanned_mark_table_labels_are_the_text_result(name, dpi, tmp_path, monkeypatch):
    # dotted: a lone 一 of a header set one character per line (read as 二 or lost on the page);
    # skills: 高齢者 read 高齡者, and ◎ read from pixels.
    monkeypatch.setenv("NICHIIKI_OCR_CACHE", str(tmp_path))
    layout = {lay.name: lay for lay in layouts()}[name]
    records = extract_mark_tables(_pages(render_scan(layout, dpi=dpi)))
    assert f1(labelled(records), gold(layout))["f1"] == 1.0


def test_a_fine_dotted_rule_blurred_into_short_dashes_still_splits_the_header():
    # At 150 dpi, skewed, two or three dots of a 2 pt-pitch dotted rule run together; the leaf
    # headers 全体 | 一部 must stay two cells, as the body cells below them are.
    from extractors.grids.scan_grid import find_scanned_grids

    layout = dotted_layout(21)
    (page,) = _pages(render_scan(layout, dpi=150, angle=0.5, noise=3))
    grid = max(find_scanned_grids(page, None, read_text=False), key=lambda g: len(g.cells))
    first = min(c.row for c in grid.cells if c.mark)
    leaf_headers = [c for c in grid.cells if c.row + c.row_span == first and c.col >= 1]
    assert all(c.col_span == 1 for c in leaf_headers), [(c.row, c.col, c.col_span) for c in leaf_headers]
    assert len(leaf_headers) == len(leaves(layout.tree))
