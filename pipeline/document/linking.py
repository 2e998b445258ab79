"""Link rows that name a consortium (case studies, tours) to the matrix's consortia.

Reports spell the same consortium differently in different sections
(東御まると共創 / 東御まるごと共創, CM育成型 / コミュニティマネージャー育成型)
and sometimes print one consortium's name under another's place. A link is
therefore made from two independent pieces of evidence:

* name similarity: the larger of difflib's ratio and character-bigram Dice
  overlap on NFKC-folded, space-free, lower-cased names;
* place agreement: the place printed with the row (新潟県三条市, 静岡・宮城)
  against the consortium's 地域名, at municipality level (stems without
  市/町/村/地域, so 北見市 ≈ 北見町) or prefecture level (下田市 → 静岡県
  through the gazetteer).

When the two disagree and another consortium's region matches the place, the
row is contradictory: it is flagged with both candidates and left unlinked,
never guessed. These are pure functions of data frames; the only data they
read is the static gazetteer.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Iterable

import pandas as pd

from pipeline.text.prefectures import prefecture_names, prefectures_of

# A name at least this similar (and clearly ahead of the runner-up) is a link.
FUZZY_THRESHOLD = 0.6
CLEAR_MARGIN = 0.05
EXACT = 0.999
# Added to the name score by how the printed place agrees with the 地域名.
PLACE_BONUS = {"municipality": 0.2, "prefecture": 0.1, "unknown": 0.0, "disagree": -0.2}

_SPLIT = re.compile(r"[\s、,，・/／]+")
_PREFECTURE = re.compile(r"^(北海道|東京都|京都府|大阪府|\S{2,3}?県)")
_SUFFIX = re.compile(r"(地域|地区|市|区|町|村)$")
# Words that stand where a place would but name none (複数地域, 全国, 各地).
_NOT_A_PLACE = re.compile(r"複数|全国|各地|広域")


def normalize_name(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name or "").lower()
    return re.sub(r"\s+", "", folded)


def bigrams(name: str) -> set[str]:
    x = normalize_name(name)
    return {x[i : i + 2] for i in range(len(x) - 1)} or ({x} if x else set())


def bigram_weights(names: Iterable[str]) -> dict[str, float]:
    """Inverse document frequency of each bigram over ``names``.

    Consortium names share boilerplate (二地域居住推進コンソーシアム); weighting
    bigrams by rarity makes the distinctive part (横瀬町, 育成型) decide.
    """
    sets = [bigrams(n) for n in names]
    df: dict[str, int] = {}
    for s in sets:
        for g in s:
            df[g] = df.get(g, 0) + 1
    n = max(len(sets), 1)
    return {g: math.log(1 + n / c) for g, c in df.items()}


def name_similarity(a: str, b: str, weights: dict[str, float] | None = None) -> float:
    """Similarity of two names in [0, 1].

    Without weights: the larger of difflib's ratio and bigram Dice. With
    weights (from ``bigram_weights`` over the candidate names): weighted Dice,
    unseen bigrams weighing as the rarest ones.
    """
    x, y = normalize_name(a), normalize_name(b)
    if not x or not y:
        return 0.0
    if x == y:
        return 1.0
    bx, by = bigrams(x), bigrams(y)
    if weights:
        rare = max(weights.values())
        w = lambda g: weights.get(g, rare)  # noqa: E731
        wx, wy, shared = sum(map(w, bx)), sum(map(w, by)), sum(map(w, bx & by))
        if not wx or not wy:
            return 0.0
        # Mean of Dice and overlap coefficient: an abbreviated name (CM育成型…)
        # is mostly contained in the full one, which plain Dice under-rates.
        return round((2 * shared / (wx + wy) + shared / min(wx, wy)) / 2, 4)
    ratio = SequenceMatcher(None, x, y).ratio()
    dice = 2 * len(bx & by) / (len(bx) + len(by))
    return round(max(ratio, dice), 4)


@dataclass(frozen=True)
class Places:
    """Municipality stems and prefectures named by a place string."""

    stems: frozenset[str]
    prefectures: frozenset[str]

    @property
    def known(self) -> bool:
        return bool(self.stems or self.prefectures)


@lru_cache(maxsize=4096)
def read_places(text: str | None) -> Places:
    """Places in a free string: 和歌山県 香川県 北海道等, 静岡・宮城, 山形県最上地域."""
    stems: set[str] = set()
    prefs: set[str] = set()
    all_prefs = prefecture_names()
    for token in _SPLIT.split(unicodedata.normalize("NFKC", text or "")):
        token = token.strip().rstrip("等")
        if not token:
            continue
        m = _PREFECTURE.match(token)
        if m and m.group(1) in all_prefs:
            prefs.add(m.group(1))
            token = token[m.end():]
            if not token:
                continue
        else:
            # A bare prefecture stem (静岡, 宮城) names the prefecture.
            short = [p for p in all_prefs if p[:-1] == token or (p == "北海道" and token == "北海道")]
            if short:
                prefs.update(short)
                continue
        if _NOT_A_PLACE.search(token):
            continue
        if _SUFFIX.search(token) or prefectures_of(token):
            stems.add(_SUFFIX.sub("", token) or token)
            prefs.update(prefectures_of(token))
    return Places(frozenset(stems), frozenset(prefs))


def place_agreement(row_place: Places, region: Places) -> str:
    """"municipality", "prefecture", "disagree" or "unknown"."""
    if not row_place.known or not region.known:
        return "unknown"
    for a in row_place.stems:
        for b in region.stems:
            if a == b or (min(len(a), len(b)) >= 2 and (a.startswith(b) or b.startswith(a))):
                return "municipality"
    if row_place.prefectures & region.prefectures:
        return "prefecture"
    return "disagree"


def place_bonus(row_place: Places, region: Places, agreement: str) -> float:
    """What place agreement adds to a name score; prefecture agreement scales with
    the share of prefectures in common (静岡・宮城 fits 下田市 東松島市 better than 森町)."""
    if agreement == "prefecture":
        union = row_place.prefectures | region.prefectures
        return PLACE_BONUS["prefecture"] * len(row_place.prefectures & region.prefectures) / len(union)
    return PLACE_BONUS[agreement]


@dataclass(frozen=True)
class Link:
    consortium_id: str | None
    link_method: str
    link_score: float
    flag: bool
    flag_reason: str | None


def link_one(name: str, place: str | None, consortia: pd.DataFrame) -> Link:
    """Link one printed consortium name (and its printed place) to a consortia row."""
    if consortia is None or consortia.empty or not name:
        return Link(None, "none", 0.0, True, "no consortia to link to in this document")
    rows = consortia.reset_index(drop=True)
    weights = bigram_weights(rows["consortium_name_raw"])
    scores = [name_similarity(name, n, weights) for n in rows["consortium_name_raw"]]
    here = read_places(place)
    regions = [read_places(r) for r in rows["region_raw"]]
    agreements = [place_agreement(here, r) for r in regions]
    combined = [s + place_bonus(here, r, a) for s, r, a in zip(scores, regions, agreements)]
    order = sorted(range(len(rows)), key=lambda i: -combined[i])
    best = order[0]
    s_best = scores[best]
    margin = combined[best] - (combined[order[1]] if len(order) > 1 else 0.0)
    place_matches = [i for i in range(len(rows)) if agreements[i] == "municipality"]

    def cid(i: int) -> str:
        return str(rows.at[i, "consortium_id"])

    def label(i: int) -> str:
        return f"{cid(i)} 「{rows.at[i, 'consortium_name_raw']}」 (地域名 {rows.at[i, 'region_raw']})"

    if s_best >= EXACT or (s_best >= FUZZY_THRESHOLD and margin >= CLEAR_MARGIN):
        method = "exact" if s_best >= EXACT else "fuzzy"
        agreement = agreements[best]
        if agreement != "disagree":
            return Link(cid(best), method, s_best, False, None)
        others = [i for i in place_matches if i != best]
        if others:
            return Link(
                None,
                "none",
                s_best,
                True,
                f"contradictory: name matches {label(best)} (score {s_best:.2f}) "
                f"but place {place} matches {', '.join(label(i) for i in others)}",
            )
        return Link(cid(best), method, s_best, True, f"place {place} differs from 地域名 {rows.at[best, 'region_raw']}")
    if len(place_matches) == 1:
        i = place_matches[0]
        return Link(
            cid(i),
            "place",
            scores[i],
            True,
            f"name 「{name}」 differs from {label(i)} (score {scores[i]:.2f}); linked by place {place} only",
        )
    why = f"no consortium name similar enough (best {label(best)}, score {s_best:.2f}"
    if s_best >= FUZZY_THRESHOLD:
        why += f", runner-up {label(order[1])} at {scores[order[1]]:.2f}"
    why += ")"
    if place:
        why += f"; place {place} matches {len(place_matches)} consortia"
    return Link(None, "none", s_best, True, why)


def link_case_studies(case_studies: pd.DataFrame, consortia: pd.DataFrame) -> pd.DataFrame:
    """case_studies with consortium_id, link_method, link_score, flag, flag_reason filled in.

    Only consortia of the same document are candidates.
    """
    return _link_frame(case_studies, consortia, place_column="place_raw")


def link_rows(frame: pd.DataFrame, consortia: pd.DataFrame, place_column: str | None = None) -> pd.DataFrame:
    """The same linking for any frame with doc_id and consortium_name_raw (tours)."""
    return _link_frame(frame, consortia, place_column)


def _link_frame(frame: pd.DataFrame, consortia: pd.DataFrame, place_column: str | None) -> pd.DataFrame:
    out = frame.copy()
    links: list[Link] = []
    for _, row in frame.iterrows():
        name = row.get("consortium_name_raw")
        if name is None or (isinstance(name, float) and pd.isna(name)):
            links.append(Link(None, "none", 0.0, True, "no consortium named"))
            continue
        if consortia is None or consortia.empty:
            same_doc = pd.DataFrame()
        else:
            same_doc = consortia[consortia["doc_id"] == row["doc_id"]] if "doc_id" in consortia else consortia
        place = row.get(place_column) if place_column else None
        place = None if place is None or (isinstance(place, float) and pd.isna(place)) else str(place)
        links.append(link_one(str(name), place, same_doc))
    for field in ("consortium_id", "link_method", "link_score", "flag", "flag_reason"):
        out[field] = [getattr(link, field) for link in links] if links else pd.Series(dtype="object")
    return out


def link_document(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The document-level step: link case_studies and tours to the consortia in ``frames``."""
    out = dict(frames)
    consortia = frames.get("consortia", pd.DataFrame())
    if "case_studies" in frames and not frames["case_studies"].empty:
        out["case_studies"] = link_case_studies(frames["case_studies"], consortia)
    if "tours" in frames and not frames["tours"].empty:
        out["tours"] = link_rows(frames["tours"], consortia)
    return out
