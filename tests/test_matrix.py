"""The ●/○ matrix: exact rows against the reviewed goldens, and generality on re-rendered variants."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from conftest import GOLDENS
from extractors.matrix import extract_matrices, link_by_name, parse_round, split_list
from pipeline.checks.consortia import check_statements
from pipeline.reading.pdf import iter_pages, open_document
from tests.matrix_pdf import MatrixSpec, Variant, render

GOLDEN = GOLDENS / "mlit_r7_senkoteki"


def _golden(name: str) -> list[dict]:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def _project(rows: list[dict], columns: list[str]) -> list[tuple]:
    return sorted(tuple(json.dumps(r.get(c), ensure_ascii=False) for c in columns) for r in rows)


def test_consortia_equal_reviewed_golden(senkoteki_extraction):
    frame = senkoteki_extraction.frames["consortia"]
    columns = ["row", "round", "region_raw", "consortium_name_raw", "tour", "page", "bbox", "consortium_id"]
    assert len(frame) == 44
    assert Counter(frame["round"]) == {1: 26, 2: 14, 3: 4}
    assert _project(frame.to_dict("records"), columns) == _project(_golden("consortia"), columns)


def test_theme_marks_equal_reviewed_golden(senkoteki_extraction):
    frame = senkoteki_extraction.frames["theme_marks"]
    columns = ["row", "group", "theme", "mark", "page", "bbox", "mark_source"]
    assert _project(frame.to_dict("records"), columns) == _project(_golden("theme_marks"), columns)
    assert set(frame["group"]) == {"中長期的課題", "取組テーマ"}
    assert frame["theme"].nunique() == 13


def test_consortium_issues_equal_golden_and_link_noisy_names(senkoteki_extraction):
    frame = senkoteki_extraction.frames["consortium_issues"]
    columns = ["row", "round", "consortium_name_raw", "themes_raw", "themes", "issues_raw", "issues", "consortium_id", "link_method"]
    assert _project(frame.to_dict("records"), columns) == _project(_golden("consortium_issues"), columns)
    # Every row links to the matrix row at the same position, including the three
    # whose names are printed differently in the two tables.
    assert (frame["consortium_id"] == frame["row"].map(lambda r: f"mlit_r7_senkoteki|{r}")).all()
    assert Counter(frame["link_method"]) == {"exact": 41, "fuzzy": 3}


def test_report_statements_match_matrix(senkoteki_extraction):
    results = check_statements(senkoteki_extraction.frames)
    assert {r.name: (r.expected, r.actual, r.ok) for r in results} == {
        "consortia_total": (44, 44, True),
        "consortia_in_round_1": (26, 26, True),
        "consortia_in_round_2": (14, 14, True),
        "consortia_in_round_3": (4, 4, True),
    }


def test_statement_check_fails_with_rows_named(senkoteki_extraction):
    frames = dict(senkoteki_extraction.frames)
    frames["consortia"] = frames["consortia"][frames["consortia"]["row"] != 30]
    failed = [r for r in check_statements(frames) if not r.ok]
    assert {r.name for r in failed} == {"consortia_total", "consortia_in_round_2"}
    assert all("matrix has" in r.detail and "rows:" in r.detail for r in failed)


# ---------------------------------------------------------------- variants


def _spec_from_golden() -> MatrixSpec:
    marks = _golden("theme_marks")
    groups: dict[str, list[str]] = {}
    for m in sorted(marks, key=lambda m: m["bbox"][0]):
        if m["theme"] not in groups.setdefault(m["group"], []):
            groups[m["group"]].append(m["theme"])
    by_row: dict[int, dict] = {}
    for m in marks:
        by_row.setdefault(m["row"], {})[m["theme"]] = m["mark"]
    rows = [
        {"round": c["round"], "region": c["region_raw"], "name": c["consortium_name_raw"], "tour": c["tour"], "marks": by_row.get(c["row"], {})}
        for c in sorted(_golden("consortia"), key=lambda c: c["row"])
    ]
    return MatrixSpec(groups=[("中長期的課題", groups["中長期的課題"]), ("取組テーマ", groups["取組テーマ"])], rows=rows)


def _read_back(pdf: bytes, tmp_path: Path) -> list[tuple]:
    path = tmp_path / "variant.pdf"
    path.write_bytes(pdf)
    doc = open_document(path, str(path))
    records = extract_matrices(list(iter_pages(doc, "variant", "0" * 64)))
    rows = {r.values["row"]: r.values for r in records if r.dataset == "consortia"}
    marks: dict[int, dict] = {}
    for r in records:
        if r.dataset == "theme_marks":
            marks.setdefault(r.values["row"], {})[r.values["theme"]] = r.values["mark"]
    return sorted(
        (v["round"], "".join(v["region_raw"].split()), "".join(v["consortium_name_raw"].split()), v["tour"], tuple(sorted(marks.get(n, {}).items())))
        for n, v in rows.items()
    )


def _expected(spec: MatrixSpec) -> list[tuple]:
    # Whitespace is compared folded: a re-rendering wraps cells at other points.
    return sorted((r["round"], "".join(r["region"].split()), "".join(r["name"].split()), r["tour"], tuple(sorted(r["marks"].items()))) for r in spec.rows)


VARIANTS = {
    "a4_portrait_split_30": Variant(page_size=(595, 842), rows_per_page=30, fontsize=5.5),
    "a3_split_15_reversed_pages": Variant(page_size=(1191, 842), rows_per_page=15, reverse_pages=True, fontsize=8),
    "glyph_variants": Variant(glyphs={"●": "⚫", "○": "〇", "—": "－"}),
    "large_circle_and_prose_pages": Variant(glyphs={"○": "◯"}, filler_pages=2, rows_per_page=11),
    "last_page_holds_one_row": Variant(rows_per_page=43, fontsize=4.5),
    "continuation_without_header": Variant(repeat_header=False, rows_per_page=20, fontsize=6.5),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_matrix_reads_re_rendered_variants(name, tmp_path):
    spec = _spec_from_golden()
    assert _read_back(render(spec, VARIANTS[name]), tmp_path) == _expected(spec)


def test_theme_columns_in_another_order(tmp_path):
    spec = _spec_from_golden()
    reordered = MatrixSpec(groups=[(g, list(reversed(ts))) for g, ts in reversed(spec.groups)], rows=spec.rows)
    assert _read_back(render(reordered), tmp_path) == _expected(spec)


def test_variant_row_order_follows_the_table(tmp_path):
    spec = _spec_from_golden()
    path = tmp_path / "v.pdf"
    path.write_bytes(render(spec, Variant(rows_per_page=30)))
    records = extract_matrices(list(iter_pages(open_document(path, "v"), "v", "0" * 64)))
    names = ["".join(r.values["consortium_name_raw"].split()) for r in records if r.dataset == "consortia"]
    assert names == ["".join(r["name"].split()) for r in spec.rows]


# ---------------------------------------------------------------- small pieces


@pytest.mark.parametrize("text,expected", [("1次", 1), ("第２次", 2), ("三次", 3), ("", 0), ("採択", 0)])
def test_parse_round(text, expected):
    assert parse_round(text) == expected


def test_split_list_keeps_brackets_whole():
    assert split_list("交通網、教育・住まい", "、・") == ["交通網", "教育", "住まい"]
    assert split_list("「なりわい」や働き方の創出、宿泊所不足", "、・") == ["「なりわい」や働き方の創出", "宿泊所不足"]
    assert split_list("「学び・遊び」の場", "、・") == ["「学び・遊び」の場"]


def test_link_by_name_never_guesses_across_rounds():
    rows = [(1, "甲コンソーシアム"), (2, "全く別の名前")]
    targets = [(1, "甲コンソーシアム", "a"), (1, "乙協議会", "b")]
    assert link_by_name(rows, targets, 0.6) == [("a", "exact", 1.0), (None, "none", 0.0)]
