"""Footnotes: superscript markers in the text and the bodies they point to.

A marker is a digit or asterisk set noticeably smaller than its line and
raised above the line's middle ("関係人口」¹と呼ばれる"). A footnote body is a
line in the lower part of the page, smaller than the body font, opening with
the same label; lines after it in the same small size continue it. ※ notes
("※ 令和7年4月現在") are kept as footnotes too, with ``※`` as their marker.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from extractors.text.layout import Line
from pipeline.model.records import BBox, ParsedPage, union_bbox

# A marker glyph is at most this share of its line's size.
MARKER_SIZE_RATIO = 0.8
# Footnote bodies are set at most this share of the body size ...
NOTE_SIZE_RATIO = 0.92
# ... and sit in the lower part of the page (share of page height from the top).
NOTE_ZONE = 0.6
# A footnote body has at least this many characters after its label.
MIN_NOTE_CHARS = 8
_KOME = re.compile(r"^※\s*([0-9０-９]{0,3})")
_MARKER_CHARS = re.compile(r"^[0-9０-９*＊†‡]+$")
_NOTE_LABEL = re.compile(r"^(?:注\s*)?([0-9０-９]{1,3}|[*＊†‡]+)")


@dataclass(frozen=True)
class Marker:
    label: str
    bbox: BBox
    line: Line


@dataclass
class NoteBody:
    label: str
    lines: list[Line]

    @property
    def text(self) -> str:
        return "\n".join(ln.text for ln in self.lines)

    @property
    def bbox(self) -> BBox:
        return union_bbox([ln.bbox for ln in self.lines])


def markers_in(line: Line) -> list[Marker]:
    """Superscript markers inside ``line`` (consecutive small raised glyphs form one label)."""
    mid = (line.bbox[1] + line.bbox[3]) / 2
    out: list[Marker] = []
    run: list = []
    for ch in list(line.chars) + [None]:
        small = (
            ch is not None
            and ch.size < MARKER_SIZE_RATIO * line.size
            and _MARKER_CHARS.match(ch.text)
            and (ch.bbox[1] + ch.bbox[3]) / 2 < mid
        )
        if small:
            run.append(ch)
            continue
        if run and run[0] is not line.chars[0]:  # a small label opening the line is a note body, not a marker
            out.append(Marker("".join(c.text for c in run), union_bbox([c.bbox for c in run]), line))
        run = []
    return out


def split_note_bodies(lines: list[Line], page: ParsedPage, body_size: float) -> tuple[list[Line], list[NoteBody]]:
    """Separate footnote bodies (small lines low on the page opening with a label) from prose."""
    prose: list[Line] = []
    notes: list[NoteBody] = []
    for ln in lines:
        small_low = ln.size < NOTE_SIZE_RATIO * body_size and ln.bbox[1] > NOTE_ZONE * page.height
        if small_low:
            m = _NOTE_LABEL.match(ln.text)
            # A footnote says something: a small "4 使途" in a diagram is a label, not a note.
            if m and _label_is_set_apart(ln, len(m.group(0))) and len(ln.text) - len(m.group(0)) >= MIN_NOTE_CHARS:
                notes.append(NoteBody(_fold_digits(m.group(1)), [ln]))
                continue
            if notes and ln.bbox[1] >= notes[-1].lines[-1].bbox[1]:
                notes[-1].lines.append(ln)
                continue
        prose.append(ln)
    return prose, notes


def kome_note(line: Line) -> str | None:
    """The label of a ※ note line (※, ※1), or None when the line is not one.

    A ※ standing alone or with only its number is a reference mark in a
    diagram, not a note.
    """
    m = _KOME.match(line.text.lstrip())
    if not m:
        return None
    rest = line.text.lstrip()[m.end():]
    if sum(unicodedata.category(ch).startswith("L") for ch in rest) < 2:
        return None
    return "※" + _fold_digits(m.group(1))


def _label_is_set_apart(line: Line, n: int) -> bool:
    """The opening label is smaller than the note's text, or followed by a gap (注1　…)."""
    chars = list(line.chars)
    if len(chars) <= n:
        return False
    label, nxt = chars[:n], chars[n]
    if max(c.size for c in label) < MARKER_SIZE_RATIO * nxt.size:
        return True
    return nxt.bbox[0] - label[-1].bbox[2] > 0.25 * max(nxt.size, 1.0) or line.text.startswith("注")


def _fold_digits(text: str) -> str:
    return text.translate(str.maketrans("０１２３４５６７８９＊", "0123456789*"))
