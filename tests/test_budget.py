"""Budget tables: the reviewed golden, and re-drawn variants with other column orders."""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest

from conftest import GOLDENS, SAMPLES, frame_rows, golden_rows
from extractors.budget import extract_budget_items
from extractors.text.values import yen
from tests.tables4_pdf import new_page, parsed, table, text

COLUMNS = ["page", "bbox", "item_no", "table_row", "field", "item", "description", "target", "amount_text", "amount_yen", "is_portion", "amount_header"]


@pytest.fixture(scope="module")
def gaiyo():
    from pipeline.document.extract import extract_pdf

    return extract_pdf(SAMPLES / "mlit_gaiyo.pdf", "mlit_gaiyo")


def test_budget_items_equal_reviewed_golden(gaiyo):
    frame = gaiyo.frames["budget_items"]
    assert frame_rows(frame, COLUMNS) == golden_rows("mlit_gaiyo", "budget_items", COLUMNS)
    # Vertically merged 分野 cells are repeated on every row they cover.
    assert list(frame["field"][:2]) == ["住まい", "住まい"]
    assert frame["is_portion"].sum() == 7
    assert int(frame.loc[frame["item"] == "空き家対策総合支援事業", "amount_yen"].iloc[0]) == 5_900_000_000


def _variant_pages() -> list:
    doc = pymupdf.open()
    page = new_page(doc)
    text(page, 40, 40, "関連予算一覧（令和8年度）", 14)
    rows = [
        ["予算額", "事業名", "主な対象", "概要", "分類"],
        ["1.5億円", "移住支援金", "市町村", "移住者への支援", "住まい"],
        ["300千円", "空き家調査", "NPO等", "", None],
        ["交付金2,000百万円の内数", "拠点整備事業", "都道府県", "拠点の整備を支援", "仕事"],
    ]
    table(page, 40, 60, [150, 150, 100, 200, 80], rows)
    # A second, unrelated table on the same page: no amounts, so not a budget table.
    table(page, 40, 300, [120, 120], [["項目", "内容"], ["会議", "年2回開催"], ["資料", "配布"]])
    return parsed(doc)


def test_budget_table_found_by_meaning_in_another_column_order():
    records = extract_budget_items(_variant_pages())
    rows = [r.values for r in records]
    assert [r["item"] for r in rows] == ["移住支援金", "空き家調査", "拠点整備事業"]
    assert [r["field"] for r in rows] == ["住まい", "住まい", "仕事"]  # merged cell repeated
    assert [r["amount_yen"] for r in rows] == [150_000_000, 300_000, 2_000_000_000]
    assert [r["is_portion"] for r in rows] == [False, False, True]
    assert rows[1]["description"] is None
    assert {r["target"] for r in rows} == {"市町村", "NPO等", "都道府県"}
    assert all(r.provenance.page == 1 and r.provenance.bbox is not None for r in records)


def test_budget_table_continued_on_the_next_page_without_header():
    doc = pymupdf.open()
    widths = [80, 160, 160, 100, 110]
    table(new_page(doc), 40, 60, widths, [["分野", "予算（項目）", "内容", "主な対象者", "R8予算"], ["住まい", "改修支援", "改修費の補助", "市町村", "10億円"]])
    table(new_page(doc), 40, 40, widths, [["交通", "運賃支援", "運賃の定額化", "事業者", "5百万円"]])
    # A later page with an unrelated table of the same shape is not a continuation.
    new_page(doc)
    table(new_page(doc), 40, 40, widths, [["a", "b", "c", "d", "e"], ["f", "g", "h", "i", "j"]])
    rows = [(r.provenance.page, r.values["item"], r.values["amount_yen"]) for r in extract_budget_items(parsed(doc))]
    assert rows == [(1, "改修支援", 1_000_000_000), (2, "運賃支援", 5_000_000)]


def test_no_budget_rows_from_documents_without_one():
    doc = pymupdf.open()
    page = new_page(doc)
    table(page, 40, 60, [120, 120, 120], [["氏名", "所属", "役職"], ["山田", "国交省", "課長"], ["佐藤", "総務省", "係長"]])
    assert extract_budget_items(parsed(doc)) == []


@pytest.mark.parametrize(
    "text_, value",
    [("5,900百万円", 5_900_000_000), ("約3.1億円", 310_000_000), ("487,410 百万円の内数", 487_410_000_000), ("300千円", 300_000)],
)
def test_yen_amounts(text_, value):
    assert yen(text_) == value


def test_golden_file_is_sorted_pretty_json():
    path = Path(GOLDENS / "mlit_gaiyo" / "budget_items.json")
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert all(list(r) == sorted(r) and "run_id" not in r for r in rows)


def test_header_shaded_glyph_by_glyph_is_one_header_row():
    """A producer that shades header text glyph by glyph (MuPDF) draws a small filled box
    behind each glyph; those boxes are no cell borders, so the header stays one row of five cells."""

    def budget_page(shade: bool) -> list:
        doc = pymupdf.open()
        page = new_page(doc)
        rows = [
            ["分野", "事業名", "内容", "対象", "R7当初予算"],
            ["住まい", "空き家対策総合支援事業", "二地域居住の促進を支援", "市町村", "5,900百万円"],
            [None, "住宅市場整備推進事業", "住まいの確保を支援", "民間事業者等", "1,000百万円"],
        ]
        table(page, 40, 60, [80, 160, 200, 120, 100], rows, height=12)  # rows as tight as a line of text
        if shade:
            for c in parsed(doc)[0].chars:
                if 60 < c.bbox[1] < 72 and c.text.strip():
                    page.draw_rect(pymupdf.Rect(c.bbox[0], c.bbox[1] + 0.6, c.bbox[2], c.bbox[3] + 0.6), color=None, fill=(0.85, 0.88, 0.95), overlay=False)
        return parsed(doc)

    from extractors.grids.grid import find_grids

    assert [(g.n_rows, g.n_cols) for g in find_grids(budget_page(True)[0])] == [(3, 5)]
    plain = [r.values for r in extract_budget_items(budget_page(False))]
    shaded = [r.values for r in extract_budget_items(budget_page(True))]
    assert len(plain) == 2 and [r["item"] for r in plain] == ["空き家対策総合支援事業", "住宅市場整備推進事業"]
    assert [{k: v for k, v in r.items() if k != "bbox"} for r in shaded] == [{k: v for k, v in r.items() if k != "bbox"} for r in plain]
