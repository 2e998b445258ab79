"""Case studies (主な事例) under theme headings.

A theme panel ends with a 主な事例 label followed by blocks, each a bold
heading (place, a gap, the consortium name, possibly wrapped) and plain
description lines. The theme is the nearest larger-type heading above the
label in the same panel. Rows come out unlinked; linking to the consortia
of the same document is a document-level step (pipeline.document.linking).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from extractors.base import provenance, register
from extractors.text.columns import column_of, fragments, merge_rows, same_band, strip_symbols
from extractors.text.layout import Line
from pipeline.text.prefectures import prefectures_of
from pipeline.model.records import ParsedPage, Record, union_bbox

NAME, VERSION = "case_studies", "1"

LABEL = re.compile(r"^\s*主な事例\s*$")
PREFECTURE = re.compile(r"^(北海道|東京都|京都府|大阪府|\S{2,3}?県)")


@dataclass(frozen=True)
class Place:
    raw: str | None
    prefecture: str | None
    municipality: str | None


@register(NAME, VERSION, ("case_studies",))
def extract_case_studies(pages: Sequence[ParsedPage]) -> list[Record]:
    records: list[Record] = []
    for page in pages:
        if page.has_text:
            records.extend(_read_page(page, start=len(records)))
            records.extend(_read_tables(page, start=len(records)))
    return records


# Header meanings of a case-study table (one case a row), tried in this order.
_TABLE_ROLES = [
    ("name", re.compile(r"コンソーシアム|団体|事業者")),
    ("description", re.compile(r"取組内容|取組概要|概要|内容")),
    ("theme", re.compile(r"テーマ|分野")),
    ("place", re.compile(r"地域|所在地|自治体|市町村")),
]


def _read_tables(page: ParsedPage, start: int) -> list[Record]:
    """Case studies laid out as a ruled table: name and description columns, theme and place if given."""
    from extractors.grids.grid import find_grids, header_roles

    out: list[Record] = []
    for grid in find_grids(page):
        roles = header_roles(grid, _TABLE_ROLES)
        if not {"name", "description"} <= set(roles):
            continue
        for row in range(1, grid.n_rows):
            cells = {role: grid.cell_at(row, col) for role, col in roles.items()}
            if cells["name"] is None or not cells["name"].text.strip() or cells["name"].row != row:
                continue
            text = {role: (c.text.strip() if c is not None else "") for role, c in cells.items()}
            place = parse_place(text.get("place") or None)
            out.append(
                Record(
                    dataset="case_studies",
                    values={
                        "case_id": start + len(out) + 1,
                        "theme": strip_symbols(text["theme"]) or None if "theme" in text else None,
                        "place_raw": place.raw,
                        "prefecture": place.prefecture,
                        "municipality": place.municipality,
                        "consortium_name_raw": text["name"],
                        "description": text["description"],
                        "consortium_id": None,
                        "link_method": "none",
                        "link_score": 0.0,
                        "flag": False,
                        "flag_reason": None,
                    },
                    provenance=provenance(page, union_bbox([c.bbox for c in cells.values() if c is not None and c.row == row]), NAME, VERSION),
                )
            )
    return out


def split_place(heading: Line) -> tuple[str | None, str]:
    """(place, name) from a heading's first line: the place is the run before the first wide gap.

    Without a gap, a leading 都道府県+市区町村 is taken as the place.
    """
    split = _gap_split(heading)
    if split is not None:
        return split
    text = heading.text.strip()
    m = re.match(r"^((?:北海道|東京都|京都府|大阪府|\S{2,3}?県)\S{1,5}?[市区町村])(\S+)$", text)
    if m:
        return m.group(1), m.group(2)
    return None, text


def _gap_split(line: Line) -> tuple[str, str] | None:
    """The text before and after the first gap wider than half a glyph, if any."""
    chars = line.chars
    for i in range(1, len(chars)):
        if chars[i].bbox[0] - chars[i - 1].bbox[2] > 0.5 * max(chars[i].size, 1.0):
            place = "".join(c.text for c in chars[:i]).strip()
            whole = line.text.strip()
            # The line's own text keeps the spaces between Latin words (CHIZU Incubation).
            name = whole[len(place):].strip() if whole.startswith(place) else ""
            if place and name:
                return place, name
            return None
    return None


def parse_place(raw: str | None) -> Place:
    if not raw:
        return Place(None, None, None)
    m = PREFECTURE.match(raw)
    if not m:
        return Place(raw, None, None)
    rest = raw[m.end():].strip() or None
    return Place(raw, m.group(1), rest)


def _read_page(page: ParsedPage, start: int) -> list[Record]:
    lines = fragments(page)
    labels = [ln for ln in lines if LABEL.match(ln.text)]
    if not labels:
        return []
    # Text in a ruled table is the table's (read by _read_tables), not a panel's.
    from extractors.grids.grid import find_grids

    boxes = [g.bbox for g in find_grids(page)]
    lines = [ln for ln in lines if not any(_inside(ln.bbox, b) for b in boxes)]
    body_size = max(ln.size for ln in labels)
    out: list[Record] = []
    for index, label in enumerate(labels):
        column = merge_rows([ln for ln in lines if column_of(ln, labels) == index])
        theme = _theme_above(label, merge_rows([ln for ln in lines if same_band(ln, labels, index)]))
        below = [ln for ln in column if ln.bbox[1] >= label.bbox[3] - 1 and ln is not label]
        for heading, desc in _blocks(below, body_size):
            place_raw, first = split_place(heading[0])
            name = first + "".join(ln.text.strip() for ln in heading[1:])
            place = parse_place(place_raw)
            out.append(
                Record(
                    dataset="case_studies",
                    values={
                        "case_id": start + len(out) + 1,
                        "theme": theme,
                        "place_raw": place.raw,
                        "prefecture": place.prefecture,
                        "municipality": place.municipality,
                        "consortium_name_raw": name,
                        "description": "".join(ln.text.strip() for ln in desc),
                        "consortium_id": None,
                        "link_method": "none",
                        "link_score": 0.0,
                        "flag": False,
                        "flag_reason": None,
                    },
                    provenance=provenance(page, union_bbox([ln.bbox for ln in heading + desc]), NAME, VERSION),
                )
            )
    return out


def _inside(line: tuple, box: tuple) -> bool:
    cx, cy = (line[0] + line[2]) / 2, (line[1] + line[3]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _is_place(text: str) -> bool:
    return bool(PREFECTURE.match(text)) or bool(prefectures_of(text))


def _theme_above(label: Line, column: list[Line]) -> str | None:
    """The nearest line above the label set in larger type than the label."""
    above = [ln for ln in column if ln.bbox[3] <= label.bbox[1] and ln.size > label.size + 0.5]
    if not above:
        return None
    return strip_symbols(max(above, key=lambda ln: ln.bbox[3]).text) or None


def _blocks(lines: list[Line], body_size: float) -> list[tuple[list[Line], list[Line]]]:
    """Split lines below a label into (heading lines, description lines) blocks.

    A heading is set in a bold face, or, where the producer has none (a
    synthetic bold drawn as outlines, or no bold at all), it is the paragraph
    that opens with "<place> ⎵ <name>": a short run, a wide gap, the name. A
    heading without a bold face runs on while its lines fill the column and no
    paragraph break follows; the next paragraph is its description.
    """
    ordered: list[Line] = []
    for ln in sorted(lines, key=lambda ln: (ln.bbox[1], ln.bbox[0])):
        text = ln.text.strip()
        if not text:
            continue
        if ln.size > body_size + 0.5:
            break  # a new heading in this column: the case list has ended
        if text.isdigit() and ln.size < body_size - 0.5:
            continue  # page number
        ordered.append(ln)
    breaks = _paragraph_starts(ordered)
    blocks: list[tuple[list[Line], list[Line]]] = []
    for i, ln in enumerate(ordered):
        open_heading = bool(blocks) and not blocks[-1][1]
        if ln.bold:
            if open_heading and blocks[-1][0][-1].bold:
                blocks[-1][0].append(ln)  # wrapped heading
            else:
                blocks.append(([ln], []))
        elif _opens_with_place(ln, known_only=i not in breaks):
            # A known place (a prefecture) opens a heading even where the description
            # above happens to fill its last line; any other short run only opens a paragraph.
            blocks.append(([ln], []))
        elif open_heading and i not in breaks and not blocks[-1][0][-1].bold and abs(ln.size - blocks[-1][0][-1].size) < 0.5:
            blocks[-1][0].append(ln)  # a heading without a bold face, wrapped
        elif blocks:
            blocks[-1][1].append(ln)
    return [(h, d) for h, d in blocks if d]


def _paragraph_starts(lines: list[Line]) -> set[int]:
    """Indexes of lines that open a paragraph: the first, one after a line that ends short
    of the column's right edge, or one below a gap wider than the column's line spacing (by more than
    0.15 em: lines of one paragraph are set at one pitch)."""
    if not lines:
        return set()
    # The column's measure is the right edge that more than one line reaches (the running
    # text's); with no such edge no line is known to run on, so each line ends a paragraph.
    ends = sorted((ln.bbox[2] for ln in lines), reverse=True)
    right = ends[0] if len(ends) > 1 and ends[1] >= ends[0] - 1.5 * max(lines[0].size, 1.0) else float("inf")
    gaps = sorted(b.bbox[1] - a.bbox[3] for a, b in zip(lines, lines[1:]))
    leading = gaps[len(gaps) // 2] if gaps else 0.0
    starts = {0}
    for i in range(1, len(lines)):
        prev, ln = lines[i - 1], lines[i]
        size = max(ln.size, 1.0)
        if prev.bbox[2] < right - 1.5 * size or ln.bbox[1] - prev.bbox[3] > leading + 0.15 * size:
            starts.add(i)
    return starts


# A place before the gap of a case heading is at most this many characters (和歌山県和歌山市, 静岡・宮城).
MAX_PLACE = 12


def _opens_with_place(line: Line, known_only: bool = False) -> bool:
    """A line that reads "<place> ⎵ <name>": a known place before the gap, or a short run of
    Japanese before it (複数地域, 静岡・宮城); a Latin word before a space (TWIN GATE) is no place."""
    split = _gap_split(line)
    if split is None:
        return False
    place = split[0]
    if known_only:
        return _is_place(place)
    return _is_place(place) or (len(place) <= MAX_PLACE and sum(ch.isalpha() and not ch.isascii() for ch in place) >= 2)
