"""Run every registered extractor over one PDF and return its datasets as frames.

This is the one code path from a PDF file to unpublished frames: the Prefect
flow, ``nichiiki extract`` and the golden regression all go through it.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from extractors.base import Registered, all_extractors
from extractors.linking import link_document
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.nlp.gazetteer import default_cache_dir
from pipeline.nlp.stage import run_text_stage
from pipeline.pdf import DocumentInfo, document_info, iter_pages, open_document
from pipeline.records import ParsedPage, Record
from pipeline.renditions import mark_renditions
from pipeline.sandbox import report_progress
from pipeline.schema import DATASETS, PROVENANCE_COLUMNS
from pipeline.textlayer import with_text_layer

# OCR results are cached here (by image bytes), so re-runs of a scan cost nothing.
REPO_CACHE_DIR = Path(__file__).resolve().parent.parent / ".cache"


@dataclass
class DocumentExtraction:
    doc_id: str
    sha256: str
    source: str
    info: DocumentInfo
    frames: dict[str, pd.DataFrame]
    timings: dict[str, float] = field(default_factory=dict)


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


def parse_pages(
    path: Path,
    doc_id: str,
    sha256: str,
    source: str,
    cache_dir: Path | None = REPO_CACHE_DIR,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[DocumentInfo, list[ParsedPage]]:
    """Parse every page; image-only pages get an OCR text layer (text pages never pay for OCR)."""
    doc = open_document(path, source, limits)
    try:
        pages = iter_pages(doc, doc_id, sha256, source=source)
        return document_info(doc, source), [with_text_layer(page, cache_dir) for page in pages]
    finally:
        doc.close()


def run_extractors(pages: list[ParsedPage], extractors: Iterable[Registered] | None = None) -> tuple[list[Record], dict[str, float]]:
    records: list[Record] = []
    timings: dict[str, float] = {}
    for ex in extractors if extractors is not None else all_extractors():
        started = time.perf_counter()
        records.extend(ex(pages))
        timings[f"extract:{ex.name}"] = time.perf_counter() - started
    return records, timings


def records_to_frames(records: Iterable[Record]) -> dict[str, pd.DataFrame]:
    """Group records by dataset into frames whose columns follow the schema's order."""
    rows: dict[str, list[dict]] = {}
    for rec in records:
        rows.setdefault(rec.dataset, []).append(rec.as_row())
    frames = {}
    for name, data in rows.items():
        frame = pd.DataFrame(data)
        if name in DATASETS:
            order = [c for c in DATASETS[name].columns if c in frame.columns]
            frame = frame[order + [c for c in frame.columns if c not in order]]
        frames[name] = frame
    return frames


def extract_pdf(
    path: Path,
    doc_id: str,
    sha256: str | None = None,
    source: str | None = None,
    cache_dir: Path | None = REPO_CACHE_DIR,
    limits: Limits = DEFAULT_LIMITS,
) -> DocumentExtraction:
    """Parse ``path`` and run every extractor; raises DocumentError subclasses on bad input."""
    path = Path(path)
    source = source or str(path)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    sha256 = sha256 or sha256_file(path)
    info, pages = parse_pages(path, doc_id, sha256, source, cache_dir, limits)
    report_progress(0)  # extraction spans pages: only the document budget applies from here
    timings["parse"] = time.perf_counter() - started
    with _ocr_cache_for_extractors(cache_dir):
        records, extract_timings = run_extractors(pages)
    timings.update(extract_timings)
    started = time.perf_counter()
    frames = mark_renditions(link_document(records_to_frames(records)))  # needs the whole document's consortia
    timings["link"] = time.perf_counter() - started
    started = time.perf_counter()
    ocr_pages = frozenset((doc_id, p.page_number) for p in pages if p.image is not None)
    frames = run_text_stage(frames, nlp_cache_dir=default_cache_dir() / "nlp", ocr_pages=ocr_pages)
    timings["text"] = time.perf_counter() - started
    return DocumentExtraction(doc_id, sha256, source, info, frames, timings)


@contextmanager
def _ocr_cache_for_extractors(cache_dir: Path | None) -> Iterator[None]:
    """Extractors take only pages: the scan reader finds the OCR cache in NICHIIKI_OCR_CACHE."""
    before = os.environ.get("NICHIIKI_OCR_CACHE")
    os.environ["NICHIIKI_OCR_CACHE"] = str(cache_dir) if cache_dir is not None else ""
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("NICHIIKI_OCR_CACHE", None)
        else:
            os.environ["NICHIIKI_OCR_CACHE"] = before


def concat_frames(parts: Iterable[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Concatenate per-document frames dataset by dataset."""
    grouped: dict[str, list[pd.DataFrame]] = {}
    for frames in parts:
        for name, frame in frames.items():
            if not frame.empty:
                grouped.setdefault(name, []).append(frame)
    return {name: pd.concat(chunks, ignore_index=True) for name, chunks in grouped.items()}


def provenance_columns_present(frame: pd.DataFrame) -> bool:
    return all(c in frame.columns for c in PROVENANCE_COLUMNS if c != "run_id")
