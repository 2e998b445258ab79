"""Every finding of scripts/fuzz_pdf.py, replayed: it must now end in success or a clear DocumentError.

benchmarks/fuzz.json records each finding as a recipe (seed page + mutations)
that rebuilds the input from the samples, so no fuzzed binaries are checked in.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from pipeline.errors import DocumentError, WorkerCrashed, WorkerFailed
from pipeline.limits import Limits
from pipeline.sandbox import run_in_sandbox
from tests import sandbox_work as work

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "fuzz.json"


def _fuzz_module():
    spec = importlib.util.spec_from_file_location("fuzz_pdf", ROOT / "scripts" / "fuzz_pdf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _findings() -> list[dict]:
    findings = json.loads(REPORT.read_text(encoding="utf-8"))["findings"]
    return [dict(f, example=e) for f in findings for e in f["examples"]]


def test_fuzz_report_exists_and_counts_inputs():
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    assert report["inputs"] > 0 and sum(report["outcomes"].values()) == report["inputs"]


@pytest.fixture(scope="module")
def fuzz():
    module = _fuzz_module()
    return module, module.build_seeds()


@pytest.mark.parametrize("finding", _findings(), ids=lambda f: f"{f['kind']}:{f['detail'][:60]}")
def test_finding_now_handled(fuzz, finding, tmp_path):
    module, seeds = fuzz
    example = finding["example"]
    assert example["seed"] in seeds, "fuzz.json was made with another seed set: re-run scripts/fuzz_pdf.py"
    path = tmp_path / "finding.pdf"
    path.write_bytes(module.apply(seeds[example["seed"]], example["ops"], seeds))
    try:
        run_in_sandbox(work.extract, str(path), limits=Limits(seconds_per_page=30, memory_mb=2048), source=str(path))
    except (WorkerFailed, WorkerCrashed) as exc:
        pytest.fail(f"unhandled: {exc}\n{getattr(exc, 'details', '')}")
    except DocumentError:
        pass  # a clear error naming the file is the expected outcome
