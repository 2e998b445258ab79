"""Which grid cells hold a mark, and which mark.

A mark cell holds nothing but one symbol. The symbol is classified from
Unicode's own character names, so glyph variants from other producers
(⚫ ⬤ for ●; 〇 ◯ ⚪ for ○; ― – ‐ for —) are read without a list of the
variants seen so far. Text outside mark cells is never touched here: 〇 is
also the kanji numeral zero and must survive in names.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from extractors.grids.grid import Cell, Grid
from extractors.grids.mark_shapes import mark_from_shapes
from pipeline.model.records import ParsedPage, Shape
from extractors.grids.mark_classes import CHECK, CROSS, DASH, DOUBLE, FILLED, RING, TRIANGLE

# Every class a mark is normalised to, in the order tables usually rank them.
CLASSES = (DOUBLE, FILLED, RING, TRIANGLE, CROSS, CHECK, DASH)


def classify_symbol(text: str) -> str | None:
    """The mark class (one of ``CLASSES``) of a lone mark symbol, else None."""
    symbol = "".join(text.split())
    if len(symbol) != 1:
        return None
    name = unicodedata.name(symbol, "")
    if "BULLSEYE" in name or "DOUBLE CIRCLE" in name:
        return DOUBLE
    if "UP-POINTING TRIANGLE" in name and "SMALL" not in name:
        return TRIANGLE
    if name in {"MULTIPLICATION SIGN", "BOX DRAWINGS LIGHT DIAGONAL CROSS"} or name.endswith("MULTIPLICATION X") or name.endswith("BALLOT X"):
        return CROSS
    if "CHECK MARK" in name or name == "BALLOT BOX WITH CHECK":
        return CHECK
    if "CIRCLE" in name and ("BLACK" in name or "FISHEYE" in name):
        return FILLED
    if name in {"IDEOGRAPHIC NUMBER ZERO"} or ("CIRCLE" in name and ("WHITE" in name or "LARGE" in name or name.endswith(" CIRCLE"))):
        if "DOTTED" in name or "BULLSEYE" in name:
            return None
        return RING
    if unicodedata.category(symbol) == "Pd" or name in {"HORIZONTAL BAR", "BOX DRAWINGS LIGHT HORIZONTAL", "BOX DRAWINGS HEAVY HORIZONTAL", "KATAKANA-HIRAGANA PROLONGED SOUND MARK", "HYPHEN-MINUS", "FULLWIDTH HYPHEN-MINUS", "MINUS SIGN"}:
        return DASH
    return None


def read_marks(grid: Grid, page: ParsedPage) -> Grid:
    """Set ``mark`` on every cell whose whole content is a mark symbol or a drawn mark.

    A typed glyph wins over a drawn shape, but a cell holding both (or a
    shape that is no known mark) keeps a ``note`` so it is reviewed.
    """
    x0, y0, x1, y1 = grid.bbox
    shapes = [s for s in page.shapes if x0 <= (s.bbox[0] + s.bbox[2]) / 2 <= x1 and y0 <= (s.bbox[1] + s.bbox[3]) / 2 <= y1]
    return grid.with_cells(_read_cell(cell, shapes) for cell in grid.cells)


def _read_cell(cell: Cell, shapes: list[Shape]) -> Cell:
    glyph = classify_symbol(cell.text)
    drawn, problem = mark_from_shapes(cell.bbox, shapes) if shapes else (None, None)
    if glyph is not None:
        if drawn is not None or problem is not None:
            return replace(cell, mark=glyph, mark_source="glyph", confidence=0.5,
                           note=f"glyph {glyph} and a drawn {drawn or 'shape'} in one cell")
        return replace(cell, mark=glyph, mark_source="glyph", confidence=1.0)
    if cell.text.strip():
        # Text with a drawing beside it (an icon, a bullet) is text, not a mark.
        return replace(cell, note=f"text and a drawn {drawn} in one cell") if drawn else cell
    if drawn is not None:
        return replace(cell, mark=drawn, mark_source="shape", confidence=1.0)
    if problem is not None:
        return replace(cell, note=problem)
    return cell
