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


def hang_at_page(page: int) -> None:
    for p in range(1, page + 1):
        report_progress(p)
        if p == page:
            time.sleep(60)


def slow_pages(pages: int, seconds: float) -> int:
    for p in range(1, pages + 1):
        report_progress(p)
        time.sleep(seconds)
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
    time.sleep(seconds)  # longer than a page budget, shorter than the document budget
    return "done"



def stage_after_pages(pages: int, budget: float, seconds: float) -> str:
    """Parse ``pages`` pages, then spend ``seconds`` in a stage spanning pages with ``budget`` seconds."""
    from pipeline.reading.sandbox import report_stage

    for p in range(1, pages + 1):
        report_progress(p)
    report_stage(budget)
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
