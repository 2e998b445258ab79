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

from pipeline.records import BBox, Shape

FILLED = "●"
RING = "○"
DASH = "—"

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
    return None, f"unknown shape: 2 shapes ({outer.kind} {ow:.1f}x{oh:.1f} pt and {inner.kind}) in one cell"


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
    return cell[0] <= cx <= cell[2] and cell[1] <= cy <= cell[3]


def _size(bbox: BBox) -> tuple[float, float]:
    return bbox[2] - bbox[0], bbox[3] - bbox[1]
