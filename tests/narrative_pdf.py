"""Small Japanese PDFs made with PyMuPDF, for testing narrative extractors on layouts we control."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

A4 = (595.0, 842.0)


@dataclass
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float = 10.5
    font: str = "japan"  # PyMuPDF's built-in CJK font (it has no bold face: headings here differ by size)


@dataclass
class PageSpec:
    texts: list[Text] = field(default_factory=list)
    size: tuple[float, float] = A4
    rules: list[tuple[float, float, float, float]] = field(default_factory=list)  # (x0, y0, x1, y1) lines


def make_pdf(pages: list[PageSpec], path: Path) -> Path:
    doc = pymupdf.open()
    for spec in pages:
        page = doc.new_page(width=spec.size[0], height=spec.size[1])
        for x0, y0, x1, y1 in spec.rules:
            page.draw_line((x0, y0), (x1, y1), color=(0, 0, 0), width=0.8)
        for t in spec.texts:
            page.insert_text((t.x, t.y), t.text, fontname=t.font, fontsize=t.size)
    doc.save(path)
    doc.close()
    return path


def grid_rules(x0: float, y0: float, col_widths: list[float], row_height: float, rows: int) -> list[tuple[float, float, float, float]]:
    xs = [x0]
    for w in col_widths:
        xs.append(xs[-1] + w)
    ys = [y0 + i * row_height for i in range(rows + 1)]
    lines = [(xs[0], y, xs[-1], y) for y in ys]
    lines += [(x, ys[0], x, ys[-1]) for x in xs]
    return lines
