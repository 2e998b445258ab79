"""Closed vocabularies: scanned headers become the table's own names, or none."""

from __future__ import annotations

from pipeline.text.vocabulary import best_reading, lexicon_cost, match_vocabulary, repair_with_lexicon

THEMES = ["経費削減", "生活環境", "住民票/税", "域内交通", "教育/保育", "防災", "コミュニティ", "産業/仕事", "住まい",
          "プラットフォーム", "拠点整備", "マーケティング", "制度検討"]


def test_lexicon_prefers_dictionary_words():
    assert lexicon_cost("経費削減") < lexicon_cost("経費削减")
    assert lexicon_cost("マーケティング") < lexicon_cost("マーケテイング")
    assert lexicon_cost("住民票/税") < lexicon_cost("住民款/税")


def test_lookalike_swapped_for_the_one_that_makes_words():
    assert repair_with_lexicon("経費削减")[0] == "経費削減"
    assert repair_with_lexicon("コミュ=ティ")[0] == "コミュニティ"
    assert repair_with_lexicon("プラットフォ-ム")[0] == "プラットフォーム"
    assert repair_with_lexicon("住まい1")[0] == "住まい"
    text, confidence = repair_with_lexicon("拠点整備")
    assert (text, confidence) == ("拠点整備", 1.0)  # words already: untouched


def test_readings_of_one_header_on_several_pages_vote():
    assert best_reading(["コミュニティ", "コミ"]).value == "コミュニティ"  # a reading that lost glyphs loses
    assert best_reading(["マーケテイング", "マーケティング"]).value == "マーケティング"
    assert best_reading(["防災", "防災"]).method == "exact"
    assert best_reading([]).value is None


def test_a_misread_repeated_on_two_pages_does_not_outvote_the_reading_the_caller_accepts():
    from extractors.matrix import _foreign_words

    # プ read as ブ twice makes ブラット|フォーム: words the dictionary knows, one a person's name.
    readings = ["プラットフォーム", "ブラットフォーム", "ブラットフォーム"]
    assert best_reading(readings).value == "ブラットフォーム"  # the majority, by the dictionary alone
    assert best_reading(readings, unknown=_foreign_words).value == "プラットフォーム"


def test_reading_matched_to_the_vocabulary_or_to_nothing():
    assert match_vocabulary("制度検対", THEMES).value == "制度検討"
    assert match_vocabulary("住民款/税", THEMES).value == "住民票/税"
    assert match_vocabulary("経資削時", THEMES).value == "経費削減"
    none = match_vocabulary("環", THEMES)
    assert none.value is None and none.method == "none"


def test_ocr_text_repair_reports_each_change_and_replays():
    from pipeline.text.vocabulary import repair_ocr_text

    raw = "担当部局長.殿（財政担当課·市町村担当課扱い）1人当たり40万円"
    result = repair_ocr_text(raw)
    assert result.text == "担当部局長殿（財政担当課・市町村担当課扱い）1人当たり40万円"  # digits never touched
    replay = raw
    for change in result.changes:
        assert change.raw in replay and 0 < change.confidence <= 1
        replay = replay.replace(change.raw, change.corrected)
    assert replay == result.text


def test_text_stage_repairs_only_rows_read_by_ocr(tmp_path):
    import pandas as pd

    from pipeline.text.stage import run_text_stage

    rows = pd.DataFrame({"doc_id": ["d", "d"], "page": [1, 2], "row": [1, 2], "consortium_id": ["d#1", "d#2"],
                         "round": [1, 1], "region_raw": ["", ""], "ocr": [True, False],
                         "consortium_name_raw": ["二地域居住·推進協議会", "二地域居住·推進協議会"]})
    out = run_text_stage({"consortia": rows}, nlp_cache_dir=tmp_path, ocr_pages=frozenset({("d", 1)}))
    assert list(out["consortia"]["consortium_name"]) == ["二地域居住・推進協議会", "二地域居住·推進協議会"]
    rules = out["corrections"].loc[out["corrections"]["field"] == "consortium_name_raw", "rule"]
    assert list(rules) == ["ocr_speck"]


def test_scanned_header_outside_any_vocabulary_is_no_category():
    from types import SimpleNamespace

    from extractors.matrix import Column, _header_vocabulary

    def fragment(labels: list[str]):
        columns = [Column(index=i, label=label, group="取組テーマ", is_mark=True) for i, label in enumerate(labels)]
        return SimpleNamespace(grid=SimpleNamespace(ocr=True, n_cols=len(labels)), header_rows=2, columns=columns)

    chosen = _header_vocabulary([fragment(["経費削减", "経資削時"]), fragment(["経費削減", "経資削時"])])
    assert chosen[(2, 0)].value == "経費削減"
    assert chosen[(2, 1)].value is None and chosen[(2, 1)].method == "none"  # published empty, with a review row
