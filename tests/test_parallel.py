"""Incremental and parallel runs: the per-document cache, and Dask giving the sequential result."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pymupdf
import pytest

from conftest import SAMPLES
from pipeline.runs.cache import ResultCache, cache_key
from pipeline.publish.writer import current_release, read_manifest
from pipeline.ingest.registry import SourceEntry
from pipeline.document.extract import sha256_file
from pipeline.runs.outcomes import Failure, Obtained
from pipeline.runs.steps import process_document
from pipeline.ingest.settings import load_settings


def _small_pdf(path: Path, text: str) -> Path:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 100), text, fontname="japan", fontsize=12)
    page.draw_rect(pymupdf.Rect(72, 200, 300, 260))
    doc.save(path)
    doc.close()
    return path


def _obtained(path: Path, doc_id: str = "note") -> Obtained:
    """A file as the obtain step hands it on (without its PDF checks: bad files must reach extraction)."""
    return Obtained(SourceEntry(doc_id, "MIC", "通知", None, None, path), path, sha256_file(path), str(path), "2026-01-01T00:00:00+00:00")


def _assert_same_extraction(a, b):
    assert a.doc_id == b.doc_id and a.sha256 == b.sha256 and a.info == b.info
    assert sorted(a.frames) == sorted(b.frames)
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name])


def test_cache_hit_returns_the_same_frames_without_extracting(tmp_path):
    cache = ResultCache(tmp_path / "cache")
    ob = _obtained(SAMPLES / "mlit_r7_ichiran_scan.pdf", "scan")
    first = process_document(ob, cache, {})
    assert "parse" in first.timings and len(cache.entries()) == 1
    second = process_document(ob, cache, {})
    assert set(second.timings) == {"cache:read"}
    _assert_same_extraction(first, second)


def test_changed_pdf_config_or_id_misses_the_cache(tmp_path):
    cache = ResultCache(tmp_path / "cache")
    pdf = _small_pdf(tmp_path / "a.pdf", "二地域居住の推進について")
    process_document(_obtained(pdf), cache, {})
    _small_pdf(pdf, "二地域居住の推進について（改訂）")
    changed = process_document(_obtained(pdf), cache, {})
    assert "parse" in changed.timings
    assert "parse" in process_document(_obtained(pdf), cache, {"ocr_lang": "jpn_vert"}).timings
    assert "parse" in process_document(_obtained(pdf, "other_id"), cache, {}).timings
    assert len(cache.entries()) == 4
    assert set(process_document(_obtained(pdf), cache, {}).timings) == {"cache:read"}
    ob = _obtained(pdf)
    assert cache_key(ob.sha256, "note", {}) != cache_key(ob.sha256, "note", {"x": 1})


def test_damaged_entry_is_recomputed_and_failures_are_not_cached(tmp_path):
    cache = ResultCache(tmp_path / "cache")
    pdf = _small_pdf(tmp_path / "a.pdf", "通知")
    process_document(_obtained(pdf), cache, {})
    (entry,) = cache.entries()
    entry.write_bytes(b"not a pickle")
    again = process_document(_obtained(pdf), cache, {})
    assert "parse" in again.timings and entry.read_bytes() != b"not a pickle"
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"<html>404</html>")
    assert isinstance(process_document(_obtained(bad, "bad"), cache, {}), Failure)
    assert len(cache.entries()) == 1


def _registry(folder: Path) -> Path:
    docs = folder / "docs"
    docs.mkdir(parents=True)
    for name in ("mlit_r7_senkoteki.pdf", "mlit_r7_ichiran_scan.pdf", "mic_tsuchi_71.pdf"):
        shutil.copy(SAMPLES / name, docs / name)
    (docs / "error.pdf").write_bytes(b"<html><body>404 Not Found</body></html>")
    registry = folder / "sources.yaml"
    registry.write_text(
        """documents:
  - {id: senkoteki, publisher: MLIT, title: 先導的プロジェクト, issued: "2026-03", url: null, sample: docs/mlit_r7_senkoteki.pdf}
  - {id: ichiran_scan, publisher: MLIT, title: 一覧表 (scan), issued: "2026-03", url: null, sample: docs/mlit_r7_ichiran_scan.pdf}
  - {id: tsuchi, publisher: MIC, title: 通知, issued: "2025-04-02", url: null, sample: docs/mic_tsuchi_71.pdf}
  - {id: html_error, publisher: MIC, title: エラーページ, issued: null, url: null, sample: docs/error.pdf}
""",
        encoding="utf-8",
    )
    return registry


# Columns that differ between any two runs by design.
_PER_RUN = {"run_id", "fetched_at", "failed_at"}


def _published(release: Path) -> dict[str, pd.DataFrame]:
    frames = {}
    for path in sorted(release.glob("*.parquet")):
        frame = pd.read_parquet(path)
        frames[path.stem] = frame.drop(columns=[c for c in _PER_RUN if c in frame.columns])
    return frames


def test_dask_run_publishes_what_the_sequential_run_publishes(prefect_harness, tmp_path):
    import dask
    from distributed import LocalCluster

    from flows.main import run

    registry = _registry(tmp_path)
    seq = run(load_settings({"sources": registry, "outputs": tmp_path / "seq", "cache_dir": tmp_path / "c1", "runner": "sequential", "progress": False}))
    # An existing cluster's workers must not be daemonic, or the sandbox cannot start a
    # child per document (the README says so; DASK_DISTRIBUTED__WORKER__DAEMON=False).
    with dask.config.set({"distributed.worker.daemon": False}), LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        par = run(
            load_settings(
                {"sources": registry, "outputs": tmp_path / "dask", "cache_dir": tmp_path / "c2", "dask_address": cluster.scheduler_address, "progress": False}
            )
        )
        assert len(cluster.workers) == 2
    assert seq["published"] and par["published"]
    a, b = _published(Path(seq["release"])), _published(Path(par["release"]))
    # 44 rows from the text PDF and the same 44 read from the scan
    assert sorted(a) == sorted(b) and len(a["consortia"]) == 88 and len(a["failures"]) == 1
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    # the Dask workers wrote the cache too (one entry per good document)
    assert len(ResultCache(tmp_path / "c2").entries()) == 3


def test_one_changed_pdf_re_extracts_only_itself(prefect_harness, tmp_path):
    from flows.main import run

    registry = _registry(tmp_path)
    settings = load_settings({"sources": registry, "outputs": tmp_path / "out", "cache_dir": tmp_path / "cache", "progress": False})
    first = run(settings)
    cache = ResultCache(tmp_path / "cache")
    before = {p: p.stat().st_mtime_ns for p in cache.entries()}
    assert len(before) == 3 and first["published"]

    assert run(settings)["published"] is False  # nothing changed: the fast path publishes nothing

    _small_pdf(tmp_path / "docs" / "mic_tsuchi_71.pdf", "地方自治体が実施する二地域居住施策（差し替え）")
    second = run(settings)
    assert second["published"]
    after = {p: p.stat().st_mtime_ns for p in cache.entries()}
    assert len(after) == 4 and all(after[p] == t for p, t in before.items())  # old entries untouched, one new
    timings = read_manifest(current_release(tmp_path / "out"))["timings"]
    assert "cache:read" in timings and "parse" in timings
    docs = pd.read_parquet(Path(second["release"]) / "documents.parquet").set_index("doc_id")
    assert docs.loc["tsuchi", "pages"] == 1 and docs.loc["senkoteki", "pages"] == 21


def test_extract_paths_on_two_processes_gives_the_one_process_result_in_input_order(tmp_path):
    """``nichiiki extract`` reads documents on every core; order and content must not depend on it."""
    from pipeline.runs.local import extract_paths

    pdfs = [
        SAMPLES / "mlit_r5_sankou5.pdf",
        tmp_path / "missing.pdf",  # a failure among the documents keeps its place
        _small_pdf(tmp_path / "small.pdf", "北海道釧路市の取組について"),
        SAMPLES / "mic_tsuchi_71.pdf",
    ]
    one, report_one = extract_paths(pdfs, workers=1)
    two, report_two = extract_paths(pdfs, workers=2)
    assert [ex.doc_id for ex in report_two.extractions] == [ex.doc_id for ex in report_one.extractions] == ["mlit_r5_sankou5", "small", "mic_tsuchi_71"]
    assert [f.doc_id for f in report_two.failures] == [f.doc_id for f in report_one.failures] == ["missing"]
    assert sorted(one) == sorted(two)
    for name in one:
        when = ["run_id", "fetched_at", "failed_at"]  # when each was read, not what was read
        left, right = (f.drop(columns=when, errors="ignore").reset_index(drop=True) for f in (one[name], two[name]))
        pd.testing.assert_frame_equal(left, right, check_dtype=False)


def test_sandboxed_documents_share_one_fork_server_and_give_the_one_process_result(tmp_path, monkeypatch):
    """Sandboxed, documents run in children of this process's one fork server (models loaded once):
    the pool only waits on them from threads of this process."""
    import os

    import pipeline.runs.local as local
    from pipeline.model.limits import DEFAULT_LIMITS

    pdfs = [_small_pdf(tmp_path / "a.pdf", "北海道釧路市の取組について"), _small_pdf(tmp_path / "b.pdf", "香川県高松市の取組")]
    one, _ = local.extract_paths(pdfs, DEFAULT_LIMITS, workers=1)
    callers: list[int] = []
    extract_one = local.extract_one

    def recorded(ob, limits=None, ocr_cache_dir=None):
        callers.append(os.getpid())
        return extract_one(ob, limits, ocr_cache_dir)

    monkeypatch.setattr(local, "extract_one", recorded)
    two, report = local.extract_paths(pdfs, DEFAULT_LIMITS, workers=2)
    assert callers == [os.getpid(), os.getpid()]  # a process pool's workers would have called it elsewhere
    assert [ex.doc_id for ex in report.extractions] == ["a", "b"] and not report.failures
    for name in one:
        when = ["run_id", "fetched_at", "failed_at"]
        left, right = (f.drop(columns=when, errors="ignore").reset_index(drop=True) for f in (one[name], two[name]))
        pd.testing.assert_frame_equal(left, right, check_dtype=False)
