"""Polite, safe HTTP for reading publishers' index pages.

A ministry's web server is shared by everyone who reads it, so the crawler
asks each host's robots.txt first (and honours its Crawl-delay), sends one
request at a time per host with a pause between them, names the project in
its User-Agent, and visits only http(s) URLs on the hosts the registry
configures, at every redirect hop. Ministry pages are often Shift_JIS or
EUC-JP: ``decode_html`` reads the charset from the HTTP header, then from a
``<meta>`` tag, then guesses from the bytes.

The clock and the sleep are parameters so tests can check the delay without
waiting for it.
"""

from __future__ import annotations

import codecs
import re
import email.message
import http.client
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import urllib.robotparser
from collections.abc import Callable, Iterable
from dataclasses import dataclass

ROBOTS_AGENT = "nichiiki"
USER_AGENT = "nichiiki/0.1 (open data from Japanese government reports; index page discovery; one request at a time)"

# Shift_JIS pages written on Windows use its extensions (①, ㈱, NEC specials): cp932 reads both.
_ENCODING_ALIASES = {"shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932", "windows-31j": "cp932"}
# What Japanese pages are written in, for guessing when nothing is declared.
_GUESS_ENCODINGS = ["utf_8", "cp932", "euc_jp", "iso2022_jp"]
_META_PRESCAN = 4096
# The XML declaration XHTML pages start with; its encoding counts when no <meta> names one.
_XML_DECLARATION = re.compile(r"""\s*<\?xml[^>]*?(?:encoding\s*=\s*["'](?P<encoding>[A-Za-z0-9._-]+)["'])?[^>]*\?>""")


@dataclass(frozen=True)
class CrawlSettings:
    """How gently the crawler reads a host."""

    delay: float = 5.0  # seconds between two requests to one host (robots.txt may ask for more)
    timeout: float = 20.0  # seconds for connecting and for each read
    total_timeout: float = 60.0  # seconds for one whole response body
    max_bytes: int = 5 * 1024 * 1024  # an index page larger than this is refused
    max_redirects: int = 5
    user_agent: str = USER_AGENT


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int  # 304 for "not modified" (body empty)
    headers: dict[str, str]
    body: bytes


class CrawlError(Exception):
    """A URL could not be read, or may not be; the message names it and says why."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


def host_key(url: str) -> str:
    """``host:port`` of an http(s) URL, the default port spelled out, so one server is one key."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects come back as responses, so every hop is checked and paced like a first request."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class PoliteClient:
    """GETs over http(s) to configured hosts only, robots.txt and a per-host pace respected."""

    def __init__(
        self,
        settings: CrawlSettings,
        allowed_hosts: Iterable[str],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> None:
        self.settings = settings
        self.allowed = {h.lower() for h in allowed_hosts}
        self._clock = clock
        self._sleep = sleep
        self._opener = opener or urllib.request.build_opener(_NoRedirect())
        self._guard = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self.requests: list[str] = []  # every URL requested, in order (robots.txt included)

    # ------------------------------------------------------------------ checks

    def check(self, url: str) -> None:
        """Raise ``CrawlError`` unless ``url`` is http(s) on a configured host."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise CrawlError(url, f"scheme {parts.scheme!r} not allowed (http or https only)")
        try:
            key = host_key(url)
        except ValueError as exc:
            raise CrawlError(url, f"malformed URL: {exc}") from exc
        if key not in self.allowed and key.rsplit(":", 1)[0] not in self.allowed:
            raise CrawlError(url, f"host {parts.hostname!r} is not one of the configured hosts")

    def allowed_by_robots(self, url: str) -> bool:
        return self._robots_for(url).can_fetch(ROBOTS_AGENT, url)

    # ------------------------------------------------------------------ requests

    def get(self, url: str, headers: dict[str, str] | None = None, *, limit: int | None = None, truncate: bool = False) -> Response:
        """GET ``url`` following redirects; 304 is returned, other errors raise ``CrawlError``.

        ``limit``: largest body accepted (default: the settings' cap); with
        ``truncate`` only the first ``limit`` bytes are read and the rest is
        left unread, as a probe that a link really serves a PDF.
        """
        limit = self.settings.max_bytes if limit is None else limit
        for _ in range(self.settings.max_redirects + 1):
            self.check(url)
            if not self.allowed_by_robots(url):
                raise CrawlError(url, "disallowed by robots.txt")
            response = self._request(url, headers or {}, limit, truncate)
            if response.status in (301, 302, 303, 307, 308):
                target = response.headers.get("location")
                if not target:
                    raise CrawlError(url, f"HTTP {response.status} without a Location", response.status)
                url = urllib.parse.urljoin(url, target)
                continue
            return response
        raise CrawlError(url, f"more than {self.settings.max_redirects} redirects")

    def _request(self, url: str, headers: dict[str, str], limit: int, truncate: bool) -> Response:
        # Paced per host name: http and https of one ministry are one server to be gentle with.
        host = (urllib.parse.urlsplit(url).hostname or "").lower()
        with self._host_lock(host):
            self._wait_turn(host, host_key(url))
            try:
                return self._send(url, headers, limit, truncate)
            finally:
                self._last[host] = self._clock()

    def _host_lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._host_locks.setdefault(key, threading.Lock())

    def _wait_turn(self, host: str, key: str) -> None:
        if host not in self._last:
            return
        wait = self._last[host] + self.delay_for(key) - self._clock()
        if wait > 0:
            self._sleep(wait)

    def delay_for(self, key: str) -> float:
        """The pause between two requests to host ``key``: the setting, or robots.txt's Crawl-delay if longer."""
        robots = self._robots.get(key)
        asked = robots.crawl_delay(ROBOTS_AGENT) if robots is not None else None
        return max(self.settings.delay, float(asked or 0))

    def _send(self, url: str, headers: dict[str, str], limit: int, truncate: bool) -> Response:
        self.requests.append(url)
        request = urllib.request.Request(url, headers={"User-Agent": self.settings.user_agent, **headers})
        try:
            raw = self._opener.open(request, timeout=self.settings.timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            found = {k.lower(): v for k, v in (exc.headers or {}).items()}
            if exc.code in (301, 302, 303, 304, 307, 308):
                return Response(url, exc.code, found, b"")
            raise CrawlError(url, f"HTTP {exc.code}", exc.code) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CrawlError(url, f"cannot connect: {reason}") from exc
        with raw:
            found = {k.lower(): v for k, v in raw.headers.items()}
            try:
                declared = int(found.get("content-length", ""))
            except ValueError:
                declared = None
            if declared is not None and declared > limit and not truncate:
                raise CrawlError(url, f"body of {declared} bytes exceeds the cap of {limit}")
            body = self._read_body(url, raw, limit)
        if len(body) > limit:
            if not truncate:
                raise CrawlError(url, f"body exceeds the cap of {limit} bytes")
            body = body[:limit]
        return Response(raw.geturl() or url, raw.status, found, body)

    def _read_body(self, url: str, raw, limit: int) -> bytes:
        """Up to ``limit + 1`` bytes, within one deadline for the whole body (a server may trickle)."""
        deadline = time.monotonic() + self.settings.total_timeout
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            if time.monotonic() > deadline:
                raise CrawlError(url, f"body took longer than {self.settings.total_timeout:g} s")
            try:
                chunk = raw.read1(min(64 * 1024, limit + 1 - size))
            except (OSError, ValueError, http.client.HTTPException) as exc:
                raise CrawlError(url, f"connection failed mid-body: {exc!r}") from exc
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    # ------------------------------------------------------------------ robots.txt

    def _robots_for(self, url: str) -> urllib.robotparser.RobotFileParser:
        key = host_key(url)
        with self._guard:
            known = self._robots.get(key)
        if known is not None:
            return known
        parts = urllib.parse.urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        parser = urllib.robotparser.RobotFileParser(robots_url)
        try:
            # Read directly: robots.txt must not ask itself for permission. Redirects are
            # followed on configured hosts; one that leads elsewhere or on and on counts as
            # "no robots.txt" (RFC 9309 §2.3.1.2).
            target: str | None = robots_url
            for _ in range(self.settings.max_redirects + 1):
                response = self._request(target, {}, 512 * 1024, False)
                location = response.headers.get("location") if response.status in (301, 302, 303, 307, 308) else None
                target = urllib.parse.urljoin(target, location) if location else None
                if target is None:
                    break
                try:
                    self.check(target)
                except CrawlError:
                    target = None
                    break
            if response.status == 200 and target is None:
                parser.parse(response.body.decode("utf-8", errors="replace").splitlines())
            else:
                parser.allow_all = True
        except CrawlError as exc:
            if exc.status in (401, 403):
                parser.disallow_all = True  # the site refuses robots altogether
            elif exc.status is not None and 400 <= exc.status < 500:
                parser.allow_all = True  # no robots.txt: no rules
            else:
                parser.disallow_all = True  # unreachable or failing: do not guess that crawling is welcome
        parser.modified()
        with self._guard:
            self._robots[key] = parser
        return parser


# --------------------------------------------------------------------------- decoding


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """The page's text and the encoding used: HTTP charset, byte-order mark, ``<meta>``, then a guess."""
    for candidate in (_header_charset(content_type), _bom_charset(body), _meta_charset(body)):
        encoding = _known_encoding(candidate)
        if encoding:
            try:
                return body.decode(encoding), encoding
            except UnicodeDecodeError:
                # Declared wrongly or a stray byte: keep the declaration if most of it decodes.
                text = body.decode(encoding, errors="replace")
                if text.count("\ufffd") * 100 < max(len(text), 1):
                    return text, encoding
    guessed = _guess(body)
    return body.decode(guessed, errors="replace"), guessed


def _known_encoding(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    name = _ENCODING_ALIASES.get(name, name)
    try:
        found = codecs.lookup(name).name
    except LookupError:
        return None
    return _ENCODING_ALIASES.get(found, found)


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    message = email.message.Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    return charset if isinstance(charset, str) else None


def _bom_charset(body: bytes) -> str | None:
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _meta_charset(body: bytes) -> str | None:
    """``<meta charset>`` or ``<meta http-equiv=Content-Type content=…charset=…>`` in the first bytes."""
    import lxml.etree

    # The declaration is ASCII in every encoding used here; Latin-1 reads any bytes.
    head = body[:_META_PRESCAN].decode("latin-1")
    declared = _XML_DECLARATION.match(head)
    try:
        doc = html_tree(head)
    except (lxml.etree.ParserError, ValueError):
        doc = None
    for meta in doc.iter("meta") if doc is not None else ():
        if meta.get("charset"):
            return meta.get("charset")
        if (meta.get("http-equiv") or "").strip().lower() == "content-type":
            charset = _header_charset(meta.get("content"))
            if charset:
                return charset
    return declared.group("encoding") if declared and declared.group("encoding") else None


def html_tree(text: str):
    """``text`` parsed by lxml's HTML parser (an XML declaration, which it refuses in text, dropped first)."""
    import lxml.html

    declared = _XML_DECLARATION.match(text)
    if declared:
        text = text[declared.end() :]
    if not text.strip():
        raise ValueError("empty page")
    return lxml.html.document_fromstring(text)


def _guess(body: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(body, cp_isolation=_GUESS_ENCODINGS).best()
    encoding = _known_encoding(best.encoding) if best is not None else None
    return encoding or "utf-8"
