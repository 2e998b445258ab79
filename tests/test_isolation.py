"""A step that fails costs only what it makes: the document's other datasets are still published.

An extractor that raises, or the linking or text stage after the extractors,
becomes one ``failures`` row (doc_id, stage, error class, message, page) and
the rest of the document goes on, through ``nichiiki extract``, the flow
(in process and in the sandbox) and the result cache alike. A value that
breaks a column check costs only that value (tests/test_publish.py); a
contradiction the document states about itself still blocks, naming rows.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import pipeline.document.extract as extract_module
from conftest import SAMPLES
from extractors.base import REGISTRY, Registered
from extractors.catalogue import all_extractors
from pipeline.checks.consortia import check_statements
from pipeline.model.errors import ValidationFailed
from pipeline.document.extract import DocumentExtraction, sha256_file
from pipeline.publish.writer import current_release, read_manifest
from pipeline.ingest.registry import SourceEntry
from pipeline.runs.outcomes import Obtained
from pipeline.runs.steps import check_and_publish, process_document, step_failures

SENKOTEKI = SAMPLES / "mlit_r7_senkoteki.pdf"
BROKEN_PAGE = 3


def _tours_that_raise(pages):
    """Stands in for an extractor with a bug that shows on one page."""
    for page in pages:
        if page.page_number == BROKEN_PAGE:
            return min([])  # the ValueError union_bbox raised on an empty panel
    return []


@pytest.fixture
def broken_tours(monkeypatch):
    all_extractors()  # registers every extractor before one is replaced
    original = REGISTRY["tours"]
    monkeypatch.setitem(REGISTRY, "tours", Registered(original.name, original.version, original.datasets, _tours_that_raise))


def _assert_tours_failure(failures: pd.DataFrame, doc_id: str) -> None:
    row = failures.set_index("stage").loc["extract:tours"]
    assert row["doc_id"] == doc_id and row["error_class"] == "ValueError"
    assert "min() arg is an empty sequence" in row["message"] and "senkoteki" in row["message"]
    assert row["page"] == BROKEN_PAGE


def test_nichiiki_extract_publishes_every_other_dataset_when_one_extractor_raises(broken_tours, tmp_path, capsys, monkeypatch):
    from flows.cli import main

    monkeypatch.setenv("NICHIIKI_SANDBOX", "false")  # the patched extractor lives in this process (the sandbox case is tested below)

    out = tmp_path / "out"
    assert main(["extract", str(SENKOTEKI), "--out", str(out)]) == 1  # something failed: say so
    assert "extract:tours failed: ValueError" in capsys.readouterr().err
    assert len(pd.read_parquet(out / "consortia.parquet")) == 44
    assert len(pd.read_parquet(out / "theme_marks.parquet")) == 199
    assert len(pd.read_parquet(out / "case_studies.parquet")) > 0
    assert len(pd.read_parquet(out / "tours.parquet")) == 0  # only what the failed step makes is missing
    documents = pd.read_parquet(out / "documents.parquet")
    assert documents["doc_id"].tolist() == ["mlit_r7_senkoteki"]
    _assert_tours_failure(pd.read_parquet(out / "failures.parquet"), "mlit_r7_senkoteki")


def test_a_failing_link_or_text_stage_leaves_rows_unlinked_and_uncleaned(monkeypatch, tmp_path):
    from pipeline.runs.local import extract_paths

    def fails(*args, **kwargs):
        raise RuntimeError("stage broke")

    monkeypatch.setattr(extract_module, "link_document", fails)
    monkeypatch.setattr(extract_module, "run_text_stage", fails)
    frames, report = extract_paths([SENKOTEKI])
    assert sorted((f.stage, f.error_class, f.page) for f in report.failures) == [("link", "RuntimeError", None), ("text", "RuntimeError", None)]
    consortia = frames["consortia"]
    assert len(consortia) == 44
    # Uncleaned: the cleaned column equals the raw one and no correction or place is claimed.
    assert consortia["consortium_name"].tolist() == consortia["consortium_name_raw"].tolist()
    assert frames["corrections"].empty and frames["places"].empty
    assert (frames["case_studies"]["link_method"] == "none").all() and frames["case_studies"]["consortium_id"].isna().all()
    assert set(frames["failures"]["stage"]) == {"link", "text"}


def _registry(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    shutil.copy(SENKOTEKI, tmp_path / "docs" / "senkoteki.pdf")
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        "documents:\n  - {id: senkoteki, publisher: MLIT, title: 先導的プロジェクト, issued: \"2026-03\", url: null, sample: docs/senkoteki.pdf}\n",
        encoding="utf-8",
    )
    return registry


def test_flow_publishes_the_document_without_the_failed_extractors_rows(prefect_harness, broken_tours, tmp_path):
    from flows.main import nichiiki_flow

    outputs = tmp_path / "outputs"
    # In process: a monkeypatched registry does not reach the sandbox's fork server (that path is tested below).
    result = nichiiki_flow(sources=str(_registry(tmp_path)), outputs=str(outputs), sandbox=False, cache_dir=None)
    assert result["published"] is True and result["failures"] == 1
    release = current_release(outputs)
    assert len(pd.read_parquet(release / "consortia.parquet")) == 44
    assert len(pd.read_parquet(release / "tours.parquet")) == 0
    _assert_tours_failure(pd.read_parquet(release / "failures.parquet"), "senkoteki")
    manifest = read_manifest(release)
    assert [(f["doc_id"], f["stage"], f["page"]) for f in manifest["failures"]] == [("senkoteki", "extract:tours", BROKEN_PAGE)]
    assert all(c["ok"] for c in manifest["checks"] if c["blocking"])


def test_sandboxed_results_carry_the_failed_step_and_are_not_cached(broken_tours, tmp_path):
    from pipeline.runs.cache import ResultCache
    from pipeline.runs.guarded import extract_guarded
    from pipeline.model.limits import Limits

    entry = SourceEntry(id="senkoteki", publisher="MLIT", title="t", issued=None, url=None, sample=SENKOTEKI)
    obtained = Obtained(entry, SENKOTEKI, sha256_file(SENKOTEKI), str(SENKOTEKI), "2026-01-01T00:00:00+00:00")
    # "fork": the child inherits the patched registry (the fork server would import a clean one).
    boxed = extract_guarded(obtained, Limits(), start_method="fork", ocr_cache_dir=None)
    assert isinstance(boxed, DocumentExtraction)
    assert [(f.stage, f.page) for f in boxed.failures] == [("extract:tours", BROKEN_PAGE)]
    assert len(boxed.frames["consortia"]) == 44 and "tours" not in boxed.frames

    # Like a failed document, a result with a failed step is not cached (the cause may be gone
    # next run): each run recomputes it and reports the step again.
    cache = ResultCache(tmp_path / "cache")
    first = process_document(obtained, cache, {}, ocr_cache_dir=None)
    assert cache.entries() == []
    again = process_document(obtained, cache, {}, ocr_cache_dir=None)
    assert "parse" in again.timings
    assert [(f.stage, f.page) for f in step_failures(again)] == [(f.stage, f.page) for f in step_failures(first)] == [("extract:tours", BROKEN_PAGE)]


def _statement_frames(rounds: list[int | None], stated: dict[int, int]) -> dict[str, pd.DataFrame]:
    consortia = pd.DataFrame({"doc_id": "d", "row": range(1, len(rounds) + 1), "round": pd.array(rounds, dtype="Int64")})
    statements = pd.DataFrame(
        [{"doc_id": "d", "statement": "consortia_total", "round": None, "value": len(rounds), "page": 2, "text_raw": f"計{len(rounds)}団体"}]
        + [{"doc_id": "d", "statement": "consortia_in_round", "round": r, "value": n, "page": 2, "text_raw": f"{r}次 {n}"} for r, n in stated.items()]
    )
    return {"consortia": consortia, "report_statements": statements}


def test_rows_whose_round_was_not_read_do_not_contradict_the_statements():
    results = check_statements(_statement_frames([1, 1, None, 2, None], {1: 3, 2: 2}))
    assert all(r.ok for r in results)
    in_round_1 = next(r for r in results if r.name == "consortia_in_round_1")
    assert "2 row(s) whose round was not read (rows 3, 5)" in in_round_1.detail


def test_a_statement_contradiction_still_blocks_and_names_the_rows(tmp_path):
    frames = _statement_frames([1, 1, 1, 2, None], {1: 2, 2: 2})  # three rows say round 1; the report says two
    failed = [r for r in check_statements(frames) if not r.ok]
    assert [r.name for r in failed] == ["consortia_in_round_1"]
    assert "matrix rows: 1, 2, 3, 4, 5" in failed[0].detail
    from tests.test_publish import _frames

    published = _frames(3)
    published["consortia"].loc[2, "round"] = 2
    statements = pd.DataFrame(
        [{"doc_id": "doc", "source_sha256": "a" * 64, "page": 1, "bbox": None, "extractor": "statements", "extractor_version": "1",
          "statement": "consortia_in_round", "round": 1, "value": 3, "text_raw": "1次 3団体", "text": "1次 3団体"}]
    )
    with pytest.raises(ValidationFailed, match=r"states 3 consortia \(round 1\).*matrix has 2.*matrix rows: 1, 2, 3"):
        check_and_publish(published | {"report_statements": statements}, {"run_id": "r1"}, tmp_path)
    assert current_release(tmp_path) is None


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError("OpenCV(4.9) error: (-4:Insufficient memory) Failed to allocate 400 bytes")])
def test_running_out_of_memory_in_a_step_is_still_the_documents_budget(error):
    from pipeline.document.extract import run_extractors

    def greedy(pages):
        raise error

    def fine(pages):
        return []

    with pytest.raises(type(error)):
        run_extractors([], [Registered("fine", "1", (), fine), Registered("greedy", "1", (), greedy)])
    records, timings, failures = run_extractors([], [Registered("fine", "1", (), fine), Registered("buggy", "1", (), _tours_that_raise_now)])
    assert records == [] and [f.stage for f in failures] == ["extract:buggy"] and set(timings) == {"extract:fine", "extract:buggy"}


def _tours_that_raise_now(pages):
    raise KeyError("column")


# ---------------------------------------------------------------- a round misread on 30 rows

MISREAD_FROM_ROW = 15  # rows 15..44: what a scan did to the second and third matrix pages


@pytest.fixture
def misread_rounds(monkeypatch):
    """The matrix extractor as it behaved on a scan: 採択次 read as 0 on 30 rows."""
    from pipeline.model.records import Record

    all_extractors()
    original = REGISTRY["matrix"]

    def misread(pages):
        return [
            Record(r.dataset, {**r.values, "round": 0}, r.provenance, r.extra)
            if r.dataset == "consortia" and r.values["row"] >= MISREAD_FROM_ROW
            else r
            for r in original(pages)
        ]

    monkeypatch.setitem(REGISTRY, "matrix", Registered(original.name, original.version, original.datasets, misread))


def _assert_rounds_set_aside(consortia: pd.DataFrame, reviews: pd.DataFrame, doc_id: str) -> None:
    assert len(consortia) == 44  # no row lost
    assert consortia["round"].isna().sum() == 44 - MISREAD_FROM_ROW + 1
    assert consortia.loc[consortia["row"] < MISREAD_FROM_ROW, "round"].notna().all()
    assert len(reviews) == 30 and set(reviews["raw_value"]) == {"0"} and set(reviews["action"]) == {"nulled"}
    assert set(reviews["column"]) == {"round"} and reviews["failed_check"].str.contains("isin").all()
    assert sorted(reviews["record_key"]) == sorted(f"{doc_id}|{row}" for row in range(MISREAD_FROM_ROW, 45))


def test_a_misread_round_costs_only_that_value_in_nichiiki_extract_and_the_flow(prefect_harness, misread_rounds, tmp_path, monkeypatch):
    from flows.main import nichiiki_flow
    from flows.cli import main

    monkeypatch.setenv("NICHIIKI_SANDBOX", "false")  # the misreading reader is patched in this process

    out = tmp_path / "out"
    assert main(["extract", str(SENKOTEKI), "--out", str(out)]) == 0  # a set-aside value is not a failure
    _assert_rounds_set_aside(pd.read_parquet(out / "consortia.parquet"), pd.read_parquet(out / "value_reviews.parquet"), "mlit_r7_senkoteki")
    assert len(pd.read_parquet(out / "theme_marks.parquet")) == 199

    outputs = tmp_path / "outputs"
    result = nichiiki_flow(sources=str(_registry(tmp_path)), outputs=str(outputs), sandbox=False, cache_dir=None)
    release = current_release(outputs)
    assert result["published"] is True
    _assert_rounds_set_aside(pd.read_parquet(release / "consortia.parquet"), pd.read_parquet(release / "value_reviews.parquet"), "senkoteki")
    # The per-round statements are not contradicted by rows whose round is unknown.
    checks = {c["name"]: c for c in read_manifest(release)["checks"]}
    assert checks["consortia_in_round_2"]["ok"] and "30 row(s) whose round was not read" in checks["consortia_in_round_2"]["detail"]
