"""Side-by-side panels on a slide, read column by column.

Slides put two or three panels next to each other (theme pages, tour
reports). Their lines sit so close that a page-wide line reader joins them,
so these helpers read short fragments (split at gaps wider than one glyph)
and give each fragment to the panel whose anchor (a repeated label such as
主な事例 or 参加実績) it stands under.
"""

from __future__ import annotations

import unicodedata
from typing import Sequence

from extractors.text.layout import Line, text_lines
from pipeline.model.records import ParsedPage, union_bbox

# Gap (in glyph sizes) that separates two fragments on one visual row.
FRAGMENT_GAP = 1.0


def fragments(page: ParsedPage) -> list[Line]:
    """Lines of ``page`` split at every gap wider than a glyph, top to bottom."""
    return text_lines(page, gap_factor=FRAGMENT_GAP)


def column_of(line: Line, anchors: Sequence[Line]) -> int | None:
    """Index of the anchor whose panel holds ``line``: the rightmost anchor starting left of it.

    Body text may start slightly left of its panel's label (labels are often
    indented), so an anchor counts as "left of" the line up to one glyph size.
    """
    best = band_of(line, anchors)
    if best is None:
        return None
    # Panels stacked in one column (a producer without side-by-side layout): the
    # line belongs to the nearest anchor above it in that column.
    stacked = [i for i, a in enumerate(anchors) if abs(a.bbox[0] - anchors[best].bbox[0]) <= a.size]
    if len(stacked) > 1:
        above = [i for i in stacked if anchors[i].bbox[1] <= line.bbox[1] + 1]
        best = max(above, key=lambda i: anchors[i].bbox[1]) if above else min(stacked, key=lambda i: anchors[i].bbox[1])
    return best


def band_of(line: Line, anchors: Sequence[Line]) -> int | None:
    """Index of the (first) anchor whose column holds ``line`` by left edges alone."""
    best = None
    for i, anchor in enumerate(anchors):
        if anchor.bbox[0] - anchor.size <= line.bbox[0] and (best is None or anchor.bbox[0] > anchors[best].bbox[0]):
            best = i
    if best is None and anchors:
        best = min(range(len(anchors)), key=lambda i: anchors[i].bbox[0])
    return best


def same_band(line: Line, anchors: Sequence[Line], index: int) -> bool:
    """``line`` stands in the column of ``anchors[index]``, whichever stacked panel it is in."""
    band = band_of(line, anchors)
    return band is not None and abs(anchors[band].bbox[0] - anchors[index].bbox[0]) <= anchors[index].size


def strip_symbols(text: str) -> str:
    """Drop leading pictograms and marks (¥, 🏠, 📌, ▲) that decorate headings."""
    i = 0
    while i < len(text) and (unicodedata.category(text[i])[0] in "SZC" or text[i] in "▲△▼▽◆◇■□●○★☆※"):
        i += 1
    return text[i:].strip()


def merge_rows(lines: Sequence[Line]) -> list[Line]:
    """Join fragments of one panel that sit on the same visual row back into one line.

    Inside a panel a wide gap is part of the content (place ⎵ name in a
    heading), so the characters are kept and the gap stays measurable.
    """
    rows: list[list[Line]] = []
    for ln in sorted(lines, key=lambda ln: ((ln.bbox[1] + ln.bbox[3]) / 2, ln.bbox[0])):
        cy = (ln.bbox[1] + ln.bbox[3]) / 2
        if rows:
            last = rows[-1][-1]
            if abs(cy - (last.bbox[1] + last.bbox[3]) / 2) < 0.45 * max(ln.size, last.size, 1.0):
                rows[-1].append(ln)
                continue
        rows.append([ln])
    out = []
    for row in rows:
        if len(row) == 1:
            out.append(row[0])
            continue
        row.sort(key=lambda ln: ln.bbox[0])
        chars = tuple(c for ln in row for c in ln.chars)
        sizes = sorted(c.size for c in chars)
        out.append(
            Line(
                text="".join(ln.text for ln in row),
                bbox=union_bbox([ln.bbox for ln in row]),
                size=sizes[len(sizes) // 2],
                bold=sum(ln.bold * len(ln.chars) for ln in row) > len(chars) / 2,
                chars=chars,
            )
        )
    return out
