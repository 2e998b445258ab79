"""Budget tables: one row per budget item, with the amount as integer yen.

A budget table is recognised by what its header cells mean, not where it
sits: one header names the item (予算（項目）, 事業名 ...), one the amount
(a column whose body cells are mostly yen amounts), and at least one of
内容/概要 or 対象. Vertically merged cells (分野 spanning several items)
are repeated on every row they cover, because a reader of the PDF reads them
that way.
"""

from __future__ import annotations

import re
from typing import Sequence

from extractors.base import provenance, register
from extractors.grids.grid import Cell, Grid, find_grids
from extractors.text.values import fold, yen
from pipeline.model.records import ParsedPage, Record, union_bbox

NAME, VERSION = "budget", "1"

# Header meanings, tried in this order; the first role a header matches wins.
_ROLE_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("field", re.compile(r"分野|区分|分類")),
    ("target", re.compile(r"対象")),
    ("description", re.compile(r"内容|概要|支援内容")),
    ("item", re.compile(r"項目|事業名|施策名|予算名|事業$|制度")),
]
_AMOUNT_HEADER = re.compile(r"予算|金額|額|百万円|億円|千円")
_PORTION = re.compile(r"の?内数")


@register(NAME, VERSION, ("budget_items",))
def extract_budget_items(pages: Sequence[ParsedPage]) -> list[Record]:
    records: list[Record] = []
    # The last budget table read: a headerless grid at the top of the next page with
    # the same columns continues it (long tables break over pages).
    previous: tuple[int, Grid, dict[str, int], str] | None = None
    for page in pages:
        if not page.has_text:
            continue
        for grid in find_grids(page):
            roles = header_roles(grid)
            if roles is not None:
                header = grid.cell_at(0, roles["amount"]).text  # type: ignore[union-attr]
                records.extend(_read_rows(page, grid, roles, header, first_row=1, start=len(records)))
                previous = (page.page_number, grid, roles, header)
            elif previous is not None and _continues(previous, page.page_number, grid):
                _, _, roles, header = previous
                records.extend(_read_rows(page, grid, roles, header, first_row=0, start=len(records)))
                previous = (page.page_number, grid, roles, header)
    return records


def _continues(previous: tuple[int, Grid, dict[str, int], str], page_number: int, grid: Grid) -> bool:
    last_page, last_grid, _, _ = previous
    if page_number != last_page + 1 or grid.n_cols != last_grid.n_cols:
        return False
    return all(abs(a - b) <= 3.0 for a, b in zip(grid.col_bounds, last_grid.col_bounds))


def header_roles(grid: Grid) -> dict[str, int] | None:
    """Column index of each role, or None when ``grid`` is not a budget table."""
    header = [grid.cell_at(0, col) for col in range(grid.n_cols)]
    roles: dict[str, int] = {}
    amount_col = _amount_column(grid)
    for col, cell in enumerate(header):
        if cell is None or cell.col != col:
            continue
        text = fold(cell.text).replace(" ", "")
        if col == amount_col:
            roles["amount"] = col
            continue
        for role, pattern in _ROLE_PATTERNS:
            if role not in roles and pattern.search(text):
                roles[role] = col
                break
        else:
            # 予算（項目）: a header naming the budget that is not the amount column is the item.
            if "item" not in roles and "予算" in text:
                roles["item"] = col
    if "amount" not in roles or "item" not in roles:
        return None
    if "description" not in roles and "target" not in roles:
        return None
    return roles


def _amount_column(grid: Grid) -> int | None:
    """The column whose header speaks of money and whose body cells are mostly yen amounts."""
    best, best_share = None, 0.0
    for col in range(grid.n_cols):
        head = grid.cell_at(0, col)
        if head is None or not _AMOUNT_HEADER.search(fold(head.text)):
            continue
        body = [grid.cell_at(r, col) for r in range(1, grid.n_rows)]
        texts = [c.text for c in body if c is not None and c.text.strip()]
        if not texts:
            continue
        share = sum(yen(t) is not None for t in texts) / len(texts)
        if share > best_share:
            best, best_share = col, share
    return best if best_share >= 0.5 else None


def _read_rows(page: ParsedPage, grid: Grid, roles: dict[str, int], amount_header: str, first_row: int, start: int) -> list[Record]:
    out: list[Record] = []
    for row in range(first_row, grid.n_rows):
        cells = {role: grid.cell_at(row, col) for role, col in roles.items()}
        item_cell = cells["item"]
        if item_cell is None or not item_cell.text.strip() or item_cell.row != row:
            continue  # a continuation of a vertically merged item, already read
        amount_text = _text(cells.get("amount"))
        own = [c for c in cells.values() if c is not None and c.row == row]
        out.append(
            Record(
                dataset="budget_items",
                values={
                    "item_no": start + len(out) + 1,
                    "table_row": row,
                    "field": _text(cells.get("field")),
                    "item": item_cell.text,
                    "description": _text(cells.get("description")),
                    "target": _text(cells.get("target")),
                    "amount_text": amount_text,
                    "amount_yen": yen(amount_text) if amount_text else None,
                    "is_portion": bool(amount_text and _PORTION.search(amount_text)),
                    "amount_header": amount_header,
                },
                provenance=provenance(page, union_bbox([c.bbox for c in own]), NAME, VERSION),
            )
        )
    return out


def _text(cell: Cell | None) -> str | None:
    if cell is None or not cell.text.strip():
        return None
    return cell.text
