"""Every mark table of any document: one record per marked cell, with its row and column.

A mark table is a ruled grid whose body holds marks (◎ ● ○ △ × ✓ —) in
columns of their own. The reading is structural, as for the MLIT matrix
(extractors.matrix), and uses the same grids and the same mark readers
(glyphs, drawn shapes, scanned pixels):

1. mark columns: columns whose own body cells hold marks or nothing;
2. header rows: the leading rows where a mark column holds text, not a mark,
   so a body row without any mark still counts as a row;
3. row-header columns: the label columns left of the first mark column; a
   merged (row-spanning) cell labels every row it covers;
4. a mark's column path: the distinct header cells above it, from the
   outermost spanning header down to the leaf;
5. a grid on a later page whose columns line up with the previous mark
   table's, without header rows or with the same headers repeated, continues
   it (a table split over pages);
6. a column nobody marked under the same spanning header as marked ones is
   still one of the table's columns.

The table's shape (rows × mark columns, with every row label and column
path) goes to ``mark_tables``, so a query can tell an empty cell from a cell
that does not exist.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Sequence

from extractors.base import Context, provenance, register
from extractors.grids.grid import Cell, Grid
from extractors.grids.marks import DASH
from extractors.matrix import page_grids
from pipeline.model.records import ParsedPage, Record
from pipeline.text.vocabulary import repair_with_lexicon, unknown_words

NAME = "mark_tables"
VERSION = "1"

# A grid is a mark table when it holds at least this many marks.
MIN_MARKS = 2
# A mark column may hold a few stray texts (※ notes, 対象外) against its marks.
MAX_TEXT_SHARE = 0.2
# Columns of a continuation line up with the previous table's within this share of its width.
CONTINUATION_TOLERANCE = 0.02
PATH_SEPARATOR = " / "
# Headers OCR'd on two pages are the same header when at least this similar (difflib ratio).
OCR_HEADER_SIMILARITY = 0.5
OCR_REPEATED_SHARE = 0.7


@dataclass
class MarkTable:
    """One mark table, possibly over several grids (pages)."""

    table_id: str
    header_rows: int
    mark_cols: list[int]
    paths: dict[int, list[str]]
    row_header_cols: list[int]
    parts: list[tuple[ParsedPage, Grid, int]] = field(default_factory=list)  # page, grid, first body row
    read_leaves: dict[int, str] = field(default_factory=dict)  # leaf headers as OCR read them, before repair

    @property
    def columns(self) -> list[str]:
        return [PATH_SEPARATOR.join(self.paths[c]) for c in self.mark_cols]


@register(NAME, VERSION, ("marks", "mark_tables"), with_context=True)
def extract_mark_tables(pages: Sequence[ParsedPage], *, context: Context | None = None) -> list[Record]:
    tables: list[MarkTable] = []
    for page in pages:
        for number, grid in enumerate(page_grids(page, context), start=1):
            previous = tables[-1] if tables else None
            table = read_mark_table(page, grid, f"{page.doc_id}#p{page.page_number}t{number}", previous)
            if table is None:
                continue
            if table is not previous:
                tables.append(table)
    records: list[Record] = []
    for table in tables:
        records.extend(table_records(table))
    return records


def read_mark_table(page: ParsedPage, grid: Grid, table_id: str, previous: MarkTable | None = None) -> MarkTable | None:
    """The mark table ``grid`` holds (with the grid added to its parts), ``previous`` when
    the grid continues that one, or None.
    """
    # Dashes alone (－ for "none" in a table of figures) do not make a mark table.
    marked = [c for c in grid.cells if c.mark is not None]
    if sum(c.mark != DASH for c in marked) < MIN_MARKS:
        return None
    first_mark_row = min(c.row for c in marked)
    mark_cols = [c for c in range(grid.n_cols) if _is_mark_column(grid, c, first_mark_row)]
    if not mark_cols:
        return None
    header_rows = _header_rows(grid, mark_cols, first_mark_row)
    mark_cols = sorted(set(mark_cols) | _unmarked_siblings(grid, mark_cols, first_mark_row, header_rows))
    if previous is not None and page.page_number > previous.parts[-1][0].page_number and _continues(previous, grid):
        # Without header rows, or with the same headers repeated: the table goes on.
        same = [_same_path(_column_path(grid, c, header_rows), path, grid.ocr) for c, path in previous.paths.items()]
        # OCR misreads a header now and then: most of them repeated is the same header.
        repeated = all(same) or (grid.ocr and sum(same) >= OCR_REPEATED_SHARE * len(same))
        if header_rows == 0 or repeated:
            _, first_grid, _ = previous.parts[0]
            for c in mark_cols:
                previous.paths.setdefault(c, _column_path(first_grid, c, previous.header_rows))
                previous.read_leaves.setdefault(c, _read_leaf(first_grid, c, previous.header_rows))
            previous.mark_cols = sorted(previous.paths)
            previous.parts.append((page, grid, header_rows))
            return previous
    row_header_cols = [c for c in range(min(mark_cols)) if c not in mark_cols]
    if not row_header_cols:
        return None  # a legend (● 主 / ○ 関連) or a bare strip of marks: nothing labels its rows
    paths = {c: _column_path(grid, c, header_rows) for c in mark_cols}
    table = MarkTable(table_id, header_rows, mark_cols, paths, row_header_cols)
    table.read_leaves = {c: _read_leaf(grid, c, header_rows) for c in mark_cols}
    table.parts.append((page, grid, header_rows))
    return table


def table_records(table: MarkTable) -> list[Record]:
    """``marks`` rows for every marked body cell and one ``mark_tables`` row."""
    marks: list[Record] = []
    labels: list[str] = []
    first_page, first_grid, _ = table.parts[0]
    ocr = any(grid.ocr for _, grid, _ in table.parts)
    for page, grid, body_start in table.parts:
        for r in range(body_start, grid.n_rows):
            headers = _row_headers(grid, r, table.row_header_cols)
            cells = {c: grid.cell_at(r, c) for c in table.mark_cols}
            owned = {c: cell for c, cell in cells.items() if cell is not None and cell.row == r and cell.col == c and cell.col_span == 1}
            if not any(headers) and not any(cell.mark or cell.text.strip() for cell in owned.values()):
                continue  # a blank spacer row
            row = len(labels)
            label = next((h for h in reversed(headers) if h), "")
            labels.append(label)
            for c, cell in owned.items():
                if cell.mark is None:
                    continue
                marks.append(
                    Record(
                        dataset="marks",
                        values={
                            "table_id": table.table_id,
                            "row": row,
                            "col": c,
                            "row_label": label,
                            "row_headers": headers,
                            "column_raw": table.read_leaves.get(c, ""),
                            "column_path": list(table.paths[c]),
                            "mark_raw": "".join(cell.text.split()) or cell.mark,
                            "mark": cell.mark,
                            "mark_source": cell.mark_source or "glyph",
                            "confidence": float(cell.confidence),
                            "ocr": grid.ocr,
                        },
                        provenance=provenance(page, cell.bbox, NAME, VERSION),
                    )
                )
    if not any(labels) or not any(table.paths.values()):
        # Nothing names the rows or the columns: a chart's gridlines with its markers, not a table.
        return []
    shape = Record(
        dataset="mark_tables",
        values={
            "table_id": table.table_id,
            "n_rows": len(labels),
            "n_cols": len(table.mark_cols),
            "header_rows": table.header_rows,
            "row_labels": labels,
            "columns": table.columns,
            "n_marks": len(marks),
            "pages": sorted({page.page_number for page, _, _ in table.parts}),
            "ocr": ocr,
        },
        provenance=provenance(first_page, first_grid.bbox, NAME, VERSION),
    )
    return marks + [shape]


# ---------------------------------------------------------------- structure


def _owned(grid: Grid, r: int, c: int) -> Cell | None:
    """The single-column cell starting at (r, c), if that is what is there."""
    cell = grid.cell_at(r, c)
    return cell if cell is not None and cell.row == r and cell.col == c and cell.col_span == 1 else None


def _is_mark_column(grid: Grid, c: int, first_mark_row: int) -> bool:
    body = [cell for r in range(first_mark_row, grid.n_rows) if (cell := _owned(grid, r, c)) is not None]
    marks = sum(cell.mark is not None for cell in body)
    texts = sum(cell.mark is None and bool(cell.text.strip()) for cell in body)
    return marks > 0 and texts <= MAX_TEXT_SHARE * marks


def _unmarked_siblings(grid: Grid, mark_cols: list[int], first_mark_row: int, header_rows: int) -> set[int]:
    """Columns nobody marked that sit under the same spanning header as marked ones.

    They are part of the table's shape: an empty column is an answer ("no row has this").
    """
    out: set[int] = set()
    for c in range(min(mark_cols) + 1, grid.n_cols):
        if c in mark_cols or any((cell := _owned(grid, r, c)) is not None and cell.text.strip() for r in range(first_mark_row, grid.n_rows)):
            continue
        for r in range(header_rows):
            cell = grid.cell_at(r, c)
            if cell is not None and cell.col_span > 1 and any(cell.col <= m < cell.col + cell.col_span for m in mark_cols):
                out.add(c)
                break
    return out


def _header_rows(grid: Grid, mark_cols: list[int], first_mark_row: int) -> int:
    """1 + the last row above the first mark where a mark column holds text."""
    last = -1
    for r in range(first_mark_row):
        for c in mark_cols:
            cell = grid.cell_at(r, c)
            if cell is not None and cell.mark is None and cell.text.strip():
                last = r
                break
    return last + 1


def _column_path(grid: Grid, c: int, header_rows: int, repair: bool = True) -> list[str]:
    """The distinct header cells above column ``c``, outermost first; OCR'd ones repaired unless ``repair`` is off."""
    path: list[str] = []
    seen: set[int] = set()
    for r in range(header_rows):
        cell = grid.cell_at(r, c)
        if cell is None or id(cell) in seen:
            continue
        seen.add(id(cell))
        text = _label(cell.text)
        if text and grid.ocr and repair:
            text = _repaired_header(text)
        if text:
            path.append(text)
    return path


def _read_leaf(grid: Grid, c: int, header_rows: int) -> str:
    """Column ``c``'s leaf header as read (``column_raw``: the cleaning stage repairs it with evidence)."""
    path = _column_path(grid, c, header_rows, repair=False)
    return path[-1] if path else ""


def _repaired_header(text: str) -> str:
    """An OCR'd header with look-alike characters swapped where that makes it dictionary words.

    Headers name categories (高齢者, 計画策定), so a reading the dictionary
    cannot split into words is a misread glyph (齡 for 齢); the swap is kept
    only when the whole header then reads as known words. Row labels are
    names of people and places, which the dictionary need not know: they
    are left as read.
    """
    fixed, _ = repair_with_lexicon(text)
    return fixed if fixed != text and unknown_words(fixed) == 0 else text


def _row_headers(grid: Grid, r: int, cols: list[int]) -> list[str]:
    out: list[str] = []
    seen: set[int] = set()
    for c in cols:
        cell = grid.cell_at(r, c)
        if cell is None or id(cell) in seen:
            continue  # a cell spanning header columns counts once
        seen.add(id(cell))
        out.append(_label(cell.text))
    return out


def _label(text: str) -> str:
    """Cell text as a label: lines were joined without separator; outer space dropped."""
    return " ".join(text.split())


def _same_path(a: list[str], b: list[str], ocr: bool) -> bool:
    """The same header path; read by OCR, the same within a few misread characters."""
    if not ocr:
        return a == b
    return len(a) == len(b) and all(difflib.SequenceMatcher(None, x, y).ratio() >= OCR_HEADER_SIMILARITY for x, y in zip(a, b))


def _continues(previous: MarkTable, grid: Grid) -> bool:
    _, prev_grid, _ = previous.parts[-1]
    if prev_grid.n_cols != grid.n_cols:
        return False
    return all(abs(a - b) < CONTINUATION_TOLERANCE for a, b in zip(_relative_widths(prev_grid), _relative_widths(grid)))


def _relative_widths(grid: Grid) -> list[float]:
    bounds = grid.col_bounds
    total = bounds[-1] - bounds[0] or 1.0
    return [(b - a) / total for a, b in zip(bounds, bounds[1:])]
