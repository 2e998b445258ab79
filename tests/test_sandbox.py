"""The parse sandbox: time budgets, memory limits, crashes, errors crossing the process boundary."""

from __future__ import annotations

import pickle
import time

import pytest

from pipeline.model.errors import (
    FetchError,
    MemoryLimitExceeded,
    ParseError,
    TimeBudgetExceeded,
    WorkerCrashed,
    WorkerFailed,
)
from pipeline.model.limits import Limits
from pipeline.reading.sandbox import report_progress, run_in_sandbox
from tests import sandbox_work as work

QUICK = Limits(seconds_per_page=1.0, seconds_per_document=4.0, memory_mb=512)


def test_returns_result():
    assert run_in_sandbox(work.add, 2, 3, limits=QUICK, source="x.pdf") == 5


def test_fork_start_method_also_works():
    assert run_in_sandbox(work.add, 1, 1, limits=QUICK, source="x.pdf", start_method="fork") == 2


def test_page_hang_is_killed_and_names_page():
    with pytest.raises(TimeBudgetExceeded) as err:
        run_in_sandbox(work.spin_at_page, 3, limits=QUICK, source="hang.pdf")
    assert str(err.value) == "hang.pdf: parse failed: page 3 exceeded 1 s page budget"


def test_worker_that_waits_is_stopped_by_the_wall_clock():
    # Waiting costs no CPU, so the CPU budget never fills; ten times the budget in wall seconds does.
    limits = Limits(seconds_per_page=0.3, seconds_per_document=60, memory_mb=512)
    with pytest.raises(TimeBudgetExceeded, match=r"^wait.pdf: parse failed: page 3 exceeded 0.3 s page budget \(\d+ s of wall time without finishing\)$"):
        run_in_sandbox(work.hang_at_page, 3, limits=limits, source="wait.pdf")


def test_budgets_count_cpu_seconds_not_wall_seconds():
    # A busy machine slows a worker down without making its pages cost more: waiting 2 s on a
    # 1 s page budget (under the wall backstop) is not an overrun, computing 2 s is.
    assert run_in_sandbox(work.pages_then_wait, 1, 2.0, limits=QUICK, source="busy.pdf") == "done"


def test_document_budget_counts_all_pages():
    # each page is within its budget, the document is not
    with pytest.raises(TimeBudgetExceeded, match=r"exceeded 4 s document budget at page \d"):
        run_in_sandbox(work.slow_pages, 20, 0.5, limits=QUICK, source="slow.pdf")


def test_memory_limit():
    # Generous time: allocating is slow on a loaded machine, and time is not what is tested here.
    roomy = Limits(seconds_per_page=120, seconds_per_document=120, memory_mb=512)
    with pytest.raises(MemoryLimitExceeded, match="big.pdf: parse failed: ran out of memory"):
        run_in_sandbox(work.allocate, 2048, limits=roomy, source="big.pdf")
    assert run_in_sandbox(work.allocate, 64, limits=roomy, source="small.pdf") == 64


def test_segfault_becomes_worker_crashed():
    with pytest.raises(WorkerCrashed, match="crash.pdf: parse failed: worker killed by SIGSEGV at page 2"):
        run_in_sandbox(work.segfault, limits=QUICK, source="crash.pdf")


def test_external_kill():
    with pytest.raises(WorkerCrashed, match="SIGKILL"):
        run_in_sandbox(work.sigkill_self, limits=QUICK, source="k.pdf")


def test_unexpected_exception_carries_traceback():
    with pytest.raises(WorkerFailed) as err:
        run_in_sandbox(work.raise_key_error, limits=QUICK, source="bug.pdf", stage="extract")
    assert str(err.value) == "bug.pdf: extract failed: KeyError: 'missing' at page 4"
    assert "raise_key_error" in err.value.details


def test_document_error_crosses_unchanged():
    with pytest.raises(ParseError) as err:
        run_in_sandbox(work.raise_parse_error, "enc.pdf", limits=QUICK, source="enc.pdf")
    assert err.value.reason == "encrypted PDF needs a user password to open"
    assert err.value.stage == "parse" and err.value.source == "enc.pdf"


def test_document_errors_pickle():
    for err in (FetchError("u", "HTTP 404"), TimeBudgetExceeded("s", "parse", "page 2 exceeded 1 s page budget")):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err) and back.stage == err.stage


def test_report_progress_outside_sandbox_is_harmless():
    report_progress(5)


def test_limits_reject_nonsense():
    with pytest.raises(ValueError, match="memory_mb"):
        Limits(memory_mb=0)


def test_sandboxed_extraction_equals_inline():
    """The real unit of work crosses the process boundary unchanged (frames, info, ids)."""
    from pathlib import Path

    import pandas.testing

    from pipeline.document.extract import extract_pdf

    sample = Path(__file__).resolve().parents[1] / "samples" / "mlit_r7_senkoteki.pdf"
    inline = extract_pdf(sample, "mlit_r7_senkoteki")
    boxed = run_in_sandbox(extract_pdf, sample, "mlit_r7_senkoteki", limits=Limits(), source=str(sample))
    assert boxed.info == inline.info and boxed.sha256 == inline.sha256
    assert sorted(boxed.frames) == sorted(inline.frames) and "consortia" in boxed.frames
    for name, frame in inline.frames.items():
        pandas.testing.assert_frame_equal(boxed.frames[name], frame)


def _sandbox_from_daemon(queue) -> None:
    try:
        run_in_sandbox(work.add, 1, 2, limits=QUICK, source="x.pdf")
        queue.put("ran")
    except RuntimeError as exc:
        queue.put(str(exc))


def test_daemonic_parent_gets_a_clear_message():
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_sandbox_from_daemon, args=(queue,), daemon=True)
    proc.start()
    message = queue.get(timeout=60)
    proc.join(10)
    assert "distributed.worker.daemon" in message


def test_whole_document_phase_is_not_charged_to_the_last_page():
    assert run_in_sandbox(work.pages_then_whole_document, 3, 1.5, limits=QUICK, source="x.pdf") == "done"


def test_extraction_fits_a_1_gb_allowance(tmp_path):
    # Arrow's default allocator reserves address space in large chunks; under
    # RLIMIT_AS that failed a 2-page text document ("malloc of size 192 failed").
    from tests import hostile

    path = tmp_path / "small.pdf"
    path.write_bytes(hostile.text_pdf(pages=2))
    assert run_in_sandbox(work.extract, str(path), limits=Limits(memory_mb=1024), source=str(path)) >= 1


def test_work_after_parsing_has_the_pages_budgets():
    # Extractors read the whole document: past the pages' budgets added up, the worker is stopped.
    with pytest.raises(TimeBudgetExceeded, match=r"work after parsing \(extractors, text stage\) exceeded its 1 s budget"):
        run_in_sandbox(work.stage_after_pages, 1, 1.0, 60, limits=Limits(seconds_per_page=1.0, seconds_per_document=120, memory_mb=512), source="x.pdf")
    assert run_in_sandbox(work.stage_after_pages, 2, 3.0, 0.1, limits=QUICK, source="x.pdf") == "done"


HEAVY = "tests.sandbox_heavy_import"


def test_memory_budget_excludes_preloaded_modules_even_when_the_fork_server_lacks_them():
    # The fork server is one per process and keeps the preload of whoever started it; the tests
    # above start it with none. A caller that asks for a heavy preload must still get a budget for
    # its own work, not one the module's 400 MB has already spent.
    run_in_sandbox(work.add, 1, 1, limits=QUICK, source="first.pdf")
    limits = Limits(seconds_per_page=30, seconds_per_document=60, memory_mb=256)
    assert run_in_sandbox(work.allocate_beside_heavy_module, 64, limits=limits, source="small.pdf", preload=[HEAVY]) == 64
    with pytest.raises(MemoryLimitExceeded):
        run_in_sandbox(work.allocate_beside_heavy_module, 512, limits=limits, source="big.pdf", preload=[HEAVY])


class _WrapperError(Exception):
    """A library's own error class, raised from the allocator's error (as rapidocr's ResizeImgError is)."""


def test_failed_allocation_is_recognised_through_a_wrapper():
    from pipeline.reading.sandbox import is_native_oom

    def wrapped(cause: BaseException) -> BaseException:
        try:
            try:
                raise cause
            except BaseException as exc:
                raise _WrapperError() from exc
        except _WrapperError as outer:
            return outer

    assert is_native_oom(wrapped(MemoryError()))
    assert is_native_oom(wrapped(RuntimeError("OpenCV(4.10) error: (-4:Insufficient memory) Failed to allocate 96 bytes")))
    assert not is_native_oom(wrapped(ValueError("resize_w or resize_h is less than or equal to 0")))
    assert not is_native_oom(_WrapperError())


def test_a_module_the_main_script_imports_runs_once_in_the_fork_server_not_in_every_child(tmp_path):
    # multiprocessing starts each child by running the parent's main script again (the `nichiiki`
    # script: `from flows.cli import main`). A module that script imports, preloaded in the fork
    # server, is found loaded by every child instead of being executed again in each.
    import os
    import subprocess
    import sys

    from conftest import REPO

    runs = tmp_path / "runs.txt"
    (tmp_path / "counted.py").write_text(
        f"import os\nwith open({str(runs)!r}, 'a') as fh:\n    fh.write(f'{{os.getpid()}}\\n')\n", encoding="utf-8"
    )
    script = tmp_path / "main_script.py"
    script.write_text(
        "import sys\n"
        "import counted\n"
        "from pipeline.reading.sandbox import run_in_sandbox, start_fork_server\n"
        "from tests import sandbox_work as work\n"
        "if __name__ == '__main__':\n"
        "    start_fork_server(sys.argv[1:])\n"
        "    print(sum(run_in_sandbox(work.add, i, 1, source='x.pdf') for i in range(3)))\n",
        encoding="utf-8",
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    counts = {}
    for preload in ([], ["counted"]):
        runs.write_text("", encoding="utf-8")
        done = subprocess.run([sys.executable, str(script), *preload], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert done.stdout.strip() == "6", done.stderr
        counts[tuple(preload)] = len(runs.read_text(encoding="utf-8").split())
    assert counts[()] == 1 + 3  # the parent, then each of the three children again
    assert counts[("counted",)] == 1 + 1  # the parent and the fork server, once


def _gone(pid: int, within: float = 60.0) -> bool:
    import os

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_the_answer_does_not_wait_for_the_child_to_exit(tmp_path):
    # Once its answer is here, the child has only its exit left (the unmapping of the fork
    # server's pages): the caller gets the answer while the child is still exiting.
    import os

    release = tmp_path / "release"
    pid = run_in_sandbox(work.answer_then_wait_to_exit, str(release), limits=QUICK, source="x.pdf")
    os.kill(pid, 0)  # still there: raises ProcessLookupError if the call had waited for (or killed) it
    release.touch()
    assert _gone(pid)


def test_a_child_stuck_after_answering_is_killed(tmp_path, monkeypatch):
    from pipeline.reading import sandbox

    monkeypatch.setattr(sandbox, "_EXIT_SECONDS", 0.5)
    pid = run_in_sandbox(work.answer_then_wait_to_exit, str(tmp_path / "never"), limits=QUICK, source="x.pdf")
    assert _gone(pid)


def test_the_fork_server_runs_its_exit_handlers_but_skips_tearing_down_what_it_preloaded(tmp_path):
    # The server's teardown of its preloaded models kept a caller reading the command's output
    # waiting after the command had ended; its exit handlers still run, then it ends at once.
    import os
    import subprocess
    import sys

    from conftest import REPO

    (tmp_path / "preloaded.py").write_text(
        "import atexit, os, sys\n"
        "FOLDER = os.environ['PROBE_FOLDER']\n"
        "class Model:\n"
        "    def __del__(self, _open=open, _path=os.path.join(FOLDER, 'torn-down')):\n"
        "        _open(_path, 'w').close()\n"
        "MODEL = Model()\n"
        "atexit.register(lambda: open(os.path.join(FOLDER, 'exit-handler'), 'w').close())\n",
        encoding="utf-8",
    )
    start = {
        "sandbox": "from pipeline.reading.sandbox import start_fork_server\nstart_fork_server(['preloaded'])\n",
        # multiprocessing's own start of the same server, for comparison: it tears everything down.
        "plain": "import multiprocessing as mp\nfrom multiprocessing import forkserver\n"
        "mp.get_context('forkserver').set_forkserver_preload(['preloaded'])\nforkserver.ensure_running()\n",
    }
    found = {}
    for name, code in start.items():
        folder = tmp_path / name
        folder.mkdir()
        script = code + (
            "from pipeline.reading.sandbox import run_in_sandbox\n"
            "from tests import sandbox_work as work\n"
            "print(run_in_sandbox(work.add, 2, 3, source='x.pdf'))\n"
        )
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]), PROBE_FOLDER=str(folder))
        # Returns once stdout is closed, by the command and by the fork server that shares it.
        done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert done.stdout.strip() == "5", done.stderr
        found[name] = sorted(p.name for p in folder.iterdir())
    assert found["plain"] == ["exit-handler", "torn-down"]
    assert found["sandbox"] == ["exit-handler"]


def test_a_crash_after_spending_the_memory_allowance_is_reported_as_memory():
    # MuPDF segfaults when an allocation fails under the cap; the user needs to read "memory".
    limits = Limits(seconds_per_page=60, seconds_per_document=120, memory_mb=256)
    with pytest.raises(MemoryLimitExceeded, match=r"full.pdf: parse failed: ran out of memory \(limit 256 MB above baseline; the worker was killed by SIGSEGV after using most of it\) at page 1"):
        run_in_sandbox(work.fill_then_crash, 16, limits=limits, source="full.pdf")
