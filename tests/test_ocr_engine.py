"""PP-OCR through rapidocr: reads Japanese offline, deterministically, cached by content and engine."""

from __future__ import annotations

import json

import numpy as np
import pymupdf
import pytest

from extractors.grids.cell_ocr import ocr_cells
from pipeline.reading.ocr import OcrWord, _japanese_mask, engine_id, image_key, ocr_words


def rendered_line(text: str, dpi: int = 300) -> np.ndarray:
    """``text`` set in MuPDF's built-in Japanese font, rendered gray as a scanner would."""
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=60)
    page.insert_font(fontname="jp", fontbuffer=pymupdf.Font("japan").buffer)
    page.insert_text((20, 38), text, fontname="jp", fontsize=16)
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).copy()


def test_ppocr_reads_a_japanese_line_the_same_way_twice(tmp_path):
    image = rendered_line("二地域居住の推進について")
    first = ocr_words(image, cache_dir=None)
    again = ocr_words(image, cache_dir=None)
    assert "".join(w.text for w in first) == "二地域居住の推進について"
    assert first == again
    # One box per glyph, left to right, each inside the image.
    assert len(first) == 12 and all(0 <= w.left < image.shape[1] for w in first)
    assert [w.left for w in first] == sorted(w.left for w in first)


def test_cache_key_holds_engine_model_and_params(tmp_path):
    image = rendered_line("居住")
    words = ocr_words(image, cache_dir=tmp_path)
    entries = list((tmp_path / "ocr").rglob("*.json"))
    assert len(entries) == 1
    # A cached answer is what is read back: edit it and the edit comes back.
    entries[0].write_text(json.dumps([dict(w.__dict__, text="X") for w in words]), encoding="utf-8")
    assert {w.text for w in ocr_words(image, cache_dir=tmp_path)} == {"X"}
    ident = engine_id("ppocr")
    assert ident.name == "ppocr" and "PP-OCRv6" in ident.model and "sha256" in ident.model
    assert ident.key() != engine_id("tesseract").key()


def test_cache_key_is_the_pixels_not_their_layout_in_memory():
    # Keyed by shape, type and values: the same pixels in another memory order are the same
    # question; one pixel changed, or the same bytes in another shape, is another.
    image = rendered_line("居住")
    key = image_key(image, engine_id("ppocr").key())
    assert image_key(np.asfortranarray(image), engine_id("ppocr").key()) == key
    assert image_key(image[:, ::-1][:, ::-1], engine_id("ppocr").key()) == key
    changed = image.copy()
    changed[0, 0] ^= 1
    assert image_key(changed, engine_id("ppocr").key()) != key
    assert image_key(image.reshape(image.shape[1], image.shape[0]), engine_id("ppocr").key()) != key
    assert image_key(image, engine_id("tesseract").key()) != key


def test_a_damaged_cache_entry_is_read_again(tmp_path):
    image = rendered_line("地域")
    ocr_words(image, cache_dir=tmp_path)
    entry = next((tmp_path / "ocr").rglob("*.json"))
    entry.write_text("{not json", encoding="utf-8")
    assert "".join(w.text for w in ocr_words(image, cache_dir=tmp_path)) == "地域"


def test_recogniser_may_not_answer_chinese_only_characters():
    mask = _japanese_mask(["课", "課", "减", "a", "—", "●", "ー"])
    assert mask.tolist() == [False, True, True, True, True, True, True]


def test_page_glyphs_go_to_the_cell_holding_their_centre_and_specks_are_dropped():
    sheet_shape = (100, 200)
    ink = np.full((40, 80), 255, np.uint8)
    ink[10:30, 5:75] = 0  # the cleaned cell's text
    cells = [((0, 0, 80, 40), ink), ((100, 0, 180, 40), ink)]
    words = [
        OcrWord("地", 10, 10, 20, 20, 0.9),
        OcrWord("域", 40, 10, 20, 20, 0.8),
        OcrWord("名", 110, 10, 20, 20, 0.7),
        OcrWord(".", 100 + 78, 36, 2, 2, 0.3),  # in the second cell, but no cleaned ink under it
    ]
    assert ocr_cells(sheet_shape, cells, page_words=words) == [("地域", 0.85), ("名", 0.7)]


def rendered_cell(lines: list[str], fontsize: float = 8.0, dpi: int = 300, leading: float = 1.2) -> np.ndarray:
    """A table cell's text set in ``lines``, rendered gray (black on white) as a cleaned cell image."""
    doc = pymupdf.open()
    width = fontsize * (max(map(len, lines)) + 2)
    page = doc.new_page(width=width, height=fontsize * (leading * len(lines) + 1.5))
    page.insert_font(fontname="jp", fontbuffer=pymupdf.Font("japan").buffer)
    for k, line in enumerate(lines):
        page.insert_text((fontsize, fontsize * (1.6 + leading * k)), line, fontname="jp", fontsize=fontsize)
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).copy()


def test_a_cells_lines_are_where_its_ink_is():
    from extractors.grids.cell_ocr import ink_lines

    assert len(ink_lines(rendered_cell(["マーケ", "ティング"]))) == 2
    assert len(ink_lines(rendered_cell(["ツア", "ー実", "施"]))) == 3
    assert len(ink_lines(rendered_cell(["拠点", "整備"]))) == 2
    assert len(ink_lines(rendered_cell(["二"], fontsize=10))) == 1  # its two strokes are one line
    # Glyphs 30 px wide that all part at the same height: one line, not two.
    cell = np.full((60, 80), 255, np.uint8)
    cell[10:22, 5:35] = cell[10:22, 45:75] = 0
    cell[24:36, 5:35] = cell[24:36, 45:75] = 0
    assert ink_lines(cell) == [(10, 36)]


def test_glyphs_of_close_lines_are_read_line_by_line_even_where_their_boxes_overlap():
    # PP-OCR pads its boxes: a glyph of the second line starts above the first line's bottom, and
    # its centre is nearer the first line's centre than half a box's height.
    cell = np.full((60, 120), 255, np.uint8)
    for x in range(5, 105, 18):  # 高知県、鳥取 and 県、佐賀県, each glyph 16 px wide
        cell[8:24, x : x + 16] = cell[32:48, x : x + 16] = 0
    words = [OcrWord(ch, 5 + 18 * i, 0, 18, 40, 0.9) for i, ch in enumerate("高知県、鳥取")]
    words += [OcrWord(ch, 5 + 18 * i, 22, 18, 40, 0.9) for i, ch in enumerate("県、佐賀県")]
    assert ocr_cells((60, 120), [((0, 0, 120, 60), cell)], page_words=words)[0][0] == "高知県、鳥取県、佐賀県"


def test_a_line_the_engine_read_whole_stays_whole_where_its_ink_parts_in_two():
    # 青森県 small: every glyph parts at the same height, and no run is flat enough to join the other.
    cell = np.full((40, 120), 255, np.uint8)
    for x in range(5, 110, 20):
        cell[8:19, x : x + 3] = cell[21:32, x + 6 : x + 9] = 0
    # One line of the engine's, skewed: its left glyphs' centres lie nearer the lower run, its right ones' the upper.
    words = [OcrWord(ch, 5 + 20 * i, 12 - 2 * i, 20, 28, 0.9) for i, ch in enumerate("青森県大字")]
    assert ocr_cells((40, 120), [((0, 0, 120, 40), cell)], page_words=words)[0][0] == "青森県大字"


def test_a_reading_again_is_kept_only_where_it_reads_as_words(monkeypatch):
    import extractors.grids.cell_ocr as cell_ocr

    cell = np.full((60, 120), 255, np.uint8)
    for x in range(5, 105, 18):
        cell[8:24, x : x + 16] = cell[32:48, x : x + 16] = 0
    box = (0, 0, 120, 60)

    def read_again(text_by_line):
        def strips(requested, cache_dir):
            return {i: [[OcrWord(ch, 20 * k, 0, 20, 20, 0.9) for k, ch in enumerate(t)] for t in text_by_line] for i in requested}
        return strips

    upper_only = [OcrWord(ch, 5 + 18 * i, 4, 18, 24, 0.9) for i, ch in enumerate("青森県")]
    monkeypatch.setattr(cell_ocr, "_read_strips", read_again(["重末目", "月林宗"]))
    assert ocr_cells((60, 120), [(box, cell)], page_words=upper_only)[0][0] == "青森県"  # single characters: not words
    monkeypatch.setattr(cell_ocr, "_read_strips", read_again(["マーケ", "ティング"]))
    misread = [OcrWord(ch, 30 + 30 * i, 4, 30, 24, 0.6) for i, ch in enumerate("一方")]
    assert ocr_cells((60, 120), [(box, cell)], page_words=misread)[0][0] == "マーケティング"


def test_a_narrow_header_whose_lines_the_page_left_unread_is_read_with_its_lines_side_by_side():
    image = rendered_cell(["マーケ", "ティング"], fontsize=6.0)
    h, w = image.shape
    cells = [((0, 0, w, h), image)]
    # The page's reading took both lines for one and read a glyph between them.
    misread = [OcrWord("一", w // 3, 0, w // 3, h, 0.6)]
    assert ocr_cells((h, w), cells, page_words=misread)[0][0] == "マーケティング"


@pytest.mark.parametrize("engine", ["nonsense"])
def test_unknown_engine_is_refused(engine):
    with pytest.raises(ValueError, match="unknown OCR engine"):
        ocr_words(np.full((10, 10), 255, np.uint8), engine=engine)


@pytest.mark.slow
def test_scanned_notice_reads_within_3_percent_character_errors_and_fewer_after_cleaning():
    """samples/mic_tsuchi_71_scan.pdf against its source text (NFKC, whitespace ignored)."""
    import unicodedata
    from pathlib import Path

    from benchmarks.text_stage import cer, ocr_page_text
    from pipeline.document.extract import REPO_CACHE_DIR
    from pipeline.text.normalize import clean_text
    from pipeline.text.vocabulary import repair_ocr_text
    from pipeline.reading.pdf import iter_pages, open_document

    samples = Path(__file__).resolve().parents[1] / "samples"
    fold = lambda text: "".join(unicodedata.normalize("NFKC", text).split())  # noqa: E731
    reference = (samples / "source-texts" / "mic_tsuchi_71.txt").read_text(encoding="utf-8")
    path = samples / "mic_tsuchi_71_scan.pdf"
    doc = open_document(path, str(path))
    try:
        raw = "\n".join(ocr_page_text(p.image, cache_dir=REPO_CACHE_DIR) for p in iter_pages(doc, "scan", "0" * 64))
    finally:
        doc.close()
    before = cer(fold(raw), fold(reference))
    after = cer(fold(repair_ocr_text(clean_text(raw).text).text), fold(clean_text(reference).text))
    assert before <= 0.03
    assert after < before


def test_the_decoder_never_chooses_a_character_no_japanese_text_holds():
    """Scores of simplified hanzi are zeroed before CTC decoding (in place): 课 scoring highest reads as 課, 东 as 東."""
    import numpy as np
    from rapidocr.ch_ppocr_rec.utils import CTCLabelDecode

    from pipeline.reading.ocr import _type_with_mask

    characters = ["课", "課", "东", "東"]
    decoder = CTCLabelDecode(character=characters)
    decoder.__class__ = _type_with_mask(CTCLabelDecode)
    decoder.allowed = _japanese_mask(decoder.character)  # the blank first, as the engine's own list
    # 课 (0.6) over 課 (0.3), then the blank, then 东 (0.5) over 東 (0.4).
    steps = {"课": 0.6, "課": 0.3}, {"blank": 0.9}, {"东": 0.5, "東": 0.4}
    preds = np.zeros((1, len(steps), len(decoder.character)), dtype=np.float32)
    for t, scores in enumerate(steps):
        for ch, score in scores.items():
            preds[0, t, decoder.character.index(ch)] = score
    (text, confidence), = decoder(preds)[0]
    assert text == "課東" and abs(confidence - (0.3 + 0.4) / 2) < 1e-6
    # a read-only array (as a memory-mapped one) is read the same, not written
    frozen = np.zeros_like(preds)
    frozen[:] = np.where(preds > 0, preds, 0)
    frozen.flags.writeable = False
    assert decoder(frozen)[0][0][0] == "課東"


def test_the_detector_gets_the_input_rapidocr_would_prepare_bit_for_bit():
    """The engine's detector looks its normalisation up per byte value: the same float32 input as
    rapidocr's own float64 arithmetic, for every level of every channel, and with its own mean and std."""
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    from pipeline.reading.ocr import _ppocr_engine, _type_with_table

    detector = _ppocr_engine().text_det
    assert type(detector.get_preprocess()).__name__ == "TabulatedDetPreProcess"
    rng = np.random.default_rng(7)
    every_level = np.broadcast_to(np.arange(256, dtype=np.uint8)[:, None, None], (256, 64, 3)).copy()
    page = np.dstack([rendered_line("二地域居住の推進について")] * 3)
    for image in (every_level, rng.integers(0, 256, (900, 1300, 3), dtype=np.uint8), page):
        for mean, std in ((None, None), ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])):
            want = DetPreProcess(detector.limit_side_len, detector.limit_type, mean, std)(image)
            got = _type_with_table(DetPreProcess)(detector.limit_side_len, detector.limit_type, mean, std)(image)
            assert got.dtype == want.dtype == np.float32 and got.tobytes() == want.tobytes()


@pytest.mark.parametrize("level", [0, 128, 255])
def test_a_page_of_one_gray_level_is_not_sent_to_the_engine_which_would_read_nothing(level, monkeypatch):
    import pipeline.reading.ocr as ocr

    blank = np.full((240, 600), level, np.uint8)
    assert ocr._run_ppocr(blank) == []  # what the shortcut stands for: the engine itself reads nothing
    monkeypatch.setattr(ocr, "_run_ppocr", lambda image: pytest.fail("a blank page went to the engine"))
    assert ocr_words(blank, cache_dir=None) == []
