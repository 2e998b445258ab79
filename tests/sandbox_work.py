"""Work functions for sandbox tests: module level, so the fork server can import them."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path

from pipeline.model.errors import ParseError
from pipeline.reading.pdf import iter_pages, open_document
from pipeline.reading.sandbox import report_progress


def add(a: int, b: int) -> int:
    return a + b


def compute(seconds: float) -> None:
    """Spend ``seconds`` of CPU: budgets count what a worker computes, not how long it waits."""
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def hang_at_page(page: int) -> None:
    """Wait forever at ``page``, computing nothing (a deadlock, a stalled read)."""
    for p in range(1, page + 1):
        report_progress(p)
        if p == page:
            time.sleep(600)


def spin_at_page(page: int) -> None:
    """Compute forever at ``page`` (a native loop that never ends)."""
    for p in range(1, page + 1):
        report_progress(p)
    compute(600)


def slow_pages(pages: int, seconds: float) -> int:
    for p in range(1, pages + 1):
        report_progress(p)
        compute(seconds)
    return pages


def allocate(mb: int) -> int:
    blocks = [bytearray(1024 * 1024) for _ in range(mb)]
    return len(blocks)


def segfault() -> None:
    report_progress(2)
    ctypes.string_at(0)


def sigkill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def raise_key_error() -> None:
    report_progress(4)
    {}["missing"]


def raise_parse_error(source: str) -> None:
    raise ParseError(source, "encrypted PDF needs a user password to open")


def parse_all(path: str) -> int:
    """Open and parse every page of a PDF, reporting progress: the real unit of work."""
    doc = open_document(Path(path), path)
    count = 0
    for _page in iter_pages(doc, "doc", "0" * 64):  # iter_pages reports progress itself
        count += 1
    return count


def extract(path: str) -> int:
    """The fuzzer's entry point: open, parse every page, run every extractor."""
    from pipeline.document.extract import extract_pdf

    return len(extract_pdf(Path(path), "doc").frames)


def pages_then_whole_document(pages: int, seconds: float) -> str:
    for p in range(1, pages + 1):
        report_progress(p)
    report_progress(0)
    compute(seconds)  # longer than a page budget, shorter than the document budget
    return "done"



def stage_after_pages(pages: int, budget: float, seconds: float) -> str:
    """Parse ``pages`` pages, then spend ``seconds`` in a stage spanning pages with ``budget`` seconds."""
    from pipeline.reading.sandbox import report_stage

    for p in range(1, pages + 1):
        report_progress(p)
    report_stage(budget)
    compute(seconds)
    return "done"


def allocate_beside_heavy_module(mb: int) -> int:
    """Like the document's work: it needs a heavy module, imported at first use unless preloaded."""
    import tests.sandbox_heavy_import  # noqa: F401

    return allocate(mb)


def pages_then_wait(pages: int, seconds: float) -> str:
    """Read ``pages`` pages, waiting ``seconds`` on the last one (as a worker given no core for a while)."""
    for p in range(1, pages + 1):
        report_progress(p)
    time.sleep(seconds)
    return "done"


def answer_then_wait_to_exit(release: str) -> int:
    """Answer at once, but hold the child's exit until the file ``release`` exists."""
    from multiprocessing import util

    def hold() -> None:
        while not Path(release).exists():
            time.sleep(0.05)

    util.Finalize(None, hold, exitpriority=0)  # run by the child's exit, after its answer is sent
    return os.getpid()


def fill_then_crash(step_mb: int) -> None:
    """Allocate until the address-space cap refuses, hold it, then crash as a native library may."""
    report_progress(1)
    blocks = []
    try:
        while True:
            blocks.append(bytearray(step_mb * 1024 * 1024))
    except MemoryError:
        pass
    time.sleep(2)  # the parent samples the address space between polls
    ctypes.string_at(0)
