"""Text of a scanned grid's cells from one OCR of the page: each glyph goes to its cell.

The caller cleans each text cell (shading flattened, rulings, marks and dust
blanked: ``extractors.grids.scan_grid.text_image``). When the page already has an
OCR text layer (pipeline.reading.textlayer reads every image-only page once), its
glyphs are handed to the cells that hold their centres, and a glyph with no
cleaned ink under it (a speck, a ruling's fringe) is dropped. Without one,
the cleaned cells are laid back at their places on one white page and that
page is read once. Either way there is no OCR call per cell, and the engine
sees each line whole, with its neighbours' scale, as on the printed page.

A cell's text may run over several lines (a name wrapped in its cell, a
narrow header: マーケ/ティング). Its lines are where its ink is: rows of ink
between blank rows. Each glyph belongs to the line nearest its centre, so
the lines are read top to bottom even where the engine's padded glyph boxes
of two close lines overlap (read by their boxes alone, 高知県、鳥取/県、佐賀県
interleaved into 県高、知佐県、賀鳥県取). Where the page's reading leaves a line
without a glyph (the engine took two short lines for one and read neither),
the cell's lines are laid side by side as one horizontal line and read once
more; that reading wins when it finds a glyph in every line and reads as
words at least as well as the page's (the dictionary's cost per character).

A header set one character per line (縦書き, or a narrow cell wrapping every
character) is a column the line recogniser reads badly: a lone 一 between
kanji is lost or read as 二. Such cells are cut into their characters, laid
side by side as one horizontal line, and read once more; that reading wins
when it finds a character for every cut. All of a page's cells read again
are read in one call.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.reading.ocr import OcrWord, ocr_words
from pipeline.text.vocabulary import lexicon_cost

PixelBox = tuple[int, int, int, int]  # x0, y0, x1, y1 in the page image's pixels
# A glyph box with less cleaned ink than this share is a speck or a ruling's fringe.
INK_SHARE = 0.02
# Gray levels darker than this are ink when a cell's characters are cut apart.
INK_LEVEL = 128
# Pieces of ink one above the other belong to one character while together at most this many
# character widths tall (二 三 字 are several pieces); a character is at most this tall.
CHAR_HEIGHT = 1.1
MAX_CHAR_HEIGHT = 1.25
# A column of characters is at most this many times as wide as its tallest character.
MAX_COLUMN_WIDTH = 1.5
# Laid out as a line: gap between characters, line height and margin, in character widths.
LINE_GAP = 0.25
LINE_HEIGHT = 1.6
LINE_MARGIN = 0.8
# A line of text is at least this share as tall as its widest glyph is wide; a flatter run of ink
# rows is part of a line.
LINE_ASPECT = 0.6
# A run of ink rows less than this share as tall as the cell's tallest is part of a line.
SHORT_RUN = 0.4
# Glyph boxes cut from one line of the engine's have tops this close (a share of their height).
SAME_LINE_TOP = 0.25
# Lines of a cell laid side by side are this many line heights apart.
LINES_GAP = 1.0


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
    columns = {i: chars for i, (_, image) in enumerate(cells) if (chars := vertical_characters(image)) is not None}
    readings: list[tuple[str, float]] = []
    unread: dict[int, list[tuple[int, int]]] = {}  # cells the page's reading left a line of
    for i, ((box, image), words) in enumerate(zip(cells, per_cell)):
        lines = ink_lines(image) if i not in columns else []
        if len(lines) < 2:
            readings.append(_join(words))
            continue
        by_line = _by_line(words, lines, box[1])
        readings.append(_join_lines(by_line))
        if not all(by_line):
            unread[i] = lines
    if columns:
        for i, pieces in _read_strips({i: _column_strip(cells[i][1], chars) for i, chars in columns.items()}, cache_dir).items():
            text, confidence = _join([w for piece in pieces for w in piece])
            page_text = readings[i][0]
            if text and (len(text) == len(columns[i]) or len(page_text) != len(columns[i])):
                readings[i] = (text, confidence)
    if unread:
        for i, pieces in _read_strips({i: _lines_strip(cells[i][1], lines) for i, lines in unread.items()}, cache_dir).items():
            text, confidence = _join_lines(pieces)
            if all(pieces) and _word_cost(text) <= _word_cost(readings[i][0]):
                readings[i] = (text, confidence)
    return readings


def _word_cost(text: str) -> float:
    """The lexicon's cost per character: low for words, high for a string of unrelated characters.

    Runs of ink that were not lines (halves of one line's glyphs) read side by side come out as such
    a string (青森県 as 重末目月林宗), so a reading again is kept only when it reads as words at
    least as well as the page's; an empty reading costs the most.
    """
    return lexicon_cost(text) / len(text) if text else float("inf")


def ink_lines(image: np.ndarray) -> list[tuple[int, int]]:
    """The rows (top, bottom) of each line of text in a cleaned cell image, top to bottom.

    Runs of ink rows between blank rows are lines, or pieces of one: a run
    flatter than a line (less than LINE_ASPECT of its widest unbroken stretch
    of ink tall: the strokes of 二, or the upper halves of 整備 where both
    glyphs part at the same height) or much shorter than the tallest (a dot,
    a speck the cleaning kept) joins the run nearest it.
    """
    ink = image < INK_LEVEL
    runs = _row_runs(ink)
    while len(runs) > 1:
        tallest = max(b - t for t, b in runs)
        parts = [k for k, (t, b) in enumerate(runs) if b - t < LINE_ASPECT * _widest_stretch(ink[t:b]) or b - t < SHORT_RUN * tallest]
        if not parts:
            break
        k = parts[0]
        above = runs[k][0] - runs[k - 1][1] if k > 0 else np.inf
        below = runs[k + 1][0] - runs[k][1] if k + 1 < len(runs) else np.inf
        j = k - 1 if above <= below else k + 1
        a, b = min(j, k), max(j, k)
        runs[a : b + 1] = [[runs[a][0], runs[b][1]]]
    return [(t, b) for t, b in runs]


def _row_runs(ink: np.ndarray) -> list[list[int]]:
    """[top, bottom) of each run of rows holding ink, top to bottom."""
    runs: list[list[int]] = []
    for r in np.nonzero(ink.any(axis=1))[0]:
        if runs and r == runs[-1][1]:
            runs[-1][1] = r + 1
        else:
            runs.append([int(r), int(r) + 1])
    return runs


def _widest_stretch(band: np.ndarray) -> int:
    """The longest run of columns holding ink in ``band`` (a glyph's width, where glyphs stand apart)."""
    cols = np.concatenate(([0], band.any(axis=0).astype(np.int8), [0]))
    edges = np.diff(cols)
    return int((np.nonzero(edges == -1)[0] - np.nonzero(edges == 1)[0]).max(initial=0))


def _by_line(words: list[OcrWord], lines: list[tuple[int, int]], top: int) -> list[list[OcrWord]]:
    """The cell's glyphs in its lines (rows of the cell's image, which starts at ``top``): each line
    the engine read goes whole to the line nearest its centre, so a skewed line stays in one."""
    out: list[list[OcrWord]] = [[] for _ in lines]
    centres = [top + (t + b) / 2 for t, b in lines]
    for group in _engine_lines(words):
        middle = sum(w.top + w.height / 2 for w in group) / len(group)
        out[min(range(len(lines)), key=lambda k: abs(centres[k] - middle))].extend(group)
    return out


def _engine_lines(words: list[OcrWord]) -> list[list[OcrWord]]:
    """The glyphs grouped by the engine's line they were cut from: the boxes of one line share their
    top, give or take the line's skew from one glyph to the next."""
    groups: list[list[OcrWord]] = []
    for w in sorted(words, key=lambda w: w.top):
        if groups and w.top - groups[-1][-1].top <= SAME_LINE_TOP * w.height:
            groups[-1].append(w)
        else:
            groups.append([w])
    return groups


def vertical_characters(image: np.ndarray) -> list[tuple[int, int]] | None:
    """The rows (top, bottom) of each character when the cell's text is one character per line, else None.

    Ink rows are cut where a blank row separates them; pieces stacked within
    about one character's height are one character (二, 字). The text is a
    column when there are two characters or more, none much taller than wide,
    and the column is about one character wide (as wide as its tallest
    unbroken piece of ink).
    """
    ink = image < INK_LEVEL
    rows = np.nonzero(ink.any(axis=1))[0]
    cols = np.nonzero(ink.any(axis=0))[0]
    if rows.size == 0:
        return None
    width = int(cols[-1] - cols[0] + 1)
    if width < 4:
        return None
    pieces = _row_runs(ink)
    chars: list[list[int]] = []
    for top, bottom in pieces:
        if chars and bottom - chars[-1][0] <= CHAR_HEIGHT * width:
            chars[-1][1] = bottom
        else:
            chars.append([top, bottom])
    # One unbroken piece of ink as tall as the column is wide (部, 体): lines of several characters
    # side by side are cut into pieces much flatter than their width.
    tallest_piece = max(b - t for t, b in pieces)
    tallest = max(b - t for t, b in chars)
    if len(chars) < 2 or tallest > MAX_CHAR_HEIGHT * width or width > MAX_COLUMN_WIDTH * tallest_piece:
        return None
    return [(t, b) for t, b in chars]


def _column_strip(image: np.ndarray, chars: list[tuple[int, int]]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A column of characters laid out as one horizontal line, each as wide as the column."""
    cols = np.nonzero((image < INK_LEVEL).any(axis=0))[0]
    x0, x1 = int(cols[0]), int(cols[-1]) + 1
    em = x1 - x0
    return _side_by_side([image[top:bottom, x0:x1] for top, bottom in chars], em, max(2, int(LINE_GAP * em)))


def _lines_strip(image: np.ndarray, lines: list[tuple[int, int]]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A cell's lines laid side by side as one line, each cut to its ink."""
    pieces = []
    for top, bottom in lines:
        cols = np.nonzero((image[top:bottom] < INK_LEVEL).any(axis=0))[0]
        pieces.append(image[top:bottom, int(cols[0]) : int(cols[-1]) + 1])
    em = max(p.shape[0] for p in pieces)
    return _side_by_side(pieces, em, max(2, int(LINES_GAP * em)))


def _side_by_side(pieces: list[np.ndarray], em: int, gap: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """``pieces`` on one white strip LINE_HEIGHT ems tall, ``gap`` apart, centred; the strip and each piece's columns in it."""
    height = int(LINE_HEIGHT * em)
    strip = np.full((height, sum(p.shape[1] + gap for p in pieces) + gap), 255, np.uint8)
    spans = []
    x = gap
    for piece in pieces:
        y = (height - piece.shape[0]) // 2
        strip[y : y + piece.shape[0], x : x + piece.shape[1]] = piece
        spans.append((x, x + piece.shape[1]))
        x += piece.shape[1] + gap
    return strip, spans


def _read_strips(
    strips: dict[int, tuple[np.ndarray, list[tuple[int, int]]]], cache_dir: Path | None
) -> dict[int, list[list[OcrWord]]]:
    """Every strip on one image, read in one call; each strip's glyphs, by the piece (columns) holding their centre."""
    margin = int(LINE_MARGIN * max(s.shape[0] for s, _ in strips.values()))
    sheet = np.full((sum(s.shape[0] + margin for s, _ in strips.values()) + margin, max(s.shape[1] for s, _ in strips.values()) + 2 * margin), 255, np.uint8)
    rows: dict[int, tuple[int, int]] = {}
    y = margin
    for i, (strip, _) in strips.items():
        sheet[y : y + strip.shape[0], margin : margin + strip.shape[1]] = strip
        rows[i] = (y, y + strip.shape[0])
        y += strip.shape[0] + margin
    out: dict[int, list[list[OcrWord]]] = {i: [[] for _ in spans] for i, (_, spans) in strips.items()}
    for word in ocr_words(sheet, cache_dir=cache_dir):
        middle, centre = word.top + word.height / 2, word.left + word.width / 2 - margin
        for i, (top, bottom) in rows.items():
            if top <= middle < bottom:
                out[i][_nearest_span(strips[i][1], centre)].append(word)
                break
    return out


def _nearest_span(spans: list[tuple[int, int]], x: float) -> int:
    """The index of the span holding ``x``, else of the span nearest it."""
    return min(range(len(spans)), key=lambda k: max(spans[k][0] - x, x - spans[k][1], 0.0))


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
    return _join_lines(lines)


def _join_lines(lines: list[list[OcrWord]]) -> tuple[str, float]:
    """Glyphs of lines given top to bottom, each left to right, no separators; their mean confidence."""
    words = [w for line in lines for w in line]
    if not words:
        return "", 0.0
    text = "".join("".join(x.text for x in sorted(line, key=lambda x: x.left)) for line in lines)
    return "".join(text.split()), round(sum(w.confidence for w in words) / len(words), 3)
