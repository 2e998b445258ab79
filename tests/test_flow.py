"""The main flow end to end under a Prefect test server."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import SAMPLES
from frictionless_check import errors, frictionless_validate
from pipeline.publish import current_release, read_manifest


def _registry(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    shutil.copy(SAMPLES / "mlit_r7_senkoteki.pdf", tmp_path / "docs" / "senkoteki.pdf")
    # Whole (ends in %%EOF, so the fetch check passes) but without a page tree: fails parsing.
    (tmp_path / "docs" / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    (tmp_path / "docs" / "error.pdf").write_bytes(b"<html><body>404 Not Found</body></html>")
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        """documents:
  - {id: senkoteki, publisher: MLIT, title: 先導的プロジェクト, issued: "2026-03", url: null, sample: docs/senkoteki.pdf}
  - {id: broken, publisher: MLIT, title: 壊れたPDF, issued: null, url: null, sample: docs/broken.pdf}
  - {id: html_error, publisher: MIC, title: エラーページ, issued: null, url: null, sample: docs/error.pdf}
  - {id: missing, publisher: MIC, title: 無いファイル, issued: null, url: null, sample: docs/missing.pdf}
""",
        encoding="utf-8",
    )
    return registry


def test_flow_publishes_good_documents_and_records_bad_ones(prefect_harness, tmp_path):
    from flows.main import nichiiki_flow

    registry = _registry(tmp_path)
    outputs = tmp_path / "outputs"
    result = nichiiki_flow(sources=str(registry), outputs=str(outputs))
    assert result["published"] is True
    release = current_release(outputs)
    consortia = pd.read_parquet(release / "consortia.parquet")
    assert len(consortia) == 44
    for column in ("source_sha256", "page", "bbox", "extractor", "extractor_version", "run_id"):
        assert consortia[column].notna().all(), column
    failures = pd.read_parquet(release / "failures.parquet").set_index("doc_id")
    assert set(failures.index) == {"broken", "html_error", "missing"}
    assert "not a PDF" in failures.loc["html_error", "message"] and "error.pdf" in failures.loc["html_error", "message"]
    assert "missing.pdf" in failures.loc["missing", "message"] and failures.loc["missing", "stage"] == "fetch"
    assert failures.loc["broken", "stage"] == "parse"
    documents = pd.read_parquet(release / "documents.parquet")
    assert documents.set_index("doc_id").loc["senkoteki", "pages"] == 21
    manifest = read_manifest(release)
    assert manifest["outputs"]["theme_marks"]["rows"] == 199
    assert {f["doc_id"] for f in manifest["failures"]} == {"broken", "html_error", "missing"}
    blocking = [c for c in manifest["checks"] if c["blocking"]]
    assert all(c["ok"] for c in blocking) and len(blocking) == 4
    # Tour cross-checks are recorded with both values, failed or not, and never block.
    tour_total = next(c for c in manifest["checks"] if c["name"] == "tour_participants_total")
    assert (tour_total["expected"], tour_total["actual"], tour_total["ok"]) == (360, 170, False)
    assert "extract" in manifest["timings"]
    # researchers read the release with DuckDB as the README shows
    count = duckdb.sql(f"select count(*) from '{release}/theme_marks.parquet' where mark = '●'").fetchall()[0][0]
    assert count == (pd.read_parquet(release / "theme_marks.parquet")["mark"] == "●").sum()

    # A valid Frictionless data package, data included; the manifest holds no path of this machine.
    report = frictionless_validate(release)
    assert report["valid"] and report["exit_code"] == 0, errors(report)[:20]
    assert len(report["tasks"]) == len(manifest["outputs"])
    assert str(tmp_path) not in (release / "manifest.json").read_text(encoding="utf-8")
    # Every input is kept by content, so a later diff can crop it after the file changed.
    item = next(i for i in manifest["inputs"] if i["doc_id"] == "senkoteki")
    assert item["path"] == "docs/senkoteki.pdf" and item["stored"].endswith(f"pdfs/{item['sha256']}.pdf")
    # Which consortia in 北海道 have a mark in 域内交通 (the report prints ○ there; docs/datasets.md): one plain join.
    hokkaido = duckdb.sql(
        f"select c.consortium_name from '{release}/consortia.parquet' c join '{release}/theme_marks.parquet' m "
        "using (consortium_id) where c.prefecture = '北海道' and m.theme = '域内交通' and m.mark = '○' order by c.row"
    ).fetchall()
    marks = pd.read_parquet(release / "theme_marks.parquet")
    expected = consortia[consortia["prefecture"] == "北海道"].merge(
        marks[(marks["theme"] == "域内交通") & (marks["mark"] == "○")], on="consortium_id"
    )
    assert [name for (name,) in hokkaido] == list(expected.sort_values("row_x")["consortium_name"]) and hokkaido

    again = nichiiki_flow(sources=str(registry), outputs=str(outputs))
    assert again["published"] is False and again["run_id"] == release.name
    assert current_release(outputs) == release


def test_flow_refuses_a_malformed_registry(prefect_harness, tmp_path):
    from flows.main import nichiiki_flow
    from pipeline.registry import RegistryError

    bad = tmp_path / "sources.yaml"
    bad.write_text("documents:\n  - {id: '../escape', publisher: X, title: Y, sample: a.pdf}\n")
    with pytest.raises(RegistryError, match="escape"):
        nichiiki_flow(sources=str(bad), outputs=str(tmp_path / "out"))


def test_a_run_where_every_document_fails_publishes_nothing(prefect_harness, tmp_path):
    """An empty release would replace the current one: the run fails instead and says why."""
    from flows.main import nichiiki_flow
    from pipeline.run import NothingExtracted

    outputs = tmp_path / "outputs"
    good = _registry(tmp_path)
    before = nichiiki_flow(sources=str(good), outputs=str(outputs))
    (tmp_path / "docs" / "senkoteki.pdf").write_bytes(b"<html>gone</html>")
    with pytest.raises(NothingExtracted, match=r"senkoteki.pdf: fetch failed: body is HTML"):
        nichiiki_flow(sources=str(good), outputs=str(outputs))
    assert current_release(outputs).name == before["run_id"]
