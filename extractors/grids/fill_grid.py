"""Cell boundaries of shaded tables on scans: where the fill changes, not where ink is.

Slide software and many report styles draw tables with no dark rules at all:
cells are filled (a dark header row, banded body rows) and separated by thin
*light* gaps (white or pale rules) or only by a change of fill from one row
to the next; the table's outer border is where its fill meets the paper.
The ink-based ruling finder (extractors.grids.scan_grid) sees none of that.

Both kinds of boundary are read from the page's *fill map*, the page with
its glyphs and marks taken out:

1. Fill: a grey closing wider than any glyph stroke or mark and narrower
   than any cell removes every small dark thing (text, marks, dark hairline
   rules) and keeps the fills, and the light gaps between them, as they are.
2. Light rules: a thin straight line lighter than the fill on both sides of
   it (a white top-hat across, averaged along the line), even along its
   length, at least a ruling long.
3. Fill steps: where the fill level changes by more than shading differs
   from paper, along a straight run at least a ruling long (the light rules
   removed first by a grey opening, so the fills on their two sides meet).

Nothing here depends on the colours of one style: any fill darker than paper
and any gap lighter than its fills gives boundaries. The result is a pair of
masks (horizontal, vertical) in the deskewed page's pixels, one line per
boundary, which the scan grid finder turns into edges like its rulings.
"""

from __future__ import annotations

import cv2
import numpy as np

# A boundary runs straight for at least this long (inches): as long as a ruling must be
# (scan_grid.MIN_RULE_INCHES), longer than any glyph stroke, shorter than a narrow cell's side.
MIN_BOUNDARY_INCHES = 0.25
# Glyphs and marks are removed by a closing this wide (inches, 7.2 pt): wider than a mark of
# a table's body text and the strokes of its glyphs, narrower than the smallest cell
# (scan_grid.MIN_SHADE_INCHES, 13 pt).
GLYPH_INCHES = 0.1
# A light rule is thinner than this (inches, 3 pt: a hairline to a wide gap between fills)
# ...
LIGHT_RULE_INCHES = 0.04
# ... and lighter than the fill on both sides by at least this (grey levels of 255): a
# white rule on the palest band a slide style uses differs by ~20, scanner noise averaged
# along a ruling's length by ~2.
LIGHT_RULE_DELTA = 8
# Fills differ by at least this (grey levels of 255) to be two cells' fills: paper and the
# lightest shading a printer shows as shading (scan_grid.SHADE_DELTA).
FILL_STEP_DELTA = 12
# A step is measured between the fill this far (inches) on either side: past the blur of the
# scan, closer than the thinnest row.
STEP_REACH_INCHES = 0.02
# Along a light rule the fill map varies less than this (standard deviation, grey levels):
# a row through white glyphs on a dark fill alternates between them.
MAX_RULE_SPREAD = 25.0


def fill_masks(gray: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical boundary masks (255 on 0) of the shaded cells of ``gray``."""
    glyph = max(3, int(round(GLYPH_INCHES * dpi)) | 1)
    rule = max(3, int(round(LIGHT_RULE_INCHES * dpi)) + 2)
    length = max(10, int(round(MIN_BOUNDARY_INCHES * dpi)))
    reach = max(2, int(round(STEP_REACH_INCHES * dpi)))
    masks = []
    for image in (gray, gray.T):
        # Averaged along the boundaries sought (rows of ``image``) first, over half a glyph:
        # a straight boundary keeps its contrast while scanner noise, which the closing
        # would otherwise lift to its brightest, averages away.
        smooth = cv2.blur(image, (max(3, glyph // 2), 1))
        fill = cv2.morphologyEx(smooth, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (glyph, glyph)))
        # Light gaps along the rows removed, so the fills on both sides of a white rule meet,
        # and so are light glyphs on a dark fill (white header text): no taller than a glyph.
        solid = cv2.morphologyEx(fill, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, glyph)))
        masks.append(_light_rules(fill, length, rule) | _steps(solid, length, reach))
    h, v = masks[0], masks[1].T
    return np.ascontiguousarray(h), np.ascontiguousarray(v)


def _along(image: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Means along rows over half of ``length`` on either side of each pixel.

    A boundary's core is where both halves show it: it runs on both sides of
    the pixel, so glyph strokes lined up with each other on one side do not
    make one.
    """
    half = max(2, length // 2)
    img = image.astype(np.float32)
    left = cv2.blur(img, (half, 1), anchor=(half - 1, 0))
    right = cv2.blur(img, (half, 1), anchor=(0, 0))
    return left, right


def _runs(core: np.ndarray, local: np.ndarray, delta: float, length: int) -> np.ndarray:
    """Lines at least ``length`` long where ``core`` exceeds ``delta``, carried on to their real ends.

    The core stops short of a boundary's ends by up to half its averaging
    window (past the end one half sees nothing); within that reach the line
    goes on as long as ``local`` (the response averaged over a glyph's width
    only) still exceeds ``delta``.
    """
    line = (core > delta).astype(np.uint8) * 255
    line = cv2.morphologyEx(line, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    reach = cv2.dilate(line, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * (length // 2) + 1, 1)))
    return _thin_across((reach > 0) & (local > delta), local)


def _light_rules(fill: np.ndarray, length: int, rule: int) -> np.ndarray:
    """Horizontal thin lines lighter than the fill above and below them."""
    background = cv2.morphologyEx(fill, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * rule + 1)))
    lift = cv2.subtract(fill, background).astype(np.float32)
    core = np.minimum(*_along(lift, length))
    values = fill.astype(np.float32)
    spread = np.sqrt(np.maximum(cv2.blur(values * values, (length, 1)) - np.square(cv2.blur(values, (length, 1))), 0))
    core[spread >= MAX_RULE_SPREAD] = 0
    return _runs(core, lift, LIGHT_RULE_DELTA, length)


def _steps(solid: np.ndarray, length: int, reach: int) -> np.ndarray:
    """Horizontal lines where the fill above differs from the fill below.

    The step is the derivative across of the fill smoothed over ``reach``
    (scaled so that a clean step of H grey levels reads H), which peaks on
    the boundary itself.
    """
    scale = float(np.sqrt(2 * np.pi) * reach)

    def step(image: np.ndarray) -> np.ndarray:
        across = cv2.GaussianBlur(image.astype(np.float32), (1, 0), sigmaX=0.1, sigmaY=reach)
        return np.abs(cv2.Sobel(across, cv2.CV_32F, 0, 1, ksize=1)) * (scale / 2.0)

    core = np.minimum(*(step(side) for side in _along(solid, length)))
    return _runs(core, step(solid), FILL_STEP_DELTA, length)


def _thin_across(line: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Each band of ``line`` reduced to the rows where ``strength`` peaks across it."""
    peak = cv2.dilate(strength, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 5)))
    keep = line & (strength >= peak - 1e-3)
    keep = keep.astype(np.uint8) * 255
    # The peak rows of one band may waver by a pixel along it: join them into one line.
    keep = cv2.morphologyEx(keep, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    return keep


# Ink is darker than its cell's own background by at least this many times the background's
# noise (robust standard deviation): noise is then ink about once in 30,000 pixels.
INK_NOISE_SIGMAS = 4.0
# ... and by at least this (grey levels of 255), as much as shading must differ from paper
# (scan_grid.SHADE_DELTA): on a clean scan the noise is near nothing.
MIN_INK_CONTRAST = 12


def ink_in_cells(ink: np.ndarray, gray: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """``ink`` within each cell kept only where it is clearly darker than that cell's own background.

    A page-wide threshold is wrong on filled cells two ways: a dark fill (a
    header row) is all ink, so the cell reads as one solid disc; and next to
    a light rule or a lighter neighbour, plain fill is darker than its
    surroundings, so noise along the cell's edges passes as ink and a mark
    there reads as text. A cell's background is its median (most of any cell
    is background), its noise the median deviation from it; ink is darker
    than both allow. Glyphs lighter than their fill (white text on a dark
    header) are no ink: the cell reads as empty, never as a mark.
    ``boxes``: the cells' pixel boxes inside their rules.
    """
    out = ink.copy()
    for x0, y0, x1, y1 in boxes:
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        crop = gray[y0:y1, x0:x1]
        level = float(np.median(crop))
        sigma = 1.4826 * float(np.median(np.abs(crop.astype(np.float32) - level)))
        dark = crop < level - max(MIN_INK_CONTRAST, INK_NOISE_SIGMAS * sigma)
        out[y0:y1, x0:x1] = np.where(dark, out[y0:y1, x0:x1], 0)
    return out
