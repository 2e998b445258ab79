"""Fetching against a real, misbehaving HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipeline.model.errors import FetchError
from pipeline.ingest.fetch import FetchSettings, fetch, pdf_body_problem
from pipeline.ingest.registry import SourceEntry
from tests.httpfaults import FaultServer, sample_pdf

ROOT = Path(__file__).resolve().parents[1]
FAST = FetchSettings(timeout=0.5, total_timeout=5, attempts=3, backoff=0.01, max_backoff=0.05)


def entry(url: str | None, sample: Path | None = None, doc_id: str = "doc") -> SourceEntry:
    return SourceEntry(id=doc_id, publisher="MLIT", title="t", issued=None, url=url, sample=sample)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return sample_pdf(ROOT)


@pytest.fixture
def server(pdf):
    with FaultServer(pdf) as srv:
        yield srv


def test_200_caches_by_content_hash(server, pdf, tmp_path):
    got = fetch(entry(server.url("ok.pdf")), tmp_path, FAST, use_network=True)
    sha = hashlib.sha256(pdf).hexdigest()
    assert got.sha256 == sha and got.http_status == 200 and not got.from_cache
    assert got.path == (tmp_path / "pdfs" / f"{sha}.pdf").resolve()
    assert got.path.read_bytes() == pdf
    assert got.source == server.url("ok.pdf") and got.fallback_reason is None
    assert not list((tmp_path / "pdfs").glob(".part-*"))  # no temp file left behind


def test_etag_304_refetch_hits_the_cache(server, tmp_path):
    first = fetch(entry(server.url("ok.pdf")), tmp_path, FAST, use_network=True)
    second = fetch(entry(server.url("ok.pdf")), tmp_path, FAST, use_network=True)
    assert second.http_status == 304 and second.from_cache
    assert second.path == first.path and second.sha256 == first.sha256
    assert server.hits["/ok.pdf"] == 2


def test_304_without_cached_body_downloads_again(server, tmp_path):
    first = fetch(entry(server.url("ok.pdf")), tmp_path, FAST, use_network=True)
    first.path.unlink()  # someone cleaned the cache: the validators must not be sent
    again = fetch(entry(server.url("ok.pdf")), tmp_path, FAST, use_network=True)
    assert again.http_status == 200 and again.path.is_file()


def test_404_is_not_retried_and_names_url(server, tmp_path):
    with pytest.raises(FetchError) as err:
        fetch(entry(server.url("missing.pdf")), tmp_path, FAST, use_network=True)
    assert "HTTP 404" in str(err.value) and server.url("missing.pdf") in str(err.value)
    assert err.value.stage == "fetch"
    assert server.hits["/missing.pdf"] == 1


def test_404_falls_back_to_sample(server, tmp_path):
    sample = ROOT / "samples" / "mic_tsuchi_71.pdf"
    got = fetch(entry(server.url("missing.pdf"), sample), tmp_path, FAST, use_network=True)
    assert got.path == sample and got.source == str(sample)
    assert "HTTP 404" in got.fallback_reason and server.url("missing.pdf") in got.fallback_reason


def test_500_then_success(server, pdf, tmp_path):
    got = fetch(entry(server.url("flaky.pdf")), tmp_path, FAST, use_network=True)
    assert got.http_status == 200 and got.path.read_bytes() == pdf
    assert server.hits["/flaky.pdf"] == 3


def test_429_retried(server, tmp_path):
    got = fetch(entry(server.url("ratelimited.pdf")), tmp_path, FAST, use_network=True)
    assert got.http_status == 200 and server.hits["/ratelimited.pdf"] == 2


def test_5xx_every_time_gives_up_after_attempts(server, tmp_path):
    with pytest.raises(FetchError, match=r"HTTP 503 \(gave up after 3 tries\)"):
        fetch(entry(server.url("always500.pdf")), tmp_path, FAST, use_network=True)
    assert server.hits["/always500.pdf"] == 3


@pytest.mark.parametrize(
    "name, kind", [("html.pdf", "HTML"), ("zip.pdf", "a ZIP archive"), ("image.pdf", "a PNG image")]
)
def test_not_a_pdf_under_pdf_url(server, tmp_path, name, kind):
    with pytest.raises(FetchError, match=f"body is {kind}, not a PDF"):
        fetch(entry(server.url(name)), tmp_path, FAST, use_network=True)
    assert server.hits[f"/{name}"] == 1
    assert not list((tmp_path / "pdfs").iterdir())  # nothing cached


def test_timeout(server, tmp_path):
    with pytest.raises(FetchError, match=r"timed out after 0.5 s \(gave up after 2 tries\)"):
        fetch(entry(server.url("slow.pdf")), tmp_path, FetchSettings(timeout=0.5, attempts=2, backoff=0.01), use_network=True)


def test_redirect_loop(server, tmp_path):
    with pytest.raises(FetchError, match="redirect"):
        fetch(entry(server.url("loop-a.pdf")), tmp_path, FAST, use_network=True)
    assert server.hits["/loop-a.pdf"] <= 3


def test_redirect_to_file_scheme_refused(server, tmp_path):
    with pytest.raises(FetchError, match="redirect"):
        fetch(entry(server.url("to-file.pdf")), tmp_path, FAST, use_network=True)


def test_content_length_larger_than_body(server, pdf, tmp_path):
    with pytest.raises(FetchError, match=rf"Content-Length says {len(pdf)} bytes but the body had {len(pdf) // 2}"):
        fetch(entry(server.url("short.pdf")), tmp_path, FAST, use_network=True)
    assert server.hits["/short.pdf"] == 3  # a short body is transient: retried
    assert not list((tmp_path / "pdfs").iterdir())


def test_content_length_smaller_than_body(server, tmp_path):
    with pytest.raises(FetchError, match="truncated: no %%EOF"):
        fetch(entry(server.url("understated.pdf")), tmp_path, FAST, use_network=True)


def test_server_stops_mid_body(server, tmp_path):
    with pytest.raises(FetchError, match="mid-body after 1000 bytes"):
        fetch(entry(server.url("stall.pdf")), tmp_path, FetchSettings(timeout=0.5, attempts=1), use_network=True)
    assert not list((tmp_path / "pdfs").iterdir())


def test_slow_drip_hits_the_total_deadline(server, tmp_path):
    drip = FetchSettings(timeout=1, total_timeout=0.5, attempts=1)
    with pytest.raises(FetchError, match=r"download took longer than 0.5 s"):
        fetch(entry(server.url("drip.pdf")), tmp_path, drip, use_network=True)
    assert not list((tmp_path / "pdfs").iterdir())


def test_size_cap_streaming(server, tmp_path):
    cap = FetchSettings(timeout=2, attempts=1, max_bytes=1024 * 1024)
    with pytest.raises(FetchError, match=r"size exceeds cap 1.0 MB \(stopped reading\)"):
        fetch(entry(server.url("huge.pdf")), tmp_path, cap, use_network=True)
    assert not list((tmp_path / "pdfs").iterdir())


def test_size_cap_declared(server, tmp_path):
    with pytest.raises(FetchError, match=r"size 60.0 MB exceeds cap 50.0 MB"):
        fetch(entry(server.url("huge-declared.pdf")), tmp_path, FetchSettings(timeout=2), use_network=True)


def test_connection_refused_then_sample(tmp_path):
    sample = ROOT / "samples" / "mic_tsuchi_71.pdf"
    dead = "http://127.0.0.1:9/nothing.pdf"  # discard port: nothing listens
    got = fetch(entry(dead, sample), tmp_path, FAST, use_network=True)
    assert got.path == sample and "cannot connect" in got.fallback_reason


def test_no_network_reads_sample_and_hashes_it(tmp_path):
    sample = ROOT / "samples" / "mic_tsuchi_71.pdf"
    got = fetch(entry("http://example.invalid/x.pdf", sample), tmp_path, FAST, use_network=False)
    assert got.sha256 == hashlib.sha256(sample.read_bytes()).hexdigest()
    assert got.http_status is None and got.fallback_reason is None


def test_missing_sample_names_path(tmp_path):
    missing = tmp_path / "nope.pdf"
    with pytest.raises(FetchError, match="nope.pdf: fetch failed: file not found"):
        fetch(entry(None, missing), tmp_path, FAST, use_network=False)


def test_one_byte_local_file(tmp_path):
    one = tmp_path / "one.pdf"
    one.write_bytes(b"%")
    with pytest.raises(FetchError, match="one.pdf: fetch failed: body is unrecognised data"):
        fetch(entry(None, one), tmp_path, FAST, use_network=False)


@pytest.mark.parametrize("doc_id", ["../escape", "/etc/passwd", "a/../../b", "..", ""])
def test_doc_id_escaping_cache_refused(tmp_path, doc_id):
    sample = ROOT / "samples" / "mic_tsuchi_71.pdf"
    with pytest.raises(FetchError, match="not a safe file name"):
        fetch(entry(None, sample, doc_id=doc_id), tmp_path, FAST, use_network=False)


def test_non_http_url_refused(tmp_path):
    with pytest.raises(FetchError, match="scheme 'file' not allowed"):
        fetch(entry("file:///etc/passwd"), tmp_path, FAST, use_network=True)


def test_body_checks():
    assert pdf_body_problem(b"%PDF-1.7\n", b"...%%EOF\n", 100) is None
    assert pdf_body_problem(b"", b"", 0) == "body is empty (0 bytes)"
    assert "JPEG" in pdf_body_problem(b"\xff\xd8\xff\xe0", b"", 4)


def test_trickled_status_line_hits_the_total_deadline(server, tmp_path):
    """Each byte arrives well inside the read timeout; only a deadline over the whole attempt ends it."""
    settings = FetchSettings(timeout=5, total_timeout=1, attempts=1)
    with pytest.raises(FetchError, match=r"download took longer than 1 s"):
        fetch(entry(server.url("trickle-status.pdf")), tmp_path, settings, use_network=True)


@pytest.mark.parametrize("name", ["to-ftp.pdf", "to-ftp-later.pdf"])
def test_redirect_to_ftp_refused_without_contacting_it(server, tmp_path, name):
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    server.ftp_port = listener.getsockname()[1]
    try:
        with pytest.raises(FetchError, match=r"redirect to ftp: refused"):
            fetch(entry(server.url(name)), tmp_path, FAST, use_network=True)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody ever connected
    finally:
        listener.close()


def test_abort_downloads_ends_a_download_in_flight(server, tmp_path):
    import threading

    from pipeline.ingest.fetch import abort_downloads

    outcome: list[BaseException] = []

    def download() -> None:
        try:
            fetch(entry(server.url("trickle-status.pdf")), tmp_path, FetchSettings(timeout=5, total_timeout=600, attempts=3), use_network=True)
        except FetchError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=download, daemon=True)
    worker.start()
    while server.hits["/trickle-status.pdf"] == 0:
        worker.join(0.05)
    while worker.is_alive():
        abort_downloads()  # until the attempt has its socket registered
        worker.join(0.1)
    assert len(outcome) == 1 and "download cancelled" in str(outcome[0])
    assert server.hits["/trickle-status.pdf"] == 1  # a cancelled download is not retried
