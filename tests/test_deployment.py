"""The weekly deployment in prefect.yaml, run by a real Prefect server and worker (no mocks)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import yaml

from conftest import REPO, SAMPLES
from pipeline.publish.writer import current_release, read_manifest

PREFECT = str(Path(sys.executable).with_name("prefect"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prefect(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run([PREFECT, "--no-prompt", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"prefect {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_prefect_yaml_declares_a_weekly_schedule_with_parameters():
    config = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    (weekly,) = [d for d in config["deployments"] if d["name"] == "weekly"]
    assert weekly["entrypoint"] == "flows/main.py:nichiiki_flow"
    assert {"sources", "outputs"} <= set(weekly["parameters"])
    cron = weekly["schedules"][0]["cron"].split()
    assert len(cron) == 5 and cron[4] not in ("*",) and cron[2] == "*"  # one day of the week
    assert weekly["parameters"]["fetch"] is True  # a scheduled run downloads new versions
    assert "nichiiki" in weekly["tags"]
    assert weekly["concurrency_limit"]["limit"] == 1


def test_weekly_deployment_runs_on_a_local_server_and_publishes(tmp_path):
    (tmp_path / "docs").mkdir()
    shutil.copy(SAMPLES / "mic_tsuchi_71.pdf", tmp_path / "docs" / "tsuchi.pdf")
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        "documents:\n  - {id: tsuchi, publisher: MIC, title: 通知, issued: '2025-04-02', url: null, sample: docs/tsuchi.pdf}\n",
        encoding="utf-8",
    )
    outputs = tmp_path / "outputs"
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_API_URL=api, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_PROFILES_PATH", None)
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, "prefect server exited"
            assert time.monotonic() < deadline, "prefect server did not start in 180 s"
            time.sleep(1)
        _prefect(env, "work-pool", "create", "nichiiki", "--type", "process")
        _prefect(env, "deploy", "--all")
        listed = _prefect(env, "deployment", "inspect", "nichiiki/weekly").stdout
        assert "0 3 * * 1" in listed and "Asia/Tokyo" in listed
        assert "'fetch': True" in listed and "'weekly'" in listed  # parameter and tag
        params = json.dumps({"sources": str(registry), "outputs": str(outputs), "cache_dir": str(tmp_path / "cache")})
        _prefect(env, "deployment", "run", "nichiiki/weekly", "--params", params)
        worker = _prefect(env, "worker", "start", "--pool", "nichiiki", "--run-once", timeout=300)
        release = current_release(outputs)
        assert release is not None, worker.stdout + worker.stderr
        documents = pd.read_parquet(release / "documents.parquet")
        assert documents["doc_id"].tolist() == ["tsuchi"] and documents["pages"].tolist() == [7]
        manifest = read_manifest(release)
        assert manifest["inputs"][0]["sha256"] == documents["sha256"][0]
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
