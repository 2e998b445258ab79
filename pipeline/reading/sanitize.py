"""Characters a PDF may carry that must never reach a published value or a terminal.

A text layer (and ActualText, and the document's metadata) is whatever the
producer wrote: lone UTF-16 surrogates (which no encoder accepts, so one would
lose the whole document at the first write), C0/C1 control characters (ESC
sequences clear screens and set window titles when a value is printed),
bidirectional overrides (which make text read differently from its storage
order) and zero-width characters (a BOM or ZWJ inside a word splits what a
search or a gazetteer looks for). They are removed where the text enters the
pipeline, at the parse boundary, and every removal is recorded, as a
``corrections`` row (dataset ``documents``), so nothing changes silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

import pandas as pd

# Tab, line feed and carriage return are layout whitespace, left to the line builder.
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ZERO_WIDTH = "\u200b-\u200d\u2060-\u2064\ufeff"
_SURROGATE = "\ud800-\udfff"
UNSAFE = re.compile(f"[{_CONTROL}{_BIDI}{_ZERO_WIDTH}{_SURROGATE}]")
_WHITESPACE = re.compile(r"[\t\r\n]+")
REPLACEMENT = "\ufffd"
EXTRACTOR = "sanitize"
VERSION = "1"


@dataclass(frozen=True)
class TextFix:
    """One character removed or replaced: where (page, field), which, and by which rule."""

    page: int
    field: str  # "text_layer", "producer", "creator", "title"
    raw: str  # "U+001B": the character itself is never published (or an excerpt, for a whole layer)
    corrected: str  # "" (removed) or "U+FFFD"
    rule: str


def _rule(char: str) -> str:
    if re.match(f"[{_SURROGATE}]", char):
        return "lone_surrogate"
    if re.match(f"[{_BIDI}]", char):
        return "bidi_control"
    if re.match(f"[{_ZERO_WIDTH}]", char):
        return "zero_width"
    return "control_char"


def sanitize(text: str, page: int, field: str, fixes: list[TextFix]) -> str:
    """``text`` without unsafe characters (a lone surrogate becomes U+FFFD); appends a fix per character."""
    if not UNSAFE.search(text):
        return text

    def replace(match: re.Match) -> str:
        char = match.group()
        rule = _rule(char)
        out = REPLACEMENT if rule == "lone_surrogate" else ""
        fixes.append(TextFix(page, field, f"U+{ord(char):04X}", f"U+{ord(out):04X}" if out else "", rule))
        return out

    return UNSAFE.sub(replace, text)


def sanitize_metadata(value: str, field: str, fixes: list[TextFix]) -> str:
    """A metadata string on one line, without unsafe characters (page 1 stands for the document)."""
    return _WHITESPACE.sub(" ", sanitize(value, 1, field, fixes)).strip()


def fixes_frame(doc_id: str, sha256: str, fixes: Iterable[TextFix]) -> pd.DataFrame:
    """``corrections`` rows for ``fixes``: dataset ``documents``, one row per character, in order."""
    rows = []
    seq: dict[tuple[int, str], int] = {}
    for fix in fixes:
        n = seq[(fix.page, fix.field)] = seq.get((fix.page, fix.field), -1) + 1
        rows.append(
            {
                "doc_id": doc_id,
                "source_sha256": sha256,
                "page": fix.page,
                "bbox": None,
                "extractor": EXTRACTOR,
                "extractor_version": VERSION,
                "dataset": "documents",
                "record_key": doc_id,
                "field": fix.field,
                "seq": n,
                "raw": fix.raw,
                "corrected": fix.corrected,
                "rule": fix.rule,
                "confidence": 1.0,
            }
        )
    return pd.DataFrame(rows)
