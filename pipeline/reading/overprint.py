"""Glyphs drawn several times at nearly the same place (simulated bold).

Word processors without a bold face embolden text by drawing it two to four
times, shifted by a fraction of a point. Extracted naively that reads
"総総総総合合合合". One copy of each glyph is kept, and its font name gets
",Bold" so that layout sees the emphasis the repetition meant.
"""

from __future__ import annotations

from dataclasses import replace

from pipeline.model.records import Char

# Copies closer than this share of the glyph size are the same glyph.
SAME_PLACE = 0.15


# The nine buckets around a glyph's own, in the order they are searched.
_AROUND = tuple((dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1))


def dedupe_overprinted(chars: tuple[Char, ...] | list[Char]) -> tuple[Char, ...]:
    """``chars`` with overprinted copies removed, survivors marked bold (order kept)."""
    kept: list[Char] = []
    buckets: dict[tuple[str, int, int], list[int]] = {}
    texts: set[str] = set()  # a glyph whose text is new on the page has no twin: no bucket to search
    repeated: set[int] = set()
    for ch in chars:
        text = ch.text
        if text.isspace():
            kept.append(ch)
            continue
        x, y = ch.bbox[0], ch.bbox[1]
        cell = SAME_PLACE * max(ch.size, 1.0)
        bx, by = int(x // cell), int(y // cell)
        twin = None
        if text in texts:
            for dx, dy in _AROUND:
                for index in buckets.get((text, bx + dx, by + dy), ()):
                    other = kept[index].bbox
                    if abs(other[0] - x) < cell and abs(other[1] - y) < cell:
                        twin = index
                        break
        if twin is not None:
            repeated.add(twin)
            continue
        texts.add(text)
        buckets.setdefault((text, bx, by), []).append(len(kept))
        kept.append(ch)
    if not repeated:
        return tuple(chars)
    return tuple(replace(ch, font=ch.font + ",Bold") if i in repeated and "bold" not in ch.font.lower() else ch for i, ch in enumerate(kept))
