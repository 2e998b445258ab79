"""A table read twice (text and scan) is marked so it is counted once, and the scan takes the text's names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.document.extract import concat_frames, extract_pdf
from pipeline.document.renditions import mark_renditions

NAMES = ["釧路活性化推進プロジェクトチーム", "厚真町二地域居住コンソーシアム", "石巻市ふるさとコンソーシアム", "塩尻地域推進コンソーシアム", "那須町まちづくりコンソーシアム"]


def frames(scan_names: list[str], scan_themes: list[str]) -> dict[str, pd.DataFrame]:
    rows, marks = [], []
    for doc, ocr, names, themes in (("text", False, NAMES, ["経費削減", "防災"]), ("scan", True, scan_names, scan_themes)):
        for i, name in enumerate(names, start=1):
            rows.append({"doc_id": doc, "consortium_id": f"{doc}#{i}", "row": i, "round": 1, "consortium_name_raw": name, "ocr": ocr})
            for theme in themes:
                marks.append({"doc_id": doc, "consortium_id": f"{doc}#{i}", "row": i, "theme_raw": theme, "theme": theme,
                              "theme_match": "exact"})
    return {"consortia": pd.DataFrame(rows), "theme_marks": pd.DataFrame(marks)}


def test_scan_of_a_text_table_is_not_preferred_and_takes_its_names():
    damaged = [n.replace("コンソーシアム", "コンソ一シアム") for n in NAMES]
    out = mark_renditions(frames(damaged, ["経費削时", "防災"]))
    consortia, marks = out["consortia"], out["theme_marks"]
    assert consortia.loc[consortia.doc_id == "scan", "preferred"].eq(False).all()
    assert set(consortia.loc[consortia.doc_id == "scan", "rendition_of"]) == {"text"}
    assert consortia.loc[consortia.doc_id == "text", "preferred"].all()
    assert consortia["preferred"].sum() == len(NAMES)  # one rendition counted
    scan = marks[marks.doc_id == "scan"]
    assert set(scan["theme"]) == {"経費削減", "防災"}
    assert set(scan.loc[scan.theme_raw == "経費削时", "theme_match"]) == {"vocabulary"}


def test_a_different_table_is_no_rendition():
    out = mark_renditions(frames(["全く別の団体", "関係のない協議会", "ほかの委員会", "別の会議", "第三の組織"], ["防災"]))
    assert out["consortia"]["preferred"].all()
    assert out["consortia"]["rendition_of"].isna().all()


@pytest.mark.slow
def test_bundled_scan_is_a_rendition_of_the_text_matrix_with_its_13_theme_names():
    samples = Path(__file__).resolve().parents[1] / "samples"
    text = extract_pdf(samples / "mlit_r7_senkoteki.pdf", "mlit_r7_senkoteki").frames
    scan = extract_pdf(samples / "mlit_r7_ichiran_scan.pdf", "mlit_r7_ichiran_scan").frames
    # Alone, the scan already names its columns with the table's own names (voted across its two pages).
    scan_themes = set(scan["theme_marks"]["theme"])
    text_themes = set(text["theme_marks"]["theme"])
    assert len(text_themes) == 13
    assert scan_themes == text_themes
    out = mark_renditions(concat_frames([text, scan]))
    consortia = out["consortia"]
    assert consortia.loc[consortia.doc_id == "mlit_r7_ichiran_scan", "rendition_of"].eq("mlit_r7_senkoteki").all()
    assert int(consortia["preferred"].sum()) == 44
    preferred = out["theme_marks"][out["theme_marks"]["preferred"]]
    assert set(preferred["doc_id"]) == {"mlit_r7_senkoteki"}
