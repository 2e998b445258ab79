"""Lines of text on a page, in reading order, with their boxes.

Narrative extractors (sections, notices, case studies) read lines rather
than characters. A line is a run of characters sharing a baseline band with
no gap wider than ``gap_factor`` × the font size; wide gaps split a visual
row into separate lines, so two columns of a slide stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.records import BBox, Char, ParsedPage, union_bbox


@dataclass(frozen=True)
class Line:
    text: str
    bbox: BBox
    size: float  # median glyph size: headings are larger
    bold: bool
    chars: tuple[Char, ...]


def text_lines(page: ParsedPage, gap_factor: float = 3.0, inside: BBox | None = None) -> list[Line]:
    """Lines on ``page`` (optionally only inside a box), top to bottom, left to right."""
    chars = [c for c in page.chars if c.text.strip()]
    if inside is not None:
        x0, y0, x1, y1 = inside
        chars = [c for c in chars if x0 <= (c.bbox[0] + c.bbox[2]) / 2 <= x1 and y0 <= (c.bbox[1] + c.bbox[3]) / 2 <= y1]
    bands: list[list[Char]] = []
    for ch in sorted(chars, key=lambda c: ((c.bbox[1] + c.bbox[3]) / 2, c.bbox[0])):
        cy = (ch.bbox[1] + ch.bbox[3]) / 2
        h = max(ch.bbox[3] - ch.bbox[1], 1.0)
        if bands:
            ref = bands[-1]
            ry = sum((c.bbox[1] + c.bbox[3]) / 2 for c in ref) / len(ref)
            if abs(cy - ry) < 0.45 * h:
                ref.append(ch)
                continue
        bands.append([ch])
    lines: list[Line] = []
    for band in bands:
        band.sort(key=lambda c: c.bbox[0])
        run: list[Char] = [band[0]]
        for ch in band[1:]:
            size = max(run[-1].size, ch.size, 1.0)
            if ch.bbox[0] - run[-1].bbox[2] > gap_factor * size:
                lines.append(_line(run))
                run = [ch]
            else:
                run.append(ch)
        lines.append(_line(run))
    return sorted(lines, key=lambda ln: (round(ln.bbox[1] / 2), ln.bbox[0]))


def _line(chars: list[Char]) -> Line:
    sizes = sorted(c.size for c in chars)
    text = ""
    for prev, ch in zip([None, *chars[:-1]], chars):
        # Keep a space where the PDF leaves a visible gap between Latin words (a space
        # glyph is ~0.22 em wide in proportional fonts, so 0.25 em lost "TWIN GATE").
        if prev is not None and ch.bbox[0] - prev.bbox[2] > 0.2 * max(ch.size, 1.0) and prev.text.isascii() and ch.text.isascii():
            text += " "
        text += ch.text
    return Line(
        text=text,
        bbox=union_bbox([c.bbox for c in chars]),
        size=sizes[len(sizes) // 2],
        bold=sum("Bold" in c.font or "bold" in c.font for c in chars) > len(chars) / 2,
        chars=tuple(chars),
    )
