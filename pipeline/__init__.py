"""nichiiki: Japanese government PDF reports to validated open data with provenance."""

__version__ = "0.1.0"

import sys

# When installed (pymupdf4llm pulls it in), pymupdf_layout makes ``import pymupdf`` load an ONNX
# layout model, ~0.6 s and ~55 MB in every process, for ``Page.get_layout``, which nothing here calls.
sys.modules.setdefault("pymupdf.layout", None)  # type: ignore[arg-type]
