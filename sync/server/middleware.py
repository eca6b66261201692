"""What every answer of the federation server goes through: security headers, the request body's
size and time limits, and validation errors that never echo what the client sent."""

from __future__ import annotations

import anyio
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.protocol import MAX_BATCH_BYTES

# Pages are the server's own templates, scripts and styles: nothing from elsewhere, nothing
# inline, and no page of the server inside another site's frame.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none';"
        " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
MAX_ERRORS = 20
MAX_TEXT = 120


class BodyLimit:
    """Read the whole request body before any handler: 413 over :data:`MAX_BATCH_BYTES`, 408 when
    it does not arrive within ``timeout_s`` (a client sending one byte a second)."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        too_large = JSONResponse({"detail": f"body larger than {MAX_BATCH_BYTES} bytes"}, status_code=413)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BATCH_BYTES):
            await too_large(scope, receive, send)
            return
        body = bytearray()
        with anyio.move_on_after(self.timeout_s) as deadline:
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > MAX_BATCH_BYTES:
                    await too_large(scope, receive, send)
                    return
        if deadline.cancelled_caught:
            too_slow = JSONResponse(
                {"detail": f"request body not received within {self.timeout_s:.0f} s"},
                status_code=408,
                headers={"Connection": "close"},
            )
            await too_slow(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _text(value: object) -> str | int:
    """A location or message part that JSON can carry: short, valid UTF-8 (lone surrogates escaped)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


async def validation_error(_request: Request, error: Exception) -> JSONResponse:
    """422 with where and what, never the value sent: it may be NaN, bytes, or 100 kB long."""
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            "loc": [_text(part) for part in item.get("loc", ())],
            "msg": _text(item.get("msg", "")),
            "type": _text(item.get("type", "")),
        }
        for item in error.errors()[:MAX_ERRORS]
    ]
    return JSONResponse({"detail": errors}, status_code=422)
