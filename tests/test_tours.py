"""Monitor tours: reviewed goldens, re-drawn panels and tables, age bands, and the cross-checks."""

from __future__ import annotations

import json

import pandas as pd
import pymupdf
import pytest

from conftest import SAMPLES, frame_rows, golden_rows
from extractors.tour_statements import Statement, tour_statements
from pipeline.checks.tours import check_tours, cross_check_tours
from extractors.tours import extract_tours
from extractors.text.values import age_band
from tests.tables4_pdf import new_page, parsed, table, text

TOUR_COLUMNS = [
    "page", "bbox", "tour_id", "consortium_name_raw", "participants", "participants_male", "participants_female",
    "households", "stay_days", "table_total", "consortium_id", "link_method", "link_score", "flag", "flag_reason",
]
AGE_COLUMNS = ["page", "tour_id", "sex", "age_band_raw", "age_min", "age_max", "count"]


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    return _in_order(frame_rows(frame, columns))


def _in_order(rows: list[dict]) -> list[dict]:
    """Row order is not part of the comparison (goldens are stored in key order)."""
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, ensure_ascii=False))


def test_tours_equal_reviewed_golden(senkoteki_extraction):
    frame = senkoteki_extraction.frames["tours"]
    assert _records(frame, TOUR_COLUMNS) == _in_order(golden_rows("mlit_r7_senkoteki", "tours", TOUR_COLUMNS))
    named = frame.dropna(subset=["consortium_name_raw"]).set_index("consortium_name_raw")
    assert named.loc["横瀬町二地域居住推進コンソーシアム", ["participants", "households", "stay_days"]].tolist() == [18, 7, 502]
    assert named.loc["石巻ふるさと二地域居住コンソーシアム", ["participants_male", "participants_female"]].tolist() == [17, 11]
    assert named["consortium_id"].notna().all()


def test_tour_age_counts_equal_reviewed_golden(senkoteki_extraction):
    frame = senkoteki_extraction.frames["tour_age_counts"]
    assert _records(frame, AGE_COLUMNS) == _in_order(golden_rows("mlit_r7_senkoteki", "tour_age_counts", AGE_COLUMNS))


def test_cross_checks_report_mismatches_with_both_values(senkoteki_extraction):
    results = {r.name: r for r in check_tours(senkoteki_extraction.frames)}
    assert (results["tour_organisations_vs_matrix"].expected, results["tour_organisations_vs_matrix"].actual) == (21, 21)
    total = results["tour_participants_total"]
    assert (total.expected, total.actual, total.ok) == (360, 170, False)
    assert "360" in total.detail and "170" in total.detail
    # The 52-participant report's table counts representatives only (38): reported, not hidden.
    assert (results["tour_table_total:1"].expected, results["tour_table_total:1"].actual) == (52, 38)
    assert all(not r.blocking for r in results.values())
    assert all(r.ok for n, r in results.items() if n.startswith(("tour_marked_in_matrix", "tour_table_row_sum", "tour_table_column_sum")))


def test_matrix_disagreeing_with_statement_fails_the_check():
    consortia = pd.DataFrame({"doc_id": "d", "consortium_id": ["d|1", "d|2", "d|3"], "tour": [True, False, None]})
    tours = pd.DataFrame(
        {"doc_id": "d", "page": 5, "tour_id": [1], "consortium_name_raw": ["x"], "participants": [10], "participants_male": [6],
         "participants_female": [3], "table_total": [None], "consortium_id": ["d|2"]}
    )
    statements = [Statement("tour_organisations", 2, "ツアーは2団体で実施", 3, "d")]
    results = {r.name: r for r in cross_check_tours(tours, consortia, statements)}
    assert (results["tour_organisations_vs_matrix"].expected, results["tour_organisations_vs_matrix"].actual) == (2, 1)
    assert not results["tour_organisations_vs_matrix"].ok
    assert not results["tour_marked_in_matrix:1"].ok  # linked to a consortium without ツアー実施
    assert (results["tour_sex_sum:1"].expected, results["tour_sex_sum:1"].actual, results["tour_sex_sum:1"].ok) == (10, 9, False)


def test_statements_found_by_pattern():
    doc = pymupdf.open()
    page = new_page(doc)
    text(page, 40, 60, "モニターツアーは、採択30団体のうち、12団体で実施された。", 12)
    text(page, 40, 90, "各団体が実施したモニターツアーには、延べ1,250名が参加をしている。", 12)
    found = {(s.kind, s.value) for s in tour_statements(parsed(doc))}
    assert found == {("tour_organisations", 12), ("tour_participants_total", 1250)}


def _tour_pages() -> list:
    doc = pymupdf.open()
    page = new_page(doc)
    text(page, 30, 30, "モニターツアー事例", 16)
    for x0, name, head, lines in [
        (40, "上田移動推進協議会", "参加実績 12名（5世帯）", ["（内訳：男性7名／女性5名）", "総滞在日数：40日"]),
        (440, "岡山暮らしラボ", "参加実績 9名", ["参加者は首都圏在住者が中心。"]),
    ]:
        text(page, x0, 60, name, 13)
        text(page, x0 + 8, 84, head, 13)
        for i, line in enumerate(lines):
            text(page, x0, 108 + i * 18, line, 11)
    page2 = new_page(doc)
    text(page2, 30, 40, "モニタープログラム参加者の内訳", 14)
    text(page2, 30, 70, "参加者15名（男性8名、女性7名）が参加した。", 11)
    table(page2, 30, 90, [70, 60, 60, 60, 50], [["参加属性", "20代", "30～40代", "50代以上", "合計"], ["男性", "2", "4", "2", "8"], ["女性", "1", "5", "1", "7"], ["合計", "3", "9", "3", "15"]], height=18, size=9)
    return parsed(doc)


def test_tours_read_on_redrawn_panels_and_table():
    records = extract_tours(_tour_pages())
    tours = [r.values for r in records if r.dataset == "tours"]
    assert [(t["consortium_name_raw"], t["participants"], t["participants_male"], t["participants_female"], t["households"], t["stay_days"], t["table_total"]) for t in tours] == [
        ("上田移動推進協議会", 12, 7, 5, 5, 40, None),
        ("岡山暮らしラボ", 9, None, None, None, None, None),
        (None, 15, 8, 7, None, None, 15),
    ]
    ages = [r.values for r in records if r.dataset == "tour_age_counts"]
    assert {(a["sex"], a["age_band_raw"], a["age_min"], a["age_max"], a["count"]) for a in ages if a["sex"] == "female"} == {
        ("female", "20代", 20, 29, 1),
        ("female", "30～40代", 30, 49, 5),
        ("female", "50代以上", 50, None, 1),
        ("female", "合計", None, None, 7),
    }


@pytest.mark.parametrize(
    "raw, band",
    [("20代", (20, 29)), ("10代~20代", (10, 29)), ("30～40代", (30, 49)), ("50代以上", (50, None)), ("60歳以上", (60, None)), ("20歳未満", (None, 19)), ("合計", None)],
)
def test_age_bands(raw, band):
    got = age_band(raw)
    assert (None if got is None else (got.min_age, got.max_age)) == band


def test_tables4_extractors_yield_nothing_on_other_samples():
    """Every extractor runs on every document: these samples hold none of the four structures."""
    from extractors.budget import extract_budget_items
    from extractors.case_studies import extract_case_studies
    from extractors.expert_opinions import extract_expert_opinions
    from pipeline.reading.pdf import iter_pages, open_document

    for name in ("mic_tsuchi_71.pdf", "join_kanousei.pdf", "mlit_gaiyo.pdf"):
        doc = open_document(SAMPLES / name, name)
        pages = list(iter_pages(doc, name, "0" * 64))
        assert extract_tours(pages) == []
        assert extract_case_studies(pages) == []
        assert extract_expert_opinions(pages) == []
        if name != "mlit_gaiyo.pdf":
            assert extract_budget_items(pages) == []


def stacked_panels_pdf() -> bytes:
    """A portrait page whose tour panels sit one above the other, each label a little left of the one above."""
    doc = pymupdf.open()
    page = new_page(doc, landscape=False)
    text(page, 40, 40, "モニターツアーの実施状況", 14)
    y = 80
    for x0, name, head, lines in [
        (50, "上田移動推進協議会", "参加実績 12名（5世帯）", ["（内訳：男性7名／女性5名）", "総滞在日数：40日"]),
        (46, "岡山暮らしラボ", "参加実績 9名", ["参加者は首都圏在住者が中心。", "女性4名が参加。"]),
        (48, "鳥羽しごと体験会", "参加実績 6名（3世帯）", ["総滞在日数：12日"]),
    ]:
        text(page, x0, y, name, 12)
        text(page, x0 + 6, y + 20, head, 11)
        for i, line in enumerate(lines):
            text(page, x0 + 6, y + 38 + i * 16, line, 10)
        y += 38 + len(lines) * 16 + 40
    return doc.tobytes()


def test_panels_stacked_on_a_portrait_page_are_read_each_with_its_own_figures():
    doc = pymupdf.open(stream=stacked_panels_pdf(), filetype="pdf")
    records = extract_tours(parsed(doc))
    tours = [r.values for r in records if r.dataset == "tours"]
    assert [(t["consortium_name_raw"], t["participants"], t["participants_male"], t["participants_female"], t["households"], t["stay_days"]) for t in tours] == [
        ("上田移動推進協議会", 12, 7, 5, 5, 40),
        ("岡山暮らしラボ", 9, None, 4, None, None),  # the panel above's figures stay with it
        ("鳥羽しごと体験会", 6, None, None, 3, 12),
    ]
    boxes = [r.provenance.bbox for r in records if r.dataset == "tours"]
    assert all(a[3] <= b[1] for a, b in zip(boxes, boxes[1:]))  # one panel's box ends above the next one's
