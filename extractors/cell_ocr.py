"""OCR many table cells in one tesseract call.

Starting tesseract with its Japanese model costs far more than reading one
cell, so the text cells of a grid are stacked into one column image, read
once (one block, psm 6), and each word is handed back to the cell whose band
holds its centre. Cells go in as grayscale, dark text on white: the caller
flattens shading and blanks everything that is not text (see
``extractors.scan_grid``), so tesseract sees the glyphs with their
anti-aliasing, which it reads better than hard binarized strokes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.ocr import PSM_BLOCK, PSM_LINE, OcrWord, ocr_text, ocr_words

# White space around and between stacked cells (pixels): tesseract needs a
# margin, and a gap taller than a line keeps cells from merging into one line.
PAD = 16
GAP = 48


# Cells read with less confidence than this in the stacked sheet are read again alone.
RETRY_BELOW = 0.6
# Pixels darker than this are text when trimming a cell to its text.
INK_LEVEL = 250


def ocr_cells(images: list[np.ndarray], cache_dir: Path | None = None) -> list[tuple[str, float]]:
    """(text, mean word confidence) for each cell image (uint8 gray, text dark on white)."""
    crops = [_trim(image) for image in images]
    if not any(c is not None for c in crops):
        return [("", 0.0)] * len(images)
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
        block[:, PAD : PAD + w] = crop
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
    results = [_join(ws) for ws in per_cell]
    # A stacked sheet is read as one block, which now and then misjudges a
    # cell; those few are read again on their own, as a line and as a block.
    for i, crop in enumerate(crops):
        if crop is None or results[i][1] >= RETRY_BELOW:
            continue
        alone = np.pad(crop, PAD, constant_values=255)
        for psm in (PSM_BLOCK, PSM_LINE):
            text, confidence = ocr_text(alone, psm=psm, cache_dir=cache_dir)
            if confidence > results[i][1]:
                results[i] = ("".join(text.split()), round(confidence, 3))
    return results


def _trim(image: np.ndarray) -> np.ndarray | None:
    dark = image < INK_LEVEL
    rows = np.nonzero(dark.any(axis=1))[0]
    cols = np.nonzero(dark.any(axis=0))[0]
    if rows.size == 0:
        return None
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


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
    return text, round(sum(w.confidence for w in words) / len(words), 3)
