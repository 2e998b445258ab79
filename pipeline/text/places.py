"""Place-name mentions: finding them, and resolving them to JIS X 0402 codes.

A mention is resolved by evidence, never guessed:

1. exact: the name (or 郡/prefecture-qualified form) is in the gazetteer once;
2. fuzzy: the name is not in the gazetteer, but an official name of the same
   length differs only in characters that look or sound alike
   (``lookalike.string_similarity``);
3. context: several candidates remain and the context decides: the same name
   written correctly elsewhere in the row (the consortium's name), the same
   text printed twice in the document with the place spelled differently
   (``parallels``), a prefecture named nearby, the neighbouring rows of the
   table and the document's other mentions.

When the evidence cannot decide, the mention is published as ambiguous: no
code, and every candidate listed (森町 is in 北海道 and 静岡県). Neighbouring
rows and other mentions only rank candidates; they never decide between
homonyms on their own.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable

from pipeline.text.gazetteer import MUNICIPALITY, PREFECTURE, Gazetteer, Place
from pipeline.text.lookalike import char_similarity, string_similarity

KIND_REGION = "region"
# Where a span of running text was found; a locality span is text inside an address that names no
# administrative unit, kept so that nothing else is found over it.
SOURCE_GAZETTEER, SOURCE_SUDACHI, SOURCE_RUN, SOURCE_MODEL, SOURCE_LOCALITY = "gazetteer", "sudachi", "run", "ginza", "locality"
METHOD_EXACT, METHOD_FUZZY, METHOD_CONTEXT = "exact", "fuzzy", "context"

ADMIN_END = "都道府県市区町村"
# Words that make a part of a region cell an area rather than an administrative unit.
REGION_WORDS = ("地域", "地方", "エリア", "圏", "周辺", "沿線", "流域", "管内")
# "and others" after a list of places (北海道等).
ETC_SUFFIXES = ("等", "ほか", "他", "など")
LIST_SEPARATORS = re.compile(r"[、,，・/／\s]+")
_KANJI_CLASS = r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff々ヶケ]"
_KANJI = re.compile(_KANJI_CLASS)
_KANJI_RUN = re.compile(_KANJI_CLASS + "{3,10}")
# What follows the locality of an address: a block number (3-18-21, ３丁目, 三丁目).
_BLOCK_NUMBER = re.compile(r"[0-9０-９]|[一二三四五六七八九十]+丁目")


def _overlaps(start: int, end: int, spans: dict[tuple[int, int], str]) -> bool:
    """A span already found holds the start or the end (one that only encloses a span does not overlap it)."""
    return any(a <= start < b or a < end <= b for a, b in spans)


def _may_end_a_name(end: int, tokens: list[tuple[int, int, tuple[str, ...], bool]]) -> bool:
    """Whether a damaged place name may end at ``end``, judged by the Sudachi word that ends there.

    A damaged name's last character stands for its administrative suffix, which Sudachi reads
    as a word of its own (市, or a look-alike 巿), as the end of an unknown word, or as the end of a
    place name. A word of several characters the dictionary knows as something else (高島屋, a
    shop) does not end in a suffix, and a prefix (第 of 第二) belongs to the word after it, so
    neither ends a name. Where no word ends at ``end``, nothing is known against it.
    """
    for start, stop, pos, oov in tokens:
        if stop == end:
            if oov or (len(pos) > 2 and pos[2] == "地名"):
                return True
            return stop - start == 1 and pos[0] != "接頭辞"
    return True


def _substitutions(length: int) -> int:
    """Characters a damaged name of ``length`` may have wrong: one in a two-character name, else two."""
    return 1 if length <= 2 else 2


def _blocks(length: int) -> list[tuple[int, int]]:
    """``_substitutions(length) + 1`` consecutive, non-empty slices covering a name of ``length``."""
    parts = min(_substitutions(length) + 1, length)
    return [(i * length // parts, (i + 1) * length // parts) for i in range(parts)]


@lru_cache(maxsize=None)
def _ends_like_suffix(ch: str) -> bool:
    """The last character is an administrative suffix, or looks or sounds like one (巿, 叮)."""
    return ch in ADMIN_END or any(char_similarity(ch, suffix) >= 0.6 for suffix in "市町村区県")

MIN_FUZZY_SIMILARITY = 0.3  # below this a same-length name is a different name, not damage
MIN_SCORE = 0.4
MIN_MARGIN = 0.15
BONUS_VERBATIM = 0.5  # the candidate is written out in the row's other text
BONUS_PARALLEL = 0.8  # the document prints the same text with the candidate in this place
BONUS_PREFECTURE = 0.4  # a prefecture named nearby contains the candidate
WEIGHT_NEIGHBOURS = 0.15
WEIGHT_DOCUMENT = 0.1


@dataclass
class Context:
    """What is known around a mention."""

    prefectures: set[str] = field(default_factory=set)  # 2-digit codes named nearby
    texts: list[str] = field(default_factory=list)  # other text of the same row
    parallels: list[tuple[str, str]] = field(default_factory=list)  # (this text, the same text printed elsewhere)
    neighbours: list[str] = field(default_factory=list)  # 2-digit codes of adjacent rows
    document: Counter = field(default_factory=Counter)  # 2-digit codes of the document's other mentions


@dataclass
class Resolution:
    raw: str
    name: str | None
    prefecture: str | None
    jis_code: str | None
    kind: str
    method: str
    confidence: float
    candidates: list[str] = field(default_factory=list)  # "code prefecture name", best first
    start: int = -1  # offsets in the text the mention was found in
    end: int = -1

    @property
    def ambiguous(self) -> bool:
        return self.jis_code is None and len(self.candidates) > 1

    @property
    def prefecture_code(self) -> str | None:
        return self.jis_code[:2] if self.jis_code else None


@dataclass
class _Scored:
    place: Place
    similarity: float
    strong: float = 0.0  # evidence that may decide between candidates
    weak: float = 0.0  # evidence that only ranks them

    @property
    def total(self) -> float:
        return self.similarity + self.strong + self.weak


def describe(place: Place) -> str:
    return f"{place.code} {place.prefecture}{'' if place.kind == PREFECTURE else place.name}"


class PlaceResolver:
    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self._by_length: dict[int, list[Place]] = {}
        for place in gazetteer.places:
            self._by_length.setdefault(len(place.name), []).append(place)
        self.max_name_length = max(len(a) for a in gazetteer.by_name)
        self._fuzzy: dict[str, list[tuple[Place, float]]] = {}  # a list of addresses repeats its names
        # Names by length, position block and that block's text: a name within ``limit`` substitutions
        # of another of its length shares at least one of ``limit + 1`` blocks with it (pigeonhole),
        # so only names that share a block need their characters compared.
        self._by_block: dict[tuple[int, int, str], list[int]] = {}
        for length, places in self._by_length.items():
            for position, place in enumerate(places):
                for block, (a, b) in enumerate(_blocks(length)):
                    self._by_block.setdefault((length, block, place.name[a:b]), []).append(position)
        # The longest text that can have a candidate: a prefecture written before the longest name.
        self._longest_mention = max(self.max_name_length, max(self._by_length)) + max(len(p) for p in gazetteer.prefectures)
        self._candidate_memo: dict[str, str | None] = {}
        self._prefecture_lengths = sorted({len(p) for p in gazetteer.prefectures})

    def _prefecture_before(self, name: str) -> Place | None:
        """The prefecture written in front of a name that is not itself in the gazetteer (福島県伊達市).

        No prefecture's name begins another's, so at most one length can match.
        """
        for length in self._prefecture_lengths:
            pref = self.gazetteer.prefectures.get(name[:length])
            if pref is not None and len(name) > length + 1 and not self.gazetteer.lookup(name):
                return pref
        return None

    # -- candidates -------------------------------------------------------------------------
    def fuzzy_candidates(self, name: str) -> list[tuple[Place, float]]:
        """Official names of the same length within two look-alike substitutions."""
        if len(name) < 2:
            return []
        if name not in self._fuzzy:
            self._fuzzy[name] = self._fuzzy_candidates(name)
        return list(self._fuzzy[name])

    def _fuzzy_candidates(self, name: str) -> list[tuple[Place, float]]:
        limit = _substitutions(len(name))
        places = self._by_length.get(len(name), ())
        sharing = sorted({i for block, (a, b) in enumerate(_blocks(len(name))) for i in self._by_block.get((len(name), block, name[a:b]), ())})
        found = []
        for place in (places[i] for i in sharing):  # in the gazetteer's order, as a scan of every name gives them
            official = place.name
            mismatches = sum(1 for a, b in zip(name, official) if a != b)
            if 0 < mismatches <= limit and mismatches < len(name):
                similarity = string_similarity(name, official)
                if similarity >= MIN_FUZZY_SIMILARITY or mismatches == 1:
                    found.append((place, similarity))
        return found

    def _parallel_names(self, raw: str, context: Context) -> set[str]:
        """Where this text is printed twice, what the other copy has in the mention's place."""
        names = set()
        for own, other in context.parallels:
            index = own.find(raw)
            if index < 0 or own == other:
                continue
            before, after = own[:index], own[index + len(raw) :]
            if other.startswith(before) and other.endswith(after) and len(other) > len(before) + len(after):
                names.add(other[len(before) : len(other) - len(after)])
        return names

    def _score(self, raw: str, scored: list[_Scored], context: Context) -> None:
        parallel = self._parallel_names(raw, context)
        total_doc = sum(context.document.values()) or 1
        neighbour_codes = [int(c) for c in context.neighbours if c]
        for item in scored:
            place = item.place
            pref = place.prefecture_code
            # The bare name only counts when it differs from the mention (a repair); a
            # qualified form (福島県伊達市, 伊達郡…) also separates homonyms.
            qualified = {place.prefecture + place.name} | ({place.district + place.name} if place.district else set())
            written = qualified | {place.name}
            if any(w in text for text in context.texts for w in (written if place.name != raw else qualified)):
                item.strong += BONUS_VERBATIM
            if any(w in parallel for w in written if w):
                item.strong += BONUS_PARALLEL
            if pref in context.prefectures and place.kind != PREFECTURE:
                item.strong += BONUS_PREFECTURE
            if neighbour_codes:
                code = int(pref)
                if min(neighbour_codes) <= code <= max(neighbour_codes):
                    affinity = 1.0
                else:
                    affinity = 1.0 / (1 + min(abs(code - n) for n in neighbour_codes))
                item.weak += WEIGHT_NEIGHBOURS * affinity
            item.weak += WEIGHT_DOCUMENT * context.document.get(pref, 0) / total_doc

    # -- resolution -------------------------------------------------------------------------
    def resolve(self, raw: str, context: Context | None = None) -> Resolution:
        context = context or Context()
        name = raw.strip()
        # A prefecture written in front of the name is context, not part of the name.
        pref = self._prefecture_before(name)
        if pref is not None:
            context = Context(
                context.prefectures | {pref.prefecture_code}, context.texts, context.parallels, context.neighbours, context.document
            )
            name = name[len(pref.name) :]
        exact = self.gazetteer.lookup(name)
        if len(exact) == 1:
            return self._resolved(raw, exact[0], METHOD_EXACT, 1.0, [])
        if exact:
            scored = [_Scored(p, 1.0) for p in exact]
            self._score(name, scored, context)
            return self._decide(raw, scored, homonyms=True)
        fuzzy = [_Scored(p, s) for p, s in self.fuzzy_candidates(name)]
        # The row's other text may spell the place right even when no glyph looks alike.
        for alt in self._parallel_names(name, context):
            for place in self.gazetteer.lookup(alt):
                if all(item.place != place for item in fuzzy):
                    fuzzy.append(_Scored(place, string_similarity(name, place.name)))
        if not fuzzy:
            return Resolution(raw, None, None, None, MUNICIPALITY, METHOD_FUZZY, 0.0, [])
        self._score(name, fuzzy, context)
        return self._decide(raw, fuzzy, homonyms=False)

    def _decide(self, raw: str, scored: list[_Scored], homonyms: bool) -> Resolution:
        scored.sort(key=lambda s: (-s.total, s.place.code))
        best = scored[0]
        second = scored[1] if len(scored) > 1 else None
        candidates = [describe(s.place) for s in scored[:8]]
        if homonyms:
            # Only strong evidence separates places that share a name.
            decisive = second is not None and best.strong - second.strong >= MIN_MARGIN
            if decisive:
                confidence = min(0.95, 0.5 + best.strong - second.strong)  # type: ignore[union-attr]
                return self._resolved(raw, best.place, METHOD_CONTEXT, confidence, candidates)
            return self._ambiguous(raw, scored, candidates)
        margin = best.total - (second.total if second else 0.0)
        if best.total < MIN_SCORE or margin < MIN_MARGIN:
            return self._ambiguous(raw, scored, candidates)
        by_similarity_alone = second is None or best.similarity - second.similarity >= MIN_MARGIN
        method = METHOD_FUZZY if by_similarity_alone and best.strong == 0 else METHOD_CONTEXT
        confidence = round(min(0.95, best.total / (best.total + (second.total if second else 0.0) + 0.25)), 3)
        return self._resolved(raw, best.place, method, confidence, candidates)

    def _resolved(self, raw: str, place: Place, method: str, confidence: float, candidates: list[str]) -> Resolution:
        kind = PREFECTURE if place.kind == PREFECTURE else MUNICIPALITY
        return Resolution(raw, place.name, place.prefecture, place.code, kind, method, round(confidence, 3), candidates)

    def _ambiguous(self, raw: str, scored: list[_Scored], candidates: list[str]) -> Resolution:
        """Evidence too weak to choose: no code; confidence is the best candidate's share."""
        kinds = {s.place.kind for s in scored}
        kind = PREFECTURE if kinds == {PREFECTURE} else MUNICIPALITY
        names = {s.place.name for s in scored}
        name = names.pop() if len(names) == 1 else None
        prefectures = {s.place.prefecture for s in scored}
        prefecture = prefectures.pop() if len(prefectures) == 1 else None
        method = METHOD_EXACT if all(s.similarity == 1.0 for s in scored) else METHOD_FUZZY
        totals = [s.total for s in scored]
        share = totals[0] / sum(totals) if sum(totals) > 0 else 0.0
        confidence = share if method == METHOD_EXACT else min(share, scored[0].similarity) * 0.5
        return Resolution(raw, name, prefecture, None, kind, method, round(confidence, 3), candidates)

    # -- region cells ---------------------------------------------------------------------------
    def resolve_region_cell(self, text: str, context: Context | None = None) -> list[Resolution]:
        """A table cell that lists places: 高知県、鳥取県、佐賀県 / 山形県 最上地域等."""
        context = context or Context()
        parts = [p for p in LIST_SEPARATORS.split(text) if p]
        parts = self._rejoin_split_names(parts)
        results: list[Resolution] = []
        prefectures_here = set(context.prefectures)
        offset = 0
        for part in parts:
            start = text.find(part, offset)
            offset = start + len(part) if start >= 0 else offset
            core = part
            for suffix in ETC_SUFFIXES:
                if core.endswith(suffix) and len(core) > len(suffix) + 1:
                    core = core[: -len(suffix)]
                    break
            local = Context(prefectures_here, context.texts, context.parallels, context.neighbours, context.document)
            if core.endswith(REGION_WORDS) and not self.gazetteer.lookup(core):
                resolution = self._region(part, core, prefectures_here)
            else:
                resolution = self.resolve(core, local)
                resolution.raw = part
            resolution.start, resolution.end = start, start + len(part)
            if resolution.kind == PREFECTURE and resolution.jis_code:
                prefectures_here.add(resolution.jis_code[:2])
            results.append(resolution)
        return results

    def _rejoin_split_names(self, parts: list[str]) -> list[str]:
        """A stray space inside one name (東松 島市) splits it; join when only the join is a place."""
        out: list[str] = []
        for part in parts:
            if out and not self.gazetteer.lookup(out[-1]) and not self.gazetteer.lookup(part):
                if self.gazetteer.lookup(out[-1] + part):
                    out[-1] = out[-1] + part
                    continue
            out.append(part)
        return out

    def _region(self, raw: str, core: str, prefectures: set[str]) -> Resolution:
        """An area (最上地域) is not a municipality: keep its prefecture when one is known."""
        stem = core
        for word in REGION_WORDS:
            if stem.endswith(word):
                stem = stem[: -len(word)]
                break
        codes = set(prefectures)
        if not codes and stem:
            # 最上 → 最上郡 / 最上町: the stem names places of one prefecture only
            codes = {
                p.prefecture_code
                for p in self.gazetteer.places
                if p.kind != PREFECTURE and (p.district == stem + "郡" or p.name[:-1] == stem)
            }
        if len(codes) == 1:
            pref = self.gazetteer.by_code[codes.pop() + "000"]
            return Resolution(raw, core, pref.name, None, KIND_REGION, METHOD_CONTEXT, 0.9, [])
        candidates = sorted(f"{c}000 {self.gazetteer.by_code[c + '000'].name}" for c in codes)
        return Resolution(raw, core, None, None, KIND_REGION, METHOD_CONTEXT, 0.5 if candidates else 0.3, candidates)

    # -- free text ----------------------------------------------------------------------------
    def find_mentions(
        self,
        text: str,
        tokens: list[tuple[int, int, tuple[str, ...], bool]],
        entities: list[tuple[int, int, str]] = (),  # type: ignore[assignment]
        context: Context | None = None,
        spans: dict[tuple[int, int], str] | None = None,
        subwords: Iterable[tuple[int, int]] = (),
    ) -> list[Resolution]:
        """Place mentions in running text: gazetteer names on token boundaries (and on the
        sub-word boundaries of an address read as one token), Sudachi 地名 tokens with an
        administrative suffix, and GiNZA place entities. ``spans``: what
        ``found_spans(text, tokens, subwords)`` gave, when the caller has it already."""
        context = context or Context()
        spans = dict(spans) if spans is not None else self.found_spans(text, tokens, subwords)
        for s, e, _label in entities:
            if not _overlaps(s, e, spans):
                spans.setdefault((s, e), SOURCE_MODEL)
        # A prefecture written in the same text is context for the municipalities in it.
        named = {
            self.gazetteer.prefectures[text[s:e]].prefecture_code for (s, e) in spans if text[s:e] in self.gazetteer.prefectures
        }
        if named:
            context = Context(context.prefectures | named, context.texts, context.parallels, context.neighbours, context.document)
        results = []
        for (s, e), source in sorted(spans.items()):
            if source == SOURCE_LOCALITY:
                continue
            raw = text[s:e]
            resolution = self.resolve(raw, context)
            if source != SOURCE_GAZETTEER:
                if resolution.jis_code is None and resolution.method != METHOD_EXACT:
                    continue  # resembles several places, is none of them: not a mention
                if resolution.method != METHOD_EXACT and (not _ends_like_suffix(raw[-1]) or len(raw) < 3):
                    continue  # only a name with its suffix, and not a two-character word, is repaired from free text
                if source == SOURCE_MODEL and resolution.method != METHOD_EXACT and not _may_end_a_name(e, tokens):
                    continue  # the entity ends on a word that is not a suffix: a known word, or a prefix
            resolution.start, resolution.end = s, e
            results.append(resolution)
        return results

    def found_spans(
        self,
        text: str,
        tokens: list[tuple[int, int, tuple[str, ...], bool]],
        subwords: Iterable[tuple[int, int]] = (),
    ) -> dict[tuple[int, int], str]:
        """Mention spans found without the model: gazetteer names, Sudachi 地名 tokens, kanji runs.

        ``subwords``: Sudachi's sub-words of place-name tokens (``language.place_subwords``), where
        the administrative units of an address read as one token are found (below). A span
        labelled ``SOURCE_LOCALITY`` is no mention: it only marks text that is not one.
        """
        starts = {s for s, _, _, _ in tokens} | {len(text)}
        ends = {e for _, e, _, _ in tokens} | {0}
        spans: dict[tuple[int, int], str] = {}
        i = 0
        while i < len(text):
            matched = 0
            if i in starts:
                matched = self._gazetteer_name_at(text, i, ends, spans)
            i += matched or 1
        self._address_units(text, tokens, subwords, spans)
        self._localities_after_municipalities(text, spans)
        # 地名 token + suffix token: catches names the gazetteer lacks, i.e. damaged ones. A place
        # word that holds its suffix itself (有楽町, 江戸川橋) is a word of the dictionary, a district or
        # a station, not a damaged name: marked below as no mention.
        for index, (s, e, pos, _) in enumerate(tokens):
            if len(pos) > 2 and pos[2] == "地名" and text[e - 1] not in ADMIN_END + "庁" and index + 1 < len(tokens):
                ns, ne, _, _ = tokens[index + 1]
                if ne - ns == 1 and text[ns] in ADMIN_END + "庁" and not any(a <= s < b for a, b in spans):
                    spans.setdefault((s, ne), SOURCE_SUDACHI)
        # A run of kanji ending in a suffix that holds an unknown word or a place word:
        # where damaged names hide when neither the dictionary nor the model knows them. A run
        # that is one word the dictionary knows is no hidden damage, nor one that ends inside a
        # word (白山麻 of 白山|麻の実): a name ends where a word does.
        word_ends = {e for _, e, _, _ in tokens}
        for match in _KANJI_RUN.finditer(text):
            s, e = match.span()
            for a, b in list(spans):
                if s <= a < e and b < e:
                    s = max(s, b)  # a name already found at the run's start (香川県|高松巿)
            if e - s < 3 or any(a < e <= b for a, b in spans) or not _ends_like_suffix(text[e - 1]) or e not in word_ends:
                continue
            inner = [t for t in tokens if s <= t[0] < e]
            if len(inner) == 1 and inner[0][0] == s and not inner[0][3]:
                continue
            if any(oov or (len(pos) > 1 and pos[1] == "固有名詞") for _, _, pos, oov in inner):
                spans.setdefault((s, e), SOURCE_RUN)
        # A place word of the dictionary that ends in a kanji like a suffix and is no municipality
        # (有楽町, 武蔵野, a former town): no mention, and nothing is repaired over it. A kana ending
        # (さいたま of さいたま巿) is no suffix: the name goes on in the next word.
        for s, e, pos, oov in tokens:
            if (
                len(pos) > 2 and pos[2] == "地名" and not oov and _KANJI.match(text[e - 1])
                and _ends_like_suffix(text[e - 1]) and not _overlaps(s, e, spans)
            ):
                spans[(s, e)] = SOURCE_LOCALITY
        return spans

    def _gazetteer_name_at(self, text: str, i: int, ends: set[int], spans: dict[tuple[int, int], str]) -> int:
        """The longest gazetteer name starting at ``i`` and ending on one of ``ends``; its length, or 0."""
        for length in range(min(self.max_name_length, len(text) - i), 1, -1):
            if text[i + length - 1] not in ADMIN_END or (i + length) not in ends:
                continue  # tested before the slice: most lengths end on no suffix
            if text[i : i + length] in self.gazetteer.by_name:
                spans[(i, i + length)] = SOURCE_GAZETTEER
                return length
        return 0

    def _address_units(
        self,
        text: str,
        tokens: list[tuple[int, int, tuple[str, ...], bool]],
        subwords: Iterable[tuple[int, int]],
        spans: dict[tuple[int, int], str],
    ) -> None:
        """Prefecture, district and municipality at the head of a place-name token that holds an address.

        An address runs from the largest unit to the smallest (東京都 世田谷区 北沢): read from the
        token's start on its sub-word boundaries, a prefecture may be followed by a municipality
        (the gazetteer's names include 郡 and designated-city forms, 北海道茅部郡森町, 大阪市北区), and
        what follows the municipality is a locality inside it, never another municipality, even
        where it shares a municipality's name (神田小川町 in 千代田区 is no 小川町 of 埼玉県). The
        locality is the dictionary's own word, not damage, so it is marked as no mention; a model's
        entity over it is dropped like one over any other span.
        """
        by_token: dict[int, set[int]] = {}
        for s, e in subwords:
            by_token.setdefault(s, set()).add(e)
        if not by_token:
            return
        boundaries = {e for ends in by_token.values() for e in ends}
        for start, end, pos, _oov in tokens:
            if start not in by_token or any(a <= start < b for a, b in spans):
                continue
            inside = {b for b in boundaries if start < b <= end}
            position = start
            while position < end:
                length = self._gazetteer_name_at(text, position, inside, spans)
                if not length:
                    break
                position += length
                if text[position - length : position] not in self.gazetteer.prefectures:
                    break  # a municipality: the rest of the address lies inside it
            if start < position < end:
                spans[(position, end)] = SOURCE_LOCALITY

    def _localities_after_municipalities(self, text: str, spans: dict[tuple[int, int], str]) -> None:
        """A municipality's name right after another's and before a block number: a locality inside the first.

        The rule of ``_address_units`` for an address Sudachi reads as several place-name
        tokens (昭島市|昭和町|３－１８－２１: 昭島市's 昭和町, no 昭和町 of 山梨県). Without the
        block number the second name may be a place of its own (two table cells read as one
        line: 和歌山市|北見市…), and a name repeated (厚真町|厚真町二地域居住…) is the same place.
        """
        gazetteer_spans = {s: e for (s, e), source in spans.items() if source == SOURCE_GAZETTEER}
        for start, end in sorted(gazetteer_spans.items()):
            after = gazetteer_spans.get(end)
            if after is None or not _BLOCK_NUMBER.match(text, after):
                continue
            first, second = text[start:end], text[end:after]
            if first in self.gazetteer.prefectures or first == second or first + second in self.gazetteer.by_name:
                continue  # a prefecture's municipality, the same place again, or a designated city's ward
            spans[(end, after)] = SOURCE_LOCALITY

    def entity_could_add(
        self,
        text: str,
        spans: dict[tuple[int, int], str],
        lo: int,
        hi: int,
        context: Context | None = None,
        words: list[tuple[int, int, tuple[str, ...], bool]] | None = None,
        tokens: list[tuple[int, int, tuple[str, ...], bool]] | None = None,
    ) -> bool:
        """Whether some place entity GiNZA could find in ``text[lo:hi]`` would be kept by ``find_mentions``.

        ``spans`` are ``found_spans(text, tokens, subwords)``. An entity adds a mention only where
        it does not overlap those spans and its text has a candidate place: an exact (or
        prefecture-qualified) name, or, for a name ending like an administrative suffix, an
        official name within the look-alike distance. Every stretch the model could return is
        tried, so where this is False the mentions are the same with or without the model, and it
        need not read the sentence. Candidates depend on the context only through its parallel
        texts.

        ``words``: the tokens of ``text[lo:hi]`` read on their own (Sudachi's mode C, the
        tokenizer GiNZA's spaCy pipeline runs on the sentence it is given), offsets in ``text``.
        An entity is a run of the model's tokens, and spaCy's recogniser never opens one on
        whitespace, so with ``words`` only runs from the start of a word that is not whitespace to
        the end of a word are tried; without them every substring is. ``tokens``: the ones
        ``find_mentions`` is given, which drops a repaired entity that ends on a word no name ends
        with (``_may_end_a_name``); without them no entity is taken to be dropped so.
        """
        if context is not None and context.parallels:
            return True  # another copy of the text can name a candidate no substring has
        if words is None:
            starts, ends = range(lo, hi), set(range(lo + 1, hi + 1))
        else:
            starts = sorted({a for a, b, _, _ in words if lo <= a < hi and not text[a:b].isspace()})
            ends = {b for _, b, _, _ in words if lo < b <= hi}
        for s in starts:
            for e in range(s + 1, hi + 1):
                if len(text[s:e].strip()) > self._longest_mention:
                    break  # no longer text has a candidate: longer names do not exist
                if e not in ends or _overlaps(s, e, spans):
                    continue
                found = self._candidate(text[s:e])
                if found == METHOD_EXACT or (found == METHOD_FUZZY and (tokens is None or _may_end_a_name(e, tokens))):
                    return True
        return False

    def _candidate(self, raw: str) -> str | None:
        """The method of a mention ``resolve(raw)`` could give that ``find_mentions`` keeps from an
        entity in some context (METHOD_EXACT or METHOD_FUZZY), or None when it could give none."""
        if raw not in self._candidate_memo:
            name = raw.strip()
            pref = self._prefecture_before(name)
            if pref is not None:
                name = name[len(pref.name) :]
            if self.gazetteer.lookup(name):
                found = METHOD_EXACT  # kept whether it resolves or stays ambiguous
            elif len(raw) >= 3 and _ends_like_suffix(raw[-1]) and self.fuzzy_candidates(name):
                found = METHOD_FUZZY
            else:
                found = None
            self._candidate_memo[raw] = found
        return self._candidate_memo[raw]
