"""Marks drawn as vector shapes instead of typed as characters.

Slides made in PowerPoint (and Keynote, LibreOffice Impress) often place an
oval over an empty cell: a filled oval reads ●, an outlined one ○. Which is
which comes from how the shape is painted, never from its position.

Cells are often painted themselves (shaded headers, zebra rows): a shape that
spans the cell in either direction is the cell's background, not a mark, and
its gray is the level a filled mark must be darker than.
"""

from __future__ import annotations

from typing import Iterable

from pipeline.model.records import BBox, Shape
from extractors.grids.mark_classes import CHECK, CROSS, DASH, DOUBLE, FILLED, RING, TRIANGLE

# A shape this large against its cell (either side) is the cell's background.
BACKGROUND_SHARE = 0.85
# An oval this close to round (width / height) is a circle mark.
MAX_OVAL_ASPECT = 1.35
# A flat bar at least this much wider than tall is a dash.
MIN_DASH_ASPECT = 3.0
# A fill at least this much darker than the background (0 black .. 1 white) is "filled".
MIN_FILL_CONTRAST = 0.25
# Concentric shapes: centres closer than this share of the outer size.
CONCENTRIC = 0.15
# ◎: the inner ring's size against the outer one's.
DOUBLE_INNER = (0.3, 0.8)
# A shape's centre lies at least this far inside its cell (points); on a rule it is part of the rule.
INSIDE_MARGIN = 1.0
# Endpoints closer than this (points) are one vertex.
JOIN = 0.6
# ✓: one arm at least this much longer than the other.
CHECK_ARMS = 1.3


def mark_from_shapes(cell_bbox: BBox, shapes: Iterable[Shape]) -> tuple[str | None, str | None]:
    """The mark drawn in a cell, and a note for shapes that are not a known mark.

    Returns ``(mark, None)`` for one clear mark, ``(None, note)`` for shapes
    that cannot be read as one mark, and ``(None, None)`` when the cell holds
    no drawn shape.
    """
    inside = [s for s in shapes if _centre_in(s.bbox, cell_bbox)]
    background = 1.0
    marks: list[Shape] = []
    for shape in inside:
        if _is_background(shape, cell_bbox):
            if shape.filled and shape.fill_gray is not None:
                background = min(background, shape.fill_gray)
            continue
        marks.append(shape)
    if not marks:
        return None, None
    if len(marks) == 1 and marks[0].kind == "lines":
        return _lines(marks[0])
    if len(marks) == 1:
        return _single(marks[0], background)
    if len(marks) == 2:
        return _pair(marks, background)
    return None, f"unknown shape: {len(marks)} shapes in one cell"


def _single(shape: Shape, background: float) -> tuple[str | None, str | None]:
    w, h = _size(shape.bbox)
    dark = _is_dark(shape, background)
    if shape.kind in ("rect", "poly") and dark and h > 0 and w / h >= MIN_DASH_ASPECT:
        return DASH, None
    if shape.kind != "curve" or not _is_round(shape.bbox):
        return None, f"unknown shape: {shape.kind} {w:.1f}x{h:.1f} pt"
    if dark:
        return FILLED, None
    if shape.stroked:
        # An outline, filled or not with a light colour (PowerPoint fills ovals white).
        return RING, None
    return None, f"unknown shape: oval {w:.1f}x{h:.1f} pt filled like its background"


def _pair(shapes: list[Shape], background: float) -> tuple[str | None, str | None]:
    """A ring drawn as a dark disc under a background-coloured disc."""
    outer, inner = sorted(shapes, key=lambda s: -_size(s.bbox)[0] * _size(s.bbox)[1])
    ow, oh = _size(outer.bbox)
    if (
        outer.kind == inner.kind == "curve"
        and _is_round(outer.bbox)
        and _is_round(inner.bbox)
        and _concentric(outer.bbox, inner.bbox)
        and _is_dark(outer, background)
        and inner.filled
        and not _is_dark(inner, background)
        and not inner.stroked
    ):
        return RING, None
    if (
        outer.kind == inner.kind == "curve"
        and _is_round(outer.bbox)
        and _is_round(inner.bbox)
        and _concentric(outer.bbox, inner.bbox)
        and outer.stroked
        and inner.stroked
        and not _is_dark(outer, background)
        and DOUBLE_INNER[0] <= _size(inner.bbox)[0] / max(ow, 1e-6) <= DOUBLE_INNER[1]
    ):
        return DOUBLE, None
    return None, f"unknown shape: 2 shapes ({outer.kind} {ow:.1f}x{oh:.1f} pt and {inner.kind}) in one cell"


def _lines(shape: Shape) -> tuple[str | None, str | None]:
    """△ (a closed path of three strokes), × (two crossing strokes) or ✓ (two joined, unequal arms)."""
    segs = shape.segments
    if len(segs) == 3 and all(_near(segs[i][2:], segs[(i + 1) % 3][:2]) for i in range(3)):
        return TRIANGLE, None
    if len(segs) == 2:
        a, b = segs
        if _crosses(a, b):
            return CROSS, None
        for p, q in ((a[:2], b[:2]), (a[:2], b[2:]), (a[2:], b[:2]), (a[2:], b[2:])):
            if _near(p, q):
                arms = sorted(_length(s) for s in segs)
                lowest = max(a[1], a[3], b[1], b[3])
                if arms[1] >= CHECK_ARMS * arms[0] and abs(p[1] - lowest) <= JOIN:
                    return CHECK, None
    w, h = _size(shape.bbox)
    return None, f"unknown shape: {len(segs)} strokes {w:.1f}x{h:.1f} pt"


def _near(p: tuple[float, ...], q: tuple[float, ...]) -> bool:
    return abs(p[0] - q[0]) <= JOIN and abs(p[1] - q[1]) <= JOIN


def _length(s: tuple[float, float, float, float]) -> float:
    return ((s[2] - s[0]) ** 2 + (s[3] - s[1]) ** 2) ** 0.5


def _crosses(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """The two strokes cross away from their ends (an X, not a V)."""

    def side(p, q, r) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    a0, a1, b0, b1 = a[:2], a[2:], b[:2], b[2:]
    if any(_near(p, q) for p in (a0, a1) for q in (b0, b1)):
        return False
    return side(a0, a1, b0) * side(a0, a1, b1) < 0 and side(b0, b1, a0) * side(b0, b1, a1) < 0


def _is_dark(shape: Shape, background: float) -> bool:
    if not shape.filled:
        return False
    gray = 0.0 if shape.fill_gray is None else shape.fill_gray
    return gray <= background - MIN_FILL_CONTRAST


def _is_round(bbox: BBox) -> bool:
    w, h = _size(bbox)
    return w > 0 and h > 0 and 1 / MAX_OVAL_ASPECT <= w / h <= MAX_OVAL_ASPECT


def _concentric(a: BBox, b: BBox) -> bool:
    size = max(_size(a))
    return (
        abs((a[0] + a[2]) - (b[0] + b[2])) / 2 <= CONCENTRIC * size
        and abs((a[1] + a[3]) - (b[1] + b[3])) / 2 <= CONCENTRIC * size
    )


def _is_background(shape: Shape, cell: BBox) -> bool:
    sw, sh = _size(shape.bbox)
    cw, ch = _size(cell)
    wide, tall = sw >= BACKGROUND_SHARE * cw, sh >= BACKGROUND_SHARE * ch
    if shape.kind == "curve" and _is_round(shape.bbox) and not (wide and tall):
        # A round oval as tall as a wide cell (or as wide as a tall one) touches the
        # rules but is a mark: a cell's paint spans it in its long direction too.
        return False
    return wide or tall


def _centre_in(shape: BBox, cell: BBox) -> bool:
    cx = (shape[0] + shape[2]) / 2
    cy = (shape[1] + shape[3]) / 2
    m = INSIDE_MARGIN
    return cell[0] + m <= cx <= cell[2] - m and cell[1] + m <= cy <= cell[3] - m


def _size(bbox: BBox) -> tuple[float, float]:
    return bbox[2] - bbox[0], bbox[3] - bbox[1]
