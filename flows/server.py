"""One Prefect API per run, shared by the flow and every worker (Dask ones included).

Without ``PREFECT_API_URL`` every Python process that runs a flow or a task
starts its own temporary server (11–16 s each), so the task runs of Dask
workers landed on servers thrown away with them. ``prefect_api`` uses
``PREFECT_API_URL`` when it is set, and otherwise starts one server and
exports its URL before Prefect is imported and before any worker starts,
so every process of the run reports to it.

This module does not import Prefect: Prefect reads its settings from the
environment when first imported, so the URL is exported before that; when
Prefect is already loaded, the URL is also set as its temporary settings.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

API_URL = "PREFECT_API_URL"


def prefect_defaults(home: Path) -> None:
    """What ``make run`` sets: state under the project, no telemetry (an offline run logs no errors)."""
    os.environ.setdefault("PREFECT_HOME", str(Path(home).resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, even by kill -9 (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_server(log_file: Path, timeout: float = 180.0) -> tuple[subprocess.Popen, str]:
    """Start the Prefect API (no UI) on a free local port; return the process and its API URL.

    Its output goes to ``log_file`` (a pipe nobody reads would fill and stall it).
    """
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    # The app Prefect's own temporary server runs, started the same way.
    args = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"]
    env = dict(os.environ, PREFECT_UI_ENABLED="0", PREFECT__SERVER_EPHEMERAL="1", PREFECT__SERVER_FINAL="1")
    env.pop(API_URL, None)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        process = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_die_with_parent)
    deadline = time.monotonic() + timeout
    while not healthy(api_url):
        if process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with code {process.returncode} (its log: {log_file})")
        if time.monotonic() > deadline:
            stop_server(process)
            raise RuntimeError(f"the Prefect server did not answer on {api_url} within {timeout:.0f} s")
        time.sleep(0.2)
    return process, api_url


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def prefect_api(log=None) -> Iterator[str]:
    """``PREFECT_API_URL`` if set, else a server started for this run (stopped at the end)."""
    if os.environ.get(API_URL):
        yield os.environ[API_URL]
        return
    started = time.perf_counter()
    home = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect"))
    process, api_url = start_server(home / "nichiiki-server.log")
    if log:
        log(f"Prefect server started on {api_url} in {time.perf_counter() - started:.1f} s (set PREFECT_API_URL to reuse a running one)")
    os.environ[API_URL] = api_url
    try:
        with contextlib.ExitStack() as stack:
            if "prefect.context" in sys.modules:
                # Prefect was imported already (python -m flows.cli run) and read its
                # settings then: hand it the URL as the settings of this block.
                from prefect.settings import PREFECT_API_URL, temporary_settings

                stack.enter_context(temporary_settings(updates={PREFECT_API_URL: api_url}))
            yield api_url
    finally:
        _drain_prefect_workers()
        os.environ.pop(API_URL, None)
        stop_server(process)


def _drain_prefect_workers(timeout: float = 10.0) -> None:
    """Send the run's last logs and events before the server stops.

    Prefect sends them from background workers it drains at interpreter exit,
    which is after this server is gone: they would retry for about a minute,
    then print "Error logging to API".
    """
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=timeout)
