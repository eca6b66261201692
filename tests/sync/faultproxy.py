"""A loopback reverse proxy that breaks the network between a terminal and the server on purpose.

Each request takes the next fault from a script (or a seeded random draw):

* ``pass`` — forward and answer;
* ``drop_before`` — close the connection without forwarding;
* ``drop_after`` — forward (the server stores the batch), then close without answering;
* ``reset_mid_body`` — forward, then send half of the answer and close;
* ``delay`` — forward, then wait longer than the client's read timeout before answering;
* ``error_500`` / ``error_503`` / ``error_429`` — answer that without forwarding (503/429 with
  ``Retry-After``);
* ``duplicate`` — forward the request twice, answer with the second answer.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULTS = (
    "pass",
    "drop_before",
    "drop_after",
    "reset_mid_body",
    "delay",
    "error_500",
    "error_503",
    "error_429",
    "duplicate",
)


class FaultProxy:
    def __init__(self, upstream: str, seed: int = 0, delay_s: float = 1.5) -> None:
        self.upstream = urlsplit(upstream)
        self.rng = random.Random(seed)
        self.delay_s = delay_s
        self.script: list[str] = []
        self.weights: dict[str, float] = {"pass": 1.0}
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:
                self.serve()

            def do_POST(self) -> None:
                self.serve()

            def serve(self) -> None:
                # A client that gave up first (a delay past its read timeout) is what the faults are
                # for: no traceback on stderr for the answer it no longer reads.
                with contextlib.suppress(ConnectionError):
                    proxy.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next_fault(self) -> str:
        with self.lock:
            if self.script:
                fault = self.script.pop(0)
            else:
                names = list(self.weights)
                fault = self.rng.choices(names, weights=[self.weights[n] for n in names])[0]
            self.seen[fault] += 1
            return fault

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            answer = conn.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            conn.close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "connection")}
        fault = self.next_fault()
        if fault == "drop_before":
            _abort(request)
            return
        if fault.startswith("error_"):
            status = int(fault[6:])
            payload = b'{"detail": "injected"}'
            request.send_response(status)
            if status in (429, 503):
                request.send_header("Retry-After", "7")
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
            return
        try:
            status, answer_headers, payload = self._forward(request.command, request.path, headers, body)
            if fault == "duplicate":
                status, answer_headers, payload = self._forward(request.command, request.path, headers, body)
        except OSError:
            _abort(request)  # the server is down: the client sees a broken connection
            return
        if fault == "drop_after":
            _abort(request)
            return
        if fault == "delay":
            time.sleep(self.delay_s)
        request.send_response(status)
        for name, value in answer_headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        if fault == "reset_mid_body":
            request.wfile.write(payload[: max(1, len(payload) // 2)])
            request.wfile.flush()
            _abort(request)
            return
        request.wfile.write(payload)


def _abort(request: BaseHTTPRequestHandler) -> None:
    """Close the connection at once (RST rather than FIN where the platform allows)."""
    with contextlib.suppress(OSError):
        request.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    request.close_connection = True
    with contextlib.suppress(OSError):
        request.connection.shutdown(socket.SHUT_RDWR)
