"""Loopback servers that capture what the agent sends: an SMTP server (aiosmtpd) and an HTTP
server (the SMS gateway, the alert webhook), each told how to behave — answer, fail (4xx/5xx),
hang past the client's timeout, or be down — and each stopped by its fixture even when a test
fails. Only what a server *accepted* counts as delivered: a duplicate is two accepted."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer  # noqa: N811
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

HANG_S = 2.5
"""How long a hanging server keeps the client waiting (the tests' client timeouts are 1 s)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpCapture:
    """aiosmtpd on 127.0.0.1: ``mode`` "ok" (keep the message), "busy" (451 at DATA), "refuse"
    (550 for the recipient), "hang" (no answer to DATA for :data:`HANG_S`); ``down()`` / ``up()``."""

    def __init__(
        self, login: tuple[str, str] | None = None, tls: ssl.SSLContext | None = None, implicit_tls: bool = False
    ) -> None:
        self.port = free_port()
        self.mode = "ok"
        self.refused: set[str] = set()  # addresses answered 550
        self.login, self.tls, self.implicit_tls = login, tls, implicit_tls
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[str] = []
        self._controller: Controller | None = None
        self.ca_file: Path | None = None
        self.security = "none"

    # aiosmtpd handler hooks
    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        import asyncio

        if self.mode == "hang":
            await asyncio.sleep(HANG_S)
            return "451 4.3.0 too late"
        if self.mode == "busy":
            return "451 4.3.0 try again later"
        assert envelope.content is not None
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        self.messages.append(message_from_bytes(raw, _class=EmailMessage, policy=policy.default))
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK"

    def _authenticate(
        self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and self.login is not None:
            ok = (data.login.decode(), data.password.decode()) == self.login
            if ok:
                self.logins.append(data.login.decode())
            return AuthResult(success=ok)
        return AuthResult(success=False)

    def up(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.tls is not None and self.implicit_tls:  # TLS from the first byte (port 465)
            kwargs = {"ssl_context": self.tls}
        elif self.tls is not None:  # STARTTLS offered and required before anything else
            kwargs = {"tls_context": self.tls, "require_starttls": True}
        if self.login is not None:
            # aiosmtpd counts only STARTTLS as TLS for AUTH: over TLS from the start it offers
            # AUTH without requiring it (the test checks the login happened).
            tls_first = self.implicit_tls
            kwargs |= {
                "authenticator": self._authenticate,
                "auth_require_tls": not tls_first,
                "auth_required": not tls_first,
            }
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs)
        self._controller.start()

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def bodies(self) -> list[str]:
        return [str(m.get_content()) for m in self.messages]


@pytest.fixture
def smtp_capture() -> Iterator[SmtpCapture]:
    capture = SmtpCapture()
    capture.up()
    try:
        yield capture
    finally:
        capture.down()


@pytest.fixture(params=["starttls", "ssl"])
def smtp_with_login(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SmtpCapture]:
    """STARTTLS, or TLS from the start (``capture.security``), with a self-signed certificate
    (``capture.ca_file``) and a login."""
    from kiosk.agent.console.certificate import ensure_self_signed

    certificate = ensure_self_signed(tmp_path / "smtp-tls", "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    capture = SmtpCapture(login=("borne", "s3cret-pass"), tls=context, implicit_tls=request.param == "ssl")
    capture.ca_file, capture.security = certificate.cert_file, request.param
    capture.up()
    try:
        yield capture
    finally:
        capture.down()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpCapture:
    """A threading HTTP server on 127.0.0.1: answers ``status`` (or hangs past the client's
    timeout when ``hang``); ``delivered`` holds the requests answered 2xx, ``seen`` all."""

    status: int = 200
    hang: bool = False
    seen: list[Request] = field(default_factory=list)
    delivered: list[Request] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def up(self) -> None:
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                capture.seen.append(request)
                if capture.hang:
                    time.sleep(HANG_S)
                    self.close_connection = True
                    return
                if 200 <= capture.status < 300:
                    capture.delivered.append(request)
                body = b'{"ok": true}' if capture.status < 300 else b'{"error": "down for maintenance"}'
                self.send_response(capture.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _any

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-capture", daemon=True)
        self._thread.start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=10)
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def http_capture() -> Iterator[HttpCapture]:
    capture = HttpCapture()
    capture.up()
    try:
        yield capture
    finally:
        capture.down()
