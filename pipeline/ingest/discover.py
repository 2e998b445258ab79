"""Discovery: read the registry's index pages, find links to PDFs, propose the new ones.

One run, as plain functions (flows/discover.py wraps them in Prefect tasks):

    read_index (conditional GET) → pdf_links → probe new links → update the ledger

A link is proposed once: the ledger (``sources.discovered.yaml``, see
pipeline/ingest/discovered.py) remembers every PDF URL found, with the page it was
found on and the date first seen. A link that no longer appears on a page
that was read is reported as gone and marked so; nothing is removed from the
registry, so its published data stays. A link whose target does not answer
with a PDF (a 404, an HTML error page) is reported and not proposed; it is
tried again on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline.ingest.crawl import CrawlError, CrawlSettings, PoliteClient, decode_html, host_key, html_tree
from pipeline.ingest.discovered import Discovered, accept, discovered_path, new_id, read_discovered, write_discovered
from pipeline.ingest.registry import IndexPage, SourceEntry, load_indexes, load_registry

_PDF_MAGIC = b"%PDF-"
_PROBE_BYTES = 1024
# A trailing note of the file's format and size, as ministries print after a link: （PDF：512KB）, [PDF形式 1.2MB].
_SIZE_NOTE = re.compile(r"[\s\u3000]*[(（\[［【〔<＜][^()（）\[\]［］【】〔〕]*?(?:PDF|ＰＤＦ)[^()（）\[\]［］【】〔〕]*[)）\]］】〕>＞]\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    url: str
    title: str
    found_on: str


@dataclass
class IndexRead:
    """What one index page gave: its links, or why it could not be read."""

    index: IndexPage
    links: list[Link] = field(default_factory=list)
    not_modified: bool = False
    error: str | None = None
    encoding: str | None = None


@dataclass
class DiscoveryReport:
    proposed: list[Discovered] = field(default_factory=list)  # new this run
    gone: list[Discovered] = field(default_factory=list)  # no longer linked from the page they were found on
    back: list[Discovered] = field(default_factory=list)  # linked again after being reported gone
    broken: list[tuple[str, str]] = field(default_factory=list)  # (url, reason): linked, but not serving a PDF
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (url, reason): not crawled (host, robots)
    failed_pages: list[tuple[str, str]] = field(default_factory=list)  # (index url, reason)
    accepted: list[str] = field(default_factory=list)  # ids accepted into the registry by this run
    pages: int = 0
    links: int = 0

    def summary(self) -> dict:
        return {
            "pages": self.pages,
            "pdf_links": self.links,
            "proposed": [d.id for d in self.proposed],
            "accepted": self.accepted,
            "gone": [d.url for d in self.gone],
            "back": [d.url for d in self.back],
            "broken": [f"{u}: {r}" for u, r in self.broken],
            "skipped": [f"{u}: {r}" for u, r in self.skipped],
            "failed_pages": [f"{u}: {r}" for u, r in self.failed_pages],
        }


# --------------------------------------------------------------------------- links


def pdf_links(html: str, page_url: str, pattern: str | None = None) -> list[Link]:
    """Links to PDFs on a page, in page order, each URL once, resolved against the page (or its ``<base>``).

    A PDF linked twice (an icon and its text, say) keeps the first non-empty
    title. ``pattern`` (a regular expression searched in the resolved URL)
    narrows which PDFs count.
    """
    import lxml.etree

    try:
        doc = html_tree(html)
    except (lxml.etree.ParserError, ValueError):
        return []
    base = page_url
    for tag in doc.iter("base"):
        if tag.get("href"):
            base = urllib.parse.urljoin(page_url, tag.get("href").strip())
            break
    wanted = re.compile(pattern) if pattern else None
    found: dict[str, Link] = {}
    ranks: dict[str, int] = {}
    for anchor in doc.iter("a", "area"):
        href = (anchor.get("href") or "").strip()
        if not href:
            continue
        url, _ = urllib.parse.urldefrag(urllib.parse.urljoin(base, href))
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.path.lower().endswith(".pdf"):
            continue
        if wanted is not None and not wanted.search(url):
            continue
        title, rank = link_title(anchor)
        if url not in found or rank > ranks[url]:
            # A PDF linked twice (an icon, then its text): the link text beats an image's alt text.
            found[url], ranks[url] = Link(url, title, page_url), rank
    return [link if link.title else Link(link.url, _file_name(link.url), link.found_on) for link in found.values()]


def link_title(anchor) -> tuple[str, int]:
    """The link's title and how good it is: its text (2), else an image's alt or its title attribute (1), else none (0).

    Whitespace is collapsed and a trailing （PDF：…KB） note dropped.
    """
    text = " ".join(anchor.text_content().split())
    rank = 2
    if not text:
        rank = 1
        alts = [" ".join((img.get("alt") or "").split()) for img in anchor.iter("img")] + [" ".join((anchor.get("title") or anchor.get("alt") or "").split())]
        text = next((a for a in alts if a), "")
    if not text:
        return "", 0
    return _SIZE_NOTE.sub("", text).strip() or text, rank


def _file_name(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])


# --------------------------------------------------------------------------- reading pages


def read_index(client: PoliteClient, index: IndexPage, cache_dir: Path) -> IndexRead:
    """GET the index page conditionally (ETag / Last-Modified of the last read) and find its PDF links."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = hashlib.sha256(index.url.encode()).hexdigest()
    meta_path, body_path = cache_dir / f"{stem}.json", cache_dir / f"{stem}.html"
    previous = _load_json(meta_path) if body_path.is_file() else None
    headers: dict[str, str] = {}
    if previous:
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
    try:
        response = client.get(index.url, headers)
    except CrawlError as exc:
        return IndexRead(index, error=exc.reason)
    if response.status == 304 and previous:
        body, content_type, final_url, not_modified = body_path.read_bytes(), previous.get("content_type"), previous.get("final_url") or index.url, True
    elif response.status == 200:
        body, content_type, final_url, not_modified = response.body, response.headers.get("content-type"), response.url, False
        _write_atomic(body_path, body)
        meta = {
            "url": index.url,
            "final_url": final_url,
            "etag": response.headers.get("etag"),
            "last_modified": response.headers.get("last-modified"),
            "content_type": content_type,
        }
        _write_atomic(meta_path, json.dumps(meta, ensure_ascii=False, indent=1).encode())
    else:
        return IndexRead(index, error=f"HTTP {response.status}")
    text, encoding = decode_html(body, content_type)
    # Links resolve against the page as served (after redirects); found_on names the configured page.
    links = [Link(link.url, link.title, index.url) for link in pdf_links(text, final_url, index.pattern)]
    return IndexRead(index, links=links, not_modified=not_modified, encoding=encoding)


def probe_pdf(client: PoliteClient, url: str) -> str | None:
    """Why ``url`` does not serve a PDF (``None`` when its first bytes are one); reads at most 1 KiB."""
    try:
        response = client.get(url, {"Range": f"bytes=0-{_PROBE_BYTES - 1}", "Accept": "application/pdf,*/*;q=0.5"}, limit=_PROBE_BYTES, truncate=True)
    except CrawlError as exc:
        return exc.reason
    if response.status not in (200, 206):
        return f"HTTP {response.status}"
    if _PDF_MAGIC not in response.body:
        kind = response.headers.get("content-type") or "unknown content"
        return f"not a PDF ({kind})"
    return None


# --------------------------------------------------------------------------- the ledger


def update_ledger(
    ledger: list[Discovered],
    reads: list[IndexRead],
    registry: list[SourceEntry],
    client: PoliteClient,
    today: str,
) -> DiscoveryReport:
    """Add new, working PDF links to ``ledger`` as proposals; mark links gone from their page, or back.

    ``ledger`` is changed in place. URLs the registry already names are
    recorded as registered (so their disappearance is reported too) and never
    proposed.
    """
    report = DiscoveryReport()
    by_url = {d.url: d for d in ledger}
    registered = {e.url: e for e in registry if e.url}
    taken = {d.id for d in ledger} | {e.id for e in registry}
    linked: set[str] = set()
    read_pages: set[str] = set()
    for read in reads:
        if read.error is not None:
            report.failed_pages.append((read.index.url, read.error))
            continue
        report.pages += 1
        read_pages.add(read.index.url)
        for link in read.links:
            report.links += 1
            linked.add(link.url)
            known = by_url.get(link.url)
            if known is not None:
                if known.gone_since is not None:
                    known.gone_since = None
                    report.back.append(known)
                continue
            if link.url in registered:
                entry = registered[link.url]
                record = Discovered(entry.id, link.url, entry.title, entry.publisher, link.found_on, today, "registered")
            else:
                try:
                    client.check(link.url)
                    problem = None if client.allowed_by_robots(link.url) else "disallowed by robots.txt"
                except CrawlError as exc:
                    problem = exc.reason
                if problem is not None:
                    report.skipped.append((link.url, problem))
                    continue
                problem = probe_pdf(client, link.url)
                if problem is not None:
                    report.broken.append((link.url, problem))
                    continue
                record = Discovered(new_id(read.index.id, link.url, taken), link.url, link.title, read.index.publisher, link.found_on, today, "proposed")
                report.proposed.append(record)
            taken.add(record.id)
            by_url[link.url] = record
            ledger.append(record)
    for record in ledger:
        if record.found_on in read_pages and record.url not in linked and record.gone_since is None:
            record.gone_since = today
            report.gone.append(record)
    return report


def allowed_hosts(indexes: list[IndexPage]) -> set[str]:
    """The hosts the crawler may visit: each index page's own, and the further hosts it names."""
    hosts: set[str] = set()
    for index in indexes:
        # On the default port the host is allowed over http and https alike: ministry pages mix both.
        parts = urllib.parse.urlsplit(index.url)
        hosts.add(host_key(index.url) if parts.port else (parts.hostname or "").lower())
    for index in indexes:
        hosts.update(index.hosts)
    return hosts


def _load_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a damaged record only costs a full GET
    return data if isinstance(data, dict) else None


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- one run


def run_discovery(
    sources: Path,
    cache_dir: Path,
    client: PoliteClient | None = None,
    *,
    settings: CrawlSettings | None = None,
    accept_new: bool = False,
    today: str | None = None,
) -> DiscoveryReport:
    """Read every index page of ``sources`` (one after another), then ``record_links``.

    ``cache_dir``: where index pages and their validators are kept between
    runs (for conditional GETs).
    """
    indexes = load_indexes(Path(sources))
    client = client or PoliteClient(settings or CrawlSettings(), allowed_hosts(indexes))
    reads = [read_index(client, index, Path(cache_dir)) for index in indexes]
    return record_links(Path(sources), reads, client, accept_new=accept_new, today=today)


def record_links(sources: Path, reads: list[IndexRead], client: PoliteClient, *, accept_new: bool = False, today: str | None = None) -> DiscoveryReport:
    """Update ``sources.discovered.yaml`` from what the pages linked; with ``accept_new``, accept what was proposed."""
    registry = load_registry(sources)
    ledger_path = discovered_path(sources)
    ledger = read_discovered(ledger_path)
    report = update_ledger(ledger, reads, registry, client, today or date.today().isoformat())
    if ledger or ledger_path.exists():
        write_discovered(ledger_path, ledger)
    if accept_new and report.proposed:
        report.accepted = accept(sources, [d.id for d in report.proposed])
    return report
