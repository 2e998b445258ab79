"""Monitor tour figures: participants, by sex and age band, households, stay days.

Two kinds of tour report are read, each by what it says:

* a named panel: a consortium heading above a 参加実績 line ("参加実績 18名
  (7世帯)"), with 男性/女性 counts and 総滞在日数 in the panel's text;
* a participant-attribute table: a ruled grid whose header cells are age
  bands (20代, 50代以上) and whose rows are 男性/女性/合計, on a page about a
  monitor tour; the participant count stated in the page's text goes with it.

One ``tours`` row per report; ``tour_age_counts`` holds the table cells. The
stated figures and the table's figures are both kept: they do not always
agree (a table may count representatives only), and the cross-checks report
that rather than choose.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from extractors.base import provenance, register
from extractors.text.columns import column_of, fragments, same_band, strip_symbols
from extractors.grids.grid import Grid, find_grids, header_roles
from extractors.text.layout import Line
from extractors.text.values import age_band, fold
from pipeline.model.records import ParsedPage, Record, union_bbox

NAME, VERSION = "tours", "1"

PANEL_LABEL = re.compile(r"参加実績")
TOUR_PAGE = re.compile(r"モニター|ツアー")
_PERSONS = re.compile(r"(\d[\d,]*)\s*名")
_HOUSEHOLDS = re.compile(r"(\d[\d,]*)\s*世帯")
_MALE = re.compile(r"男性\s*[:：]?\s*(\d[\d,]*)\s*名")
_FEMALE = re.compile(r"女性\s*[:：]?\s*(\d[\d,]*)\s*名")
_STAY_DAYS = re.compile(r"滞在日数\s*(?:は)?\s*[:：]?\s*(\d[\d,]*)\s*日")
_HOUSEHOLDS_TOOK_PART = re.compile(r"(\d[\d,]*)\s*世帯\s*(?:\d[\d,]*\s*名)?\s*が\s*参加")
# Participant statements, most specific first: 参加者31名, 参加確定者数は31名, 合計：52名.
_STATED = [
    re.compile(r"参加(?:確定)?者(?:数)?\s*(?:は|が)?\s*[:：]?\s*(\d[\d,]*)\s*名"),
    re.compile(r"合計\s*[:：]\s*(\d[\d,]*)\s*名"),
]
SEX_ROWS = {"男": "male", "女": "female", "合計": "total", "計": "total"}


@register(NAME, VERSION, ("tours", "tour_age_counts"))
def extract_tours(pages: Sequence[ParsedPage]) -> list[Record]:
    records: list[Record] = []
    tour_no = 0
    for page in pages:
        if not page.has_text:
            continue
        text = fold("".join(c.text for c in page.chars))
        if not TOUR_PAGE.search(text):
            continue
        for values, bbox, counts in _panels(page) + _tables(page, text) + _tour_lists(page):
            tour_no += 1
            records.append(Record("tours", {"tour_id": tour_no, **values}, provenance(page, bbox, NAME, VERSION)))
            for row in counts:
                records.append(
                    Record("tour_age_counts", {"tour_id": tour_no, **row}, provenance(page, bbox, NAME, VERSION))
                )
    return records


def _int(m: re.Match | None) -> int | None:
    return int(m.group(1).replace(",", "")) if m else None


def _tour_values(name: str | None, participants: int | None, text: str, table_total: int | None) -> dict:
    households = _HOUSEHOLDS_TOOK_PART.search(text)
    return {
        "consortium_name_raw": name,
        "participants": participants,
        "participants_male": _int(_MALE.search(text)),
        "participants_female": _int(_FEMALE.search(text)),
        "households": _int(households),
        "stay_days": _int(_STAY_DAYS.search(text)),
        "table_total": table_total,
        "consortium_id": None,
        "link_method": "none",
        "link_score": 0.0,
        "flag": False,
        "flag_reason": None,
    }


def _panels(page: ParsedPage) -> list[tuple[dict, tuple, list[dict]]]:
    """Named panels: heading, 参加実績 N名 (M世帯), then the panel's text.

    Panels sit side by side (a slide) or one above the other (a portrait
    page): anchors of one column share it, each panel ending where the next
    one's heading begins.
    """
    lines = fragments(page)
    anchors = [ln for ln in lines if PANEL_LABEL.search(ln.text) and _PERSONS.search(fold(ln.text))]
    out = []
    for i, anchor in enumerate(anchors):
        # column_of gives each line to one panel, stacked ones included; the heading sits above
        # the panel's label in the same band of the page.
        column = [ln for ln in lines if column_of(ln, anchors) == i]
        band = [ln for ln in lines if same_band(ln, anchors, i)]
        heading = _heading_above(anchor, band)
        name = strip_symbols(heading.text) if heading is not None else None
        # A stacked panel ends where the next one's heading begins (that heading is not its text).
        following = [a for j, a in enumerate(anchors) if j != i and same_band(a, anchors, i) and a.bbox[1] > anchor.bbox[1] + 1]
        end = float("inf")
        if following:
            nearest = min(following, key=lambda a: a.bbox[1])
            end = (_heading_above(nearest, band) or nearest).bbox[1]
        below = [ln for ln in column if anchor.bbox[1] - 1 <= ln.bbox[1] < end]
        boxes = [ln.bbox for ln in below + ([heading] if heading is not None else [])]
        if not boxes:
            continue  # nothing of the panel was found on the page: no panel, not a guess
        panel_text = fold("".join(ln.text for ln in sorted(below, key=lambda ln: (ln.bbox[1], ln.bbox[0]))))
        head = fold(anchor.text)
        values = _tour_values(name, _int(_PERSONS.search(head)), panel_text, None)
        if values["households"] is None:
            values["households"] = _int(_HOUSEHOLDS.search(head))
        out.append((values, union_bbox(boxes), []))
    return out


def _heading_above(anchor: Line, column: list[Line]) -> Line | None:
    """The line right above ``anchor`` in its column, when it is close enough to be the panel's heading."""
    above = [ln for ln in column if ln.bbox[3] <= anchor.bbox[1] + 1 and ln is not anchor]
    heading = max(above, key=lambda ln: ln.bbox[3]) if above else None
    if heading is not None and anchor.bbox[1] - heading.bbox[3] > 2 * (anchor.bbox[3] - anchor.bbox[1]):
        return None  # too far above to be the panel's own heading
    return heading


def _tables(page: ParsedPage, page_text: str) -> list[tuple[dict, tuple, list[dict]]]:
    """Participant-attribute tables (sex × age band) with the page's stated figures."""
    out = []
    for grid in find_grids(page):
        counts, total = _age_counts(grid)
        if not counts:
            continue
        inside = grid.bbox
        outside = replace(
            page,
            chars=tuple(
                c
                for c in page.chars
                if not (inside[0] <= (c.bbox[0] + c.bbox[2]) / 2 <= inside[2] and inside[1] <= (c.bbox[1] + c.bbox[3]) / 2 <= inside[3])
            ),
        )
        text = fold("".join(c.text for c in outside.chars))
        stated = next((m for p in _STATED for m in [p.search(text)] if m), None)
        values = _tour_values(None, _int(stated), text, total)
        out.append((values, grid.bbox, counts))
    return out


def _age_counts(grid: Grid) -> tuple[list[dict], int | None]:
    """Cells of a sex × age-band table, or ([], None) when ``grid`` is not one."""
    header = [grid.cell_at(0, col) for col in range(grid.n_cols)]
    bands = {col: age_band(c.text) for col, c in enumerate(header) if c is not None and col > 0}
    band_cols = [col for col, b in bands.items() if b is not None]
    total_cols = [col for col, c in enumerate(header) if c is not None and col > 0 and fold(c.text).strip() in ("合計", "計")]
    if len(band_cols) < 2:
        return [], None
    rows = []
    sexes_seen = set()
    grand_total = None
    for r in range(1, grid.n_rows):
        label = grid.cell_at(r, 0)
        if label is None:
            continue
        key = fold(label.text).strip()
        sex = next((v for k, v in SEX_ROWS.items() if key.startswith(k)), None)
        if sex is None:
            continue
        sexes_seen.add(sex)
        for col in band_cols + total_cols:
            cell = grid.cell_at(r, col)
            value = fold(cell.text).strip().replace(",", "") if cell is not None else ""
            if not value.isdigit():
                continue
            band = bands.get(col)
            rows.append(
                {
                    "sex": sex,
                    "age_band_raw": header[col].text,  # type: ignore[union-attr]
                    "age_min": band.min_age if band else None,
                    "age_max": band.max_age if band else None,
                    "count": int(value),
                }
            )
            if sex == "total" and col in total_cols:
                grand_total = int(value)
    if not ({"male", "female"} <= sexes_seen):
        return [], None
    return rows, grand_total



# Header meanings of a tour list (one tour per row), tried in this order.
_LIST_ROLES = [
    ("name", re.compile(r"コンソーシアム|団体|名称|事業者")),
    ("male", re.compile(r"男")),
    ("female", re.compile(r"女")),
    ("households", re.compile(r"世帯")),
    ("stay_days", re.compile(r"滞在日数|日数")),
    ("participants", re.compile(r"参加")),
]


def _tour_lists(page: ParsedPage) -> list[tuple[dict, tuple, list[dict]]]:
    """Tour lists: a ruled table with a name column and a participants column, one tour a row."""
    out = []
    for grid in find_grids(page):
        roles = header_roles(grid, _LIST_ROLES, fold)
        if "name" not in roles or "participants" not in roles:
            continue
        for row in range(1, grid.n_rows):
            cells = {role: grid.cell_at(row, col) for role, col in roles.items()}
            name = cells["name"]
            if name is None or name.row != row or not name.text.strip():
                continue
            numbers = {role: _int(re.search(r"(\d[\d,]*)", fold(c.text))) if c is not None else None for role, c in cells.items() if role != "name"}
            if numbers.get("participants") is None:
                continue
            values = _tour_values(strip_symbols(name.text), numbers["participants"], "", None)
            for role in ("male", "female", "households", "stay_days"):
                values["participants_" + role if role in ("male", "female") else role] = numbers.get(role)
            own = [c.bbox for c in cells.values() if c is not None and c.row == row]
            out.append((values, union_bbox(own), []))
    return out
