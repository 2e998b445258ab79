"""A ministry web site on 127.0.0.1: index pages in Shift_JIS / EUC-JP, PDFs, robots.txt.

``files`` maps a path to (body, Content-Type) and can be changed between
crawls; a path not in it answers 404 with an HTML page, as ministry servers
do. Every response carries an ETag, and a matching If-None-Match gets a 304.
``requests`` records (path, headers) of every request in order.
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class MinistryMirror:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.redirects: dict[str, str] = {}
        self.statuses: dict[str, int] = {}  # a path answering this error status
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                with mirror._lock:
                    mirror.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                    found = mirror.files.get(self.path)
                    target = mirror.redirects.get(self.path)
                    status = mirror.statuses.get(self.path)
                if status is not None:
                    self._send(status, b"<html><body>Service Unavailable</body></html>", "text/html")
                elif target is not None:
                    self._send(302, b"", "text/html", {"Location": target})
                elif found is None:
                    self._send(404, "<html><body>ページが見つかりません</body></html>".encode("cp932"), "text/html")
                else:
                    body, ctype = found
                    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                    if self.headers.get("If-None-Match") == etag:
                        self._send(304, b"", None, {"ETag": etag})
                    else:
                        self._send(200, body, ctype, {"ETag": etag})

            def _send(self, status: int, body: bytes, ctype: str | None, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a probe reads the first KiB and hangs up
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def paths_requested(self) -> list[str]:
        with self._lock:
            return [p for p, _ in self.requests]

    def __enter__(self) -> "MinistryMirror":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
