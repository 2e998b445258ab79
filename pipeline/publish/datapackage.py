"""A release as a Frictionless (tabular) data package: typed Parquet files and their descriptor.

Both are projections of pipeline/model/schema.py through pipeline/model/columns.py: the
Parquet schema carries each column's declared type and description (field
metadata) plus the licence and schema version (file metadata); the
``datapackage.json`` descriptor carries the same as Table Schema fields,
constraints and primary keys.

The descriptor is written by this module rather than by the frictionless
library: frictionless is a development dependency only (it pulls in a CLI
stack the pipeline does not need at run time), and the descriptor is a plain
projection of the schema. The tests validate every published release with
frictionless itself (data included; see frictionless_nichiiki for how it
reads Parquet).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow
import pyarrow.parquet as pq

from pipeline.model.columns import column_types
from pipeline.model.schema import DATASETS, SCHEMA_VERSION, DatasetSpec

LICENSE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Derived from Japanese government publications under the Government of Japan Standard Terms of Use 2.0 (compatible with CC BY 4.0)",
}
SOURCE_TERMS = {
    "title": "Government of Japan Standard Terms of Use (Version 2.0)",
    "path": "https://www.digital.go.jp/resources/open_data/public_data_license_v2.0",
}
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
# File-level Parquet key-value metadata; each field's description is in its own metadata.
META_DATASET = b"nichiiki:dataset"
META_SCHEMA_VERSION = b"nichiiki:schema_version"
META_LICENSE = b"nichiiki:license"
META_DESCRIPTION = b"description"


def arrow_schema(spec: DatasetSpec, present: list[str] | None = None) -> pyarrow.Schema:
    """The Parquet schema of ``spec``'s columns that are in ``present`` (all by default), in that order."""
    types = {c.name: c for c in column_types(spec)}
    fields = []
    for name in present if present is not None else list(types):
        col = types.get(name)
        arrow_type = col.arrow_type if col is not None and col.arrow_type is not None else pyarrow.null()
        description = col.description if col is not None else ""
        fields.append(pyarrow.field(name, arrow_type, nullable=col is None or not col.required, metadata={META_DESCRIPTION: description.encode()}))
    metadata = {
        META_DATASET: spec.name.encode(),
        META_SCHEMA_VERSION: SCHEMA_VERSION.encode(),
        META_LICENSE: f"{LICENSE['name']} ({LICENSE['path']})".encode(),
        META_DESCRIPTION: spec.description.encode(),
    }
    return pyarrow.schema(fields, metadata=metadata)


def to_arrow(name: str, frame: pd.DataFrame) -> pyarrow.Table:
    """A validated frame as an Arrow table of its declared types (any dataset without a
    schema, or a list column without a declared item type, keeps what Arrow infers)."""
    spec = DATASETS.get(name)
    if spec is None:
        return pyarrow.Table.from_pandas(frame, preserve_index=False)
    types = {c.name: c for c in column_types(spec)}
    arrays, fields = [], []
    declared = arrow_schema(spec, list(frame.columns))
    for position, column in enumerate(frame.columns):
        col = types.get(column)
        values = frame[column]
        if col is None or col.arrow_type is None:
            array = pyarrow.array(values.astype(object), from_pandas=True)
            fields.append(declared.field(position).with_type(array.type))
        elif col.categorical:
            array = pyarrow.array(values.astype(object), type=pyarrow.string(), from_pandas=True).dictionary_encode()
            fields.append(declared.field(position))
        else:
            array = pyarrow.array(values if col.table_type != "array" else values.astype(object), type=col.arrow_type, from_pandas=True)
            fields.append(declared.field(position))
        arrays.append(array)
    schema = pyarrow.schema(fields, metadata=declared.metadata)
    return pyarrow.Table.from_arrays(arrays, schema=schema)


def write_parquet(name: str, frame: pd.DataFrame, path: Any) -> None:
    pq.write_table(to_arrow(name, frame), path)


def resource(name: str, out: dict[str, Any]) -> dict[str, Any]:
    """The Table Schema resource of one written dataset (``out``: path, rows, sha256, bytes)."""
    spec = DATASETS.get(name)
    res: dict[str, Any] = {
        "name": name,
        "path": out["path"],
        "profile": "tabular-data-resource",
        "format": "parquet",
        "mediatype": PARQUET_MEDIATYPE,
        "description": spec.description if spec else "",
    }
    if out.get("bytes") is not None:
        res["bytes"] = out["bytes"]
    res["hash"] = f"sha256:{out['sha256']}"
    res["rows"] = out["rows"]
    if spec is not None:
        schema: dict[str, Any] = {"fields": [c.table_field() for c in column_types(spec)]}
        schema["primaryKey"] = list(spec.key)
        schema["missingValues"] = []  # nulls are Parquet nulls; an empty string is a value
        res["schema"] = schema
    return res


def descriptor(outputs: dict[str, dict], run_id: str) -> dict[str, Any]:
    """``datapackage.json`` of a release whose datasets were written as ``outputs``."""
    return {
        "profile": "tabular-data-package",
        "name": "nichiiki",
        "title": "nichiiki: data extracted from Japanese government PDF reports",
        "description": "Datasets read from Japanese government PDF reports, every row with its source document, page and region. "
        "Column meanings: docs/datasets.md.",
        "version": run_id,
        "schemaVersion": SCHEMA_VERSION,
        "licenses": [LICENSE],
        "sources": [SOURCE_TERMS],
        "resources": [resource(name, out) for name, out in sorted(outputs.items())],
    }
