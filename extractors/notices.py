"""Administrative notices (通知, 事務連絡): the letterhead and the numbered items.

A notice opens with a fixed letterhead — document number(s) and date at the
top right, the addressee ending in 殿 / 様 / 各位, the issuing office, then a
centred title — followed by a preface, 記, and numbered items (1 > （1） > ①
> 例）) that may run into annexes (別添). The letterhead becomes one
``notices`` row; every numbered item becomes a ``notice_items`` row in a tree,
with the yen amounts and rates it sets as numbers.

Documents without a letterhead yield nothing: this extractor runs on every
document and must stay silent on reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from extractors.base import Context, provenance, register
from extractors.text.layout import Line
from extractors.text.numbering import NUMBERED_KINDS, LevelStack, is_bracket_heading, label_of
from extractors.text.pagetext import DocumentText, PageText, document_text
from extractors.text.values import find_dates, find_rates, yen_amounts
from pipeline.model.records import ParsedPage, Record, union_bbox

EXTRACTOR = "notices"
VERSION = "1"

# The letterhead is looked for on the first page only, above this share of its height.
LETTERHEAD_ZONE = 0.6
# A line whose centre is within this share of the page width from the middle is centred.
CENTRED = 0.08
# Letterhead lines starting right of this share of the width are the issuer's (or numbers/date).
RIGHT_SIDE = 0.45
# A title spans at least this share of the page width.
TITLE_MIN_WIDTH = 0.2
_DOC_NUMBER = re.compile(r"^\S{1,16}第\s*[0-9]+\s*号$|^事務連絡$")
_ADDRESSEE_END = re.compile(r"(殿|様|各位|御中)$")
_TITLE_ENDS = ("について", "（通知）", "(通知)", "（依頼）", "(依頼)", "（周知）", "(周知)")
_KI = re.compile(r"^記$")
_ITEM_KINDS = NUMBERED_KINDS | {"example", "bullet_filled", "bullet_open"}


@dataclass
class Letterhead:
    page: ParsedPage
    doc_numbers: list[str]
    date_raw: str | None
    date: str | None
    addressee: list[Line]
    issuer: list[Line]
    title: list[Line]
    preface: list[Line]
    items_from: tuple[int, int]  # (page index, line index) where the items start
    ocr: bool


@dataclass
class Item:
    kind: str
    label: str
    level: int
    parent: "Item | None"
    page: ParsedPage
    lines: list[Line] = field(default_factory=list)
    first_page_lines: list[Line] = field(default_factory=list)
    ocr: bool = False

    @property
    def text_raw(self) -> str:
        text = "\n".join(ln.text for ln in self.lines)
        stripped = text.lstrip(" \u3000")
        return stripped[len(self.label):].lstrip(" \u3000") if self.label and stripped.startswith(self.label) else text


@register(EXTRACTOR, VERSION, ("notices", "notice_items"), with_context=True)
def extract_notices(pages: Sequence[ParsedPage], *, context: Context | None = None) -> list[Record]:
    if not pages:
        return []
    # Most documents are not notices: look at the first page with text before reading them all.
    first = next((p for p in pages if p.has_text), None)
    if first is None or read_letterhead(document_text([first])) is None:
        return []
    doc = document_text(pages, None if context is None else context.memo)
    head = read_letterhead(doc)
    if head is None:
        return []
    doc_id = pages[0].doc_id
    items = read_items(doc, head)
    records = [_notice_record(head, doc_id)]
    ids = {id(it): f"{doc_id}#i{n}" for n, it in enumerate(items, start=1)}
    records += [_item_record(it, ids, doc_id) for it in items]
    return records


def read_letterhead(doc: DocumentText) -> Letterhead | None:
    """The letterhead of the first page with text, or None when the document is not a notice.

    Letterheads differ in order (the issuer may stand above or below the
    title; 御中 may sit beside a list of desks), so lines are told apart by
    place: numbers and date at the top right, the addressee on the left, the
    title centred, the issuer on the right.
    """
    for page_index, pt in enumerate(doc.pages):
        if pt.lines:
            break
    else:
        return None
    lines = list(pt.lines)
    width = pt.page.width
    zone = [i for i, ln in enumerate(lines) if ln.bbox[1] < LETTERHEAD_ZONE * pt.page.height]
    numbers = [i for i in zone if _DOC_NUMBER.match(_compact(lines[i].text))]
    addressee_end = next((i for i in zone if _ADDRESSEE_END.search(_compact(lines[i].text))), None)
    if not numbers or addressee_end is None:
        return None
    date_at, date_raw, date = None, None, None
    for i in zone:
        found = [d for d in find_dates(_compact(lines[i].text)) if len(d.iso) == 10]
        if found and i not in numbers:
            date_at, date_raw, date = i, _compact(lines[i].text), found[0].iso
            break
    title_at = next(
        (i for i in zone if i > addressee_end and _is_title_line(lines[i], width) and not _KI.match(_compact(lines[i].text))),
        None,
    )
    if title_at is None:
        return None
    title_end = title_at + 1
    while (
        title_end < len(lines)
        and _is_title_line(lines[title_end], width)
        and not _KI.match(_compact(lines[title_end].text))
        and not _compact(lines[title_end - 1].text).endswith(_TITLE_ENDS)
        and lines[title_end].bbox[2] < pt.right_margin - lines[title_end].size  # a full-width line is prose
    ):
        title_end += 1
    taken = set(numbers) | ({date_at} if date_at is not None else set())
    head = [i for i in range(title_at) if i not in taken and lines[i].bbox[1] >= lines[numbers[0]].bbox[1]]
    addressee = [lines[i] for i in head if lines[i].bbox[0] < RIGHT_SIDE * width or i == addressee_end]
    issuer = [lines[i] for i in head if lines[i].bbox[0] >= RIGHT_SIDE * width and i != addressee_end]
    j = title_end
    while j < len(lines) and lines[j].bbox[0] >= RIGHT_SIDE * width:
        issuer.append(lines[j])  # the issuer may stand below the title
        j += 1
    title = lines[title_at:title_end]
    doc_numbers = [_compact(lines[i].text) for i in numbers]
    # Preface until 記 (on any page); without 記 the items start right after the issuer.
    preface: list[Line] = []
    for pi in range(page_index, len(doc.pages)):
        page_lines = doc.pages[pi].lines
        for li in range(j if pi == page_index else 0, len(page_lines)):
            if _KI.match(_compact(page_lines[li].text)):
                return Letterhead(pt.page, doc_numbers, date_raw, date, addressee, issuer, title, preface, (pi, li + 1), pt.ocr)
            preface.append(page_lines[li])
    return Letterhead(pt.page, doc_numbers, date_raw, date, addressee, issuer, title, [], (page_index, j), pt.ocr)


def _is_title_line(line: Line, width: float) -> bool:
    """Centred and of some length: 御中 or 記 alone are not a title."""
    return _is_centred(line, width / 2, width) and line.bbox[2] - line.bbox[0] > TITLE_MIN_WIDTH * width


def read_items(doc: DocumentText, head: Letterhead) -> list[Item]:
    """Numbered items after 記, nested by the order their label kinds appear."""
    stack = LevelStack()
    items: list[Item] = []
    open_at_level: list[Item] = []
    start_page, start_line = head.items_from
    for pi in range(start_page, len(doc.pages)):
        pt = doc.pages[pi]
        lines = pt.lines[start_line:] if pi == start_page else pt.lines
        prev: Line | None = None
        for line in lines:
            kind, label = _item_kind(line, pt, doc.body_size)
            if kind is not None and kind.startswith("style:") and prev is not None and _wraps(prev, line, pt):
                kind = None  # the second line of a wrapped bold item, not a new item
            prev = line
            if kind is None:
                if items:
                    items[-1].lines.append(line)
                    if items[-1].page is pt.page:
                        items[-1].first_page_lines.append(line)
                continue
            level = stack.push(kind, line.size)
            del open_at_level[level:]
            parent = open_at_level[level - 1] if level > 0 and len(open_at_level) >= level else None
            item = Item(kind, label, level, parent, pt.page, [line], [line], pt.ocr)
            items.append(item)
            while len(open_at_level) <= level:
                open_at_level.append(item)
            open_at_level[level] = item
    return items


def _item_kind(line: Line, pt: PageText, body_size: float) -> tuple[str | None, str]:
    text = line.text.strip()
    label = label_of(text, line)
    if label is not None and label.kind in _ITEM_KINDS and label.rest:
        return label.kind, label.text
    if is_bracket_heading(text):
        return f"style:{round(line.size * 2) / 2}:{'B' if line.bold else 'R'}", ""
    if pt.ocr:
        return None, ""  # OCR gives no reliable font size or weight
    short = line.bbox[2] < pt.right_margin - 2 * line.size
    if (short and (line.bold or line.size >= 1.08 * body_size) and not text.endswith("。")):
        return f"style:{round(line.size * 2) / 2}:{'B' if line.bold else 'R'}", ""
    return None, ""


def _wraps(prev: Line, line: Line, pt: PageText) -> bool:
    return (
        prev.bold == line.bold
        and abs(prev.size - line.size) < 0.3
        and prev.bbox[2] >= pt.right_margin - 2 * prev.size
        and -0.3 * prev.size <= line.bbox[1] - prev.bbox[3] < 0.9 * prev.size
    )


def _is_centred(line: Line, middle: float, width: float) -> bool:
    return abs((line.bbox[0] + line.bbox[2]) / 2 - middle) < CENTRED * width


def _compact(text: str) -> str:
    """Letterhead lines are letter-spaced (地 域 政 策 課 長): drop the spaces, keep the text."""
    return re.sub(r"[\s\u3000]+", "", text)


def _notice_record(head: Letterhead, doc_id: str) -> Record:
    parts = head.addressee + head.issuer + head.title
    values = {
        "notice_id": f"{doc_id}#n1",
        "doc_numbers": head.doc_numbers,
        "date_raw": head.date_raw,
        "date": head.date,
        "addressee": "\n".join(_compact(ln.text) for ln in head.addressee),
        "issuer": "\n".join(_compact(ln.text) for ln in head.issuer),
        "title_raw": "".join(ln.text for ln in head.title),
        "title": "".join(ln.text for ln in head.title),  # the text stage overwrites this
        "preface_raw": "\n".join(ln.text for ln in head.preface),
        "ocr": head.ocr,
    }
    return Record("notices", values, provenance(head.page, union_bbox([ln.bbox for ln in parts]), EXTRACTOR, VERSION))


def _item_record(item: Item, ids: dict[int, str], doc_id: str) -> Record:
    text = item.text_raw
    values = {
        "notice_id": f"{doc_id}#n1",
        "item_id": ids[id(item)],
        "parent_id": ids[id(item.parent)] if item.parent is not None else None,
        "level": item.level,
        "kind": item.kind,
        "label": item.label,
        "text_raw": text,
        "text": text,  # the text stage overwrites this
        "amounts_yen": yen_amounts(text),
        "rates": [r.value for r in find_rates(text)],
        "ocr": item.ocr,
    }
    bbox = union_bbox([ln.bbox for ln in item.first_page_lines])
    return Record("notice_items", values, provenance(item.page, bbox, EXTRACTOR, VERSION))

