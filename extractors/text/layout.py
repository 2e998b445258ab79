"""Lines of text on a page, in reading order, with their boxes.

Narrative extractors (sections, notices, case studies) read lines rather
than characters. A line is a run of characters sharing a baseline band with
no gap wider than ``gap_factor`` × the font size; wide gaps split a visual
row into separate lines, so two columns of a slide stay apart.

Vertical text (縦書き labels beside a slide's body, set as a stack of single
glyphs) is read, on request, as one line per stack: otherwise each of its
glyphs joins whatever horizontal line shares its height.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from pipeline.model.records import BBox, Char, ParsedPage, per_page, union_bbox


@dataclass(frozen=True)
class Line:
    text: str
    bbox: BBox
    size: float  # median glyph size: headings are larger
    bold: bool
    chars: tuple[Char, ...]


@per_page  # four extractors read a page's lines
def text_lines(page: ParsedPage, gap_factor: float = 3.0, inside: BBox | None = None, vertical: bool = False) -> list[Line]:
    """Lines on ``page`` (optionally only inside a box), top to bottom, left to right.

    ``vertical``: stacks of single glyphs are read top to bottom as lines of their own.
    """
    chars = [c for c in page.chars if c.text.strip()]
    if inside is not None:
        x0, y0, x1, y1 = inside
        chars = [c for c in chars if x0 <= (c.bbox[0] + c.bbox[2]) / 2 <= x1 and y0 <= (c.bbox[1] + c.bbox[3]) / 2 <= y1]
    stacks: list[list[Char]] = vertical_stacks(chars) if vertical else []
    if vertical and not stacks:
        # Without a 縦書き stack the lines are the horizontal reading's, which other readers ask for too.
        return text_lines(page, gap_factor, inside)
    if stacks:
        stacked = {id(c) for stack in stacks for c in stack}
        chars = [c for c in chars if id(c) not in stacked]
    # Readers ask for a whole page's lines at more than one gap factor: its bands, and the lines of
    # runs that split alike, are the same at each.
    bands = _page_bands(page)[0] if inside is None and not stacks else _Bands.of(chars)
    lines = bands.lines(gap_factor) + [_line(stack, vertical=True) for stack in stacks]
    return sorted(lines, key=lambda ln: (round(ln.bbox[1] / 2), ln.bbox[0]))


# A vertical stack has at least this many glyphs, each at most this many font
# sizes below the one above, and none with a horizontal neighbour this close.
MIN_STACK = 3
STACK_GAP = 0.6
NEIGHBOUR_GAP = 1.5


def vertical_stacks(chars: list[Char]) -> list[list[Char]]:
    """Runs of glyphs set one below the other in one narrow column, with nothing beside them.

    The first letters of left-aligned horizontal lines also sit one below the
    other, but each has a neighbour to its right; a 縦書き label has none.
    """
    def centre(c: Char) -> tuple[float, float]:
        return (c.bbox[0] + c.bbox[2]) / 2, (c.bbox[1] + c.bbox[3]) / 2

    index = _RowIndex(chars, centre)

    def alone(c: Char) -> bool:
        cx, cy = centre(c)
        size = max(c.size, 1.0)
        dy, dx = 0.45 * size, (NEIGHBOUR_GAP + 1.0) * size
        # Most glyphs have a neighbour right beside them in their own strip: found without a search.
        return not index.beside(c, cx, cy, dy, dx) and not index.any_near(c, cx, cy, dy, dx)

    loners = sorted((c for c in chars if alone(c)), key=lambda c: (round(centre(c)[0]), c.bbox[1]))
    stacks: list[list[Char]] = []
    current: list[Char] = []
    for c in loners:
        if current:
            last = current[-1]
            size = max(last.size, c.size, 1.0)
            same_column = abs(centre(c)[0] - centre(last)[0]) < 0.3 * size
            close_below = 0 <= c.bbox[1] - last.bbox[1] and c.bbox[1] - last.bbox[3] < STACK_GAP * size
            if same_column and close_below:
                current.append(c)
                continue
            if len(current) >= MIN_STACK:
                stacks.append(current)
        current = [c]
    if len(current) >= MIN_STACK:
        stacks.append(current)
    return stacks


class _RowIndex:
    """Glyph centres in horizontal strips, each sorted by x: "is any glyph near this one?" without
    scanning every glyph at the same height (a 100,000-glyph line made that quadratic)."""

    def __init__(self, chars: list[Char], centre) -> None:  # noqa: ANN001
        sizes = sorted(max(c.size, 1.0) for c in chars) or [1.0]
        self.unit = 0.45 * sizes[len(sizes) // 2]
        rows: dict[int, list[tuple[float, float, Char]]] = {}
        for c in chars:
            cx, cy = centre(c)
            rows.setdefault(math.floor(cy / self.unit), []).append((cx, cy, c))
        for row in rows.values():
            row.sort(key=lambda t: t[0])
        self.rows = rows
        self.xs = {k: [t[0] for t in row] for k, row in rows.items()}
        self.place = {id(d): (k, i) for k, row in rows.items() for i, (_, _, d) in enumerate(row)}

    def beside(self, c: Char, cx: float, cy: float, dy: float, dx: float) -> bool:
        """Is the glyph just before or after ``c`` in its own strip near, as ``any_near`` means it?

        True only where ``any_near`` is (that strip is one it searches); False says nothing.
        """
        key, i = self.place[id(c)]
        row = self.rows[key]
        for j in (i - 1, i + 1):
            if 0 <= j < len(row):
                x, y, _ = row[j]
                if cx - dx < x < cx + dx and cy - dy <= y <= cy + dy:
                    return True
        return False

    def any_near(self, c: Char, cx: float, cy: float, dy: float, dx: float) -> bool:
        """Another glyph with its centre within ``dy`` (inclusive) and ``dx`` (exclusive) of (cx, cy)?"""
        lo, hi = math.floor((cy - dy) / self.unit), math.floor((cy + dy) / self.unit)
        keys = range(lo, hi + 1) if hi - lo < len(self.rows) else [k for k in self.rows if lo <= k <= hi]
        for key in keys:
            row = self.rows.get(key)
            if not row:
                continue
            xs = self.xs[key]
            for i in range(bisect_right(xs, cx - dx), bisect_left(xs, cx + dx)):
                x, y, d = row[i]
                if d is not c and cy - dy <= y <= cy + dy:
                    return True
        return False


@per_page
def _page_bands(page: ParsedPage) -> list[_Bands]:
    """The bands of all the page's visible glyphs (one item)."""
    return [_Bands.of([c for c in page.chars if c.text.strip()])]


class _Bands:
    """Glyphs grouped by baseline band, top to bottom, each band left to right; and their lines."""

    def __init__(self, bands: list[tuple[Char, ...]]) -> None:
        self.bands = bands
        self._lines: dict[tuple[int, int, int], Line] = {}  # by (band, first glyph, end)

    @classmethod
    def of(cls, chars: list[Char]) -> _Bands:
        bands: list[list[Char]] = []
        centre_sum = 0.0  # of the last band's glyph centres: its mean without re-adding the band (linear, not quadratic)
        for ch in sorted(chars, key=lambda c: ((c.bbox[1] + c.bbox[3]) / 2, c.bbox[0])):
            cy = (ch.bbox[1] + ch.bbox[3]) / 2
            h = max(ch.bbox[3] - ch.bbox[1], 1.0)
            if bands:
                ref = bands[-1]
                if abs(cy - centre_sum / len(ref)) < 0.45 * h:
                    ref.append(ch)
                    centre_sum += cy
                    continue
            bands.append([ch])
            centre_sum = cy
        return cls([tuple(sorted(band, key=lambda c: c.bbox[0])) for band in bands])

    def lines(self, gap_factor: float) -> list[Line]:
        """Each band split wherever two glyphs stand more than ``gap_factor`` font sizes apart."""
        lines: list[Line] = []
        for number, band in enumerate(self.bands):
            first = 0
            for k in range(1, len(band)):
                before, ch = band[k - 1], band[k]
                if ch.bbox[0] - before.bbox[2] > gap_factor * max(before.size, ch.size, 1.0):
                    lines.append(self._line(number, first, k))
                    first = k
            lines.append(self._line(number, first, len(band)))
        return lines

    def _line(self, number: int, first: int, end: int) -> Line:
        key = (number, first, end)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _line(self.bands[number][first:end])
        return line


def _line(chars: list[Char] | tuple[Char, ...], vertical: bool = False) -> Line:
    sizes = sorted(c.size for c in chars)
    parts = [chars[0].text]
    for prev, ch in zip(chars, chars[1:]):
        # Keep a space where the PDF leaves a visible gap between Latin words (a space
        # glyph is ~0.22 em wide in proportional fonts, so 0.25 em lost "TWIN GATE").
        if not vertical and prev.text.isascii() and ch.text.isascii() and ch.bbox[0] - prev.bbox[2] > 0.2 * max(ch.size, 1.0):
            parts.append(" ")
        parts.append(ch.text)
    text = "".join(parts)
    return Line(
        text=text,
        bbox=union_bbox([c.bbox for c in chars]),
        size=sizes[len(sizes) // 2],
        bold=sum("Bold" in c.font or "bold" in c.font for c in chars) > len(chars) / 2,
        chars=tuple(chars),
    )
