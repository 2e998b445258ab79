"""What a report states about its monitor tours: totals read from its prose.

The report states its totals in prose (モニターツアーは…21団体で実施,
延べ360名が参加); these are found by pattern in the page text, never
hard-coded, and published as report_statements rows with provenance.
pipeline.checks.tours compares them with what the datasets hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from extractors.base import provenance, register
from extractors.text.layout import text_lines
from extractors.text.values import fold
from pipeline.model.records import ParsedPage, Record

NAME, VERSION = "tour_statements", "1"


@dataclass(frozen=True)
class Statement:
    kind: str  # tour_organisations, tour_participants_total
    value: int
    text: str  # the sentence it was read from
    page: int
    doc_id: str = ""
    bbox: tuple | None = None


_PATTERNS = {
    "tour_organisations": re.compile(r"(?:ツアー|モニター)[^。]*?(\d[\d,]*)\s*団体\W?\s*で\s*実施"),
    "tour_participants_total": re.compile(r"(?:ツアー|モニター)[^。]*?延べ\s*(\d[\d,]*)\s*名\W?\s*が?\s*参加"),
}
# The report_statements kinds this reader writes.
KINDS = tuple(_PATTERNS)


def tour_statements(pages: Sequence[ParsedPage]) -> list[Statement]:
    """Totals the report states about its tours, with the line each was read from."""
    found: list[Statement] = []
    seen: set[tuple[str, int]] = set()
    for page in pages:
        if not page.has_text:
            continue
        for line in text_lines(page):
            text = fold(line.text)
            for kind, pattern in _PATTERNS.items():
                m = pattern.search(text)
                if m and (kind, int(m.group(1).replace(",", ""))) not in seen:
                    value = int(m.group(1).replace(",", ""))
                    seen.add((kind, value))
                    found.append(Statement(kind, value, line.text, page.page_number, page.doc_id, line.bbox))
    return found


@register(NAME, VERSION, ("report_statements",))
def extract_tour_statements(pages: Sequence[ParsedPage]) -> list[Record]:
    """The tour statements as report_statements rows, so they are published with provenance."""
    by_page = {p.page_number: p for p in pages}
    return [
        Record(
            dataset="report_statements",
            values={"statement": st.kind, "round": None, "value": st.value, "text_raw": st.text},
            provenance=provenance(by_page[st.page], st.bbox, NAME, VERSION),
        )
        for st in tour_statements(pages)
    ]
