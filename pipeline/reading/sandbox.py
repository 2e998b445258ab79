"""Run "parse + extract one document" in a child process under time and memory budgets.

A PDF can make a native library loop forever, allocate gigabytes (a bomb:
a few KiB of Flate that inflate to GiBs, or objects nested thousands deep),
or crash it outright. None of that may take the run down. So the work for one
document runs in a child process:

- the child lowers its own address-space limit (RLIMIT_AS) to what it maps at
  start plus ``Limits.memory_mb``, so a bomb ends in MemoryError / a failed
  malloc inside the child instead of the machine swapping;
- the parent watches a budget of the child's CPU seconds for the document and,
  through ``report_progress(page)`` calls made by the work function, for each
  page; on overrun it kills the child (SIGKILL: a hung native call ignores
  anything gentler) and raises ``TimeBudgetExceeded`` saying which page.
  CPU seconds, not wall seconds, so that a busy machine (a fifth of a core per
  worker at a load of 10 on 2 cores) fails no document a quiet one publishes:
  the same input gives the same output. A child that waits without computing
  (a deadlock, a stalled read) is caught by the wall clock at ``WALL_SLACK``
  times the budget;
- a child that dies from a signal (segfault → negative exit code) becomes
  ``WorkerCrashed``; any other exception becomes ``WorkerFailed`` with the
  child's traceback; a ``DocumentError`` raised by the work is re-raised as is.

The default start method is "forkserver": forking a process that already runs
Prefect/Dask threads can deadlock the child on a lock some thread held; the
fork server is a clean single-threaded parent. The work function and its
arguments must therefore be picklable (a module-level function). "fork" is
available for callers that know they are single-threaded.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import resource
import signal
import sys
import threading
import time
import traceback
from typing import Any, Callable, Sequence, TypeVar

from pipeline.model.errors import (
    DocumentError,
    MemoryLimitExceeded,
    TimeBudgetExceeded,
    WorkerCrashed,
    WorkerFailed,
)
from pipeline.model.limits import DEFAULT_LIMITS, Limits
from pipeline.model.timeline import mark

T = TypeVar("T")

# Shared with the parent in the child process: [current page (1-based, 0 = none yet; -1 = child not
# started), monotonic time it started, budget of a stage spanning pages (0 = none), the child's CPU
# seconds when it started, the child's CPU seconds when the work started, the child's address-space
# cap in bytes (0 = not set yet)].
_progress: Any = None
_POLL = 0.2
# A worker gets a fraction of a core on a busy machine: at a load of 10 on 2 cores, a fifth, so a
# page worth 60 s of CPU takes ~300 s. Past ten times its budget in wall seconds a worker is
# waiting on something, not computing slowly.
WALL_SLACK = 10.0
# A child's exit after its answer has been received: only its memory is left to release, which takes
# well under a second, so one still alive after this long is stuck and is killed.
_EXIT_SECONDS = 5.0
# Starting a child (fork server, imports) is not the document's fault and is not
# charged to its budget, but a child that never starts is still reported.
STARTUP_SECONDS = 120.0
# Set while the run is stopping (SIGTERM/SIGINT): every watched child is killed at once.
_stopping = threading.Event()


def stop_workers(stopping: bool = True) -> None:
    """Kill every sandboxed worker now (``stopping=False`` lets new ones run again)."""
    if stopping:
        _stopping.set()
    else:
        _stopping.clear()


def report_progress(page: int) -> None:
    """Tell the watching parent that work on ``page`` (1-based) starts now; a no-op outside a sandbox.

    ``page=0`` says the work from now on is not tied to one page: only the
    document budget applies to it (unless ``report_stage`` gives it one).
    """
    if _progress is not None:
        _mark_start()  # times first: the parent never sees a new page with an old start
        _progress[2] = 0.0
        _progress[0] = float(page)


def report_stage(seconds: float) -> None:
    """Work spanning pages (extractors, text stage) starts now and may take ``seconds``.

    The parent kills the worker past that budget. A no-op outside a sandbox.
    """
    if _progress is not None:
        _mark_start()
        _progress[2] = float(seconds)
        _progress[0] = 0.0


def _mark_start() -> None:
    _progress[1] = time.monotonic()
    _progress[3] = time.process_time()


# Imported first by every fork server this module starts (see the module).
SERVER_EXIT_MODULE = "pipeline.reading.server_exit"


def _server_preload(preload: Sequence[str]) -> list[str]:
    return [SERVER_EXIT_MODULE, *(m for m in preload if m != SERVER_EXIT_MODULE)]


def start_fork_server(preload: Sequence[str] = ()) -> None:
    """Start the fork server now, so its imports and model loads (``preload``) overlap the caller's own start-up."""
    mp.get_context("forkserver").set_forkserver_preload(_server_preload(preload))
    _ensure_fork_server()


_server_start = threading.Lock()


def _ensure_fork_server() -> None:
    """Start the fork server, if it is not running, without the working folder on its import path.

    The server is a ``python -c`` process, and Python puts the folder such a process starts in first
    on its path (3.11's forkserver does not apply the caller's path either): run from a folder
    holding a ``pipeline/`` or ``extractors/`` directory, every document would run that folder's code
    instead of nichiiki's. PYTHONSAFEPATH (Python 3.11) leaves the folder off; PYTHONPATH and the
    installed packages are found as before. The variable is set only while the server is spawned
    (under a lock, as two threads may start it at once).
    """
    from multiprocessing import forkserver

    with _server_start:
        previous = os.environ.get("PYTHONSAFEPATH")
        os.environ["PYTHONSAFEPATH"] = "1"
        try:
            forkserver.ensure_running()
        finally:
            if previous is None:
                del os.environ["PYTHONSAFEPATH"]
            else:
                os.environ["PYTHONSAFEPATH"] = previous


def run_in_sandbox(
    fn: Callable[..., T],
    *args: Any,
    limits: Limits = DEFAULT_LIMITS,
    source: str,
    stage: str = "parse",
    start_method: str = "forkserver",
    preload: Sequence[str] = (),
    **kwargs: Any,
) -> T:
    """Return ``fn(*args, **kwargs)`` computed in a child process within ``limits``.

    ``preload``: modules the fork server imports once (when it starts), so
    each child forks with them loaded and starts in milliseconds.

    Raises a ``DocumentError`` naming ``source``: ``TimeBudgetExceeded``,
    ``MemoryLimitExceeded``, ``WorkerCrashed``, ``WorkerFailed``, or whatever
    ``DocumentError`` ``fn`` raised itself.
    """
    if mp.current_process().daemon:
        # multiprocessing forbids children of daemonic processes; Dask's nanny starts
        # its workers as daemons unless told otherwise.
        raise RuntimeError(
            "run_in_sandbox cannot start a worker from a daemonic process; under Dask set "
            "the config 'distributed.worker.daemon' to False (DASK_DISTRIBUTED__WORKER__DAEMON=False)"
        )
    ctx = mp.get_context(start_method)
    if start_method == "forkserver":
        if preload:
            ctx.set_forkserver_preload(_server_preload(preload))
        _ensure_fork_server()
    progress = ctx.Array("d", 6, lock=False)
    progress[:] = [-1.0, time.monotonic(), 0.0, 0.0, 0.0, 0.0]
    # Only a fork server's child may lack the preload (the server kept an earlier caller's). A "fork"
    # child is a copy of a caller that may run threads, and importing there can wait forever on a
    # lock one of them held at the fork.
    child_preload = tuple(preload) if start_method == "forkserver" else ()
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_child,
        args=(sender, progress, limits.memory_mb, limits.seconds_per_document, child_preload, fn, args, kwargs),
        daemon=True,
        name=f"sandbox:{source[-60:]}",
    )
    started = time.monotonic()
    proc.start()
    mark("sandbox:forked", source=source, child=proc.pid)  # the first one says when the fork server was ready
    sender.close()  # so recv() sees EOF if the child dies without answering
    message = None
    try:
        message = _wait(proc, receiver, progress, started, limits, source, stage)
    finally:
        receiver.close()
        if message is None:  # no answer (a budget, a crash, an interruption): gone before the error is raised
            if proc.is_alive():
                proc.kill()
            proc.join(5)
        else:
            _reap_later(proc)
    mark("sandbox:received", child=proc.pid)
    kind, payload = message
    if kind == "ok":
        return payload
    if kind == "document_error":
        raise payload
    if kind == "memory":
        raise MemoryLimitExceeded(source, stage, f"ran out of memory (limit {limits.memory_mb} MB above baseline){_at(payload)}")
    err = WorkerFailed(source, stage, payload["error"] + _at(payload["page"]))
    err.details = payload["traceback"]
    raise err


def _reap_later(proc) -> None:
    """Wait for a child that has answered to end, on a thread of its own.

    All that is left to the child is its exit, and the kernel's unmapping of the fork server's
    pages that it shares takes ~50 ms (more on a busy machine): the caller, often a thread about
    to start the next document, does not wait for it. A child that does not end within
    ``_EXIT_SECONDS`` of answering is killed.
    """

    def reap() -> None:
        proc.join(_EXIT_SECONDS)
        if proc.is_alive():
            proc.kill()
            proc.join(5)

    threading.Thread(target=reap, name=f"reap:{proc.name}", daemon=True).start()


def _wait(proc, receiver, progress, started: float, limits: Limits, source: str, stage: str) -> tuple[str, Any]:
    while progress[0] < 0:  # the child has not started the work yet
        if receiver.poll(_POLL) or not proc.is_alive():
            break
        if time.monotonic() - started > STARTUP_SECONDS:
            raise WorkerCrashed(source, stage, f"worker did not start within {STARTUP_SECONDS:g} s")
    started = progress[1] if progress[0] >= 0 else time.monotonic()
    clock = _CpuClock(proc.pid)
    mapped = _MappedSize(proc.pid)

    def crashed() -> DocumentError:
        spent_memory_mb = limits.memory_mb if mapped.near_cap(progress[5], limits) else 0
        return _crashed(proc, source, stage, int(progress[0]), spent_memory_mb)

    while True:
        if receiver.poll(_POLL):
            try:
                return receiver.recv()
            except (EOFError, OSError):
                proc.join(5)
                raise crashed() from None
        if not proc.is_alive():
            if receiver.poll(0):
                continue  # it answered just before exiting
            raise crashed()
        if _stopping.is_set():
            proc.kill()
            raise WorkerCrashed(source, stage, f"stopped: the run was interrupted{_at(int(progress[0]))}")
        mapped.sample()
        overrun = _overrun(progress, started, clock.seconds(), limits)
        if overrun:
            proc.kill()
            raise TimeBudgetExceeded(source, stage, overrun)


def _overrun(progress, started: float, cpu: float | None, limits: Limits) -> str:
    """Which budget the child has spent ("" if none): CPU seconds, or ``WALL_SLACK`` times as many wall seconds."""
    now = time.monotonic()
    page = int(progress[0])

    def spent(budget: float, wall_since: float, cpu_since: float) -> str | None:
        """None while within ``budget``; once spent, what the message adds ("" for the CPU budget)."""
        if cpu is not None and cpu - cpu_since >= budget:
            return ""
        if now - wall_since >= budget * WALL_SLACK:
            return f" ({now - wall_since:.0f} s of wall time without finishing)"
        return None

    why = spent(limits.seconds_per_document, started, progress[4])
    if why is not None:
        return f"exceeded {limits.seconds_per_document:g} s document budget{_at(page)}{why}"
    if page > 0:
        why = spent(limits.seconds_per_page, progress[1], progress[3])
        if why is not None:
            return f"page {page} exceeded {limits.seconds_per_page:g} s page budget{why}"
    stage_budget = progress[2] if page == 0 else 0.0
    if stage_budget > 0:
        why = spent(stage_budget, progress[1], progress[3])
        if why is not None:
            pages = stage_budget / limits.seconds_per_page
            return (
                f"work after parsing (extractors, text stage) exceeded its {stage_budget:g} s budget "
                f"({limits.seconds_per_page:g} s page budget × {pages:g} page(s)){why}"
            )
    return ""


class _CpuClock:
    """The child's CPU seconds (user + system, every thread), read from /proc as the child may be stuck in native code.

    The same clock as ``time.process_time()`` in the child, which marks where each page starts.
    None where /proc is not readable: then only the wall-clock backstop applies.
    """

    def __init__(self, pid: int) -> None:
        self.path = f"/proc/{pid}/stat"
        self.ticks = os.sysconf("SC_CLK_TCK")

    def seconds(self) -> float | None:
        try:
            with open(self.path) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / self.ticks  # utime, stime: fields 14 and 15 of stat(5)


class _MappedSize:
    """The largest address space seen in the child between polls, read from /proc.

    Native code does not always fail an allocation politely under RLIMIT_AS: MuPDF's path reader
    segfaults, and glibc aborts when a new thread's storage cannot be mapped. A child that dies
    having spent most of its allowance ran out of memory, whatever the signal says.
    """

    def __init__(self, pid: int) -> None:
        self.path = f"/proc/{pid}/statm"
        self.page_size = os.sysconf("SC_PAGE_SIZE")
        self.peak = 0

    def sample(self) -> None:
        try:
            with open(self.path) as fh:
                self.peak = max(self.peak, int(fh.read().split()[0]) * self.page_size)
        except (OSError, ValueError, IndexError):
            pass  # gone, or not readable here: no evidence either way

    def near_cap(self, cap: float, limits: Limits) -> bool:
        # Half the allowance: a failing allocation is often a doubling of a buffer already large, so
        # the last sample (up to a poll before the crash) can sit well below the cap.
        return cap > 0 and self.peak >= cap - limits.memory_mb * 1024 * 1024 / 2


def _crashed(proc, source: str, stage: str, page: int, spent_memory_mb: int = 0) -> DocumentError:
    """``spent_memory_mb``: the allowance the child had spent most of before it died (0: it had not)."""
    code = proc.exitcode
    if spent_memory_mb:
        how = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exited with code {code}"
        return MemoryLimitExceeded(
            source, stage, f"ran out of memory (limit {spent_memory_mb} MB above baseline; the worker was {how} after using most of it){_at(page)}"
        )
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        hint = " (the kernel's OOM killer, or an external kill)" if -code == signal.SIGKILL else ""
        return WorkerCrashed(source, stage, f"worker killed by {name}{hint}{_at(page)}")
    return WorkerCrashed(source, stage, f"worker exited with code {code} without a result{_at(page)}")


def _at(page: int) -> str:
    return f" at page {page}" if page > 0 else ""


def _child(sender, progress, memory_mb: int, seconds: float, preload: tuple[str, ...], fn, args, kwargs) -> None:
    global _progress
    _progress = progress
    # The memory budget is the document's, not the models': a fork server started earlier in this
    # process by a caller that preloaded less (the first caller's preload is the server's for
    # good) left them unloaded, so they load here, before the cap is measured from what is mapped.
    for module in preload:
        importlib.import_module(module)
    progress[5] = float(limit_address_space(memory_mb))
    _limit_cpu(seconds)
    progress[1] = time.monotonic()
    progress[3] = progress[4] = time.process_time()
    progress[0] = 0.0  # started: the budget runs from here
    mark("child:start")
    try:
        result = fn(*args, **kwargs)
        message: tuple[str, Any] = ("ok", result)
    except MemoryError:
        message = ("memory", int(progress[0]))
    except DocumentError as exc:
        # Only the error itself crosses to the parent. Its cause is often a MuPDF
        # exception holding a SWIG pointer, and a library loaded in the fork server
        # pickles exception chains (tblib-style), so the chain would fail to send.
        exc.__cause__ = exc.__context__ = exc.__traceback__ = None
        message = ("document_error", exc)
    except BaseException as exc:  # report everything: the parent decides
        if is_native_oom(exc):
            message = ("memory", int(progress[0]))
        else:
            message = (
                "error",
                {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(), "page": int(progress[0])},
            )
    mark("child:end", outcome=message[0])
    try:
        sender.send(message)
    except MemoryError:
        sender.send(("memory", int(progress[0])))
    except Exception as exc:  # e.g. the result cannot be pickled
        sender.send(("error", {"error": f"cannot return result: {exc!r}", "traceback": "", "page": 0}))
    finally:
        sender.close()


# How native libraries word a failed allocation: MuPDF (FzErrorMemory, "malloc"),
# OpenCV ("Insufficient memory", C++ "std::bad_alloc"), Sudachi ("Cannot alloc").
_NATIVE_OOM = ("errormemory", "malloc", "out of memory", "bad_alloc", "insufficient memory", "cannot alloc", "failed to allocate")


def is_native_oom(exc: BaseException) -> bool:
    """A native library's failed allocation: the memory budget, not a damaged file or a bug.

    Wrappers re-raise the allocator's error as their own (rapidocr's ``ResizeImgError`` from
    OpenCV's "Insufficient memory"), so every exception in the chain is read.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MemoryError):
            return True
        text = f"{type(current).__name__} {current}".lower()
        if any(words in text for words in _NATIVE_OOM):
            return True
        current = current.__cause__ or current.__context__
    return False


def _limit_cpu(seconds: float) -> None:
    """A backstop for a parent that died without killing us (kill -9 of the flow).

    It fires 30 CPU seconds past the document's budget, which the parent
    enforces first; it only ends children nobody is watching any more.
    """
    used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    soft = int(used + seconds) + 30
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard if hard != resource.RLIM_INFINITY else soft + 10))


def _use_system_allocator() -> None:
    """Make Arrow allocate with malloc instead of mimalloc/jemalloc.

    Those reserve ~1 GB of address space on first use; under RLIMIT_AS that
    reservation alone fails ("ArrowMemoryError: malloc of size 192 failed")
    although almost nothing is used.
    """
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    if "pyarrow" in sys.modules:
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
# Buffers up to this size come from the heap and are reused once freed. glibc maps anything over
# 32 MB afresh and unmaps it when freed; a 300-dpi A4 page as float32 is ~35 MB, so every such array
# of the scanned-grid reader, and PP-OCR's feature maps, were faulted in page by page, every time.
# Reused, grid reading took 17 % and PP-OCR 15 % less CPU on the corpus's scans, the output the same.
LARGE_BUFFER_BYTES = 64 << 20
# ... and freed memory at the heap's top is handed back only beyond this much. Reuse costs memory:
# read cold, the 7-page scanned notice's worker peaked at 1.25 GB with these two, at 1.6 GB with
# 256 and 512 MB (for 1 s less of its 36 s of CPU), and at 1.15 GB with the code before either.
HEAP_KEEP_BYTES = 256 << 20


def prepare_worker_process() -> None:
    """Set a document worker's allocator and native thread pools (the fork server, inherited by each child).

    - glibc reserves a 64 MB arena per thread that calls malloc, and OpenCV starts
      a thread per core: under RLIMIT_AS those reservations, not the data, ran
      the fuzzer's workers out of memory on a 40 MB raster. One document is one
      core's work anyway (documents run in parallel, not pages).
    - Page-sized buffers are kept in the heap for reuse (``LARGE_BUFFER_BYTES``).
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_ARENA_MAX, 2)
        libc.mallopt(_M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, HEAP_KEEP_BYTES)
    except (OSError, AttributeError):
        pass
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass


def limit_address_space(memory_mb: int) -> int:
    """Cap this process's address space at what it maps now plus ``memory_mb``; return the cap in bytes."""
    _use_system_allocator()
    try:
        with open("/proc/self/statm") as fh:
            mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        mapped = 0
    soft = mapped + memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    return soft
