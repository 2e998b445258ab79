"""OCR many table cells in one tesseract call.

Starting tesseract with its Japanese model costs far more than reading one
cell, so the text cells of a grid are stacked into one column image, read
once (one block, psm 6), and each word is handed back to the cell whose band
holds its centre. Cells go in as clean black-on-white ink, so shading and
ruling remnants never reach tesseract.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.ocr import PSM_BLOCK, OcrWord, ocr_words

# White space around and between stacked cells (pixels): tesseract needs a
# margin, and a gap taller than a line keeps cells from merging into one line.
PAD = 16
GAP = 48


def ocr_cells(inks: list[np.ndarray], cache_dir: Path | None = None) -> list[tuple[str, float]]:
    """(text, mean word confidence) for each binarized cell image (ink nonzero)."""
    crops = [_trim(ink) for ink in inks]
    if not any(c is not None for c in crops):
        return [("", 0.0)] * len(inks)
    width = max(c.shape[1] for c in crops if c is not None) + 2 * PAD
    bands: list[tuple[int, int]] = []
    parts: list[np.ndarray] = [np.full((PAD, width), 255, np.uint8)]
    y = PAD
    for crop in crops:
        if crop is None:
            bands.append((-1, -1))
            continue
        h, w = crop.shape
        block = np.full((h, width), 255, np.uint8)
        block[:, PAD : PAD + w] = np.where(crop > 0, 0, 255)
        parts += [block, np.full((GAP, width), 255, np.uint8)]
        bands.append((y, y + h))
        y += h + GAP
    sheet = np.vstack(parts)
    words = ocr_words(sheet, psm=PSM_BLOCK, cache_dir=cache_dir)
    per_cell: list[list[OcrWord]] = [[] for _ in crops]
    for word in words:
        centre = word.top + word.height / 2
        for i, (top, bottom) in enumerate(bands):
            if top - GAP / 2 <= centre < bottom + GAP / 2:
                per_cell[i].append(word)
                break
    return [_join(ws) for ws in per_cell]


def _trim(ink: np.ndarray) -> np.ndarray | None:
    rows = np.nonzero(ink.any(axis=1))[0]
    cols = np.nonzero(ink.any(axis=0))[0]
    if rows.size == 0:
        return None
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _join(words: list[OcrWord]) -> tuple[str, float]:
    """Words in reading order (lines top to bottom, left to right), no separators.

    Japanese wraps mid-word inside cells, so a space there would be invented.
    """
    if not words:
        return "", 0.0
    lines: list[list[OcrWord]] = []
    for w in sorted(words, key=lambda w: w.top + w.height / 2):
        centre = w.top + w.height / 2
        if lines:
            last = lines[-1]
            last_centre = sum(x.top + x.height / 2 for x in last) / len(last)
            if abs(centre - last_centre) < 0.5 * max(w.height, max(x.height for x in last)):
                last.append(w)
                continue
        lines.append([w])
    text = "".join("".join(x.text for x in sorted(line, key=lambda x: x.left)) for line in lines)
    return text, sum(w.confidence for w in words) / len(words)
