"""A heading tree per document, with each section's text and its footnotes.

Headings are recognised by what makes a reader see one: a numbering label
(1. / （１） / ① / 第1章 / ●) on a line that stops short of the right margin,
or a line set larger or bolder than the body text, or the title at the top of
a landscape (slide) page. Levels are not a fixed hierarchy: they follow the
order in which label kinds first appear in the document (``LevelStack``).

Headings continue across pages: a section runs until the next heading at the
same or a higher level, wherever that is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Sequence

from extractors.base import Context, provenance, register
from extractors.text.footnotes import Marker, NoteBody, kome_note, markers_in, split_note_bodies
from extractors.text.layout import Line
from extractors.text.numbering import NUMBERED_KINDS, LevelStack, is_bracket_heading, label_of
from extractors.text.values import find_quantities, fold
from extractors.text.pagetext import DocumentText, PageText, document_text
from pipeline.model.records import ParsedPage, Record, union_bbox

EXTRACTOR = "sections"
VERSION = "1"

# Headings are short: longer lines are prose even when numbered.
MAX_HEADING_CHARS = 60
# A line this much larger than the body size is set as a heading.
LARGER_RATIO = 1.08
MUCH_LARGER_RATIO = 1.3
# Lines set smaller than this share of the body size are never headings.
SMALLER_RATIO = 0.95
# Slide titles sit in this top share of a landscape page.
SLIDE_TITLE_ZONE = 0.22
_TOC_TITLES = {"目次", "もくじ", "contents", "index"}
_TOC_LEADERS = re.compile(r"[…‥・.．]{3,}\s*[0-9０-９]{1,3}$")
_PAGE_REF = re.compile(r"^[0-9０-９]{1,3}$")
_SENTENCE_END = ("。", "ます", "です", "である")


@dataclass
class Section:
    kind: str
    label: str
    level: int
    parent: "Section | None"
    page: ParsedPage
    heading_lines: list[Line]
    body: list[tuple[ParsedPage, Line]] = field(default_factory=list)
    pages: set[int] = field(default_factory=set)
    ocr: bool = False
    index: int = 0

    @property
    def heading_raw(self) -> str:
        return "\n".join(ln.text for ln in self.heading_lines)

    @property
    def text_raw(self) -> str:
        return "\n".join(ln.text for _, ln in self.body)


@dataclass
class Footnote:
    label: str
    kind: str  # "superscript" (marker + body) or "note" (※ line)
    section: Section | None
    body_page: ParsedPage
    body: NoteBody | None
    note_line: Line | None = None
    marker: Marker | None = None
    marker_page: int | None = None


@register(EXTRACTOR, VERSION, ("sections", "footnotes"), with_context=True)
def extract_sections(pages: Sequence[ParsedPage], *, context: Context | None = None) -> list[Record]:
    if not pages:
        return []
    doc = document_text(pages, None if context is None else context.memo)
    sections, notes = build_sections(doc)
    doc_id = pages[0].doc_id
    ids = {id(s): f"{doc_id}#s{i + 1}" for i, s in enumerate(sections)}
    records = [_section_record(s, ids) for s in sections]
    records += [_footnote_record(n, i + 1, ids, doc_id) for i, n in enumerate(notes)]
    return records


def build_sections(doc: DocumentText) -> tuple[list[Section], list[Footnote]]:
    """Walk the document's prose lines in order, opening a section at each heading."""
    stack = LevelStack()
    sections: list[Section] = []
    notes: list[Footnote] = []
    open_at_level: list[Section] = []
    bold_is_body = _bold_is_body(doc)
    for pt in doc.pages:
        prose, bodies = split_note_bodies(list(pt.lines), pt.page, doc.body_size)
        in_toc = False
        page_markers: list[tuple[Marker, Section | None]] = []
        i = 0
        while i < len(prose):
            line = prose[i]
            page_body = max(doc.body_size, pt.body_size)
            kind, label = _heading_kind(line, pt, page_body, bold_is_body, in_toc, prose, i)
            if kind is None:
                current = sections[-1] if sections else None
                if current is None:
                    current = _open(sections, open_at_level, "preamble", "", 0, pt.page, [], None)
                current.body.append((pt.page, line))
                current.pages.add(pt.page.page_number)
                current.ocr |= pt.ocr
                page_markers += [(m, current) for m in markers_in(line)]
                kome = kome_note(line)
                if kome is not None:
                    notes.append(Footnote(kome, "note", current, pt.page, None, note_line=line))
                i += 1
                continue
            heading_lines = [line]
            while i + 1 < len(prose) and _continues_heading(heading_lines[-1], prose[i + 1], pt, kind):
                i += 1
                heading_lines.append(prose[i])
            size = 1e6 if kind == "slide_title" else line.size
            level = stack.push(kind, size)
            del open_at_level[level:]
            parent = open_at_level[level - 1] if level > 0 and len(open_at_level) >= level else None
            section = _open(sections, open_at_level, kind, label, level, pt.page, heading_lines, parent)
            section.ocr = pt.ocr
            for hl in heading_lines:
                page_markers += [(m, section) for m in markers_in(hl)]
            in_toc = in_toc or _normalise(line.text) in _TOC_TITLES
            i += 1
        notes += _link_notes(page_markers, bodies, pt, sections)
    return sections, notes


def _open(sections, open_at_level, kind, label, level, page, heading_lines, parent) -> Section:
    section = Section(kind, label, level, parent, page, heading_lines, index=len(sections))
    section.pages.add(page.page_number)
    sections.append(section)
    while len(open_at_level) <= level:
        open_at_level.append(section)
    open_at_level[level] = section
    return section


def _heading_kind(
    line: Line, pt: PageText, body_size: float, bold_is_body: bool, in_toc: bool, prose: list[Line], i: int
) -> tuple[str | None, str]:
    """(kind, label) when ``line`` opens a section, else (None, "")."""
    text = line.text.strip()
    if in_toc or not text or len(text) > MAX_HEADING_CHARS or _is_toc_row(line, prose):
        return None, ""
    page = pt.page
    if page.width > page.height and line.bbox[1] < SLIDE_TITLE_ZONE * page.height:
        # The title is the largest text in the top zone (diagrams lower down may be set larger).
        top = [ln for ln in prose if ln.bbox[1] < SLIDE_TITLE_ZONE * page.height]
        top_size = max(ln.size for ln in top)
        first_big = next((ln for ln in top if ln.size >= 0.9 * top_size), None)
        if line is first_big and line.size > body_size * LARGER_RATIO:
            return "slide_title", ""
    if line.size < SMALLER_RATIO * body_size:
        return None, ""  # chart labels, captions and notes are set smaller than the text
    short = line.bbox[2] < pt.right_margin - 2 * line.size or len(text) <= 20
    larger = line.size >= body_size * LARGER_RATIO
    # A title set much larger than the body may run the full width.
    short = short or line.size >= body_size * MUCH_LARGER_RATIO
    bold = line.bold and not bold_is_body
    label = label_of(text, line)
    if label is not None:
        if not _wordy(label.rest) or label.kind == "example":
            return None, ""  # "9 9 9" or "25 ," on a chart axis
        if label.kind == "decimal" and label.text.isdigit() and text.endswith("。"):
            return None, ""  # a sentence that happens to open with a number
        if label.kind in NUMBERED_KINDS and (short or bold or larger):
            return label.kind, label.text
        if label.kind == "bullet_filled" and short and not text.endswith("。"):
            return label.kind, label.text
        if label.kind == "bullet_open" and short and (bold or larger):
            return label.kind, label.text
        return None, ""
    if is_bracket_heading(text):
        return f"style:{round(line.size * 2) / 2}:{'B' if line.bold else 'R'}", ""
    if pt.ocr:
        return None, ""  # OCR measures neither font size nor weight
    if short and (larger or bold) and not text.endswith(_SENTENCE_END) and _wordy(_without_quantities(text)):
        return f"style:{round(line.size * 2) / 2}:{'B' if line.bold else 'R'}", ""
    return None, ""


def _continues_heading(prev: Line, nxt: Line, pt: PageText, kind: str) -> bool:
    """A heading wrapped onto a second line: same style, right below.

    A numbered heading wraps only when its first line ran to the margin; an
    unnumbered display heading (a cover title set over three lines) may break
    anywhere, so any same-style line right below it that overlaps it continues it.
    """
    same_style = prev.bold == nxt.bold and abs(prev.size - nxt.size) < 0.3
    close = -0.3 * prev.size <= nxt.bbox[1] - prev.bbox[3] < 0.9 * prev.size  # glyph boxes of tight lines overlap
    if not (same_style and close) or label_of(nxt.text, nxt) is not None or pt.ocr:
        return False
    if kind.startswith(("style:", "slide_title")):
        overlaps = min(prev.bbox[2], nxt.bbox[2]) - max(prev.bbox[0], nxt.bbox[0]) > 0
        return overlaps and not prev.text.endswith(_SENTENCE_END)
    return prev.bold and prev.bbox[2] >= pt.right_margin - 2 * prev.size


def _is_toc_row(line: Line, prose: list[Line]) -> bool:
    """A contents entry: dot leaders to a page number, or a bare page number further along the row."""
    if _TOC_LEADERS.search(line.text):
        return True
    mid = (line.bbox[1] + line.bbox[3]) / 2
    return any(
        other is not line
        and other.bbox[0] > line.bbox[2]
        and abs((other.bbox[1] + other.bbox[3]) / 2 - mid) < 0.5 * line.size
        and _PAGE_REF.match(other.text.strip())
        for other in prose
    )


def _bold_is_body(doc: DocumentText) -> bool:
    """Documents set wholly in a bold face give boldness no meaning."""
    total = sum(len(ln.text) for pt in doc.pages for ln in pt.lines)
    bold = sum(len(ln.text) for pt in doc.pages for ln in pt.lines if ln.bold)
    return total > 0 and bold > 0.5 * total


def _wordy(text: str) -> bool:
    """At least two letters: a lone "＋", "２" or arrow in a diagram is not a heading."""
    return sum(unicodedata.category(ch).startswith("L") for ch in text) >= 2


def _without_quantities(text: str) -> str:
    """``text`` less its amounts: a budget line "２６５億円" set large is a figure, not a heading."""
    folded = fold(text)
    for q in reversed(find_quantities(folded)):
        folded = folded[: q.start] + folded[q.end :]
    return folded


def _normalise(text: str) -> str:
    return re.sub(r"[\s\u3000]", "", text).lower()


def _link_notes(
    markers: list[tuple[Marker, Section | None]], bodies: list[NoteBody], pt: PageText, sections: list[Section]
) -> list[Footnote]:
    """Pair each footnote body with the marker of the same label on the page."""
    out = []
    by_label = {m.label.translate(str.maketrans("０１２３４５６７８９＊", "0123456789*")): (m, s) for m, s in markers}
    for body in bodies:
        hit = by_label.pop(body.label, None)
        if hit is not None:
            marker, section = hit
            out.append(Footnote(body.label, "superscript", section, pt.page, body, marker=marker, marker_page=pt.page.page_number))
        else:
            out.append(Footnote(body.label, "superscript", sections[-1] if sections else None, pt.page, body))
    return out


def _section_record(s: Section, ids: dict[int, str]) -> Record:
    bbox = union_bbox([ln.bbox for ln in s.heading_lines]) if s.heading_lines else (
        union_bbox([ln.bbox for p, ln in s.body if p.page_number == s.page.page_number]) if s.body else None
    )
    values = {
        "section_id": ids[id(s)],
        "parent_id": ids[id(s.parent)] if s.parent is not None else None,
        "level": s.level,
        "kind": s.kind,
        "label": s.label,
        "heading_raw": s.heading_raw,
        "heading": s.heading_raw,  # the text stage overwrites this with the cleaned heading
        "text_raw": s.text_raw,
        "text": s.text_raw,  # likewise
        "page_start": min(s.pages),
        "page_end": max(s.pages),
        "ocr": s.ocr,
    }
    return Record("sections", values, provenance(s.page, bbox, EXTRACTOR, VERSION))


def _footnote_record(n: Footnote, number: int, ids: dict[int, str], doc_id: str) -> Record:
    if n.body is not None:
        text, bbox = n.body.text, n.body.bbox
    else:
        text, bbox = n.note_line.text, n.note_line.bbox  # type: ignore[union-attr]
    values = {
        "footnote_id": f"{doc_id}#f{number}",
        "section_id": ids[id(n.section)] if n.section is not None else None,
        "kind": n.kind,
        "label": n.label,
        "text_raw": text,
        "text": text,
        "marker_page": n.marker_page,
        "marker_bbox": list(round(v, 2) for v in n.marker.bbox) if n.marker is not None else None,
    }
    return Record("footnotes", values, provenance(n.body_page, bbox, EXTRACTOR, VERSION))
