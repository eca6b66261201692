"""The fault-injecting proxy itself: a client that gives up during a delay is one of the faults,
so the proxy answers no one and prints no traceback into `make test`'s output."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.sync.faultproxy import FaultProxy

pytestmark = [pytest.mark.sync, pytest.mark.sync_faults]
BIG = b"x" * 4_000_000  # more than the socket buffers hold: writing it to a gone client must fail


@pytest.fixture
def upstream() -> Iterator[str]:
    class Big(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(BIG)))
            self.end_headers()
            self.wfile.write(BIG)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Big)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_client_gone_before_a_delayed_answer_leaves_no_traceback(upstream: str, capfd) -> None:  # type: ignore[no-untyped-def]
    before = set(threading.enumerate())  # other servers of the session may hold connections open
    proxy = FaultProxy(upstream, delay_s=0.5).start()
    try:
        proxy.script = ["delay"]
        port = proxy.server.server_address[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: upstream\r\nContent-Length: 0\r\n\r\n")
            time.sleep(0.1)  # the proxy is now sleeping on the delay; the client gives up
        # The proxy's handler thread ends once it has written (or failed to write) the answer.
        deadline = time.monotonic() + 15
        while any("process_request_thread" in t.name for t in set(threading.enumerate()) - before):
            assert time.monotonic() < deadline, "the proxy still holds the request"
            time.sleep(0.05)
    finally:
        proxy.stop()
    assert proxy.seen["delay"] == 1  # the fault was drawn, so the answer was written to no one
    assert "Traceback" not in capfd.readouterr().err
