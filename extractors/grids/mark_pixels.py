"""Read a mark (●, ○, —) from a cell's pixels, never through OCR.

Tesseract turns ○ into O, 0, o or nothing and ● into anything, so marks are
classified from the shape of the ink itself: how much of its box the ink
fills, whether it has a hole, how wide it is against how tall. All sizes are
relative to the cell, so the classifier works at any resolution.

The answer carries a confidence in [0, 1]: how close the ink is to the ideal
shape. Callers flag low confidences for review instead of trusting them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from extractors.grids.mark_classes import CHECK, CROSS, DASH, DOUBLE, FILLED, RING, TRIANGLE

# Ideal ink fill of a disc's bounding box (π/4).
DISC_FILL = math.pi / 4
# Without a resolution, ink blobs smaller than this share of the cell's shorter side are specks.
SPECK_FRACTION = 0.15
# A ring's hole is at least this share of its box (a disc has none).
MIN_RING_HOLE = 0.12
# Without a resolution, a mark is at least this share of the cell's shorter side.
MIN_MARK_FRACTION = 0.25
# Blobs smaller than this share of the largest one are dust beside a mark.
DUST_SHARE = 0.4
# At most this many sub-mark-sized blobs in a cell read as dust, more as (small) text.
MAX_DUST_BLOBS = 3
# Below this confidence a cell is flagged "low confidence" for review.
LOW_CONFIDENCE = 0.6
# A round shape (or hole) fills π/4 of its box, a triangle 1/2: below this both, it is a triangle.
TRIANGLE_HOLE_FILL = 0.64
# Strokes (× ✓) fill at most this share of their box (low resolutions thicken them).
MAX_STROKE_FILL = 0.65
# An outline is simplified to within this share of its perimeter before its corners are counted
# (a circle keeps four or more, a triangle three).
CORNER_TOLERANCE = 0.05
# ◎'s inner ring is at least this share of the outer one's size.
INNER_RING_SHARE = 0.25
# ◎ whose two rings ran together: a small centred hole in a round blob.
DOUBLE_HOLE = (0.05, MIN_RING_HOLE)
# × looks the same mirrored (overlap with its mirror image, 0..1); ✓ does not.
CROSS_SYMMETRY = 0.5
CHECK_SYMMETRY = 0.35
# Rings of a round mark are counted along its radius (0 = centre, 1 = the ink's edge) out to here.
PROFILE_REACH = 1.2
# Radial samples per unit of the mark's radius in pixels (at least MIN_PROFILE_STEPS), angles per circle.
PROFILE_STEPS_PER_PX = 2
MIN_PROFILE_STEPS = 24
PROFILE_ANGLES = 72
# A dark ring is darker than this share of the way from paper to the mark's darkest ink.
RING_DARK = 0.5
# Between two rings the ink lightens at least this share of that contrast.
RING_PROMINENCE = 0.2
# A lone ring (○) peaks at least this far out (radius 1 = the mark's edge).
RING_RIM = 0.5
# The mark's contrast against paper is at least this many gray levels, or its profile says nothing.
MIN_PROFILE_CONTRAST = 40
# A disc's outline is convex: its area is at least this share of its convex hull's.
MIN_DISC_SOLIDITY = 0.9


@dataclass(frozen=True)
class PixelReading:
    """What a cell's pixels show.

    ``kind`` is "mark" (``mark`` set), "empty" (no ink) or "text" (ink that is
    not one mark: send it to OCR). ``detail`` explains the reading for review.
    """

    kind: str
    mark: str | None
    confidence: float
    detail: str


def binarize(gray: np.ndarray) -> np.ndarray:
    """Ink as 255 on 0, robust to shaded cells and uneven scan lighting.

    A pixel is ink when it is clearly darker than its neighbourhood (adaptive
    threshold: strokes, rulings, ring outlines) or darker than the page's
    ink/paper split (Otsu: the insides of solid discs, which are wider than
    any neighbourhood). Flat light shading in header cells stays paper.
    """
    block = max(15, (min(gray.shape[:2]) // 60) | 1)
    local = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 12)
    solid = (gray < _ink_split(gray)).astype(np.uint8) * 255
    return cv2.bitwise_or(local, solid)


def _ink_split(gray: np.ndarray) -> float:
    """The gray level that parts ink from paper (and from light shading).

    Otsu parts the page's two largest populations. Where shaded header cells
    cover more of the page than ink does, those are paper and shading, and
    the split falls between them: the whole shaded area would be solid ink.
    Ink is printed dark, nearer black than paper on average; a darker class
    lighter than that is mostly shading, so the split is sought again within
    it, between ink and the shading.
    """
    otsu, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Paper's median and the darker class's mean from the gray levels' counts (the same numbers
    # as from the pixels, without sorting a page of them).
    counts = np.bincount(gray.ravel(), minlength=256)
    split = int(math.ceil(otsu))
    dark_count = int(counts[:split].sum())
    paper = _median_level(counts[split:], split) if dark_count < gray.size else 255.0
    if dark_count == 0 or float(counts[:split] @ np.arange(split)) / dark_count <= paper / 2:
        return float(otsu)
    dark = gray[gray < otsu]
    within, _ = cv2.threshold(dark.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(within)


def _median_level(counts: np.ndarray, first: int) -> float:
    """``np.median`` of the levels ``first``, ``first + 1``, … counted ``counts`` times."""
    total = int(counts.sum())
    cumulative = np.cumsum(counts)
    lower = first + int(np.searchsorted(cumulative, (total - 1) // 2, side="right"))
    upper = first + int(np.searchsorted(cumulative, total // 2, side="right"))
    return (lower + upper) / 2


def strip_border_remnants(ink: np.ndarray) -> np.ndarray:
    """Drop thin bars touching the crop's border: the edges of rulings.

    A cell crop taken just inside its rulings still catches the blurred
    fringe of a thick or skewed line; left in, OCR reads it as ー or 一.
    """
    h, w = ink.shape[:2]
    n, labels, stats, _ = cv2.connectedComponentsWithStats((ink > 0).astype(np.uint8), connectivity=8)
    thin = max(3, int(0.08 * min(h, w)))
    drop = np.zeros(n, dtype=bool)
    for i in range(1, n):
        x, y, bw, bh, _ = stats[i]
        touches = x == 0 or y == 0 or x + bw == w or y + bh == h
        if touches and min(bw, bh) <= thin and max(bw, bh) >= 3 * min(bw, bh):
            drop[i] = True
    if not drop.any():
        return ink
    out = ink.copy()
    out[drop[labels]] = 0
    return out


def classify_cell(ink: np.ndarray, speck_px: float | None = None, min_mark_px: float | None = None) -> PixelReading:
    """Classify the binarized interior of one cell (ink = nonzero).

    ``ink`` should exclude the cell's ruling lines (crop inside them).
    ``speck_px``: ink blobs smaller than this (either side, pixels) are dust;
    callers that know the resolution pass a physical size, otherwise a share
    of the cell's shorter side is used. ``min_mark_px``: the smallest mark
    (its larger side); a lone round blob below it is dust, reported as an
    empty cell with low confidence.
    """
    h, w = ink.shape[:2]
    if h < 4 or w < 4:
        return PixelReading("empty", None, 1.0, "cell too small to hold a mark")
    n, labels, stats, _ = cv2.connectedComponentsWithStats((ink > 0).astype(np.uint8), connectivity=8)
    min_size = speck_px if speck_px is not None else max(2.0, SPECK_FRACTION * min(h, w))
    blobs = [
        i
        for i in range(1, n)
        if max(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]) >= min_size
    ]
    if not blobs:
        return PixelReading("empty", None, 1.0, "no ink")
    smallest = min_mark_px if min_mark_px is not None else MIN_MARK_FRACTION * min(h, w)
    sizes = {i: max(int(stats[i, cv2.CC_STAT_WIDTH]), int(stats[i, cv2.CC_STAT_HEIGHT])) for i in blobs}
    if all(size < smallest for size in sizes.values()) and len(blobs) <= MAX_DUST_BLOBS:
        return PixelReading("empty", None, 0.5, f"{len(blobs)} blob(s) too small for a mark (dust?)")
    main = max(blobs, key=lambda i: stats[i, cv2.CC_STAT_AREA])
    x, y, bw, bh, area = (int(v) for v in stats[main])
    # Text has several strokes of similar size; a mark is one blob, perhaps
    # with dust beside it (blobs much smaller than it).
    others = [i for i in blobs if i != main and sizes[i] >= DUST_SHARE * sizes[main]]
    dust = [i for i in blobs if i != main and sizes[i] < DUST_SHARE * sizes[main]]
    # Any component counts here, even one smaller than a speck: a small ◎'s inner ring is.
    inner = [
        i for i in range(1, n)
        if i != main and max(int(stats[i, cv2.CC_STAT_WIDTH]), int(stats[i, cv2.CC_STAT_HEIGHT])) >= INNER_RING_SHARE * sizes[main]
        and _inside(stats[i], stats[main])
    ]
    if len(inner) == 1 and not [i for i in others if i != inner[0]] and len(dust) <= MAX_DUST_BLOBS + 1:
        # ◎: a second ring (or disc) centred inside the first one's hole.
        ring = _shape_of((labels[y : y + bh, x : x + bw] == main).astype(np.uint8), cell_h=h, cell_w=w)
        if ring.mark == RING:
            return PixelReading("mark", DOUBLE, ring.confidence, f"ring inside a ring ({ring.detail})")
    if others or len(dust) > MAX_DUST_BLOBS:
        return PixelReading("text", None, 1.0, f"{len(blobs)} ink blobs")
    component = (labels[y : y + bh, x : x + bw] == main).astype(np.uint8)
    return _shape_of(component, cell_h=h, cell_w=w)


def refine_round(gray: np.ndarray, ink: np.ndarray, reading: PixelReading) -> PixelReading:
    """A round mark's rings counted from its gray pixels, where binarization can lose or merge them.

    A small ◎ printed with thin rings loses its inner ring, or runs both rings
    into one thick band, under any page-wide threshold; its gray levels still
    show two dark peaks along the radius. The median gray level over circles
    of growing radius (normalised to the mark's own extent, so any resolution
    and any ellipse) is read against the cell's own paper and the mark's
    darkest ink: ink from the centre out is ●, one dark peak at the rim is ○,
    two peaks apart are ◎. A profile that is none of these keeps ``reading``.
    """
    if reading.kind != "mark" or reading.mark not in (FILLED, RING, DOUBLE):
        return reading
    if reading.mark == FILLED and reading.confidence >= LOW_CONFIDENCE:
        return reading  # a clear disc: nothing inside it to lose
    profile = _radial_profile(gray, ink)
    if profile is None:
        return reading
    radii, level = profile
    peaks, prominence = _ring_peaks(level)
    centre_dark = bool(level[0] >= RING_DARK)
    where = [round(float(radii[i]), 2) for i in peaks]
    if len(peaks) == 2:
        mark, detail = DOUBLE, f"two rings at radii {where}"
    elif len(peaks) == 1 and centre_dark:
        mark, detail = FILLED, "ink from the centre out"
    elif len(peaks) == 1 and radii[peaks[0]] >= RING_RIM:
        mark, detail = RING, f"one ring at radius {where[0]}"
    else:
        return reading
    if mark == reading.mark:
        return reading
    confidence = _clip(0.6 + prominence)
    return PixelReading("mark", mark, confidence, f"gray profile: {detail} (binarized: {reading.detail})")


def _radial_profile(gray: np.ndarray, ink: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(radii, darkness) around the main ink blob: radius 1 is its edge; darkness 0 = paper, 1 = its darkest ink."""
    n, _, stats, _ = cv2.connectedComponentsWithStats((ink > 0).astype(np.uint8), connectivity=8)
    if n < 2:
        return None
    main = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, bw, bh, _ = (int(v) for v in stats[main])
    if bw < 5 or bh < 5:
        return None
    cx, cy = x + bw / 2.0 - 0.5, y + bh / 2.0 - 0.5
    rx, ry = bw / 2.0, bh / 2.0
    steps = max(MIN_PROFILE_STEPS, int(PROFILE_STEPS_PER_PX * max(rx, ry) * PROFILE_REACH))
    radii = np.linspace(0.0, PROFILE_REACH, steps)
    angles = np.linspace(0.0, 2 * math.pi, PROFILE_ANGLES, endpoint=False)
    map_x = (cx + np.outer(radii, np.cos(angles)) * rx).astype(np.float32)
    map_y = (cy + np.outer(radii, np.sin(angles)) * ry).astype(np.float32)
    samples = cv2.remap(gray.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # The median over each circle: dust or a ruling's fringe on a few angles does not move it.
    profile = np.median(samples, axis=1)
    paper = float(np.percentile(gray, 90))
    contrast = paper - float(profile.min())
    if contrast < MIN_PROFILE_CONTRAST:
        return None
    return radii, (paper - profile) / contrast


def _ring_peaks(level: np.ndarray) -> tuple[list[int], float]:
    """Dark peaks of a radial profile (indices), each standing clear of its neighbours; and the least clearance.

    A peak is a local maximum at least RING_DARK dark (the centre counts when
    it is darkest there); two peaks whose valley is shallower than
    RING_PROMINENCE below the lower one are one band (a thick or blurred ring).
    """
    n = len(level)
    candidates = [
        i for i in range(n)
        if level[i] >= RING_DARK and (i == 0 or level[i] >= level[i - 1]) and (i == n - 1 or level[i] > level[i + 1])
    ]
    peaks: list[int] = []
    clearances: list[float] = []
    for i in candidates:
        if peaks:
            valley = float(level[peaks[-1] : i + 1].min())
            clear = min(float(level[peaks[-1]]), float(level[i])) - valley
            if clear < RING_PROMINENCE:
                if level[i] > level[peaks[-1]]:
                    peaks[-1] = i
                continue
            clearances.append(clear)
        peaks.append(i)
    return peaks, (min(clearances) if clearances else 1.0 - RING_DARK)


def _shape_of(component: np.ndarray, cell_h: int, cell_w: int) -> PixelReading:
    bh, bw = component.shape
    area = int(component.sum())
    fill = area / float(bw * bh)
    aspect = bw / float(bh)
    rel_h = bh / float(cell_h)
    # A dash: a flat bar, much wider than tall.
    if aspect >= 2.5 and rel_h < 0.35 and fill > 0.5:
        conf = _clip(min((aspect - 2.5) / 2.0 + 0.6, 1.0) * min(fill / 0.8, 1.0))
        return PixelReading("mark", DASH, conf, f"bar {bw}x{bh} fill {fill:.2f}")
    if not (0.6 <= aspect <= 1.6) or rel_h < 0.15:
        return PixelReading("text", None, 1.0, f"blob aspect {aspect:.2f}, height {rel_h:.2f} of cell")
    roundness = 1.0 - min(abs(math.log(aspect)) / math.log(1.6), 1.0)
    hole = _hole_fraction(component)
    # Blur rounds a small triangle's hole (its fill rises towards a circle's); its outline keeps three corners.
    if hole >= DOUBLE_HOLE[0] and _outline_fill(component) < TRIANGLE_HOLE_FILL and (
        _hole_fill(component) < TRIANGLE_HOLE_FILL or _corners(component) == 3
    ):
        return PixelReading("mark", TRIANGLE, _clip(roundness * min(hole / 0.15, 1.0)), f"triangle hole {hole:.2f} fill {fill:.2f}")
    if hole < 0.05 and fill <= MAX_STROKE_FILL:
        strokes = _strokes(component, fill)
        if strokes is not None:
            return strokes
    if DOUBLE_HOLE[0] <= hole < DOUBLE_HOLE[1] and fill >= 0.55 and roundness > 0.5 and _hole_shape(component) > 0.3:
        return PixelReading("mark", DOUBLE, LOW_CONFIDENCE, f"rings run together: fill {fill:.2f} hole {hole:.2f}")
    if fill >= 0.45 and hole < 0.05 and _solidity(component) < MIN_DISC_SOLIDITY:
        # Bold glyphs run together (shaded header text at low resolution) fill a round box too,
        # but their outline is lumpy: a disc's is convex.
        return PixelReading("text", None, 1.0, f"lumpy blob fill {fill:.2f} solidity {_solidity(component):.2f}")
    if fill >= 0.6 and hole < 0.05:
        # ●: fills about π/4 of its box and has no hole.
        conf = _clip(roundness * (1.0 - abs(fill - DISC_FILL) / 0.25))
        return PixelReading("mark", FILLED, conf, f"disc fill {fill:.2f} aspect {aspect:.2f}")
    if hole >= MIN_RING_HOLE:
        # ○: ink around a round, centred hole. Small rings printed with a
        # heavy stroke fill much of their box, so the hole decides, not the fill.
        conf = _clip(roundness * min(hole / 0.25, 1.0) * _hole_shape(component))
        return PixelReading("mark", RING, conf, f"ring fill {fill:.2f} hole {hole:.2f} aspect {aspect:.2f}")
    # Round but neither clearly filled nor clearly hollow (◎, ◐, smudge, kanji).
    kind = "mark" if roundness > 0.5 and fill >= 0.45 else "text"
    guess = FILLED if fill >= 0.5 else RING
    if kind == "mark":
        return PixelReading("mark", guess, 0.3, f"ambiguous blob fill {fill:.2f} hole {hole:.2f}")
    return PixelReading("text", None, 1.0, f"blob fill {fill:.2f} hole {hole:.2f}")


def _strokes(component: np.ndarray, fill: float) -> PixelReading | None:
    """× (two strokes reaching all four corners, mirror-symmetric) or ✓ (asymmetric, open at the top left)."""
    mirror = component[:, ::-1]
    union = float((component | mirror).sum()) or 1.0
    symmetry = float((component & mirror).sum()) / union
    bh, bw = component.shape
    qh, qw = max(1, bh // 4), max(1, bw // 4)
    corners = [component[:qh, :qw].any(), component[:qh, -qw:].any(), component[-qh:, :qw].any(), component[-qh:, -qw:].any()]
    # The middle of each side is open in a ×, closed in a disc or a ring.
    mh, mw = max(1, bh * 3 // 20), max(1, bw * 3 // 20)
    sides = [component[:mh, bw // 2 - mw // 2 : bw // 2 + mw // 2 + 1], component[-mh:, bw // 2 - mw // 2 : bw // 2 + mw // 2 + 1],
             component[bh // 2 - mh // 2 : bh // 2 + mh // 2 + 1, :mw], component[bh // 2 - mh // 2 : bh // 2 + mh // 2 + 1, -mw:]]
    if all(corners) and not any(side.any() for side in sides) and symmetry >= CROSS_SYMMETRY:
        return PixelReading("mark", CROSS, _clip(symmetry + 0.2), f"cross symmetry {symmetry:.2f} fill {fill:.2f}")
    top_left, top_right, bottom_left, bottom_right = corners
    if symmetry <= CHECK_SYMMETRY and top_right and not top_left and not bottom_right:
        return PixelReading("mark", CHECK, _clip(1.0 - symmetry), f"check symmetry {symmetry:.2f} fill {fill:.2f}")
    return None


def _solidity(component: np.ndarray) -> float:
    """The shape's area against its convex hull's (a disc ≈ 1, glyphs run together much less)."""
    contours, _ = cv2.findContours(component.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return 0.0
    hull = cv2.contourArea(cv2.convexHull(max(contours, key=cv2.contourArea)))
    return float(component.sum()) / hull if hull > 0 else 1.0


def _inside(inner: np.ndarray, outer: np.ndarray) -> bool:
    """``inner``'s box lies within ``outer``'s and shares its centre (connected-component stats rows)."""
    ix, iy, iw, ih = (int(v) for v in inner[:4])
    ox, oy, ow, oh = (int(v) for v in outer[:4])
    if not (ox < ix and oy < iy and ix + iw < ox + ow and iy + ih < oy + oh):
        return False
    return abs((ix + iw / 2) - (ox + ow / 2)) <= 0.15 * ow and abs((iy + ih / 2) - (oy + oh / 2)) <= 0.15 * oh


def _corners(component: np.ndarray) -> int:
    """Corners of the shape's outer outline, simplified to within CORNER_TOLERANCE of its perimeter."""
    contours, _ = cv2.findContours(component.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return 0
    outline = max(contours, key=cv2.contourArea)
    return len(cv2.approxPolyDP(outline, CORNER_TOLERANCE * cv2.arcLength(outline, True), True))


def _outline_fill(component: np.ndarray) -> float:
    """How much of its box the shape fills with its holes filled in (disc ≈ 0.79, triangle ≈ 0.5)."""
    solid = (component > 0) | _holes(component)
    return float(solid.sum()) / float(solid.size)


def _hole_fill(component: np.ndarray) -> float:
    """How much of its own box the enclosed background fills (round ≈ 0.79, triangle ≈ 0.5)."""
    hole = _holes(component)
    ys, xs = np.nonzero(hole)
    if ys.size == 0:
        return 0.0
    return float(ys.size) / float((xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1))


def _hole_fraction(component: np.ndarray) -> float:
    """Share of the component's box that is background enclosed by it."""
    return float(_holes(component).sum()) / float(component.shape[0] * component.shape[1])


def _hole_shape(component: np.ndarray) -> float:
    """How much the enclosed background looks like a ring's: round and centred (0..1).

    A half-filled ◓ or a C-shaped glyph also encloses background, but off
    centre or flattened.
    """
    hole = _holes(component)
    ys, xs = np.nonzero(hole)
    if ys.size == 0:
        return 0.0
    bh, bw = component.shape
    hw, hh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    aspect = hw / float(hh)
    round_ = 1.0 - min(abs(math.log(aspect)) / math.log(1.6), 1.0)
    dx = (xs.min() + xs.max() + 1) / 2.0 - bw / 2.0
    dy = (ys.min() + ys.max() + 1) / 2.0 - bh / 2.0
    centred = 1.0 - min(math.hypot(dx, dy) / (0.2 * max(bw, bh)), 1.0)
    return round_ * centred


def _holes(component: np.ndarray) -> np.ndarray:
    padded = cv2.copyMakeBorder(component, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    background = (padded == 0).astype(np.uint8)
    _, labels = cv2.connectedComponents(background, connectivity=4)
    outside = labels[0, 0]
    return ((labels != outside) & (background > 0))[1:-1, 1:-1]


def _clip(value: float) -> float:
    return round(float(max(0.0, min(1.0, value))), 3)
