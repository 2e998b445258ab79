"""Expert opinions: the reviewed golden, and a re-drawn slide with other positions and sizes."""

from __future__ import annotations

from collections import Counter

import pymupdf
import pytest

from conftest import SAMPLES, frame_rows, golden_rows
from extractors.expert_opinions import extract_expert_opinions
from tests.tables4_pdf import new_page, parsed, text

COLUMNS = ["page", "bbox", "opinion_no", "category", "topic", "opinion"]


@pytest.fixture(scope="module")
def sankou5():
    from pipeline.document.extract import extract_pdf

    return extract_pdf(SAMPLES / "mlit_r5_sankou5.pdf", "mlit_r5_sankou5")


def test_expert_opinions_equal_reviewed_golden(sankou5):
    frame = sankou5.frames["expert_opinions"]
    assert frame_rows(frame, COLUMNS) == golden_rows("mlit_r5_sankou5", "expert_opinions", COLUMNS)
    assert Counter(frame["category"]) == {
        "実践者に関するご意見": 7,
        "地域との関わりに関するご意見": 4,
        "行政に関するご意見": 5,
        "その他のご意見": 3,
        "周知・普及に関するご意見": 4,
    }
    # Two opinions printed on one line are two rows.
    assert "メリットを知らない者が多いため、メリットを発信することが必要である。" in set(frame["opinion"])


def _slide(title: str) -> list:
    doc = pymupdf.open()
    page = new_page(doc)
    text(page, 30, 40, title, 18)
    # A vertical category strip, one glyph per line, further right than the sample's.
    for i, ch in enumerate("交通に関する意見"):
        text(page, 60, 110 + i * 14, ch, 11)
    text(page, 100, 100, "●運賃について", 12)
    text(page, 115, 120, "・二地域居住者向けの定額運賃があると", 11)
    text(page, 127, 134, "良い。", 11)
    text(page, 115, 150, "・週末の便数が足りない。", 11)
    text(page, 100, 180, "●二次交通について", 12)
    text(page, 115, 200, "・駅からの移動手段が課題である。", 11)
    return parsed(doc)


def test_opinions_read_on_a_redrawn_slide():
    rows = [r.values for r in extract_expert_opinions(_slide("有識者のご意見まとめ"))]
    assert [(r["category"], r["topic"], r["opinion"]) for r in rows] == [
        ("交通に関する意見", "運賃について", "二地域居住者向けの定額運賃があると良い。"),
        ("交通に関する意見", "運賃について", "週末の便数が足りない。"),
        ("交通に関する意見", "二次交通について", "駅からの移動手段が課題である。"),
    ]


def test_bulleted_slides_that_are_not_opinions_yield_nothing():
    doc = pymupdf.open()
    page = new_page(doc)
    text(page, 30, 40, "事業の概要", 18)
    text(page, 100, 100, "●支援の内容", 12)
    text(page, 115, 120, "・空き家の改修を支援する。", 11)
    assert extract_expert_opinions(parsed(doc)) == []
