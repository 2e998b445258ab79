"""Generic ruled tables: every cell of every grid, for any document.

Specialised extractors (the ●/○ matrix, budget tables) read particular
tables; this one keeps all of them, cell by cell, so nothing printed in a
ruled table is lost on a document nobody has written an extractor for.
Symbol cells (●○◎△×−) are kept as text and flagged in ``symbol``.
"""

from __future__ import annotations

from typing import Sequence

from extractors.base import provenance, register
from extractors.grids.grid import Cell, Grid, find_grids
from pipeline.model.records import ParsedPage, Record

EXTRACTOR = "tables"
VERSION = "1"

# Glyphs that stand for a value on their own in Japanese government tables.
SYMBOLS = frozenset("●○◎◯〇△▲×✕✖−－ー―‐-✓✔□■◇◆☆★")


@register(EXTRACTOR, VERSION, ("tables",))
def extract_tables(pages: Sequence[ParsedPage]) -> list[Record]:
    records: list[Record] = []
    for page in pages:
        if not page.edges:
            continue
        for number, grid in enumerate(find_grids(page), start=1):
            table_id = f"{page.doc_id}#p{page.page_number}t{number}"
            header_rows = _header_rows(grid)
            for cell in grid.cells:
                records.append(_cell_record(page, grid, table_id, cell, cell.row < header_rows))
    return records


def symbol_of(text: str) -> str | None:
    """The symbol a cell holds when it holds nothing else."""
    stripped = text.strip().replace(" ", "").replace("\u3000", "")
    return stripped if len(stripped) == 1 and stripped in SYMBOLS else None


def _header_rows(grid: Grid) -> int:
    """Rows at the top whose cells span columns, or the first row, hold the headers.

    A header row is one with no symbol cells whose cells are all filled; cells
    spanning several columns in row 0 mean the header continues into the row
    below them (a two-level header).
    """
    if grid.n_rows < 2:
        return 0
    rows = grid.rows()
    first = rows[0]
    if not first or any(symbol_of(c.text) for c in first):
        return 0
    depth = 1
    if any(c.col_span > 1 for c in first) and grid.n_rows > 2 and not any(symbol_of(c.text) for c in rows[1]):
        depth = 2
    return depth


def _cell_record(page: ParsedPage, grid: Grid, table_id: str, cell: Cell, is_header: bool) -> Record:
    values = {
        "table_id": table_id,
        "row": cell.row,
        "col": cell.col,
        "row_span": cell.row_span,
        "col_span": cell.col_span,
        "n_rows": grid.n_rows,
        "n_cols": grid.n_cols,
        "text_raw": cell.text,
        "is_header": is_header,
        "symbol": symbol_of(cell.text),
        "ocr": grid.ocr,
    }
    return Record("tables", values, provenance(page, cell.bbox, EXTRACTOR, VERSION))
