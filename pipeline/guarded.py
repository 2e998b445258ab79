"""One document, guarded: fetch it, then parse + extract it inside the sandbox.

These are the two calls the flow makes per document. Each returns either its
result or a ``Failure`` (the quarantine record: source, sha256 if known,
stage, error class, message, time), never raises for a bad document, so one
broken or hostile file cannot stop the others from being published.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import DocumentError
from pipeline.extract import REPO_CACHE_DIR, DocumentExtraction, extract_pdf
from pipeline.fetch import FetchSettings, fetch
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.registry import SourceEntry
from pipeline.run import Failure, Obtained
from pipeline.sandbox import run_in_sandbox


def obtain(entry: SourceEntry, cache_dir: Path, settings: FetchSettings, *, use_network: bool) -> Obtained | Failure:
    """Fetch ``entry`` (or read its sample); a fallback to the sample is kept in ``Obtained.note``."""
    try:
        got = fetch(entry, cache_dir, settings, use_network=use_network)
    except DocumentError as exc:
        return Failure.from_exception(entry.id, entry.location, None, "fetch", exc)
    return Obtained(entry, got.path, got.sha256, got.source, got.fetched_at, note=got.fallback_reason)


def extract_guarded(
    obtained: Obtained,
    limits: Limits = DEFAULT_LIMITS,
    start_method: str = "forkserver",
    ocr_cache_dir: Path | None = REPO_CACHE_DIR,
) -> DocumentExtraction | Failure:
    """Parse and extract in a child process under ``limits``; any failure becomes a ``Failure``."""
    try:
        return run_in_sandbox(
            extract_pdf,
            obtained.path,
            obtained.entry.id,
            obtained.sha256,
            obtained.source,
            ocr_cache_dir,
            limits,
            limits=limits,
            source=obtained.source,
            stage="parse",
            start_method=start_method,
        )
    except DocumentError as exc:
        return Failure.from_exception(obtained.entry.id, obtained.source, obtained.sha256, exc.stage, exc)
    except Exception as exc:  # noqa: BLE001 — e.g. no child process allowed here: recorded, the run goes on
        return Failure.from_exception(obtained.entry.id, obtained.source, obtained.sha256, "parse", exc)
