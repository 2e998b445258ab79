"""OCR words become glyph-sized chars; text pages never go to OCR."""

from __future__ import annotations

import numpy as np

from pipeline.model.records import Char, ParsedPage
from pipeline.reading.textlayer import glyph_chars, with_text_layer


def _word(text: str, box: tuple[float, float, float, float], conf: float) -> Char:
    return Char(text, box, size=box[3] - box[1], font=f"ocr:{conf:.2f}")


def test_words_split_into_glyphs_with_common_height():
    words = (
        _word("地域", (100, 100, 120, 110), 0.95),
        _word("、", (120, 107, 123, 110), 0.90),  # punctuation hugs the baseline
        _word("ー", (123, 104, 133, 106), 0.90),  # a long-vowel bar sits mid-line
        _word("居住", (133, 100, 153, 110), 0.95),
    )
    chars = glyph_chars(words)
    assert [c.text for c in chars] == ["地", "域", "、", "ー", "居", "住"]
    assert [round(c.bbox[0]) for c in chars[:2]] == [100, 110]
    assert all(c.size == 10 for c in chars)
    assert chars[2].bbox[1] == 100 and chars[2].bbox[3] == 110
    assert chars[3].bbox[1] == 100 and chars[3].bbox[3] == 110


def test_specks_dropped_but_zero_confidence_labels_kept():
    words = (
        _word("NN", (10, 10, 30, 20), 0.05),
        _word("'⑤", (80, 100, 92, 110), 0.0),  # tesseract scores circled numbers 0 even when right
        _word("受入", (95, 100, 115, 110), 0.95),
    )
    assert [c.text for c in glyph_chars(words)] == ["⑤", "受", "入"]


def test_text_pages_are_not_ocrd():
    page = ParsedPage("d", "0" * 64, 1, 100, 100, chars=(Char("字", (1, 1, 9, 9), 8),), image=np.zeros((5, 5), np.uint8), image_dpi=72)
    # A page with a text layer carries a rendering only when pipeline.reading.pdf found its layer suspect;
    # a layer the rendering does not contradict stays as it is, and the rendering is dropped.
    kept = with_text_layer(page, cache_dir=None)
    assert kept.chars == page.chars and kept.image is None and not kept.text_fixes
