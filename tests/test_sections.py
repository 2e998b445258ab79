"""Sections and footnotes: reviewed goldens on two samples, and layouts we make ourselves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors.text.layout import text_lines
from extractors.text.numbering import LevelStack, label_of
from extractors.text.pagetext import reading_order
from extractors.sections import extract_sections
from pipeline.document.extract import extract_pdf, parse_pages
from pipeline.publish.writer import validate_frames
from tests.conftest import GOLDENS, SAMPLES
from tests.narrative_pdf import PageSpec, Text, grid_rules, make_pdf

COMPARED = ("section_id", "parent_id", "level", "kind", "label", "heading_raw", "text_raw", "page_start", "page_end", "page", "bbox")


def _golden(doc_id: str, name: str) -> list[dict]:
    return json.loads((GOLDENS / doc_id / f"{name}.json").read_text(encoding="utf-8"))


def _rows(frame, columns) -> list[dict]:
    rows = json.loads(frame.to_json(orient="records", force_ascii=False))
    return [{c: r[c] for c in columns} for r in rows]


@pytest.fixture(scope="module")
def join_extraction():
    return extract_pdf(SAMPLES / "join_kanousei.pdf", "join_kanousei")


@pytest.fixture(scope="module")
def tsuchi_extraction():
    return extract_pdf(SAMPLES / "mic_tsuchi_71.pdf", "mic_tsuchi_71")


@pytest.mark.parametrize("doc_id", ["join_kanousei", "mic_tsuchi_71"])
def test_sections_equal_reviewed_golden(doc_id, join_extraction, tsuchi_extraction):
    result = join_extraction if doc_id == "join_kanousei" else tsuchi_extraction
    assert _rows(result.frames["sections"], COMPARED) == [{c: r[c] for c in COMPARED} for r in _golden(doc_id, "sections")]


def test_join_heading_tree(join_extraction):
    frame = join_extraction.frames["sections"].set_index("section_id")
    # 2.調査内容 > (4)笑むすび合同会社 > ③二地域居住に関する意見, continuing from page 10
    leaf = frame.loc[frame["heading_raw"] == "③二地域居住に関する意見"].iloc[0]
    parent = frame.loc[leaf["parent_id"]]
    assert parent["heading_raw"].startswith("(4)") and frame.loc[parent["parent_id"], "heading_raw"] == "2.調査内容"
    # the 目次 lists every heading again: none of its entries may become a section
    assert (frame["heading_raw"] == "(1)調査の背景と目的").sum() == 1
    # text inside the ruled table on page 3 belongs to `tables`, not to the section text
    assert "特徴的な歴史や文化" not in "".join(frame["text_raw"])
    assert not frame["text_raw"].str.contains(r"^\d+$", regex=True).any()


def test_join_footnotes_link_marker_body_and_section(join_extraction):
    notes = join_extraction.frames["footnotes"]
    sections = join_extraction.frames["sections"].set_index("section_id")
    assert _rows(notes, ("footnote_id", "label", "section_id", "marker_page", "text_raw")) == [
        {c: r[c] for c in ("footnote_id", "label", "section_id", "marker_page", "text_raw")} for r in _golden("join_kanousei", "footnotes")
    ]
    first = notes.iloc[0]
    assert first["label"] == "1" and first["text_raw"].startswith("1移住した定住人口")
    assert sections.loc[first["section_id"], "heading_raw"] == "(1)調査の背景と目的"
    # footnote bodies are not section text
    assert "遊休物件をリノベーション" not in "".join(sections["text_raw"])


def test_frames_validate(join_extraction, tsuchi_extraction):
    for result in (join_extraction, tsuchi_extraction):
        validated = validate_frames(result.frames, "test-run")
        assert len(validated["sections"]) == len(result.frames["sections"])
        assert validated["value_reviews"].empty  # no value was set aside


@pytest.mark.parametrize(
    "text,kind,label",
    [
        ("1.はじめに", "decimal", "1."),
        ("１．はじめに", "decimal", "１．"),
        ("（１）対象団体", "paren_number", "（１）"),
        ("(2)事例", "paren_number", "(2)"),
        ("①概要", "circled", "①"),
        ("第3章 まとめ", "chapter", "第3章"),
        ("● 交通", "bullet_filled", "●"),
        ("ア．要件", "katakana", "ア．"),
        ("Ⅱ その他", "roman", "Ⅱ"),
        ("例）・相談会", "example", "例）"),
        ("第⼆章 ⼈⼝の動向", "chapter", "第⼆章"),  # Kangxi radicals as PowerPoint writes them
        ("（⼀）概要", "paren_kanji", "（⼀）"),
        ("第１　感染拡大防止策", "dai", "第１"),
    ],
)
def test_labels(text, kind, label):
    found = label_of(text)
    assert found is not None and (found.kind, found.label if hasattr(found, "label") else found.text) == (kind, label)


@pytest.mark.parametrize(
    "text", ["2020年4月に", "0.5（ただし", "1,827万人", "100万円", "3月31日", "4つの観点", "本文です", "第三者の意見", "第31号による", "第3回会議"]
)
def test_numbers_in_prose_are_not_labels(text):
    assert label_of(text) is None


def test_levels_follow_the_document_not_a_fixed_hierarchy():
    stack = LevelStack()
    # a document that opens with (1) and uses 1. only later, at the same size
    assert [stack.push(k, 10.5) for k in ["paren_number", "circled", "paren_number", "decimal", "paren_number"]] == [0, 1, 0, 1, 0]
    stack = LevelStack()
    # a larger unnumbered heading cannot sit under a smaller one
    assert [stack.push(k, s) for k, s in [("decimal", 10.5), ("paren_number", 10.5), ("style:14.0:B", 14.0), ("decimal", 10.5)]] == [0, 1, 0, 1]


def _report_pages() -> list[PageSpec]:
    """A two-page report: title, 1./(1) headings, a footer page number, a ruled table, a footnote."""
    body = "二地域居住の推進に向けて地域の受入環境を整えることが求められている。これは本文の行である。"
    page1 = PageSpec(
        texts=[
            Text(150, 80, "地域の暮らしに関する調査報告", size=18),
            Text(60, 130, "1.はじめに", size=12),
            Text(60, 155, "(1)調査の目的", size=11),
            Text(70, 180, body),
            Text(60, 198, "関係人口と呼ばれる人々が増えている。"),
            Text(60 + 10.5 * 6, 193, "1", size=6),  # superscript marker after 関係人口と
            Text(60, 230, "(2)調査の方法", size=11),
            Text(70, 255, body),
            Text(100, 300, "地域名"),
            Text(300, 300, "取組"),
            Text(100, 325, "甲市"),
            Text(300, 325, "●"),
            Text(60, 770, "1", size=6),
            Text(66, 774, "地域と多様に関わる人々のこと。", size=8),
            Text(290, 815, "- 1 -", size=9),
        ],
        rules=grid_rules(90, 285, [200, 150], 25, 2),
    )
    page2 = PageSpec(
        texts=[
            Text(70, 80, body),
            Text(60, 120, "2.調査の結果", size=12),
            Text(60, 145, "(1)概要", size=11),
            Text(70, 170, body),
            Text(290, 815, "- 2 -", size=9),
        ]
    )
    return [page1, page2]


def _sections(tmp_path: Path, pages: list[PageSpec], doc_id: str = "made") -> tuple[list[dict], list[dict]]:
    path = make_pdf(pages, tmp_path / f"{doc_id}.pdf")
    _, parsed = parse_pages(path, doc_id, "0" * 64, str(path), cache_dir=None)
    records = extract_sections(parsed)
    sections = [r.values | {"page": r.provenance.page} for r in records if r.dataset == "sections"]
    notes = [r.values for r in records if r.dataset == "footnotes"]
    return sections, notes


def test_made_report_tree_footer_table_and_footnote(tmp_path):
    sections, notes = _sections(tmp_path, _report_pages())
    tree = [(s["level"], s["heading_raw"], s["parent_id"]) for s in sections]
    assert tree == [
        (0, "地域の暮らしに関する調査報告", None),
        (1, "1.はじめに", "made#s1"),
        (2, "(1)調査の目的", "made#s2"),
        (2, "(2)調査の方法", "made#s2"),
        (1, "2.調査の結果", "made#s1"),
        (2, "(1)概要", "made#s5"),
    ]
    method = sections[3]
    # the section runs over the page break; table cells and page numbers are not its text
    assert method["page_start"] == 1 and method["page_end"] == 2
    assert "甲市" not in method["text_raw"] and "- 1 -" not in method["text_raw"]
    assert method["text_raw"].count("二地域居住の推進") == 2
    assert [(n["label"], n["section_id"], n["marker_page"]) for n in notes] == [("1", "made#s3", 1)]
    assert "地域と多様に関わる人々" in notes[0]["text_raw"]
    assert all("地域と多様に関わる人々" not in s["text_raw"] for s in sections)


def test_made_report_starting_with_parenthesised_numbers(tmp_path):
    """(1) first and 1. later: levels come from the order kinds appear."""
    page = PageSpec(
        texts=[
            Text(60, 80, "(1) 背景", size=11),
            Text(70, 105, "背景の本文である。"),
            Text(60, 140, "1. 詳細", size=11),
            Text(70, 165, "詳細の本文である。"),
            Text(60, 200, "(2) 課題", size=11),
            Text(70, 225, "課題の本文である。"),
        ]
    )
    sections, _ = _sections(tmp_path, [page])
    assert [(s["level"], s["label"]) for s in sections] == [(0, "(1)"), (1, "1."), (0, "(2)")]


def test_made_slides_titles_and_panels(tmp_path):
    """Landscape pages: the top title heads each slide; side-by-side panels are read panel by panel."""
    wide = (842.0, 595.0)
    slides = []
    for n, (left, right) in enumerate([("交通の課題", "住まいの課題"), ("教育の課題", "仕事の課題")], start=1):
        slides.append(
            PageSpec(
                size=wide,
                texts=[
                    Text(40, 50, f"{n}.取組の概要と事例", size=22),
                    Text(40, 120, f"●{left}", size=14),
                    Text(40, 145, "左の枠の一行目の説明文", size=11),
                    Text(40, 160, "左の枠の二行目の説明文", size=11),
                    Text(450, 120, f"●{right}", size=14),
                    Text(450, 145, "右の枠の一行目の説明文", size=11),
                    Text(450, 160, "右の枠の二行目の説明文", size=11),
                    Text(780, 570, str(n), size=9),
                ],
            )
        )
    sections, _ = _sections(tmp_path, slides)
    assert [(s["level"], s["kind"], s["heading_raw"]) for s in sections] == [
        (0, "slide_title", "1.取組の概要と事例"),
        (1, "bullet_filled", "●交通の課題"),
        (1, "bullet_filled", "●住まいの課題"),
        (0, "slide_title", "2.取組の概要と事例"),
        (1, "bullet_filled", "●教育の課題"),
        (1, "bullet_filled", "●仕事の課題"),
    ]
    assert sections[1]["text_raw"] == "左の枠の一行目の説明文\n左の枠の二行目の説明文"
    assert sections[2]["text_raw"] == "右の枠の一行目の説明文\n右の枠の二行目の説明文"


def test_reading_order_keeps_columns_together(tmp_path):
    page = PageSpec(
        texts=[
            Text(40, 60, "左一"), Text(300, 60, "右一"),
            Text(40, 75, "左二"), Text(300, 75, "右二"),
        ]
    )
    path = make_pdf([page], tmp_path / "cols.pdf")
    _, parsed = parse_pages(path, "cols", "0" * 64, str(path), cache_dir=None)
    assert [ln.text for ln in reading_order(text_lines(parsed[0]))] == ["左一", "左二", "右一", "右二"]


def test_a_pages_lines_are_one_answer_however_the_question_is_spelled(tmp_path):
    # Readers ask for a page's lines with defaults, positionally or by keyword, and with vertical
    # stacks: on a page without a 縦書き stack all of these are one answer, computed once.
    path = make_pdf([PageSpec(texts=[Text(40, 60, "左一"), Text(300, 60, "右一"), Text(40, 75, "左二")])], tmp_path / "p.pdf")
    _, parsed = parse_pages(path, "p", "0" * 64, str(path), cache_dir=None)
    page = parsed[0]
    first = text_lines(page)
    for again in (text_lines(page, 3.0), text_lines(page, gap_factor=3.0), text_lines(page, vertical=True), text_lines(page, 3.0, None, True)):
        assert again == first and all(a is b for a, b in zip(again, first))
    assert text_lines(page) is not first  # each caller gets its own list of the shared lines
    # Another gap factor is another question; a run that splits alike at both is the same line object.
    wide = text_lines(page, gap_factor=100.0)
    assert [ln.text for ln in wide] == ["左一右一", "左二"] and [ln.text for ln in first] == ["左一", "右一", "左二"]
    assert wide[1] is first[2] and wide[0] is not first[0]


def test_document_without_text_gives_no_sections(tmp_path):
    path = make_pdf([PageSpec()], tmp_path / "blank.pdf")
    _, parsed = parse_pages(path, "blank", "0" * 64, str(path), cache_dir=tmp_path / "cache")
    assert extract_sections(parsed) == []


def test_overprinted_bold_reads_once_and_counts_as_bold(tmp_path):
    """Word's simulated bold draws a heading several times, shifted by a fraction of a point."""
    texts = [Text(60 + dx, 80 + dy, "Ⅰ総合戦略について", size=12) for dx, dy in [(0, 0), (0.24, 0), (0, 0.24), (0.24, 0.24)]]
    texts += [Text(70, 105, "本文の一行目である。"), Text(60 + 0, 140, "Ⅱ基本的な視点", size=12), Text(60.24, 140, "Ⅱ基本的な視点", size=12)]
    texts += [Text(70, 165, "本文の二行目である。")]
    sections, _ = _sections(tmp_path, [PageSpec(texts=texts)])
    assert [(s["heading_raw"], s["text_raw"]) for s in sections] == [
        ("Ⅰ総合戦略について", "本文の一行目である。"),
        ("Ⅱ基本的な視点", "本文の二行目である。"),
    ]


def test_kome_notes_are_footnotes_of_their_section(tmp_path):
    texts = [
        Text(60, 80, "1.対象経費", size=12),
        Text(70, 105, "対象となる経費は次のとおり。"),
        Text(70, 125, "※令和2年4月1日以降の事業に限る。"),
        Text(60, 160, "2.留意事項", size=12),
        Text(70, 185, "留意事項の本文。"),
    ]
    sections, notes = _sections(tmp_path, [PageSpec(texts=texts)])
    assert [(n["kind"], n["label"], n["section_id"], n["text_raw"]) for n in notes] == [
        ("note", "※", "made#s1", "※令和2年4月1日以降の事業に限る。")
    ]
    # the note stays in the text it qualifies
    assert sections[0]["text_raw"].endswith("※令和2年4月1日以降の事業に限る。")
