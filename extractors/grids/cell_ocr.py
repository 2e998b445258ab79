"""Text of a scanned grid's cells from one OCR of the page: each glyph goes to its cell.

The caller cleans each text cell (shading flattened, rulings, marks and dust
blanked: ``extractors.grids.scan_grid.text_image``). When the page already has an
OCR text layer (pipeline.reading.textlayer reads every image-only page once), its
glyphs are handed to the cells that hold their centres, and a glyph with no
cleaned ink under it (a speck, a ruling's fringe) is dropped. Without one,
the cleaned cells are laid back at their places on one white page and that
page is read once. Either way there is no OCR call per cell, and the engine
sees each line whole, with its neighbours' scale, as on the printed page.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.reading.ocr import OcrWord, ocr_words

PixelBox = tuple[int, int, int, int]
# A glyph box with less cleaned ink than this share is a speck or a ruling's fringe.
INK_SHARE = 0.02  # x0, y0, x1, y1 in the page image's pixels


def ocr_cells(
    shape: tuple[int, int],
    cells: list[tuple[PixelBox, np.ndarray]],
    cache_dir: Path | None = None,
    page_words: list[OcrWord] | None = None,
) -> list[tuple[str, float]]:
    """(text, mean glyph confidence) for each cell.

    ``cells`` are (box, cleaned gray image) on a page image of ``shape``;
    ``page_words``: the page's OCR glyphs in the same pixels, if it was read already.
    """
    if not cells:
        return []
    sheet = np.full(shape[:2], 255, np.uint8)
    for (x0, y0, x1, y1), image in cells:
        sheet[y0:y1, x0:x1] = np.minimum(sheet[y0:y1, x0:x1], image[: y1 - y0, : x1 - x0])
    words = page_words if page_words is not None else ocr_words(sheet, cache_dir=cache_dir)
    boxes = [box for box, _ in cells]
    per_cell: list[list[OcrWord]] = [[] for _ in cells]
    for word in words:
        index = _cell_of(word, boxes)
        if index is not None and _has_ink(word, sheet):
            per_cell[index].append(word)
    return [_join(words) for words in per_cell]


def _has_ink(word: OcrWord, sheet: np.ndarray) -> bool:
    """Some cleaned text ink lies under the glyph's box."""
    y0, x0 = max(0, word.top), max(0, word.left)
    area = sheet[y0 : word.top + word.height, x0 : word.left + word.width]
    return area.size > 0 and bool((area < 255).mean() > INK_SHARE)


def _cell_of(word: OcrWord, boxes: list[PixelBox]) -> int | None:
    """The cell whose box holds the glyph's centre (else the one it overlaps most)."""
    cx, cy = word.left + word.width / 2, word.top + word.height / 2
    best, best_overlap = None, 0.0
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        if x0 <= cx < x1 and y0 <= cy < y1:
            return i
        overlap = max(0, min(x1, word.left + word.width) - max(x0, word.left)) * max(
            0, min(y1, word.top + word.height) - max(y0, word.top)
        )
        if overlap > best_overlap:
            best, best_overlap = i, overlap
    return best


def _join(words: list[OcrWord]) -> tuple[str, float]:
    """Glyphs in reading order (lines top to bottom, left to right), no separators.

    Japanese wraps mid-word inside cells, so a space there would be invented.
    """
    if not words:
        return "", 0.0
    lines: list[list[OcrWord]] = []
    for w in sorted(words, key=lambda w: (w.top + w.height / 2, w.left)):
        centre = w.top + w.height / 2
        if lines:
            last = lines[-1]
            last_centre = sum(x.top + x.height / 2 for x in last) / len(last)
            if abs(centre - last_centre) < 0.5 * max(w.height, max(x.height for x in last)):
                last.append(w)
                continue
        lines.append([w])
    text = "".join("".join(x.text for x in sorted(line, key=lambda x: x.left)) for line in lines)
    return "".join(text.split()), round(sum(w.confidence for w in words) / len(words), 3)
