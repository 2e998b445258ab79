"""The text stage over frames: the reviewed golden of the 44 regions, a consortia table of
self-made damaged names, corrections that explain every change, and the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.text.stage import run_text_stage
from pipeline.model.schema import DATASETS

GOLDENS = Path(__file__).resolve().parent.parent / "samples" / "goldens"

SHA = "0" * 64


def _consortia(regions_and_names: list[tuple[str, str]]) -> pd.DataFrame:
    rows = []
    for i, (region, name) in enumerate(regions_and_names, start=1):
        rows.append(
            {
                "doc_id": "selfmade", "source_sha256": SHA, "page": 1 + i // 20, "bbox": [10.0, 10.0 * i, 500.0, 10.0 * i + 9],
                "extractor": "matrix", "extractor_version": "test", "consortium_id": f"selfmade|{i}", "row": i,
                "round": 1, "region_raw": region, "consortium_name_raw": name, "tour": True, "ocr": False,
                "preferred": True, "rendition_of": None,
            }
        )
    return pd.DataFrame(rows)


def _validate(frames: dict[str, pd.DataFrame]) -> None:
    for name, frame in frames.items():
        if name in DATASETS and not frame.empty:
            DATASETS[name].model.validate(frame.assign(run_id="test-run"))


@pytest.fixture(scope="module")
def selfmade(tmp_path_factory):
    table = _consortia(
        [
            ("旭川巿", "旭川まちなか居住推進協議会"),  # 市 → 巿
            ("函舘市", "はこだて二地域居住コンソーシアム"),  # 館 → 舘
            ("宇都営市", "宇都営市移住推進会議"),  # 宮 → 営, in the name as well
            ("静冈県 伊豆地域等", "伊豆半島二地域居住推進チーム"),
            ("東松 島市", "ひがしまつしま暮らし推進会議"),  # a stray space inside the name
            ("伊達市", "だて暮らしコンソーシアム"),  # 北海道 and 福島県 both have one
            ("府中市", "広島県府中市ふるさと居住推進協議会"),  # the name says which
            ("鹿兒島市", "かごしま二地域居住推進協議会"),  # old form
            ("長木市", "長木市二地域居住協議会"),  # the document's other table spells it right
        ]
    )
    issues = pd.DataFrame(
        [
            {
                "doc_id": "selfmade", "source_sha256": SHA, "page": 3, "bbox": None, "extractor": "matrix",
                "extractor_version": "test", "consortium_id": "selfmade|9", "row": 1, "round": 1,
                "consortium_name_raw": "長井市二地域居住協議会", "themes_raw": "住まい、仕事", "themes": ["住まい", "仕事"],
                "issues_raw": "關係人口の創出", "issues": ["關係人口の創出"], "link_method": "fuzzy", "link_score": 0.9,
            }
        ]
    )
    return run_text_stage({"consortia": table, "consortium_issues": issues}, nlp_cache_dir=tmp_path_factory.mktemp("nlp"))


def test_selfmade_damaged_regions_resolve(selfmade):
    consortia = selfmade["consortia"].set_index("row")
    expected = {
        1: ("旭川市", ["01204"]),
        2: ("函館市", ["01202"]),
        3: ("宇都宮市", ["09201"]),
        4: ("静岡県 伊豆地域等", ["22000"]),
        5: ("東松島市", ["04214"]),
        6: ("伊達市", []),
        7: ("府中市", ["34208"]),
        8: ("鹿児島市", ["46201"]),
        9: ("長井市", ["06209"]),
    }
    for row, (region, codes) in expected.items():
        assert (consortia.at[row, "region"], list(consortia.at[row, "jis_codes"])) == (region, codes), row
    # prefecture: where every place of the region lies; none when a homonym could be in either (伊達市)
    assert [None if pd.isna(p) else p for p in consortia.loc[[1, 4, 6, 9], "prefecture"]] == ["北海道", "静岡県", None, "山形県"]
    assert consortia.at[3, "consortium_name"] == "宇都宮市移住推進会議"
    assert consortia.at[9, "consortium_name"] == "長井市二地域居住協議会"
    assert selfmade["consortium_issues"].at[0, "issues"] == ["関係人口の創出"]


def test_ambiguous_places_are_flagged_with_candidates(selfmade):
    places = selfmade["places"]
    date = places[(places.field == "region_raw") & (places.raw == "伊達市")].iloc[0]
    assert bool(date["ambiguous"]) and pd.isna(date["jis_code"])
    assert sorted(c.split()[0] for c in date["candidates"]) == ["01233", "07213"]
    region = places[places.kind == "region"].iloc[0]
    assert (region["name"], region["prefecture"]) == ("伊豆地域", "静岡県")


def test_selfmade_frames_validate_against_the_schema(selfmade):
    _validate(selfmade)
    assert set(selfmade) >= {"consortia", "consortium_issues", "corrections", "places"}


def _assert_corrections_explain_every_change(frames: dict[str, pd.DataFrame]) -> None:
    corrections = frames["corrections"]
    checked = 0
    for name, frame in frames.items():
        spec = DATASETS.get(name)
        for raw_column in spec.clean_fields if spec else ():
            target = raw_column.removesuffix("_raw")
            for index, row in frame.iterrows():
                key = "|".join(str(row[k]) for k in spec.key)
                mine = corrections[(corrections.dataset == name) & (corrections.record_key == key) & (corrections.field == raw_column)]
                replay = row[raw_column]
                for change in mine.sort_values("seq").itertuples():
                    assert change.raw in replay, (name, key, raw_column, change.raw)
                    replay = replay.replace(change.raw, change.corrected, 1)  # one row per occurrence, in order
                cleaned = row[target]
                if isinstance(cleaned, str):
                    assert replay == cleaned, (name, key, raw_column)
                    checked += 1
    assert checked > 0


def test_corrections_explain_every_change_selfmade(selfmade):
    _assert_corrections_explain_every_change(selfmade)
    rules = set(selfmade["corrections"]["rule"])
    assert {"place_fuzzy", "kyujitai", "spurious_space"} <= rules


def test_senkoteki_regions_equal_reviewed_golden(senkoteki_extraction):
    """The 44 regions of mlit_r7_senkoteki.pdf against codes looked up and reviewed by hand."""
    golden = json.loads((GOLDENS / "mlit_r7_senkoteki" / "consortia_places.json").read_text(encoding="utf-8"))
    frames = senkoteki_extraction.frames
    consortia = frames["consortia"].set_index("row")
    places = frames["places"][frames["places"].field == "region_raw"]
    assert len(golden) == 44
    for expected in golden:
        row = expected["row"]
        assert consortia.at[row, "region_raw"] == expected["region_raw"]
        assert consortia.at[row, "region"] == expected["region"], row
        assert list(consortia.at[row, "jis_codes"]) == expected["jis_codes"], row
        mine = places[places.record_key == f"mlit_r7_senkoteki|{row}"].sort_values("start")
        got = [
            {
                "raw": p.raw, "name": p.name, "prefecture": p.prefecture if isinstance(p.prefecture, str) else None,
                "jis_code": p.jis_code if isinstance(p.jis_code, str) else None, "kind": p.kind, "ambiguous": bool(p.ambiguous),
                "candidates": sorted(c.split()[0] for c in p.candidates) if p.ambiguous else [],
            }
            for p in mine.itertuples()
        ]
        assert got == expected["places"], row


def test_senkoteki_corrections_explain_every_change_and_validate(senkoteki_extraction):
    frames = senkoteki_extraction.frames
    _assert_corrections_explain_every_change(frames)
    _validate(frames)
    repairs = frames["corrections"][frames["corrections"].rule.str.startswith("place_")]
    assert set(zip(repairs.raw, repairs.corrected)) >= {("浦賀町", "浦河町"), ("吉崎市", "壱岐市"), ("中能登庁", "中能登町")}


def test_unknown_datasets_pass_through_and_empty_frames_are_handled(tmp_path):
    unknown = pd.DataFrame({"doc_id": ["x"], "anything_raw": ["關 係"]})
    empty = _consortia([]).reindex(columns=list(_consortia([("釧路市", "n")]).columns))
    out = run_text_stage({"mystery": unknown, "consortia": empty}, nlp_cache_dir=tmp_path)
    assert out["mystery"].equals(unknown)
    assert out["consortia"].empty and "jis_codes" in out["consortia"].columns
    assert out["corrections"].empty and out["places"].empty


def _table_cells(cells: list[tuple[int, int, str, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "doc_id": "selfmade", "source_sha256": SHA, "page": 1, "bbox": [10.0, 10.0 * r, 100.0, 10.0 * r + 9],
                "extractor": "tables", "extractor_version": "test", "table_id": "selfmade#p1t1", "row": r, "col": c,
                "row_span": 1, "col_span": 1, "n_rows": 3, "n_cols": 2, "text_raw": text, "is_header": header,
                "symbol": None, "ocr": False,
            }
            for r, c, text, header in cells
        ]
    )


def test_table_cells_get_a_place_repaired_only_where_a_place_is_plausible(tmp_path):
    tables = _table_cells(
        [
            (0, 0, "市町村名", True), (0, 1, "宇都営市", True),  # a header fragment that looks like a damaged place
            (1, 0, "宇都営市", False), (1, 1, "宇都営市", False),  # under 市町村名 / under a non-place header, a bare label
            (2, 0, "栃木県", False), (2, 1, "宇都営市と協定を結び、避難所を相互に提供する。", False),  # a sentence
        ]
    )
    out = run_text_stage({"tables": tables}, nlp_cache_dir=tmp_path)
    text = {(r, c): t for r, c, t in out["tables"][["row", "col", "text"]].itertuples(index=False)}
    assert text[(0, 1)] == "宇都営市"  # headers are never repaired
    assert text[(1, 0)] == "宇都宮市"
    assert text[(1, 1)] == "宇都営市"  # no place column, no sentence: nothing to go on
    assert text[(2, 1)].startswith("宇都宮市と協定")
    rules = sorted(out["corrections"].loc[out["corrections"].rule.str.startswith("place_"), "rule"])
    assert len(rules) == 2
    assert any(rule.endswith("(column 市町村名)") for rule in rules) and any(rule.endswith("(sentence)") for rule in rules)


def test_a_document_whose_sentences_need_no_entity_never_loads_ginza(tmp_path, monkeypatch):
    # Addresses Sudachi reads as one token each (the ward found from the token's sub-words) and
    # building names after them: no sentence where an entity could add a place, so the model is
    # neither asked nor loaded. A name damaged after kana is only the model's to find: asked then.
    import pipeline.text.language as language

    asked: list[list[str]] = []

    def entities(sentences, cache_dir=None):
        asked.append(list(sentences))
        return {}

    def never_loaded():
        raise AssertionError("GiNZA loaded")

    monkeypatch.setattr(language, "place_entities", entities)
    monkeypatch.setattr(language, "ginza_ner", never_loaded)
    addresses = _table_cells(
        [
            (0, 0, "住所", True), (0, 1, "施設名", True),
            (1, 0, "東京都世田谷区北沢2-8-18", False), (1, 1, "世田谷病院", False),
            (2, 0, "新宿区新宿3-30-11 新宿高野第二ビル4F", False), (2, 1, "新宿高野クリニック", False),
            (3, 0, "中央区日本橋2-5-1 日本橋高島屋三井ビルディング10F", False), (3, 1, "日本橋クリニック", False),
            (4, 0, "千代田区有楽町1-10-1 有楽町ビル4F", False), (4, 1, "有楽町クリニック", False),
            (5, 0, "武蔵野市中町1-17-2 ステラ武蔵野3F", False), (5, 1, "武蔵野クリニック", False),
        ]
    )
    out = run_text_stage({"tables": addresses}, nlp_cache_dir=tmp_path)
    assert asked == []
    places = out["places"]
    assert sorted(zip(places["raw"], places["jis_code"].fillna(""))) == [
        ("中央区", ""), ("千代田区", "13101"), ("新宿区", "13104"), ("東京都世田谷区", "13112"), ("武蔵野市", "13203"),
    ]
    assert out["corrections"].empty  # no locality, district or station "repaired" into a municipality

    damaged = _table_cells([(0, 0, "事業概要", True), (1, 0, "さいたま巿の事業に参加した。", False)])
    run_text_stage({"tables": damaged}, nlp_cache_dir=tmp_path)
    assert asked == [["さいたま巿の事業に参加した。"]]
