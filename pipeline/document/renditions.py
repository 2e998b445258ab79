"""The same table read twice: a text page and its scan, or a scan filed as its own document.

A matrix read from a scan whose rows are, by name and round, the rows of a
matrix printed as text (in the same document or another one of the run) is a
*rendition* of it. Its consortia and theme_marks rows stay published, with
``preferred = False`` and ``rendition_of`` naming the text matrix's document,
so ``where preferred`` counts every consortium once. Its theme names are
matched to the text matrix's own names (the table's vocabulary); a name that
matches none stays empty, as the matrix extractor leaves it.
"""

from __future__ import annotations

import pandas as pd


# A scanned matrix is a rendition when at least this share of its rows link to the text matrix.
MIN_LINKED_SHARE = 0.8
# Names at least this similar (difflib ratio) link rows, as the matrix extractor links its two tables.
LINK_THRESHOLD = 0.6


def mark_renditions(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``frames`` with ``preferred`` / ``rendition_of`` on consortia and theme_marks (new frames, inputs untouched)."""
    consortia = frames.get("consortia")
    if consortia is None or consortia.empty:
        return frames
    out = dict(frames)
    consortia = consortia.copy()
    consortia["preferred"] = True
    consortia["rendition_of"] = None
    marks = out.get("theme_marks")
    marks = marks.copy() if marks is not None else None
    if marks is not None and not marks.empty:
        marks["preferred"] = True
        marks["rendition_of"] = None
    texts = [doc for doc, rows in consortia.groupby("doc_id", sort=True) if not rows["ocr"].all()]
    scans = [doc for doc, rows in consortia.groupby("doc_id", sort=True) if rows["ocr"].any()]
    for scan in scans:
        scan_rows = consortia[(consortia["doc_id"] == scan) & consortia["ocr"]]
        original = _original_of(scan_rows, consortia, texts, scan)
        if original is None:
            continue
        consortia.loc[scan_rows.index, "preferred"] = False
        consortia.loc[scan_rows.index, "rendition_of"] = original
        if marks is not None and not marks.empty:
            ids = set(scan_rows["consortium_id"])
            mine = marks.index[marks["consortium_id"].isin(ids)]
            marks.loc[mine, "preferred"] = False
            marks.loc[mine, "rendition_of"] = original
            printed = set(consortia.loc[(consortia["doc_id"] == original) & ~consortia["ocr"], "consortium_id"])
            vocabulary = sorted(set(marks.loc[marks["consortium_id"].isin(printed), "theme"].dropna()))
            if vocabulary:
                _match_themes(marks, mine, vocabulary)
    out["consortia"] = consortia
    if marks is not None:
        out["theme_marks"] = marks
    return out


def _original_of(scan_rows: pd.DataFrame, consortia: pd.DataFrame, texts: list[str], scan: str) -> str | None:
    """The text matrix whose rows the scan's rows are (best linked share), or None."""
    best, best_share = None, 0.0
    rows = [(int(r), str(n)) for r, n in zip(scan_rows["round"], scan_rows["consortium_name_raw"])]
    for doc in texts:
        target = consortia[(consortia["doc_id"] == doc) & ~consortia["ocr"]]
        if target.empty or abs(len(target) - len(rows)) > (1 - MIN_LINKED_SHARE) * max(len(target), len(rows)):
            continue
        targets = [(int(r), str(n), str(i)) for r, n, i in zip(target["round"], target["consortium_name_raw"], target["consortium_id"])]
        links = _link_by_name()(rows, targets, LINK_THRESHOLD)
        share = sum(1 for cid, method, _ in links if cid is not None and method != "order") / max(len(rows), 1)
        if share >= MIN_LINKED_SHARE and share > best_share:
            best, best_share = doc, share
    return best


def _match_themes(marks: pd.DataFrame, index: pd.Index, vocabulary: list[str]) -> None:
    """Theme names of a rendition as the original table prints them; none → empty (theme_raw keeps the reading)."""
    for i in index:
        current = marks.at[i, "theme"]
        if isinstance(current, str) and current in vocabulary:
            continue
        choice = _match_vocabulary()(str(marks.at[i, "theme_raw"]), vocabulary)
        if choice.value is None and isinstance(current, str):
            choice = _match_vocabulary()(current, vocabulary)
        marks.at[i, "theme"] = choice.value
        marks.at[i, "theme_match"] = "vocabulary" if choice.value is not None else "none"


# Imported only when a scan is compared with a printed table: assembling documents (the command's
# own process) otherwise never loads the matrix reader, OpenCV and Sudachi with it.
def _link_by_name():  # type: ignore[no-untyped-def]
    from extractors.matrix import link_by_name

    return link_by_name


def _match_vocabulary():  # type: ignore[no-untyped-def]
    from pipeline.text.vocabulary import match_vocabulary

    return match_vocabulary
