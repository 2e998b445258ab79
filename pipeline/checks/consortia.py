"""Consortia counts the report states (計44団体, per round) against the matrix's rows.

A failed check is a ``CheckResult`` with both values and the rows involved;
it blocks publishing (pipeline.checks.suite.raise_on_blocking).
"""

from __future__ import annotations

import pandas as pd

from pipeline.checks.result import CheckResult


def check_statements(frames: dict[str, pd.DataFrame]) -> list[CheckResult]:
    """Compare consortia counts (total and per round) with the report's own statements."""
    statements = frames.get("report_statements")
    consortia = frames.get("consortia")
    if statements is None or statements.empty:
        return []
    # Other statement kinds (tour totals) are checked by their own modules.
    statements = statements[statements["statement"].isin(["consortia_total", "consortia_in_round"])]
    results = []
    for doc_id, stated in statements.groupby("doc_id"):
        rows = consortia[consortia["doc_id"] == doc_id] if consortia is not None and not consortia.empty else pd.DataFrame()
        if rows.empty:
            continue  # a report that states counts but has no matrix: nothing to compare
        unread = rows[rows["round"].isna()] if "round" in rows.columns else rows.iloc[0:0]
        for _, st in stated.iterrows():
            stated_value = int(st["value"])
            unknown = 0
            if st["statement"] == "consortia_total":
                actual = len(rows)
                name = "consortia_total"
                where = "all rounds"
            else:
                rnd = int(st["round"])
                actual = int(rows["round"].eq(rnd).fillna(False).sum())
                # A row whose round could not be read may belong to any round: only a count
                # that no assignment of those rows can reach contradicts the statement.
                unknown = len(unread)
                name = f"consortia_in_round_{rnd}"
                where = f"round {rnd}"
            ok = actual <= stated_value <= actual + unknown
            detail = (
                f"{doc_id}: report states {stated_value} consortia ({where}) on page {int(st['page'])}: "
                f"{st['text_raw']!r}; the matrix has {actual}"
            )
            if unknown:
                detail += f" and {unknown} row(s) whose round was not read (rows {', '.join(map(str, unread['row'].tolist()))})"
            if not ok:
                detail += f" (matrix rows: {', '.join(map(str, rows['row'].tolist()))})"
            results.append(CheckResult(name, str(doc_id), stated_value, actual, ok, detail))
    return results
