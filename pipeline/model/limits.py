"""Resource limits for reading one document.

A hostile or broken PDF must cost a bounded amount of time and memory, and
then be reported, so that the other documents of the run are still published.
``Limits`` is the one place these numbers live; the fetcher, ``open_document``
and the parse sandbox all read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Budgets for one document. Defaults fit ministry reports on a 2-core, 24 GiB machine.

    max_file_bytes
        Larger files are refused before parsing. The largest real report seen
        is ~10 MB (a 60-page scan); 50 MB leaves room without inviting bombs.
    max_pages
        Reports run to a few hundred pages at most; a page tree claiming more
        is a broken or hostile file.
    seconds_per_page
        CPU-seconds budget for one page (parse, render, OCR, extract). OCR of a
        300-dpi A3 scan takes ~10 s on one core; 60 s means "stuck". CPU
        seconds so that a busy machine fails no page a quiet one reads; the
        sandbox also stops a worker that spends ten times the budget in wall
        seconds (waiting, not computing).
    seconds_per_document
        CPU-seconds budget for the whole document in the sandbox (the same
        wall-clock backstop applies).
    memory_mb
        Address space the sandboxed worker may add on top of what it already
        maps when it starts (libraries, interpreter). Counted as virtual
        memory (RLIMIT_AS), which over-counts a little, hence the headroom.
    """

    max_file_bytes: int = 50 * 1024 * 1024
    max_pages: int = 2000
    seconds_per_page: float = 60.0
    seconds_per_document: float = 900.0
    memory_mb: int = 3072

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_pages", "seconds_per_page", "seconds_per_document", "memory_mb"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")


DEFAULT_LIMITS = Limits()
