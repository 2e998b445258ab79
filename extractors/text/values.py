"""Dates in 和暦 and numbers with units, as values.

Pure string functions shared by every extractor that reads a date
(令和7年4月2日 → 2025-04-02) or an amount (約3.1億円 → 310000000 yen).
Input is NFKC-folded first so full-width digits and 元年 read the same as
half-width ones.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# First Gregorian year of each era (era year 1 == this year).
ERAS = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}
_ERA_INITIALS = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}

_WAREKI = re.compile(
    r"(?P<era>明治|大正|昭和|平成|令和)\s*(?P<year>元|\d{1,2})\s*年(?:度)?"
    r"(?:\s*(?P<month>\d{1,2})\s*月(?:\s*(?P<day>\d{1,2})\s*日)?)?"
)
_WAREKI_SHORT = re.compile(r"\b(?P<era>[MTSHR])\s*(?P<year>\d{1,2})\.(?P<month>\d{1,2})(?:\.(?P<day>\d{1,2}))?\b")
_SEIREKI = re.compile(r"(?P<year>(?:19|20)\d{2})\s*年(?:\s*(?P<month>\d{1,2})\s*月(?:\s*(?P<day>\d{1,2})\s*日)?)?")

# Multipliers that may stand between the number and the unit.
_MULTIPLIERS = {"千": 1_000, "万": 10_000, "百万": 1_000_000, "千万": 10_000_000, "億": 100_000_000, "兆": 1_000_000_000_000}
_UNITS = ("円", "名", "人", "世帯", "団体", "件", "日", "泊", "%", "％", "回", "戸", "社", "市町村", "地域", "箇所", "か所", "ヶ所")
_QUANTITY = re.compile(
    r"(?P<approx>約|およそ|最大|延べ|計)?\s*(?P<number>\d[\d,]*(?:\.\d+)?)\s*"
    r"(?P<mult>百万|千万|千|万|億|兆)?\s*(?P<unit>" + "|".join(map(re.escape, _UNITS)) + ")"
)


@dataclass(frozen=True)
class DateMention:
    raw: str
    iso: str  # YYYY, YYYY-MM or YYYY-MM-DD, as precise as the text
    start: int
    end: int
    fiscal_year: bool = False  # 令和7年度: a fiscal year, not a calendar year


@dataclass(frozen=True)
class Quantity:
    raw: str
    value: float  # in the base unit: yen for 円 amounts, persons for 名/人
    unit: str
    approximate: bool
    start: int
    end: int


def fold(text: str) -> str:
    """NFKC, which maps full-width digits and letters to ASCII."""
    return unicodedata.normalize("NFKC", text)


def find_dates(text: str) -> list[DateMention]:
    """Every 和暦 or 西暦 date in ``text`` (text is folded first; offsets are on the folded text)."""
    folded = fold(text)
    found: list[DateMention] = []
    for m in _WAREKI.finditer(folded):
        year = 1 if m["year"] == "元" else int(m["year"])
        found.append(_mention(m, ERAS[m["era"]] + year - 1, m["month"], m["day"], "年度" in m.group(0)))
    for m in _WAREKI_SHORT.finditer(folded):
        found.append(_mention(m, ERAS[_ERA_INITIALS[m["era"]]] + int(m["year"]) - 1, m["month"], m["day"], False))
    taken = [(d.start, d.end) for d in found]
    for m in _SEIREKI.finditer(folded):
        if not any(s <= m.start() < e for s, e in taken):
            found.append(_mention(m, int(m["year"]), m["month"], m["day"], False))
    return sorted((d for d in found if d.iso), key=lambda d: d.start)


def find_quantities(text: str) -> list[Quantity]:
    """Every number-with-unit in ``text``: 500万円 → (5000000, 円), 延べ360名 → (360, 名)."""
    folded = fold(text)
    out = []
    for m in _QUANTITY.finditer(folded):
        value = float(m["number"].replace(",", ""))
        if m["mult"]:
            value *= _MULTIPLIERS[m["mult"]]
        unit = "%" if m["unit"] == "％" else m["unit"]
        out.append(Quantity(m.group(0).strip(), value, unit, bool(m["approx"]) and m["approx"] in ("約", "およそ"), m.start(), m.end()))
    return out


def yen(text: str) -> int | None:
    """The first yen amount in ``text`` as integer yen (百万円, 億円, 千円 ... applied)."""
    for q in find_quantities(text):
        if q.unit == "円":
            return int(round(q.value))
    return None


def _mention(m: re.Match, year: int, month: str | None, day: str | None, fiscal: bool) -> DateMention:
    iso = f"{year:04d}"
    if month:
        mo = int(month)
        if not 1 <= mo <= 12:
            return DateMention(m.group(0), "", m.start(), m.end())
        iso += f"-{mo:02d}"
        if day:
            d = int(day)
            if not 1 <= d <= 31:
                return DateMention(m.group(0), "", m.start(), m.end())
            iso += f"-{d:02d}"
    return DateMention(m.group(0), iso, m.start(), m.end(), fiscal)


# Rates a notice sets: 措置率は0.5, 補助率 1/2, 負担率2分の1, 算入率50％, 5割.
_RATE_WORDS = "措置率|補助率|負担率|交付率|算入率|充当率|補填率|助成率"
_RATE = re.compile(
    rf"(?P<word>{_RATE_WORDS})[はがを：:\s　]*(?:(?:最大|上限)\s*)?"
    r"(?:(?P<num>\d+)\s*/\s*(?P<den>\d+)|(?P<den2>\d+)\s*分の\s*(?P<num2>\d+)"
    r"|(?P<value>\d+(?:\.\s?\d+)?)\s*(?P<unit>%|割)?)"
)


@dataclass(frozen=True)
class Rate:
    raw: str
    kind: str  # the word naming the rate: 措置率, 補助率 ...
    value: float  # as a fraction: 0.5 for 1/2, 50%, 5割 and 0.5
    start: int
    end: int


def find_rates(text: str) -> list[Rate]:
    """Every named rate in ``text`` as a fraction (措置率は0.5 → 0.5, 補助率1/2 → 0.5)."""
    out = []
    for m in _RATE.finditer(fold(text)):
        if m["num"]:
            value = int(m["num"]) / int(m["den"]) if int(m["den"]) else None
        elif m["num2"]:
            value = int(m["num2"]) / int(m["den2"]) if int(m["den2"]) else None
        else:
            value = float(re.sub(r"\s", "", m["value"]))
            if m["unit"] == "%":
                value /= 100
            elif m["unit"] == "割":
                value /= 10
        if value is not None and 0 <= value <= 1:
            out.append(Rate(m.group(0).strip(), m["word"], value, m.start(), m.end()))
    return out


def yen_amounts(text: str) -> list[int]:
    """Every yen amount in ``text`` as integer yen, in order."""
    return [int(round(q.value)) for q in find_quantities(text) if q.unit == "円"]

@dataclass(frozen=True)
class AgeBand:
    raw: str
    min_age: int | None  # None: open below (20歳未満) or not an age band
    max_age: int | None  # None: open above (50代以上, 60歳以上)


_DECADE_RANGE = re.compile(r"^(?P<a>\d{1,2})\s*(?:代|歳)?\s*[~〜～\-ー－から]+\s*(?P<b>\d{1,2})\s*(?P<unit>代|歳)(?P<open>以上)?$")
_DECADE = re.compile(r"^(?P<a>\d{1,3})\s*(?P<unit>代|歳)(?P<rel>以上|以下|未満)?$")


def age_band(text: str) -> AgeBand | None:
    """An age band header as ages: 20代 → 20-29, 10代~20代 → 10-29, 30～40代 → 30-49,
    50代以上 → 50-, 60歳以上 → 60-, 20歳未満 → -19. None when ``text`` is not one."""
    folded = fold(text).strip().replace(" ", "")
    m = _DECADE_RANGE.match(folded)
    if m:
        a, b = int(m["a"]), int(m["b"])
        decade = m["unit"] == "代"
        high = None if m["open"] else (b + 9 if decade else b)
        return AgeBand(text, a, high) if high is None or a <= high else None
    m = _DECADE.match(folded)
    if not m:
        return None
    a = int(m["a"])
    if m["unit"] == "代":
        return AgeBand(text, a, None if m["rel"] == "以上" else a + 9)
    if m["rel"] == "以上":
        return AgeBand(text, a, None)
    if m["rel"] == "以下":
        return AgeBand(text, None, a)
    if m["rel"] == "未満":
        return AgeBand(text, None, a - 1)
    return AgeBand(text, a, a)
