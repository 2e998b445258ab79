"""Shared fixtures: paths to the bundled samples and one Prefect test harness per session."""

from __future__ import annotations

import json
import os
import socket
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
GOLDENS = SAMPLES / "goldens"

# Prefect state for tests stays in a throwaway home, never the user's.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="nichiiki-test-prefect-")

# Import Prefect now (prefect.main: a bare "import prefect" is lazy and sets up
# no logging), so its console log handler binds to the session's stderr.
# Imported first inside a test that captures output (capsys), the handler kept
# that test's stream, closed after the test, and every later flow's log line
# failed ("I/O operation on closed file", then a RecursionError via log_prints).
import prefect.main  # noqa: E402,F401


def unanswered_api_url() -> str:
    """A Prefect API URL on a local port nobody listens on: `nichiiki run` refuses it before Prefect starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/api"


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """A temporary Prefect server for the whole session (starting one costs ~10 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def senkoteki_extraction():
    """mlit_r7_senkoteki.pdf extracted once for every test that reads it."""
    from pipeline.document.extract import extract_pdf

    return extract_pdf(SAMPLES / "mlit_r7_senkoteki.pdf", "mlit_r7_senkoteki")


def golden_rows(doc_id: str, dataset: str, columns: list[str]) -> list[dict]:
    """The reviewed golden rows of ``dataset`` for ``doc_id``, only ``columns``, in file order."""
    rows = json.loads((GOLDENS / doc_id / f"{dataset}.json").read_text(encoding="utf-8"))
    return [{k: row[k] for k in columns} for row in rows]


def frame_rows(frame, columns: list[str]) -> list[dict]:
    """A frame's rows as the goldens store them (JSON values), only ``columns``, in frame order."""
    return json.loads(frame[columns].to_json(orient="records", force_ascii=False))
