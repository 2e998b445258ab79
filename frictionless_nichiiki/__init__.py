"""A frictionless plugin that reads Parquet rows as plain Python values, so a release validates.

frictionless loads every importable module named ``frictionless_<name>`` as a
plugin, before its own formats. Its stock Parquet reader goes through pandas:
list cells arrive as numpy arrays and a null in an integer or number column
as a float NaN, which it then reports as type errors in valid files. This
reader asks pyarrow for the rows themselves (lists as lists, nulls as None,
DATE as datetime.date, TIMESTAMP as an aware datetime), so every check runs on
the values as written. It only changes how Parquet is read: formats, checks
and the descriptor rules are frictionless's own.

Available when the repository root is on sys.path (``python -m frictionless``
from the root, or PYTHONPATH=.), as pytest runs it.
"""

from __future__ import annotations

import io
from typing import Any, Iterator

from frictionless.system import Parser, Plugin

BATCH_ROWS = 10_000


class RowParquetParser(Parser):
    """Parquet → rows of Python values, batch by batch (a release never sits in memory twice)."""

    # Through frictionless's loader, so it counts and hashes the bytes it reads (byte-count, hash checks).
    requires_loader = True
    supported_types = ["array", "boolean", "date", "datetime", "integer", "number", "object", "string", "time", "any"]

    def read_cell_stream_create(self) -> Iterator[list[Any]]:
        import pyarrow.parquet as pq

        # Parquet is read from its footer: the whole file through the loader's (hashing) stream.
        stream, chunks = self.loader.byte_stream, []
        while chunk := stream.read1(-1):  # read1 is what frictionless counts and hashes
            chunks.append(chunk)
        source = pq.ParquetFile(io.BytesIO(b"".join(chunks)))
        yield list(source.schema_arrow.names)
        for batch in source.iter_batches(batch_size=BATCH_ROWS):
            columns = [column.to_pylist() for column in batch.columns]
            yield from (list(row) for row in zip(*columns))


class NichiikiPlugin(Plugin):
    """Registers RowParquetParser for resources in Parquet format."""

    def create_parser(self, resource: Any) -> Parser | None:
        if resource.format in ("parquet", "parq"):
            return RowParquetParser(resource)
        return None
