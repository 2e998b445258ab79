"""Japanese text folding: each rule on text the samples do not contain, and its safety."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.text.normalize import clean_text


def _rules(text: str) -> set[str]:
    return {c.rule for c in clean_text(text).changes}


def test_radicals_and_compatibility_ideographs_become_unified_ideographs():
    # Kangxi radical ⼭ U+2F2D, CJK radicals supplement ⺟ U+2E9F, compatibility ideograph 﨑 U+FA11
    result = clean_text("⼭形県の⺟子支援と\uf91d")
    assert result.text == "山形県の母子支援と" + "\u6b04"
    assert "unified_ideograph" in {c.rule for c in result.changes}


def test_old_forms_become_new_but_official_place_names_keep_theirs():
    result = clean_text("國土交通省と總務省の關係人口施策、廣島縣")
    assert result.text == "国土交通省と総務省の関係人口施策、広島県"
    assert {(c.raw, c.corrected) for c in result.changes if c.rule == "kyujitai"} >= {("關", "関"), ("總", "総"), ("國", "国")}
    # 龍ケ崎市 and 檜原村 are official spellings: the folding must not "correct" them
    assert clean_text("龍ケ崎市と檜原村").text == "龍ケ崎市と檜原村"


def test_kyujitai_table_is_kyujipys_own():
    # The table is read from kyujipy's data files without its slow CSON parser: it must be the
    # table kyujipy's converter builds, pair for pair.
    from kyujipy import BasicConverter

    from pipeline.text.normalize import kyujipy_kyujitai_to_shinjitai

    assert kyujipy_kyujitai_to_shinjitai() == BasicConverter().kyujitai_to_shinjitai_database


def test_marks_circled_numbers_and_tilde_ranges_are_left_alone():
    text = "○〇◯●◎ ①地域間の移動 1月～3月 ㎡"
    assert clean_text(text).text.startswith("○〇◯●◎ ①地域間の移動 1月～3月")


def test_full_width_ascii_and_half_width_katakana_fold():
    assert clean_text("ＡＮＡとｺﾝｿｰｼｱﾑ（２０２５）").text == "ANAとコンソーシアム(2025)"


def test_spurious_spaces_go_but_spaces_between_place_names_stay():
    assert clean_text("総 務 省 自 治 行 政 局 長").text == "総務省自治行政局長"
    assert clean_text("子育て 支援 センター").text == "子育て支援センター"
    assert clean_text("下田市 東松島市").text == "下田市 東松島市"
    assert clean_text("Tokyo Metropolitan 区域").text == "Tokyo Metropolitan 区域"


def test_dash_or_kanji_one_between_katakana_is_the_prolonged_sound_mark():
    assert clean_text("コンソ一シアムとセンタ－ビル").text == "コンソーシアムとセンタービル"
    assert clean_text("データ一覧").text == "データ一覧"  # 一 before a kanji is the numeral


def test_lines_broken_mid_sentence_are_rejoined_items_are_not():
    text = "二地域居住の推進に向けた取組を支\n援する。\n・移住相談窓口の設置\n・住まいの確保\n1. 概要\n次の事項に留意"
    result = clean_text(text)
    assert result.text == "二地域居住の推進に向けた取組を支援する。\n・移住相談窓口の設置\n・住まいの確保\n1. 概要\n次の事項に留意"
    assert [c.rule for c in result.changes] == ["line_join"]


def test_every_change_is_reported_and_replays_on_the_raw_text():
    raw = "  關係人口の創出 に向けた取組を推進し\nます。ＡＮＡ  "
    result = clean_text(raw)
    replay = raw
    for change in result.changes:
        assert change.raw in replay
        replay = replay.replace(change.raw, change.corrected)
    assert replay == result.text
    assert all(0 < c.confidence <= 1 for c in result.changes)


japanese = st.text(alphabet=st.sampled_from(list("あいうアイウ漢字市町村関總國ー一 \n　ＡＢ１２・、。○〇◯●")), max_size=40)


@settings(max_examples=150, deadline=None)
@given(japanese)
def test_cleaning_is_idempotent_and_never_touches_marks(text):
    once = clean_text(text).text
    assert clean_text(once).text == once
    for mark in "○〇◯●":
        assert once.count(mark) == text.count(mark)


def test_parallel_entries_are_not_joined_but_wrapped_words_are():
    """Lines opening alike are separate entries; a word cut by the line end is rejoined."""
    from pipeline.text.normalize import clean_text

    entries = "所属移住・交流推進機構氏名門脇知史\n所属移住・交流推進課氏名原野文来"
    assert clean_text(entries).text == entries
    wrapped = "二地域居住の推進に向けて、地域との関わりを深める取組を会津\n若松市と連携して進めている。"
    assert clean_text(wrapped).text == "二地域居住の推進に向けて、地域との関わりを深める取組を会津若松市と連携して進めている。"


def test_a_misread_prolonged_mark_joined_by_a_removed_space_is_fixed_in_one_cleaning():
    # Removing the space brings 一 between two katakana: one cleaning gives what a second would.
    once = clean_text("ア 一ア")
    assert once.text == "アーア"
    assert clean_text(once.text).text == once.text
