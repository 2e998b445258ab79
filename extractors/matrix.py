"""Consortium × theme matrices marked ● / ○, and the tables that list the same consortia.

The reading is structural, never positional:

1. every ruled grid on every page, with its mark cells read (extractors.grids.marks);
2. header rows are the leading rows without a ●/○; a column whose body holds
   only marks or nothing is a mark column; a header cell spanning several mark
   columns is their group (中長期的課題, 取組テーマ);
3. label columns get a role from what their header *means* (settings below):
   round, region, consortium name, tour;
4. fragments on later pages without header rows, or with the same header
   labels, continue the matrix: rows are numbered across pages.

The same reading serves the second 一覧表 (themes and regional issues per
consortium), which has a name column and text columns but no marks.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from extractors.base import Context, provenance, register
from extractors.grids.grid import Cell, Grid, find_grids
from extractors.grids.marks import DASH, DOUBLE, FILLED, RING, read_marks
from extractors.grids.scan_grid import find_scanned_grids
from pipeline.text.language import sudachi
from pipeline.text.vocabulary import Choice, best_reading
from pipeline.model.records import ParsedPage, Record, record_key, union_bbox

NAME = "matrix"
VERSION = "1.0"

_KANJI_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}


@dataclass(frozen=True)
class MatrixSettings:
    """What header text means. Patterns are matched on NFKC-folded header text."""

    round_header: str = r"採択|募集|次数|選定"
    region_header: str = r"地域名|^地域$|自治体|市町村|所在地|都道府県"
    name_header: str = r"コンソーシアム|団体名|名称|事業者名|協議会"
    tour_header: str = r"ツアー|モニター"
    themes_header: str = r"テーマ"
    issues_header: str = r"課題"
    # A matrix needs at least this many mark columns and marked data rows.
    min_mark_columns: int = 2
    min_data_rows: int = 2
    # Names at least this similar (difflib ratio) link across the two tables.
    link_threshold: float = 0.6
    list_separators: str = "、・"


DEFAULT_SETTINGS = MatrixSettings()


@dataclass
class Column:
    index: int
    label: str
    group: str | None
    is_mark: bool
    role: str | None = None  # round | region | name | tour | themes | issues | None (a theme)


@dataclass
class Fragment:
    """One grid's worth of a table: its columns and its data rows."""

    page: ParsedPage
    grid: Grid
    header_rows: int
    columns: list[Column]
    data_rows: list[list[Cell]] = field(default_factory=list)

    @property
    def signature(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.columns)


def page_grids(page: ParsedPage, context: Context | None = None) -> list[Grid]:
    """Ruled grids of one page with their marks read.

    Pages with a text layer use ruling edges and glyphs; image-only pages
    (``page.image``) are the scan path's.
    """
    if page.image is not None:
        return find_scanned_grids(page, (context or Context()).ocr_cache_dir)
    return [read_marks(g, page) for g in find_grids(page)]


def _matrix_marks(grid: Grid) -> Grid:
    """The matrix marks only ● and ○: a ◎ some producer typed or drew for the ring is read as ○, for review."""
    return grid.with_cells(
        replace(c, mark=RING, confidence=min(c.confidence, 0.5), note=c.note or "◎ read as ○ (the matrix marks only ● and ○)")
        if c.mark == DOUBLE else c
        for c in grid.cells
    )


@register(NAME, VERSION, ("consortia", "theme_marks", "consortium_issues", "cell_reviews"), with_context=True)
def extract_matrices(pages: Sequence[ParsedPage], settings: MatrixSettings = DEFAULT_SETTINGS, *, context: Context | None = None) -> list[Record]:
    """Consortia, their marks and their issue lists from every page of one document."""
    matrix_fragments: list[Fragment] = []
    list_fragments: list[Fragment] = []
    for page in pages:
        for grid in map(_matrix_marks, page_grids(page, context)):
            frag = _read_fragment(page, grid, settings, matrix_fragments[-1] if matrix_fragments else None)
            if frag is not None:
                matrix_fragments.append(frag)
                continue
            frag = _read_list_fragment(page, grid, settings, list_fragments[-1] if list_fragments else None)
            if frag is not None:
                list_fragments.append(frag)
    consortia, marks = _matrix_records(matrix_fragments)
    issues = _issue_records(list_fragments, consortia, settings)
    return consortia + marks + issues


# ---------------------------------------------------------------- reading grids


def _is_mark(cell: Cell | None, marks: tuple[str, ...] = (FILLED, RING)) -> bool:
    return cell is not None and cell.mark in marks


def _header_row_count(grid: Grid) -> int:
    """Leading rows without a ●/○ are header rows."""
    for r, row in enumerate(grid.rows()):
        if any(_is_mark(c) for c in row):
            return r
    return grid.n_rows


def _columns(grid: Grid, header_rows: int, settings: MatrixSettings) -> list[Column]:
    columns = []
    blank: list[bool] = []
    for c in range(grid.n_cols):
        covering: list[Cell] = []
        for r in range(header_rows):
            cell = grid.cell_at(r, c)
            if cell is not None and (not covering or covering[-1] is not cell):
                covering.append(cell)
        label = _fold(covering[-1].text) if covering else ""
        group = next((_fold(h.text) for h in covering[:-1] if h.col_span > 1 and h.text.strip()), None)
        body = [grid.cell_at(r, c) for r in range(header_rows, grid.n_rows)]
        owned = [b for b in body if b is not None and b.col == c and b.col_span == 1]
        is_mark = bool(owned) and all(b.mark is not None or not b.text.strip() for b in owned) and any(
            b.mark is not None for b in owned
        )
        columns.append(Column(index=c, label=label, group=group, is_mark=is_mark))
        blank.append(not any(b.mark is not None or b.text.strip() for b in owned))
    _assign_roles(columns, settings)
    _tour_by_answers(columns, grid, header_rows)
    _round_by_values(columns, grid, header_rows)
    _blank_mark_columns(columns, blank)
    return columns


def _owned_body(grid: Grid, header_rows: int, col: Column) -> list[Cell]:
    return [b for r in range(header_rows, grid.n_rows) if (b := grid.cell_at(r, col.index)) is not None and b.row == r and b.col == col.index]


def _round_by_values(columns: list[Column], grid: Grid, header_rows: int) -> None:
    """The round column when its header could not be read (a two-line 採択/次 OCR'd as nothing).

    Its cells say which round each consortium was chosen in (1次, 第2次): the only text
    column every body cell of which names a round, most of them with 次, is taken.
    """
    if any(c.role == "round" for c in columns):
        return
    named = []
    for col in columns:
        if col.is_mark or col.role is not None:
            continue
        texts = [_fold(b.text) for b in _owned_body(grid, header_rows, col)]
        if texts and all(parse_round(t) for t in texts) and 2 * sum("次" in t for t in texts) >= len(texts):
            named.append(col)
    if len(named) == 1:
        named[0].role = "round"


def _tour_by_answers(columns: list[Column], grid: Grid, header_rows: int) -> None:
    """The tour column when its header could not be read (a narrow wrapped header OCR'd as ツチ施).

    It answers yes or no for every consortium: each of its body cells holds a
    mark, "no" being a dash, where a theme column leaves "no" blank. Only an
    ungrouped mark column answered in every row, with at least one dash, and
    the only such column, is taken.
    """
    if any(c.role == "tour" for c in columns):
        return
    answered = []
    for col in columns:
        if not col.is_mark or col.role is not None or col.group is not None:
            continue
        owned = _owned_body(grid, header_rows, col)
        if owned and all(b.mark is not None for b in owned) and any(b.mark == DASH for b in owned):
            answered.append(col)
    if len(answered) == 1:
        answered[0].role = "tour"


def _blank_mark_columns(columns: list[Column], blank: list[bool]) -> None:
    """A theme column without a mark on this page is still a mark column: its header
    shares a group with mark columns, or it stands between or beside them. Continuation
    pages take their columns from here, so their marks in it would otherwise be lost."""
    changed = True
    while changed:
        changed = False
        for i, col in enumerate(columns):
            if col.is_mark or col.role is not None or not blank[i] or not col.label:
                continue
            neighbours = [columns[j] for j in (i - 1, i + 1) if 0 <= j < len(columns)]
            same_group = col.group is not None and any(c.is_mark and c.role is None and c.group == col.group for c in columns)
            if same_group or any(c.is_mark and c.role is None for c in neighbours):
                col.is_mark = changed = True


def _assign_roles(columns: list[Column], settings: MatrixSettings) -> None:
    """Give label columns a role by header meaning; the first match of each role wins."""
    taken: set[str] = set()
    # Most specific meanings first: a themes header may also mention 地域.
    order = [("tour", settings.tour_header, True), ("round", settings.round_header, False),
             ("name", settings.name_header, False), ("themes", settings.themes_header, False),
             ("issues", settings.issues_header, False), ("region", settings.region_header, False)]
    for role, pattern, wants_mark in order:
        for col in columns:
            if col.role is None and role not in taken and col.is_mark == wants_mark and col.group is None and re.search(_full_kana(pattern), _full_kana(col.label)):
                col.role = role
                taken.add(role)
                break


def _continues(previous: Fragment | None, grid: Grid) -> bool:
    """A headerless grid continues ``previous`` when its columns line up, or hold what
    ``previous``'s columns hold (a producer that sizes columns by their content gives a
    page without header rows other widths)."""
    if previous is None or previous.grid.n_cols != grid.n_cols:
        return False
    widths_prev = _relative_widths(previous.grid)
    widths_new = _relative_widths(grid)
    if all(abs(a - b) < 0.02 for a, b in zip(widths_prev, widths_new)):
        return True
    return _same_column_kinds(previous, grid)


def _same_column_kinds(previous: Fragment, grid: Grid) -> bool:
    """Marks fall only in ``previous``'s mark columns, and its text columns hold text."""
    mark_cols = {c.index for c in previous.columns if c.is_mark}
    if not mark_cols:
        return False
    marked, texts = set(), set()
    for cell in grid.cells:
        if cell.col_span != 1:
            return False
        if cell.mark in (FILLED, RING):
            marked.add(cell.col)
        elif cell.text.strip():
            texts.add(cell.col)
    label_cols = {c.index for c in previous.columns if not c.is_mark and c.role in ("name", "region", "round")}
    return bool(marked) and marked <= mark_cols and label_cols <= texts and not (texts & (mark_cols - {c.index for c in previous.columns if c.role == "tour"}))


def _relative_widths(grid: Grid) -> list[float]:
    bounds = grid.col_bounds
    total = bounds[-1] - bounds[0] or 1.0
    return [(b - a) / total for a, b in zip(bounds, bounds[1:])]


def _read_fragment(page: ParsedPage, grid: Grid, settings: MatrixSettings, previous: Fragment | None) -> Fragment | None:
    header_rows = _header_row_count(grid)
    if header_rows == grid.n_rows:
        return None
    if header_rows == 0 or _blank_rows(grid, header_rows):
        # No header, or only empty strips above the body (a row cut by the page break).
        if not _continues(previous, grid):
            return None
        columns = previous.columns  # type: ignore[union-attr]
    else:
        columns = _columns(grid, header_rows, settings)
    if header_rows and not _claims(columns, settings):
        return None
    mark_columns = [c for c in columns if c.is_mark and c.role is None]
    if len(mark_columns) < settings.min_mark_columns or not any(c.role == "name" for c in columns):
        return None
    rows = _data_rows(grid, header_rows, columns)
    repeats_previous = previous is not None and header_rows > 0 and tuple(c.label for c in columns) == previous.signature
    # A small grid with marks is usually a legend; the same header again is a continuation, however short.
    if len(rows) < settings.min_data_rows and header_rows and not repeats_previous:
        return None
    return Fragment(page=page, grid=grid, header_rows=header_rows, columns=columns, data_rows=rows)


def _claims(columns: list[Column], settings: MatrixSettings) -> bool:
    """A consortium matrix by what its headers mean: a round (採択), a name, a region and a group of theme columns.

    Any other table with marks (a shelter × hazard list, a checklist) is left
    to the generic mark-table reader (extractors.mark_tables).
    """
    roles = {c.role for c in columns}
    groups = [c.group for c in columns if c.is_mark and c.role is None and c.group]
    largest = max((groups.count(g) for g in set(groups)), default=0)
    return {"round", "name", "region"} <= roles and largest >= settings.min_mark_columns


def _blank_rows(grid: Grid, rows: int) -> bool:
    return all(not c.text.strip() and c.mark is None for c in grid.cells if c.row < rows)


def _read_list_fragment(page: ParsedPage, grid: Grid, settings: MatrixSettings, previous: Fragment | None) -> Fragment | None:
    """A table without marks that lists consortia with their themes and issues."""
    if any(c.mark in (FILLED, RING) for c in grid.cells):
        return None
    header_rows = _list_header_rows(grid, settings)
    if header_rows == 0:
        if not _continues(previous, grid):
            return None
        columns = previous.columns  # type: ignore[union-attr]
    else:
        columns = _columns(grid, header_rows, settings)
    roles = {c.role for c in columns}
    if not {"name", "themes", "issues"} <= roles:
        return None
    return Fragment(page=page, grid=grid, header_rows=header_rows, columns=columns,
                    data_rows=_data_rows(grid, header_rows, columns))


def _list_header_rows(grid: Grid, settings: MatrixSettings) -> int:
    """Header rows of a text table: leading rows whose cells all read as headers."""
    pattern = "|".join([settings.name_header, settings.themes_header, settings.issues_header, settings.round_header])
    count = 0
    for row in grid.rows():
        texts = [_fold(c.text) for c in row if c.text.strip()]
        if texts and sum(bool(re.search(pattern, t)) for t in texts) >= 2:
            count += 1
        else:
            break
    return count


def _data_rows(grid: Grid, header_rows: int, columns: list[Column]) -> list[list[Cell]]:
    """Body rows as one cell per column (following spans), skipping empty rows."""
    rows = []
    for r in range(header_rows, grid.n_rows):
        cells = [grid.cell_at(r, c.index) for c in columns]
        if any(cell is not None and cell.row == r and (cell.text.strip() or cell.mark) for cell in cells):
            rows.append([cell if cell is not None else Cell(r, c.index, 1, 1, grid.bbox) for cell, c in zip(cells, columns)])
    return rows


# ---------------------------------------------------------------- records


def _matrix_records(fragments: list[Fragment]) -> tuple[list[Record], list[Record]]:
    consortia: list[Record] = []
    marks: list[Record] = []
    row_number = 0
    headers = _header_vocabulary(fragments)
    for frag in fragments:
        role_index = {c.role: i for i, c in enumerate(frag.columns) if c.role}
        for cells in frag.data_rows:
            row_number += 1
            page = frag.page
            doc_row_id = record_key((page.doc_id, row_number))  # = the row's places.record_key
            bbox = union_bbox([c.bbox for c in cells])
            text = _texts(cells, role_index)
            tour_cell = cells[role_index["tour"]] if "tour" in role_index else None
            consortia.append(
                Record(
                    dataset="consortia",
                    values={
                        "consortium_id": doc_row_id,
                        "row": row_number,
                        "round": parse_round(text.get("round", "")),
                        "region_raw": text.get("region", ""),
                        "consortium_name_raw": text.get("name", ""),
                        "tour": _tour(tour_cell),
                        "ocr": frag.grid.ocr,
                    },
                    provenance=provenance(page, bbox, NAME, VERSION),
                )
            )
            for cell, col in zip(cells, frag.columns):
                if cell.note and cell.row >= frag.header_rows:
                    marks.append(_review(page, doc_row_id, row_number, col, cell))
                if col.role is None and col.is_mark and cell.mark in (FILLED, RING):
                    theme = headers.get((frag.grid.n_cols, col.index), Choice(col.label, "exact", 1.0))
                    if theme.value is None:
                        marks.append(vocabulary_failure(page, doc_row_id, row_number, col, cell))
                    marks.append(
                        Record(
                            dataset="theme_marks",
                            values={
                                "consortium_id": doc_row_id,
                                "row": row_number,
                                "group": col.group,
                                "theme_raw": col.label,
                                "theme": theme.value,
                                "theme_match": theme.method,
                                "mark": cell.mark,
                                "mark_source": cell.mark_source or "glyph",
                                "confidence": float(cell.confidence),
                            },
                            provenance=provenance(page, cell.bbox, NAME, VERSION),
                            extra={"note": cell.note} if cell.note else {},
                        )
                    )
    return consortia, marks


def _header_vocabulary(fragments: list[Fragment]) -> dict[tuple[int, int], Choice]:
    """The table's own theme names for its scanned fragments: (columns, column) → the chosen name.

    Every page that prints the header reads it again; the readings of one
    column vote (pipeline.text.vocabulary.best_reading: the lexicon first, then
    the majority). A name the dictionary still cannot read as words is not a
    category: it is left out (value None) and the read text kept apart.
    Headers printed as text are their own vocabulary and are not listed.
    """
    readings: dict[tuple[int, int], list[str]] = {}
    for frag in fragments:
        if frag.grid.ocr and frag.header_rows:
            for col in frag.columns:
                if col.role is None and col.is_mark:
                    readings.setdefault((frag.grid.n_cols, col.index), []).append(col.label)
    chosen = {}
    for key, labels in readings.items():
        choice = best_reading(labels, unknown=_foreign_words)
        if choice.value is not None and _foreign_words(choice.value):
            choice = Choice(None, "none", choice.confidence)
        chosen[key] = choice
    return chosen


def _foreign_words(text: str) -> int:
    """Words the dictionary does not know, and persons' names: a theme header holds neither.

    (Unknown kanji pairs often tokenize as rare given names: 経資 / 剛時; プ misread as ブ
    makes プラットフォーム ブラット|フォーム.)
    """
    return sum(1 for m in sudachi().tokenize(text) if m.is_oov() or tuple(m.part_of_speech()[1:3]) == ("固有名詞", "人名"))


def vocabulary_failure(page: ParsedPage, consortium_id: str, row: int, col: Column, cell: Cell) -> Record:
    """A row-level validation failure: the mark's header is outside the table's vocabulary.

    The mark is published with ``theme`` empty and ``theme_raw`` as read; this
    review row says why, for a person to name the column.
    """
    reason = f"header outside the table's vocabulary: {col.label!r} (kept as theme_raw, theme left empty)"
    return _review(page, consortium_id, row, col, cell, reason)


def _review(page: ParsedPage, consortium_id: str, row: int, col: Column, cell: Cell, reason: str | None = None) -> Record:
    """A cell whose reading a person should check (its reader left a note, or ``reason``)."""
    return Record(
        dataset="cell_reviews",
        values={
            "consortium_id": consortium_id,
            "row": row,
            "col": col.index,
            "column": col.label,
            "reason": reason or cell.note,
            "mark": cell.mark,
            "mark_source": cell.mark_source,
            "confidence": float(cell.confidence),
        },
        provenance=provenance(page, cell.bbox, NAME, VERSION),
    )


def _issue_records(fragments: list[Fragment], consortia: list[Record], settings: MatrixSettings) -> list[Record]:
    rows: list[tuple[Fragment, list[Cell], dict[str, str]]] = []
    for frag in fragments:
        role_index = {c.role: i for i, c in enumerate(frag.columns) if c.role}
        for cells in frag.data_rows:
            rows.append((frag, cells, _texts(cells, role_index)))
    links = link_by_name(
        [(parse_round(t.get("round", "")), t.get("name", "")) for _, _, t in rows],
        [(c.values["round"], c.values["consortium_name_raw"], c.values["consortium_id"]) for c in consortia],
        settings.link_threshold,
    )
    records = []
    for n, ((frag, cells, text), (cid, method, score)) in enumerate(zip(rows, links), start=1):
        records.append(
            Record(
                dataset="consortium_issues",
                values={
                    "consortium_id": cid,
                    "row": n,
                    "round": parse_round(text.get("round", "")),
                    "consortium_name_raw": text.get("name", ""),
                    "themes_raw": text.get("themes", ""),
                    "themes": split_list(text.get("themes", ""), settings.list_separators),
                    "issues_raw": text.get("issues", ""),
                    "issues": split_list(text.get("issues", ""), settings.list_separators),
                    "link_method": method,
                    "link_score": round(score, 3),
                },
                provenance=provenance(frag.page, union_bbox([c.bbox for c in cells]), NAME, VERSION),
            )
        )
    return records


def link_by_name(
    rows: list[tuple[int, str]],
    targets: list[tuple[int, str, str]],
    threshold: float,
    similarity: Callable[[str, str], float] | None = None,
) -> list[tuple[str | None, str, float]]:
    """Link each (round, name) to a target id, one-to-one, best matches first.

    A name equal after folding links "exact"; otherwise the most similar
    unused target of the same round links "fuzzy" when at least ``threshold``
    similar; a row left over takes the target at the same position of the same
    round ("order") only when that target is also left over. Nothing else is
    guessed: the rest get no link.
    """
    sim = similarity or (lambda a, b: difflib.SequenceMatcher(None, a, b).ratio())
    keys = [_name_key(name) for _, name in rows]
    target_keys = [_name_key(name) for _, name, _ in targets]
    result: list[tuple[str | None, str, float]] = [(None, "none", 0.0)] * len(rows)
    used: set[int] = set()
    pairs = []
    for i, (rnd, _) in enumerate(rows):
        for j, (t_round, _, _) in enumerate(targets):
            if rnd == t_round:
                pairs.append((1.0 if keys[i] == target_keys[j] else sim(keys[i], target_keys[j]), i, j))
    done: set[int] = set()
    for score, i, j in sorted(pairs, key=lambda p: -p[0]):
        if i in done or j in used or score < threshold:
            continue
        result[i] = (targets[j][2], "exact" if score == 1.0 else "fuzzy", score)
        done.add(i)
        used.add(j)
    for i in range(len(rows)):
        if i in done or i >= len(targets) or i in used:
            continue
        if targets[i][0] == rows[i][0]:
            result[i] = (targets[i][2], "order", sim(keys[i], target_keys[i]))
            used.add(i)
    return result


# ---------------------------------------------------------------- values


def parse_round(text: str) -> int:
    """1次 / 第2次 / 三次 → 1 / 2 / 3; 0 when the text names no round."""
    folded = _fold(text)
    m = re.search(r"(\d+)\s*次", folded)
    if m:
        return int(m.group(1))
    m = re.search(r"([一二三四五])\s*次", folded)
    if m:
        return _KANJI_DIGITS[m.group(1)]
    # The column's header already says it holds rounds: a lone number with a
    # stray character is one, e.g. OCR reading 1次 as 1交.
    m = re.fullmatch(r"\D?(\d)\D?", folded)
    return int(m.group(1)) if m else 0


def split_list(text: str, separators: str) -> list[str]:
    """Split a list cell on Japanese list separators, outside brackets."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "「『（(【":
            depth += 1
        elif ch in "」』）)】" and depth:
            depth -= 1
        if ch in separators and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _texts(cells: list[Cell], role_index: dict[str, int]) -> dict[str, str]:
    return {role: cells[i].text.strip() for role, i in role_index.items()}


def _tour(cell: Cell | None) -> bool | None:
    if cell is None or cell.mark is None:
        return None
    return cell.mark != DASH


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


_SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょゎ", "アイウエオツヤユヨワカケあいうえおつやゆよわ")


def _full_kana(text: str) -> str:
    """Small kana as full-size: OCR confuses ツ/ッ and ア/ァ in headers."""
    return text.translate(_SMALL_KANA)


def _name_key(name: str) -> str:
    """Fold a name for comparison: NFKC, no spaces, no trailing (annotation)."""
    return re.sub(r"[(（][^()（）]*[)）]$", "", _fold(name))
