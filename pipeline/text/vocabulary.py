"""Closed vocabularies and lexicon repair for text read by OCR.

A table's header cells name categories: a value read from a scan is published
as a category only when it is one of the table's own names. Where those names
come from, in order:

1. the document's own vocabulary: the same header read on several pages (the
   readings vote, and the lexicon breaks ties), or the same table printed as
   text (``match_vocabulary``);
2. the lexicon: characters that OCR confuses with look-alikes are swapped for
   the look-alike that makes the string dictionary words (Sudachi's
   dictionary, which GiNZA installs), ``repair_with_lexicon``.

Scores are from the dictionary and from rendered glyph shapes
(pipeline.text.lookalike), never from a list of known misreadings.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from pipeline.text.language import sudachi
from pipeline.text.lookalike import char_similarity, glyph
from pipeline.text.normalize import Change, CleanResult

# Look-alikes tried per suspicious character, and the least shape similarity (0..1 correlation) to try one.
LOOKALIKES_PER_CHAR = 8
MIN_LOOKALIKE_CORRELATION = 0.85
# At most this many characters of one string are swapped at once.
MAX_SWAPS = 2
# Lexicon cost: every token costs 1, an out-of-vocabulary token this much more,
# a spelling variant (Sudachi's normalized form differs) this much more.
OOV_COST = 3.0
VARIANT_COST = 0.5
# A repair tries at most this many candidate strings per combination of positions.
MAX_CANDIDATES = 2000
RULE_OCR_LEXICON = "ocr_lexicon"
RULE_OCR_SPECK = "ocr_speck"
# Between two Japanese letters a Latin dot or colon is a speck read as text, or
# a misread ・ (the middle dots differ by a few pixels); a full stop there never ends a sentence.
_MIDDLE_DOTS = "·•∙:"
_JA = "\u3041-\u30ff\u4e00-\u9fff"
_SPECK_BETWEEN_LETTERS = re.compile(f"[{_JA}][.．·•∙:][{_JA}]")
# A read value matches a vocabulary entry at least this similar (0..1).
MIN_MATCH = 0.5


@dataclass(frozen=True)
class Choice:
    """A category chosen for a read value: ``value`` is None when none fits (the read text is kept apart)."""

    value: str | None
    method: str  # exact | vote | vocabulary | lexicon | none
    confidence: float


def lexicon_cost(text: str) -> float:
    """How far ``text`` is from dictionary words: tokens, plus penalties for unknown ones and variants."""
    if not text:
        return 0.0
    cost = 0.0
    for m in sudachi().tokenize(text):
        if m.part_of_speech()[0] == "補助記号" and len(m.surface()) == 1 and unicodedata.category(m.surface()).startswith("P"):
            continue  # 住民票/税: a separator between words, not a word
        cost += 1.0
        if m.is_oov():
            cost += OOV_COST
        elif m.normalized_form() != m.surface() and m.surface().isascii() is False and _kana_variant(m.surface(), m.normalized_form()):
            cost += VARIANT_COST
    return cost


def _word_count(text: str) -> int:
    return sum(1 for m in sudachi().tokenize(text) if m.part_of_speech()[0] != "補助記号")


def unknown_words(text: str) -> int:
    """Tokens of ``text`` the dictionary does not know."""
    return sum(1 for m in sudachi().tokenize(text) if m.is_oov())


def _kana_variant(surface: str, normalized: str) -> bool:
    """A letter swapped for another (マーケテイング for マーケティング): the same length, one or two letters differ.

    Not a long-vowel mark added (コミュニティ → コミュニティー) nor a conjugation.
    """
    return len(surface) == len(normalized) and 0 < sum(a != b for a, b in zip(surface, normalized)) <= 2


def best_reading(readings: list[str], unknown: Callable[[str], int] = unknown_words) -> Choice:
    """One value from several readings of the same cell (the header on each page).

    The reading the lexicon likes best wins; among equals, the most frequent,
    then the first. Each reading may first be repaired by the lexicon.
    ``unknown`` counts the words of a reading that cannot be right (default:
    the words the dictionary does not know); the caller's own test of a value
    ranks the readings, so a misread repeated on two pages cannot outvote the
    reading the caller would accept.
    """
    readings = [r for r in readings if r]
    if not readings:
        return Choice(None, "none", 0.0)
    counts = Counter(readings)
    candidates = {r: repair_with_lexicon(r) for r in counts}
    # Words the dictionary knows first, then the majority, then fewer and
    # longer words (a reading that lost glyphs is often a shorter word), then page order.
    scored = sorted(
        (unknown(fixed), -counts[r], lexicon_cost(fixed), -len(fixed), readings.index(r), fixed, conf)
        for r, (fixed, conf) in candidates.items()
    )
    *_, value, confidence = scored[0]
    if len(counts) == 1 and value == readings[0]:
        return Choice(value, "exact", 1.0)
    agree = sum(c for r, c in counts.items() if candidates[r][0] == value) / len(readings)
    method = "vote" if len(counts) > 1 else "lexicon"
    return Choice(value, method, round(min(confidence, 0.5 + 0.5 * agree), 3))


def match_vocabulary(read: str, vocabulary: list[str]) -> Choice:
    """The vocabulary entry ``read`` stands for, by look-alike-aware similarity; unique best or none."""
    if not read:
        return Choice(None, "none", 0.0)
    if read in vocabulary:
        return Choice(read, "exact", 1.0)
    scores = sorted(((similarity(read, v), v) for v in set(vocabulary)), reverse=True)
    if not scores or scores[0][0] < MIN_MATCH or (len(scores) > 1 and scores[1][0] >= scores[0][0] - 0.05):
        return Choice(None, "none", round(scores[0][0], 3) if scores else 0.0)
    return Choice(scores[0][1], "vocabulary", round(scores[0][0], 3))


def similarity(a: str, b: str) -> float:
    """1 - weighted edit distance / length, a substitution costing 1 - (look-alike similarity)."""
    n, m = len(a), len(b)
    if not n or not m:
        return 0.0
    previous = list(range(m + 1))
    for i in range(1, n + 1):
        row = [i] + [0] * m
        for j in range(1, m + 1):
            sub = 0.0 if a[i - 1] == b[j - 1] else 1.0 - _char_similarity(a[i - 1], b[j - 1])
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + sub)
        previous = row
    return max(0.0, 1.0 - previous[m] / max(n, m))


@lru_cache(maxsize=65536)
def _char_similarity(a: str, b: str) -> float:
    if _is_symbol(a) or _is_symbol(b):
        return 0.0
    return char_similarity(a, b)


def repair_with_lexicon(text: str, digits: bool = True) -> tuple[str, float]:
    """``text`` with look-alike characters swapped where that makes dictionary words; (text, confidence).

    Only characters inside tokens the dictionary does not know (or a stray
    symbol or digit between letters) are tried; a swap is kept when it lowers
    the lexicon cost. Confidence is the product of the swapped glyphs' shape
    similarity (1.0 when nothing changed).
    """
    suspicious = [i for i in _suspicious_positions(text) if digits or not text[i].isdigit()]
    if not suspicious:
        return text, 1.0
    base = lexicon_cost(text)
    words = _word_count(text)
    options = {i: _alternatives(text, i) for i in suspicious}
    best, best_cost, best_conf = text, base, 1.0
    for k in range(1, MAX_SWAPS + 1):
        for positions in itertools.combinations(sorted(options), k):
            if np.prod([len(options[p]) for p in positions]) > MAX_CANDIDATES:
                continue
            for picks in itertools.product(*(options[p] for p in positions)):
                chars = list(text)
                conf = 1.0
                for p, (ch, sim) in zip(positions, picks):
                    chars[p] = ch
                    conf *= sim
                candidate = "".join(chars)
                if _word_count(candidate) > words:
                    continue  # a swap must make words, not break the string into single characters
                cost = lexicon_cost(candidate)
                if cost < best_cost or (cost == best_cost and conf > best_conf and candidate != text and best != text):
                    best, best_cost, best_conf = candidate, cost, conf
        if best != text:
            break  # the fewest swaps that help
    return best, round(best_conf, 3)


def repair_ocr_text(text: str) -> CleanResult:
    """OCR noise in running text repaired: stray dots between letters, then the lexicon.

    Each word the dictionary does not know is tried with its neighbours as
    context (``repair_with_lexicon``); a repair is kept only when the window
    then reads as dictionary words throughout, so a proper noun the
    dictionary lacks is left alone unless a look-alike makes it ordinary words.
    """
    changes: list[Change] = []
    out = text
    for match in _SPECK_BETWEEN_LETTERS.finditer(text):
        raw = match.group(0)
        fixed = raw[0] + ("・" if raw[1] in _MIDDLE_DOTS else "") + raw[2]
        if raw in out:
            changes.append(Change(raw, fixed, RULE_OCR_SPECK, 0.8))
            out = out.replace(raw, fixed)
    text = out
    tokens = list(sudachi().tokenize(text))
    for i, m in enumerate(tokens):
        if not m.is_oov() or not any(_is_letter(c) for c in m.surface()):
            continue
        start = tokens[max(0, i - 1)].begin()
        end = tokens[min(len(tokens) - 1, i + 1)].end()
        window = text[start:end]
        if "\n" in window:
            continue
        fixed, confidence = repair_with_lexicon(window, digits=False)
        if fixed != window and unknown_words(fixed) == 0 and window in out:
            changes.append(Change(window, fixed, RULE_OCR_LEXICON, confidence))
            out = out.replace(window, fixed)
    return CleanResult(out, changes)


def _suspicious_positions(text: str) -> list[int]:
    positions: set[int] = set()
    for m in sudachi().tokenize(text):
        surface = m.surface()
        if m.is_oov() and any(_is_letter(c) for c in surface):
            positions.update(range(m.begin(), m.end()))
    for i, ch in enumerate(text):
        if _is_symbol(ch) and 0 < i < len(text) - 1 and _is_letter(text[i - 1]) and _is_letter(text[i + 1]):
            positions.add(i)  # コミュ=ティ: a symbol where a letter belongs
        elif ch.isascii() and ch.isdigit() and i == len(text) - 1 and i > 0 and _is_letter(text[i - 1]) and not text[:-1].isascii():
            positions.add(i)  # 住まい1: a stray stroke read as a digit
    return sorted(positions)


def _alternatives(text: str, i: int) -> list[tuple[str, float]]:
    """What ``text[i]`` may stand for, with a confidence: look-alikes by rendered shape; for a
    stray symbol or digit, nothing; for a symbol inside a kana word, any kana (the lexicon decides)."""
    ch = text[i]
    out: list[tuple[str, float]] = []
    if _is_symbol(ch) or ch.isdigit():
        out.append(("", 0.5))
        if _is_kana(text[i - 1 : i]) or _is_kana(text[i + 1 : i + 2]):
            out += [(k, 0.5) for k in _kana()]
        return out
    vector = glyph(ch)
    chars, matrix = _jis_glyphs()
    scores = matrix @ vector
    for i in np.argsort(-scores)[: LOOKALIKES_PER_CHAR + 1]:
        cand = chars[int(i)]
        if cand != ch and scores[i] >= MIN_LOOKALIKE_CORRELATION:
            out.append((cand, float(round(scores[i], 3))))
    return out


@lru_cache(maxsize=1)
def _jis_glyphs() -> tuple[list[str], np.ndarray]:
    """Every kana and kanji of JIS X 0208 with its rendered glyph (cached on disk by pipeline.text.lookalike)."""
    chars = []
    for hi in range(0xA4, 0xF5):
        if 0xA6 <= hi <= 0xAF:
            continue  # Greek, Cyrillic, box drawing: not what a Japanese word is misread as
        for lo in range(0xA1, 0xFF):
            try:
                chars.append(bytes([hi, lo]).decode("euc_jp"))
            except UnicodeDecodeError:
                pass
    return chars, np.stack([glyph(c) for c in chars])


@lru_cache(maxsize=1)
def _kana() -> tuple[str, ...]:
    return tuple(chr(c) for c in range(0x3041, 0x3097)) + tuple(chr(c) for c in range(0x30A1, 0x30F7)) + ("ー",)


def _is_kana(ch: str) -> bool:
    return len(ch) == 1 and ("\u3041" <= ch <= "\u30ff")


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L") or ch == "ー"


def _is_symbol(ch: str) -> bool:
    return not ch.isalnum() and ch != "ー"
