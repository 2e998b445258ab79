"""Numbering labels that open headings and items: 1. / （１） / ① / 第1章 / ● ...

Japanese government documents number their parts with a handful of label
*kinds* (decimal, parenthesised, circled, katakana, bullets) but do not agree
on which kind nests in which: one report uses 1. > (1) > ①, a notice may open
with (1) and use 1 later. So this module only says which kind a label is;
the nesting is derived per document from the order kinds first appear
(``LevelStack``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from extractors.text.layout import Line

_DIGIT = "0-9０-９"
_KATAKANA = "ア-ンｱ-ﾝ"
_CIRCLED = "①-⑳㉑-㉟㊱-㊿"
_ROMAN = "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ"
_ROMAN_LOWER = "ⅰⅱⅲⅳⅴⅵⅶⅷⅸⅹ"
_KANJI_NUM = "一二三四五六七八九十百"

# (kind, pattern) in the order they are tried; the first match wins.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("chapter", re.compile(rf"^第\s*[{_DIGIT}{_KANJI_NUM}]+\s*[章編部]")),
    ("clause", re.compile(rf"^第\s*[{_DIGIT}{_KANJI_NUM}]+\s*[節条]")),
    # 第１ 感染拡大防止策… (budget outlines number their parts 第１, 第２ without 章)
    ("dai", re.compile(rf"^第\s*(?:[{_DIGIT}]{{1,2}}(?![{_DIGIT}章編部節条号回年次期項款目])|[{_KANJI_NUM}]{{1,3}}(?=[\s\u3000]))")),
    ("paren_number", re.compile(rf"^[（(]\s*[{_DIGIT}]{{1,2}}\s*[）)]")),
    ("paren_katakana", re.compile(rf"^[（(]\s*[{_KATAKANA}]\s*[）)]")),
    ("paren_alpha", re.compile(r"^[（(]\s*[a-zａ-ｚ]\s*[）)]")),
    ("paren_kanji", re.compile(rf"^[（(]\s*[{_KANJI_NUM}]{{1,3}}\s*[）)]")),
    ("circled", re.compile(rf"^[{_CIRCLED}]")),
    ("roman", re.compile(rf"^[{_ROMAN}]+(?:[.．、]|(?=\s)|(?=[^\x00-\x7f]))")),
    ("roman_lower", re.compile(rf"^[{_ROMAN_LOWER}]+(?:[.．、]|(?=\s)|(?=[^\x00-\x7f]))")),
    ("decimal_2", re.compile(rf"^[1-9１-９][{_DIGIT}]?[.．\-－][{_DIGIT}]{{1,2}}(?![{_DIGIT}.．,，年月日%％万千億円人名件])[.．]?")),
    ("decimal", re.compile(rf"^[1-9１-９][{_DIGIT}]?[.．、](?!\s*[{_DIGIT}])")),
    ("kanji_number", re.compile(rf"^[{_KANJI_NUM}]{{1,3}}[、.．]")),
    ("katakana", re.compile(rf"^[{_KATAKANA}][.．、](?![{_KATAKANA}])")),
    ("example", re.compile(r"^例\s*[)）:：]")),
    ("bullet_filled", re.compile(r"^[●■◆▶▼◎★]")),
    ("bullet_open", re.compile(r"^[○〇◯□◇☆▷]")),
)
# A bare number ("1 地方自治体が…") is a label only when the PDF leaves a gap after it.
_BARE_NUMBER = re.compile(rf"^[1-9１-９][{_DIGIT}]?(?![{_DIGIT}.．,，、年月日%％万千億円人名件回時分代歳才])")
_BRACKET = re.compile(r"^【[^】]{1,40}】$")

# Kangxi radicals (U+2F00–U+2FD5) to the ideographs they look like.
_KANGXI = {cp: unicodedata.normalize("NFKC", chr(cp)) for cp in range(0x2F00, 0x2FD6)}

# Kinds that number things (as opposed to bullets, which only mark them).
NUMBERED_KINDS = frozenset(k for k, _ in _PATTERNS if not k.startswith("bullet") and k != "example")


@dataclass(frozen=True)
class Label:
    kind: str
    text: str  # the label as printed, e.g. "（1）"
    rest: str  # the line's text after the label, leading spaces removed


def label_of(text: str, line: Line | None = None) -> Label | None:
    """The numbering label that opens ``text``, or None.

    ``line`` (when given) lets a bare number count as a label if a visible gap
    follows it, which is how many notices print "1　地方自治体が…".
    """
    original = text.lstrip(" \u3000")
    # PowerPoint exports often write 一, 二, 十 as Kangxi radicals (⼀ ⼆ ⼗); match on the
    # ordinary ideographs but hand back the label as printed (the mapping is one to one).
    stripped = original.translate(_KANGXI)
    for kind, pattern in _PATTERNS:
        m = pattern.match(stripped)
        if m:
            return Label(kind, original[: m.end()].strip(), original[m.end():].lstrip(" \u3000"))
    m = _BARE_NUMBER.match(stripped)
    if m and line is not None and _gap_after(line, len(m.group(0))):
        return Label("decimal", m.group(0), stripped[m.end():].lstrip(" \u3000"))
    if m and stripped[m.end():m.end() + 1] in (" ", "\u3000"):
        return Label("decimal", m.group(0), stripped[m.end():].lstrip(" \u3000"))
    return None


def is_bracket_heading(text: str) -> bool:
    """【対象経費の例】 standing alone on its line."""
    return bool(_BRACKET.match(text.strip()))


def _gap_after(line: Line, n: int) -> bool:
    chars = [c for c in line.chars if c.text.strip()]
    if len(chars) <= n:
        return False
    prev, nxt = chars[n - 1], chars[n]
    # A space glyph is about a quarter em in these fonts; kerning between digits and kanji is near zero.
    return nxt.bbox[0] - prev.bbox[2] > 0.2 * max(line.size, 1.0)


@dataclass
class LevelStack:
    """Levels from the order in which label kinds appear in one document.

    A kind seen before goes back to its level (closing deeper ones); a new kind
    nests under the current heading, unless that heading is set in a smaller
    font than the new one (a smaller heading cannot be its parent). Unnumbered
    headings carry a style kind ("style:12.0:B") so that equal-looking ones are
    siblings.
    """

    entries: list[tuple[str, float]] = field(default_factory=list)

    def push(self, kind: str, size: float) -> int:
        for i, (k, _) in enumerate(self.entries):
            if k == kind:
                del self.entries[i + 1:]
                self.entries[i] = (kind, size)
                return i
        while self.entries and self.entries[-1][1] < size - 0.25:
            self.entries.pop()
        self.entries.append((kind, size))
        return len(self.entries) - 1

    def reset(self) -> None:
        self.entries.clear()
