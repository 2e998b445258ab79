"""What changed between two extractions: rows added, removed and changed, cell by cell.

Pure comparison of two sets of dataset frames (``diff_frames``); loading them
from output folders, releases and goldens is pipeline.review.outputs. Rows are matched on
the dataset's key from pipeline.model.schema.DATASETS; a dataset without a schema
(or whose key columns are missing) falls back to a key of every
non-provenance column, and the diff says so.

Values are normalised before comparison so that the same data read from
parquet, from a fresh extraction or from golden JSON compares equal: numpy
arrays become lists, missing values (None, NaN, pd.NA) become None, numpy
scalars become Python scalars; bboxes match within BBOX_TOLERANCE points.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from pipeline.model.schema import DATASETS, PROVENANCE_COLUMNS

# Columns that differ on every run by construction: never a change.
VOLATILE_COLUMNS = frozenset({"run_id", "fetched_at", "failed_at", "published_at", "created_at"})
# Where a row came from rather than what it says: a row whose only changes are here is counted,
# not listed (a new PDF version changes source_sha256 on every row it yields). ``sha256`` is
# documents' and failures' name for the source's hash.
WHERE_FROM_COLUMNS = frozenset(PROVENANCE_COLUMNS) | {"sha256"}
BBOX_COLUMNS = frozenset({"bbox"})
BBOX_TOLERANCE = 0.5  # PDF points: less than this is float noise, not a moved region
FLOAT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class CellChange:
    column: str
    old: Any
    new: Any


@dataclass
class RowChange:
    """One row present on both sides whose compared cells differ."""

    key: dict[str, Any]
    old: dict[str, Any]
    new: dict[str, Any]
    cells: list[CellChange]

    @property
    def changed_columns(self) -> list[str]:
        return [c.column for c in self.cells]

    @property
    def value_cells(self) -> list[CellChange]:
        """The changes to what the row says (not to where it came from)."""
        return [c for c in self.cells if c.column not in WHERE_FROM_COLUMNS]

    @property
    def provenance_only(self) -> bool:
        return not self.value_cells


@dataclass
class DatasetDiff:
    name: str
    key: tuple[str, ...]
    key_from_schema: bool
    old_rows: int | None  # None: the dataset is absent on that side
    new_rows: int | None
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[RowChange] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def only_in(self) -> str | None:
        if self.old_rows is None:
            return "new"
        if self.new_rows is None:
            return "old"
        return None

    @property
    def has_changes(self) -> bool:
        # A dataset absent on one side and empty on the other holds the same (no) rows.
        one_sided = self.only_in is not None and bool(self.old_rows or self.new_rows)
        return bool(self.added or self.removed or self.changed or self.columns_added or self.columns_removed or one_sided)

    def summary_notes(self) -> list[str]:
        """What a summary row says beside the counts: one-sided datasets, column changes, notes."""
        notes = []
        if self.only_in:
            notes.append(f"only in {self.only_in}")
        if self.columns_added:
            notes.append("new columns: " + ", ".join(self.columns_added))
        if self.columns_removed:
            notes.append("dropped columns: " + ", ".join(self.columns_removed))
        return notes + self.notes

    @property
    def value_changed(self) -> list[RowChange]:
        """Rows whose values changed, listed for review."""
        return [c for c in self.changed if not c.provenance_only]

    @property
    def provenance_changed(self) -> list[RowChange]:
        """Rows whose only changes are where they came from: counted, not listed."""
        return [c for c in self.changed if c.provenance_only]

    @property
    def has_value_changes(self) -> bool:
        return bool(self.added or self.removed or self.value_changed or self.columns_added or self.columns_removed)

    @property
    def provenance_column_counts(self) -> dict[str, int]:
        return _column_counts(self.provenance_changed)

    @property
    def value_column_counts(self) -> dict[str, int]:
        """How many value-changed rows each value column changed in (where-from columns left out)."""
        return _column_counts(self.value_changed, values_only=True)

    @property
    def changed_column_counts(self) -> dict[str, int]:
        """How many changed rows each column changed in: a systematic shift shows at a glance."""
        return _column_counts(self.changed)

    def key_of(self, row: dict[str, Any]) -> dict[str, Any]:
        return {k: row.get(k) for k in self.key}


def _column_counts(changes: list[RowChange], values_only: bool = False) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in changes:
        for column in [c.column for c in change.value_cells] if values_only else change.changed_columns:
            counts[column] = counts.get(column, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


@dataclass
class OutputDiff:
    old_label: str
    new_label: str
    datasets: dict[str, DatasetDiff]
    old_dir: Path | None = None
    new_dir: Path | None = None

    @property
    def has_changes(self) -> bool:
        return any(d.has_changes for d in self.datasets.values())

    @property
    def changed_datasets(self) -> list[DatasetDiff]:
        return [d for d in self.datasets.values() if d.has_changes]

    @property
    def value_changed_datasets(self) -> list[DatasetDiff]:
        """Datasets with something to review row by row (not only provenance)."""
        return [d for d in self.datasets.values() if d.has_value_changes]

    @property
    def source_changes(self) -> dict[str, tuple[str | None, str | None]]:
        """doc_id → (old sha256, new sha256) of every document whose source bytes changed: said once
        per document, however many rows carry the new hash."""
        changes: dict[str, tuple[str | None, str | None]] = {}
        for ds in self.datasets.values():
            for change in ds.changed:
                for cell in change.cells:
                    if cell.column in ("source_sha256", "sha256") and change.new.get("doc_id") is not None:
                        changes.setdefault(str(change.new["doc_id"]), (cell.old, cell.new))
        return dict(sorted(changes.items()))


# ---------------------------------------------------------------- values


def normalize(value: Any) -> Any:
    """A plain Python value for comparison and display (lists, None, int/float/str/bool)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy arrays and numpy scalars
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime.date)):  # Timestamp is a datetime is a date
        return value.isoformat()
    return value


def values_equal(old: Any, new: Any, column: str = "") -> bool:
    """Equality on normalised values; bboxes within BBOX_TOLERANCE, floats within FLOAT_TOLERANCE."""
    if old is None or new is None:
        return old is None and new is None
    if isinstance(old, list) or isinstance(new, list):
        if not (isinstance(old, list) and isinstance(new, list)) or len(old) != len(new):
            return False
        return all(values_equal(a, b, column) for a, b in zip(old, new))
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        tolerance = BBOX_TOLERANCE if column in BBOX_COLUMNS else FLOAT_TOLERANCE
        return abs(old - new) <= tolerance
    return old == new


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 3 and 3.0 are the same key (JSON goldens vs parquet ints)
    return value


def sort_rows(rows: list[dict[str, Any]], key: Iterable[str]) -> list[dict[str, Any]]:
    """Rows in key order (None and mixed types sort without error)."""
    key = tuple(key)
    return sorted(rows, key=lambda r: _sort_key(tuple(_hashable(r.get(k)) for k in key)))


def frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{col: normalize(v) for col, v in zip(frame.columns, values)} for values in frame.itertuples(index=False, name=None)]


# ---------------------------------------------------------------- diffing


def dataset_key(name: str, columns: Iterable[str]) -> tuple[tuple[str, ...], bool, str | None]:
    """The key to match rows on, whether it came from the schema, and a note when it did not."""
    columns = list(columns)
    spec = DATASETS.get(name)
    if spec is not None and all(k in columns for k in spec.key):
        return tuple(spec.key), True, None
    fallback = tuple(c for c in columns if c == "doc_id" or (c not in PROVENANCE_COLUMNS and c not in VOLATILE_COLUMNS))
    if spec is None:
        reason = f"no schema for '{name}' in pipeline/model/schema.py"
    else:
        missing = [k for k in spec.key if k not in columns]
        reason = f"key column(s) {', '.join(missing)} missing"
    note = f"{reason}: rows matched on all non-provenance columns ({', '.join(fallback)}), so an edited row shows as removed + added"
    return fallback, False, note


def _index_rows(rows: list[dict[str, Any]], key: tuple[str, ...]) -> tuple[dict[tuple, dict[str, Any]], int]:
    """Rows by key; a repeated key gets an occurrence number so no row is lost."""
    indexed: dict[tuple, dict[str, Any]] = {}
    duplicates = 0
    seen: dict[tuple, int] = {}
    for row in rows:
        base = tuple(_hashable(row.get(k)) for k in key)
        n = seen.get(base, 0)
        seen[base] = n + 1
        if n:
            duplicates += 1
        indexed[base + ((n,) if n else ())] = row
    return indexed, duplicates


def _sort_key(key: tuple) -> tuple:
    # None and mixed types must sort without TypeError: order by (type name, value).
    return tuple((v is not None, type(v).__name__, _natural(v)) if not isinstance(v, tuple) else (True, "tuple", str(v)) for v in key)


def _natural(value: Any) -> Any:
    """Strings with numbers in them in human order (#s2 before #s10); other values as they are."""
    if not isinstance(value, str):
        return value
    # re.split with a group alternates text and digits, so positions never compare str with int.
    return tuple(int(part) if i % 2 else part for i, part in enumerate(_DIGITS.split(value)))


_DIGITS = re.compile(r"(\d+)")


def diff_dataset(name: str, old: pd.DataFrame | None, new: pd.DataFrame | None) -> DatasetDiff:
    """Compare one dataset; either side may be None (dataset absent there)."""
    columns = list(new.columns if new is not None else old.columns)  # type: ignore[union-attr]
    if old is not None and new is not None:
        columns += [c for c in old.columns if c not in columns]
    key, from_schema, note = dataset_key(name, [c for c in columns if (old is None or c in old.columns) and (new is None or c in new.columns)])
    result = DatasetDiff(name, key, from_schema, None if old is None else len(old), None if new is None else len(new))
    if note:
        result.notes.append(note)
    old_rows = frame_rows(old) if old is not None else []
    new_rows = frame_rows(new) if new is not None else []
    if old is None or new is None:
        # A dataset on one side only: every row is added (or removed), listed for the report.
        (result.added if old is None else result.removed).extend(sort_rows(new_rows or old_rows, key))
        return result
    result.columns_added = [c for c in new.columns if c not in old.columns and c not in VOLATILE_COLUMNS]
    result.columns_removed = [c for c in old.columns if c not in new.columns and c not in VOLATILE_COLUMNS]
    compared = [c for c in new.columns if c in old.columns and c not in VOLATILE_COLUMNS]
    old_index, old_dup = _index_rows(old_rows, key)
    new_index, new_dup = _index_rows(new_rows, key)
    if old_dup or new_dup:
        result.notes.append(
            f"key ({', '.join(key)}) is not unique (old: {old_dup}, new: {new_dup} repeated): repeated rows matched in order"
        )
    for k in sorted(new_index.keys() - old_index.keys(), key=_sort_key):
        result.added.append(new_index[k])
    for k in sorted(old_index.keys() - new_index.keys(), key=_sort_key):
        result.removed.append(old_index[k])
    for k in sorted(old_index.keys() & new_index.keys(), key=_sort_key):
        o, n = old_index[k], new_index[k]
        cells = [CellChange(c, o.get(c), n.get(c)) for c in compared if not values_equal(o.get(c), n.get(c), c)]
        # What the row says before where it came from: that is what a reviewer checks first.
        cells.sort(key=lambda cell: cell.column in PROVENANCE_COLUMNS)
        if cells:
            result.changed.append(RowChange(result.key_of(n), o, n, cells))
    return result


def diff_frames(
    old: dict[str, pd.DataFrame],
    new: dict[str, pd.DataFrame],
    old_label: str = "old",
    new_label: str = "new",
) -> OutputDiff:
    """Diff two sets of datasets ({name: frame}); datasets on one side only are reported too."""
    names = sorted(set(old) | set(new), key=lambda n: (n not in DATASETS, list(DATASETS).index(n) if n in DATASETS else 0, n))
    datasets = {name: diff_dataset(name, old.get(name), new.get(name)) for name in names}
    return OutputDiff(old_label, new_label, datasets)
