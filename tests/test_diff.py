"""The diff: rows added/removed/changed by key, cell changes, tolerance, lists, exit codes, releases."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.review.diff import (
    diff_frames,
    normalize,
    values_equal,
)
from pipeline.review.diff_cli import main as diff_main
from pipeline.review.outputs import OutputNotFound, diff_outputs, previous_release

SHA = "a" * 64


def consortia(rows: list[dict]) -> pd.DataFrame:
    base = {
        "doc_id": "doc", "source_sha256": SHA, "page": 4, "extractor": "matrix", "extractor_version": "1.0",
        "run_id": "run-1", "round": 1, "tour": False, "ocr": False,
    }
    out = []
    for r in rows:
        row = dict(base, **r)
        row.setdefault("bbox", [26.0, 100.0 + 20 * row["row"], 816.0, 120.0 + 20 * row["row"]])
        row.setdefault("consortium_id", f"doc|{row['row']}")
        row.setdefault("region_raw", f"町{row['row']}")
        row.setdefault("consortium_name_raw", f"コンソーシアム{row['row']}")
        out.append(row)
    return pd.DataFrame(out)


def test_added_removed_changed_by_key_with_cell_changes() -> None:
    old = consortia([{"row": 1}, {"row": 2}, {"row": 3}])
    new = consortia([{"row": 1}, {"row": 2, "region_raw": "釧路市", "tour": True}, {"row": 4}])
    ds = diff_frames({"consortia": old}, {"consortia": new}).datasets["consortia"]
    assert ds.key == ("doc_id", "row") and ds.key_from_schema
    assert [r["row"] for r in ds.added] == [4]
    assert [r["row"] for r in ds.removed] == [3]
    assert len(ds.changed) == 1
    change = ds.changed[0]
    assert change.key == {"doc_id": "doc", "row": 2}
    assert {(c.column, c.old, c.new) for c in change.cells} == {("region_raw", "町2", "釧路市"), ("tour", False, True)}
    assert ds.changed_column_counts == {"region_raw": 1, "tour": 1}


def test_row_order_and_run_id_and_fetch_time_are_not_changes() -> None:
    old = consortia([{"row": 1}, {"row": 2}])
    new = consortia([{"row": 2, "run_id": "run-2"}, {"row": 1, "run_id": "run-2"}])
    docs_old = pd.DataFrame([{"doc_id": "doc", "sha256": SHA, "fetched_at": "2026-01-01T00:00:00+00:00", "run_id": "r1"}])
    docs_new = docs_old.assign(fetched_at="2026-02-01T00:00:00+00:00", run_id="r2")
    diff = diff_frames({"consortia": old, "documents": docs_old}, {"consortia": new, "documents": docs_new})
    assert not diff.has_changes


def test_bbox_within_tolerance_is_same_beyond_is_change() -> None:
    old = consortia([{"row": 1, "bbox": [26.0, 100.0, 816.0, 120.0]}])
    noise = consortia([{"row": 1, "bbox": np.array([26.3, 99.6, 816.49, 120.0])}])
    moved = consortia([{"row": 1, "bbox": [26.0, 101.0, 816.0, 121.0]}])
    assert not diff_frames({"consortia": old}, {"consortia": noise}).has_changes
    ds = diff_frames({"consortia": old}, {"consortia": moved}).datasets["consortia"]
    assert [c.column for c in ds.changed[0].cells] == ["bbox"]
    # The tolerance is for boxes only: a confidence differing by 0.3 is a change.
    assert not values_equal(0.7, 1.0, "confidence")


def test_list_columns_compared_as_lists() -> None:
    def issues(themes: object) -> pd.DataFrame:
        return pd.DataFrame([{"doc_id": "doc", "row": 1, "themes": themes, "run_id": "x"}])

    same = diff_frames({"consortium_issues": issues(np.array(["交通網", "教育"], dtype=object))},
                       {"consortium_issues": issues(["交通網", "教育"])})
    assert not same.has_changes
    reordered = diff_frames({"consortium_issues": issues(["交通網", "教育"])}, {"consortium_issues": issues(["教育", "交通網"])})
    cell = reordered.datasets["consortium_issues"].changed[0].cells[0]
    assert (cell.column, cell.old, cell.new) == ("themes", ["交通網", "教育"], ["教育", "交通網"])
    shorter = diff_frames({"consortium_issues": issues(["交通網", "教育"])}, {"consortium_issues": issues(["交通網"])})
    assert shorter.datasets["consortium_issues"].changed


def test_missing_values_normalise_to_none_and_compare_equal() -> None:
    assert normalize(pd.NA) is None and normalize(float("nan")) is None and normalize(np.int64(3)) == 3
    assert values_equal(None, normalize(np.nan))
    assert not values_equal(None, "")
    assert not values_equal(True, 1)


def test_null_key_part_matches_across_sides() -> None:
    # report_statements keys on round, which is null for the total: such rows must still match.
    def statements(value: int) -> pd.DataFrame:
        return pd.DataFrame([
            {"doc_id": "doc", "statement": "consortia_total", "round": pd.NA, "value": value, "run_id": "x"},
            {"doc_id": "doc", "statement": "consortia_in_round", "round": 1, "value": 26, "run_id": "x"},
        ]).astype({"round": "Int64"})

    ds = diff_frames({"report_statements": statements(44)}, {"report_statements": statements(45)}).datasets["report_statements"]
    assert not ds.added and not ds.removed
    assert [(c.column, c.old, c.new) for c in ds.changed[0].cells] == [("value", 44, 45)]


def test_dataset_on_one_side_and_unknown_dataset_fallback_key() -> None:
    old = {"consortia": consortia([{"row": 1}])}
    new = {"consortia": consortia([{"row": 1}]), "gazette_notes": pd.DataFrame([{"doc_id": "doc", "page": 3, "name": "釧路市", "run_id": "r"}])}
    diff = diff_frames(old, new)
    notes = diff.datasets["gazette_notes"]
    assert notes.only_in == "new" and notes.old_rows is None and len(notes.added) == 1
    assert not notes.key_from_schema and notes.key == ("doc_id", "name")
    assert any("no schema" in note for note in notes.notes)
    assert diff.has_changes
    assert diff_frames(new, old).datasets["gazette_notes"].only_in == "old"
    # Absent on one side, empty on the other: nothing to review.
    empty = {"failures": pd.DataFrame({"doc_id": pd.Series(dtype=str), "stage": pd.Series(dtype=str)})}
    assert not diff_frames({}, empty).has_changes and not diff_frames(empty, {}).has_changes


def test_duplicate_keys_are_matched_in_order_and_reported() -> None:
    old = pd.DataFrame([{"doc_id": "d", "stage": "extract", "message": "a"}, {"doc_id": "d", "stage": "extract", "message": "b"}])
    new = pd.DataFrame([{"doc_id": "d", "stage": "extract", "message": "a"}])
    ds = diff_frames({"failures": old}, {"failures": new}).datasets["failures"]
    assert len(ds.removed) == 1 and ds.removed[0]["message"] == "b"
    assert any("not unique" in n for n in ds.notes)


def test_columns_added_and_removed_are_reported() -> None:
    old = consortia([{"row": 1}])
    new = consortia([{"row": 1}]).drop(columns=["ocr"]).assign(extra="x")
    ds = diff_frames({"consortia": old}, {"consortia": new}).datasets["consortia"]
    assert ds.columns_added == ["extra"] and ds.columns_removed == ["ocr"] and ds.has_changes


def write_output(folder: Path, frames: dict[str, pd.DataFrame], manifest: dict | None = None) -> Path:
    folder.mkdir(parents=True)
    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_diff_outputs_through_parquet_and_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = consortia([{"row": 1}, {"row": 2}])
    a = write_output(tmp_path / "a", {"consortia": base})
    b = write_output(tmp_path / "b", {"consortia": base.assign(run_id="run-2")})
    c = write_output(tmp_path / "c", {"consortia": consortia([{"row": 1, "region_raw": "釧路市"}])})
    assert not diff_outputs(a, b).has_changes
    assert diff_main(["diff", str(a), str(b)]) == 0
    assert "No changes" in capsys.readouterr().out
    assert diff_main(["diff", str(a), str(c)]) == 1
    out = capsys.readouterr().out
    assert "釧路市" in out and "row=2" in out
    assert diff_main(["diff", str(a), str(tmp_path / "missing")]) == 2
    assert f"{tmp_path / 'missing'}: no such output folder" in capsys.readouterr().err


def test_not_an_output_folder_names_the_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(OutputNotFound, match="empty: no <dataset>.parquet"):
        diff_outputs(tmp_path / "empty", tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "consortia.parquet").write_text("not parquet")
    with pytest.raises(OutputNotFound, match="consortia.parquet: not a readable parquet"):
        diff_outputs(tmp_path / "bad", tmp_path / "bad")


def make_release(outputs: Path, run_id: str, created_at: str, frame: pd.DataFrame, previous: str | None = None) -> Path:
    manifest = {"run_id": run_id, "created_at": created_at}
    if previous is not None:
        manifest["previous_run_id"] = previous
    return write_output(outputs / "releases" / run_id, {"consortia": frame}, manifest)


def point_current(outputs: Path, run_id: str) -> None:
    link = outputs / "current"
    if link.is_symlink():
        link.unlink()
    os.symlink(Path("releases") / run_id, link)


def test_no_arguments_compares_current_with_previous_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "outputs"
    make_release(out, "r1", "2026-01-01T00:00:00+00:00", consortia([{"row": 1}]))
    make_release(out, "r2", "2026-01-02T00:00:00+00:00", consortia([{"row": 1}, {"row": 2}]))
    make_release(out, "r3", "2026-01-03T00:00:00+00:00", consortia([{"row": 1}, {"row": 2}]))
    point_current(out, "r3")
    # No previous_run_id: the release created just before.
    assert [p.name for p in previous_release(out)] == ["r2", "r3"]
    monkeypatch.chdir(tmp_path)
    assert diff_main(["diff"]) == 0
    # previous_run_id wins over creation order.
    make_release(out, "r4", "2026-01-04T00:00:00+00:00", consortia([{"row": 1}, {"row": 2}]), previous="r1")
    point_current(out, "r4")
    assert [p.name for p in previous_release(out)] == ["r1", "r4"]
    assert diff_main(["diff"]) == 1


def test_single_release_or_no_release_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OutputNotFound, match="no current release"):
        previous_release(tmp_path)
    make_release(tmp_path, "only", "2026-01-01T00:00:00+00:00", consortia([{"row": 1}]))
    point_current(tmp_path, "only")
    with pytest.raises(OutputNotFound, match="only one"):
        previous_release(tmp_path)
