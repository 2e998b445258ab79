"""Discovery against a ministry mirror on 127.0.0.1: proposals, gone links, accept, politeness."""

from __future__ import annotations

import pytest
import yaml

from pipeline.ingest.crawl import CrawlError, CrawlSettings, PoliteClient, decode_html, host_key
from pipeline.ingest.discover import pdf_links, run_discovery
from pipeline.ingest.discovered import accept, append_documents, discovered_path, new_id, read_discovered
from pipeline.ingest.registry import RegistryError, load_indexes, load_registry
from tests.ministry_mirror import MinistryMirror

PDF = b"%PDF-1.4\n" + b"0" * 4000 + b"\n%%EOF\n"
NO_DELAY = CrawlSettings(delay=0.0, timeout=5.0)

INDEX_2CHIIKI = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html lang="ja"><head>
<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">
<title>二地域居住の推進 - 国土交通省</title></head>
<body><div id="contents">
<h2>資料</h2>
<ul>
<li><a href="content/001900001.pdf">令和7年度 二地域居住先導的プロジェクト実装事業（PDF：512KB）</a></li>
<li><a href="./content/001900001.pdf"><img src="/common/img/icon_pdf.gif" alt="PDFファイル"></a></li>
<li><a href="../kokudoseisaku/content/001900002.pdf#page=2">二地域居住の促進に向けた国土交通省の取組（概要）［PDF形式：1.2MB］</a></li>
<li><a href="content/001900003.xlsx">一覧表（Excel：30KB）</a></li>
<li><a href="kobo.html">募集について</a></li>
<li><a href="content/001900404.pdf">削除された資料（PDF）</a></li>
<li><a href="http://other.example/elsewhere.pdf">他のサイトの資料</a></li>
<li><a href="mailto:hqt-nichiiki@example.jp">お問い合わせ</a> <a href="javascript:void(0)">印刷</a> <a href="#top">ページの先頭へ</a></li>
{extra}
</ul></div></body></html>
"""

INDEX_KOBO = """<html><head><title>二地域居住先導的プロジェクト 募集</title></head><body>
<p>３次募集の結果を公表しました。</p>
<table><tr><td><a href="content/001900005.pdf">３次募集 採択結果</a></td></tr>
<tr><td><a href="/kokudoseisaku/content/001900002.pdf">取組（概要）</a></td></tr></table>
</body></html>
"""


def _registry(tmp_path, mirror: MinistryMirror, documents: str | None = None) -> "Path":  # noqa: F821
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"""# registry for the mirror
documents:
{documents or '''  - id: bundled
    publisher: MLIT
    title: 同梱の資料
    issued: null
    url: null
    sample: bundled.pdf'''}

# Index pages discovery reads.
indexes:
  - id: mlit_2chiiki
    publisher: MLIT
    url: "{mirror.url('/2chiiki/index.html')}"
    pattern: '\\.pdf$'
  - id: mlit_kobo
    publisher: MLIT
    url: "{mirror.url('/kokudoseisaku/kokudoseisaku_tk9_000058.html')}"
    pattern: '/content/\\d+\\.pdf$'
""",
        encoding="utf-8",
    )
    (tmp_path / "bundled.pdf").write_bytes(PDF)
    return path


def _serve_site(mirror: MinistryMirror, extra: str = "") -> None:
    mirror.files["/robots.txt"] = (b"User-agent: *\nDisallow: /private/\n", "text/plain")
    mirror.files["/2chiiki/index.html"] = (INDEX_2CHIIKI.format(extra=extra).encode("cp932"), "text/html")
    mirror.files["/kokudoseisaku/kokudoseisaku_tk9_000058.html"] = (INDEX_KOBO.encode("euc_jp"), "text/html; charset=EUC-JP")
    for path in ("/2chiiki/content/001900001.pdf", "/kokudoseisaku/content/001900002.pdf", "/kokudoseisaku/content/001900005.pdf"):
        mirror.files[path] = (PDF, "application/pdf")
    mirror.files["/2chiiki/content/001900003.xlsx"] = (b"PK\x03\x04", "application/vnd.ms-excel")


def _client(mirror: MinistryMirror, **kw) -> PoliteClient:
    return PoliteClient(kw.pop("settings", NO_DELAY), {host_key(mirror.base)}, **kw)


# --------------------------------------------------------------------------- the mirror, crawled three times


def test_discovery_proposes_new_pdfs_once_reports_gone_and_broken_links(tmp_path):
    with MinistryMirror() as mirror:
        _serve_site(mirror)
        sources = _registry(tmp_path, mirror)
        cache = tmp_path / "cache"

        first = run_discovery(sources, cache, _client(mirror), today="2026-12-01")
        proposed = {d.url: d for d in first.proposed}
        assert sorted(proposed) == sorted(
            mirror.url(p) for p in ("/2chiiki/content/001900001.pdf", "/kokudoseisaku/content/001900002.pdf", "/kokudoseisaku/content/001900005.pdf")
        )
        one = proposed[mirror.url("/2chiiki/content/001900001.pdf")]
        # Shift_JIS decoded, the size note dropped, the icon link's alt text not preferred over the text link.
        assert one.title == "令和7年度 二地域居住先導的プロジェクト実装事業"
        assert (one.id, one.publisher, one.found_on, one.first_seen) == (
            "mlit_2chiiki_001900001", "MLIT", mirror.url("/2chiiki/index.html"), "2026-12-01")
        assert proposed[mirror.url("/kokudoseisaku/content/001900005.pdf")].title == "３次募集 採択結果"  # EUC-JP from the header
        assert proposed[mirror.url("/kokudoseisaku/content/001900002.pdf")].title == "二地域居住の促進に向けた国土交通省の取組（概要）"
        assert first.broken == [(mirror.url("/2chiiki/content/001900404.pdf"), "HTTP 404")]
        assert [u for u, _ in first.skipped] == ["http://other.example/elsewhere.pdf"]
        assert "/2chiiki/content/001900003.xlsx" not in mirror.paths_requested()  # not a PDF: never requested
        assert all(h.get("user-agent", "").startswith("nichiiki/") for _, h in mirror.requests)
        ledger = read_discovered(discovered_path(sources))
        assert {d.status for d in ledger} == {"proposed"} and len(ledger) == 3

        # Second crawl: one new PDF, one link removed from its page.
        _serve_site(mirror, extra='<li><a href="content/001900006.pdf">４次募集 採択結果</a></li>')
        mirror.files["/2chiiki/content/001900006.pdf"] = (PDF, "application/pdf")
        mirror.files["/2chiiki/index.html"] = (
            mirror.files["/2chiiki/index.html"][0].replace('href="content/001900001.pdf"'.encode(), b'href="content/001900404.pdf"'), "text/html")
        mirror.files["/2chiiki/index.html"] = (
            mirror.files["/2chiiki/index.html"][0].replace('href="./content/001900001.pdf"'.encode(), b'href="kobo.html"'), "text/html")
        second = run_discovery(sources, cache, _client(mirror), today="2026-12-08")
        assert [d.url for d in second.proposed] == [mirror.url("/2chiiki/content/001900006.pdf")]
        assert second.proposed[0].title == "４次募集 採択結果"
        assert [d.url for d in second.gone] == [mirror.url("/2chiiki/content/001900001.pdf")]
        ledger = {d.id: d for d in read_discovered(discovered_path(sources))}
        assert ledger["mlit_2chiiki_001900001"].gone_since == "2026-12-08"
        assert ledger["mlit_2chiiki_001900001"].first_seen == "2026-12-01"  # kept, never dropped

        # Third crawl, nothing changed: conditional GETs answer 304, nothing proposed or reported again.
        before = len(mirror.requests)
        third = run_discovery(sources, cache, _client(mirror), today="2026-12-15")
        assert (third.proposed, third.gone) == ([], [])
        index_requests = [(p, h) for p, h in mirror.requests[before:] if p.endswith(".html")]
        assert len(index_requests) == 2 and all("if-none-match" in h for _, h in index_requests)
        assert [u for u, _ in third.broken] == [mirror.url("/2chiiki/content/001900404.pdf")]  # tried again, still broken


def test_accept_adds_the_entry_to_the_registry_keeping_its_text(tmp_path):
    with MinistryMirror() as mirror:
        _serve_site(mirror)
        sources = _registry(tmp_path, mirror)
        run_discovery(sources, tmp_path / "cache", _client(mirror), today="2026-12-01")
    before = sources.read_text(encoding="utf-8")
    assert accept(sources, ["mlit_2chiiki_001900001"]) == ["mlit_2chiiki_001900001"]
    after = sources.read_text(encoding="utf-8")
    assert after.startswith(before.split("\n# Index pages")[0])  # comments and existing entries untouched
    assert "# Index pages discovery reads." in after and len(load_indexes(sources)) == 2
    entries = {e.id: e for e in load_registry(sources)}
    added = entries["mlit_2chiiki_001900001"]
    assert (added.url, added.title, added.publisher, added.sample) == (
        mirror.url("/2chiiki/content/001900001.pdf"), "令和7年度 二地域居住先導的プロジェクト実装事業", "MLIT", None)
    ledger = {d.id: d.status for d in read_discovered(discovered_path(sources))}
    assert ledger["mlit_2chiiki_001900001"] == "accepted"
    with pytest.raises(RegistryError, match="accepted, not proposed"):
        accept(sources, ["mlit_2chiiki_001900001"])
    with pytest.raises(RegistryError, match="no discovered document 'nope'"):
        accept(sources, ["nope"])
    assert accept(sources, None) == ["mlit_2chiiki_001900002", "mlit_kobo_001900005"]
    assert len(load_registry(sources)) == 4


def test_auto_accept_puts_new_documents_into_the_next_run(tmp_path):
    with MinistryMirror() as mirror:
        _serve_site(mirror)
        sources = _registry(tmp_path, mirror)
        report = run_discovery(sources, tmp_path / "cache", _client(mirror), accept_new=True, today="2026-12-01")
    assert sorted(report.accepted) == sorted(d.id for d in report.proposed) and len(report.accepted) == 3
    assert {e.url for e in load_registry(sources) if e.url} == {d.url for d in report.proposed}


def test_a_registered_url_is_not_proposed_but_its_disappearance_is_reported(tmp_path):
    with MinistryMirror() as mirror:
        _serve_site(mirror)
        url = mirror.url("/kokudoseisaku/content/001900005.pdf")
        sources = _registry(tmp_path, mirror, f'  - {{id: kobo3, publisher: MLIT, title: 採択結果, issued: null, url: "{url}", sample: null}}')
        first = run_discovery(sources, tmp_path / "cache", _client(mirror), today="2026-12-01")
        assert url not in {d.url for d in first.proposed}
        mirror.files["/kokudoseisaku/kokudoseisaku_tk9_000058.html"] = (b"<html><body>\xa4\xb3\xa4\xec</body></html>", "text/html; charset=EUC-JP")
        second = run_discovery(sources, tmp_path / "cache", _client(mirror), today="2026-12-08")
    assert [(d.id, d.status) for d in second.gone] == [("kobo3", "registered")]
    assert "kobo3" in {e.id for e in load_registry(sources)}


# --------------------------------------------------------------------------- politeness and safety


def test_requests_to_one_host_are_spaced_by_the_delay_on_a_fake_clock(tmp_path):
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    with MinistryMirror() as mirror:
        _serve_site(mirror)
        client = _client(mirror, settings=CrawlSettings(delay=3.0, timeout=5.0), clock=lambda: now[0], sleep=sleep)
        client.get(mirror.url("/2chiiki/index.html"))  # robots.txt first, then the page
        now[0] += 1.0  # time spent elsewhere counts towards the pause
        client.get(mirror.url("/kokudoseisaku/kokudoseisaku_tk9_000058.html"))
    assert client.requests == [mirror.url("/robots.txt"), mirror.url("/2chiiki/index.html"), mirror.url("/kokudoseisaku/kokudoseisaku_tk9_000058.html")]
    assert sleeps == [3.0, 2.0]


def test_robots_txt_disallow_and_crawl_delay_are_obeyed():
    with MinistryMirror() as mirror:
        _serve_site(mirror)
        mirror.files["/robots.txt"] = (b"User-agent: nichiiki\nDisallow: /2chiiki/\nCrawl-delay: 7\n", "text/plain")
        sleeps: list[float] = []
        client = _client(mirror, clock=lambda: 0.0, sleep=sleeps.append)
        with pytest.raises(CrawlError, match="robots.txt"):
            client.get(mirror.url("/2chiiki/index.html"))
        assert client.delay_for(host_key(mirror.base)) == 7.0
        assert "/2chiiki/index.html" not in mirror.paths_requested()
        assert client.get(mirror.url("/kokudoseisaku/kokudoseisaku_tk9_000058.html")).status == 200
    assert sleeps == [7.0]  # the Crawl-delay, longer than the setting (0), paced the page after robots.txt


def test_only_http_and_configured_hosts_at_every_redirect_hop():
    with MinistryMirror() as mirror:
        _serve_site(mirror)
        client = _client(mirror)
        for url, reason in [("file:///etc/passwd", "scheme"), ("ftp://127.0.0.1/x.pdf", "scheme"), ("http://other.example/a.html", "not one of the configured hosts")]:
            with pytest.raises(CrawlError, match=reason):
                client.get(url)
        mirror.redirects["/moved.html"] = "http://other.example/index.html"
        with pytest.raises(CrawlError, match="not one of the configured hosts"):
            client.get(mirror.url("/moved.html"))
        mirror.redirects["/renamed.html"] = "/2chiiki/index.html"
        assert client.get(mirror.url("/renamed.html")).url == mirror.url("/2chiiki/index.html")
    assert not any(p.startswith("http") for p in mirror.paths_requested())


# --------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("body", "content_type", "encoding"),
    [
        ('<meta charset="shift_jis"><p>二地域居住の推進について①</p>'.encode("cp932"), "text/html", "cp932"),
        ('<meta http-equiv="Content-Type" content="text/html; charset=EUC-JP"><p>二地域居住の推進について</p>'.encode("euc_jp"), None, "euc_jp"),
        ("<p>二地域居住の推進について</p>".encode("euc_jp"), "text/html; charset=euc-jp", "euc_jp"),
        # The header wins over a stale <meta>, as in browsers.
        ('<meta charset="utf-8"><p>二地域居住の推進について</p>'.encode("cp932"), "text/html; charset=Shift_JIS", "cp932"),
    ],
)
def test_declared_encodings_decode_japanese_pages(body, content_type, encoding):
    text, used = decode_html(body, content_type)
    assert used == encoding and "二地域居住の推進について" in text


def test_xhtml_with_an_xml_declaration_is_decoded_and_its_links_found():
    page = """<?xml version="1.0" encoding="Shift_JIS"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="ja"><head><title>報道発表資料</title></head>
<body><p><a href="content/001.pdf"><img src="/i/pdf.gif" alt="PDF" /></a><a href="content/001.pdf">報道発表資料（PDF形式）</a></p></body></html>"""
    text, used = decode_html(page.encode("cp932"), "text/html")
    assert used == "cp932" and "報道発表資料" in text
    assert [(l.url, l.title) for l in pdf_links(text, "https://www.mlit.go.jp/report/press/x.html")] == [
        ("https://www.mlit.go.jp/report/press/content/001.pdf", "報道発表資料")]  # the text link beats the icon before it


def test_undeclared_shift_jis_and_euc_jp_are_detected():
    sentence = "二地域居住の推進に向けて、地方公共団体が実施する施策を支援します。募集の結果を公表しました。" * 3
    for codec in ("cp932", "euc_jp"):
        text, _ = decode_html(f"<html><body><p>{sentence}</p></body></html>".encode(codec))
        assert sentence in text


def test_pdf_links_are_resolved_deduplicated_and_filtered():
    html = """<html><head><base href="https://www.mlit.go.jp/2chiiki/"></head><body>
    <a href="content/a.PDF">資料A</a> <a href="content/a.PDF">  </a>
    <a href="/x/b.pdf?ver=2"><img alt="資料B"></a> <area href="c.pdf" alt="図">
    <a href="d.pdf.html">HTML</a> <a href="%E6%A6%82%E8%A6%81.pdf"></a> <a href=" content/e.pdf ">資料E
      （PDF：1MB）</a></body></html>"""
    links = pdf_links(html, "https://www.mlit.go.jp/somewhere/else.html")
    assert [(l.url, l.title) for l in links] == [
        ("https://www.mlit.go.jp/2chiiki/content/a.PDF", "資料A"),
        ("https://www.mlit.go.jp/x/b.pdf?ver=2", "資料B"),
        ("https://www.mlit.go.jp/2chiiki/c.pdf", "図"),
        ("https://www.mlit.go.jp/2chiiki/%E6%A6%82%E8%A6%81.pdf", "概要.pdf"),  # no text at all: the file name
        ("https://www.mlit.go.jp/2chiiki/content/e.pdf", "資料E"),
    ]
    assert [l.url for l in pdf_links(html, "https://www.mlit.go.jp/", r"/content/")] == [
        "https://www.mlit.go.jp/2chiiki/content/a.PDF", "https://www.mlit.go.jp/2chiiki/content/e.pdf"]


def test_ids_are_stable_and_unique():
    taken = {"mlit_2chiiki_001900001"}
    assert new_id("mlit_2chiiki", "https://x/content/001900001.pdf", taken) == "mlit_2chiiki_001900001_2"
    japanese = new_id("mic", "https://x/%E6%A6%82%E8%A6%81.pdf", set())
    assert japanese.startswith("mic_") and japanese == new_id("mic", "https://x/%E6%A6%82%E8%A6%81.pdf", set())


def test_append_keeps_flow_style_entries_and_trailing_sections():
    text = "documents:\n  - {id: a, publisher: P, title: T, url: null, sample: a.pdf}\n# after\nindexes: []\n"
    from pipeline.ingest.discovered import Discovered

    out = append_documents(text, [Discovered("b", "https://h/b.pdf", 'say "hi"', "P", "https://h/", "2026-01-01")])
    data = yaml.safe_load(out)
    assert [d["id"] for d in data["documents"]] == ["a", "b"] and data["documents"][1]["title"] == 'say "hi"'
    assert out.endswith("# after\nindexes: []\n")


def test_indexes_section_is_checked(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("documents: []\nindexes:\n  - {id: x, publisher: MLIT, url: 'ftp://a/', pattern: 'a'}\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="http"):
        load_indexes(path)
    path.write_text("documents: []\nindexes:\n  - {id: x, publisher: MLIT, url: 'https://a/', pattern: '('}\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="regular expression"):
        load_indexes(path)


def test_the_shipped_registry_names_the_ministry_index_pages():
    from pathlib import Path

    indexes = {i.url: i for i in load_indexes(Path(__file__).resolve().parent.parent / "sources.yaml")}
    assert set(indexes) >= {"https://www.mlit.go.jp/2chiiki/index.html", "https://www.mlit.go.jp/kokudoseisaku/kokudoseisaku_tk9_000058.html"}
    assert all(i.pattern for i in indexes.values())


def test_a_discovered_document_without_sample_falls_back_to_its_last_download(tmp_path):
    from pipeline.model.errors import FetchError
    from pipeline.ingest.fetch import FetchSettings, fetch
    from pipeline.ingest.registry import SourceEntry

    settings = FetchSettings(attempts=1, timeout=5.0)
    with MinistryMirror() as mirror:
        mirror.files["/content/a.pdf"] = (PDF, "application/pdf")
        entry = SourceEntry("a", "MLIT", "資料", None, mirror.url("/content/a.pdf"), None)
        first = fetch(entry, tmp_path / "fetch", settings, use_network=True)
        assert first.fallback_reason is None and first.source == entry.url
        del mirror.files["/content/a.pdf"]
        gone = fetch(entry, tmp_path / "fetch", settings, use_network=True)
    assert (gone.sha256, gone.source) == (first.sha256, entry.url)
    assert "HTTP 404" in gone.fallback_reason and "last download" in gone.fallback_reason
    offline = fetch(entry, tmp_path / "fetch", settings, use_network=False)
    assert offline.sha256 == first.sha256 and "network use is off" in offline.fallback_reason
    with pytest.raises(FetchError, match="no bundled sample"):
        fetch(entry, tmp_path / "elsewhere", settings, use_network=False)


def test_cli_discover_list_and_accept(tmp_path, capsys):
    from flows.cli import main

    with MinistryMirror() as mirror:
        _serve_site(mirror)
        sources = _registry(tmp_path, mirror)
        assert main(["discover", "--sources", str(sources), "--cache-dir", str(tmp_path / "cache"), "--delay", "0"]) == 0
    out = capsys.readouterr().out
    assert out.count("NEW ") == 3 and "BROKEN  " in out and "3 new, 0 gone, 1 broken" in out
    assert main(["sources", "list", "--sources", str(sources)]) == 0
    assert capsys.readouterr().out.count("\n") == 3
    assert main(["sources", "accept", "--sources", str(sources)]) == 2  # neither ids nor --all
    assert main(["sources", "accept", "--all", "--sources", str(sources)]) == 0
    assert len([e for e in load_registry(sources) if e.url]) == 3
    assert main(["sources", "accept", "missing_id", "--sources", str(sources)]) == 1


def test_the_weekly_discovery_deployment_runs_discovery_then_a_fetching_run():
    from pathlib import Path

    from prefect.flows import load_flow_from_entrypoint

    repo = Path(__file__).resolve().parent.parent
    config = yaml.safe_load((repo / "prefect.yaml").read_text(encoding="utf-8"))
    (deployment,) = [d for d in config["deployments"] if d["name"] == "weekly-discovery"]
    flow = load_flow_from_entrypoint(str(repo / deployment["entrypoint"].split(":")[0]) + ":" + deployment["entrypoint"].split(":")[1])
    assert flow.name == "nichiiki-discover-and-run"
    assert set(deployment["parameters"]) <= set(flow.parameters.properties)
    assert deployment["schedules"][0]["timezone"] == "Asia/Tokyo"


def test_configured_hosts_allow_http_and_https_of_the_index_host_only():
    from pipeline.ingest.discover import allowed_hosts
    from pipeline.ingest.registry import IndexPage

    hosts = allowed_hosts([IndexPage("a", "MLIT", "https://www.mlit.go.jp/2chiiki/index.html", "pdf", ("www.soumu.go.jp",)),
                           IndexPage("b", "X", "http://127.0.0.1:8123/i.html", "pdf")])
    assert hosts == {"www.mlit.go.jp", "www.soumu.go.jp", "127.0.0.1:8123"}
    client = PoliteClient(NO_DELAY, hosts)
    for ok in ("http://www.mlit.go.jp/a.pdf", "https://www.mlit.go.jp/a.pdf", "https://WWW.SOUMU.GO.JP/b.pdf", "http://127.0.0.1:8123/c.pdf"):
        client.check(ok)
    for bad in ("https://mlit.go.jp.evil.example/a.pdf", "http://127.0.0.1:8124/c.pdf", "https://www.mlit.go.jp@evil.example/a.pdf"):
        with pytest.raises(CrawlError, match="configured hosts"):
            client.check(bad)


def test_robots_txt_redirected_on_the_same_host_is_followed():
    with MinistryMirror() as mirror:
        _serve_site(mirror)
        mirror.redirects["/robots.txt"] = "/common/robots.txt"
        mirror.files["/common/robots.txt"] = (b"User-agent: *\nDisallow: /kokudoseisaku/\n", "text/plain")
        client = _client(mirror)
        assert client.allowed_by_robots(mirror.url("/2chiiki/index.html"))
        assert not client.allowed_by_robots(mirror.url("/kokudoseisaku/content/001900002.pdf"))
        mirror.redirects["/robots.txt"] = "http://other.example/robots.txt"
        elsewhere = _client(mirror)
        assert elsewhere.allowed_by_robots(mirror.url("/kokudoseisaku/content/001900002.pdf"))  # no rules reachable: none apply
    assert "http://other.example/robots.txt" not in elsewhere.requests


def test_an_unreadable_page_judges_no_link_gone_and_failing_robots_stops_the_host(tmp_path):
    with MinistryMirror() as mirror:
        _serve_site(mirror)
        sources = _registry(tmp_path, mirror)
        first = run_discovery(sources, tmp_path / "cache", _client(mirror), today="2026-12-01")
        assert len(first.proposed) == 3
        mirror.statuses["/kokudoseisaku/kokudoseisaku_tk9_000058.html"] = 503
        second = run_discovery(sources, tmp_path / "cache", _client(mirror), today="2026-12-08")
        assert second.failed_pages == [(mirror.url("/kokudoseisaku/kokudoseisaku_tk9_000058.html"), "HTTP 503")]
        assert second.gone == []  # 001900005 is linked only from the page that could not be read
        mirror.statuses["/robots.txt"] = 500
        before = len(mirror.requests)
        third = run_discovery(sources, tmp_path / "cache", _client(mirror), today="2026-12-15")
        assert [r for _, r in third.failed_pages] == ["disallowed by robots.txt"] * 2 and third.gone == []
        assert mirror.paths_requested()[before:] == ["/robots.txt"]  # nothing else on a host whose rules are unknown


def test_one_host_name_is_one_pace_across_ports_and_a_slow_body_has_a_deadline():
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    with MinistryMirror() as one, MinistryMirror() as two:
        for mirror in (one, two):
            _serve_site(mirror)
        client = PoliteClient(CrawlSettings(delay=4.0), {host_key(one.base), host_key(two.base)}, clock=lambda: now[0], sleep=sleep)
        client.get(one.url("/2chiiki/index.html"))
        client.get(two.url("/2chiiki/index.html"))  # another port, the same machine: robots.txt and page, each paced
        assert sleeps == [4.0, 4.0, 4.0]
        del one.files["/robots.txt"]  # a 404 has no body to read: no rules, and the page is requested
        hurried = PoliteClient(CrawlSettings(delay=0.0, total_timeout=-1.0), {host_key(one.base)})
        with pytest.raises(CrawlError, match="body took longer than"):
            hurried.get(one.url("/2chiiki/index.html"))
