"""What each declared column is, in the vocabularies users load it with: Table Schema and Arrow.

pipeline/model/schema.py declares every column once, as a pandera field (dtype,
checks, description, metadata). This module reads those declarations and
nothing else, so a dataset added there gets its Table Schema field, its
Parquet type and its data-dictionary entry without further code:

- dtype → Table Schema type and Arrow type (``date`` → DATE,
  ``datetime64[.., UTC]`` → TIMESTAMP with time zone, ``Int64`` → nullable
  integer, ...);
- ``isin`` → an enum constraint; on a text column also a dictionary-encoded
  (categorical) Parquet column, as is a column whose metadata says
  ``categorical``;
- ``ge`` / ``le`` / ``in_range`` / ``str_matches`` / ``unique`` / not nullable →
  minimum / maximum / pattern / unique / required;
- a list column (dtype object) names its item type in metadata
  (``items``: string, integer or number); ``box`` marks a 4-number bbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandera.pandas as pa
import pyarrow

from pipeline.model.schema import DatasetSpec

_ITEM_TYPES = {"string": pyarrow.string(), "integer": pyarrow.int64(), "number": pyarrow.float64()}


class UndeclaredType(TypeError):
    """A column whose pandera dtype has no Table Schema / Arrow equivalent here."""


@dataclass(frozen=True)
class ColumnType:
    """One column as data-package users see it."""

    name: str
    description: str
    table_type: str  # Table Schema type
    arrow_type: pyarrow.DataType | None  # None: let Arrow infer (an undeclared list)
    required: bool
    categorical: bool = False
    enum: tuple | None = None
    constraints: dict[str, Any] = field(default_factory=dict)
    table_format: str | None = None
    items: str | None = None

    def table_field(self) -> dict[str, Any]:
        """The Table Schema field descriptor."""
        out: dict[str, Any] = {"name": self.name, "type": self.table_type}
        if self.table_format:
            out["format"] = self.table_format
        out["description"] = self.description
        if self.items:
            out["arrayItem"] = {"type": self.items}
        constraints = dict(self.constraints)
        if self.required:
            constraints["required"] = True
        if self.enum is not None:
            constraints["enum"] = list(self.enum)
        if constraints:
            out["constraints"] = constraints
        return out


def column_types(spec: DatasetSpec) -> list[ColumnType]:
    return [_column_type(name, column) for name, column in spec.model.to_schema().columns.items()]


def _column_type(name: str, column: pa.Column) -> ColumnType:
    meta = column.metadata or {}
    checks = {check.name: check.statistics for check in column.checks}
    enum = tuple(checks["isin"]["allowed_values"]) if "isin" in checks else None
    constraints: dict[str, Any] = {}
    if "greater_than_or_equal_to" in checks:
        constraints["minimum"] = checks["greater_than_or_equal_to"]["min_value"]
    if "less_than_or_equal_to" in checks:
        constraints["maximum"] = checks["less_than_or_equal_to"]["max_value"]
    if "in_range" in checks:
        constraints["minimum"] = checks["in_range"]["min_value"]
        constraints["maximum"] = checks["in_range"]["max_value"]
    if "str_matches" in checks:
        constraints["pattern"] = checks["str_matches"]["pattern"]
    if column.unique:
        constraints["unique"] = True
    dtype = str(column.dtype)
    table_format = None
    items = None
    categorical = False
    if dtype in ("str", "string", "string[pyarrow]", "string[python]"):
        table_type, arrow_type = "string", pyarrow.string()
        categorical = bool(meta.get("categorical")) or enum is not None
        if categorical:
            arrow_type = pyarrow.dictionary(pyarrow.int32(), pyarrow.string())
    elif dtype in ("int64", "Int64", "int32", "Int32"):
        table_type, arrow_type = "integer", pyarrow.int64()
    elif dtype in ("float64", "Float64"):
        table_type, arrow_type = "number", pyarrow.float64()
    elif dtype in ("bool", "boolean"):
        table_type, arrow_type = "boolean", pyarrow.bool_()
    elif dtype == "date":
        table_type, arrow_type, table_format = "date", pyarrow.date32(), "default"  # ISO 8601 YYYY-MM-DD
    elif dtype.startswith("datetime64["):
        unit, _, tz = dtype[len("datetime64["):-1].partition(", ")
        table_type, arrow_type, table_format = "datetime", pyarrow.timestamp(unit, tz=tz or None), "default"
    elif dtype == "object":
        items = meta.get("items")
        if items is not None and items not in _ITEM_TYPES:
            raise UndeclaredType(f"column {name}: metadata items={items!r} is not one of {sorted(_ITEM_TYPES)}")
        table_type = "array"
        arrow_type = pyarrow.list_(_ITEM_TYPES[items]) if items else None
        if meta.get("box"):
            constraints["minLength"] = constraints["maxLength"] = 4
    else:
        raise UndeclaredType(f"column {name}: dtype {dtype} has no Table Schema type (pipeline/model/columns.py)")
    return ColumnType(
        name=name,
        description=column.description or "",
        table_type=table_type,
        arrow_type=arrow_type,
        required=not column.nullable,
        categorical=categorical,
        enum=enum,
        constraints=constraints,
        table_format=table_format,
        items=items,
    )
