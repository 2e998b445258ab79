"""Give image-only pages a text layer by OCR, before any extractor sees them.

Extractors are pure functions of parsed pages, so OCR (a subprocess, cached
on disk) happens here, in the pipeline: a page with an image and no text
comes back with OCR'd ``Char``s (font "ocr:<confidence>") and the same image,
and goes through the same extractors as a born-digital page. Pages that have
a text layer are returned unchanged, so text documents never pay for OCR.

Tesseract reports words (for Japanese, runs of a few glyphs) whose boxes
hug the ink, so "、" is a tiny box low on the line and a word's height says
little about its font size. The words are therefore split into one Char per
glyph with the page's typical glyph height, which is what the line builder
(extractors.text.layout) expects from a born-digital page.
"""

from __future__ import annotations

import statistics
import unicodedata
from dataclasses import replace
from pathlib import Path

from pipeline.reading.ocr import ocr_page_chars
from pipeline.reading.pdf import SUSPECT_SHARE, is_cjk, unmapped_count
from pipeline.model.records import Char, ParsedPage
from pipeline.reading.sanitize import TextFix

# Words tesseract is less sure of than this are specks and show-through, not text.
MIN_WORD_CONFIDENCE = 0.2
_LOW_MARKS = set("、。，．.,_")
# Specks that tesseract glues to a symbol it is unsure of.
_NOISE = "'\"`‘’“”,.:;_-~^"


def with_text_layer(page: ParsedPage, cache_dir: Path | None = None) -> ParsedPage:
    """``page`` itself when it has a trusted text layer; otherwise a copy whose chars come from OCR.

    A page that has text *and* a rendering is one whose layer pipeline.reading.pdf
    found suspect (unmapped glyphs, kanji drawn as narrow as Latin letters): it is OCRed
    and the two are compared. When the rendered page does not show what the
    layer claims, the OCR text replaces the layer and a ``corrections`` row
    (rule ``untrusted_text_layer``) says so; otherwise the layer stays and the
    rendering is dropped.
    """
    if page.image is None:
        return page
    if not page.has_text:
        return replace(page, chars=glyph_chars(ocr_page_chars(page, cache_dir=cache_dir)))
    # The layer is checked where it claims text: on a large page a short line shrinks below what
    # the detector finds when the whole page is read at once.
    claimed = glyph_chars(_ocr_where_claimed(page, cache_dir))
    verdict = layer_contradicted(page.chars, claimed)
    if verdict is None:
        return replace(page, image=None, image_dpi=0)
    # The whole page is read only for a layer it replaces (a page's OCR takes seconds).
    ocr = glyph_chars(ocr_page_chars(page, cache_dir=cache_dir))
    shown = ocr if len(ocr) >= len(claimed) else claimed
    fix = TextFix(page.page_number, "text_layer", _excerpt(page.chars), _excerpt(shown), "untrusted_text_layer")
    return replace(page, chars=shown, text_fixes=page.text_fixes + (fix,))


def _ocr_where_claimed(page: ParsedPage, cache_dir: Path | None) -> tuple[Char, ...]:
    """OCR of the rendered page cropped to the layer's glyphs (with a margin), in page points."""
    margin = 2 * max((c.size for c in page.chars if c.size), default=12.0)
    scale = page.image_dpi / 72.0
    height, width = page.image.shape[:2]
    left = max(0, int((min(c.bbox[0] for c in page.chars) - margin) * scale))
    top = max(0, int((min(c.bbox[1] for c in page.chars) - margin) * scale))
    right = min(width, int((max(c.bbox[2] for c in page.chars) + margin) * scale) + 1)
    bottom = min(height, int((max(c.bbox[3] for c in page.chars) + margin) * scale) + 1)
    if right - left < 8 or bottom - top < 8:
        return ()
    dx, dy = left / scale, top / scale
    crop = replace(page, image=page.image[top:bottom, left:right])
    return tuple(
        replace(c, bbox=(c.bbox[0] + dx, c.bbox[1] + dy, c.bbox[2] + dx, c.bbox[3] + dy)) for c in ocr_page_chars(crop, cache_dir=cache_dir)
    )


# The layer is contradicted when the page shows less than this share of the kanji/kana it claims.
AGREEMENT = 0.25


def layer_contradicted(layer: tuple[Char, ...], ocr: tuple[Char, ...]) -> str | None:
    """Why the text layer cannot be trusted given what OCR reads on the rendered page (None: it can)."""
    claimed = "".join(c.text for c in layer if not c.text.isspace())
    shown = "".join(c.text for c in ocr if not c.text.isspace())
    if unmapped_count(claimed) >= SUSPECT_SHARE * len(claimed) > 0:
        return "unmapped glyphs"
    if not shown:
        return None  # nothing readable was rendered: no evidence against the layer
    claimed_cjk = sum(is_cjk(ch) for ch in claimed)
    shown_cjk = sum(is_cjk(ch) for ch in shown)
    if claimed_cjk >= 0.5 * len(claimed) and shown_cjk < AGREEMENT * claimed_cjk * len(shown) / max(len(claimed), 1):
        return "the page does not show the kanji/kana the layer claims"
    return None


def _excerpt(chars: tuple[Char, ...], limit: int = 40) -> str:
    text = "".join(c.text for c in chars if not c.text.isspace())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def glyph_chars(words: tuple[Char, ...]) -> tuple[Char, ...]:
    """OCR words → one Char per glyph, boxes normalised to the page's glyph height."""
    kept = [w for w in (_keep(w) for w in words) if w is not None]
    if not kept:
        return ()
    height = statistics.median(w.bbox[3] - w.bbox[1] for w in kept if len(w.text) > 1 or w.text not in _LOW_MARKS) if any(
        len(w.text) > 1 or w.text not in _LOW_MARKS for w in kept
    ) else statistics.median(w.bbox[3] - w.bbox[1] for w in kept)
    out: list[Char] = []
    for w in kept:
        x0, top, x1, bottom = w.bbox
        if bottom - top < 0.7 * height:
            if w.text in _LOW_MARKS:
                top = bottom - height  # punctuation sits on the baseline
            else:
                middle = (top + bottom) / 2  # ー, ・ and the like sit mid-line
                top, bottom = middle - height / 2, middle + height / 2
        step = (x1 - x0) / len(w.text)
        for i, glyph in enumerate(w.text):
            out.append(Char(glyph, (x0 + i * step, top, x0 + (i + 1) * step, bottom), size=height, font=w.font))
    return tuple(out)


def _keep(word: Char) -> Char | None:
    """The word, or None for specks; a lone symbol is kept whatever tesseract's confidence.

    Tesseract gives circled numbers and marks (①, ⑤, ●) a confidence of 0 even
    when it reads them right, and they are exactly the labels items hang on.
    """
    text = word.text.strip()
    if not text:
        return None
    if _confidence(word) >= MIN_WORD_CONFIDENCE:
        return word
    symbol = text.strip(_NOISE)
    if len(symbol) == 1 and not symbol.isascii() and unicodedata.category(symbol) in ("No", "So", "Sm"):
        return replace(word, text=symbol)
    return None


def _confidence(word: Char) -> float:
    try:
        return float(word.font.split(":", 1)[1])
    except (IndexError, ValueError):
        return 1.0
