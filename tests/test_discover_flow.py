"""Discovery flow → accept → a --fetch run publishes the new document, against a mirror on 127.0.0.1."""

from __future__ import annotations

import pandas as pd

from conftest import SAMPLES
from flows.cli import main as cli
from pipeline.ingest.discovered import discovered_path, read_discovered
from pipeline.publish.writer import current_release, read_manifest
from pipeline.ingest.registry import load_registry
from tests.ministry_mirror import MinistryMirror

INDEX = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">
<title>二地域居住先導的プロジェクト実装事業 - 国土交通省</title></head><body>
<ul><li><a href="content/001876543.pdf">令和7年度 二地域居住先導的プロジェクト実装事業 採択一覧（PDF：388KB）</a></li>
<li><a href="content/001876543.pdf"><img src="/img/pdf.gif" alt=""></a></li>
<li><a href="content/gone.pdf">削除済み</a></li>
<li><a href="tk9_000058.html">募集</a></li></ul></body></html>"""


def test_discover_accept_then_fetch_publishes_with_the_url_and_keeps_it_when_the_link_goes(prefect_harness, tmp_path, capsys):
    from flows.discover import discover_and_run, discover_flow
    from flows.main import nichiiki_flow

    with MinistryMirror() as mirror:
        mirror.files["/robots.txt"] = (b"User-agent: *\nDisallow:\n", "text/plain")
        mirror.files["/kokudoseisaku/index.html"] = (INDEX.encode("cp932"), "text/html")
        mirror.files["/kokudoseisaku/content/001876543.pdf"] = ((SAMPLES / "mlit_r7_senkoteki.pdf").read_bytes(), "application/pdf")
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            f"""# nothing bundled: everything comes from the mirror
documents: []
indexes:
  - id: mlit_kobo
    publisher: MLIT
    url: "{mirror.url('/kokudoseisaku/index.html')}"
    pattern: '/content/[^/]+\\.pdf$'
""",
            encoding="utf-8",
        )
        outputs, cache = tmp_path / "outputs", tmp_path / "cache"
        url = mirror.url("/kokudoseisaku/content/001876543.pdf")

        found = discover_flow(sources=str(sources), cache_dir=str(cache), crawl_delay=0)
        assert found["proposed"] == ["mlit_kobo_001876543"]
        assert found["broken"] == [f"{mirror.url('/kokudoseisaku/content/gone.pdf')}: HTTP 404"]
        assert load_registry(sources) == []  # proposed, not yet in the registry

        assert cli(["sources", "accept", "mlit_kobo_001876543", "--sources", str(sources)]) == 0
        (entry,) = load_registry(sources)
        assert (entry.id, entry.url, entry.title) == ("mlit_kobo_001876543", url, "令和7年度 二地域居住先導的プロジェクト実装事業 採択一覧")

        first = nichiiki_flow(sources=str(sources), outputs=str(outputs), cache_dir=str(cache), fetch=True)
        assert first["published"] is True
        release = current_release(outputs)
        documents = pd.read_parquet(release / "documents.parquet").set_index("doc_id")
        assert documents.loc["mlit_kobo_001876543", "url"] == url
        assert documents.loc["mlit_kobo_001876543", "title"] == entry.title
        consortia = pd.read_parquet(release / "consortia.parquet")
        assert len(consortia) == 44 and set(consortia["doc_id"]) == {"mlit_kobo_001876543"}

        # The ministry takes the page's link and the PDF down.
        mirror.files["/kokudoseisaku/index.html"] = (INDEX.replace("content/001876543.pdf", "content/gone.pdf").encode("cp932"), "text/html")
        del mirror.files["/kokudoseisaku/content/001876543.pdf"]
        again = discover_flow(sources=str(sources), cache_dir=str(cache), crawl_delay=0)
        assert (again["proposed"], again["gone"]) == ([], [url])
        assert [e.id for e in load_registry(sources)] == ["mlit_kobo_001876543"]
        assert read_discovered(discovered_path(sources))[0].gone_since is not None

        second = nichiiki_flow(sources=str(sources), outputs=str(outputs), cache_dir=str(cache), fetch=True, force=True)
        assert second["published"] is True and second["failures"] == 0
        release = current_release(outputs)
        assert len(pd.read_parquet(release / "consortia.parquet")) == 44  # the published data stays
        (inp,) = read_manifest(release)["inputs"]
        assert inp["source"] == url and "HTTP 404" in inp["note"] and "last download" in inp["note"]
        assert pd.read_parquet(release / "documents.parquet")["url"].tolist() == [url]

        # The weekly deployment's flow with auto-accept: a new round's PDF is published in the same run.
        mirror.files["/kokudoseisaku/index.html"] = (
            INDEX.replace("content/gone.pdf", "content/001999999.pdf").replace("削除済み", "４次募集 結果").encode("cp932"), "text/html")
        mirror.files["/kokudoseisaku/content/001999999.pdf"] = (_small_pdf(), "application/pdf")
        weekly = discover_and_run(sources=str(sources), outputs=str(outputs), cache_dir=str(cache), accept=True)
    assert weekly["discovery"]["accepted"] == ["mlit_kobo_001999999"] and weekly["run"]["published"] is True
    release = current_release(outputs)
    documents = pd.read_parquet(release / "documents.parquet").set_index("doc_id")
    assert documents["url"].to_dict() == {"mlit_kobo_001876543": url, "mlit_kobo_001999999": mirror.url("/kokudoseisaku/content/001999999.pdf")}
    assert documents.loc["mlit_kobo_001999999", "title"] == "４次募集 結果"
    assert len(pd.read_parquet(release / "consortia.parquet")) == 44


def _small_pdf() -> bytes:
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Results of the fourth round")
    return doc.tobytes()
