"""The fault catalogue: every way a run can go wrong, and what the user gets.

Each case runs a whole run (obtain → sandboxed extract → assemble → check →
publish) over a good document plus one faulty one, on top of a previous
release, and checks the promised outcome: the faulty document is quarantined
with a clear error naming its source and the reason (in the manifest and the
``failures`` dataset), the good document is published, and the previous
release is still complete and readable.
"""

from __future__ import annotations

import errno
import hashlib
import json
import multiprocessing as mp
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pipeline.ingest.fetch import FetchSettings
from pipeline.runs.guarded import extract_guarded, obtain
from pipeline.model.limits import Limits
from pipeline.publish.writer import PublishLocked, code_version, current_release, new_run_id, output_lock, publish_release, utc_now
from pipeline.ingest.registry import SourceEntry
from pipeline.runs.outcomes import Obtained
from pipeline.runs.steps import assemble, check_and_publish
from pipeline.ingest.safepath import UnsafePath
from tests import hostile
from tests.httpfaults import FaultServer

ROOT = Path(__file__).resolve().parents[1]
FAST = FetchSettings(timeout=0.5, total_timeout=5, attempts=3, backoff=0.01, max_backoff=0.05)
# Page budget: far above a good page (~10 ms), far below the bombs (20 s to minutes), even on a loaded machine.
QUICK = Limits(seconds_per_page=4, seconds_per_document=60, memory_mb=1024)


def entry(doc_id: str, url: str | None = None, sample: Path | None = None) -> SourceEntry:
    return SourceEntry(id=doc_id, publisher="MLIT", title=doc_id, issued=None, url=url, sample=sample)


def run_once(entries: list[SourceEntry], outputs: Path, cache: Path, limits: Limits = QUICK) -> Path:
    """A whole run as the flow does it, without Prefect."""
    got = [obtain(e, cache, FAST, use_network=True) for e in entries]
    obtained = [g for g in got if isinstance(g, Obtained)]
    failures = [g for g in got if not isinstance(g, Obtained)]
    results = [extract_guarded(o, limits) for o in obtained]
    extractions = [r for r in results if not hasattr(r, "error_class")]
    failures += [r for r in results if hasattr(r, "error_class")]
    ok = [o for o in obtained if o.entry.id in {x.doc_id for x in extractions}]
    frames = assemble(extractions, failures, {o.entry.id: o for o in ok}, ROOT)
    manifest = {
        "run_id": new_run_id(),
        "created_at": utc_now(),
        "code_version": code_version(),
        "inputs": [{"doc_id": o.entry.id, "source": o.source, "sha256": o.sha256, "note": o.note} for o in obtained],
        "failures": [f.__dict__ for f in failures],
        "timings": {},
    }
    release, _ = check_and_publish(frames, manifest, outputs)
    return release


def assert_release_complete(release: Path) -> None:
    """Every file the manifest lists is there, readable, and has the recorded hash."""
    manifest = json.loads((release / "manifest.json").read_text())
    for name, out in manifest["outputs"].items():
        path = release / out["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == out["sha256"], name
        assert len(pd.read_parquet(path)) == out["rows"], name
    assert (release / "datapackage.json").is_file()


@pytest.fixture
def world(tmp_path):
    """A good document, and a previous release made from it."""
    good_path = tmp_path / "good.pdf"
    good_path.write_bytes(hostile.text_pdf(pages=2))
    outputs, cache = tmp_path / "outputs", tmp_path / "cache"
    good = entry("good_doc", sample=good_path)
    previous = run_once([good], outputs, cache)
    return {"good": good, "outputs": outputs, "cache": cache, "previous": previous, "tmp": tmp_path}


def run_with(world, bad: SourceEntry, limits: Limits = QUICK) -> tuple[Path, pd.DataFrame, dict]:
    release = run_once([world["good"], bad], world["outputs"], world["cache"], limits)
    assert current_release(world["outputs"]) == release.resolve()
    assert_release_complete(release)
    assert_release_complete(world["previous"])  # the previous release is untouched
    documents = pd.read_parquet(release / "documents.parquet")
    assert "good_doc" in set(documents["doc_id"])  # the other document is still published
    failures = pd.read_parquet(release / "failures.parquet")
    manifest = json.loads((release / "manifest.json").read_text())
    return release, failures, manifest


def assert_quarantined(world, bad: SourceEntry, error_class: str, stage: str, reason: str, limits: Limits = QUICK) -> dict:
    _, failures, manifest = run_with(world, bad, limits)
    assert list(failures["doc_id"]) == [bad.id]
    row = failures.iloc[0].to_dict()
    assert row["error_class"] == error_class, row["message"]
    assert row["stage"] == stage
    assert row["source"] in row["message"]  # the message names the source ...
    assert re.search(reason, row["message"]), row["message"]  # ... and the reason
    assert row["failed_at"] and row["run_id"]
    assert [f["doc_id"] for f in manifest["failures"]] == [bad.id]
    return row


# ----------------------------------------------------------------- files

FILE_CASES = {
    "truncated": (lambda: hostile.truncated(hostile.text_pdf()), "FetchError", "fetch", r"truncated: no %%EOF"),
    "encrypted-user-password": (lambda: hostile.encrypted(hostile.text_pdf(), "pw"), "ParseError", "parse", "needs a user password"),
    "zero-pages": (hostile.zero_pages, "ParseError", "parse", "PDF has no pages"),
    "one-byte": (lambda: b"%", "FetchError", "fetch", r"body is unrecognised data"),
    "empty": (lambda: b"", "FetchError", "fetch", r"body is empty"),
    "page-tree-cycle": (hostile.page_tree_cycle, "ParseError", "parse", "page 1: FzErrorFormat"),
    "parser-hang": (hostile.drawing_bomb, "TimeBudgetExceeded", "parse", r"page 1 exceeded 4 s page budget"),
    # 160 GB of pixels behind 360 kB of file: no machine inflates that within the page budget.
    "pdf-bomb": (lambda: hostile.image_bomb(side=400_000, layers=2), "TimeBudgetExceeded", "parse", r"page 1 exceeded 4 s page budget"),
}


# The drawing bomb also grows (every path becomes a Python object), so with QUICK's 1024 MB the
# time budget and the memory cap race, and a fast machine reaches the cap first (MuPDF then dies of
# SIGSEGV). With memory to spare, only the clock can end it: the case tests the clock.
CASE_LIMITS = {"parser-hang": Limits(seconds_per_page=4, seconds_per_document=60, memory_mb=8192)}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_bad_file_is_quarantined(world, case):
    make, error_class, stage, reason = FILE_CASES[case]
    path = world["tmp"] / f"{case}.pdf"
    path.write_bytes(make())
    assert_quarantined(world, entry("bad_doc", sample=path), error_class, stage, reason, CASE_LIMITS.get(case, QUICK))


@pytest.mark.parametrize("case", ["corrupt-xref", "owner-password-only"])
def test_damaged_but_readable_file_is_published(world, case):
    data = hostile.corrupt_xref(hostile.text_pdf()) if case == "corrupt-xref" else hostile.encrypted(hostile.text_pdf(), None)
    path = world["tmp"] / f"{case}.pdf"
    path.write_bytes(data)
    release, failures, _ = run_with(world, entry("odd_doc", sample=path))
    assert failures.empty
    assert set(pd.read_parquet(release / "documents.parquet")["doc_id"]) == {"good_doc", "odd_doc"}


def test_memory_bomb_is_quarantined(world):
    # An 83-inch page holding one rule is rendered for OCR under the pixel cap (40 Mpx at 75 dpi);
    # reading it takes several copies of that raster, over this worker's 300 MB allowance.
    path = world["tmp"] / "big.pdf"
    path.write_bytes(hostile.huge_page(6000, ruled=True))
    row = assert_quarantined(
        world, entry("bad_doc", sample=path), "MemoryLimitExceeded", "parse", r"ran out of memory \(limit 300 MB",
        Limits(seconds_per_page=30, memory_mb=300),
    )
    assert "big.pdf" in row["message"]


def test_too_many_pages_is_quarantined(world):
    path = world["tmp"] / "long.pdf"
    path.write_bytes(hostile.text_pdf(pages=3))
    assert_quarantined(
        world, entry("bad_doc", sample=path), "ParseError", "parse", r"long.pdf: parse failed: 3 pages exceeds cap 2",
        Limits(max_pages=2, seconds_per_page=30, memory_mb=1024),
    )


def test_file_far_over_size_cap(world):
    path = world["tmp"] / "huge.pdf"
    with open(path, "wb") as fh:  # sparse: 60 MB on paper, nothing on disk
        fh.write(b"%PDF-1.7\n")
        fh.seek(60 * 1024 * 1024)
        fh.write(b"\n%%EOF\n")
    assert_quarantined(world, entry("bad_doc", sample=path), "FetchError", "fetch", r"size 60.0 MB exceeds cap 50.0 MB")


# ----------------------------------------------------------------- HTTP

HTTP_CASES = {
    "html-under-pdf": ("html.pdf", r"body is HTML, not a PDF"),
    "zip-under-pdf": ("zip.pdf", r"body is a ZIP archive, not a PDF"),
    "image-under-pdf": ("image.pdf", r"body is a PNG image, not a PDF"),
    "http-404": ("missing.pdf", r"HTTP 404"),
    "http-503-always": ("always500.pdf", r"HTTP 503 \(gave up after 3 tries\)"),
    "timeout": ("slow.pdf", r"timed out after 0.5 s"),
    "redirect-loop": ("loop-a.pdf", r"redirect"),
    "wrong-content-length": ("short.pdf", r"Content-Length says \d+ bytes but the body had \d+"),
    "stops-mid-body": ("stall.pdf", r"mid-body after 1000 bytes"),
    "over-size-cap": ("huge-declared.pdf", r"size 60.0 MB exceeds cap 50.0 MB"),
}


@pytest.fixture
def server():
    with FaultServer(hostile.text_pdf()) as srv:
        yield srv


@pytest.mark.parametrize("case", sorted(HTTP_CASES))
def test_http_fault_is_quarantined(world, server, case):
    name, reason = HTTP_CASES[case]
    row = assert_quarantined(world, entry("web_doc", url=server.url(name)), "FetchError", "fetch", reason)
    assert row["source"] == server.url(name) and pd.isna(row["sha256"])


def test_http_500_then_success_is_published(world, server):
    release, failures, manifest = run_with(world, entry("web_doc", url=server.url("flaky.pdf")))
    assert failures.empty and server.hits["/flaky.pdf"] == 3
    assert "web_doc" in set(pd.read_parquet(release / "documents.parquet")["doc_id"])


def test_http_failure_with_sample_publishes_the_sample_and_says_so(world, server):
    doc = entry("web_doc", url=server.url("missing.pdf"), sample=world["good"].sample)
    _, failures, manifest = run_with(world, doc)
    assert failures.empty
    note = next(i["note"] for i in manifest["inputs"] if i["doc_id"] == "web_doc")
    assert "HTTP 404" in note and "bundled sample" in note


# ----------------------------------------------------------------- paths


@pytest.mark.parametrize("doc_id", ["../../outside", "/tmp/abs"])
def test_doc_id_escaping_cache_is_quarantined(world, doc_id):
    row = assert_quarantined(world, entry(doc_id, sample=world["good"].sample), "FetchError", "fetch", "not a safe file name")
    assert not (world["tmp"].parent / "outside").exists()


@pytest.mark.parametrize("run_id", ["../escaped", "/tmp/escaped", ".."])
def test_run_id_escaping_output_folder_refused(world, run_id):
    with pytest.raises(UnsafePath, match="run id"):
        publish_release({}, {"run_id": run_id}, world["outputs"])
    assert not (world["outputs"] / "escaped").exists() and not Path("/tmp/escaped").exists()
    assert current_release(world["outputs"]) == world["previous"].resolve()


# ----------------------------------------------------------------- publish: kill -9, concurrency, disk full

KILL_DURING_PUBLISH = """
import os, signal, sys
sys.path.insert(0, {root!r})
import pipeline.publish.writer as publish
from tests.test_faults import entry, run_once
from pathlib import Path
real = getattr(publish, {hook!r})
def die(*args, **kwargs):
    if {hook!r} == "_write_json" and not str(args[0]).endswith("manifest.json"):
        return real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
setattr(publish, {hook!r}, die)
run_once([entry("good_doc", sample=Path({sample!r}))], Path({outputs!r}), Path({cache!r}))
"""


@pytest.mark.parametrize("hook", ["_write_json", "_point_current"])
def test_kill_9_during_publish_then_new_run_recovers(world, hook):
    script = KILL_DURING_PUBLISH.format(
        root=str(ROOT), hook=hook, sample=str(world["good"].sample), outputs=str(world["outputs"]), cache=str(world["cache"])
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    # Killed mid-publish: readers still see the previous release, complete.
    assert current_release(world["outputs"]) == world["previous"].resolve()
    assert_release_complete(world["previous"])
    leftovers = list((world["outputs"] / "releases").glob(".tmp-*"))
    assert leftovers if hook == "_write_json" else not leftovers
    # A new run needs no manual clean-up.
    release = run_once([world["good"]], world["outputs"], world["cache"])
    assert current_release(world["outputs"]) == release.resolve()
    assert_release_complete(release)
    assert not list((world["outputs"] / "releases").glob(".tmp-*"))


def _hold_lock(outputs: str, seconds: float, ready) -> None:
    with output_lock(Path(outputs), timeout=5):
        ready.set()
        time.sleep(seconds)


def test_two_runs_at_once_one_waits_or_refuses(world):
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(world["outputs"]), 2.0, ready))
    holder.start()
    try:
        assert ready.wait(10)
        frames_run = {"run_id": new_run_id()}
        with pytest.raises(PublishLocked, match="being published by another run"):
            publish_release({}, dict(frames_run), world["outputs"], lock_timeout=0.3)
        assert current_release(world["outputs"]) == world["previous"].resolve()
        # With patience, the second run waits for the first and then publishes.
        started = time.monotonic()
        release = run_once([world["good"]], world["outputs"], world["cache"])
        assert time.monotonic() - started > 0.5
        assert_release_complete(release)
    finally:
        holder.join(10)
    assert_release_complete(world["previous"])


def _can_mount_tmpfs(target: Path) -> bool:
    if os.geteuid() != 0:
        return False
    target.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(target)], capture_output=True).returncode == 0


DISK_FULL_CHILD = """
import resource, signal, sys
sys.path.insert(0, {root!r})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))
from tests.test_faults import publish_big
publish_big({outputs!r})
"""


def publish_big(outputs: str) -> None:
    """Publish a failures dataset far bigger than the space left; print the error number."""
    import random

    rnd = random.Random(1)
    rows = [
        {"doc_id": f"d{i}", "source": "s", "sha256": None, "stage": "parse", "error_class": "E",
         "message": "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(400)), "failed_at": utc_now(), "page": None}
        for i in range(10000)
    ]
    from pipeline.publish.writer import validate_frames

    run_id = new_run_id()
    frames = validate_frames({"failures": pd.DataFrame(rows)}, run_id)
    try:
        publish_release(frames, {"run_id": run_id}, Path(outputs))
    except OSError as exc:
        print(f"OSError {exc.errno}")
        return
    print("published")


def test_disk_full_while_writing(tmp_path):
    """A real small filesystem when the test may mount one (root), else a real per-process file size limit."""
    mount = tmp_path / "small"
    mounted = _can_mount_tmpfs(mount)
    outputs = (mount if mounted else tmp_path) / "outputs"
    try:
        good = tmp_path / "good.pdf"
        good.write_bytes(hostile.text_pdf())
        previous = run_once([entry("good_doc", sample=good)], outputs, tmp_path / "cache")
        if mounted:
            out = subprocess.run(
                [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); from tests.test_faults import publish_big; publish_big({str(outputs)!r})"],
                cwd=ROOT, capture_output=True, text=True, timeout=120,
            )
            expected = errno.ENOSPC
        else:
            out = subprocess.run(
                [sys.executable, "-c", DISK_FULL_CHILD.format(root=str(ROOT), outputs=str(outputs))],
                cwd=ROOT, capture_output=True, text=True, timeout=120,
            )
            expected = errno.EFBIG
        assert out.stdout.strip() == f"OSError {expected}", out.stdout + out.stderr[-2000:]
        assert current_release(outputs) == previous.resolve()
        assert_release_complete(previous)
        assert not list((outputs / "releases").glob(".tmp-*"))  # the half-written release was removed
    finally:
        if mounted:
            subprocess.run(["umount", str(mount)], check=False)
