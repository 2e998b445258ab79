"""One pipeline run as plain functions: obtain → extract → assemble → check → publish.

flows/main.py wraps these in Prefect tasks; tests call them directly. A
document that fails any stage becomes a failure record and the run goes on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
import traceback
from pathlib import Path

import pandas as pd

from pipeline.runs.cache import ResultCache, cache_key
from pipeline.checks.result import CheckResult
from pipeline.checks.suite import document_checks, raise_on_blocking
from pipeline.model.errors import DocumentError
from pipeline.document.results import REPO_CACHE_DIR, DocumentExtraction, concat_frames
from pipeline.model.limits import Limits
from pipeline.runs.guarded import extract_guarded
from pipeline.runs.outcomes import Failure, Obtained
from pipeline.publish.writer import code_version, current_release, publish_release, read_manifest, validate_frames
from pipeline.document.renditions import mark_renditions
from pipeline.model.schema import DATASETS, SCHEMA_VERSION
from pipeline.model.timeline import span

logger = logging.getLogger("nichiiki.run")


def step_failures(extraction: DocumentExtraction) -> list[Failure]:
    """The steps of a published document that failed (an extractor, linking, the text stage), as failure records."""
    return [
        Failure(extraction.doc_id, extraction.source, extraction.sha256, f.stage, f.error_class, f"{extraction.source}: {f.message}", page=f.page)
        for f in extraction.failures
    ]


class NothingExtracted(RuntimeError):
    """Every document failed: nothing is published, the current release stays."""

    def __init__(self, failures: list[Failure]) -> None:
        self.failures = failures
        lines = "\n".join(f"  {f.message.splitlines()[0]}" for f in failures) or "  (the registry lists no documents)"
        super().__init__(f"no document could be extracted, so nothing was published:\n{lines}")


def extract_obtained(obtained: Obtained, ocr_cache_dir: Path | None = REPO_CACHE_DIR) -> DocumentExtraction | Failure:
    """Extract one document; any exception becomes a Failure naming the source."""
    from pipeline.document.extract import extract_pdf  # the extractors load only where a document is read here

    try:
        return extract_pdf(obtained.path, obtained.entry.id, obtained.sha256, source=obtained.source, cache_dir=ocr_cache_dir)
    except Exception as exc:  # noqa: BLE001 — a bad document must never stop the run
        failure = Failure.from_exception(obtained.entry.id, obtained.source, obtained.sha256, "extract", exc)
        if not isinstance(exc, DocumentError):
            failure.message += "\n" + "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return failure


def process_document(
    obtained: Obtained,
    cache: ResultCache | None = None,
    config: dict | None = None,
    limits: Limits | None = None,
    ocr_cache_dir: Path | None = REPO_CACHE_DIR,
) -> DocumentExtraction | Failure:
    """Everything done to one document, read from ``cache`` when its input, code and config are unchanged.

    This is the per-document unit the flow maps over documents and the cache
    covers: per-document stages added after extraction belong inside it, so
    an unchanged re-run skips them too. Failures are never cached (a timeout
    or a missing dependency may succeed next time), nor is a result one of
    whose steps failed (an extractor, linking, the text stage), for the same
    reason: it is recomputed, and reports its failed steps again, each run. A hit's timings are only
    ``cache:read``, so the manifest reports the time actually spent.
    With ``limits``, extraction runs in the sandbox (a child process under
    those budgets); without, in this process. OCR results are cached by image
    in ``ocr_cache_dir`` (None: not cached).
    """
    key = cache_key(obtained.sha256, obtained.entry.id, config) if cache is not None else None
    if key is not None:
        started = time.perf_counter()
        hit = cache.get(key)
        if hit is not None:
            return dataclasses.replace(hit, source=obtained.source, timings={"cache:read": time.perf_counter() - started})
    if limits is not None:
        result = extract_guarded(obtained, limits, ocr_cache_dir=ocr_cache_dir)
    else:
        result = extract_obtained(obtained, ocr_cache_dir)
    if key is not None and isinstance(result, DocumentExtraction) and not result.failures:
        started = time.perf_counter()
        try:
            cache.put(key, result)
        except OSError as exc:  # a full or read-only cache costs the next run's time, never this run's result
            logger.warning("%s: result not cached (%s writing %s); the run goes on", obtained.entry.id, exc.strerror or exc, exc.filename or cache.root)
        result.timings["cache:write"] = time.perf_counter() - started
    return result


def inputs_fingerprint(obtained: list[Obtained], failures: list[Failure], config: dict) -> str:
    """What identifies a run's output: input bytes, code, schema and configuration."""
    payload = {
        "inputs": sorted((o.entry.id, o.sha256) for o in obtained),
        "failed": sorted((f.doc_id, f.stage, f.message) for f in failures),
        "code": code_version(),
        "schema": SCHEMA_VERSION,
        "config": config,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def unchanged_release(outputs_dir: Path, fingerprint: str) -> Path | None:
    """The current release if it was made from exactly these inputs and code."""
    release = current_release(outputs_dir)
    if release is None:
        return None
    return release if read_manifest(release).get("fingerprint") == fingerprint else None


def documents_frame(extractions: list[DocumentExtraction], obtained: dict[str, Obtained], repo_root: Path) -> pd.DataFrame:
    rows = []
    for ex in extractions:
        ob = obtained[ex.doc_id]
        entry = ob.entry
        local = None
        if entry.sample is not None:
            try:
                local = str(entry.sample.resolve().relative_to(repo_root.resolve()))
            except ValueError:
                local = str(entry.sample)
        rows.append(
            {
                "doc_id": ex.doc_id,
                "sha256": ex.sha256,
                "url": entry.url,
                "local_path": local,
                "publisher": entry.publisher,
                "title": entry.title,
                "issued": entry.issued and (entry.issued if len(entry.issued) > 7 else entry.issued + "-01"),
                "issued_precision": entry.issued and ("day" if len(entry.issued) > 7 else "month"),
                "pages": ex.info.pages,
                "producer": ex.info.producer,
                "ocr_needed": ex.info.needs_ocr,
                "ocr_engine": ocr_engine_label() if ex.info.needs_ocr else None,
                "fetched_at": ob.fetched_at,
                "stale": False,
                "stale_reason": None,
            }
        )
    return pd.DataFrame(rows)


def ocr_engine_label() -> str:
    """The default OCR engine as installed (what read every image-only page of this run)."""
    from pipeline.reading.ocr import engine_id  # OpenCV: only a run that labels its OCR engine loads it

    return engine_id().label()


def failures_frame(failures: list[Failure]) -> pd.DataFrame:
    return pd.DataFrame([f.__dict__ for f in failures])


def assemble(extractions: list[DocumentExtraction], failures: list[Failure], obtained: dict[str, Obtained], repo_root: Path) -> dict[str, pd.DataFrame]:
    frames = mark_renditions(concat_frames(ex.frames for ex in extractions))  # a scan filed as its own document
    frames["documents"] = documents_frame(extractions, obtained, repo_root)
    if failures:
        frames["failures"] = failures_frame(failures)
    return frames


def last_good_rows(failures: list[Failure], outputs_dir: Path) -> dict[str, pd.DataFrame]:
    """The current release's rows of the documents that failed in this run, marked stale.

    A failed download or extraction must not drop a document that was
    published before: its last good rows go into the new release, and its
    ``documents`` row says ``stale`` with this run's reason. Only documents
    the registry still lists fail in a run, so a document the registry
    drops is dropped from the release. Nothing is kept when the current
    release was made under other dataset columns (a schema change).
    """
    release = current_release(outputs_dir)
    reasons = {f.doc_id: f.message.splitlines()[0] for f in failures}
    if release is None or not reasons:
        return {}
    documents_path = release / "documents.parquet"
    if not documents_path.exists():
        return {}
    documents = pd.read_parquet(documents_path)
    documents = documents[documents["doc_id"].isin(reasons)].copy()
    if documents.empty:
        return {}
    kept = set(documents["doc_id"])
    documents["stale"] = True
    documents["stale_reason"] = documents["doc_id"].map(reasons)
    frames = {"documents": documents.drop(columns=["run_id"], errors="ignore")}
    for path in sorted(release.glob("*.parquet")):
        name = path.stem
        if name in ("documents", "failures"):
            continue
        frame = pd.read_parquet(path)
        if "doc_id" in frame.columns:
            rows = frame[frame["doc_id"].isin(kept)]
            if not rows.empty:
                frames[name] = rows.drop(columns=["run_id"], errors="ignore").reset_index(drop=True)
    # Rows of a release made under another schema would fail validation and
    # block the whole publish: they cannot be kept (the failure is still recorded).
    for name, frame in frames.items():
        expected = set(DATASETS[name].columns) - {"run_id"} if name in DATASETS else None
        if expected is None or set(frame.columns) != expected:
            return {}
    return frames


def with_last_good_rows(frames: dict[str, pd.DataFrame], stale: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``frames`` plus the stale rows, dataset by dataset (columns of the schema order kept)."""
    merged = dict(frames)
    for name, rows in stale.items():
        merged[name] = rows if name not in merged or merged[name].empty else pd.concat([merged[name], rows], ignore_index=True)
    return merged


def validate_and_check(
    frames: dict[str, pd.DataFrame], run_id: str, empty: dict[str, pd.DataFrame] | None = None
) -> tuple[dict[str, pd.DataFrame], list[CheckResult]]:
    """Validate (values that break a column check are set aside row by row), then run every document check.

    The one path from assembled frames to publishable ones, for the flow and
    ``nichiiki extract`` alike; raises ``ValidationFailed`` while a blocking check fails.
    ``empty``: the datasets no document had, validated ahead (``validated_empty_frames``).
    """
    with span("validate"):
        validated = validate_frames(frames, run_id, empty)
    with span("checks"):
        checks = document_checks(validated)
    raise_on_blocking(checks)
    return validated, checks


def check_and_publish(
    frames: dict[str, pd.DataFrame],
    manifest: dict,
    outputs_dir: Path,
) -> tuple[Path, list[CheckResult]]:
    """Validate (values that break a column check are set aside row by row), then run cross-dataset checks; publish unless a blocking one fails."""
    started = time.perf_counter()
    validated, checks = validate_and_check(frames, manifest["run_id"])
    manifest = dict(manifest, checks=[c.as_dict() for c in checks], schema_version=SCHEMA_VERSION)
    manifest.setdefault("timings", {})["validate"] = time.perf_counter() - started
    started = time.perf_counter()
    release = publish_release(validated, manifest, outputs_dir)
    return release, checks
