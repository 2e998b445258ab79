"""nichiiki: Japanese government PDF reports to validated open data with provenance."""

from pathlib import Path

__version__ = "0.1.0"

import sys

# When installed, pymupdf4llm and the pymupdf_layout it pulls in are imported by ``import pymupdf``
# itself (onnxruntime, an ONNX layout model): ~1.2 s and ~90 MB in every process, for
# ``to_markdown`` and ``Page.get_layout``, which nothing here calls.
for _optional in ("pymupdf.layout", "pymupdf4llm"):
    sys.modules.setdefault(_optional, None)  # type: ignore[arg-type]

# The checkout (or install prefix) holding this package: the default home of
# .cache, docs and samples, and the root local paths are written relative to.
REPO_ROOT = Path(__file__).resolve().parent.parent
# Content-keyed caches (OCR answers by image, fetched PDFs, results) unless a run names another folder.
CACHE_DIR = REPO_ROOT / ".cache"
