"""Ruled tables as grids of cells, whatever the page was made from.

The text path finds cells from ruling edges with pdfplumber's own chain
(merge_edges → edges_to_intersections → intersections_to_cells →
cells_to_tables) and fills them with the page's characters. The scan path
(extractors.grids.scan_grid) builds the same ``Grid`` from pixels, so everything
downstream — matrix reading, generic tables — reads one structure.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Callable, Iterable, Pattern, Sequence

from pdfplumber import table as plumber_table

from pipeline.model.records import BBox, Char, Edge, ParsedPage, per_page

# Edges closer than this (points) are snapped / joined into one line.
SNAP_TOLERANCE = 3.0
# Edges shorter than this are glyph decorations, not table rulings.
MIN_EDGE_LENGTH = 3.0
# Boundaries within this distance are the same grid line.
BOUNDARY_TOLERANCE = 2.0
# Dots or dashes of a dotted / dashed rule lie on one line with gaps at most this long (points).
DOT_GAP = 4.5
# A dotted rule has at least this many pieces (fewer short pieces are glyph decorations).
MIN_DOTS = 3


@dataclass(frozen=True)
class Cell:
    """One (possibly spanning) cell of a grid.

    ``text`` is the raw text in reading order, lines joined without separator.
    ``mark`` is set by a mark reader (glyph, shape or pixels) when the cell
    holds a mark; ``confidence`` is that reader's confidence.
    """

    row: int
    col: int
    row_span: int
    col_span: int
    bbox: BBox
    text: str = ""
    mark: str | None = None
    mark_source: str | None = None
    confidence: float = 1.0
    note: str | None = None


@dataclass(frozen=True)
class Grid:
    """A ruled table found on one page."""

    page_number: int
    bbox: BBox
    n_rows: int
    n_cols: int
    cells: tuple[Cell, ...]
    col_bounds: tuple[float, ...]
    row_bounds: tuple[float, ...]
    ocr: bool = False

    @cached_property
    def _slots(self) -> dict[tuple[int, int], int]:
        """(row, col) → index of the cell covering that slot, spans unrolled."""
        slots: dict[tuple[int, int], int] = {}
        for i, cell in enumerate(self.cells):
            for r in range(cell.row, cell.row + cell.row_span):
                for c in range(cell.col, cell.col + cell.col_span):
                    slots.setdefault((r, c), i)
        return slots

    def cell_at(self, row: int, col: int) -> Cell | None:
        """The cell covering (row, col), following spans."""
        index = self._slots.get((row, col))
        return None if index is None else self.cells[index]

    def index_at(self, x: float, y: float) -> int | None:
        """Index of the cell containing the point (x, y), if any."""
        c = bisect.bisect_right(self.col_bounds, x) - 1
        r = bisect.bisect_right(self.row_bounds, y) - 1
        if not (0 <= c < self.n_cols and 0 <= r < self.n_rows):
            return None
        return self._slots.get((r, c))

    def rows(self) -> list[list[Cell]]:
        """Cells starting in each row, left to right."""
        out: list[list[Cell]] = [[] for _ in range(self.n_rows)]
        for cell in self.cells:
            out[cell.row].append(cell)
        return [sorted(r, key=lambda c: c.col) for r in out]

    def with_cells(self, cells: Iterable[Cell]) -> "Grid":
        return replace(self, cells=tuple(cells))


@per_page  # tables, matrix, budget, tours and case studies read a page's grids
def find_grids(page: ParsedPage, min_cells: int = 4) -> list[Grid]:
    """Every ruled table on ``page`` with at least ``min_cells`` cells, top to bottom."""
    tables = cell_boxes_from_edges(page.edges, close_page_breaks=True)
    grids = []
    for boxes in tables:
        if len(boxes) < min_cells:
            continue
        grid = grid_from_boxes(boxes, page.page_number)
        grids.append(fill_text(grid, page.chars))
    return sorted(grids, key=lambda g: (g.bbox[1], g.bbox[0]))


def cell_boxes_from_edges(edges: Iterable[Edge], close_page_breaks: bool = False, break_tolerance: float = 3.0) -> list[list[BBox]]:
    """Group ruling edges into tables of cell boxes (pdfplumber's algorithm).

    ``close_page_breaks`` closes rows a page break left open: column rulings that
    end together where no rule is (in a scan too, where the page may cut a
    table just as in the PDF it was printed from). ``break_tolerance`` (points) is how
    far rulings may run past a rule that still closes them (a scan's rulings overshoot).
    """
    objs = [_edge_obj(e) for e in join_dotted(edges)]
    objs = [o for o in objs if max(o["width"], o["height"]) >= MIN_EDGE_LENGTH]
    if not objs:
        return []
    merged = plumber_table.merge_edges(objs, SNAP_TOLERANCE, SNAP_TOLERANCE, SNAP_TOLERANCE, SNAP_TOLERANCE)
    if close_page_breaks:
        merged = list(merged) + _page_break_rules(merged, break_tolerance)
    intersections = plumber_table.edges_to_intersections(merged, 1, 1)
    cells = intersections_to_cells(intersections)
    return [list(t) for t in plumber_table.cells_to_tables(cells)]


def intersections_to_cells(intersections: dict) -> list[BBox]:
    """pdfplumber's ``intersections_to_cells``, cell for cell, without its quadratic scans.

    For each intersection (in sorted order) the smallest cell it is the top-left
    corner of: the first intersection below it and the first to its right, in
    that order, that share a ruling with it and with a fourth intersection
    closing the rectangle. pdfplumber finds the points below and to the right
    by scanning every later point, and turns each point's edges into a set at
    every comparison (~0.3 s on an 18-page list of hospitals); here both are
    looked up once.
    """
    def boxes(edges: list) -> frozenset:
        return frozenset((e["x0"], e["top"], e["x1"], e["bottom"]) for e in edges)

    v_rules = {pt: boxes(e["v"]) for pt, e in intersections.items()}
    h_rules = {pt: boxes(e["h"]) for pt, e in intersections.items()}
    points = sorted(intersections)
    # Sorted by (x, top): the points below one are the next ones, of its column; those to its
    # right are the later ones of its row.
    rows: dict[float, list] = {}
    place = {}
    for pt in points:
        row = rows.setdefault(pt[1], [])
        place[pt] = len(row)
        row.append(pt)
    cells = []
    column_end = 0
    for i, pt in enumerate(points):
        column_end = max(column_end, i + 1)
        while column_end < len(points) and points[column_end][0] == pt[0]:
            column_end += 1
        below = points[i + 1:column_end]
        cell = _smallest_cell(pt, below, rows[pt[1]][place[pt] + 1:], v_rules, h_rules)
        if cell is not None:
            cells.append(cell)
    return cells


def _smallest_cell(pt: tuple, below: list, right: list, v_rules: dict, h_rules: dict) -> BBox | None:
    for below_pt in below:
        if v_rules[pt].isdisjoint(v_rules[below_pt]):
            continue
        for right_pt in right:
            if h_rules[pt].isdisjoint(h_rules[right_pt]):
                continue
            corner = (right_pt[0], below_pt[1])
            if corner in v_rules and not v_rules[corner].isdisjoint(v_rules[right_pt]) and not h_rules[corner].isdisjoint(h_rules[below_pt]):
                return (pt[0], pt[1], corner[0], corner[1])
    return None


def join_dotted(edges: Iterable[Edge]) -> list[Edge]:
    """Long edges as they are, and rows of short pieces (dots, dashes) joined into the rule they draw.

    Dotted rules come as tiny squares, round dots or short segments, each
    shorter than any ruling; on one line, close together and many, they are
    one rule. A lone short piece (a glyph's underline, a bullet) stays short
    and is dropped later with the other decorations.
    """
    long: list[Edge] = []
    short: list[tuple[str, float, Edge]] = []
    for e in edges:
        if max(e.x1 - e.x0, e.bottom - e.top) >= MIN_EDGE_LENGTH:
            long.append(e)
        else:
            short.append((e.orientation, (e.top + e.bottom) / 2 if e.orientation == "h" else (e.x0 + e.x1) / 2, e))
    lines: list[tuple[str, list[Edge]]] = []
    last: tuple[str, float] | None = None
    for orientation, across, e in sorted(short, key=lambda t: (t[0], t[1])):
        if last is not None and last[0] == orientation and across - last[1] <= 1.0:
            lines[-1][1].append(e)
        else:
            lines.append((orientation, [e]))
        last = (orientation, across)
    for orientation, line in lines:
        along = (lambda e: (e.x0, e.x1)) if orientation == "h" else (lambda e: (e.top, e.bottom))
        chain: list[Edge] = []
        for e in sorted(line, key=along) + [None]:  # type: ignore[list-item]
            if e is not None and chain and along(e)[0] - max(along(c)[1] for c in chain) <= DOT_GAP:
                chain.append(e)
                continue
            if len(chain) >= MIN_DOTS:
                start, end = along(chain[0])[0], max(along(c)[1] for c in chain)
                across = sum((c.top + c.bottom) / 2 if orientation == "h" else (c.x0 + c.x1) / 2 for c in chain) / len(chain)
                long.append(Edge("h", start, across, end, across) if orientation == "h" else Edge("v", across, start, across, end))
            chain = [e] if e is not None else []
    return long


def _page_break_rules(edges: list[dict], tolerance: float = 3.0) -> list[dict]:
    """Rules where a page cut a table: vertical rulings that end together with no rule there.

    A producer that breaks a table over pages draws the shared border of the two rows
    on one page only, so the last row on the page (or the first on the next) is open;
    its column rulings still end at one height. Closing it keeps that row.
    """
    verticals = [e for e in edges if e["orientation"] == "v"]
    horizontals = [e for e in edges if e["orientation"] == "h"]
    out = []
    for key in ("top", "bottom"):
        ends: list[list[dict]] = []
        for e in sorted(verticals, key=lambda e: e[key]):
            if ends and e[key] - ends[-1][-1][key] <= SNAP_TOLERANCE:
                ends[-1].append(e)
            else:
                ends.append([e])
        for group in ends:
            if len(group) < 3:
                continue
            y = sum(e[key] for e in group) / len(group)
            x0, x1 = min(e["x0"] for e in group), max(e["x0"] for e in group)
            closed = any(
                abs(h["top"] - y) <= tolerance and h["x0"] <= x0 + SNAP_TOLERANCE and h["x1"] >= x1 - SNAP_TOLERANCE
                for h in horizontals
            )
            # Only a table's open end: at least two rules cross all of these rulings (rows of
            # a table, not the axis under a chart's bars), all of them on the side away from this end.
            across = [h["top"] for h in horizontals if h["x0"] <= x0 + SNAP_TOLERANCE and h["x1"] >= x1 - SNAP_TOLERANCE
                      and min(e["top"] for e in group) - SNAP_TOLERANCE <= h["top"] <= max(e["bottom"] for e in group) + SNAP_TOLERANCE]
            open_end = len(across) >= 2 and (max(across) < y - tolerance if key == "bottom" else min(across) > y + tolerance)
            if not closed and open_end:
                out.append({"x0": x0, "x1": x1, "top": y, "bottom": y, "width": x1 - x0, "height": 0.0,
                            "orientation": "h", "object_type": "line"})
    return out


def grid_from_boxes(boxes: list[BBox], page_number: int, ocr: bool = False) -> Grid:
    """Index cell boxes into rows and columns, with spans."""
    xs = _cluster([b[0] for b in boxes] + [b[2] for b in boxes])
    ys = _cluster([b[1] for b in boxes] + [b[3] for b in boxes])
    cells = []
    for b in boxes:
        c0, c1 = _index(xs, b[0]), _index(xs, b[2])
        r0, r1 = _index(ys, b[1]), _index(ys, b[3])
        if c1 <= c0 or r1 <= r0:
            continue
        cells.append(Cell(row=r0, col=c0, row_span=r1 - r0, col_span=c1 - c0, bbox=tuple(b)))
    # Drop boxes that merely enclose others (pdfplumber can report both).
    cells = _drop_enclosing(cells)
    bbox = (xs[0], ys[0], xs[-1], ys[-1])
    return Grid(
        page_number=page_number,
        bbox=bbox,
        n_rows=len(ys) - 1,
        n_cols=len(xs) - 1,
        cells=tuple(sorted(cells, key=lambda c: (c.row, c.col))),
        col_bounds=tuple(xs),
        row_bounds=tuple(ys),
        ocr=ocr,
    )


def fill_text(grid: Grid, chars: Iterable[Char]) -> Grid:
    """Put each character into the cell holding its centre.

    Text inside the grid that no cell holds sits where a rule is missing (a
    producer that draws each cell's own border may leave one out): the run of
    uncovered slots in its column becomes a cell, so a header label is not lost.
    """
    chars = list(chars)
    grid = _cells_for_orphan_text(grid, chars)
    inside: dict[int, list[Char]] = {i: [] for i in range(len(grid.cells))}
    for ch in chars:
        cy = (ch.bbox[1] + ch.bbox[3]) / 2
        index = grid.index_at((ch.bbox[0] + ch.bbox[2]) / 2, cy)
        if index is None:
            # Punctuation may hang past the table's outer rule (ぶら下げ組み: 。、 set beyond
            # the line's end); its glyph starts inside the cell it ends.
            index = grid.index_at(ch.bbox[0] + 0.25 * (ch.bbox[2] - ch.bbox[0]), cy)
        if index is not None:
            inside[index].append(ch)
    return grid.with_cells(replace(cell, text=chars_to_text(inside[i])) for i, cell in enumerate(grid.cells))


def _cells_for_orphan_text(grid: Grid, chars: list[Char]) -> Grid:
    xs, ys = grid.col_bounds, grid.row_bounds
    runs: set[tuple[int, int, int]] = set()
    for ch in chars:
        x, y = (ch.bbox[0] + ch.bbox[2]) / 2, (ch.bbox[1] + ch.bbox[3]) / 2
        c, r = bisect.bisect_right(xs, x) - 1, bisect.bisect_right(ys, y) - 1
        if not (0 <= c < grid.n_cols and 0 <= r < grid.n_rows) or (r, c) in grid._slots:
            continue
        top, bottom = r, r
        while top > 0 and (top - 1, c) not in grid._slots:
            top -= 1
        while bottom + 1 < grid.n_rows and (bottom + 1, c) not in grid._slots:
            bottom += 1
        runs.add((top, bottom, c))
    if not runs:
        return grid
    added = [Cell(row=t, col=c, row_span=b - t + 1, col_span=1, bbox=(xs[c], ys[t], xs[c + 1], ys[b + 1])) for t, b, c in runs]
    return grid.with_cells(sorted(grid.cells + tuple(added), key=lambda cell: (cell.row, cell.col)))


def chars_to_text(chars: list[Char]) -> str:
    """Join characters into lines (by vertical centre) and lines into one string.

    Lines are joined without a separator: Japanese wraps mid-word inside
    cells, and a space there would be invented text.
    """
    if not chars:
        return ""
    lines: list[list[Char]] = []
    for ch in sorted(chars, key=lambda c: ((c.bbox[1] + c.bbox[3]) / 2, c.bbox[0])):
        cy = (ch.bbox[1] + ch.bbox[3]) / 2
        height = max(ch.bbox[3] - ch.bbox[1], 1.0)
        if lines:
            last = lines[-1][-1]
            ly = (last.bbox[1] + last.bbox[3]) / 2
            if abs(cy - ly) < 0.5 * height:
                lines[-1].append(ch)
                continue
        lines.append([ch])
    parts = ["".join(c.text for c in sorted(line, key=lambda c: c.bbox[0])) for line in lines]
    return "".join(p.strip() if i else p.rstrip() for i, p in enumerate(parts)).strip()


def _edge_obj(e: Edge) -> dict:
    return {
        "x0": e.x0,
        "x1": e.x1,
        "top": e.top,
        "bottom": e.bottom,
        "width": e.x1 - e.x0,
        "height": e.bottom - e.top,
        "orientation": e.orientation,
        "object_type": "line",
    }


def _cluster(values: list[float]) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if out and v - out[-1] <= BOUNDARY_TOLERANCE:
            continue
        out.append(v)
    return out


def _index(bounds: list[float], value: float) -> int:
    return min(range(len(bounds)), key=lambda i: abs(bounds[i] - value))


def _drop_enclosing(cells: list[Cell]) -> list[Cell]:
    def encloses(a: Cell, b: Cell) -> bool:
        return (
            a is not b
            and a.row <= b.row
            and a.col <= b.col
            and a.row + a.row_span >= b.row + b.row_span
            and a.col + a.col_span >= b.col + b.col_span
            and (a.row_span, a.col_span) != (b.row_span, b.col_span)
        )

    # Only a spanning cell can enclose another.
    spanning = [a for a in cells if a.row_span > 1 or a.col_span > 1]
    enclosing = {id(a) for a in spanning if any(encloses(a, b) for b in cells)}
    return [a for a in cells if id(a) not in enclosing]


def header_roles(grid: Grid, roles: Sequence[tuple[str, Pattern[str]]], normalise: Callable[[str], str] = str) -> dict[str, int]:
    """Columns a table's first row names: each role at the first column whose header matches its pattern."""
    found: dict[str, int] = {}
    for col in range(grid.n_cols):
        head = grid.cell_at(0, col)
        if head is None or head.col != col:
            continue
        text = normalise(head.text)
        role = next((r for r, pattern in roles if r not in found and pattern.search(text)), None)
        if role is not None:
            found[role] = col
    return found
