"""Findings of scripts/fuzz_pdf.py, replayed: each must now end in success or a clear DocumentError.

benchmarks/fuzz.json records each finding as recipes (seed page + mutations)
that rebuild the input from the samples, so no fuzzed binaries are checked in.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from pipeline.model.errors import DocumentError, ParseError, WorkerCrashed, WorkerFailed
from pipeline.document.extract import extract_pdf
from pipeline.model.limits import Limits
from pipeline.reading.sandbox import run_in_sandbox
from tests import sandbox_work as work

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "fuzz.json"
# Findings of earlier runs (the latest run's report replaces benchmarks/fuzz.json).
EARLIER = Path(__file__).resolve().parent / "fuzz_findings.json"

# The seed set of the first fuzz run, which found the page-tree bug below.
FIRST_RUN_SEEDS = [
    ("mic_tsuchi_71", 0), ("mlit_r7_senkoteki", 0), ("mlit_r7_senkoteki", 3), ("mlit_r7_senkoteki", 9),
    ("mlit_gaiyo", 0), ("mlit_r5_sankou5", 1), ("join_kanousei", 0),
]
MALFORMED_PAGE_TREE = [["flip", 152, 0], ["token", 12151, 17], ["splice", 61415, 21, 2475], ["splice", 6968, 44, 1002]]


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("fuzz_pdf", ROOT / "scripts" / "fuzz_pdf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fuzz_report_counts_inputs():
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    assert report["inputs"] > 0 and sum(report["outcomes"].values()) == report["inputs"]
    assert set(report["seeds"]) and all(f["examples"] for f in report["findings"])


def test_first_finding_malformed_page_tree(fuzz, tmp_path):
    """FzErrorFormat escaped document_info as an anonymous exception; now a ParseError naming the page."""
    seeds = fuzz.build_seeds(FIRST_RUN_SEEDS)
    path = tmp_path / "tree.pdf"
    path.write_bytes(fuzz.apply(seeds["join_kanousei:p1:z"], MALFORMED_PAGE_TREE, seeds))
    with pytest.raises(ParseError, match=r"tree.pdf: parse failed: page 1: FzErrorFormat: .*malformed page tree"):
        extract_pdf(path, "tree")


def recorded_findings() -> list[dict]:
    findings = []
    for report in sorted(REPORT.parent.glob("fuzz*.json")):  # one report per fuzz target
        findings += json.loads(report.read_text(encoding="utf-8"))["findings"]
    for run in json.loads(EARLIER.read_text(encoding="utf-8"))["runs"]:
        findings += run["findings"]
    return findings


def test_every_recorded_finding_is_now_handled(fuzz, tmp_path):
    seeds = fuzz.build_seeds()
    unhandled = []
    for finding in recorded_findings():
        for example in finding["examples"]:
            assert example["seed"] in seeds, "fuzz.json was made with another seed set: re-run scripts/fuzz_pdf.py"
            path = tmp_path / "finding.pdf"
            path.write_bytes(fuzz.apply(seeds[example["seed"]], example["ops"], seeds))
            try:
                run_in_sandbox(work.extract, str(path), limits=Limits(seconds_per_page=30, memory_mb=2048), source=str(path))
            except (WorkerFailed, WorkerCrashed) as exc:
                unhandled.append(f"{finding['detail']}: {exc}\n{getattr(exc, 'details', '')}")
            except DocumentError:
                pass  # a clear error naming the file is the expected outcome
    assert not unhandled, "\n".join(unhandled)
