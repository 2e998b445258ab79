"""Expert opinions: ● topics, the ・ opinions under them, and their category.

Slides of 有識者のご意見 set a category label (実践者に関するご意見) in a
narrow vertical strip beside a panel of ● topics, each followed by ・
opinions. The strip is written one glyph per line, so it is read as a
vertical run of glyphs (same x, stacked, nothing beside them) and taken out
of the page before the horizontal lines are formed. A topic belongs to the
category strip nearest to it vertically.

A page is read only when it speaks of opinions (意見 in its title or a
category label) and a ● topic is followed by at least one ・ opinion, so
ordinary bulleted slides yield nothing.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from extractors.base import provenance, register
from extractors.text.layout import Line, text_lines
from pipeline.model.records import BBox, Char, ParsedPage, Record, union_bbox

NAME, VERSION = "expert_opinions", "1"

TOPIC_MARKS = "●◆■"
BULLETS = "・･•"
_OPINION_WORD = re.compile(r"意見")
# A second bullet inside one visual line starts a new opinion only after a sentence end.
_INLINE_BULLET = re.compile(r"(?<=[。．.!！?？])\s*[・･•]")


def vertical_runs(chars: Sequence[Char], min_len: int = 3) -> list[list[Char]]:
    """Runs of glyphs stacked one per line: same column, consecutive, nothing beside them."""
    glyphs = [c for c in chars if c.text.strip()]

    rows: dict[int, list[Char]] = {}
    for g in glyphs:
        rows.setdefault(int((g.bbox[1] + g.bbox[3]) / 20), []).append(g)

    def alone(c: Char) -> bool:
        size = max(c.size, c.bbox[3] - c.bbox[1], 1.0)
        cy = (c.bbox[1] + c.bbox[3]) / 2
        key = int(cy / 10)
        near = [o for k in range(key - 1 - int(size / 10), key + 2 + int(size / 10)) for o in rows.get(k, ())]
        for o in near:
            if o is c:
                continue
            oy = (o.bbox[1] + o.bbox[3]) / 2
            if abs(oy - cy) < 0.4 * size and (0 <= o.bbox[0] - c.bbox[2] < 1.2 * size or 0 <= c.bbox[0] - o.bbox[2] < 1.2 * size):
                return False
        return True

    candidates = sorted((c for c in glyphs if alone(c)), key=lambda c: (round((c.bbox[0] + c.bbox[2]) / 4), c.bbox[1]))
    runs: list[list[Char]] = []
    for c in sorted(candidates, key=lambda c: c.bbox[1]):
        cx = (c.bbox[0] + c.bbox[2]) / 2
        size = max(c.size, 1.0)
        for run in runs:
            last = run[-1]
            lx = (last.bbox[0] + last.bbox[2]) / 2
            if abs(lx - cx) < 0.3 * size and 0 <= c.bbox[1] - last.bbox[1] < 1.6 * size:
                run.append(c)
                break
        else:
            runs.append([c])
    return [r for r in runs if len(r) >= min_len]


@register(NAME, VERSION, ("expert_opinions",))
def extract_expert_opinions(pages: Sequence[ParsedPage]) -> list[Record]:
    records: list[Record] = []
    for page in pages:
        if page.has_text:
            records.extend(_read_page(page, start=len(records)))
    return records


def _read_page(page: ParsedPage, start: int) -> list[Record]:
    text = "".join(c.text for c in page.chars)
    if "意見" not in text or not any(mark in text for mark in TOPIC_MARKS):
        return []  # cheap test first: the vertical-run search is quadratic in glyphs
    runs = vertical_runs(page.chars)
    in_runs = {id(c) for run in runs for c in run}
    categories = [("".join(c.text for c in run), union_bbox([c.bbox for c in run])) for run in runs]
    body = replace(page, chars=tuple(c for c in page.chars if id(c) not in in_runs))
    lines = text_lines(body)
    if not lines:
        return []
    title_size = max(ln.size for ln in lines)
    titles = [ln.text for ln in lines if ln.size >= title_size - 0.5]
    if not any(_OPINION_WORD.search(t) for t in titles + [name for name, _ in categories]):
        return []

    out: list[Record] = []
    topic: Line | None = None
    current: list[Line] = []  # lines of the opinion being read

    def flush() -> None:
        if topic is None or not current:
            return
        text = "".join(ln.text.strip() for ln in current)
        box = union_bbox([ln.bbox for ln in current])
        for part in _split_opinions(text):
            out.append(
                Record(
                    dataset="expert_opinions",
                    values={
                        "opinion_no": start + len(out) + 1,
                        "category": _category_for(topic.bbox, categories),
                        "topic": topic.text.strip().lstrip(TOPIC_MARKS).strip(),
                        "opinion": part,
                    },
                    provenance=provenance(page, box, NAME, VERSION),
                )
            )

    for ln in lines:
        text = ln.text.strip()
        if text[:1] in TOPIC_MARKS and len(text) > 1:
            flush()
            topic, current = ln, []
        elif text[:1] in BULLETS and topic is not None and ln.bbox[0] > topic.bbox[0]:
            flush()
            current = [ln]
        elif current and ln.bbox[0] > current[0].bbox[0] and ln.bbox[1] - current[-1].bbox[3] < ln.size:
            current.append(ln)  # wrapped continuation, indented under its bullet
        else:
            flush()
            current = []
    flush()
    return out


def _split_opinions(text: str) -> list[str]:
    parts = _INLINE_BULLET.split(text)
    return [p.strip().lstrip(BULLETS).strip() for p in parts if p.strip().lstrip(BULLETS).strip()]


def _category_for(box: BBox, categories: list[tuple[str, BBox]]) -> str | None:
    if not categories:
        return None
    cy = (box[1] + box[3]) / 2

    def distance(cat: tuple[str, BBox]) -> float:
        _, b = cat
        return 0.0 if b[1] <= cy <= b[3] else min(abs(cy - b[1]), abs(cy - b[3]))

    return min(categories, key=distance)[0]
