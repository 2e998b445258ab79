"""The main flow fetching over HTTP from a real server on 127.0.0.1 (no network needed)."""

from __future__ import annotations

import pandas as pd

from conftest import SAMPLES
from pipeline.publish.writer import current_release, read_manifest
from tests.httpfaults import FaultServer


def test_flow_fetches_urls_checks_bodies_and_reuses_unchanged_downloads(prefect_harness, tmp_path):
    from flows.main import nichiiki_flow

    with FaultServer((SAMPLES / "mlit_r7_senkoteki.pdf").read_bytes()) as server:
        registry = tmp_path / "sources.yaml"
        registry.write_text(
            f"""documents:
  - {{id: senkoteki, publisher: MLIT, title: 先導的プロジェクト, issued: "2026-03", url: "{server.url('flaky.pdf')}", sample: null}}
  - {{id: error_page, publisher: MIC, title: エラーページ, issued: null, url: "{server.url('html.pdf')}", sample: null}}
""",
            encoding="utf-8",
        )
        outputs, cache = tmp_path / "outputs", tmp_path / "cache"
        first = nichiiki_flow(sources=str(registry), outputs=str(outputs), cache_dir=str(cache), fetch=True)
        assert first["published"] is True
        assert server.hits["/flaky.pdf"] == 3  # two HTTP 500s, then the PDF

        release = current_release(outputs)
        documents = pd.read_parquet(release / "documents.parquet").set_index("doc_id")
        assert documents.loc["senkoteki", "url"] == server.url("flaky.pdf")
        assert len(pd.read_parquet(release / "consortia.parquet")) == 44
        failures = pd.read_parquet(release / "failures.parquet").set_index("doc_id")
        assert failures.loc["error_page", "stage"] == "fetch"
        assert "body is HTML, not a PDF" in failures.loc["error_page", "message"]
        manifest = read_manifest(release)
        assert {i["doc_id"]: i["source"] for i in manifest["inputs"]} == {"senkoteki": server.url("flaky.pdf")}
        assert list((cache / "fetch" / "pdfs").glob("*.pdf")), "downloads are stored by sha256"

        # Downloaded again (this route sends no validators): the same bytes, so nothing new to publish.
        again = nichiiki_flow(sources=str(registry), outputs=str(outputs), cache_dir=str(cache), fetch=True)
        assert again["published"] is False and current_release(outputs) == release
