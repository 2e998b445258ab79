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


def dedupe_overprinted(chars: tuple[Char, ...] | list[Char]) -> tuple[Char, ...]:
    """``chars`` with overprinted copies removed, survivors marked bold (order kept)."""
    kept: list[Char] = []
    buckets: dict[tuple[str, int, int], list[int]] = {}
    repeated: set[int] = set()
    for ch in chars:
        if ch.text.isspace():
            kept.append(ch)
            continue
        size = max(ch.size, 1.0)
        cell = SAME_PLACE * size
        bx, by = int(ch.bbox[0] // cell), int(ch.bbox[1] // cell)
        twin = None
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for index in buckets.get((ch.text, bx + dx, by + dy), ()):
                    other = kept[index]
                    if abs(other.bbox[0] - ch.bbox[0]) < cell and abs(other.bbox[1] - ch.bbox[1]) < cell:
                        twin = index
                        break
        if twin is not None:
            repeated.add(twin)
            continue
        buckets.setdefault((ch.text, bx, by), []).append(len(kept))
        kept.append(ch)
    if not repeated:
        return tuple(chars)
    return tuple(replace(ch, font=ch.font + ",Bold") if i in repeated and "bold" not in ch.font.lower() else ch for i, ch in enumerate(kept))
