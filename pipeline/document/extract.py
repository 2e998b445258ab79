"""Run every registered extractor over one PDF and return its datasets as frames.

This is the one code path from a PDF file to unpublished frames: the Prefect
flow, ``nichiiki extract`` and the golden regression all go through it.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pandas as pd

from extractors.base import Context, Registered
from extractors.catalogue import all_extractors
from pipeline.document.linking import link_document
from pipeline.model.errors import DocumentError
from pipeline.model.limits import DEFAULT_LIMITS, Limits
from pipeline.text.gazetteer import default_cache_dir
from pipeline.text.stage import run_text_stage
from pipeline.reading.pdf import DocumentInfo, document_info, iter_pages, open_document
from pipeline.model.records import ParsedPage, PngRaster, Record
from pipeline.document.renditions import mark_renditions
from pipeline.document.results import REPO_CACHE_DIR, DocumentExtraction, StepFailure, concat_frames, doc_id_for, sha256_file  # noqa: F401  (names callers import from here)
from pipeline.reading.sandbox import is_native_oom, report_stage
from pipeline.reading.sanitize import fixes_frame
from pipeline.model.schema import DATASETS, PROVENANCE_COLUMNS
from pipeline.reading.textlayer import with_text_layer

from pipeline.document import PRELOAD_MODULE  # noqa: F401  (the sandbox's callers take it from here)



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
    textless: list[bool] = []

    def parsed() -> Iterator[ParsedPage]:
        for page in iter_pages(doc, doc_id, sha256, source=source):
            # Whether the page has text, from the one parse (reading its text again cost ~3 ms a page).
            textless.append(not any(not c.text.isspace() for c in page.chars))
            yield page

    try:
        compact = _Compactor()
        pages = [compact(with_text_layer(page, cache_dir)) for page in parsed()]
        return document_info(doc, source, needs_ocr=any(textless)), pages
    finally:
        doc.close()


# A document's page rasters are kept as they are up to this many bytes (29 pages of A4 at 300 dpi),
# and PNG-compressed beyond: encoding a 300-dpi page and decoding it for its grids cost ~0.2 s.
RAW_RASTER_BYTES = 256 << 20


class _Compactor:
    """Each page with its raster PNG-compressed once the document's raw rasters pass ``RAW_RASTER_BYTES``:
    a 300-dpi A4 page is ~9 MB raw, ~1 MB as PNG, and a scan of ~380 pages held raw filled the 3 GB budget."""

    def __init__(self) -> None:
        self.raw_bytes = 0

    def __call__(self, page: ParsedPage) -> ParsedPage:
        if page.image is None or isinstance(page.image, PngRaster):
            return page
        if self.raw_bytes + page.image.nbytes <= RAW_RASTER_BYTES:
            self.raw_bytes += page.image.nbytes
            return page
        return dataclasses.replace(page, image=PngRaster.encode(page.image))


def run_extractors(
    pages: list[ParsedPage], extractors: Iterable[Registered] | None = None, context: Context | None = None
) -> tuple[list[Record], dict[str, float], list[StepFailure]]:
    """Every extractor over ``pages``, sharing one ``context``; one that raises costs only its own records."""
    context = context or Context()
    records: list[Record] = []
    timings: dict[str, float] = {}
    failures: list[StepFailure] = []
    for ex in extractors if extractors is not None else all_extractors():
        started = time.perf_counter()
        stage = f"extract:{ex.name}"
        produced, failure = run_step(stage, ex, pages, context)
        if failure is None:
            records.extend(produced)
        else:
            failures.append(failure)
        timings[stage] = time.perf_counter() - started
    return records, timings, failures


def run_step(stage: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, StepFailure | None]:
    """``fn(*args)``, or ``(None, failure)`` when it raised.

    Budgets and document errors are not the step's own failure: running out
    of memory (MemoryError, or a native library's failed allocation), or a
    DocumentError, still ends the whole document (the sandbox reports it), so
    they propagate.
    """
    try:
        return fn(*args, **kwargs), None
    except (DocumentError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 — one step's bug must not cost the document
        if is_native_oom(exc):  # a native library's failed allocation is the memory budget too
            raise
        return None, step_failure(stage, exc)


def step_failure(stage: str, exc: BaseException) -> StepFailure:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {Path(last[0].filename).name}:{last[0].lineno} in {last[0].name})" if last else ""
    return StepFailure(stage, type(exc).__name__, f"{stage} failed: {type(exc).__name__}: {exc}{where}", _page_of(exc))


def _page_of(exc: BaseException) -> int | None:
    """The page the innermost frame of the traceback was working on: a ParsedPage among its locals."""
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            if isinstance(value, ParsedPage):
                return value.page_number
    return None


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
    if not info.needs_ocr and any(page.image is not None for page in pages):  # a text layer replaced by OCR
        info = dataclasses.replace(info, needs_ocr=True)
    # Extractors read the whole document at once, so no single page can be blamed: everything after
    # parsing shares one budget, the pages' budgets added up.
    report_stage(limits.seconds_per_page * len(pages))
    timings["parse"] = time.perf_counter() - started
    records, extract_timings, failures = run_extractors(pages, context=Context(ocr_cache_dir=cache_dir))
    timings.update(extract_timings)
    frames = records_to_frames(records)
    started = time.perf_counter()
    linked, failure = run_step("link", lambda f: mark_renditions(link_document(f)), frames)  # needs the whole document's consortia
    if failure is None:
        frames = linked
    else:
        failures.append(failure)  # rows stay as the extractors made them: unlinked
    timings["link"] = time.perf_counter() - started
    started = time.perf_counter()
    ocr_pages = frozenset((doc_id, p.page_number) for p in pages if p.image is not None)
    cleaned, failure = run_step("text", run_text_stage, frames, nlp_cache_dir=default_cache_dir() / "nlp", ocr_pages=ocr_pages)
    if failure is None:
        frames = cleaned
    else:
        failures.append(failure)
        frames = uncleaned(frames)
    fixes = fixes_frame(doc_id, sha256, [f for page in pages for f in page.text_fixes] + list(info.fixes))
    if not fixes.empty:  # what the parse boundary removed, beside what the text stage changed
        frames["corrections"] = pd.concat([frames["corrections"], fixes], ignore_index=True) if "corrections" in frames else fixes
    timings["text"] = time.perf_counter() - started
    return DocumentExtraction(doc_id, sha256, source, info, frames, timings, failures)


def uncleaned(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Frames as the text stage would leave them had it changed nothing: each cleaned column equals its raw twin.

    So the raw field with no ``corrections`` applied still gives the cleaned
    one, and no place is claimed (``places`` is empty, ``jis_codes`` too).
    """
    out = {}
    for name, frame in frames.items():
        frame = frame.copy()
        spec = DATASETS.get(name)
        for column in spec.clean_fields if spec else ():
            target = column.removesuffix("_raw")
            if column in frame.columns and (target not in frame.columns or frame[target].map(lambda v: not isinstance(v, (list, tuple))).all()):
                frame[target] = frame[column].where(frame[column].map(lambda v: isinstance(v, str)), None)
        if name == "consortia" and "jis_codes" not in frame.columns:
            frame["jis_codes"] = [[] for _ in range(len(frame))]
        if spec is not None and len(frame.columns):
            # Other columns the text stage derives (consortia.prefecture) are unknown, not absent.
            for column, declared in spec.model.to_schema().columns.items():
                if column not in frame.columns and declared.nullable and column not in PROVENANCE_COLUMNS:
                    frame[column] = None
        out[name] = frame
    return out
