"""The main flow end to end under a Prefect test server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import SAMPLES
from frictionless_check import errors, frictionless_validate
from pipeline.publish.writer import current_release, read_manifest


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
    from pipeline.ingest.registry import RegistryError

    bad = tmp_path / "sources.yaml"
    bad.write_text("documents:\n  - {id: '../escape', publisher: X, title: Y, sample: a.pdf}\n")
    with pytest.raises(RegistryError, match="escape"):
        nichiiki_flow(sources=str(bad), outputs=str(tmp_path / "out"))


def test_a_run_where_every_document_fails_publishes_nothing(prefect_harness, tmp_path):
    """An empty release would replace the current one: the run fails instead and says why."""
    from flows.main import nichiiki_flow
    from pipeline.runs.steps import NothingExtracted

    outputs = tmp_path / "outputs"
    good = _registry(tmp_path)
    before = nichiiki_flow(sources=str(good), outputs=str(outputs))
    (tmp_path / "docs" / "senkoteki.pdf").write_bytes(b"<html>gone</html>")
    with pytest.raises(NothingExtracted, match=r"senkoteki.pdf: fetch failed: body is HTML"):
        nichiiki_flow(sources=str(good), outputs=str(outputs))
    assert current_release(outputs).name == before["run_id"]


def _two_documents(tmp_path: Path, keep_both: bool = True) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    if not (docs / "tsuchi.pdf").exists():
        shutil.copy(SAMPLES / "mic_tsuchi_71.pdf", docs / "tsuchi.pdf")
        shutil.copy(SAMPLES / "mlit_r7_senkoteki.pdf", docs / "senkoteki.pdf")
    registry = tmp_path / "sources.yaml"
    lines = ["documents:", "  - {id: tsuchi, publisher: MIC, title: 通知, issued: '2025-04-02', url: null, sample: docs/tsuchi.pdf}"]
    if keep_both:
        lines.append("  - {id: senkoteki, publisher: MLIT, title: 先導的プロジェクト, issued: '2026-03', url: null, sample: docs/senkoteki.pdf}")
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return registry


def _task_runs(name: str, state: str) -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=[name])))
    return sum(1 for r in runs if r.state and r.state.name == state)


def test_a_failed_document_keeps_its_last_published_rows_marked_stale(prefect_harness, tmp_path):
    from flows.main import nichiiki_flow, run_and_report
    from pipeline.ingest.settings import load_settings

    registry = _two_documents(tmp_path)
    outputs, cache = tmp_path / "outputs", tmp_path / "cache"
    first = nichiiki_flow(sources=str(registry), outputs=str(outputs), cache_dir=str(cache))
    before = {name: pd.read_parquet(Path(first["release"]) / f"{name}.parquet") for name in ("notices", "consortia", "documents")}
    assert before["documents"]["stale"].tolist() == [False, False]

    cached_before = _task_runs("extract-tsuchi", "Cached")
    (tmp_path / "docs" / "senkoteki.pdf").write_bytes(b"<html>moved</html>")
    settings = load_settings({"sources": registry, "outputs": outputs, "cache_dir": cache, "progress": False, "strict": True})
    assert run_and_report(settings) == 1  # published, but --strict: a document failed
    release = current_release(outputs)
    assert release.name != first["run_id"]
    documents = pd.read_parquet(release / "documents.parquet").set_index("doc_id")
    assert bool(documents.loc["senkoteki", "stale"]) and not bool(documents.loc["tsuchi", "stale"])
    assert "body is HTML" in documents.loc["senkoteki", "stale_reason"]
    assert documents.loc["senkoteki", "sha256"] == before["documents"].set_index("doc_id").loc["senkoteki", "sha256"]
    consortia = pd.read_parquet(release / "consortia.parquet")
    assert len(consortia) == 44 and set(consortia["run_id"]) == {release.name}
    assert consortia.drop(columns="run_id").equals(before["consortia"].drop(columns="run_id"))
    assert pd.read_parquet(release / "failures.parquet")["doc_id"].tolist() == ["senkoteki"]
    # the unchanged document came from the result cache, which Prefect shows as Cached
    assert _task_runs("extract-tsuchi", "Cached") == cached_before + 1

    settings = settings.model_copy(update={"strict": False})
    assert run_and_report(settings) == 0  # nothing changed since: nothing new, and no failure to report
    # The registry drops the document: its rows go with it.
    _two_documents(tmp_path, keep_both=False)
    assert run_and_report(settings) == 0
    release = current_release(outputs)
    assert pd.read_parquet(release / "documents.parquet")["doc_id"].tolist() == ["tsuchi"]
    assert pd.read_parquet(release / "consortia.parquet").empty


def test_release_and_failures_are_prefect_artifacts_and_parameters_are_described(prefect_harness, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.main import nichiiki_flow

    for name, spec in nichiiki_flow.parameters.properties.items():
        assert spec.get("description"), f"parameter {name} has no description for the UI"

    result = nichiiki_flow(sources=str(_registry(tmp_path)), outputs=str(tmp_path / "outputs"), cache_dir=str(tmp_path / "cache"))
    with get_client(sync_client=True) as client:
        latest = {
            a.key: a
            for a in client.read_latest_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["nichiiki-release", "nichiiki-release-failures"])))
        }
    assert result["run_id"] in latest["nichiiki-release"].data and "| consortia | 44 |" in latest["nichiiki-release"].data
    assert latest["nichiiki-release"].type == "markdown"
    failures = latest["nichiiki-release-failures"]
    assert failures.type == "table" and {"broken", "html_error", "missing"} <= {row["doc_id"] for row in json.loads(failures.data)}


def test_progress_shows_a_line_per_document_sharing_the_log_console(prefect_harness, tmp_path):
    """The display prints through Prefect's log console: log lines stay whole, each on its own line."""
    import io
    import re

    from rich.console import Console
    from rich.theme import Theme

    from flows.main import nichiiki_flow
    from flows.progress import prefect_console

    import logging

    console = prefect_console()
    handlers = [h for name in ("prefect", "") for h in logging.getLogger(name).handlers if getattr(h, "console", None) is console]
    assert handlers, "Prefect's console handler not found"
    screen = io.StringIO()
    # Like Prefect's console: a theme of its own, without rich's default styles.
    terminal = Console(file=screen, force_terminal=True, width=160, color_system=None, theme=Theme({"level": "bold"}, inherit=False))
    saved = handlers[0].console
    handlers[0].console = terminal
    try:
        registry = _two_documents(tmp_path, keep_both=False)
        nichiiki_flow(sources=str(registry), outputs=str(tmp_path / "outputs"), cache_dir=str(tmp_path / "cache"), progress=True)
    finally:
        handlers[0].console = saved
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue()).replace("\r", "\n")
    lines = [line for line in text.splitlines() if line.strip()]
    assert any(re.search(r"tsuchi: 7 page\(s\), \d+ row\(s\)", line) for line in lines), text
    assert any("extracting 1 document(s)" in line and "ETA" in line for line in lines), text
    for line in lines:
        if "| INFO" in line or "| WARNING" in line:
            assert re.match(r"^\d\d:\d\d:\d\d\.\d{3} \| ", line), f"log line glued to the display: {line!r}"


def test_rows_of_a_release_under_other_columns_are_not_kept(tmp_path):
    """After a schema change the old rows would fail validation and block the publish: none are kept."""
    from pipeline.runs.outcomes import Failure
    from pipeline.runs.steps import last_good_rows
    from pipeline.model.schema import DATASETS

    release = tmp_path / "outputs" / "releases" / "r1"
    release.mkdir(parents=True)
    (tmp_path / "outputs" / "current").symlink_to(Path("releases") / "r1")
    (release / "manifest.json").write_text("{}", encoding="utf-8")
    row = {c: None for c in DATASETS["documents"].columns} | {"doc_id": "a", "stale": False}
    failure = Failure("a", "a.pdf", None, "fetch", "FetchError", "a.pdf: fetch failed: HTTP 404")
    pd.DataFrame([row]).to_parquet(release / "documents.parquet")
    kept = last_good_rows([failure], tmp_path / "outputs")
    assert kept["documents"]["stale"].tolist() == [True] and "HTTP 404" in kept["documents"]["stale_reason"][0]
    pd.DataFrame([{k: v for k, v in row.items() if k != "producer"}]).to_parquet(release / "documents.parquet")
    assert last_good_rows([failure], tmp_path / "outputs") == {}


def test_documents_start_largest_first_and_results_keep_the_registry_order(prefect_harness, tmp_path, monkeypatch):
    """A long scan started last would run alone on one core at the end of the run."""
    import flows.main as main
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.task_runners import ThreadPoolTaskRunner

    from pipeline.ingest.registry import SourceEntry
    from pipeline.runs.outcomes import Obtained

    started: list[str] = []

    @task(cache_policy=NO_CACHE, persist_result=False)
    def extract_in_order(obtained, cache_dir, config, limits):
        started.append(obtained.entry.id)
        return obtained.entry.id

    monkeypatch.setattr(main, "extract_task", extract_in_order)
    obtained = []
    for doc_id, size in (("small", 10), ("large", 30), ("middle", 20)):
        path = tmp_path / f"{doc_id}.pdf"
        path.write_bytes(b"%" * size)
        obtained.append(Obtained(SourceEntry(doc_id, "MLIT", doc_id, None, None, path), path, "0" * 64, str(path), "2026-01-01T00:00:00Z"))

    @flow
    def one_at_a_time():  # as the run calls it: inside its flow
        return main.extract_documents(obtained, None, {}, task_runner=ThreadPoolTaskRunner(max_workers=1))

    assert one_at_a_time() == ["small", "large", "middle"]
    assert started == ["large", "middle", "small"]
