"""Marks drawn as vector shapes (PowerPoint ovals) read as ●/○, and everything else reported."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from extractors.grids.grid import Cell, Grid
from extractors.grids.mark_shapes import mark_from_shapes
from extractors.grids.marks import read_marks
from extractors.matrix import extract_matrices
from pipeline.reading.pdf import iter_pages, open_document
from pipeline.model.records import ParsedPage, Shape
from tests.matrix_pdf import MatrixSpec, Variant, render

CELL = (100.0, 100.0, 134.0, 116.0)


def _oval(filled: bool, stroked: bool, gray: float | None = 0.0, size: float = 9.0, kind: str = "curve") -> Shape:
    cx, cy = 117.0, 108.0
    return Shape((cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2), kind, filled, stroked, gray if filled else None)


def test_filled_oval_is_disc_and_outline_is_ring():
    assert mark_from_shapes(CELL, [_oval(True, False)]) == ("●", None)
    assert mark_from_shapes(CELL, [_oval(True, True, gray=0.2)]) == ("●", None)
    assert mark_from_shapes(CELL, [_oval(False, True)]) == ("○", None)
    # PowerPoint's default: an oval filled white with a dark outline.
    assert mark_from_shapes(CELL, [_oval(True, True, gray=1.0)]) == ("○", None)


def test_cell_background_is_not_a_mark_and_sets_the_contrast():
    background = Shape(CELL, "rect", True, False, 0.6)
    assert mark_from_shapes(CELL, [background]) == (None, None)
    # On a mid-gray cell, a fill as light as the cell is no disc; a dark one is.
    assert mark_from_shapes(CELL, [background, _oval(True, True, gray=0.6)]) == ("○", None)
    assert mark_from_shapes(CELL, [background, _oval(True, False, gray=0.1)]) == ("●", None)


def test_ring_drawn_as_dark_disc_under_background_disc():
    outer = _oval(True, False, gray=0.0, size=10)
    inner = _oval(True, False, gray=1.0, size=7)
    assert mark_from_shapes(CELL, [outer, inner]) == ("○", None)


def test_double_ring_is_bullseye():
    assert mark_from_shapes(CELL, [_oval(False, True, size=10), _oval(False, True, size=6)]) == ("◎", None)
    # Rings too close in size are one ring drawn twice, not a ◎.
    assert mark_from_shapes(CELL, [_oval(False, True, size=10), _oval(False, True, size=9.5)])[0] is None


@pytest.mark.parametrize(
    "shapes",
    [
        [_oval(True, False, kind="rect")],  # a square ■
        [_oval(True, False, size=9), _oval(True, False, size=5)],  # ◉-like: two dark discs
        [_oval(True, False, gray=1.0)],  # invisible: white on white
        [Shape((105, 104, 125, 112), "curve", True, False, 0.0)],  # a flat ellipse
    ],
)
def test_unknown_shapes_are_reported_not_guessed(shapes):
    mark, note = mark_from_shapes(CELL, shapes)
    assert mark is None
    assert note is not None and note.startswith("unknown shape")


def test_shapes_outside_the_cell_are_ignored():
    far = Shape((200, 200, 209, 209), "curve", True, False, 0.0)
    assert mark_from_shapes(CELL, [far]) == (None, None)


def _page(shapes: tuple[Shape, ...]) -> ParsedPage:
    return ParsedPage("d", "0" * 64, 1, 842, 595, shapes=shapes)


def _grid(text: str) -> Grid:
    cell = Cell(0, 0, 1, 1, CELL, text=text)
    return Grid(1, CELL, 1, 1, (cell,), (CELL[0], CELL[2]), (CELL[1], CELL[3]))


def test_read_marks_reports_glyph_and_shape_in_one_cell():
    cell = read_marks(_grid("●"), _page((_oval(False, True),))).cells[0]
    assert (cell.mark, cell.mark_source) == ("●", "glyph")
    assert cell.confidence < 1.0 and "glyph ● and a drawn ○" in cell.note


def test_read_marks_takes_drawn_mark_in_empty_cell_and_reports_unknown_shape():
    cell = read_marks(_grid(""), _page((_oval(True, False),))).cells[0]
    assert (cell.mark, cell.mark_source, cell.note) == ("●", "shape", None)
    square = read_marks(_grid(""), _page((_oval(True, False, kind="rect"),))).cells[0]
    assert square.mark is None and square.note.startswith("unknown shape")


def test_text_beside_a_drawing_stays_text():
    cell = read_marks(_grid("釧路市"), _page((_oval(True, False),))).cells[0]
    assert cell.mark is None and cell.text == "釧路市" and "text and a drawn ●" in cell.note


# ---------------------------------------------------------------- whole PDFs


SPEC = MatrixSpec(
    groups=[("中長期的課題", ["経費削減", "生活環境", "住民票/税"]), ("取組テーマ", ["域内交通", "教育/保育", "防災", "住まい"])],
    rows=[
        {"round": 1, "region": "釧路市", "name": "釧路活性化プロジェクト", "tour": False, "marks": {"住民票/税": "●", "防災": "○"}},
        {"round": 1, "region": "浦河町", "name": "住まい・なりわいコンソーシアム", "tour": True, "marks": {"生活環境": "●", "域内交通": "○", "教育/保育": "○"}},
        {"round": 2, "region": "厚真町", "name": "厚真町先導的プロジェクト", "tour": None, "marks": {"経費削減": "●", "住まい": "○"}},
        {"round": 3, "region": "鳥羽市", "name": "鳥羽市二地域居住推進協議会", "tour": True, "marks": {"生活環境": "●", "域内交通": "○", "防災": "○", "住まい": "○"}},
    ],
)


def _records(pdf: bytes, tmp_path: Path):
    path = tmp_path / "drawn.pdf"
    path.write_bytes(pdf)
    return extract_matrices(list(iter_pages(open_document(path, str(path)), "drawn", "0" * 64)))


def _read(records) -> list[tuple]:
    marks: dict[int, dict] = {}
    for r in records:
        if r.dataset == "theme_marks":
            marks.setdefault(r.values["row"], {})[r.values["theme"]] = (r.values["mark"], r.values["mark_source"])
    return [
        (r.values["round"], r.values["consortium_name_raw"], r.values["tour"], marks.get(r.values["row"], {}))
        for r in records
        if r.dataset == "consortia"
    ]


def _expected(source: str) -> list[tuple]:
    return [(r["round"], r["name"], r["tour"], {t: (m, source) for t, m in r["marks"].items()}) for r in SPEC.rows]


def test_drawn_ovals_read_back_exactly(tmp_path):
    assert _read(_records(render(SPEC, Variant(shapes=True, rows_per_page=2)), tmp_path)) == _expected("shape")


def _powerpoint_style(spec: MatrixSpec) -> bytes:
    """A slide-like table: shaded header, zebra rows, every mark an oval over an empty cell.

    ● is a dark-filled oval; ○ a white-filled oval with an outline (PowerPoint's
    default shape style); the tour column's ○ is a ring made of a dark disc
    under a background-coloured disc, its — a typed glyph.
    """
    doc = pymupdf.open()
    page = doc.new_page(width=960, height=540)
    themes = [t for _, ts in spec.groups for t in ts]
    xs = [40, 80, 160, 420, 470]
    for _ in themes:
        xs.append(xs[-1] + 48)
    row_h, y0 = 28.0, 60.0
    header_fill = (0.75, 0.82, 0.92)

    def box(x0, y, x1, y1, text="", fill=None, size=9.0):
        page.draw_rect(pymupdf.Rect(x0, y, x1, y1), color=(1, 1, 1), fill=fill, width=1.0)
        if text:
            page.insert_textbox(pymupdf.Rect(x0 + 2, y + 3, x1 - 2, y1), text, fontname="japan", fontsize=size)

    # White borders between shaded cells, as slide tables draw them; a dark
    # outer frame and dark rulings in the body give the grid its lines.
    for i, label in enumerate(["採択次", "地域名", "コンソーシアム名", "ツアー実施"]):
        box(xs[i], y0, xs[i + 1], y0 + 2 * row_h, label, header_fill)
    col = 4
    for group, ts in spec.groups:
        box(xs[col], y0, xs[col + len(ts)], y0 + row_h, group, header_fill)
        for t in ts:
            box(xs[col], y0 + row_h, xs[col + 1], y0 + 2 * row_h, t, header_fill, size=7)
            col += 1
    y = y0 + 2 * row_h
    for n, row in enumerate(spec.rows):
        fill = (0.93, 0.93, 0.93) if n % 2 else None
        for i, text in enumerate([f"{row['round']}次", row["region"], row["name"], ""]):
            box(xs[i], y, xs[i + 1], y + row_h, text, fill)
        for k, _ in enumerate(themes):
            box(xs[4 + k], y, xs[5 + k], y + row_h, "", fill)
        cy = y + row_h / 2
        tx = (xs[3] + xs[4]) / 2
        if row["tour"] is True:
            page.draw_circle((tx, cy), 6, color=None, fill=(0, 0, 0))
            page.draw_circle((tx, cy), 4.6, color=None, fill=fill or (1, 1, 1))
        elif row["tour"] is False:
            # Typed, not drawn: glyphs and shapes mix within one column.
            page.insert_text((tx - 4.5, cy + 3), "―", fontname="japan", fontsize=9)
        for k, theme in enumerate(themes):
            mark = row["marks"].get(theme)
            cx = (xs[4 + k] + xs[5 + k]) / 2
            oval = pymupdf.Rect(cx - 7, cy - 6.5, cx + 7, cy + 6.5)  # slightly oval, as hand-placed
            if mark == "●":
                page.draw_oval(oval, color=(0.1, 0.1, 0.1), fill=(0.1, 0.1, 0.1), width=0.8)
            elif mark == "○":
                page.draw_oval(oval, color=(0, 0, 0), fill=(1, 1, 1), width=1.2)
        y += row_h
    for x in xs:
        page.draw_line((x, y0 + 2 * row_h), (x, y), color=(0, 0, 0), width=0.5)
    for k in range(len(spec.rows) + 1):
        yy = y0 + 2 * row_h + k * row_h
        page.draw_line((xs[0], yy), (xs[-1], yy), color=(0, 0, 0), width=0.5)
    page.draw_rect(pymupdf.Rect(xs[0], y0, xs[-1], y), color=(0, 0, 0), width=0.8)
    return doc.tobytes()


def test_powerpoint_style_slide_reads_back_exactly(tmp_path):
    records = _records(_powerpoint_style(SPEC), tmp_path)
    assert _read(records) == _expected("shape")
    assert all(r.extra.get("note") is None for r in records if r.dataset == "theme_marks")


def test_conflicts_and_unknown_shapes_are_listed_for_review(tmp_path):
    doc = pymupdf.open(stream=_powerpoint_style(SPEC), filetype="pdf")
    page = doc[0]
    # Row 1 has a drawn ● under 住民票/税 (third theme); type a ● over it too.
    page.insert_text((584, 134), "●", fontname="japan", fontsize=9)
    # Row 2, 防災 (sixth theme) is empty: draw a filled quadrilateral there.
    page.draw_quad(pymupdf.Rect(728, 152, 740, 164).quad, color=(0, 0, 0), fill=(0, 0, 0))
    records = _records(doc.tobytes(), tmp_path)
    reviews = {(r.values["row"], r.values["column"]): r.values for r in records if r.dataset == "cell_reviews"}
    assert set(reviews) == {(1, "住民票/税"), (2, "防災")}
    assert reviews[(1, "住民票/税")]["reason"] == "glyph ● and a drawn ● in one cell"
    assert (reviews[(1, "住民票/税")]["mark"], reviews[(1, "住民票/税")]["mark_source"]) == ("●", "glyph")
    assert reviews[(2, "防災")]["reason"].startswith("unknown shape: poly")
    assert reviews[(2, "防災")]["mark"] is None
    # The rest reads as before; the unknown shape adds no mark.
    assert _read(records) == [
        (rnd, name, tour, {t: (m, "glyph" if (n, t) == (1, "住民票/税") else s) for t, (m, s) in marks.items()})
        for n, (rnd, name, tour, marks) in enumerate(_expected("shape"), start=1)
    ]
