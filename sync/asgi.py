"""ASGI pieces both of the project's web servers use: the federation server (``sync.server``) and
the terminal's agent (its staff console)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SecurityHeaders:
    """Adds ``headers`` to every answer, refusals and streams included, unless the answer set
    that header itself (a page may need its own policy). Pure ASGI, so that server-sent events
    are passed on as they come, not buffered. (Starlette answers an unhandled exception outside
    the middleware stack: that bare "Internal Server Error" goes without them.)"""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        self.headers = tuple(
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = list(message.get("headers", []))
                present = {name.lower() for name, _ in own}
                message["headers"] = [*own, *(h for h in self.headers if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)
