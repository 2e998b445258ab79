"""Checks across datasets: do the extracted tables add up to what the report says?

A failed check is a ``CheckResult`` with both values and the rows involved;
pipeline.publish refuses to publish while any blocking check fails.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd


@dataclass(frozen=True)
class CheckResult:
    name: str
    doc_id: str
    expected: int | None
    actual: int | None
    ok: bool
    detail: str
    blocking: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


def check_statements(frames: dict[str, pd.DataFrame]) -> list[CheckResult]:
    """Compare consortia counts (total and per round) with the report's own statements."""
    statements = frames.get("report_statements")
    consortia = frames.get("consortia")
    if statements is None or statements.empty:
        return []
    results = []
    for doc_id, stated in statements.groupby("doc_id"):
        rows = consortia[consortia["doc_id"] == doc_id] if consortia is not None and not consortia.empty else pd.DataFrame()
        if rows.empty:
            continue  # a report that states counts but has no matrix: nothing to compare
        for _, st in stated.iterrows():
            if st["statement"] == "consortia_total":
                actual = len(rows)
                name = "consortia_total"
                where = "all rounds"
            else:
                rnd = int(st["round"])
                actual = int((rows["round"] == rnd).sum())
                name = f"consortia_in_round_{rnd}"
                where = f"round {rnd}"
            ok = actual == int(st["value"])
            detail = (
                f"{doc_id}: report states {int(st['value'])} consortia ({where}) on page {int(st['page'])}: "
                f"{st['text_raw']!r}; the matrix has {actual}"
            )
            if not ok:
                detail += f" (matrix rows: {', '.join(map(str, rows['row'].tolist()))})"
            results.append(CheckResult(name, str(doc_id), int(st["value"]), actual, ok, detail))
    return results
