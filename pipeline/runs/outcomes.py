"""What a run holds per document before extraction: its bytes on disk (``Obtained``) or why not (``Failure``).

A ``Failure`` is the quarantine record: source, sha256 if known, stage,
error class, message, time. Every stage returns one instead of raising, so
one broken or hostile document never stops the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from pipeline.ingest.registry import SourceEntry
from pipeline.model.clock import utc_now
from pipeline.model.errors import DocumentError


@dataclass(frozen=True)
class Obtained:
    """A source whose bytes are on local disk, ready to parse."""

    entry: SourceEntry
    path: Path
    sha256: str
    source: str
    fetched_at: str
    note: str | None = None


def largest_first(docs: Sequence[Obtained]) -> list[int]:
    """Indices of ``docs``, largest file first: started in this order on a pool of workers, the last
    document to finish is a small one (a 7-page scan takes as long as the other 18 documents of the
    corpus together on one core, and started last it would run alone on one of the two)."""
    return sorted(range(len(docs)), key=lambda i: -docs[i].path.stat().st_size)


@dataclass
class Failure:
    doc_id: str
    source: str
    sha256: str | None
    stage: str
    error_class: str
    message: str
    failed_at: str = field(default_factory=utc_now)
    page: int | None = None  # for a step of a document that was published without that step's rows

    @classmethod
    def from_exception(cls, doc_id: str, source: str, sha256: str | None, stage: str, exc: BaseException) -> "Failure":
        if isinstance(exc, DocumentError):
            return cls(doc_id, source, sha256, exc.stage, type(exc).__name__, str(exc))
        message = f"{source}: {stage} failed: {type(exc).__name__}: {exc}"
        return cls(doc_id, source, sha256, stage, type(exc).__name__, message)
