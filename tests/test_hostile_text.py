"""Hostile text layers: long prose, unsafe characters, untrustworthy glyph maps.

Each PDF is built on the fly (tests/hostile.py) and goes through the same
extraction as ``nichiiki extract`` (pipeline.runs.local.extract_paths: extract →
text stage → validate), so what is checked is what would be published.
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.runs.local import extract_paths
from pipeline.text.chunks import MAX_CHUNK_BYTES, chunks
from pipeline.reading.sanitize import UNSAFE
from tests import hostile


def extract(tmp_path, name: str, data: bytes) -> tuple[dict[str, pd.DataFrame], list]:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    frames, report = extract_paths([path])
    return frames, report.failures


# ---------------------------------------------------------------- chunks under Sudachi's limit


def test_chunks_cut_after_sentences_and_fit_the_budget():
    text = ("二地域居住の推進について述べる。" * 3000) + "終わり"
    pieces = list(chunks(text, max_bytes=1000))
    assert "".join(p for _, p in pieces) == text
    assert all(len(p.encode()) <= 1000 for _, p in pieces)
    assert all(p.endswith("。") for _, p in pieces[:-1])  # every cut is a sentence end
    assert [o for o, _ in pieces] == [sum(len(p) for _, p in pieces[:i]) for i in range(len(pieces))]


def test_a_sentence_longer_than_the_budget_is_cut_at_clauses_then_anywhere():
    clauses = "地域、" * 1000
    assert all(p.endswith("、") for _, p in list(chunks(clauses, max_bytes=300))[:-1])
    solid = "住" * 1000
    pieces = list(chunks(solid, max_bytes=300))
    assert "".join(p for _, p in pieces) == solid and all(len(p.encode()) <= 300 for _, p in pieces)


def test_token_spans_of_text_over_the_sudachi_limit():
    from pipeline.text.language import token_spans

    text = hostile.PROSE * 500
    assert len(text.encode()) > 3 * MAX_CHUNK_BYTES
    tokens = token_spans(text)
    assert tokens[0][0] == 0 and tokens[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(tokens, tokens[1:]))  # contiguous: nothing lost at the cuts


def test_token_spans_of_solid_text_cut_to_the_exact_limit():
    from pipeline.text.chunks import SUDACHI_MAX_BYTES
    from pipeline.text.language import token_spans

    assert MAX_CHUNK_BYTES < SUDACHI_MAX_BYTES
    text = "住" * 40_000  # 120,000 bytes with no boundary at all: cut anywhere, at the byte budget
    tokens = token_spans(text)
    assert tokens[-1][1] == len(text) and all(a[1] == b[0] for a, b in zip(tokens, tokens[1:]))


@pytest.mark.parametrize("case", ["long_prose", "many_spans"])
def test_long_text_is_published_not_lost(tmp_path, case):
    frames, failures = extract(tmp_path, case, getattr(hostile, case)())
    assert not failures, failures[0].message
    sections = frames["sections"]
    assert len("".join(sections["text_raw"]).encode()) > 49_149
    if case == "long_prose":
        assert {"札幌市", "松本市"} <= set(frames["places"]["name"])


# ---------------------------------------------------------------- unsafe characters


def _all_strings(frames: dict[str, pd.DataFrame]):
    for name, frame in frames.items():
        for column in frame.columns:
            for value in frame[column]:
                if isinstance(value, str):
                    yield name, column, value


def test_lone_surrogate_is_replaced_and_recorded(tmp_path):
    frames, failures = extract(tmp_path, "surrogate", hostile.lone_surrogate())
    assert not failures, failures[0].message
    assert "東京\ufffd都" in "".join(frames["sections"]["text_raw"])
    fixes = frames["corrections"].query("rule == 'lone_surrogate'")
    assert list(fixes[["raw", "corrected", "dataset", "field"]].itertuples(index=False, name=None)) == [
        ("U+D800", "U+FFFD", "documents", "text_layer")
    ]


def test_control_bidi_and_zero_width_characters_never_published(tmp_path):
    frames, failures = extract(tmp_path, "controls", hostile.control_characters())
    assert not failures, failures[0].message
    unsafe = [(n, c, v) for n, c, v in _all_strings(frames) if UNSAFE.search(v)]
    assert not unsafe, unsafe
    assert frames["documents"].at[0, "producer"] == "[2J]0;PWNEDWord"
    # The layer (ActualText) claims kanji the page does not show ("Visible" in Helvetica): OCR decides.
    assert "untrusted_text_layer" in set(frames["corrections"]["rule"])
    rules = frames["corrections"].query("dataset == 'documents'")
    by_field = rules.groupby("field")["raw"].apply(list).to_dict()
    assert set(by_field["text_layer"]) >= {"U+001B", "U+0007", "U+202E", "U+200D", "U+FEFF"}
    assert by_field["producer"] == ["U+001B", "U+001B", "U+0007", "U+202E"]
    assert set(rules["rule"]) >= {"control_char", "bidi_control", "zero_width"}


# ---------------------------------------------------------------- text layers that cannot be trusted


def test_garbage_text_layer_is_replaced_by_ocr_and_said_so(tmp_path):
    frames, failures = extract(tmp_path, "garbage", hostile.garbage_text_layer())
    assert not failures, failures[0].message
    assert "札幌市" not in set(frames["places"]["name"])  # the layer's claim is not published as a place
    assert "札幌" not in "".join(frames["sections"]["text_raw"])
    said = frames["corrections"].query("rule == 'untrusted_text_layer'")
    assert list(said[["page", "field", "raw"]].itertuples(index=False, name=None)) == [(1, "text_layer", "北海道札幌市役所")]
    assert "abcdefgh" in said.iloc[0]["corrected"].lower() or said.iloc[0]["corrected"]
    assert bool(frames["documents"].at[0, "ocr_needed"])


def test_trusted_japanese_text_layer_is_not_ocred(tmp_path):
    import pymupdf

    from pipeline.reading.pdf import parse_page, text_layer_suspect

    doc = pymupdf.open(stream=hostile.text_pdf(pages=1), filetype="pdf")
    page = parse_page(doc[0], "x", "0" * 64)
    assert page.image is None and text_layer_suspect(doc[0], page.chars) is None


def test_cid_flood_is_suspect():
    from pipeline.model.records import Char
    from pipeline.reading.textlayer import layer_contradicted

    layer = tuple(Char(t, (0, 0, 1, 1)) for t in "(cid:12)(cid:40)(cid:7)あ")
    assert layer_contradicted(layer, ()) == "unmapped glyphs"
    fine = tuple(Char(t, (0, 0, 1, 1)) for t in "二地域居住の推進")
    assert layer_contradicted(fine, fine) is None
