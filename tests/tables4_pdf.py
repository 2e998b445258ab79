"""Small PDFs drawn with PyMuPDF, to prove the tables4 readers read structure, not one layout.

Each builder draws a page the way another producer might (other column
order, other sizes, no bold face) and returns the parsed pages exactly as
the pipeline would see them.
"""

from __future__ import annotations

import pymupdf

from pipeline.reading.pdf import parse_page
from pipeline.model.records import ParsedPage

FONT = "japan"  # PyMuPDF's built-in CJK font


def parsed(doc: pymupdf.Document, doc_id: str = "variant") -> list[ParsedPage]:
    data = doc.tobytes()
    reopened = pymupdf.open(stream=data, filetype="pdf")
    return [parse_page(reopened[i], doc_id, "0" * 64) for i in range(reopened.page_count)]


def text(page: pymupdf.Page, x: float, y: float, s: str, size: float = 10.0) -> None:
    """Draw ``s`` with its baseline at y."""
    page.insert_text((x, y), s, fontname=FONT, fontsize=size)


def table(page: pymupdf.Page, x0: float, y0: float, widths: list[float], rows: list[list[str | None]], height: float = 24.0, size: float = 8.0) -> None:
    """A ruled table; a cell of None continues the cell above (vertical merge)."""
    xs = [x0]
    for w in widths:
        xs.append(xs[-1] + w)
    for c in range(len(widths)):
        r = 0
        while r < len(rows):
            span = 1
            while r + span < len(rows) and rows[r + span][c] is None:
                span += 1
            rect = pymupdf.Rect(xs[c], y0 + r * height, xs[c + 1], y0 + (r + span) * height)
            page.draw_rect(rect, color=(0, 0, 0), width=0.6)
            value = rows[r][c]
            if value:
                # Wrap long cell text over lines inside the cell.
                per_line = max(int((rect.width - 4) / size), 1)
                for i in range(0, len(value), per_line):
                    text(page, rect.x0 + 2, rect.y0 + size + 2 + (i // per_line) * (size + 1), value[i : i + per_line], size)
            r += span


def new_page(doc: pymupdf.Document, landscape: bool = True) -> pymupdf.Page:
    return doc.new_page(width=842, height=595) if landscape else doc.new_page(width=595, height=842)
