"""Releases as data packages: types and descriptions from the schema, valid for frictionless, a current dictionary."""

from __future__ import annotations

import datetime

import pandas as pd
import pyarrow
import pyarrow.parquet as pq
import pytest

from frictionless_check import errors, frictionless_validate
from pipeline.publish import dictionary
from pipeline.model.columns import column_types
from pipeline.publish.datapackage import META_LICENSE, META_SCHEMA_VERSION, to_arrow
from pipeline.publish.writer import publish_release, validate_frames
from pipeline.model.schema import DATASETS, SCHEMA_VERSION

SHA = "a" * 64


def _row(**values) -> dict:
    return {"doc_id": "doc", "source_sha256": SHA, "page": 4, "bbox": [1.0, 2.0, 3.0, 4.0], "extractor": "matrix",
            "extractor_version": "1.0", **values}


def _frames() -> dict[str, pd.DataFrame]:
    documents = pd.DataFrame([{
        "doc_id": "doc", "sha256": SHA, "url": None, "local_path": "samples/doc.pdf", "publisher": "MLIT", "title": "表",
        "issued": "2026-03-01", "issued_precision": "month", "pages": 21, "producer": "p", "ocr_needed": False,
        "fetched_at": "2026-12-01T03:00:00+00:00", "stale": False, "stale_reason": None, "ocr_engine": None,
    }])
    consortia = pd.DataFrame([_row(
        consortium_id="doc|1", row=1, round=1, region_raw="釧路市", consortium_name_raw="名前", tour=None, ocr=False,
        region="釧路市", consortium_name="名前", jis_codes=["01206"], prefecture="北海道", preferred=True, rendition_of=None,
    )])
    marks = pd.DataFrame([_row(consortium_id="doc|1", row=1, group="取組テーマ", theme_raw="域内交通", theme="域内交通", theme_match="exact", mark="○",
                               mark_source="glyph", confidence=1.0, preferred=True, rendition_of=None)])
    statements = pd.DataFrame([_row(statement="consortia_total", round=None, value=44, text_raw="計44団体", text="計44団体")])
    return {"documents": documents, "consortia": consortia, "theme_marks": marks, "report_statements": statements}


@pytest.fixture()
def release(tmp_path):
    frames = validate_frames(_frames(), "r1")
    return publish_release(frames, {"run_id": "r1"}, tmp_path)


def test_every_declared_column_has_a_table_schema_type_a_parquet_type_and_a_description():
    empty = validate_frames({}, "r")
    for name, spec in DATASETS.items():
        for col in column_types(spec):
            assert col.description, (name, col.name)
            assert col.table_type in {"string", "integer", "number", "boolean", "date", "datetime", "array"}, (name, col.name)
            if col.table_type == "array":
                assert col.items, f"{name}.{col.name}: declare the list's item type in the field metadata"
        # An empty dataset is written with its declared types too (readers see the same schema every release).
        table = to_arrow(name, empty[name])
        assert not any(pyarrow.types.is_null(field.type) for field in table.schema), name


def test_parquet_columns_are_typed_and_described(release):
    documents = pq.read_table(release / "documents.parquet")
    assert documents.schema.field("issued").type == pyarrow.date32()
    assert documents.schema.field("fetched_at").type == pyarrow.timestamp("us", tz="UTC")
    assert documents.column("issued").to_pylist() == [datetime.date(2026, 3, 1)]
    marks = pq.read_table(release / "theme_marks.parquet")
    for column in ("mark", "group", "theme", "mark_source", "extractor"):
        assert pyarrow.types.is_dictionary(marks.schema.field(column).type), column
    assert marks.schema.field("mark").metadata[b"description"].decode().startswith("● or ○")
    assert marks.schema.field("bbox").type == pyarrow.list_(pyarrow.float64())
    assert marks.schema.metadata[META_SCHEMA_VERSION].decode() == SCHEMA_VERSION
    assert b"CC-BY-4.0" in marks.schema.metadata[META_LICENSE]
    assert pd.read_parquet(release / "theme_marks.parquet")["mark"].dtype == "category"
    consortia = pd.read_parquet(release / "consortia.parquet")
    assert consortia.loc[0, "consortium_id"] == "doc|1" and consortia.loc[0, "prefecture"] == "北海道"


def test_release_is_a_valid_data_package_and_frictionless_catches_a_bad_value(release):
    report = frictionless_validate(release)
    assert report["valid"] and report["exit_code"] == 0, errors(report)
    import json

    package = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
    marks = next(r for r in package["resources"] if r["name"] == "theme_marks")
    assert marks["schema"]["primaryKey"] == ["doc_id", "row", "theme"] and "primaryKey" not in marks
    mark = next(f for f in marks["schema"]["fields"] if f["name"] == "mark")
    assert mark["type"] == "string" and mark["constraints"] == {"required": True, "enum": ["●", "○"]}
    issued = next(f for f in package["resources"][[r["name"] for r in package["resources"]].index("documents")]["schema"]["fields"] if f["name"] == "issued")
    assert (issued["type"], issued["format"]) == ("date", "default")
    assert package["licenses"][0]["name"] == "CC-BY-4.0"

    # A value outside the enum, written with the declared types: frictionless must say so.
    table = pq.read_table(release / "theme_marks.parquet")
    bad = table.set_column(table.schema.get_field_index("mark"), table.schema.field("mark"),
                           pyarrow.array(["×"]).dictionary_encode())
    pq.write_table(bad, release / "theme_marks.parquet")
    report = frictionless_validate(release)
    assert not report["valid"]
    found = {(resource, kind, field) for resource, kind, field, _ in errors(report)}
    assert ("theme_marks", "constraint-error", "mark") in found
    assert ("theme_marks", "hash-count", None) in found  # the descriptor's sha256 no longer matches the file


def test_data_dictionary_is_generated_from_the_schema_and_up_to_date():
    assert dictionary.main(["--check"]) == 0, "run: python -m pipeline.publish.dictionary"
    text = dictionary.render()
    for name, spec in DATASETS.items():
        assert f"## `{name}`" in text
        for column in spec.columns:
            assert f"| `{column}` |" in text, (name, column)
    assert "● is printed only under 中長期的課題" in text
