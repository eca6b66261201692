"""How the federation server is served: one uvicorn configuration for ``kiosk-federation serve``
and the tests, with the timeouts uvicorn itself lacks.

uvicorn closes a connection idle between requests after ``timeout_keep_alive`` and refuses a
request head larger than ``h11_max_incomplete_event_size``, but it waits for ever for a head that
arrives one byte at a time. :class:`HeadDeadlineProtocol` closes such a connection after
``head_timeout_s``; the request body has its own deadline in :class:`sync.server.middleware.BodyLimit`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from sync.server.settings import ServerSettings

KEEP_ALIVE_S = 5
MAX_HEAD_BYTES = 16 * 1024
MAX_CONNECTIONS = 500  # beyond, uvicorn answers 503 at once instead of queueing


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection that sends bytes but no whole request in
    time: a head arriving one byte a second, or a body trickling after the answer was sent."""

    head_timeout_s = ServerSettings().head_timeout_s
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._between_requests():
            self._arm_head_timer()  # what arrives is not (yet) a request the app is handling
        else:
            self._disarm_head_timer()  # the app has it; a POST body has BodyLimit's deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm_head_timer()  # idle between requests: uvicorn's keep-alive timeout applies

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm_head_timer(self) -> None:
        if self._head_timer is None and not self.transport.is_closing():
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._too_slow)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _too_slow(self) -> None:
        self._head_timer = None
        if self._between_requests() and not self.transport.is_closing():
            self.logger.info("no whole request within %.0f s: connection closed", self.head_timeout_s)
            self.transport.close()


def uvicorn_config(app: ASGIApp, host: str, port: int, settings: ServerSettings, **extra: Any) -> uvicorn.Config:
    """The server's uvicorn configuration (``extra``: e.g. ``log_level``, ``lifespan`` for tests)."""
    protocol = type("HeadDeadline", (HeadDeadlineProtocol,), {"head_timeout_s": settings.head_timeout_s})
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        timeout_keep_alive=KEEP_ALIVE_S,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        limit_concurrency=MAX_CONNECTIONS,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        **extra,
    )
