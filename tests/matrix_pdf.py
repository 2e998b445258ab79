"""Render a consortium × theme matrix as a new PDF, to test that reading is structural.

The variants differ from the bundled report in every way a re-rendering
could: producer (PyMuPDF, not Chrome), font, page size, where the table
splits over pages, mark glyphs, column order within the theme group, and
page order. Used by tests only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pymupdf


@dataclass(frozen=True)
class MatrixSpec:
    groups: list[tuple[str, list[str]]]  # (group header, themes under it)
    rows: list[dict]  # round, region, name, tour (bool|None), marks {theme: "●"|"○"}


@dataclass(frozen=True)
class Variant:
    page_size: tuple[float, float] = (842, 595)
    rows_per_page: int = 22
    glyphs: dict | None = None  # {"●": "⚫", "○": "〇", "—": "―"}
    fontsize: float = 7.0
    reverse_pages: bool = False
    filler_pages: int = 0  # pages of prose before the table
    repeat_header: bool = True
    shapes: bool = False  # draw marks as ovals instead of typing glyphs


def render(spec: MatrixSpec, variant: Variant = Variant()) -> bytes:
    glyphs = {"●": "●", "○": "○", "—": "―"} | (variant.glyphs or {})
    doc = pymupdf.open()
    for i in range(variant.filler_pages):
        canvas = Canvas(doc.new_page(width=variant.page_size[0], height=variant.page_size[1]))
        _text(canvas, (50, 80), f"本資料について {i + 1}", 12)
        canvas.commit()
    width, height = variant.page_size
    themes = [t for _, ts in spec.groups for t in ts]
    margin = 30
    label_widths = [36, 70, 0, 34]  # round, region, name (takes the rest), tour
    # Shrink mark columns and rows so the table always fits the page.
    mark_w = min(30.0, (width - 2 * margin - sum(label_widths) - 120) / len(themes))
    name_w = width - 2 * margin - sum(label_widths) - mark_w * len(themes)
    label_widths[2] = name_w
    xs = [margin]
    for w in label_widths + [mark_w] * len(themes):
        xs.append(xs[-1] + w)
    row_h = min(variant.fontsize * 2.6, (height - 2 * margin - 20) / (variant.rows_per_page + 2))
    chunks = [spec.rows[i : i + variant.rows_per_page] for i in range(0, len(spec.rows), variant.rows_per_page)]
    table_pages = []
    for n, chunk in enumerate(chunks):
        page = Canvas(doc.new_page(width=width, height=height))
        table_pages.append(page.page.number)
        y = margin + 20
        _text(page, (margin, margin + 8), "一覧表", 11)
        if variant.repeat_header or n == 0:
            y = _header(page, spec, xs, y, row_h, variant.fontsize)
        for row in chunk:
            y = _row(page, row, themes, xs, y, row_h, variant, glyphs)
        page.commit()
    if variant.reverse_pages:
        order = list(range(doc.page_count))
        first = table_pages[0]
        order[first : first + len(table_pages)] = reversed(table_pages)
        doc.select(order)
    return doc.tobytes()


_FONT = None


def _font() -> pymupdf.Font:
    global _FONT
    if _FONT is None:
        _FONT = pymupdf.Font("japan")  # loading the CJK font once keeps rendering fast
    return _FONT


class Canvas:
    """Collects a page's text and lines and writes them once (per-call writes are slow)."""

    def __init__(self, page: pymupdf.Page) -> None:
        self.page = page
        self.writer = pymupdf.TextWriter(page.rect)
        self.shape = page.new_shape()

    def draw_rect(self, rect: pymupdf.Rect, width: float = 0.6) -> None:
        self.shape.draw_rect(rect)
        self.shape.finish(color=(0, 0, 0), width=width)

    def draw_oval(self, rect: pymupdf.Rect, fill: tuple | None, width: float) -> None:
        self.shape.draw_oval(rect)
        self.shape.finish(color=(0, 0, 0), fill=fill, width=width)

    def commit(self) -> None:
        self.shape.commit()
        self.writer.write_text(self.page)


def _text(page: "Canvas", point: tuple[float, float], text: str, fontsize: float) -> None:
    page.writer.append(point, text, font=_font(), fontsize=fontsize)


def _cell(page: "Canvas", x0: float, y0: float, x1: float, y1: float, text: str, fontsize: float) -> None:
    page.draw_rect(pymupdf.Rect(x0, y0, x1, y1))
    if not text:
        return
    # Wrap long text inside the cell so names split over lines as in reports.
    per_line = max(1, int((x1 - x0 - 4) / fontsize))
    lines = [text[i : i + per_line] for i in range(0, len(text), per_line)]
    top = y0 + (y1 - y0 - len(lines) * fontsize * 1.1) / 2 + fontsize
    for k, line in enumerate(lines):
        _text(page, (x0 + 2, top + k * fontsize * 1.1), line, fontsize)


def _header(page, spec, xs, y, row_h, fs) -> float:
    labels = ["採択次", "地域名", "コンソーシアム名", "ツアー実施"]
    for i, label in enumerate(labels):
        _cell(page, xs[i], y, xs[i + 1], y + 2 * row_h, label, fs)
    col = 4
    for group, themes in spec.groups:
        _cell(page, xs[col], y, xs[col + len(themes)], y + row_h, group, fs)
        for t in themes:
            _cell(page, xs[col], y + row_h, xs[col + 1], y + 2 * row_h, t, fs * 0.8)
            col += 1
    return y + 2 * row_h


def _row(page, row, themes, xs, y, row_h, variant, glyphs) -> float:
    fs = variant.fontsize
    tour = {True: glyphs["○"], False: glyphs["—"], None: ""}[row["tour"]]
    for i, text in enumerate([f"{row['round']}次", row["region"], row["name"], tour]):
        _cell(page, xs[i], y, xs[i + 1], y + row_h, text, fs)
    for k, theme in enumerate(themes):
        x0, x1 = xs[4 + k], xs[5 + k]
        mark = row["marks"].get(theme, "")
        if variant.shapes and mark:
            _cell(page, x0, y, x1, y + row_h, "", fs)
            cx, cy, r = (x0 + x1) / 2, y + row_h / 2, fs * 0.45
            oval = pymupdf.Rect(cx - r, cy - r, cx + r, cy + r)
            page.draw_oval(oval, fill=(0, 0, 0) if mark == "●" else None, width=0.5 if mark == "●" else 0.8)
        else:
            _cell(page, x0, y, x1, y + row_h, glyphs.get(mark, mark), fs)
    return y + row_h
