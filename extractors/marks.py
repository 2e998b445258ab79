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

from extractors.grid import Cell, Grid
from pipeline.records import ParsedPage

FILLED = "●"
RING = "○"
DASH = "—"


def classify_symbol(text: str) -> str | None:
    """●, ○ or — for a lone mark symbol, else None."""
    symbol = "".join(text.split())
    if len(symbol) != 1:
        return None
    name = unicodedata.name(symbol, "")
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
    """Set ``mark`` on every cell whose whole content is a mark symbol."""
    return grid.with_cells(_read_cell(cell) for cell in grid.cells)


def _read_cell(cell: Cell) -> Cell:
    mark = classify_symbol(cell.text)
    if mark is None:
        return cell
    return replace(cell, mark=mark, mark_source="glyph", confidence=1.0)
