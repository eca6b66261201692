"""How the federation server is served: one uvicorn configuration for ``kiosk-federation serve``
and the tests, with the timeouts uvicorn itself lacks.

uvicorn closes a connection idle between requests after ``timeout_keep_alive`` and refuses a
request head larger than ``h11_max_incomplete_event_size``, but it waits for ever for a head that
arrives one byte at a time. :class:`HeadDeadlineProtocol` closes such a connection after
``head_timeout_s``; the request body has its own deadline in :class:`sync.server.middleware.BodyLimit`.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from starlette.types import ASGIApp

from sync.server.settings import ServerSettings

KEEP_ALIVE_S = 5
MAX_HEAD_BYTES = 16 * 1024
MAX_CONNECTIONS = 500  # beyond, uvicorn answers 503 at once instead of queueing


def uvicorn_config(app: ASGIApp, host: str, port: int, settings: ServerSettings, **extra: Any) -> uvicorn.Config:
    """The server's uvicorn configuration (``extra``: e.g. ``log_level``, ``lifespan`` for tests)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="h11",
        timeout_keep_alive=KEEP_ALIVE_S,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        limit_concurrency=MAX_CONNECTIONS,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        **extra,
    )
