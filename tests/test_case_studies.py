"""Case studies (主な事例): reviewed golden, a re-drawn theme page, and linking to consortia."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pymupdf

from conftest import frame_rows, golden_rows
from extractors.case_studies import extract_case_studies, parse_place
from pipeline.document.linking import link_case_studies, link_one, name_similarity, place_agreement, read_places
from tests.tables4_pdf import new_page, parsed, text

COLUMNS = [
    "page", "bbox", "case_id", "theme", "place_raw", "prefecture", "municipality", "consortium_name_raw",
    "description", "consortium_id", "link_method", "link_score", "flag", "flag_reason",
]


def test_case_studies_equal_reviewed_golden(senkoteki_extraction):
    frame = senkoteki_extraction.frames["case_studies"]
    assert frame_rows(frame, COLUMNS) == golden_rows("mlit_r7_senkoteki", "case_studies", COLUMNS)
    assert len(frame) == 26 and frame["theme"].nunique() == 13


def test_names_printed_differently_still_link(senkoteki_extraction):
    frame = senkoteki_extraction.frames["case_studies"].set_index("consortium_name_raw")
    consortia = senkoteki_extraction.frames["consortia"].set_index("consortium_id")
    for printed, matrix_name in [
        ("東御まると共創コンソーシアム", "東御まるごと共創コンソーシアム"),
        ("横瀬町二地域居住推進コンソーシアム", "横瀬町二地域居住コンソーシアム"),
        ("CM育成型二地域居住推進コンソーシアム", "コミュニティマネージャー育成型二地域居住推進コンソーシアム"),
    ]:
        row = frame.loc[printed]
        assert consortia.loc[row["consortium_id"], "consortium_name_raw"] == matrix_name
        assert row["link_method"] == "fuzzy" and not row["flag"]


def test_contradictory_case_is_flagged_not_guessed(senkoteki_extraction):
    frame = senkoteki_extraction.frames["case_studies"]
    wakayama = frame[frame["place_raw"] == "和歌山県和歌山市"].iloc[0]
    assert wakayama["consortium_name_raw"] == "北見市二地域ライフ推進協議会"
    assert pd.isna(wakayama["consortium_id"]) and wakayama["flag"]
    assert "contradictory" in wakayama["flag_reason"]
    assert "北見" in wakayama["flag_reason"] and "和歌山市" in wakayama["flag_reason"]
    kitami = frame[frame["place_raw"] == "北海道北見市"].iloc[0]
    assert kitami["consortium_id"] == "mlit_r7_senkoteki|27" and not kitami["flag"]
    assert Counter(frame["flag"]) == {False: 23, True: 3}


def _theme_page() -> list:
    """Two theme panels side by side, headings in the body face (no bold), larger theme titles."""
    doc = pymupdf.open()
    page = new_page(doc)
    text(page, 30, 30, "テーマ別の取組", 18)
    for x0, theme, cases in [
        (40, "移動に関する取組", [("長野県上田市", "上田移動推進協議会", ["バスの定期券を", "二地域居住者に提供した。"])]),
        (440, "住まいに関する取組", [("高知県", "高知住まいネット", ["空き家を改修した。"]), ("岡山県岡山市", "岡山暮らしラボ", ["お試し住宅を整備。"])]),
    ]:
        text(page, x0, 70, theme, 14)
        text(page, x0 + 4, 100, "主な事例", 11)
        y = 122
        for place, name, desc in cases:
            text(page, x0, y, place, 10)
            text(page, x0 + 11 * len(place) + 12, y, name, 11)
            for line in desc:
                y += 16
                text(page, x0 - 4, y, line, 10)
            y += 24
    return parsed(doc)


def test_case_studies_read_on_a_redrawn_theme_page():
    rows = [r.values for r in extract_case_studies(_theme_page())]
    assert [(r["theme"], r["place_raw"], r["consortium_name_raw"], r["description"]) for r in rows] == [
        ("移動に関する取組", "長野県上田市", "上田移動推進協議会", "バスの定期券を二地域居住者に提供した。"),
        ("住まいに関する取組", "高知県", "高知住まいネット", "空き家を改修した。"),
        ("住まいに関する取組", "岡山県岡山市", "岡山暮らしラボ", "お試し住宅を整備。"),
    ]
    assert rows[0]["prefecture"] == "長野県" and rows[0]["municipality"] == "上田市"


def test_pages_without_case_lists_yield_nothing():
    doc = pymupdf.open()
    page = new_page(doc)
    text(page, 40, 60, "長野県上田市  上田移動推進協議会", 11)
    text(page, 40, 80, "バスの定期券を提供した。", 10)
    assert extract_case_studies(parsed(doc)) == []


# ---------------------------------------------------------------- linking

CONSORTIA = pd.DataFrame(
    [
        ("d|1", 1, "三条市", "燕三条ローカルイノベーション推進コンソーシアム", True),
        ("d|2", 2, "下田市 東松島市", "コミュニティマネージャー育成型二地域居住推進コンソーシアム", False),
        ("d|3", 3, "森町", "森町二地域居住推進コンソーシアム", False),
        ("d|4", 4, "北見町", "北見市二地域ライフ推進コンソーシアム", True),
        ("d|5", 5, "和歌山市", "二地域居住等促進空家活用和歌山モデル事業コンソーシアム", True),
        ("d|6", 6, "鳥羽市", "鳥羽市二地域居住促進コンソーシアム", True),
        ("d|7", 7, "横瀬町", "横瀬町二地域居住コンソーシアム", True),
    ],
    columns=["consortium_id", "row", "region_raw", "consortium_name_raw", "tour"],
).assign(doc_id="d")


def test_link_exact_fuzzy_place_and_contradiction():
    cases = pd.DataFrame(
        {
            "doc_id": ["d"] * 6 + ["other"],
            "consortium_name_raw": [
                "燕三条ローカルイノベーション推進コンソーシアム",
                "CM育成型二地域居住推進コンソーシアム",
                "北見市二地域ライフ推進協議会",
                "北見市二地域ライフ推進協議会",
                "地域居住・関係人口創出コンソーシアム",
                "横瀬町二地域居住推進コンソーシアム",
                "燕三条ローカルイノベーション推進コンソーシアム",
            ],
            "place_raw": ["新潟県三条市", "静岡・宮城", "北海道北見市", "和歌山県和歌山市", "三重県鳥羽市", "埼玉県横瀬町", "新潟県三条市"],
        }
    )
    out = link_case_studies(cases, CONSORTIA)
    assert list(out["link_method"]) == ["exact", "fuzzy", "fuzzy", "none", "place", "fuzzy", "none"]
    assert [None if pd.isna(c) else c for c in out["consortium_id"]] == ["d|1", "d|2", "d|4", None, "d|6", "d|7", None]
    assert list(out["flag"]) == [False, False, False, True, True, False, True]
    assert "d|4" in out.loc[3, "flag_reason"] and "d|5" in out.loc[3, "flag_reason"]
    assert "linked by place" in out.loc[4, "flag_reason"]
    assert out.loc[6, "flag_reason"] == "no consortia to link to in this document"


def test_unlinkable_name_is_flagged_with_best_candidate():
    link = link_one("全く別の協議会", None, CONSORTIA)
    assert link.consortium_id is None and link.flag and "best" in link.flag_reason


def test_place_reading_and_agreement():
    assert read_places("下田市 東松島市").prefectures == {"静岡県", "宮城県"}
    assert place_agreement(read_places("静岡・宮城"), read_places("下田市 東松島市")) == "prefecture"
    assert place_agreement(read_places("北海道北見市"), read_places("北見町")) == "municipality"
    assert place_agreement(read_places("和歌山県和歌山市"), read_places("北見町")) == "disagree"
    assert place_agreement(read_places("複数地域"), read_places("高知県、鳥取県、佐賀県")) == "unknown"
    assert parse_place("和歌山県田辺市等").municipality == "田辺市等"
    assert name_similarity("CHIZU Incubation Platform", "CHizu Incubation Platform") == 1.0


def _headings_without_bold_face() -> list:
    """A case list set in one face: headings are told by layout only (no bold, no size).

    The first heading wraps (its first line fills the column, its second ends short);
    the second heading's place is no prefecture (複数地域) and is set off by a gap; its
    description opens with a Latin word and a space, which is no place.
    """
    doc = pymupdf.open()
    page = new_page(doc)
    x0, size, pitch = 40, 10, 14
    text(page, x0, 70, "移動に関する取組", 14)
    text(page, x0, 100, "主な事例", 10)
    y = 100
    for parts in [
        ("秋田県大館市", "なりわい共創コミュニティ"),  # fills the measure: 6 + 1.5 gap + 12 = 19.5 glyphs
        (None, "構築型コンソーシアム"),
        (None, "地域の担い手不足や仕事の魅力不足といった"),  # 20 glyphs: the column's measure
        (None, "課題に対応した。"),
        ("複数地域", "ANA二地域居住推進"),
        (None, "JRE ポイントで移動費を還元するため、"),  # a Latin word and a space: no place
        (None, "負担軽減策を設定。"),
        ("長野県上田市", "上田移動推進協議会の交通"),  # fills the measure, as does the line below,
        ("+2", "バスの定期券を二地域居住者に提供した事業。"),  # set off by a paragraph's extra 2 pt only
    ]:
        y += pitch
        place, rest = parts
        if place == "+2":
            place, y = None, y + 2
        if place:
            text(page, x0, y, place, size)
            text(page, x0 + size * (len(place) + 1.5), y, rest, size)
        else:
            text(page, x0, y, rest, size)
    return parsed(doc)


def test_headings_without_a_bold_face_are_read_from_layout():
    rows = [r.values for r in extract_case_studies(_headings_without_bold_face())]
    assert [(r["theme"], r["place_raw"], r["consortium_name_raw"], r["description"]) for r in rows] == [
        ("移動に関する取組", "秋田県大館市", "なりわい共創コミュニティ構築型コンソーシアム", "地域の担い手不足や仕事の魅力不足といった課題に対応した。"),
        ("移動に関する取組", "複数地域", "ANA二地域居住推進", "JREポイントで移動費を還元するため、負担軽減策を設定。"),
        ("移動に関する取組", "長野県上田市", "上田移動推進協議会の交通", "バスの定期券を二地域居住者に提供した事業。"),
    ]
