"""Shared fixtures: paths to the bundled samples and one Prefect test harness per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
GOLDENS = SAMPLES / "goldens"

# Prefect state for tests stays in a throwaway home, never the user's.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """A temporary Prefect server for the whole session (starting one costs ~10 s)."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def senkoteki_extraction():
    """mlit_r7_senkoteki.pdf extracted once for every test that reads it."""
    from pipeline.extract import extract_pdf

    return extract_pdf(SAMPLES / "mlit_r7_senkoteki.pdf", "mlit_r7_senkoteki")
