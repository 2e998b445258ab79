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
from dataclasses import dataclass
from typing import Sequence

from extractors.grid import find_grids
from extractors.layout import Line, text_lines
from pipeline.records import BBox, ParsedPage

# Running headers/footers live in these top/bottom fractions of the page.
MARGIN_BAND = 0.10
# A margin line recurring on at least this share of pages is a running header/footer.
RECURRING_SHARE = 0.5
_PAGE_NUMBER = re.compile(r"^[\s\-－—–‐(（\[]*(?:p\.?|P\.?)?\s*[0-9０-９]{1,4}\s*(?:[/／]\s*[0-9０-９]{1,4})?[\s\-－—–‐)）\]]*$")


@dataclass(frozen=True)
class PageText:
    page: ParsedPage
    lines: tuple[Line, ...]  # prose lines, reading order
    grid_boxes: tuple[BBox, ...]
    right_margin: float  # where full lines end on this page

    @property
    def ocr(self) -> bool:
        return any(c.font.startswith("ocr:") for c in self.page.chars[:50])


@dataclass(frozen=True)
class DocumentText:
    pages: tuple[PageText, ...]
    body_size: float


def document_text(pages: Sequence[ParsedPage]) -> DocumentText:
    """Prose lines of every page, with running headers/footers and table interiors removed."""
    raw: list[tuple[ParsedPage, list[Line], list[BBox]]] = []
    for page in pages:
        grids = [g.bbox for g in find_grids(page)] if page.edges else []
        lines = [ln for ln in text_lines(page) if not any(_inside(ln.bbox, g) for g in grids)]
        raw.append((page, lines, grids))
    recurring = _recurring_margin_lines(raw)
    out = []
    for page, lines, grids in raw:
        kept = [ln for ln in lines if not _is_running(ln, page, recurring)]
        out.append(PageText(page, tuple(kept), tuple(grids), _right_margin(kept, page)))
    return DocumentText(tuple(out), body_size(ln for pt in out for ln in pt.lines))


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
