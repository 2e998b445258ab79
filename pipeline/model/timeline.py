"""Events of a run on one time axis, across processes, for the timeline benchmark.

Off unless ``NICHIIKI_TIMELINE`` names a file: then every ``mark`` and ``span``
appends one JSON line to it (wall clock, the process and thread, and the
process's CPU seconds so far). The command, the fork server's children and the
threads that wait on them all append to the same file, so
``benchmarks/timeline.py`` can lay out when the command's imports end, when the
fork server forks its first child, when each document starts and ends, and how
long validation, the document checks and writing take. A line is one
``write`` on a file opened for appending, so lines of processes writing at once
do not interleave.

Off, a mark costs one dictionary look-up: it may stay in code that runs per
document, never per page or row.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from typing import Any, Iterator

ENV = "NICHIIKI_TIMELINE"


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def mark(event: str, **fields: Any) -> None:
    """Record that ``event`` happens now (a no-op unless ``NICHIIKI_TIMELINE`` is set)."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = {
        "t": time.time(),
        "event": event,
        "pid": os.getpid(),
        "thread": threading.current_thread().name,
        "cpu_s": round(time.process_time(), 4),
        **fields,
    }
    data = (json.dumps(line, ensure_ascii=False, default=str) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    except OSError:  # a timeline that cannot be written must never cost the run
        pass


@contextlib.contextmanager
def span(event: str, **fields: Any) -> Iterator[None]:
    """``<event>:start`` and ``<event>:end`` around the block (the end also when it raises)."""
    if not enabled():
        yield
        return
    mark(f"{event}:start", **fields)
    try:
        yield
    finally:
        mark(f"{event}:end", **fields)
