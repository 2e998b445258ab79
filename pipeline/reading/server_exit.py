"""Imported by the sandbox's fork server only: the server ends without tearing down what it preloaded.

The fork server exits once its last client is gone, and the interpreter's teardown of what it
preloaded (the language models, the gazetteer, the extractors: millions of objects) took ~0.2 s
after the command itself had ended, which a caller reading the command's output waited for, since
the server holds the same stdout. The server writes no files and its children have ended by then,
so after every other exit handler it flushes its output and ends at once. Imported first, so its
handler is the last to run (handlers run in the reverse order of registration).
"""

from __future__ import annotations

import atexit
import os
import sys


def _end_now() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # closed or replaced: nothing to flush
            pass
    os._exit(0)


atexit.register(_end_now)
