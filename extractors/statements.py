"""What a report says about itself: 計44団体, (1次募集) … 26採択.

These statements become checks on the extracted tables (pipeline.checks.consortia):
a matrix that does not add up to what the report states is not published.
The patterns read the wording of selection results generally (計/全国/合計 N
団体; N次募集 … M採択), not any one report's numbers.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

from extractors.base import provenance, register
from extractors.text.layout import text_lines
from pipeline.model.records import ParsedPage, Record

NAME = "statements"
VERSION = "1.0"

_TOTAL = re.compile(r"(?:計|全国|合計|全)\s*(\d+)\s*(?:団体|コンソーシアム|件の?採択)")
_ROUND = re.compile(r"(\d+)\s*次\s*募集.*?(\d+)\s*(?:採択|団体)")


@register(NAME, VERSION, ("report_statements",))
def extract_statements(pages: Sequence[ParsedPage]) -> list[Record]:
    records: list[Record] = []
    seen: set[tuple[str, int]] = set()
    for page in pages:
        for line in text_lines(page):
            text = unicodedata.normalize("NFKC", line.text)
            for m in _ROUND.finditer(text):
                key = ("consortia_in_round", int(m.group(1)))
                if key not in seen:
                    seen.add(key)
                    records.append(_record(page, line.bbox, "consortia_in_round", int(m.group(1)), int(m.group(2)), line.text))
            for m in _TOTAL.finditer(text):
                key = ("consortia_total", 0)
                if key not in seen:
                    seen.add(key)
                    records.append(_record(page, line.bbox, "consortia_total", None, int(m.group(1)), line.text))
    return records


def _record(page: ParsedPage, bbox, kind: str, round_: int | None, value: int, text: str) -> Record:
    return Record(
        dataset="report_statements",
        values={"statement": kind, "round": round_, "value": value, "text_raw": text},
        provenance=provenance(page, bbox, NAME, VERSION),
    )
