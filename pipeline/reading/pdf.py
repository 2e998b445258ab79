"""Open a PDF safely and parse its pages into ``ParsedPage`` records.

PyMuPDF does the parsing because it is an order of magnitude faster than
pdfminer on these documents; the table geometry that follows reuses
pdfplumber's algorithms on the edges collected here (extractors.grids.grid).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pymupdf

from pipeline.model.errors import ParseError
from pipeline.model.limits import DEFAULT_LIMITS, Limits
from pipeline.reading.sandbox import is_native_oom, report_progress
from pipeline.model.records import BBox, Char, Edge, ParsedPage, Shape
from pipeline.reading.info import DocumentInfo
from pipeline.reading.sanitize import UNSAFE, TextFix, sanitize, sanitize_metadata

# A drawn rectangle thinner than this (points) is a ruling line, not an area.
RULE_THICKNESS = 2.0
# Shapes larger than this (points, either side) are panels or backgrounds, not marks.
MAX_MARK_SHAPE = 40.0
# A filled bar thinner than a ruling and at most this long (points) may also be a drawn —.
MAX_DASH_SHAPE = 20.0
# Scans are rendered at this resolution for grid finding and OCR.
DEFAULT_SCAN_DPI = 300
# An image-only page is rendered for OCR and mark reading at DEFAULT_SCAN_DPI,
# unless that raster would exceed this many pixels (an A3 scan at 300 dpi is
# 17 Mpx; a poster or a damaged MediaBox can ask for gigapixels, and the grid
# reader holds ~10 copies of the raster). Then the dpi is lowered, and a page
# that would need less than MIN_SCAN_DPI is refused: nothing is readable there.
MAX_RENDER_PIXELS = 40_000_000
MIN_SCAN_DPI = 72
# PDF readers accept the header in the first KiB and %%EOF in the last KiB.
_SNIFF = 1024

pymupdf.TOOLS.mupdf_display_errors(False)  # we report problems ourselves, per document
pymupdf.TOOLS.mupdf_display_warnings(False)
# Glyph boxes without MuPDF's quad corrections, as every golden holds them: pymupdf 2 installs
# pymupdf4llm, which switched them off when imported, and it is no longer imported (pipeline/__init__).
pymupdf.TOOLS.unset_quad_corrections(True)


def open_document(path: Path, source: str, limits: Limits = DEFAULT_LIMITS) -> pymupdf.Document:
    """Open ``path`` as a PDF or raise ``ParseError`` naming ``source`` and the reason.

    Decisions about damaged files (see docs/faults.md):
    - not a PDF, empty, one byte, over ``limits.max_file_bytes``: refused;
    - truncated (no ``%%EOF`` in the last KiB): refused, because MuPDF would
      "repair" it and silently lose the pages or text past the cut;
    - corrupt xref but complete: MuPDF rebuilds the xref by scanning objects;
      accepted, and ``document_warnings`` says so;
    - encrypted with a user password: refused (nothing can be read);
      encrypted with an owner password only: opened (reading is allowed,
      only editing/copying are restricted), with a warning;
    - no pages, or more than ``limits.max_pages``: refused.
    Bombs (huge decompressed streams, deep nesting) are not detectable here;
    the parse sandbox's memory and time budgets stop them.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(_SNIFF)
            fh.seek(max(0, size - _SNIFF))
            tail = fh.read()
    except OSError as exc:
        raise ParseError(source, f"cannot read file: {exc.strerror or exc}") from exc
    if size > limits.max_file_bytes:
        raise ParseError(source, f"size {size / 2**20:.1f} MB exceeds cap {limits.max_file_bytes / 2**20:.1f} MB")
    if size == 0:
        raise ParseError(source, "file is empty (0 bytes)")
    if b"%PDF-" not in head:
        raise ParseError(source, f"not a PDF (starts with {head[:16]!r})")
    if b"%%EOF" not in tail:
        raise ParseError(source, f"truncated PDF: no %%EOF in the last {_SNIFF} bytes of {size}")
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises several unrelated types for broken files
        raise ParseError(source, f"cannot open PDF: {exc}") from exc
    try:
        if doc.needs_pass:
            raise ParseError(source, "encrypted PDF needs a user password to open")
        count = doc.page_count
        if count == 0:
            raise ParseError(source, "PDF has no pages")
        if count > limits.max_pages:
            raise ParseError(source, f"{count} pages exceeds cap {limits.max_pages}")
    except ParseError:
        doc.close()
        raise
    except Exception as exc:  # a page tree so broken that counting fails
        doc.close()
        raise ParseError(source, f"cannot read page tree: {exc}") from exc
    return doc


def document_warnings(doc: pymupdf.Document) -> tuple[str, ...]:
    """Things a reviewer should know about a file that was nevertheless read."""
    warnings: list[str] = []
    if getattr(doc, "is_repaired", False):
        warnings.append("damaged cross-reference table; MuPDF rebuilt it by scanning the file")
    encryption = (doc.metadata or {}).get("encryption")
    if encryption:
        warnings.append(f"encrypted with an owner password only ({encryption}); read without a password")
    return tuple(warnings)


def document_info(doc: pymupdf.Document, source: str | None = None, needs_ocr: bool | None = None) -> DocumentInfo:
    """``needs_ocr``: whether a page has no text, when the caller has parsed the pages already
    (else each page's text is read here)."""
    meta = doc.metadata or {}
    if needs_ocr is None:
        needs_ocr = False
        for index in range(doc.page_count):
            report_progress(index + 1)  # reading text can hang on a hostile page too
            with _page_errors(doc, index, source):
                if not _page_has_text(doc[index]):
                    needs_ocr = True
                    break
    fixes: list[TextFix] = []
    return DocumentInfo(
        pages=doc.page_count,
        producer=sanitize_metadata(meta.get("producer") or "", "producer", fixes),
        creator=sanitize_metadata(meta.get("creator") or "", "creator", fixes),
        title=sanitize_metadata(meta.get("title") or "", "title", fixes),
        needs_ocr=needs_ocr,
        warnings=document_warnings(doc),
        fixes=tuple(fixes),
    )


def iter_pages(
    doc: pymupdf.Document,
    doc_id: str,
    sha256: str,
    scan_dpi: int = DEFAULT_SCAN_DPI,
    source: str | None = None,
) -> Iterator[ParsedPage]:
    """Parse every page of ``doc``; image-only pages also carry a rendering.

    Each page is announced to the parse sandbox *before* it is parsed, so a
    page that hangs the parser is the one named when its time budget runs out.
    A page MuPDF cannot read raises ``ParseError`` naming ``source`` and the page.
    """
    for index in range(doc.page_count):
        report_progress(index + 1)
        with _page_errors(doc, index, source):
            parsed = parse_page(doc[index], doc_id, sha256, scan_dpi)
        yield parsed


@contextmanager
def _page_errors(doc: pymupdf.Document, index: int, source: str | None) -> Iterator[None]:
    """Turn MuPDF's exceptions on a damaged page (FzErrorFormat, ValueError, ...) into ParseError.

    Found by scripts/fuzz_pdf.py: a damaged page tree opens fine and fails only
    when a page is loaded. MemoryError is left alone for the sandbox to report.
    """
    try:
        yield
    except (ParseError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 — MuPDF raises many unrelated types
        if is_native_oom(exc):  # a failed malloc is the memory budget, not a damaged page
            raise MemoryError(f"page {index + 1}: {exc}") from exc
        raise ParseError(source or doc.name or "<memory>", f"page {index + 1}: {type(exc).__name__}: {exc}") from exc


def parse_page(page: pymupdf.Page, doc_id: str, sha256: str, scan_dpi: int = DEFAULT_SCAN_DPI) -> ParsedPage:
    fixes: list[TextFix] = []
    chars = tuple(_chars(page, fixes))
    edges, shapes = _drawings(page, chars)
    image = None
    dpi = 0
    # A page with no text, or with a text layer that may not say what the page shows, is
    # rendered: pipeline.reading.textlayer OCRs it and decides which text to keep.
    if not any(not c.text.isspace() for c in chars) or text_layer_suspect(page, chars):
        dpi = fitting_dpi(page.rect.width, page.rect.height, scan_dpi)
        if dpi < MIN_SCAN_DPI:
            raise ParseError(
                page.parent.name or "<memory>",
                f"page {page.number + 1}: {page.rect.width:.0f}×{page.rect.height:.0f} pt is too large to render for OCR "
                f"({dpi} dpi would fit {MAX_RENDER_PIXELS // 1_000_000} Mpx)",
            )
        image = render_gray(page, dpi)
    return ParsedPage(
        doc_id=doc_id,
        source_sha256=sha256,
        page_number=page.number + 1,
        width=page.rect.width,
        height=page.rect.height,
        chars=chars,
        edges=tuple(edges),
        shapes=tuple(shapes),
        image=image,
        image_dpi=dpi,
        text_fixes=tuple(fixes),
    )


# A text layer is suspect when this share of its glyphs is unmapped (U+FFFD, pdfminer's
# "(cid:N)") or is kanji/kana drawn narrower than NARROW_EM: CJK glyphs are full-width (an em,
# a little less in proportional fonts), Latin letters half that, so a layer claiming kanji where
# a Latin font draws letters shows in the glyph boxes, embedded font or not.
SUSPECT_SHARE = 0.3
SUSPECT_MIN_CHARS = 4
NARROW_EM = 0.7
_CID = re.compile(r"\(cid:\d+\)")


def text_layer_suspect(page: pymupdf.Page, chars: tuple[Char, ...]) -> str | None:
    """Why the text layer of ``page`` may not be what the page shows (None: no reason to doubt it)."""
    glyphs = [c for c in chars if not c.text.isspace()]
    if len(glyphs) < SUSPECT_MIN_CHARS:
        return None
    text = "".join(c.text for c in glyphs)
    unmapped = unmapped_count(text)
    if unmapped >= SUSPECT_SHARE * len(text):
        return f"{unmapped} of {len(text)} characters unmapped"
    narrow = [c for c in glyphs if is_cjk(c.text) and c.size > 0 and (c.bbox[2] - c.bbox[0]) < NARROW_EM * c.size]
    if len(narrow) >= SUSPECT_MIN_CHARS and len(narrow) >= SUSPECT_SHARE * len(glyphs):
        return f"{len(narrow)} kanji/kana drawn narrower than {NARROW_EM} em"
    return None


def unmapped_count(text: str) -> int:
    """Characters of ``text`` that stand for glyphs without a Unicode value (U+FFFD, "(cid:N)")."""
    return text.count("\ufffd") + sum(len(m) for m in _CID.findall(text))


def is_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def fitting_dpi(width_pt: float, height_pt: float, dpi: int) -> int:
    """``dpi``, lowered so that a page of this size renders to at most MAX_RENDER_PIXELS."""
    pixels = (width_pt / 72 * dpi) * (height_pt / 72 * dpi)
    if pixels <= MAX_RENDER_PIXELS:
        return dpi
    return int(dpi * math.sqrt(MAX_RENDER_PIXELS / pixels))


def render_gray(page: pymupdf.Page, dpi: int, clip: BBox | None = None) -> np.ndarray:
    """Render ``page`` (or the ``clip`` box of it) to a grayscale uint8 array."""
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, clip=pymupdf.Rect(clip) if clip else None)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width).copy()


def _page_has_text(page: pymupdf.Page) -> bool:
    return bool(page.get_text("text").strip())


def _chars(page: pymupdf.Page, fixes: list[TextFix]) -> Iterator[Char]:
    """The page's glyphs; control, bidi and zero-width characters dropped and lone surrogates replaced (``fixes`` says which)."""
    raw = page.get_text("rawdict", flags=pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP)
    number = page.number + 1
    for block in raw.get("blocks", []):
        for line in block.get("lines", []):
            for span in line.get("spans", []):
                font = sanitize(span["font"], number, "font", [])
                size = span["size"]
                glyphs = span.get("chars", [])
                # One search per span: almost every span is clean, and then no glyph needs its own.
                if not UNSAFE.search("".join(ch["c"] for ch in glyphs)):
                    for ch in glyphs:
                        if ch["c"]:
                            yield Char(text=ch["c"], bbox=tuple(ch["bbox"]), size=size, font=font)
                    continue
                for ch in glyphs:
                    text = sanitize(ch["c"], number, "text_layer", fixes)
                    if text:
                        yield Char(text=text, bbox=tuple(ch["bbox"]), size=size, font=font)


def _drawings(page: pymupdf.Page, chars: tuple[Char, ...] = ()) -> tuple[list[Edge], list[Shape]]:
    """Split vector drawings into ruling edges and candidate mark shapes."""
    edges: list[Edge] = []
    shapes: list[Shape] = []
    behind_text = _GlyphBoxes(chars)
    page_area = page.rect.width * page.rect.height
    for path in page.get_drawings():
        kinds = {item[0] for item in path["items"]}
        rect = path["rect"]
        if rect.width * rect.height > 0.5 * page_area:
            continue  # a page background or frame, not part of any table
        filled = path.get("fill") is not None
        stroked = path.get("color") is not None and "s" in (path.get("type") or "")
        if "c" in kinds or "qu" in kinds:
            if rect.width < RULE_THICKNESS and rect.height < RULE_THICKNESS:
                edges.extend(_dot_edges(rect))  # a round dot of a dotted rule
                continue
            if rect.width <= MAX_MARK_SHAPE and rect.height <= MAX_MARK_SHAPE:
                shapes.append(
                    Shape(
                        bbox=(rect.x0, rect.y0, rect.x1, rect.y1),
                        kind="curve" if "c" in kinds else "poly",
                        filled=filled,
                        stroked=stroked,
                        fill_gray=_gray(path.get("fill")),
                    )
                )
            continue
        if kinds == {"l"} and max(rect.width, rect.height) <= MAX_MARK_SHAPE and _has_diagonal(path["items"]):
            shapes.append(_line_shape(path, filled, stroked))
            continue
        for item in path["items"]:
            if item[0] == "re":
                if filled and not stroked and behind_text.covers(item[1]):
                    continue  # a highlight behind glyphs (shading set per glyph), not a cell or a mark
                edges.extend(_rect_edges(item[1], stroked, path))
                r = item[1]
                if (RULE_THICKNESS < r.width <= MAX_MARK_SHAPE and RULE_THICKNESS < r.height <= MAX_MARK_SHAPE) or (
                    filled and r.height < RULE_THICKNESS and 2 * RULE_THICKNESS <= r.width <= MAX_DASH_SHAPE
                ):
                    # A short flat bar is both: a piece of a ruling, or a drawn — in a cell.
                    shapes.append(
                        Shape((r.x0, r.y0, r.x1, r.y1), "rect", filled, stroked, _gray(path.get("fill")))
                    )
            elif item[0] == "l":
                p1, p2 = item[1], item[2]
                if abs(p1.y - p2.y) <= 1.0:
                    edges.append(Edge("h", min(p1.x, p2.x), p1.y, max(p1.x, p2.x), p1.y))
                elif abs(p1.x - p2.x) <= 1.0:
                    edges.append(Edge("v", p1.x, min(p1.y, p2.y), p1.x, max(p1.y, p2.y)))
    return edges, shapes


class _GlyphBoxes:
    """The page's glyph boxes, to tell a fill laid behind text from a shaded cell.

    A producer that shades text glyph by glyph draws one rectangle per glyph box;
    a shaded cell is larger than its text by the cell's padding.
    """

    def __init__(self, chars: tuple[Char, ...]) -> None:
        self.boxes = sorted((c.bbox for c in chars), key=lambda b: b[1])
        self.tops = [b[1] for b in self.boxes]
        self.tallest = max((b[3] - b[1] for b in self.boxes), default=0.0)

    def covers(self, r: pymupdf.Rect, slack: float = 0.5) -> bool:
        """Whether ``r`` lies within the union box of the glyphs it overlaps: exactly across
        (the glyphs' advances), within a fifth of their height up and down (line box against
        glyph box)."""
        if not self.boxes or r.height > 1.2 * self.tallest + slack:
            return False
        start = bisect_left(self.tops, r.y0 - self.tallest)
        stop = bisect_right(self.tops, r.y1)
        hits = [b for b in self.boxes[start:stop] if b[0] < r.x1 and b[2] > r.x0 and b[1] < r.y1 and b[3] > r.y0]
        if not hits:
            return False
        top, bottom = min(b[1] for b in hits), max(b[3] for b in hits)
        play = slack + 0.2 * (bottom - top)
        return (
            r.x0 >= min(b[0] for b in hits) - slack
            and r.x1 <= max(b[2] for b in hits) + slack
            and r.y0 >= top - play
            and r.y1 <= bottom + play
        )


def _rect_edges(r: pymupdf.Rect, stroked: bool, path: dict) -> list[Edge]:
    if r.height < RULE_THICKNESS and r.width >= RULE_THICKNESS:
        y = (r.y0 + r.y1) / 2
        return [Edge("h", r.x0, y, r.x1, y)]
    if r.width < RULE_THICKNESS and r.height >= RULE_THICKNESS:
        x = (r.x0 + r.x1) / 2
        return [Edge("v", x, r.y0, x, r.y1)]
    if r.width < RULE_THICKNESS and r.height < RULE_THICKNESS:
        return _dot_edges(r)
    # A filled area's sides also delimit cells (shaded header cells have no border line).
    return [
        Edge("h", r.x0, r.y0, r.x1, r.y0),
        Edge("h", r.x0, r.y1, r.x1, r.y1),
        Edge("v", r.x0, r.y0, r.x0, r.y1),
        Edge("v", r.x1, r.y0, r.x1, r.y1),
    ]


def _has_diagonal(items: list) -> bool:
    return any(abs(p1.x - p2.x) > 1.0 and abs(p1.y - p2.y) > 1.0 for _, p1, p2 in items)


def _line_shape(path: dict, filled: bool, stroked: bool) -> Shape:
    """Straight strokes drawn as one small path (△ × ✓), with their segments."""
    segments = [(p1.x, p1.y, p2.x, p2.y) for _, p1, p2 in path["items"]]
    first, last = segments[0][:2], segments[-1][2:]
    if path.get("closePath") and math.dist(first, last) > 0.5:
        segments.append((*last, *first))
    unique: list[tuple[float, float, float, float]] = []
    for seg in segments:  # MuPDF reports some strokes twice, once reversed
        if not any(math.dist(seg[:2], u[2:]) + math.dist(seg[2:], u[:2]) < 0.5 or math.dist(seg[:2], u[:2]) + math.dist(seg[2:], u[2:]) < 0.5 for u in unique):
            unique.append(seg)
    segments = unique
    r = path["rect"]
    return Shape((r.x0, r.y0, r.x1, r.y1), "lines", filled, stroked, _gray(path.get("fill")),
                 tuple(tuple(round(v, 2) for v in s) for s in segments))


def _dot_edges(r: pymupdf.Rect) -> list[Edge]:
    """A dot, as a tiny edge either way: a row of dots is a dotted rule (extractors.grids.grid joins them)."""
    x, y = (r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2
    return [Edge("h", r.x0, y, r.x1, y), Edge("v", x, r.y0, x, r.y1)]


def _gray(color: tuple | None) -> float | None:
    if not color:
        return None
    return float(sum(color) / len(color))
