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


def _suspect_page() -> ParsedPage:
    """A page whose text layer pipeline.reading.pdf found suspect: it carries its rendering too."""
    layer = tuple(Char(ch, (10 + 10 * i, 10, 20 + 10 * i, 20), 10) for i, ch in enumerate("地域居住の推進"))
    return ParsedPage("d", "0" * 64, 1, 200, 100, chars=layer, image=np.full((100, 200), 200, np.uint8), image_dpi=72)


def test_a_trusted_layer_costs_one_ocr_of_where_it_claims_text(monkeypatch):
    import pipeline.reading.textlayer as textlayer

    read: list[tuple[int, int]] = []

    def fake_ocr(page, cache_dir=None):
        read.append(page.image.shape)
        return tuple(Char(ch, (2 + 10 * i, 2, 12 + 10 * i, 12), 10, font="ocr:0.90") for i, ch in enumerate("地域居住の推進"))

    monkeypatch.setattr(textlayer, "ocr_page_chars", fake_ocr)
    page = _suspect_page()
    kept = with_text_layer(page)
    assert kept.chars == page.chars and kept.image is None
    assert len(read) == 1 and read[0] != page.image.shape  # the crop only, never the whole page


def test_a_contradicted_layer_is_replaced_by_the_longer_reading(monkeypatch):
    import pipeline.reading.textlayer as textlayer

    read: list[tuple[int, int]] = []

    def fake_ocr(page, cache_dir=None):
        read.append(page.image.shape)
        text = "abcdefghijklmnop" if page.image.shape == (100, 200) else "abcdefg"
        return tuple(Char(ch, (2 + 5 * i, 2, 7 + 5 * i, 12), 10, font="ocr:0.90") for i, ch in enumerate(text))

    monkeypatch.setattr(textlayer, "ocr_page_chars", fake_ocr)
    page = _suspect_page()
    replaced = with_text_layer(page)
    assert len(read) == 2 and (100, 200) in read
    assert "".join(c.text for c in replaced.chars) == "abcdefghijklmnop"
    assert replaced.text_fixes[-1].rule == "untrusted_text_layer"
