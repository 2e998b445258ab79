"""The fault catalogue, continued: what an outside reliability tester tried (docs/faults.md).

Operations: signals during a download, the temporary Prefect server after
``kill -9``, a full disk under the cache and under a release, a publish lock
held by someone else. Every case checks the promise, not a timing: processes
are waited for with generous bounds, servers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import hostile
from tests.httpfaults import FaultServer
from tests.test_faults import _can_mount_tmpfs, entry, run_once

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PYTHONPATH=str(ROOT), PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300")  # a busy machine starts uvicorn slowly
    return env


DOWNLOAD_IN_A_THREAD = """
import signal, sys
# Ctrl-C as in a terminal, also when this test runs as a background job (which starts with SIGINT ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from pipeline.ingest.fetch import FetchSettings, fetch
from pipeline.runs.guarded import stop_on_signals
from pipeline.ingest.registry import SourceEntry
entry = SourceEntry("web", "X", "t", None, sys.argv[1], None)
with stop_on_signals():
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(fetch, entry, Path(sys.argv[2]), FetchSettings(timeout=5, total_timeout=600, attempts=3), use_network=True)
        print("started", flush=True)
        try:
            future.result()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            try:
                future.result()
            except Exception as exc:
                print(exc, flush=True)
"""


def test_sigint_ends_a_trickling_download_in_a_worker_thread(tmp_path):
    with FaultServer(hostile.text_pdf()) as server:
        proc = subprocess.Popen(
            [sys.executable, "-c", DOWNLOAD_IN_A_THREAD, server.url("trickle-status.pdf"), str(tmp_path)],
            cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, text=True,
        )
        try:
            assert proc.stdout.readline().strip() == "started"
            while server.hits["/trickle-status.pdf"] == 0:
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=60)  # the download alone would take 600 s
        finally:
            proc.kill()
    assert "interrupted" in out and "download cancelled" in out, out


TEMPORARY_SERVER = """
import sys, time
from pathlib import Path
from flows.server import start_server
_, url = start_server(Path(sys.argv[1]))
print(url, flush=True)
time.sleep(600)
"""


def _listening(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url + "/health", timeout=2):
            return True
    except OSError:
        return False


def test_temporary_prefect_server_dies_with_a_killed_run(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", TEMPORARY_SERVER, str(tmp_path / "server.log")], cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and _listening(url)
    finally:
        proc.kill()  # kill -9: no atexit, no clean-up of our own
        proc.wait()
    for _ in range(300):
        if not _listening(url):
            break
        time.sleep(0.1)
    assert not _listening(url)


# ----------------------------------------------------------------- full disks and a held lock

@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB filesystem when the test may mount one (root); else a folder no file can be created in."""
    mount = tmp_path / "tiny"
    if _can_mount_tmpfs(mount):
        subprocess.run(["mount", "-o", "remount,size=256k", str(mount)], check=True)
        yield mount, True
        subprocess.run(["umount", str(mount)], check=False)
    else:
        mount.mkdir()
        (mount / "extract").write_text("a file where the cache wants a folder")
        yield mount, False


def test_cache_write_failure_costs_only_the_cache(tmp_path, tiny_disk, caplog):
    from pipeline.runs.cache import ResultCache
    from pipeline.runs.outcomes import Obtained
    from pipeline.runs.steps import process_document
    from pipeline.document.extract import DocumentExtraction, sha256_file

    cache_dir, real_disk = tiny_disk
    if real_disk:  # fill it: the cache entry is then refused with ENOSPC
        with open(cache_dir / "filler", "wb") as fh:
            try:
                fh.write(b"\0" * (1024 * 1024))
            except OSError:
                pass
    pdf = tmp_path / "good.pdf"
    pdf.write_bytes(hostile.text_pdf())
    ob = Obtained(entry("good_doc", sample=pdf), pdf, sha256_file(pdf), str(pdf), "t")
    result = process_document(ob, ResultCache(cache_dir), {}, None, ocr_cache_dir=cache_dir)
    assert isinstance(result, DocumentExtraction) and "sections" in result.frames
    assert "result not cached" in caplog.text and "good_doc" in caplog.text
    assert not ResultCache(cache_dir).entries()


def test_disk_full_while_publishing_is_one_line_naming_the_path(tmp_path):
    mount = tmp_path / "small"
    if not _can_mount_tmpfs(mount):
        pytest.skip("needs root to mount a small filesystem")  # test_faults covers the EFBIG variant
    try:
        outputs = mount / "outputs"
        good = tmp_path / "good.pdf"
        good.write_bytes(hostile.text_pdf())
        previous = run_once([entry("good_doc", sample=good)], outputs, tmp_path / "cache")
        with open(mount / "filler", "wb") as fh:  # whatever space is left, taken
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        script = (
            f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "import tests.test_faults as t, pipeline.publish.writer as p\n"
            "try:\n    t.publish_release = p.publish_release\n    import pandas as pd, random\n"
            "    rows=[{'doc_id':f'd{i}','source':'s','sha256':None,'stage':'parse','error_class':'E','message':''.join(random.Random(i).choice('abcdefghijklmnopqrstuvwxyz') for _ in range(400)),'failed_at':'2026-12-01T00:00:00+00:00','page':None} for i in range(10000)]\n"
            "    rid=p.new_run_id(); frames=p.validate_frames({'failures':pd.DataFrame(rows)}, rid)\n"
            f"    p.publish_release(frames, {{'run_id': rid}}, __import__('pathlib').Path({str(outputs)!r}))\n"
            "except p.PublishFailed as exc:\n    print(exc)\n"
        )
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
        line = out.stdout.strip()
        assert len(line.splitlines()) == 1 and line.startswith("nothing published: ") and "No space left on device" in line, out.stdout + out.stderr[-1500:]
        assert str(outputs) in line and f"{outputs / 'current'} is unchanged ({previous.name})" in line
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def _hold(outputs: str, ready, release) -> None:
    from pipeline.publish.writer import output_lock

    with output_lock(Path(outputs), timeout=5):
        ready.set()
        release.wait(30)


def test_waiting_lock_says_what_it_waits_for(tmp_path, caplog):
    import multiprocessing as mp

    from pipeline.publish.writer import PublishLocked, publish_release

    outputs = tmp_path / "outputs"
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(outputs), ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(PublishLocked) as info:
            publish_release({}, {"run_id": "r1"}, outputs, lock_timeout=0.5)
    finally:
        release.set()
        holder.join(10)
    waiting = [r.getMessage() for r in caplog.records if "waiting up to" in r.getMessage()]
    assert len(waiting) == 1 and f"pid {holder.pid} on " in waiting[0] and str(outputs / ".lock") in waiting[0]
    message = str(info.value)
    assert "\n" not in message and f"pid {holder.pid}" in message and "no release was published yet" in message


def test_nichiiki_extract_checks_bodies_as_the_flow_does(tmp_path):
    from pipeline.runs.local import extract_paths

    good = tmp_path / "good.pdf"
    good.write_bytes(hostile.text_pdf(pages=1))
    zipped = tmp_path / "zipped.pdf"
    zipped.write_bytes(hostile.zip_of(hostile.text_pdf(pages=1)))  # MuPDF would read the PDF inside
    frames, report = extract_paths([good, zipped])
    assert [f.message for f in report.failures] == [f"{zipped}: fetch failed: body is a ZIP archive, not a PDF"]
    assert list(frames["documents"]["doc_id"]) == ["good"]
