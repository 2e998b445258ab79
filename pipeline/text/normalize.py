"""Unicode folding safe for Japanese text: pure, fast, no language model.

Every change is reported (raw, corrected, rule, confidence) so the
``corrections`` dataset can explain each published character that differs from
the PDF. The data behind the folding is maintained by others, not typed here:

- CJK radicals / strokes → unified ideographs: Unicode's
  EquivalentUnifiedIdeograph.txt (Debian package ``unicode-data``);
- compatibility characters: NFKC, except where it destroys meaning in Japanese
  documents (circled numbers ①, super/subscripts, fractions, the full-width
  tilde used for ranges 1月～3月);
- 旧字体 → 新字体: kyujipy's table (Jōyō / Jinmeiyō lists), minus any character
  an official municipality name uses (龍ケ崎市 keeps 龍, 檜原村 keeps 檜).

Mark glyphs ○ U+25CB, 〇 U+3007, ◯ U+25EF are never touched: unifying them is
the matrix extractor's business, inside mark cells only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

UNICODE_DATA_DIRS = (Path("/usr/share/unicode"), Path("/usr/share/unicode-data"))

PROTECTED_MARKS = frozenset("○〇◯●◎")
# NFKC would turn these into something that means less in a Japanese report.
_NFKC_UNSAFE_TAGS = ("<circle>", "<super>", "<sub>", "<fraction>")
_NFKC_UNSAFE_CHARS = frozenset("～")

RULE_UNIFIED = "unified_ideograph"
RULE_NFKC = "nfkc"
RULE_KYUJITAI = "kyujitai"
RULE_PROLONGED = "prolonged_sound_mark"
RULE_SPACE = "spurious_space"
RULE_LINE_JOIN = "line_join"
RULE_TRIM = "trim"

# Folding from published tables is exact; layout repairs are inferences.
CONFIDENCE = {
    RULE_UNIFIED: 1.0,
    RULE_NFKC: 1.0,
    RULE_KYUJITAI: 0.95,
    RULE_PROLONGED: 0.9,
    RULE_SPACE: 0.9,
    RULE_LINE_JOIN: 0.8,
    RULE_TRIM: 1.0,
}


@dataclass(frozen=True)
class Change:
    raw: str
    corrected: str
    rule: str
    confidence: float


@dataclass
class CleanResult:
    text: str
    changes: list[Change] = field(default_factory=list)


def is_japanese(ch: str) -> bool:
    """Kana, kanji, 々〆〇 and the prolonged sound mark."""
    if not ch:
        return False
    code = ord(ch)
    return (
        0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x3FFFF
        or ch in "々〆〇ヶ"
    )


_JA_PUNCT = "、。，．・「」『』（）【】〔〕［］｛｝〈〉《》：；！？"


@lru_cache(maxsize=1)
def equivalent_unified_ideographs() -> dict[str, str]:
    """Radicals and strokes → the unified ideograph Unicode declares equivalent."""
    for directory in UNICODE_DATA_DIRS:
        path = directory / "EquivalentUnifiedIdeograph.txt"
        if path.exists():
            return _parse_equivalents(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(
        "EquivalentUnifiedIdeograph.txt not found in "
        + ", ".join(map(str, UNICODE_DATA_DIRS))
        + ": install the Debian package unicode-data (scripts/setup.sh does)"
    )


def _parse_equivalents(text: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        source, target = (part.strip() for part in line.split(";")[:2])
        target_char = chr(int(target.removeprefix("U+"), 16))
        if ".." in source:
            first, last = (int(p, 16) for p in source.split(".."))
        else:
            first = last = int(source, 16)
        for code in range(first, last + 1):
            mapping[chr(code)] = target_char
    return mapping


def kyujipy_kyujitai_to_shinjitai() -> dict[str, str]:
    """kyujipy's 旧字体 → 新字体 table, read from its data files as its BasicConverter reads them.

    BasicConverter parses them with the pure-Python ``cson`` package: ~0.24 s for 10 kB, on every
    worker's start. The files are lists of [新字体, 旧字体] pairs with ``#`` comments, which is JSON
    once the comments and trailing commas go; anything else falls back to kyujipy's own reader
    (tests/test_nlp_normalize.py holds the two equal).
    """
    import json
    import re
    from pathlib import Path

    import kyujipy

    data = Path(kyujipy.__file__).parent / "data"
    table: dict[str, str] = {}
    try:
        for name in ("kyujitai_simplified.cson", "kyujitai_variants.cson"):
            text = (data / name).read_text(encoding="utf-8")
            text = re.sub(r"#[^\n\"]*$", "", text, flags=re.MULTILINE)
            text = re.sub(r",\s*\]", "]", text)
            for shinjitai, kyujitai in json.loads(text):
                table[kyujitai] = shinjitai
    except (OSError, ValueError):
        from kyujipy import BasicConverter

        return BasicConverter().kyujitai_to_shinjitai_database
    return table


@lru_cache(maxsize=1)
def kyujitai_table() -> dict[str, str]:
    """旧字体 → 新字体, one character to one, without characters official place names use."""
    from pipeline.text.gazetteer import load_gazetteer

    protected = load_gazetteer().characters
    table = kyujipy_kyujitai_to_shinjitai()
    return {
        old: new
        for old, new in table.items()
        if len(old) == 1 and len(new) == 1 and old != new and old not in protected
    }


def _nfkc_char(ch: str) -> str:
    if ch in PROTECTED_MARKS or ch in _NFKC_UNSAFE_CHARS or ch.isascii():
        return ch
    if unicodedata.decomposition(ch).startswith(_NFKC_UNSAFE_TAGS):
        return ch
    return unicodedata.normalize("NFKC", ch)


def fold_characters(text: str) -> CleanResult:
    equivalents = equivalent_unified_ideographs()
    kyujitai = kyujitai_table()
    out: list[str] = []
    changes: list[Change] = []
    run: list[tuple[str, str, str]] = []  # consecutive changes of one rule, reported together

    def flush() -> None:
        if run:
            rule = run[0][2]
            changes.append(Change("".join(r[0] for r in run), "".join(r[1] for r in run), rule, CONFIDENCE[rule]))
            run.clear()

    for ch in text:
        new, rule = ch, ""
        if ch in equivalents:
            new, rule = equivalents[ch], RULE_UNIFIED
        else:
            folded = _nfkc_char(ch)
            if folded != ch:
                new, rule = folded, RULE_NFKC
        if new in kyujitai:
            new, rule = kyujitai[new], RULE_KYUJITAI
        if rule and (not run or run[-1][2] == rule):
            run.append((ch, new, rule))
        else:
            flush()
            if rule:
                run.append((ch, new, rule))
        out.append(new)
    flush()
    return CleanResult("".join(out), changes)


_DASH_LIKE = "一－‐‑–—―−ｰ-"
_PROLONGED = re.compile(rf"(?<=[\u30a1-\u30fa])[{_DASH_LIKE}](?=[\u30a1-\u30fa])")


def fix_prolonged_sound_marks(text: str) -> CleanResult:
    """A dash or 一 between two katakana is the prolonged sound mark misread."""
    changes: list[Change] = []

    def repl(match: re.Match[str]) -> str:
        s = match.start()
        changes.append(Change(text[s - 1 : s + 2], text[s - 1] + "ー" + text[s + 1], RULE_PROLONGED, CONFIDENCE[RULE_PROLONGED]))
        return "ー"

    return CleanResult(_PROLONGED.sub(repl, text), changes)


_SPACE_RUN = re.compile(r"[ \t\u3000]+")


def _japanese_or_punct(ch: str) -> bool:
    return is_japanese(ch) or ch in _JA_PUNCT


def remove_spurious_spaces(text: str) -> CleanResult:
    """Drop spaces between Japanese characters (OCR and cell wrapping insert them).

    A space after an administrative suffix (市, 町, 県…) followed by a kanji is
    kept: in region cells it separates two place names (下田市 東松島市).
    """
    changes: list[Change] = []
    out: list[str] = []
    last = 0
    for match in _SPACE_RUN.finditer(text):
        s, e = match.span()
        left = text[s - 1] if s > 0 else ""
        right = text[e] if e < len(text) else ""
        if not (_japanese_or_punct(left) and _japanese_or_punct(right)):
            continue
        if left in "都道府県市区町村郡" and is_japanese(right):
            continue
        out.append(text[last:s])
        last = e
        changes.append(Change(left + match.group() + right, left + right, RULE_SPACE, CONFIDENCE[RULE_SPACE]))
    out.append(text[last:])
    return CleanResult("".join(out), changes)


_SENTENCE_END = "。！？!?」』）)"
# A line starting like this begins a new item, not the rest of a sentence.
_ITEM_START = re.compile(r"^\s*([・●○◯〇◆◇■□▪▶►※【\-－*•]|[0-9０-９]+[.．)）]|[(（][0-9０-９一二三四五六七八九十]+[)）]|[①-⑳]|第.{1,3}[条章節項])")


def rejoin_lines(text: str) -> CleanResult:
    """Join a line broken mid-sentence to the next (Japanese on both sides)."""
    if "\n" not in text:
        return CleanResult(text)
    lines = text.split("\n")
    # A wrapped line fills the column; a short one (a heading, a list's last line) ends there.
    full = 0.7 * max(len(line.strip()) for line in lines)
    changes: list[Change] = []
    out = [lines[0]]
    for above, line in zip(lines, lines[1:]):
        previous = out[-1].rstrip()
        head = line.lstrip()
        if (
            previous
            and head
            and len(previous.strip()) >= full
            # Two lines opening alike (所属…/所属…) are parallel entries, not one sentence.
            and head[:2] != above.lstrip()[:2]
            and is_japanese(previous[-1])
            and _japanese_or_punct(head[0])
            and previous[-1] not in _SENTENCE_END
            and not _ITEM_START.match(head)
        ):
            changes.append(Change(previous[-1] + "\n" + head[0], previous[-1] + head[0], RULE_LINE_JOIN, CONFIDENCE[RULE_LINE_JOIN]))
            out[-1] = previous + head
        else:
            out.append(line)
    return CleanResult("\n".join(out), changes)


def clean_text(text: str) -> CleanResult:
    """The cleaning every published text field passes through."""
    if not text:
        return CleanResult(text or "")
    result = CleanResult(text)
    # The misread prolonged mark again after the joins: removing a space or a line break can
    # bring 一 between two katakana (ア 一ア → ア一ア), and cleaning clean text must change nothing.
    # Only this step: joining lines again would measure them against lines already joined.
    for step in (fold_characters, fix_prolonged_sound_marks, remove_spurious_spaces, rejoin_lines, fix_prolonged_sound_marks):
        stepped = step(result.text)
        result = CleanResult(stepped.text, result.changes + stepped.changes)
    stripped = result.text.strip()
    if stripped != result.text:
        result.changes.append(Change(result.text, stripped, RULE_TRIM, CONFIDENCE[RULE_TRIM]))
    return CleanResult(stripped, result.changes)
