"""The running text of a document: lines outside tables, headers and footers.

Sections, footnotes and notices all read the same thing — the document's
prose, page after page — so this module decides once what is prose:

* lines inside ruled grids belong to the ``tables`` dataset, not to prose;
* running headers and footers (page numbers, a title repeated at the same
  place on most pages) are layout, not content;
* the body font size is the size most characters are set in, so headings and
  footnotes can be told apart by size relative to it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Sequence

from extractors.grids.grid import cell_boxes_from_edges
from extractors.text.layout import Line, text_lines
from pipeline.reading.overprint import dedupe_overprinted
from pipeline.model.records import BBox, ParsedPage, union_bbox

# Running headers/footers live in these top/bottom fractions of the page.
MARGIN_BAND = 0.10
# A margin line recurring on at least this share of pages is a running header/footer.
RECURRING_SHARE = 0.5
# Reading order: cut across at gaps of this many line sizes, down at gaps of this many.
Y_CUT_FACTOR = 1.2
X_CUT_FACTOR = 1.0
# A page with at least this many characters has a body size of its own.
PAGE_BODY_MIN_CHARS = 200
_PAGE_NUMBER = re.compile(r"^[\s\-－—–‐(（\[]*(?:p\.?|P\.?)?\s*[0-9０-９]{1,4}\s*(?:[/／]\s*[0-9０-９]{1,4})?[\s\-－—–‐)）\]]*$")


@dataclass(frozen=True)
class PageText:
    page: ParsedPage
    lines: tuple[Line, ...]  # prose lines, reading order
    grid_boxes: tuple[BBox, ...]
    right_margin: float  # where full lines end on this page
    body_size: float  # the page's own body size (slides differ page to page); 0 when too little text

    @property
    def ocr(self) -> bool:
        return any(c.font.startswith("ocr:") for c in self.page.chars[:50])


@dataclass(frozen=True)
class DocumentText:
    pages: tuple[PageText, ...]
    body_size: float


def document_text(pages: Sequence[ParsedPage], memo: dict | None = None) -> DocumentText:
    """Prose lines of every page, with running headers/footers and table interiors removed.

    Sections and notices both read the same document: with the document's
    ``memo`` (its extraction context's), the second reuses the first's result,
    kept with the very page objects it came from (identity is a safe key).
    """
    if memo is not None:
        last_pages, last = memo.get(_MEMO_KEY, (None, None))
        if last_pages is not None and len(last_pages) == len(pages) and all(a is b for a, b in zip(last_pages, pages)):
            return last
    result = _document_text(pages)
    if memo is not None:
        memo[_MEMO_KEY] = (tuple(pages), result)
    return result


_MEMO_KEY = "pagetext.document_text"


def _document_text(pages: Sequence[ParsedPage]) -> DocumentText:
    raw: list[tuple[ParsedPage, list[Line], list[BBox]]] = []
    for page in pages:
        chars = dedupe_overprinted(page.chars)
        if len(chars) != len(page.chars):
            page = replace(page, chars=chars)
        grids = table_boxes(page)
        lines = [ln for ln in text_lines(page, vertical=True) if not any(_inside(ln.bbox, g) for g in grids)]
        raw.append((page, lines, grids))
    recurring = _recurring_margin_lines(raw)
    out = []
    for page, lines, grids in raw:
        kept = reading_order([ln for ln in lines if not _is_running(ln, page, recurring)])
        own = body_size(kept) if sum(len(ln.text) for ln in kept) >= PAGE_BODY_MIN_CHARS else 0.0
        out.append(PageText(page, tuple(kept), tuple(grids), _right_margin(kept, page), own))
    return DocumentText(tuple(out), body_size(ln for pt in out for ln in pt.lines))


def table_boxes(page: ParsedPage, min_cells: int = 4) -> list[BBox]:
    """Outlines of the ruled tables on ``page`` (as find_grids finds them, without filling cells)."""
    if not page.edges:
        return []
    return [union_bbox(boxes) for boxes in cell_boxes_from_edges(page.edges) if len(boxes) >= min_cells]


def reading_order(lines: list[Line]) -> list[Line]:
    """Lines in reading order, columns and panels kept together (recursive XY-cut).

    A block is cut across at its widest horizontal gap when that gap is a
    paragraph break or more; otherwise down the widest vertical gap that no
    line crosses (columns, side-by-side panels of a slide); a block with
    neither is read top to bottom.
    """
    if len(lines) <= 1:
        return list(lines)
    size = sorted(ln.size for ln in lines)[len(lines) // 2] or 10.0
    y_cut, y_gap = _widest_gap([(ln.bbox[1], ln.bbox[3]) for ln in lines])
    if y_cut is not None and y_gap >= Y_CUT_FACTOR * size:
        return _split(lines, 1, 3, y_cut)
    x_cut, x_gap = _widest_gap([(ln.bbox[0], ln.bbox[2]) for ln in lines])
    if x_cut is not None and x_gap >= X_CUT_FACTOR * size:
        return _split(lines, 0, 2, x_cut)
    return sorted(lines, key=lambda ln: (round(ln.bbox[1] / 2), ln.bbox[0]))


def _split(lines: list[Line], lo: int, hi: int, cut: float) -> list[Line]:
    first = [ln for ln in lines if ln.bbox[hi] <= cut]
    rest = [ln for ln in lines if ln.bbox[hi] > cut]
    return reading_order(first) + reading_order(rest)


def _widest_gap(spans: list[tuple[float, float]]) -> tuple[float | None, float]:
    """The middle of the widest gap between the union of ``spans``, and its width."""
    spans = sorted(spans)
    best, width = None, 0.0
    reach = spans[0][1]
    for start, end in spans[1:]:
        if start - reach > width:
            best, width = (start + reach) / 2, start - reach
        reach = max(reach, end)
    return best, width


def body_size(lines) -> float:
    """The font size carrying the most characters (rounded to 0.5 pt)."""
    counts: Counter[float] = Counter()
    for ln in lines:
        counts[round(ln.size * 2) / 2] += len(ln.text)
    return counts.most_common(1)[0][0] if counts else 10.0


def _inside(box: BBox, outer: BBox, slack: float = 1.0) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return outer[0] - slack <= cx <= outer[2] + slack and outer[1] - slack <= cy <= outer[3] + slack


def _in_margin(ln: Line, page: ParsedPage) -> bool:
    return ln.bbox[3] <= page.height * MARGIN_BAND or ln.bbox[1] >= page.height * (1 - MARGIN_BAND)


def _margin_key(ln: Line, page: ParsedPage) -> tuple[str, int, str]:
    band = "top" if ln.bbox[1] < page.height / 2 else "bottom"
    return (re.sub(r"[0-9０-９]+", "#", ln.text), round(ln.bbox[0] / 20), band)


def _recurring_margin_lines(raw: list[tuple[ParsedPage, list[Line], list[BBox]]]) -> set[tuple[str, int, str]]:
    if len(raw) < 3:
        return set()
    seen: Counter[tuple[str, int, str]] = Counter()
    for page, lines, _ in raw:
        seen.update({_margin_key(ln, page) for ln in lines if _in_margin(ln, page)})
    threshold = max(2, RECURRING_SHARE * len(raw))
    return {key for key, n in seen.items() if n >= threshold}


def _is_running(ln: Line, page: ParsedPage, recurring: set[tuple[str, int, str]]) -> bool:
    if not _in_margin(ln, page):
        return False
    return bool(_PAGE_NUMBER.match(ln.text)) or _margin_key(ln, page) in recurring


def _right_margin(lines: list[Line], page: ParsedPage) -> float:
    ends = sorted(ln.bbox[2] for ln in lines)
    if not ends:
        return page.width
    # Full lines all end at the same x; the 90th percentile finds it even with a few wide outliers.
    return ends[int(0.9 * (len(ends) - 1))]
