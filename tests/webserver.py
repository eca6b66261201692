"""A loopback web server that is also Chromium's HTTP proxy in shell tests.

The shell under test runs with ``--proxy-server=http://127.0.0.1:PORT``, so every made-up
host name (``www.allowed.test``, ``evil.test``…) reaches this server, which answers by
(host, path). Nothing leaves the machine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Response:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


Route = Response | Callable[[BaseHTTPRequestHandler], Response]


@dataclass
class Hit:
    method: str
    host: str
    path: str
    headers: dict[str, str]
    body: bytes


class LoopbackWeb:
    """Routes (host, path) → Response; records every request it sees."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                host = (parts.hostname or self.headers.get("Host", "").split(":")[0]).lower()
                path = parts.path or "/"
                if not parts.scheme:  # origin-form request
                    path = self.path.split("?")[0]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                hit = Hit(self.command, host, path, dict(self.headers.items()), body)
                with web._lock:
                    web.hits.append(hit)
                route = web.routes.get((host, path)) or web.routes.get((host, "*")) or web.routes.get(("*", path))
                if route is None:
                    response = Response(f"<h1>404 {host}{path}</h1>", status=404)
                else:
                    response = route if isinstance(route, Response) else route(self)
                payload = response.payload()
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(payload)))
                if "Cache-Control" not in response.headers:
                    self.send_header("Cache-Control", "no-store")
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = do_PUT = _serve

            def do_CONNECT(self) -> None:
                # No TLS in tests: an https:// navigation fails like an unreachable site.
                self.send_response(502)
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-web", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> LoopbackWeb:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def add(self, host: str, path: str, route: Route) -> None:
        self.routes[(host, path)] = route

    def page(self, host: str, path: str, html: str, **headers: str) -> str:
        self.routes[(host, path)] = Response(html, headers=dict(headers))
        return f"http://{host}{path}"

    def requests_to(self, host: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.host == host]

    def clear(self) -> None:
        with self._lock:
            self.hits.clear()
        self.routes.clear()
