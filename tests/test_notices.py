"""Notices: the reviewed golden, letterhead variants we make, and the scanned notice through OCR."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from extractors.notices import extract_notices
from extractors.text.values import find_rates, fold, yen_amounts
from pipeline.document.extract import REPO_CACHE_DIR, extract_pdf, parse_pages
from pipeline.publish.writer import validate_frames
from tests.conftest import GOLDENS, SAMPLES
from tests.narrative_pdf import PageSpec, Text, make_pdf


def _golden(name: str) -> list[dict]:
    return json.loads((GOLDENS / "mic_tsuchi_71" / f"{name}.json").read_text(encoding="utf-8"))


def _rows(frame) -> list[dict]:
    return json.loads(frame.drop(columns=["run_id"], errors="ignore").to_json(orient="records", force_ascii=False))


@pytest.fixture(scope="module")
def text_notice():
    return extract_pdf(SAMPLES / "mic_tsuchi_71.pdf", "mic_tsuchi_71")


@pytest.fixture(scope="module")
def scan_notice():
    # OCR of 7 pages takes ~40 s once; the cache under the repo makes re-runs take seconds.
    return extract_pdf(SAMPLES / "mic_tsuchi_71_scan.pdf", "mic_tsuchi_71_scan", cache_dir=REPO_CACHE_DIR)


def test_notice_equals_reviewed_golden(text_notice):
    assert _rows(text_notice.frames["notices"]) == _golden("notices")
    assert _rows(text_notice.frames["notice_items"]) == _golden("notice_items")


def test_notice_letterhead_and_numbers(text_notice):
    notice = text_notice.frames["notices"].iloc[0]
    assert list(notice["doc_numbers"]) == ["總行政第71号", "總行応第133号"]
    assert (notice["date_raw"], notice["date"]) == ("令和7年4月2日", "2025-04-02")
    assert notice["addressee"].startswith("各都道府県担当部局長殿")
    assert notice["title_raw"] == "地方自治体が実施する二地域居住・関係人口施策の推進について（通知）"
    items = text_notice.frames["notice_items"].set_index("item_id")
    rate = items[items["rates"].map(len) > 0]
    caps = items[items["amounts_yen"].map(len) > 0]
    assert sorted({r for rs in rate["rates"] for r in rs}) == [0.5]
    assert all(list(a) == [5_000_000, 400_000] for a in caps["amounts_yen"])
    # ① of （3） sets the rate; its parent is （3）, whose parent is 2
    first = rate.iloc[0]
    parent = items.loc[first["parent_id"]]
    assert (first["label"], parent["label"], items.loc[parent["parent_id"], "label"]) == ("①", "（3）", "2")
    assert validate_frames(text_notice.frames, "test-run")["value_reviews"].empty  # every value passed its check


def test_reports_are_not_notices():
    result = extract_pdf(SAMPLES / "join_kanousei.pdf", "join_kanousei")
    assert "notices" not in result.frames and "notice_items" not in result.frames


def _letterhead(issuer_below_title: bool) -> PageSpec:
    texts = [
        Text(430, 70, "事務連絡"),
        Text(420, 88, "令和２年４月８日"),
        Text(70, 120, "都道府県担当部（局）"),
        Text(240, 130, "御中"),
        Text(70, 140, "市町村担当課"),
        Text(213, 190, "地域の交付金の取扱いについて", size=12),
        Text(90, 260, "標記について、下記のとおりお知らせします。"),
        Text(290, 290, "記"),
        Text(70, 320, "１．対象経費"),
        Text(80, 340, "（１）補助率"),
        Text(90, 360, "補助率は１／２とする。"),
        Text(80, 380, "（２）上限額"),
        Text(90, 400, "１団体当たり300万円を上限とする。"),
        Text(70, 430, "２．留意事項"),
        Text(90, 450, "①申請は年度内に行うこと。"),
    ]
    issuer_y = 220 if issuer_below_title else 165
    texts.append(Text(360, issuer_y, "内閣府地方創生推進室"))
    if not issuer_below_title:
        texts = [t if t.text != "地域の交付金の取扱いについて" else Text(213, 200, t.text, size=12) for t in texts]
    return PageSpec(texts=texts)


@pytest.mark.parametrize("issuer_below_title", [True, False])
def test_made_notice_letterhead_variants(tmp_path, issuer_below_title):
    path = make_pdf([_letterhead(issuer_below_title)], tmp_path / "notice.pdf")
    _, pages = parse_pages(path, "made", "0" * 64, str(path), cache_dir=None)
    records = extract_notices(pages)
    notice = next(r.values for r in records if r.dataset == "notices")
    items = [r.values for r in records if r.dataset == "notice_items"]
    assert notice["doc_numbers"] == ["事務連絡"] and notice["date"] == "2020-04-08"
    assert notice["title_raw"] == "地域の交付金の取扱いについて"
    assert notice["issuer"] == "内閣府地方創生推進室"
    assert set(notice["addressee"].split("\n")) == {"都道府県担当部（局）", "御中", "市町村担当課"}
    assert [(i["level"], i["label"], i["parent_id"]) for i in items] == [
        (0, "１．", None),
        (1, "（１）", "made#i1"),
        (1, "（２）", "made#i1"),
        (0, "２．", None),
        (1, "①", "made#i4"),
    ]
    assert items[1]["rates"] == [0.5] and items[2]["amounts_yen"] == [3_000_000]


@pytest.mark.parametrize(
    "text,rates",
    [("措置率は0.5（ただし", [0.5]), ("措置率\n0. 5（ただし", [0.5]), ("補助率１／２以内", [0.5]), ("負担率2分の1", [0.5]),
     ("算入率50％", [0.5]), ("補助率は3割", [0.3]), ("措置率等は以下のとおり", [])],
)
def test_rates(text, rates):
    assert [r.value for r in find_rates(text)] == rates


def test_yen_amounts():
    assert yen_amounts("1人当たり500万円を上限とし、兼務は40万円、総額1.2億円") == [5_000_000, 400_000, 120_000_000]


@pytest.mark.slow
def test_scanned_notice_matches_text_notice(text_notice, scan_notice):
    """Same letterhead numbers and date, same caps and rate, and nearly the same item tree.

    Measured on the bundled scan (tesseract 5, jpn): the item tree's (level,
    kind) sequence matches the text notice's at ratio 0.92; OCR drops the
    labels of （4）, one ④ and the annex's unnumbered bold headings, and reads
    總 (an old form of 総) wrongly, so document numbers are compared by their
    numbers only.
    """
    text = text_notice.frames
    scan = scan_notice.frames
    t, s = text["notices"].iloc[0], scan["notices"].iloc[0]
    digits = lambda numbers: ["".join(ch for ch in fold(n) if ch.isdigit()) for n in numbers]  # noqa: E731
    assert digits(s["doc_numbers"]) == digits(t["doc_numbers"]) == ["71", "133"]
    assert s["date"] == t["date"] == "2025-04-02"
    assert bool(s["ocr"]) and not bool(t["ocr"])
    shape = lambda f: [(r.level, r.kind.split(":")[0]) for r in f.itertuples()]  # noqa: E731
    ratio = difflib.SequenceMatcher(a=shape(text["notice_items"]), b=shape(scan["notice_items"]), autojunk=False).ratio()
    assert ratio >= 0.88  # a little slack below what the OCR engine reads here (pipeline.reading.ocr)
    amounts = {a for amounts in scan["notice_items"]["amounts_yen"] for a in amounts}
    rates = {r for rs in scan["notice_items"]["rates"] for r in rs}
    assert amounts == {5_000_000, 400_000} and rates == {0.5}
    top = [fold(x) for x in scan["notice_items"].query("level == 0")["label"]]
    assert top[:2] == ["1", "2"]
    assert validate_frames(scan, "test-run")["value_reviews"].empty
