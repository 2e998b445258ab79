"""Ruled tables on scanned (image-only) pages, as the same ``Grid`` the text path builds.

1. Deskew: the angle that makes the page's ink rows sharpest (projection
   profile), found coarse-to-fine on a reduced image, then the page is rotated.
2. Rulings: morphological opening with long thin kernels keeps only strokes
   longer than any glyph; each remaining thin component is one ruling edge.
3. Cells: those edges go through the same edge → intersection → cell chain as
   the text path (extractors.grids.grid.cell_boxes_from_edges), so spans and header
   structure come out the same way.
4. Each cell's pixels are classified (extractors.grids.mark_pixels): a mark is read
   from its shape, never by OCR; the cells holding text are cleaned, laid on
   one blank page and OCR'd together in one call (extractors.grids.cell_ocr).

Cell boxes are mapped back through the rotation, so they are PDF points on the
page as printed; ``col_bounds``/``row_bounds`` stay in the deskewed frame,
where the grid is axis-aligned (they describe structure, not places).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from extractors.grids.grid import Cell, Grid, cell_boxes_from_edges, grid_from_boxes
from extractors.grids.cell_ocr import ocr_cells
from extractors.grids.fill_grid import close_outline, fill_boundaries, ink_in_cells, line_spread, meet_boundaries, unruled_fill_edges, without_fill_doubles
from extractors.grids.mark_pixels import DOUBLE, LOW_CONFIDENCE, RING, PixelReading, binarize, classify_cell, refine_round, strip_border_remnants
from pipeline.reading.ocr import OcrWord, blank
from pipeline.model.records import BBox, Edge, ParsedPage, PngRaster, per_page

# Deskew search range and precision (degrees). Scans beyond ±5° are re-scanned, not read.
MAX_SKEW = 5.0
SKEW_STEP_COARSE = 0.25
SKEW_STEP_FINE = 0.02
# A ruling is longer than any glyph stroke: at least this long (inches).
MIN_RULE_INCHES = 0.25
# A table's line network spans at least this much both ways (inches); smaller ink is glyphs.
MIN_NETWORK_INCHES = 0.4
# ... and thinner than this (inches); thicker dark areas are bars or pictures.
MAX_RULE_INCHES = 0.04
# Dots and dashes of dotted / dashed rules are at most this long (inches; a scan's blur runs two or
# three dots of a fine dotted rule into one) and this far apart.
DOT_INCHES = 0.1
# A dotted rule has at least this many dots.
MIN_DOTS = 4
DOT_GAP_INCHES = 0.0625
# A dotted rule's run of dots is at least this long (inches): between two solid rules
# of a body row the dots that touch those rules are part of them, not of the run.
MIN_DOTTED_INCHES = 0.15
# A faint rule is at least this much darker than the background across it (gray levels of 255),
# measured against an opening this wide (inches: wider than any rule, narrower than a text line).
FAINT_RULE_DELTA = 8
FAINT_ACROSS_INCHES = 0.06
# ... and even along its length: gray levels vary less than this (standard deviation) along it.
FAINT_RULE_SPREAD = 25.0
# Scanned rulings run up to this far (points) past the rule they end at (their reach, their
# thickness, what deskewing leaves): a row the page break left open is taller than that.
BREAK_TOLERANCE = 6.0
# Shading is at least this much darker than paper (gray levels of 255).
SHADE_DELTA = 12
# A shaded area is a cell when it is at least this large (inches) and this rectangular.
MIN_SHADE_INCHES = 0.18
MIN_SHADE_RECTANGULARITY = 0.85
# ... and at least this share of its pixels are shading (neither ink nor paper).
MIN_SHADE_SHARE = 0.5
# Below this OCR confidence a text cell is flagged for review.
LOW_OCR_CONFIDENCE = 0.5
# Gaussian blur sigma is dpi / this (one pixel at 300 dpi).
DENOISE_DPI = 300.0
# Ink blobs smaller than this (inches, either side) are dust, not marks or glyphs.
SPECK_INCHES = 0.04
# A speck farther than this (inches) from any glyph is dust, not part of the text.
STRAY_INCHES = 0.03
# The smallest mark (● or ○ of a 6 pt font, inches); smaller lone blobs are dust.
MIN_MARK_INCHES = 0.06
# A mark sits within this share of its cell's size from the cell's centre.
MARK_OFFCENTRE = 0.2
# A ring read only once closed along the cell's edge needs at least this confidence.
MIN_CLOSED_RING_CONFIDENCE = 0.3
# Cells are read this far inside their rulings (inches).
CELL_INSET_INCHES = 0.015
# A scan's outer strip this wide (inches) is its paper's edge and the scanner's shadow, no table.
EDGE_INCHES = 0.1


@per_page  # the matrix and the mark-table reader both read a scanned page's grids: the costliest work on a scan after OCR
def find_scanned_grids(
    page: ParsedPage, cache_dir: Path | None = None, min_cells: int = 4, read_text: bool = True
) -> list[Grid]:
    """Every ruled table on an image-only page, marks read from pixels and text by OCR.

    ``read_text=False`` skips OCR (text cells keep ``text=""`` and a note):
    for measuring grid and mark reading alone.
    """
    if page.image is None:
        return []
    gray = _as_gray(page.image)
    if blank(gray):
        return []  # the search took 1.7 s to find nothing on a blank A4 page
    dpi = float(page.image_dpi)
    angle = estimate_skew(binarize(gray))
    straight, to_page = rotate(gray, angle)
    # A slight blur first: scanner noise would otherwise pass the adaptive
    # threshold in clumps that look like small marks.
    smooth = cv2.GaussianBlur(straight, (0, 0), dpi / DENOISE_DPI)
    ink = binarize(smooth)
    # The vertical boundaries of every kind first: a cell lies between two, and a page of text,
    # which has a horizontal one along every line, seldom has two, so when neither the rulings
    # and shading nor the fills give two, the page holds no table and nothing horizontal is sought.
    h_rules, v_rules = ruling_masks(ink, dpi)
    v_mask = v_rules | faint_rule_mask(smooth, dpi, "v")
    v_edges = mask_edges(v_mask, "v", dpi)
    shaded = shade_edges(straight, dpi)
    # Tables drawn with fills and light gaps instead of dark rules (slides' table styles).
    inside = scanned_interior(gray.shape, straight.shape, to_page, dpi)
    fill_v_edges = mask_edges(fill_boundaries(straight, dpi, "v") & inside, "v", dpi)
    if not could_hold_cells(len(v_edges) + sum(e.orientation == "v" for e in shaded), len(fill_v_edges)):
        return []
    h_mask = h_rules | faint_rule_mask(smooth, dpi, "h")
    edges = mask_edges(h_mask, "h", dpi) + v_edges + shaded
    # What is left once rulings are gone is what cells hold.
    content = cv2.bitwise_and(ink, cv2.bitwise_not(cv2.dilate(h_mask | v_mask, np.ones((3, 3), np.uint8))))
    tables = cell_boxes_from_edges(edges, close_page_breaks=True, break_tolerance=BREAK_TOLERANCE)
    unruled = []
    if len(fill_v_edges) >= 2:
        fill_h_edges = mask_edges(fill_boundaries(straight, dpi, "h") & inside, "h", dpi)
        # An end hidden by the type beside its rule is short by at most a row, and no row is shorter than a cell's least side.
        fill_edges = close_outline(meet_boundaries(fill_h_edges + fill_v_edges, reach=MIN_SHADE_INCHES * 72.0))
        unruled = unruled_fill_edges(fill_edges, tables, min_cells)
    if unruled:
        # No rows closed at page breaks: a fill ends in a step wherever the page cuts it, and
        # rulings ending together there are breaks in light rules beside dark marks.
        tables = cell_boxes_from_edges(without_fill_doubles(edges, unruled) + unruled)
    grids = [grid_from_boxes(boxes, page.page_number, ocr=True) for boxes in tables if len(boxes) >= min_cells]
    inset = max(2, int(round(CELL_INSET_INCHES * dpi)))
    content = ink_in_cells(content, smooth, [_pixel_box(c.bbox, dpi, inset, content.shape) for g in grids for c in g.cells])
    grids = [_split_merged_marks(grid, content, dpi) for grid in grids]
    words = _page_words(page, to_page)
    read = _read_cells([g.cells for g in grids], straight, content, dpi, cache_dir, read_text, words)
    out = []
    for grid, cells in zip(grids, read):
        cells = [replace(c, bbox=_to_page(c.bbox, to_page, dpi)) for c in cells]
        out.append(replace(grid, cells=tuple(cells), bbox=_to_page(grid.bbox, to_page, dpi)))
    return sorted(out, key=lambda g: (g.bbox[1], g.bbox[0]))


def could_hold_cells(ruled_verticals: int, fill_verticals: int) -> bool:
    """Whether a page's vertical boundaries can bound a cell, which lies between two.

    ``ruled_verticals``: rulings', faint rules' and shading's vertical sides, from which the ruled
    tables are built; ``fill_verticals``: the fills' vertical boundaries, which join them only when
    they are two or more. Joining dotted pieces and closing page breaks add no vertical one.
    """
    return ruled_verticals >= 2 or fill_verticals >= 2


def _page_words(page: ParsedPage, to_page: np.ndarray) -> list[OcrWord] | None:
    """The page's OCR text layer as glyphs in the deskewed image's pixels; None when it has none."""
    if not page.chars or not all(c.font.startswith("ocr:") for c in page.chars):
        return None
    to_straight = cv2.invertAffineTransform(to_page)
    px = page.image_dpi / 72.0
    words = []
    for ch in page.chars:
        x0, y0, x1, y1 = (v * px for v in ch.bbox)
        cx, cy = to_straight @ np.array([(x0 + x1) / 2, (y0 + y1) / 2, 1.0])
        w, h = x1 - x0, y1 - y0
        try:
            confidence = float(ch.font.split(":", 1)[1])
        except ValueError:
            confidence = 1.0
        words.append(OcrWord(ch.text, int(round(cx - w / 2)), int(round(cy - h / 2)), max(1, int(round(w))), max(1, int(round(h))), confidence))
    return words


# ---------------------------------------------------------------- geometry


def estimate_skew(ink: np.ndarray) -> float:
    """Skew in degrees (counter-clockwise positive, as cv2 rotates) of the page's rows."""
    scale = min(1.0, 1000.0 / max(ink.shape))
    small = cv2.resize(ink, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    best = _best_angle(small, np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, SKEW_STEP_COARSE))
    fine_scale = min(1.0, 2000.0 / max(ink.shape))
    fine = cv2.resize(ink, None, fx=fine_scale, fy=fine_scale, interpolation=cv2.INTER_AREA)
    around = np.arange(best - SKEW_STEP_COARSE, best + SKEW_STEP_COARSE + 1e-9, SKEW_STEP_FINE)
    return float(_best_angle(fine, around))


def _best_angle(ink: np.ndarray, angles: np.ndarray) -> float:
    h, w = ink.shape
    centre = (w / 2.0, h / 2.0)
    scores = []
    for a in angles:
        m = cv2.getRotationMatrix2D(centre, float(a), 1.0)
        rotated = cv2.warpAffine(ink, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
        profile = rotated.sum(axis=1, dtype=np.float64)
        # Rows of a straight page are either full of ink (rulings, text lines) or empty.
        scores.append(float(np.square(np.diff(profile)).sum()))
    return float(angles[int(np.argmax(scores))])


def scanned_interior(scanned_shape: tuple[int, ...], straight_shape: tuple[int, ...], to_page: np.ndarray, dpi: float) -> np.ndarray:
    """The deskewed page's pixels (255 on 0) lying at least ``EDGE_INCHES`` inside the scanned image.

    ``to_page`` maps deskewed pixels back to the scan's (``rotate``). The outer strip of a scan is
    its paper's edge and the scanner's shadow, and deskewing adds white canvas beyond it: where
    those meet the paper the fill changes along the whole edge, yet no cell's side lies there.
    """
    margin = max(1, int(round(EDGE_INCHES * dpi)))
    frame = np.zeros(scanned_shape[:2], np.uint8)
    frame[margin:-margin, margin:-margin] = 255
    to_straight = cv2.invertAffineTransform(to_page)
    return cv2.warpAffine(frame, to_straight, (straight_shape[1], straight_shape[0]), flags=cv2.INTER_NEAREST, borderValue=0)


def rotate(gray: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate by ``angle`` degrees on an enlarged white canvas.

    Returns the rotated image and the 2x3 affine map from rotated pixels back
    to the original image's pixels.
    """
    h, w = gray.shape
    if abs(angle) < 1e-6:
        return gray, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    new_w, new_h = int(math.ceil(h * sin + w * cos)), int(math.ceil(h * cos + w * sin))
    m[0, 2] += new_w / 2.0 - w / 2.0
    m[1, 2] += new_h / 2.0 - h / 2.0
    rotated = cv2.warpAffine(gray, m, (new_w, new_h), flags=cv2.INTER_LINEAR, borderValue=255)
    return rotated, cv2.invertAffineTransform(m)


def ruling_masks(ink: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical ruling pixels: long thin strokes only.

    Glyphs are removed first (ink components smaller than a table in either
    direction): bold kanji strokes run together into bars as long as a
    narrow cell's border, but they never join the table's line network.
    """
    length = max(10, int(round(MIN_RULE_INCHES * dpi)))
    components = cv2.connectedComponentsWithStats(ink, connectivity=8)[:3]  # labelled once for both
    network = _network(ink, int(round(MIN_NETWORK_INCHES * dpi)), components)
    if not cv2.countNonZero(network):
        # Nothing on the page spans a table's least size both ways (a page of text): no solid
        # ruling, and no dotted one, which counts only where it meets a solid one.
        return np.zeros_like(ink), np.zeros_like(ink)
    dotted_h, dotted_v = _dotted_rules(ink, network, dpi, max(10, int(round(MIN_DOTTED_INCHES * dpi))), components)
    ink = network
    # Scanned rulings break into dashes; a short closing joins them first.
    bridge = max(3, int(round(0.01 * dpi)))
    h = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (bridge, 1)))
    h = cv2.morphologyEx(h, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    v = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, bridge)))
    v = cv2.morphologyEx(v, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    thickness = max(3, int(MAX_RULE_INCHES * dpi))
    h = _ends_out_of_text(_rule_bands(h, thickness), ink, thickness)
    v = _ends_out_of_text(_rule_bands(v.T, thickness), ink.T, thickness).T
    return h | dotted_h, v | dotted_v


def _ends_out_of_text(mask: np.ndarray, ink: np.ndarray, thickness: int) -> np.ndarray:
    """Horizontal rules without the ends that run on into text.

    A glyph set tight against a rule joins it, and a stroke in line with a
    column's rule carries that rule on through a spanning header's text, cutting
    the header in two. Where a rule runs through text, ink lies on both sides
    of it; a rule's own end stands in paper. So each end is cut back while ink
    lies on both sides of it (a mark touching a rule midway stays bridged).
    """
    n, labels, stats = page_components(mask)
    if n <= 1:
        return mask
    out = mask.copy()
    gap = 2
    for i in range(1, n):
        x, y, w, h, _ = (int(v) for v in stats[i])
        above = ink[max(0, y - 2 * thickness) : max(0, y - gap), x : x + w]
        below = ink[y + h + gap : y + h + 2 * thickness, x : x + w]
        if above.size == 0 or below.size == 0:
            continue
        dense = ((above > 0).mean(axis=0) >= 0.5) & ((below > 0).mean(axis=0) >= 0.5)
        if not dense[0] and not dense[-1]:
            continue
        start = int(np.argmin(dense)) if not dense.all() else w
        end = w - int(np.argmin(dense[::-1])) if not dense.all() else w
        part = labels[y : y + h, x : x + w] == i
        cut = np.zeros(w, dtype=bool)
        cut[:start] = True
        cut[end:] = True
        out[y : y + h, x : x + w][part & cut[None, :]] = 0
    return out


def _rule_bands(mask: np.ndarray, thickness: int) -> np.ndarray:
    """The thin horizontal rules of ``mask``, without the solid shapes that touch them.

    A filled mark as wide as the opening's kernel survives it as a thick band,
    and when it touches a rule the two are one component, too thick for a
    line: the rule would be lost with the mark. Along a rule its pixels cover
    most of the component's width; across a mark they cover only the mark's
    width. So only rows covered over most of the width are kept, and a band
    of such rows thicker than a rule (a bar, a picture) is dropped.
    """
    n, labels, stats = page_components(mask)
    out = np.zeros_like(mask)
    for i in range(1, n):
        x, y, w, h, _ = (int(v) for v in stats[i])
        part = labels[y : y + h, x : x + w] == i
        if h <= thickness:
            out[y : y + h, x : x + w][part] = 255
            continue
        covered = part.sum(axis=1) >= 0.5 * w
        start = None
        for r in range(h + 1):
            if r < h and covered[r]:
                start = r if start is None else start
                continue
            if start is not None and r - start <= thickness:
                out[y + start : y + r, x : x + w][part[start:r]] = 255
            start = None
    return out


def faint_rule_mask(gray: np.ndarray, dpi: float, orientation: str) -> np.ndarray:
    """Thin light rules running one way (``h`` or ``v``) that the ink threshold misses.

    A hairline grey rule beside dense text is lighter than the local mean
    the adaptive threshold compares with, so it breaks into pieces. Averaged
    along its own direction a rule keeps its darkness while noise and the
    gaps between glyphs average away; against the background across it (an
    opening wider than a rule, which also flattens shading) it stands out.
    A pixel is a rule's when the averaged response and its own are both
    darker than that background, and a rule is a straight run of such pixels
    at least a ruling long on its own (joined to glyphs' ink, the halo of a
    stroke would carry a rule on into the text).
    """
    inv = cv2.bitwise_not(gray)
    along = max(10, int(round(MIN_RULE_INCHES * dpi)))
    across = max(5, int(round(FAINT_ACROSS_INCHES * dpi)))
    thickness = max(3, int(MAX_RULE_INCHES * dpi))
    half = along // 2
    if orientation == "h":
        line, background, halves = (along, 1), (1, across), (((half, 1), (0, 0)), ((half, 1), (half - 1, 0)))
    else:
        line, background, halves = (1, along), (across, 1), (((1, half), (0, 0)), ((1, half), (0, half - 1)))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, background)
    # The line runs on both sides of the pixel: past a rule's end, or where glyph strokes
    # line up with it, only one side is dark.
    averaged = np.minimum(*(cv2.blur(inv, size, anchor=anchor) for size, anchor in halves))
    response = cv2.subtract(averaged, cv2.morphologyEx(averaged, cv2.MORPH_OPEN, kernel))
    own = cv2.subtract(inv, cv2.morphologyEx(inv, cv2.MORPH_OPEN, kernel))
    # A rule is even along its length; a row through glyphs alternates strokes and gaps.
    spread = line_spread(inv, line)
    rule = ((response > FAINT_RULE_DELTA) & (own > FAINT_RULE_DELTA) & (spread < FAINT_RULE_SPREAD)).astype(np.uint8) * 255
    rule = cv2.morphologyEx(rule, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, line))
    return _rule_bands(rule, thickness) if orientation == "h" else _rule_bands(rule.T, thickness).T


def _dotted_rules(
    ink: np.ndarray, network: np.ndarray, dpi: float, length: int, components: tuple[int, np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Dotted and dashed rules: rows of small separate blobs, close together, meeting the table's rulings.

    Each dot is too small to join the table's line network, so the dots are
    joined first, along one direction at a time. A run counts only when it
    has at least MIN_DOTS dots and reaches a solid ruling of the ``network``:
    strokes of glyphs (ー, 一, the dots of シ) can line up inside a cell, but
    never run on into its rulings. A dot or dash of a rule is as thin across
    the rule as the rule is; the strokes of 三 or ミ stacked down a text line
    are short but lie across that line, so they are no dots of a vertical rule.
    ``components``: ``ink``'s connected components (count, labels, stats), when the caller has them.
    """
    n, labels, stats = components or cv2.connectedComponentsWithStats(ink, connectivity=8)[:3]
    thin = max(2, int(round(MAX_RULE_INCHES * dpi)))
    short = max(3, int(round(DOT_INCHES * dpi)))
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    gap = max(3, int(round(DOT_GAP_INCHES * dpi)))
    out = []
    for horizontal in (True, False):
        # A dot or a dash of a rule this way: thin across it, short along it.
        across, lengthwise = (h, w) if horizontal else (w, h)
        is_dot = (across <= thin) & (lengthwise <= short)
        is_dot[0] = False
        dotted = is_dot[labels]
        dots = dotted.view(np.uint8) * np.uint8(255)
        along = (lambda k: (k, 1)) if horizontal else (lambda k: (1, k))
        joined = cv2.morphologyEx(dots, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, along(gap)))
        runs = cv2.morphologyEx(joined, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, along(length)))
        # The dots next to a solid rule merge into it: reach one gap (and a bit) further to meet it.
        reached = cv2.dilate(runs, cv2.getStructuringElement(cv2.MORPH_RECT, along(2 * gap + 3)))
        rule = np.zeros_like(ink)
        out.append(rule)
        # Runs lie inside what the reach covers, so the rest is read only there (most pages: nowhere).
        x, y, bw, bh = cv2.boundingRect(reached)
        if bw == 0:
            continue
        box = (slice(y, y + bh), slice(x, x + bw))
        reached, on_network = np.ascontiguousarray(reached[box]), network[box]
        dot_labels = np.where(dotted[box], labels[box], 0)
        m, run_labels = cv2.connectedComponents(reached, connectivity=8)
        # Dots are counted between the solid rulings the run crosses: the reach carries a run
        # over a crossing rule into the next row, where the strokes stacked in a column of text
        # (1 over the two dots of 冫 in each row of 1次) would add up, row by row, to a rule.
        segments = cv2.connectedComponents(cv2.bitwise_and(reached, cv2.bitwise_not(on_network)), connectivity=8)[1]
        on_dot = dot_labels > 0
        pairs = np.unique(segments[on_dot].astype(np.int64) * n + dot_labels[on_dot])  # one per (segment, dot)
        per_segment = np.bincount(pairs // n, minlength=int(segments.max()) + 1)
        counted = np.zeros(m, dtype=bool)
        counted[run_labels[(segments > 0) & (per_segment[segments] >= MIN_DOTS)]] = True
        touches = np.zeros(m, dtype=bool)
        touches[run_labels[on_network > 0]] = True  # runs with a pixel on a solid ruling
        keep = counted & touches
        keep[0] = False
        rule[box] = np.where(keep[run_labels], 255, 0).astype(np.uint8)
    return out[0], out[1]


def page_components(mask: np.ndarray, connectivity: int = 8) -> tuple[int, np.ndarray, np.ndarray]:
    """``cv2.connectedComponentsWithStats(mask)``'s count, labels and stats, labelling only where ``mask`` has pixels.

    Labelling a 300-dpi page costs about 50 ms whether it holds one ruling or
    none, and a scanned page's ruling masks are mostly empty (a notice has no
    rulings at all). So only the bounding box of the mask's pixels is labelled,
    its corner moved to even coordinates: OpenCV labels 2×2 blocks, and with
    the blocks where they were the components are numbered in the same order.
    Labels and stats are those of the whole page.
    """
    height, width = mask.shape
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0:
        return 1, np.zeros(mask.shape, np.int32), np.array([[0, 0, width, height, height * width]], np.int32)
    x0, y0 = x & ~1, y & ~1
    x1, y1 = x + w, y + h
    if (x1 - x0) * (y1 - y0) > 0.5 * height * width:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=connectivity)
        return n, labels, stats
    n, crop, stats, _ = cv2.connectedComponentsWithStats(np.ascontiguousarray(mask[y0:y1, x0:x1]), connectivity=connectivity)
    labels = np.zeros(mask.shape, np.int32)
    labels[y0:y1, x0:x1] = crop
    stats[1:, cv2.CC_STAT_LEFT] += x0
    stats[1:, cv2.CC_STAT_TOP] += y0
    # The background's row: the box of the page's paper and its area, as OpenCV gives it.
    bx, by, bw, bh = cv2.boundingRect(cv2.compare(mask, 0, cv2.CMP_EQ))
    stats[0] = (bx, by, bw, bh, height * width - cv2.countNonZero(mask))
    return n, labels, stats


def _network(ink: np.ndarray, min_size: int, components: tuple[int, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Ink components at least ``min_size`` pixels both wide and tall (``components`` as for ``_dotted_rules``)."""
    n, labels, stats = components or cv2.connectedComponentsWithStats(ink, connectivity=8)[:3]
    keep = np.zeros(n, dtype=np.uint8)
    big = (stats[:, cv2.CC_STAT_WIDTH] >= min_size) & (stats[:, cv2.CC_STAT_HEIGHT] >= min_size)
    keep[big] = 255
    keep[0] = 0
    return keep[labels]


def mask_edges(mask: np.ndarray, orientation: str, dpi: float) -> list[Edge]:
    """One ``Edge`` (PDF points, deskewed frame) per thin component of ``mask``."""
    scale = 72.0 / dpi
    max_thickness = max(3, MAX_RULE_INCHES * dpi)
    reach = 2.0  # points: scanned rulings stop a little short of the lines they meet
    n, labels, stats = page_components(mask)
    edges = []
    for i in range(1, n):
        x, y, w, h, _ = (int(v) for v in stats[i])
        if orientation == "h":
            if h > max_thickness:
                continue  # a filled bar, not a line
            yc = (y + _line_centre((labels[y : y + h, x : x + w] == i).sum(axis=1))) * scale
            edges.append(Edge("h", x * scale - reach, yc, (x + w) * scale + reach, yc))
        else:
            if w > max_thickness:
                continue
            xc = (x + _line_centre((labels[y : y + h, x : x + w] == i).sum(axis=0))) * scale
            edges.append(Edge("v", xc, y * scale - reach, xc, (y + h) * scale + reach))
    return edges


def _line_centre(counts: np.ndarray) -> float:
    """Where a line lies across itself (pixels from its box's side): the median of its pixels.

    Not its box's middle: a short spur a line picked up (a glyph stroke or a
    step's blur running off it for a few pixels) moves the box's side by its
    whole length, while most of the line's pixels stay where the line is. A
    boundary placed inside a cell by a spur cuts the top of a mark that sits
    close to it.
    """
    cumulative = np.cumsum(counts)
    row = int(np.searchsorted(cumulative, cumulative[-1] / 2.0))
    return row + 0.5


def shade_edges(gray: np.ndarray, dpi: float) -> list[Edge]:
    """The sides of shaded rectangles, which delimit cells as rulings do.

    Header cells are often shaded and separated by thin *paper* gaps instead
    of dark lines (as the text path uses filled rectangles' sides). Shade and
    ink together form solid blocks; an opening wider than any ruling or
    stroke keeps only those blocks, and each block that is a rectangle gives
    its four sides.
    """
    # Averaged first: scanner noise on light shading would fray the blocks.
    k = max(3, int(round(0.03 * dpi)) | 1)
    smooth = cv2.blur(gray, (k, k))
    paper = _paper_level(smooth)
    dark = (smooth < paper - SHADE_DELTA).astype(np.uint8) * 255
    size = max(5, int(round(MIN_SHADE_INCHES * dpi / 2)))
    blocks = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    # Shading proper: pixels between ink and paper, after only light denoising.
    light = cv2.GaussianBlur(gray, (0, 0), dpi / DENOISE_DPI)
    otsu, _ = cv2.threshold(light, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    shaded = (light >= otsu) & (light < paper - SHADE_DELTA)
    n, _, stats = page_components(blocks, connectivity=4)
    scale = 72.0 / dpi
    min_side = MIN_SHADE_INCHES * dpi
    page_area = gray.shape[0] * gray.shape[1]
    edges: list[Edge] = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if w < min_side or h < min_side or area > 0.5 * page_area:
            continue
        if area < MIN_SHADE_RECTANGULARITY * w * h:
            continue  # discs, pictures, text blobs: not a cell
        if shaded[y : y + h, x : x + w].mean() < MIN_SHADE_SHARE:
            continue  # dense dark text on paper, darkened by averaging: not shading
        x0, y0, x1, y1 = x * scale, y * scale, (x + w) * scale, (y + h) * scale
        edges += [Edge("h", x0, y0, x1, y0), Edge("h", x0, y1, x1, y1), Edge("v", x0, y0, x0, y1), Edge("v", x1, y0, x1, y1)]
    return edges


def _paper_level(gray: np.ndarray) -> int:
    """The commonest light gray level: the paper."""
    hist = np.bincount(gray.ravel(), minlength=256)
    hist[:128] = 0
    return int(hist.argmax())


def _to_page(bbox: BBox, to_page: np.ndarray, dpi: float) -> BBox:
    """A deskewed box (points) as the axis-aligned box it covers on the page (points)."""
    px = dpi / 72.0
    x0, y0, x1, y1 = (v * px for v in bbox)
    corners = np.array([[x0, y0, 1.0], [x1, y0, 1.0], [x0, y1, 1.0], [x1, y1, 1.0]])
    mapped = corners @ to_page.T / px
    return (
        float(mapped[:, 0].min()),
        float(mapped[:, 1].min()),
        float(mapped[:, 0].max()),
        float(mapped[:, 1].max()),
    )


def _as_gray(image: np.ndarray | PngRaster) -> np.ndarray:
    if isinstance(image, PngRaster):
        image = image.decode()
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image.astype(np.uint8, copy=False)


# ---------------------------------------------------------------- cells


def _split_merged_marks(grid: Grid, content: np.ndarray, dpi: float) -> Grid:
    """Cells that span rows only because a faint rule was lost in the scan.

    A hairline grey rule between shaded rows can vanish at low resolution, and
    two cells become one holding two marks (read as text). When cutting such a
    cell along the grid's own row and column lines gives pieces that each hold
    one whole mark or nothing, the rule was there: the pieces are the cells. A
    truly merged cell holds text or one mark across the line, which no cut
    leaves whole. A dashed rule between two marks can be lost the same way
    between columns; there each piece's mark must also sit at its piece's
    centre, as marks do and a spanning header's glyphs (which at low
    resolution can each look like a blob) do not.
    """
    inset = max(2, int(round(CELL_INSET_INCHES * dpi)))
    out: list[Cell] = []
    for cell in grid.cells:
        if cell.row_span == 1 and cell.col_span == 1:
            out.append(cell)
            continue
        pieces = [
            Cell(r, c, 1, 1, (grid.col_bounds[c], grid.row_bounds[r], grid.col_bounds[c + 1], grid.row_bounds[r + 1]))
            for r in range(cell.row, cell.row + cell.row_span)
            for c in range(cell.col, cell.col + cell.col_span)
        ]
        kinds = []
        for piece in pieces:
            x0, y0, x1, y1 = _pixel_box(piece.bbox, dpi, inset, content.shape)
            if x1 - x0 < 3 or y1 - y0 < 3:
                kinds.append("empty")
                continue
            ink = strip_border_remnants(content[y0:y1, x0:x1])
            reading = classify_cell(ink, speck_px=SPECK_INCHES * dpi, min_mark_px=MIN_MARK_INCHES * dpi)
            whole = reading.kind == "mark" and reading.confidence >= LOW_CONFIDENCE
            if whole and cell.col_span > 1 and not _centred(ink):
                whole = False
            kinds.append("mark" if whole else "text" if reading.kind == "mark" else reading.kind)
        if all(k in ("mark", "empty") for k in kinds) and "mark" in kinds:
            out.extend(pieces)
        else:
            out.append(cell)
    return replace(grid, cells=tuple(sorted(out, key=lambda c: (c.row, c.col))))


def _centred(ink: np.ndarray) -> bool:
    """The largest ink blob's centre lies near the crop's centre, across and down."""
    n, _, stats, _ = cv2.connectedComponentsWithStats((ink > 0).astype(np.uint8), connectivity=8)
    if n < 2:
        return False
    x, y, w, h, _ = (int(v) for v in stats[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))])
    height, width = ink.shape[:2]
    return abs(x + w / 2 - width / 2) <= MARK_OFFCENTRE * width and abs(y + h / 2 - height / 2) <= MARK_OFFCENTRE * height


def _classify(ink: np.ndarray, dpi: float) -> PixelReading:
    """The cell's reading; a ring the cell's rule cut open is read closed.

    Closing is tried only when the ink as it is reads as no sure mark, and
    kept only when it makes a ring: joining strokes of text along the crop's
    edge must not make a dash or a disc of them. A ring cut at both rules is
    flattened, so its confidence is low and it is listed for review.
    """
    reading = classify_cell(ink, speck_px=SPECK_INCHES * dpi, min_mark_px=MIN_MARK_INCHES * dpi)
    if reading.kind == "mark" and reading.confidence >= LOW_CONFIDENCE:
        return reading
    closed = classify_cell(_closed_at_rules(ink, dpi), speck_px=SPECK_INCHES * dpi, min_mark_px=MIN_MARK_INCHES * dpi)
    if closed.kind == "mark" and closed.mark in (RING, DOUBLE) and closed.confidence >= MIN_CLOSED_RING_CONFIDENCE:
        return closed  # below LOW_CONFIDENCE it is flagged for review like any unsure mark
    return reading


def _closed_at_rules(ink: np.ndarray, dpi: float) -> np.ndarray:
    """A mark cut open where it crossed the cell's rule, closed again along the crop's edge.

    A ring that touches or crosses a ruling loses the pixels it shares with
    the rule (they are the rule's), so it reaches the crop's edge as two
    loose arcs and would read as strokes. Ink that comes within a rule's
    fringe of one edge over no more than a mark's width (the cell's shorter
    side) is joined along that edge, as the rule joined it on paper; a line of
    text meeting the edge over its whole width is left as it is.
    """
    h, w = ink.shape[:2]
    depth = max(2, int(round(CELL_INSET_INCHES * dpi)))
    if h < 3 * depth or w < 3 * depth:
        return ink
    span = 1.2 * min(h, w)
    out = ink.copy()
    for view in (out, out[::-1], out.T, out.T[::-1]):
        hits = np.nonzero(ink_band := (view[:depth] > 0).any(axis=0))[0]
        if hits.size < 2 or hits[-1] - hits[0] >= span or ink_band[hits[0] : hits[-1] + 1].all():
            continue
        view[depth - 1, hits[0] : hits[-1] + 1] = 255
    return out


def _read_cells(
    grids: list[tuple[Cell, ...]], gray: np.ndarray, content: np.ndarray, dpi: float, cache_dir: Path | None,
    read_text: bool = True, page_words: list[OcrWord] | None = None,
) -> list[list[Cell]]:
    """Marks from pixels; the text cells of every grid on the page OCR'd together, in one call."""
    out: list[list[Cell]] = []
    text_cells: list[tuple[int, int, tuple[int, int, int, int], np.ndarray]] = []
    inset = max(2, int(round(CELL_INSET_INCHES * dpi)))
    for g, cells in enumerate(grids):
        read: list[Cell] = []
        for cell in cells:
            x0, y0, x1, y1 = _pixel_box(cell.bbox, dpi, inset, content.shape)
            if x1 - x0 < 3 or y1 - y0 < 3:
                read.append(replace(cell, text="", confidence=1.0))
                continue
            ink = strip_border_remnants(content[y0:y1, x0:x1])
            reading = _classify(ink, dpi)
            reading = refine_round(gray[y0:y1, x0:x1], ink, reading)
            if reading.kind == "mark":
                note = f"low confidence: {reading.detail}" if reading.confidence < LOW_CONFIDENCE else None
                cell = replace(cell, text="", mark=reading.mark, mark_source="pixels", confidence=reading.confidence, note=note)
            elif reading.kind == "text":
                text_cells.append((g, len(read), (x0, y0, x1, y1), text_image(gray[y0:y1, x0:x1], ink, dpi)))
            else:
                note = f"low confidence: {reading.detail}" if reading.confidence < LOW_CONFIDENCE else None
                cell = replace(cell, text="", mark=None, confidence=reading.confidence, note=note)
            read.append(cell)
        out.append(read)
    if not read_text:
        for g, i, _, _ in text_cells:
            out[g][i] = replace(out[g][i], text="", mark=None, note="text not read (OCR off)")
        return out
    readings = ocr_cells(gray.shape, [(box, image) for _, _, box, image in text_cells], cache_dir, page_words)
    for (g, i, _, _), (text, confidence) in zip(text_cells, readings):
        note = f"low confidence: ocr {confidence:.2f}" if confidence < LOW_OCR_CONFIDENCE else None
        out[g][i] = replace(out[g][i], text=text, mark=None, confidence=confidence, note=note)
    return out


def text_image(gray: np.ndarray, ink: np.ndarray, dpi: float) -> np.ndarray:
    """The cell's text as dark gray on white, shading flattened, all else blank.

    Dividing by the local background (a median wider than any stroke) turns
    shaded and unevenly lit paper white while keeping the glyphs' edges.
    """
    size = max(3, int(round(0.1 * dpi)) | 1)
    background = cv2.medianBlur(gray, size).astype(np.float32)
    flat = np.clip(gray.astype(np.float32) / np.maximum(background, 1.0) * 255.0, 0, 255).astype(np.uint8)
    near_text = cv2.dilate(_without_stray_specks(ink, dpi), np.ones((5, 5), np.uint8)) > 0
    return np.where(near_text, flat, 255).astype(np.uint8)


def _without_stray_specks(ink: np.ndarray, dpi: float) -> np.ndarray:
    """Ink without dust lying apart from the text (OCR reads it as . ・ | ').

    Small marks that belong to glyphs (dakuten, the dot of ・ inside a line)
    sit close to other strokes and are kept.
    """
    speck = SPECK_INCHES * dpi
    n, labels, stats, _ = cv2.connectedComponentsWithStats((ink > 0).astype(np.uint8), connectivity=8)
    small = np.zeros(n, dtype=bool)
    small[1:] = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]) < speck
    if not small.any():
        return ink
    big = ((labels > 0) & ~small[labels]).astype(np.uint8)
    reach = max(3, int(round(STRAY_INCHES * dpi)))
    near_big = cv2.dilate(big, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))) > 0
    keep = np.ones(n, dtype=bool)
    for i in np.nonzero(small)[0]:
        keep[i] = bool(near_big[labels == i].any())
    keep[0] = False
    return np.where(keep[labels], ink, 0).astype(np.uint8)


def _pixel_box(bbox: BBox, dpi: float, inset: int, limit: tuple[int, ...]) -> tuple[int, int, int, int]:
    px = dpi / 72.0
    x0 = max(0, int(round(bbox[0] * px)) + inset)
    y0 = max(0, int(round(bbox[1] * px)) + inset)
    x1 = min(limit[1], int(round(bbox[2] * px)) - inset)
    y1 = min(limit[0], int(round(bbox[3] * px)) - inset)
    return x0, y0, x1, y1
