"""One document, guarded: fetch it, then parse + extract it inside the sandbox.

These are the two calls the flow makes per document. Each returns either its
result or a ``Failure`` (the quarantine record: source, sha256 if known,
stage, error class, message, time), never raises for a bad document, so one
broken or hostile file cannot stop the others from being published.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any, Iterator

from pipeline.model.errors import DocumentError
from pipeline.document import PRELOAD_MODULE
from pipeline.document.child import extract_pdf_in_child
from pipeline.document.results import REPO_CACHE_DIR, DocumentExtraction
from pipeline.ingest.fetch import FetchSettings, abort_downloads, fetch
from pipeline.model.limits import DEFAULT_LIMITS, Limits
from pipeline.ingest.registry import SourceEntry
from pipeline.runs.outcomes import Failure, Obtained
from pipeline.reading.sandbox import run_in_sandbox, stop_workers


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside, SIGTERM and SIGINT first end every download and sandboxed worker, then act as before.

    Document tasks run in worker threads; the signal interrupts only the main
    thread, which then waits for them. A download from a server that trickles
    bytes, or a worker deep in a page, would make that wait minutes long.
    Outside the main thread (no signal handlers there) this does nothing.
    """
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        abort_downloads()
        stop_workers()
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)
        elif before != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    try:
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread
        for signum, before in previous.items():
            signal.signal(signum, before)
        previous.clear()
    try:
        yield
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)
        stop_workers(False)


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
            extract_pdf_in_child,
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
            preload=[PRELOAD_MODULE],
        )
    except DocumentError as exc:
        return Failure.from_exception(obtained.entry.id, obtained.source, obtained.sha256, exc.stage, exc)
    except Exception as exc:  # noqa: BLE001 — e.g. no child process allowed here: recorded, the run goes on
        return Failure.from_exception(obtained.entry.id, obtained.source, obtained.sha256, "parse", exc)
