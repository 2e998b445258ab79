"""A real HTTP server on 127.0.0.1 that misbehaves the way publishers' servers do.

Each path is one behaviour; ``hits`` counts requests per path so tests can
check retries and conditional requests. Used by the fetch and fault tests.
"""

from __future__ import annotations

import io
import threading
import time
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ETAG = '"v1-abc"'
LAST_MODIFIED = "Wed, 01 Oct 2025 00:00:00 GMT"


class FaultServer:
    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf
        self.hits: Counter[str] = Counter()
        self.fail_first = 2  # /flaky.pdf answers 500 this many times
        self.ftp_port = 0  # where /to-ftp.pdf redirects (a listener the test watches)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server.hits[self.path] += 1
                route = getattr(server, "route_" + self.path.strip("/").split(".")[0].replace("-", "_"), None)
                if route is None:
                    self.send(404, b"<html><body>Not Found</body></html>", "text/html")
                else:
                    route(self)

            def send(self, status: int, body: bytes, ctype: str = "application/pdf", headers=None, length=None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.send_header("Connection", "close")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def __enter__(self) -> "FaultServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- behaviours
    def route_ok(self, h) -> None:
        if h.headers.get("If-None-Match") == ETAG:
            h.send_response(304)
            h.send_header("ETag", ETAG)
            h.send_header("Content-Length", "0")
            h.send_header("Connection", "close")
            h.end_headers()
            return
        h.send(200, self.pdf, headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED})

    def route_flaky(self, h) -> None:
        if self.hits[h.path] <= self.fail_first:
            h.send(500, b"<html>Internal Server Error</html>", "text/html")
        else:
            h.send(200, self.pdf)

    def route_ratelimited(self, h) -> None:
        if self.hits[h.path] == 1:
            h.send(429, b"slow down", "text/plain", headers={"Retry-After": "0"})
        else:
            h.send(200, self.pdf)

    def route_always500(self, h) -> None:
        h.send(503, b"<html>maintenance</html>", "text/html")

    def route_html(self, h) -> None:
        page = "<!DOCTYPE html><html><head><title>エラー</title></head><body>ページが見つかりません</body></html>"
        h.send(200, page.encode("utf-8"), "text/html; charset=utf-8")

    def route_zip(self, h) -> None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("report.pdf", self.pdf)
        h.send(200, buf.getvalue())

    def route_image(self, h) -> None:
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
        h.send(200, png)

    def route_slow(self, h) -> None:
        time.sleep(1.5)
        h.send(200, self.pdf)

    def route_loop_a(self, h) -> None:
        h.send(302, b"", "text/plain", headers={"Location": "/loop-b.pdf"})

    def route_loop_b(self, h) -> None:
        h.send(302, b"", "text/plain", headers={"Location": "/loop-a.pdf"})

    def route_to_file(self, h) -> None:
        h.send(302, b"", "text/plain", headers={"Location": "file:///etc/passwd"})

    def route_short(self, h) -> None:
        # Announces more bytes than it sends, then closes: a truncated transfer.
        h.send(200, self.pdf[: len(self.pdf) // 2], length=len(self.pdf))

    def route_understated(self, h) -> None:
        # Announces fewer bytes than the file has: the client stops early and gets half a PDF.
        h.send(200, self.pdf, length=len(self.pdf) // 2)

    def route_stall(self, h) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.send_header("Content-Length", str(len(self.pdf)))
        h.end_headers()
        h.wfile.write(self.pdf[:1000])
        h.wfile.flush()
        time.sleep(1.5)  # then stop sending: the client's read timeout fires
        h.close_connection = True

    def route_drip(self, h) -> None:
        # Sends a byte every 50 ms: never trips a read timeout, never finishes in reasonable time.
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.send_header("Content-Length", str(len(self.pdf)))
        h.send_header("Connection", "close")
        h.end_headers()
        try:
            for i in range(200):
                h.wfile.write(self.pdf[i:i + 1])
                h.wfile.flush()
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True

    def route_trickle_status(self, h) -> None:
        # The status line itself, a byte at a time: urllib is still inside open(), no read timeout fires.
        try:
            for byte in b"HTTP/1.1 200 OK" + b" " * 100000:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        h.close_connection = True

    def route_to_ftp(self, h) -> None:
        h.send(302, b"", "text/plain", headers={"Location": f"ftp://127.0.0.1:{self.ftp_port}/x.pdf"})

    def route_to_ftp_later(self, h) -> None:
        h.send(302, b"", "text/plain", headers={"Location": "/to-ftp.pdf"})

    def route_huge(self, h) -> None:
        # No Content-Length: only streaming with a cap can stop this.
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.send_header("Connection", "close")
        h.end_headers()
        try:
            h.wfile.write(b"%PDF-1.7\n")
            for _ in range(64):
                h.wfile.write(b"0" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True

    def route_huge_declared(self, h) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.send_header("Content-Length", str(60 * 1024 * 1024))
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True


def sample_pdf(root: Path) -> bytes:
    return (root / "samples" / "mic_tsuchi_71.pdf").read_bytes()
