"""nichiiki: Japanese government PDF reports to validated open data with provenance."""

__version__ = "0.1.0"

import sys

# When installed, pymupdf4llm and the pymupdf_layout it pulls in are imported by ``import pymupdf``
# itself (onnxruntime, an ONNX layout model): ~1.2 s and ~90 MB in every process, for
# ``to_markdown`` and ``Page.get_layout``, which nothing here calls.
for _optional in ("pymupdf.layout", "pymupdf4llm"):
    sys.modules.setdefault(_optional, None)  # type: ignore[arg-type]
