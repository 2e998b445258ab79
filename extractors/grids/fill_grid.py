"""Cell boundaries of shaded tables on scans: where the fill changes, not where ink is.

Slide software and many report styles draw tables with no dark rules at all:
cells are filled (a dark header row, banded body rows) and separated by thin
*light* gaps (white or pale rules) or only by a change of fill from one row
to the next; the table's outer border is where its fill meets the paper.
The ink-based ruling finder (extractors.grids.scan_grid) sees none of that.

Both kinds of boundary are read from the page's *fill map*, the page with
its glyphs and marks taken out, one direction at a time (rows of the page
for horizontal boundaries, of its transpose for vertical ones):

1. Fill: averaged along the rows over a glyph's width (noise averages away,
   a straight boundary keeps its contrast), then a grey closing across them
   taller than any glyph or mark of a table's text and shorter than any
   cell removes every small dark thing and keeps fills and light gaps.
2. Light rules: a thin straight line lighter than the fill on both sides of
   it (a white top-hat across, averaged along the line), even along its
   length, at least a ruling long.
3. Fill steps: where the fill level changes by more than shading differs
   from paper, along a straight run at least a ruling long (light rules and
   light type removed first by a grey opening across, so the fills on the
   two sides of a white rule meet); never at the edge of something as dark
   as ink (a large mark).

Nothing here depends on the colours of one style: any fill darker than paper
and any gap lighter than its fills gives boundaries. ``fill_boundaries`` gives
the boundaries running one way as a mask in the deskewed page's pixels; the
scan grid finder turns them into edges like its rulings, ends them where they meet
(``meet_boundaries``) and uses them only for tables its rulings did not find
(``unruled_fill_edges``, ``without_fill_doubles``). ``ink_in_cells`` then
reads each cell's ink against that cell's own fill, so a dark fill is no
mark and white type on it is read.
"""

from __future__ import annotations

import cv2
import numpy as np

from extractors.grids.grid import SNAP_TOLERANCE, cell_boxes_from_edges
from pipeline.model.records import BBox, Edge

# A boundary runs straight for at least this long (inches): as long as a ruling must be
# (scan_grid.MIN_RULE_INCHES), longer than any glyph stroke, shorter than a narrow cell's side.
MIN_BOUNDARY_INCHES = 0.25
# Glyphs and marks are removed by a closing this wide (inches, 7.2 pt): wider than a mark of
# a table's body text and the strokes of its glyphs, narrower than the smallest cell
# (scan_grid.MIN_SHADE_INCHES, 13 pt).
GLYPH_INCHES = 0.1
# A light rule is thinner than this (inches, 3 pt: a hairline to a wide gap between fills) ...
LIGHT_RULE_INCHES = 0.04
# ... and lighter than the fill on both sides by at least this (grey levels of 255): a
# white rule on the palest band a slide style uses differs by ~20, scanner noise averaged
# along a ruling's length by ~2.
LIGHT_RULE_DELTA = 8
# Fills differ by at least this (grey levels of 255) to be two cells' fills: paper and the
# lightest shading a printer shows as shading (scan_grid.SHADE_DELTA).
FILL_STEP_DELTA = 12
# Solid ink prints darker than this (grey levels of 255, under a fifth of paper's): a fill is a
# tint, lighter than that, however dark a header's (navy is about 55).
INK_LEVEL = 48
# A step is measured between the fill this far (inches) on either side: past the blur of the
# scan, closer than the thinnest row.
STEP_REACH_INCHES = 0.02
# Along a light rule the page, closed across only, varies less than this (standard deviation,
# grey levels): a row through white glyphs on a dark fill alternates between them.
MAX_RULE_SPREAD = 25.0


def fill_boundaries(gray: np.ndarray, dpi: float, orientation: str) -> np.ndarray:
    """The mask (255 on 0) of the shaded cells' boundaries running one way (``h`` or ``v``)."""
    glyph = max(3, int(round(GLYPH_INCHES * dpi)) | 1)
    rule = max(3, int(round(LIGHT_RULE_INCHES * dpi)) + 2)
    length = max(10, int(round(MIN_BOUNDARY_INCHES * dpi)))
    reach = max(2, int(round(STEP_REACH_INCHES * dpi)))
    # Boundaries are sought along the rows of ``image``: the page's own for horizontal ones.
    image = gray if orientation == "h" else gray.T
    # Averaged along the boundaries sought first, over a glyph: a straight boundary keeps its
    # contrast while scanner noise, which the closing would otherwise lift to its brightest,
    # averages away.
    smooth = cv2.blur(image, (glyph, 1))
    # Closed across the rows only: every glyph and mark is less tall than that, and the
    # fewer pixels the closing takes its brightest of, the less it lifts the noise.
    fill = cv2.morphologyEx(smooth, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, glyph)))
    # Light gaps along the rows removed, so the fills on both sides of a white rule meet,
    # and so are light glyphs on a dark fill (white header text): no taller than a glyph.
    solid = cv2.morphologyEx(fill, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, glyph)))
    # Unaveraged, for telling a rule's even light from a row of light glyphs.
    sharp = cv2.morphologyEx(image, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, glyph)))
    mask = _light_rules(fill, sharp, length, rule) | _steps(solid, length, reach)
    return mask if orientation == "h" else np.ascontiguousarray(mask.T)


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


def _runs(core: np.ndarray, local: np.ndarray, delta: float, length: int, width: int) -> np.ndarray:
    """Lines at least ``length`` long where ``core`` exceeds ``delta``, carried on to their real ends.

    The core stops short of a boundary's ends by up to half its averaging
    window (past the end one half sees nothing); within that reach the line
    goes on as long as ``local`` (the response averaged over a glyph's width
    only) still exceeds ``delta``.

    A line is sought along rows, so it is sought only in the rows where the
    core passes somewhere, and carried on and thinned only in bands of rows
    around those lines (a text page's lines are a few dozen rows of thousands).
    """
    out = np.zeros(core.shape, np.uint8)
    rows = np.flatnonzero((core > delta).any(axis=1))
    if not rows.size:
        return out  # no line anywhere (a page of paper and photographs): nothing to carry on or thin
    # The opening runs along rows only, so each row is opened on its own.
    line = cv2.morphologyEx(
        (core[rows] > delta).astype(np.uint8) * 255, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1))
    )
    lines = rows[line.any(axis=1)]
    # Thinning looks ``width // 2`` rows across a line and the two closings one row more each (two
    # rows spare): nothing a band's lines give reaches past this margin, nor does anything outside reach in.
    margin = width // 2 + 4
    for top, bottom in _bands(lines, margin, core.shape[0]):
        band = np.zeros((bottom - top, core.shape[1]), np.uint8)
        inside = (rows >= top) & (rows < bottom)
        band[rows[inside] - top] = line[inside]
        reach = cv2.dilate(band, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * (length // 2) + 1, 1)))
        thin = _thin_across((reach > 0) & (local[top:bottom] > delta), local[top:bottom], width)
        # Where noise drowned the local response for a moment the line has holes: those shorter
        # than half a boundary's least length are closed (a spanning cell, which interrupts a
        # boundary for good, is wider than that: scan_grid.MIN_SHADE_INCHES).
        out[top:bottom] = cv2.morphologyEx(thin, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, length // 2), 3)))
    return out


def _bands(rows: np.ndarray, margin: int, height: int) -> list[tuple[int, int]]:
    """Row ranges ``[top, bottom)`` holding every one of ``rows`` (ascending) with ``margin`` rows on
    either side, within ``height``; ranges that would touch are one."""
    bands: list[tuple[int, int]] = []
    for row in rows.tolist():
        top, bottom = max(0, row - margin), min(height, row + margin + 1)
        if bands and top <= bands[-1][1]:
            bands[-1] = (bands[-1][0], bottom)
        else:
            bands.append((top, bottom))
    return bands


def _light_rules(fill: np.ndarray, sharp: np.ndarray, length: int, rule: int) -> np.ndarray:
    """Horizontal thin lines lighter than the fill above and below them, even along their length
    in ``sharp`` (the fill not averaged along)."""
    background = cv2.morphologyEx(fill, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * rule + 1)))
    lift = cv2.subtract(fill, background)
    # The core and the spread are means along rows, so a row's are its own: a row whose lift never
    # passes the threshold has no core that does, and only the others are measured (on a page of
    # text, about half the rows in the search for vertical rules, a few dozen for horizontal ones).
    rows = np.flatnonzero((lift > LIGHT_RULE_DELTA).any(axis=1))
    core = np.zeros(lift.shape, np.float32)
    if rows.size:
        measured = np.minimum(*_along(lift[rows], length))
        core[rows] = np.where(line_spread(sharp[rows], (length, 1)) >= MAX_RULE_SPREAD, 0, measured)
    return _runs(core, lift.astype(np.float32), LIGHT_RULE_DELTA, length, rule)


def line_spread(image: np.ndarray, ksize: tuple[int, int]) -> np.ndarray:
    """Standard deviation of ``image`` over a line-shaped window (``ksize``: OpenCV's width, height)."""
    values = image.astype(np.float32)
    return np.sqrt(np.maximum(cv2.blur(values * values, ksize) - np.square(cv2.blur(values, ksize)), 0))


def _steps(solid: np.ndarray, length: int, reach: int) -> np.ndarray:
    """Horizontal lines where the fill above differs from the fill below.

    The step is the derivative across of the fill smoothed over ``reach``
    (scaled so that a clean step of H grey levels reads H), which peaks on
    the boundary itself.
    """
    scale = float(np.sqrt(2 * np.pi) * reach)
    across = cv2.GaussianBlur(solid.astype(np.float32), (1, 0), sigmaX=0.1, sigmaY=reach)
    signed = cv2.Sobel(across, cv2.CV_32F, 0, 1, ksize=1)
    signed *= scale / 2.0
    local = np.abs(signed)
    # Smoothing and differencing across the rows commute with averaging along them: the step of
    # each side's mean is that side's mean of the step, so one derivative serves all three.
    # A mean along a row passes the threshold only where some step in that row does (a hundredth
    # of it spared for rounding): the other rows' core is nought without measuring it.
    rows = np.flatnonzero((local > 0.99 * FILL_STEP_DELTA).any(axis=1))
    core = np.zeros(local.shape, np.float32)
    if rows.size:
        core[rows] = np.minimum(*(np.abs(side) for side in _along(signed[rows], length)))
    # The edge of something as dark as ink (a mark larger than the closing, a solid disc
    # drawn over a cell) is no boundary between fills: nor is anything within the step's blur of it.
    inky = cv2.dilate((solid < INK_LEVEL).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (1, 6 * reach + 1))) > 0
    core[inky] = 0
    local[inky] = 0
    # A step blurred over ``reach`` is that wide on either side: one peak in twice that.
    return _runs(core, local, FILL_STEP_DELTA, length, 4 * reach)


def _thin_across(line: np.ndarray, strength: np.ndarray, width: int) -> np.ndarray:
    """Each band of ``line`` reduced to the rows where ``strength`` peaks within ``width`` across it."""
    peak = cv2.dilate(strength, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * (width // 2) + 1)))
    keep = line & (strength >= peak - 1e-3)
    keep = keep.astype(np.uint8) * 255
    # The peak rows of one band may waver by a pixel along it: join them into one line.
    keep = cv2.morphologyEx(keep, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    return keep


def meet_boundaries(edges: list[Edge], reach: float) -> list[Edge]:
    """Fill boundaries ended at the perpendicular boundary they stop short of or run past, within
    ``reach`` (PDF points, as the edges): the smallest cell's side.

    Light type set close beside a light rule (a header's white text against
    its cell's rule) joins it under the closing, so the rule is found only
    past the type: short of the boundary it meets by the type's height and
    the cell's padding above it, which together may fill most of a row; and
    averaging along a boundary carries it past a fill's edge by up to half a
    glyph. Either way its end belongs on the nearest perpendicular boundary
    within the height of the smallest cell (no row is shorter, so the nearest
    boundary is the one the cells it parts end at).
    """
    tol = SNAP_TOLERANCE  # a boundary this close to the line's end runs across it
    hs = [e for e in edges if e.orientation == "h"]
    vs = [e for e in edges if e.orientation == "v"]

    def snap(end: float, spots: list[float]) -> float:
        near = [p for p in spots if abs(p - end) <= reach]
        return min(near, key=lambda p: abs(p - end)) if near else end

    out = []
    for e in hs:
        spots = [o.x0 for o in vs if o.top - tol <= e.top <= o.bottom + tol]
        out.append(Edge("h", snap(e.x0, spots), e.top, snap(e.x1, spots), e.bottom))
    for e in vs:
        spots = [o.top for o in hs if o.x0 - tol <= e.x0 <= o.x1 + tol]
        out.append(Edge("v", e.x0, snap(e.top, spots), e.x1, snap(e.bottom, spots)))
    return [e for e in out if max(e.x1 - e.x0, e.bottom - e.top) > 0]


def close_outline(edges: list[Edge]) -> list[Edge]:
    """A fill table's top or bottom edge where its step to the paper was too faint to be read.

    The palest band meets the paper with the least step, and at the table's
    first or last row that step may be lost; the light rules parting the
    cells still end together there. Where at least three vertical boundaries
    end within grid.SNAP_TOLERANCE of one height, no horizontal boundary runs
    across all of them there (pieces of the faint step may) and no vertical
    boundary goes on past it, that height is the table's edge. (Inside a table, where light rules beside dark marks break,
    other boundaries go on past the break, so no row is made there.)
    """
    tol = SNAP_TOLERANCE
    hs = [e for e in edges if e.orientation == "h"]
    vs = [e for e in edges if e.orientation == "v"]
    out = list(edges)
    for key, beyond in (("top", lambda v, y: v.top < y - tol), ("bottom", lambda v, y: v.bottom > y + tol)):
        ends = sorted(vs, key=lambda v: getattr(v, key))
        groups: list[list[Edge]] = []
        for v in ends:
            if groups and getattr(v, key) - getattr(groups[-1][-1], key) <= tol:
                groups[-1].append(v)
            else:
                groups.append([v])
        for group in groups:
            if len(group) < 3:
                continue
            y = sum(getattr(v, key) for v in group) / len(group)
            x0, x1 = min(v.x0 for v in group), max(v.x0 for v in group)
            if any(abs(h.top - y) <= tol and h.x0 <= x0 + tol and h.x1 >= x1 - tol for h in hs):
                continue
            if any(beyond(v, y) and x0 - tol <= v.x0 <= x1 + tol for v in vs):
                continue
            out.append(Edge("h", x0, y, x1, y))
    return out


def unruled_fill_edges(fill_edges: list[Edge], ruled_tables: list[list[BBox]], min_cells: int) -> list[Edge]:
    """The fill boundaries to read with the rulings (PDF points): none unless they make a table
    the rulings did not find, and never those inside a table the rulings found.

    A shaded table counts as found when ruled tables' cells cover ``RULED_COVER``
    of it; only a table of fills the rulings missed (or found in pieces, its
    darker rows only) needs fill boundaries. Inside a ruled table the rules say
    where its cells are, and what the closing leaves there of bold glyphs and
    marks could only cut them up; a boundary on a ruled table's outline, or
    running beyond it, may join the pieces of a shaded table and is kept.
    """
    tol = SNAP_TOLERANCE  # a boundary this close to a table's outline is on it
    ruled = [b for t in ruled_tables for b in t]
    missed = False
    for table in cell_boxes_from_edges(fill_edges):
        if len(table) < min_cells:
            continue
        x0, y0 = min(b[0] for b in table), min(b[1] for b in table)
        x1, y1 = max(b[2] for b in table), max(b[3] for b in table)
        covered = np.zeros((max(1, int(np.ceil(y1 - y0))), max(1, int(np.ceil(x1 - x0)))), dtype=bool)  # a pixel a point
        for b in ruled:
            covered[max(0, int(b[1] - y0)) : max(0, int(np.ceil(b[3] - y0))), max(0, int(b[0] - x0)) : max(0, int(np.ceil(b[2] - x0)))] = True
        missed = missed or covered.mean() < RULED_COVER
    if not missed:
        return []
    frames = []
    for table in ruled_tables:
        if len(table) >= min_cells:
            frames.append((min(b[0] for b in table) + tol, min(b[1] for b in table) + tol,
                           max(b[2] for b in table) - tol, max(b[3] for b in table) - tol))
    return [e for e in fill_edges
            if not any(e.x0 >= x0 and e.x1 <= x1 and e.top >= y0 and e.bottom <= y1 for x0, y0, x1, y1 in frames)]


def without_fill_doubles(edges: list[Edge], fill_edges: list[Edge]) -> list[Edge]:
    """``edges`` without those lying along a fill boundary (within grid.SNAP_TOLERANCE across).

    On a shaded table the ink finder also sees lines where there are none:
    the tops of a row of marks, the strip of dark fill above light type. Near
    a fill boundary such a line would be averaged into it and move it onto
    the marks; the fill boundary, read from the fills on both its sides,
    says where the cells part.
    """
    tol = SNAP_TOLERANCE

    def along(e: Edge, f: Edge) -> bool:
        if e.orientation != f.orientation:
            return False
        if e.orientation == "h":
            return abs(e.top - f.top) <= tol and e.x0 >= f.x0 - tol and e.x1 <= f.x1 + tol
        return abs(e.x0 - f.x0) <= tol and e.top >= f.top - tol and e.bottom <= f.bottom + tol

    return [e for e in edges if not any(along(e, f) for f in fill_edges)]


# A shaded table is the rulings' when their cells cover at least this share of its area: all
# of it but its outer boundaries' width and a row or column the scan lost.
RULED_COVER = 0.9


# Ink is darker than its cell's own background by at least this many times the background's
# noise (robust standard deviation): noise is then ink about once in 30,000 pixels.
INK_NOISE_SIGMAS = 4.0
# A cell's background is read from the pixels the page-wide threshold left as paper when they
# are at least this share of it: a mark covers no more than a disc inscribed in its cell (about
# four fifths); a dark fill, all ink to that threshold, leaves none.
MIN_BACKGROUND_SHARE = 0.1
# ... and by at least this (grey levels of 255), as much as shading must differ from paper
# (scan_grid.SHADE_DELTA): on a clean scan the noise is near nothing.
MIN_INK_CONTRAST = 12


def ink_in_cells(ink: np.ndarray, gray: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """``ink`` within each cell kept only where it is clearly darker than that cell's own background.

    A page-wide threshold is wrong on filled cells two ways: a dark fill (a
    header row) is all ink, so the cell reads as one solid disc; and next to
    a light rule or a lighter neighbour, plain fill is darker than its
    surroundings, so noise along the cell's edges passes as ink and a mark
    there reads as text. Ink differs from the cell's background level by
    more than its noise allows: darker, or lighter where more of the cell is
    lighter than darker (type set in reverse, white text and marks on a
    header-styled row).
    ``boxes``: the cells' pixel boxes inside their rules.
    """
    out = ink.copy()
    for x0, y0, x1, y1 in boxes:
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        crop = gray[y0:y1, x0:x1]
        # The background is the commonest level (glyphs, even dense bold ones, spread over many
        # levels; a fill or paper is one), its noise the spread to the side of it where there
        # is no type: the lesser of the two (none on a side where the level is clipped).
        # Taken from what the page-wide threshold left as paper where there is enough of it: a
        # drawn disc can cover most of its cell, and then its own level is the commonest.
        paper = ink[y0:y1, x0:x1] == 0
        background = crop[paper] if paper.mean() >= MIN_BACKGROUND_SHARE else crop
        hist = np.convolve(np.bincount(background.ravel(), minlength=256), np.ones(9), mode="same")
        level = int(np.argmax(hist))
        f = crop.astype(np.float32) - level
        sigma = min(1.4826 * float(np.median(np.abs(side))) if side.size else 0.0 for side in (f[f > 0], f[f < 0]))
        contrast = max(MIN_INK_CONTRAST, INK_NOISE_SIGMAS * sigma)
        lighter, darker = crop > level + contrast, crop < level - contrast
        if lighter.sum() > darker.sum():
            # Type set in reverse, light on a dark fill (a header row's style): light is its ink,
            # and so are the cell's own light rules, whose fringes are peeled off its sides.
            out[y0:y1, x0:x1] = _without_border_lines(np.where(lighter, 255, 0).astype(np.uint8))
        else:
            out[y0:y1, x0:x1] = np.where(darker, out[y0:y1, x0:x1], 0)
    return out


# A row of ink along a crop's side covering at least this share of it is a rule's fringe: a
# mark touching the side covers no more than its own width, at most about half the cell's.
BORDER_LINE_SHARE = 0.8


def _without_border_lines(ink: np.ndarray) -> np.ndarray:
    """``ink`` without the light rules' fringes along the crop's sides (in a reversed cell the
    cell's own light rules are as light as its type), peeled row by row from each side."""
    out = ink.copy()
    for view in (out, out[::-1], out.T, out.T[::-1]):
        for row in view:
            if (row > 0).mean() < BORDER_LINE_SHARE:
                break
            row[:] = 0
    return out
