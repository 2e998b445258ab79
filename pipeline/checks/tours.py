"""Cross-checks of the monitor-tour figures against the matrix and the report's own words.

Compared with what the datasets hold:

* organisations that ran a tour (statement) vs consortia with tour = true;
* 延べ participants (statement) vs the sum over the tour reports read;
* each linked tour vs its consortium's ツアー実施 mark;
* within a tour: 男性 + 女性 vs participants, table total vs participants,
  and the table's own row and column sums.

The sample report's figures disagree with each other for documented reasons
(the attribute table on the 52-participant report counts representatives
only, 38; the 延べ360名 covers 15 organisations' returns, not the few reports
printed). So a mismatch is a finding to publish with both values, not a
reason to block: every CheckResult here is informational.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from extractors.tour_statements import KINDS, Statement
from pipeline.checks.result import CheckResult

# A mismatch here never blocks publishing (see the module docstring).
BLOCKING = False


def statements_from_frame(frame: pd.DataFrame | None) -> list[Statement]:
    """Tour statements back from a report_statements frame (other kinds ignored)."""
    if frame is None or frame.empty:
        return []
    rows = frame[frame["statement"].isin(list(KINDS))]
    return [
        Statement(r["statement"], int(r["value"]), r["text_raw"], int(r["page"]), str(r["doc_id"]))
        for _, r in rows.iterrows()
    ]


def check_tours(frames: dict[str, pd.DataFrame]) -> list[CheckResult]:
    """Every tour cross-check for every document in ``frames`` (all informational)."""
    tours = frames.get("tours", pd.DataFrame())
    consortia = frames.get("consortia", pd.DataFrame())
    ages = frames.get("tour_age_counts", pd.DataFrame())
    statements = statements_from_frame(frames.get("report_statements"))
    doc_ids = set(tours["doc_id"]) if not tours.empty else set()
    doc_ids |= {st.doc_id for st in statements}
    results: list[CheckResult] = []
    for doc_id in sorted(doc_ids):
        results.extend(
            cross_check_tours(
                _of(tours, doc_id), _of(consortia, doc_id), [s for s in statements if s.doc_id == doc_id], _of(ages, doc_id)
            )
        )
    return results


def _of(frame: pd.DataFrame, doc_id: str) -> pd.DataFrame:
    if frame is None or frame.empty or "doc_id" not in frame:
        return pd.DataFrame()
    return frame[frame["doc_id"] == doc_id]


def cross_check_tours(
    tours: pd.DataFrame,
    consortia: pd.DataFrame,
    statements: Sequence[Statement],
    age_counts: pd.DataFrame | None = None,
) -> list[CheckResult]:
    """Compare one document's tour figures with its matrix and its own statements.

    Every result is non-blocking (``BLOCKING``); a mismatch carries both values.
    """
    doc_id = _doc_id(tours, consortia, statements)

    def result(name: str, expected: object, actual: object, detail: str) -> CheckResult:
        return CheckResult(name, doc_id, expected, actual, expected == actual, detail, blocking=BLOCKING)  # type: ignore[arg-type]

    results: list[CheckResult] = []
    by_kind: dict[str, list[Statement]] = {}
    for st in statements:
        by_kind.setdefault(st.kind, []).append(st)

    if consortia is not None and not consortia.empty and "tour" in consortia:
        marked = int(consortia["tour"].fillna(False).astype(bool).sum())
        for st in by_kind.get("tour_organisations", []):
            results.append(
                result(
                    "tour_organisations_vs_matrix",
                    st.value,
                    marked,
                    f"p.{st.page} states {st.value} organisations ran a tour ({st.text}); "
                    f"the matrix marks ツアー実施 for {marked} of {len(consortia)} rows",
                )
            )
    if tours is not None and not tours.empty:
        stated = pd.to_numeric(tours["participants"], errors="coerce")
        total = int(stated.fillna(0).sum())
        for st in by_kind.get("tour_participants_total", []):
            results.append(
                result(
                    "tour_participants_total",
                    st.value,
                    total,
                    f"p.{st.page} states 延べ{st.value}名 ({st.text}); the {len(tours)} tour reports read "
                    f"({int(stated.notna().sum())} with a participant count) add up to {total}",
                )
            )
        results.extend(_per_tour(tours, consortia, result))
    if age_counts is not None and not age_counts.empty:
        results.extend(_table_sums(age_counts, result))
    return results


def _doc_id(tours: pd.DataFrame, consortia: pd.DataFrame, statements: Sequence[Statement]) -> str:
    for frame in (tours, consortia):
        if frame is not None and not frame.empty and "doc_id" in frame:
            return str(frame["doc_id"].iloc[0])
    return statements[0].doc_id if statements else ""


def _per_tour(tours: pd.DataFrame, consortia: pd.DataFrame, result) -> list[CheckResult]:
    out: list[CheckResult] = []
    tour_of: dict = {}
    if consortia is not None and not consortia.empty and "tour" in consortia:
        tour_of = dict(zip(consortia["consortium_id"], consortia["tour"]))
    for row in tours.itertuples(index=False):
        name = row.consortium_name_raw if isinstance(row.consortium_name_raw, str) else None
        tid = f"tour {row.tour_id} (p.{row.page}{', ' + name if name else ''})"
        cid = row.consortium_id if isinstance(row.consortium_id, str) else None
        if cid is not None and cid in tour_of:
            mark = tour_of[cid]
            marked = None if mark is None or pd.isna(mark) else bool(mark)
            out.append(result(f"tour_marked_in_matrix:{row.tour_id}", True, marked, f"{tid} is linked to {cid}, whose ツアー実施 is {marked}"))
        p, m, f, t = (_num(row.participants), _num(row.participants_male), _num(row.participants_female), _num(row.table_total))
        if p is not None and m is not None and f is not None:
            out.append(result(f"tour_sex_sum:{row.tour_id}", p, m + f, f"{tid}: 男性{m} + 女性{f} = {m + f} vs {p} participants stated"))
        if p is not None and t is not None:
            out.append(result(f"tour_table_total:{row.tour_id}", p, t, f"{tid}: attribute table total {t} vs {p} participants stated"))
    return out


def _table_sums(age_counts: pd.DataFrame, result) -> list[CheckResult]:
    """Each sex's bands add up to its 合計, and male + female = total in every column."""
    out: list[CheckResult] = []
    for tour_id, cells in age_counts.groupby("tour_id"):
        is_total = cells["age_min"].isna() & cells["age_max"].isna()
        bands, totals = cells[~is_total], cells[is_total]
        for sex, group in bands.groupby("sex"):
            stated = totals[totals["sex"] == sex]["count"]
            if len(stated):
                s, e = int(group["count"].sum()), int(stated.iloc[0])
                out.append(result(f"tour_table_row_sum:{tour_id}:{sex}", e, s, f"tour {tour_id}: {sex} age bands add up to {s}, 合計 says {e}"))
        for band, group in cells.groupby("age_band_raw"):
            counts = dict(zip(group["sex"], group["count"]))
            if {"male", "female", "total"} <= counts.keys():
                s = int(counts["male"]) + int(counts["female"])
                out.append(
                    result(f"tour_table_column_sum:{tour_id}:{band}", int(counts["total"]), s, f"tour {tour_id}: 男性 + 女性 in {band} = {s}, 合計 row says {counts['total']}")
                )
    return out


def _num(value: object) -> int | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    return int(value)  # type: ignore[arg-type]
