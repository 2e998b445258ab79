"""The one writer: releases are atomic, validated, locked, and survive failures."""

from __future__ import annotations

import json
import threading

import pandas as pd
import pytest

from pipeline.model.errors import ValidationFailed
from pipeline.publish.writer import (
    PublishLocked,
    current_release,
    output_lock,
    publish_release,
    read_manifest,
    validate_frames,
    validated_empty_frames,
)

SHA = "a" * 64


def _frames(n_rows: int = 2, region: str = "釧路市") -> dict[str, pd.DataFrame]:
    consortia = pd.DataFrame(
        [
            {
                "doc_id": "doc",
                "source_sha256": SHA,
                "page": 4,
                "bbox": [1.0, 2.0, 3.0, 4.0],
                "extractor": "matrix",
                "extractor_version": "1.0",
                "consortium_id": f"doc|{i}",
                "row": i,
                "round": 1,
                "region_raw": region,
                "consortium_name_raw": f"名前{i}",
                "tour": True,
                "ocr": False,
                # columns the text stage adds (pipeline.text.stage)
                "region": region,
                "consortium_name": f"名前{i}",
                "jis_codes": [],
                "prefecture": None,
                "preferred": True,
                "rendition_of": None,
            }
            for i in range(1, n_rows + 1)
        ]
    )
    return {"consortia": consortia}


def _publish(tmp_path, run_id: str, frames=None):
    frames = validate_frames(frames or _frames(), run_id)
    return publish_release(frames, {"run_id": run_id}, tmp_path)


def test_release_has_every_dataset_manifest_and_descriptor(tmp_path):
    release = _publish(tmp_path, "r1")
    assert current_release(tmp_path) == release.resolve()
    manifest = read_manifest(release)
    assert manifest["outputs"]["consortia"]["rows"] == 2
    assert manifest["previous_run_id"] is None
    package = json.loads((release / "datapackage.json").read_text())
    consortia = next(r for r in package["resources"] if r["name"] == "consortia")
    assert {f["name"] for f in consortia["schema"]["fields"]} >= {"run_id", "bbox", "source_sha256", "region_raw"}
    assert all(f["description"] for f in consortia["schema"]["fields"])
    # every known dataset is published, empty ones included, so readers find every file
    assert (release / "theme_marks.parquet").exists()
    frame = pd.read_parquet(release / "consortia.parquet")
    assert set(frame["run_id"]) == {"r1"}
    assert list(frame.loc[0, "bbox"]) == [1.0, 2.0, 3.0, 4.0]


def test_second_release_keeps_the_first_and_points_current_to_the_new(tmp_path):
    first = _publish(tmp_path, "r1")
    second = _publish(tmp_path, "r2", _frames(3))
    assert current_release(tmp_path) == second.resolve()
    assert read_manifest(second)["previous_run_id"] == "r1"
    assert len(pd.read_parquet(first / "consortia.parquet")) == 2


def test_failure_mid_write_keeps_previous_release_intact(tmp_path, monkeypatch):
    first = _publish(tmp_path, "r1")
    import pipeline.publish.writer

    real_write = pipeline.publish.writer.write_parquet
    calls = {"n": 0}

    def failing_write(name, frame, path):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real_write(name, frame, path)

    monkeypatch.setattr(pipeline.publish.writer, "write_parquet", failing_write)
    with pytest.raises(OSError):
        _publish(tmp_path, "r2", _frames(5))
    monkeypatch.undo()
    assert current_release(tmp_path) == first.resolve()
    assert len(pd.read_parquet(tmp_path / "current" / "consortia.parquet")) == 2
    assert not list((tmp_path / "releases").glob(".tmp-*"))
    assert not (tmp_path / "releases" / "r2").exists()


def test_next_run_removes_what_a_killed_run_left(tmp_path):
    _publish(tmp_path, "r1")
    leftover = tmp_path / "releases" / ".tmp-killed"
    leftover.mkdir()
    (leftover / "consortia.parquet").write_bytes(b"half")
    _publish(tmp_path, "r2")
    assert not leftover.exists()


def test_an_out_of_range_round_is_published_as_null_and_reviewed(tmp_path):
    frames = _frames(3)
    frames["consortia"].loc[1, "round"] = 0  # a scan read 採択次 "1" as 0
    validated = validate_frames(frames, "r1")
    consortia = validated["consortia"]
    assert len(consortia) == 3
    assert consortia["round"].isna().tolist() == [False, True, False]
    assert consortia.loc[consortia["row"] == 2, "consortium_name_raw"].item() == "名前2"  # the rest of the row stands
    reviews = validated["value_reviews"]
    assert reviews[["doc_id", "dataset", "record_key", "column", "raw_value", "action", "page", "extractor"]].to_dict("records") == [
        {"doc_id": "doc", "dataset": "consortia", "record_key": "doc|2", "column": "round", "raw_value": "0",
         "action": "nulled", "page": 4, "extractor": "matrix"}
    ]
    assert "isin" in reviews.loc[0, "failed_check"] and reviews.loc[0, "run_id"] == "r1"
    release = publish_release(validated, {"run_id": "r1"}, tmp_path)
    assert pd.read_parquet(release / "consortia.parquet")["round"].isna().sum() == 1
    assert read_manifest(release)["outputs"]["value_reviews"]["rows"] == 1


def test_an_unreadable_value_in_a_non_nullable_column_drops_only_its_row():
    frames = _frames(3)
    frames["consortia"]["row"] = frames["consortia"]["row"].astype(object)
    frames["consortia"].loc[0, "row"] = "一"  # a key column: the row cannot be identified
    frames["consortia"].loc[2, "page"] = 0  # not a page: provenance cannot be null
    validated = validate_frames(frames, "r1")
    assert validated["consortia"]["consortium_id"].tolist() == ["doc|2"]
    reviews = validated["value_reviews"].set_index("column")
    assert reviews.loc["row", "action"] == "row_dropped" and reviews.loc["row", "raw_value"] == "一"
    assert "coerce" in reviews.loc["row", "failed_check"]
    assert reviews.loc["page", "action"] == "row_dropped" and reviews.loc["page", "record_key"] == "doc|3"


def test_a_missing_column_is_the_codes_fault_and_refuses_naming_dataset_and_column(tmp_path):
    frames = _frames()
    frames["consortia"] = frames["consortia"].drop(columns=["region"])
    with pytest.raises(ValidationFailed) as info:
        validate_frames(frames, "r1")
    message = str(info.value)
    assert "consortia" in message and "region" in message
    assert not (tmp_path / "releases").exists()


def test_unknown_dataset_is_refused():
    frames = _frames() | {"mystery": pd.DataFrame({"a": [1]})}
    with pytest.raises(ValidationFailed, match="mystery"):
        validate_frames(frames, "r1")


def test_a_second_publisher_waits_then_refuses(tmp_path):
    holding = threading.Event()
    release = threading.Event()

    def hold():
        with output_lock(tmp_path, timeout=5):
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    try:
        with pytest.raises(PublishLocked, match="another run"):
            publish_release(validate_frames(_frames(), "r1"), {"run_id": "r1"}, tmp_path, lock_timeout=0.5)
    finally:
        release.set()
        thread.join()
    assert current_release(tmp_path) is None


def test_datasets_validated_ahead_as_empty_are_what_validation_gives_them():
    # `nichiiki extract` validates every dataset as empty while the documents are read, and the
    # validation after them takes those for the datasets no document had: the same frames.
    from pipeline.model.schema import DATASETS

    empty = validated_empty_frames("r1")
    assert set(empty) == set(DATASETS)
    frames = _frames()
    frames["tables"] = pd.DataFrame(columns=frames["consortia"].columns[:0])  # given, but without rows
    with_ahead = validate_frames(frames, "r1", empty)
    plain = validate_frames(frames, "r1")
    assert set(with_ahead) == set(plain) == set(DATASETS)
    for name in DATASETS:
        pd.testing.assert_frame_equal(with_ahead[name], plain[name], check_exact=True)
        assert list(with_ahead[name].dtypes.astype(str)) == list(plain[name].dtypes.astype(str))
    assert with_ahead["consortia"] is not empty["consortia"] and len(with_ahead["consortia"]) == 2
    assert with_ahead["tables"] is empty["tables"]


def test_a_value_set_aside_is_reviewed_also_with_datasets_validated_ahead():
    frames = _frames()
    frames["consortia"].loc[0, "page"] = -1  # breaks the page check
    with_ahead = validate_frames(frames, "r1", validated_empty_frames("r1"))
    plain = validate_frames(frames, "r1")
    assert len(plain["value_reviews"]) == 1
    pd.testing.assert_frame_equal(with_ahead["value_reviews"], plain["value_reviews"], check_exact=True)


STR_COLUMNS = {
    "str": pd.Series(["x", None, "y"]),
    "mixed": pd.Series(["x", None, 3], dtype=object),
    "numbers": pd.Series([1, 2, 3]),
    "objects": pd.Series(["a", "b"], dtype=object),
    "na_strings": pd.Series(["a", None], dtype="string[pyarrow]"),
    "empty": pd.Series([], dtype=object),
}


@pytest.mark.parametrize("coerce", [True, False])
@pytest.mark.parametrize("column", sorted(STR_COLUMNS))
def test_a_text_column_validates_as_pandera_validates_str(column, coerce):
    # schema.Str decides only the exact-dtype case itself; every answer, error or coerced column,
    # is pandera's own for Series[str].
    import pandera.pandas as pa
    from pandera.typing import Series

    from pipeline.model.schema import Str

    def outcome(dtype) -> str:
        model = type("M", (pa.DataFrameModel,), {"__annotations__": {"a": Series[dtype]}, "a": pa.Field(nullable=True),
                                                  "Config": type("Config", (), {"coerce": coerce, "strict": True})})
        try:
            frame = model.validate(pd.DataFrame({"a": STR_COLUMNS[column]}), lazy=True)
        except Exception as exc:  # noqa: BLE001 — the error itself is compared
            return f"{type(exc).__name__}: {exc}".replace("'M'", "M")
        return f"{frame['a'].dtype!r} {frame['a'].tolist()!r}"

    assert outcome(Str) == outcome(str)


def test_a_text_column_of_the_declared_dtype_is_passed_by_its_dtype():
    # pandera answers it with one True per element, and then formats an (empty) failure-case table.
    from pandera.engines import pandas_engine

    from pipeline.model.schema import Str

    column = pd.Series(["x", None] * 500)
    assert Str().check(pandas_engine.Engine.dtype(column.dtype), column) is True
    # Any other dtype is pandera's to answer: an object column, element by element.
    objects = column.astype(object)
    assert Str().check(pandas_engine.Engine.dtype(objects.dtype), objects).tolist() == [True] * len(objects)
