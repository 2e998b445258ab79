"""Content-addressed cache of per-document results (extraction, and the text stage after it).

The key is the document's sha256 and id, the code version (a hash of every source
file that produces data), each registered extractor's name and version, the
library versions that shape the frames and the run's result-relevant config.
So an unchanged document in an unchanged pipeline is read back instead of
parsed, OCRed and run through NLP again; a changed PDF, extractor or setting
misses and is recomputed.

Entries are ``<root>/extract/<key[:2]>/<key>.pkl``: the DocumentExtraction
pickled (frames round-trip exactly, dtypes included, which parquet would
not guarantee for list and object columns). Writes go to a temporary file
renamed into place, so concurrent workers and killed runs never leave a
half-written entry; a corrupt or unreadable entry is a miss and is replaced.
The cache is local: workers of a remote Dask cluster need ``cache_dir`` on a
shared filesystem to profit from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow

from extractors.catalogue import all_extractors
from pipeline.document.results import DocumentExtraction
from pipeline.publish.writer import code_version
from pipeline.model.schema import SCHEMA_VERSION

FORMAT = 2  # 2: results carry the document's failed steps (such results are not stored)


@lru_cache(maxsize=1)
def pipeline_identity() -> dict[str, Any]:
    """Everything besides the input and config that decides a document's result."""
    return {
        "format": FORMAT,
        "code": code_version(),
        "schema": SCHEMA_VERSION,
        "extractors": sorted((ex.name, ex.version) for ex in all_extractors()),
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
    }


def cache_key(sha256: str, doc_id: str, config: dict[str, Any] | None = None) -> str:
    """``doc_id`` is part of the key because every row carries it (provenance)."""
    payload = {"sha256": sha256, "doc_id": doc_id, "pipeline": pipeline_identity(), "config": config or {}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


class ResultCache:
    """Per-document results under ``root/extract``."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve() / "extract"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pkl"

    def get(self, key: str) -> DocumentExtraction | None:
        path = self.path(key)
        try:
            with open(path, "rb") as fh:
                value = pickle.load(fh)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 — a damaged entry is recomputed, not fatal
            path.unlink(missing_ok=True)
            return None
        return value if isinstance(value, DocumentExtraction) else None

    def put(self, key: str, value: DocumentExtraction) -> Path:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            with open(tmp, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def entries(self) -> list[Path]:
        return sorted(self.root.glob("*/*.pkl")) if self.root.exists() else []
