"""Obtain a document's bytes: over HTTP(S) with a content-addressed cache, or the bundled sample.

Government sites are unreliable in specific ways: they answer errors with an
HTML page under the ``.pdf`` URL (status 200), serve ZIPs or images under
``.pdf``, time out, drop the connection mid-body and rate-limit. So every body
is streamed to a temporary file with a size cap, checked to really be a whole
PDF (``%PDF-`` header, ``%%EOF`` in the last KiB, as many bytes as announced),
and only then renamed into ``cache/pdfs/<sha256>.pdf``. Transient failures
(connection errors, timeouts, 5xx, 429, short bodies) are retried with
exponential backoff; permanent ones (4xx, not a PDF, over the cap) are not.
When the network fails and the registry bundles a sample, the sample is read
instead and ``Fetched.fallback_reason`` says why.

Only the standard library is used (urllib honours the usual proxy variables).
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import http.client
import json
import os
import socket
import tempfile
import threading
import time
import weakref
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipeline.model.clock import utc_now
from pipeline.model.errors import FetchError
from pipeline.ingest.registry import SourceEntry
from pipeline.ingest.safepath import UnsafePath, inside, safe_name

_CHUNK = 64 * 1024
# PDF readers accept the header anywhere in the first KiB and %%EOF in the last KiB.
_SNIFF = 1024


@dataclass(frozen=True)
class FetchSettings:
    """How patient and how trusting fetching is. Defaults suit ministry web sites."""

    timeout: float = 20.0  # seconds for connecting and for each socket read
    total_timeout: float = 300.0  # seconds for one whole download attempt (slow-drip servers)
    attempts: int = 3  # tries per URL, counting the first
    backoff: float = 1.0  # seconds before the 2nd try; doubles for every further try
    max_backoff: float = 30.0  # cap on one wait, also on a server's Retry-After
    max_bytes: int = 50 * 1024 * 1024  # refuse bodies larger than this
    max_redirects: int = 5
    user_agent: str = "nichiiki/0.1 (open data pipeline; +https://github.com/)"


@dataclass(frozen=True)
class Fetched:
    """The local file to parse and how it was obtained."""

    doc_id: str
    source: str  # the URL or path actually read
    path: Path
    sha256: str
    fetched_at: str  # UTC ISO 8601
    from_cache: bool
    http_status: int | None
    fallback_reason: str | None = None


class _Transient(Exception):
    """A failure worth another try; the message is the reason."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def fetch(entry: SourceEntry, cache_dir: Path, settings: FetchSettings, *, use_network: bool) -> Fetched:
    """Return the bytes of ``entry`` as a local file, or raise ``FetchError`` naming the source."""
    try:
        safe_name(entry.id, "doc id")
    except UnsafePath as exc:
        raise FetchError(entry.location, str(exc)) from exc
    if entry.url and use_network:
        try:
            return _fetch_url(entry.id, entry.url, Path(cache_dir), settings)
        except FetchError as exc:
            if entry.sample is None:
                # A publisher that moves or removes a PDF must not remove its data from the next release.
                previous = last_download(entry.id, entry.url, Path(cache_dir), settings)
                if previous is None:
                    raise
                return _with_fallback(previous, f"{entry.url}: {exc.reason}; read the last download ({previous.sha256[:12]}…) instead")
            fetched = _read_local(entry.id, entry.sample, settings)
            return _with_fallback(fetched, f"{entry.url}: {exc.reason}; read the bundled sample instead")
    if entry.sample is None:
        previous = last_download(entry.id, entry.url, Path(cache_dir), settings) if entry.url else None
        if previous is not None:
            # A discovered document has no sample: offline runs read what was last downloaded.
            return _with_fallback(previous, f"{entry.url}: network use is off; read the last download ({previous.sha256[:12]}…)")
        reason = "network use is off and there is no bundled sample" if entry.url else "no url and no sample"
        raise FetchError(entry.location, reason)
    return _read_local(entry.id, entry.sample, settings)


def _with_fallback(fetched: Fetched, reason: str) -> Fetched:
    return Fetched(
        fetched.doc_id, fetched.source, fetched.path, fetched.sha256, fetched.fetched_at, False, None, reason
    )


# --------------------------------------------------------------------------- local files


def _read_local(doc_id: str, path: Path, settings: FetchSettings) -> Fetched:
    source = str(path)
    if not path.is_file():
        raise FetchError(source, "file not found" if not path.exists() else "not a regular file")
    size = path.stat().st_size
    if size > settings.max_bytes:
        raise FetchError(source, f"size {_mb(size)} exceeds cap {_mb(settings.max_bytes)}")
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        head = fh.read(_SNIFF)
        digest.update(head)
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
        fh.seek(max(0, size - _SNIFF))
        tail = fh.read()
    problem = pdf_body_problem(head, tail, size)
    if problem:
        raise FetchError(source, problem)
    return Fetched(doc_id, source, path, digest.hexdigest(), utc_now(), False, None)


# --------------------------------------------------------------------------- body checks


def pdf_body_problem(head: bytes, tail: bytes, size: int) -> str | None:
    """Why these bytes are not a whole PDF (``None`` when they look like one).

    ``head`` is the first KiB, ``tail`` the last KiB. Recognising what the body
    is instead turns "cannot parse" into a reason a person can act on.
    """
    if size == 0:
        return "body is empty (0 bytes)"
    kind = _sniff_kind(head)
    # A ZIP that stores a PDF uncompressed has %PDF- in its first KiB too; the
    # container's own signature at byte 0 decides.
    if kind is not None or b"%PDF-" not in head:
        return f"body is {kind or _unknown(head)}, not a PDF"
    if b"%%EOF" not in tail:
        return f"body is truncated: no %%EOF in the last {_SNIFF} bytes of {size}"
    return None


def _sniff_kind(head: bytes) -> str | None:
    """What a known non-PDF format these bytes start with, if any."""
    probe = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if probe.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in probe[:512]:
        return "HTML"
    if probe.startswith(b"<?xml") or probe.startswith(b"<"):
        return "XML/markup"
    signatures = {
        b"pk\x03\x04": "a ZIP archive",
        b"\x89png": "a PNG image",
        b"\xff\xd8\xff": "a JPEG image",
        b"gif8": "a GIF image",
        b"ii*\x00": "a TIFF image",
        b"mm\x00*": "a TIFF image",
        b"\x1f\x8b": "gzip data",
        b"\xd0\xcf\x11\xe0": "an old Office document",
        b"{": "JSON",
    }
    for magic, kind in signatures.items():
        if probe.startswith(magic):
            return kind
    return None


def _unknown(head: bytes) -> str:
    return f"unrecognised data (starts with {head[:16]!r})"


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


# --------------------------------------------------------------------------- HTTP

_ALLOWED_SCHEMES = ("http", "https")


class _RedirectLimit(urllib.request.HTTPRedirectHandler):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.max_redirections = limit
        self.max_repeats = 2  # the same URL twice in a chain is a loop

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 — urllib's signature
        # urllib itself would follow ftp:// (and log in as anonymous): every hop must be http(s).
        scheme = urllib.parse.urlsplit(newurl).scheme.lower()
        if scheme not in _ALLOWED_SCHEMES:
            fp.close()
            raise FetchError(req.full_url, f"redirect to {scheme}: refused ({newurl[:200]!r}; http or https only)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_live_watches: "weakref.WeakSet[_Deadline]" = weakref.WeakSet()


class _Deadline:
    """One attempt's total deadline, over connect, status line, headers and body.

    Socket timeouts only bound the wait for *each* read, so a server sending one
    byte a second (even inside the status line, before urllib returns) never
    trips them. When the deadline passes, a timer thread shuts the attempt's
    sockets down, which ends any blocked read at once; ``expired`` says why.
    ``abort_downloads()`` does the same for every attempt in flight (a signal
    handler calls it so that SIGTERM/SIGINT do not wait for worker threads).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self.aborted = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self.fire)
        self._timer.daemon = True

    def __enter__(self) -> "_Deadline":
        _live_watches.add(self)
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _live_watches.discard(self)

    def left(self) -> float:
        return max(0.01, self.ends - time.monotonic())

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def fire(self, aborted: bool = False) -> None:
        with self._lock:
            self.expired = True
            self.aborted = self.aborted or aborted
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def reason(self) -> str:
        return "download cancelled (the run is stopping)" if self.aborted else f"download took longer than {self.seconds:g} s"


def abort_downloads() -> None:
    """End every download in flight now (each fails with "download cancelled")."""
    for watch in list(_live_watches):
        watch.fire(aborted=True)


class _Watched:
    """A connection whose socket the deadline can shut, and whose timeout never outlasts it."""

    def __init__(self, *args, deadline: _Deadline, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs["timeout"] = min(kwargs.get("timeout") or deadline.left(), deadline.left())
        super().__init__(*args, **kwargs)
        self._deadline = deadline

    def connect(self) -> None:
        super().connect()
        self._deadline.track(self.sock)


class _WatchedHTTP(_Watched, http.client.HTTPConnection):
    pass


class _WatchedHTTPS(_Watched, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req):  # noqa: ANN001
        return self.do_open(functools.partial(_WatchedHTTP, deadline=self._deadline), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req):  # noqa: ANN001
        return self.do_open(functools.partial(_WatchedHTTPS, deadline=self._deadline), req, context=self._context)


def _opener(settings: "FetchSettings", deadline: _Deadline) -> urllib.request.OpenerDirector:
    # Only http(s) handlers: no ftp:, file: or data: opener exists to be redirected to.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        _HTTPHandler(deadline),
        _HTTPSHandler(deadline),
        urllib.request.HTTPDefaultErrorHandler(),
        _RedirectLimit(settings.max_redirects),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _fetch_url(doc_id: str, url: str, cache_dir: Path, settings: FetchSettings) -> Fetched:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(url, f"scheme {scheme!r} not allowed (http or https only)")
    pdf_dir = cache_dir / "pdfs"
    meta_dir = cache_dir / "http"
    pdf_dir.mkdir(parents=True, exist_ok=True)
    meta_dir.mkdir(parents=True, exist_ok=True)
    # The URL never becomes a file name: its hash does.
    meta_path = inside(meta_dir, hashlib.sha256(url.encode()).hexdigest() + ".json")
    previous = _load_meta(meta_path, pdf_dir)

    last = "no attempt made"
    for attempt in range(1, settings.attempts + 1):
        try:
            with _Deadline(settings.total_timeout) as deadline:
                try:
                    return _attempt(doc_id, url, _opener(settings, deadline), previous, pdf_dir, meta_path, settings, deadline)
                except (_Transient, FetchError):
                    if deadline.aborted:
                        raise FetchError(url, deadline.reason()) from None
                    if deadline.expired:
                        raise _Transient(deadline.reason()) from None
                    raise
        except _Transient as exc:
            last = str(exc)
            if attempt == settings.attempts:
                break
            wait = min(settings.backoff * 2 ** (attempt - 1), settings.max_backoff)
            if exc.retry_after is not None:
                wait = min(max(wait, exc.retry_after), settings.max_backoff)
            time.sleep(wait)
    tries = "1 try" if settings.attempts == 1 else f"{settings.attempts} tries"
    raise FetchError(url, f"{last} (gave up after {tries})")


def _attempt(
    doc_id: str,
    url: str,
    opener: urllib.request.OpenerDirector,
    previous: dict | None,
    pdf_dir: Path,
    meta_path: Path,
    settings: FetchSettings,
    deadline: _Deadline,
) -> Fetched:
    headers = {"User-Agent": settings.user_agent, "Accept": "application/pdf,*/*;q=0.5"}
    if previous:
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
    request = urllib.request.Request(url, headers=headers)
    try:
        response = opener.open(request, timeout=settings.timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 304 and previous:
            cached = pdf_dir / f"{previous['sha256']}.pdf"
            return Fetched(doc_id, url, cached, previous["sha256"], utc_now(), True, 304)
        if exc.code in (301, 302, 303, 307, 308):
            raise FetchError(url, f"redirect loop or more than {settings.max_redirects} redirects ({exc.reason})")
        if exc.code == 429 or exc.code >= 500:
            raise _Transient(f"HTTP {exc.code}", _retry_after(exc.headers)) from exc
        raise FetchError(url, f"HTTP {exc.code}") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise _Transient(f"timed out after {settings.timeout:g} s") from exc
        if isinstance(reason, str) and "redirect" in reason.lower():
            raise FetchError(url, reason) from exc
        raise _Transient(f"cannot connect: {reason}") from exc
    except (socket.timeout, TimeoutError) as exc:
        raise _Transient(f"timed out after {settings.timeout:g} s") from exc
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        raise _Transient(f"connection failed: {exc!r}") from exc

    with response:
        status = response.status
        declared = _content_length(response.headers)
        if declared is not None and declared > settings.max_bytes:
            raise FetchError(url, f"size {_mb(declared)} exceeds cap {_mb(settings.max_bytes)}")
        tmp = tempfile.NamedTemporaryFile(dir=pdf_dir, prefix=".part-", suffix=".pdf", delete=False)
        try:
            sha, size, head, tail = _stream(url, response, tmp, declared, settings, deadline)
            problem = pdf_body_problem(head, tail, size)
            if problem:
                content_type = response.headers.get("Content-Type", "")
                raise FetchError(url, problem + (f" (Content-Type {content_type})" if content_type else ""))
            final = inside(pdf_dir, f"{sha}.pdf")
            os.replace(tmp.name, final)
        except BaseException:
            tmp.close()
            Path(tmp.name).unlink(missing_ok=True)
            raise
    _write_meta(
        meta_path,
        {
            "url": url,
            "final_url": response.geturl(),
            "etag": response.headers.get("ETag"),
            "last_modified": response.headers.get("Last-Modified"),
            "sha256": sha,
            "fetched_at": utc_now(),
        },
    )
    return Fetched(doc_id, url, final, sha, utc_now(), False, status)


def _stream(url, response, tmp, declared: int | None, settings: FetchSettings, deadline: _Deadline) -> tuple[str, int, bytes, bytes]:
    """Copy the body into ``tmp`` with the cap, the deadline and the length check; return hash, size, head, tail."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    tail = b""
    with tmp:
        while True:
            if deadline.expired:
                raise _Transient(deadline.reason())
            try:
                chunk = response.read1(_CHUNK)  # what has arrived, so a stall reports real progress
            except http.client.IncompleteRead as exc:
                got = size + len(exc.partial)
                raise _Transient(f"connection closed mid-body after {got} of {declared} bytes") from exc
            except (socket.timeout, TimeoutError) as exc:
                raise _Transient(f"timed out mid-body after {size} bytes ({settings.timeout:g} s without data)") from exc
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                raise _Transient(f"connection failed mid-body after {size} bytes: {exc!r}") from exc
            if not chunk:
                if deadline.expired:  # the deadline shut the socket: not the end of the body
                    raise _Transient(deadline.reason())
                break
            size += len(chunk)
            if size > settings.max_bytes:
                raise FetchError(url, f"size exceeds cap {_mb(settings.max_bytes)} (stopped reading)")
            if len(head) < _SNIFF:
                head += chunk[: _SNIFF - len(head)]
            tail = (tail + chunk)[-_SNIFF:]
            digest.update(chunk)
            tmp.write(chunk)
        tmp.flush()
        os.fsync(tmp.fileno())
    if declared is not None and size != declared:
        raise _Transient(f"Content-Length says {declared} bytes but the body had {size}")
    return digest.hexdigest(), size, head, tail


def _content_length(headers) -> int | None:
    value = headers.get("Content-Length")
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= 0 else None


def _retry_after(headers) -> float | None:
    value = (headers or {}).get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        if when is None:
            return None
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _load_meta(meta_path: Path, pdf_dir: Path) -> dict | None:
    """The previous response's validators, if its cached body is still there."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        sha = str(meta["sha256"])
        safe_name(sha)
        if len(sha) != 64 or not (pdf_dir / f"{sha}.pdf").is_file():
            return None
        return meta
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a missing or damaged record only costs a full download


def _write_meta(meta_path: Path, meta: dict) -> None:
    tmp = meta_path.with_name(f".{meta_path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, meta_path)


def last_download(doc_id: str, url: str, cache_dir: Path, settings: FetchSettings) -> Fetched | None:
    """The body last downloaded from ``url``, if it is still in the cache and still a whole PDF."""
    pdf_dir = cache_dir / "pdfs"
    try:
        meta = _load_meta(inside(cache_dir / "http", hashlib.sha256(url.encode()).hexdigest() + ".json"), pdf_dir)
    except UnsafePath:
        return None
    if meta is None:
        return None
    try:
        local = _read_local(doc_id, pdf_dir / f"{meta['sha256']}.pdf", settings)
    except FetchError:
        return None
    return Fetched(doc_id, url, local.path, local.sha256, local.fetched_at, True, None)
