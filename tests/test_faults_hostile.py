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

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PYTHONPATH=str(ROOT), PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return env


DOWNLOAD_IN_A_THREAD = """
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from pipeline.fetch import FetchSettings, fetch
from pipeline.guarded import stop_on_signals
from pipeline.registry import SourceEntry
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
import time
from flows.server import start_temporary_server
print(start_temporary_server(), flush=True)
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
    proc = subprocess.Popen([sys.executable, "-c", TEMPORARY_SERVER], cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, text=True)
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
