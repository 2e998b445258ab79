"""What extracting one document gives back, and the light helpers around it.

The processes that only drive extraction (``nichiiki extract``, the flow) import
this module, not ``extract``: they receive ``DocumentExtraction`` objects from
the sandbox's children, and importing ``extract`` would load every extractor,
PyMuPDF, OpenCV and the text stage in a process that runs none of them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from pipeline import CACHE_DIR
from pipeline.reading.info import DocumentInfo

# OCR results are cached here (by the image's pixels), so re-runs of a scan cost nothing.
REPO_CACHE_DIR = CACHE_DIR


@dataclass(frozen=True)
class StepFailure:
    """One per-document step (an extractor, linking, the text stage) that raised; the rest of the document stands."""

    stage: str  # extract:<extractor>, link, text
    error_class: str
    message: str
    page: int | None = None  # the page being read when it raised, when known


@dataclass
class DocumentExtraction:
    doc_id: str
    sha256: str
    source: str
    info: DocumentInfo
    frames: dict[str, pd.DataFrame]
    timings: dict[str, float] = field(default_factory=dict)
    failures: list[StepFailure] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def doc_id_for(path: Path) -> str:
    """A registry-style id from a file name (for PDFs given on the command line)."""
    stem = re.sub(r"[^a-z0-9_\-]+", "_", path.stem.lower()).strip("_")
    return stem or "document"


def concat_frames(parts: Iterable[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Concatenate per-document frames dataset by dataset."""
    grouped: dict[str, list[pd.DataFrame]] = {}
    for frames in parts:
        for name, frame in frames.items():
            if not frame.empty:
                grouped.setdefault(name, []).append(frame)
    return {name: pd.concat(chunks, ignore_index=True) for name, chunks in grouped.items()}
