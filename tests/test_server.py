"""One Prefect server per `nichiiki run`, shared by every worker, Dask ones included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pymupdf

from conftest import REPO
from flows.server import prefect_api
from pipeline.publish.writer import current_release


def test_an_api_url_that_is_set_is_used_and_nothing_is_started(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    with prefect_api() as url:
        assert url == "http://127.0.0.1:9/api"
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:9/api"


def _pdf(path: Path, text: str) -> None:
    doc = pymupdf.open()
    doc.new_page(width=595, height=842).insert_text((72, 100), text, fontname="japan", fontsize=12)
    doc.save(path)
    doc.close()


def test_a_dask_run_starts_one_server_and_every_worker_reports_to_it(tmp_path):
    (tmp_path / "docs").mkdir()
    lines = ["documents:"]
    for i in range(2):
        _pdf(tmp_path / "docs" / f"d{i}.pdf", f"二地域居住の推進について（その{i}）")
        lines.append(f"  - {{id: d{i}, publisher: MIC, title: 通知{i}, issued: null, url: null, sample: docs/d{i}.pdf}}")
    (tmp_path / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for name in ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_SERVER_ANALYTICS_ENABLED"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--runner", "dask", "--workers", "2", "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert output.count("Prefect server started on") == 1
    assert "Starting temporary server" not in output, "a worker started a server of its own"
    assert "telemetry" not in output.lower()
    # nichiiki run keeps Prefect's state where `make run` does: under the cache folder
    assert (tmp_path / ".cache" / "prefect").is_dir()
    # Both task runs landed in the run's database, on the one server.
    import sqlite3

    with sqlite3.connect(tmp_path / ".cache" / "prefect" / "prefect.db") as db:
        names = sorted(row[0] for row in db.execute("select name from task_run where name like 'extract-%'"))
    assert names == ["extract-d0", "extract-d1"]
    assert pd.read_parquet(current_release(tmp_path / "outputs") / "documents.parquet")["doc_id"].tolist() == ["d0", "d1"]


def test_the_run_server_dies_with_nichiiki_even_on_kill_9(tmp_path):
    import signal

    import psutil

    (tmp_path / "docs").mkdir()
    _pdf(tmp_path / "docs" / "d.pdf", "二地域居住")
    (tmp_path / "sources.yaml").write_text(
        "documents:\n  - {id: d, publisher: MIC, title: 通知, issued: null, url: null, sample: docs/d.pdf}\n", encoding="utf-8"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PREFECT_API_URL", None)
    run = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", "--no-progress"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    servers: list = []
    try:
        for line in run.stderr:  # the line comes once the server answers
            if "Prefect server started on" in line:
                break
        servers = [p for p in psutil.Process(run.pid).children() if "uvicorn" in " ".join(p.cmdline())]
        assert len(servers) == 1
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        servers[0].wait(timeout=60)  # raises psutil.TimeoutExpired if it outlives its parent
        assert not servers[0].is_running()
    finally:
        if run.poll() is None:
            run.kill()
        for server in servers:  # an orphan the test found must not outlive it
            if server.is_running():
                server.kill()
