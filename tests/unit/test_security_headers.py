"""The security headers both web servers add (``sync.asgi.SecurityHeaders``)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from sync.asgi import SecurityHeaders

pytestmark = pytest.mark.unit
HEADERS = {"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "DENY"}


def app() -> Starlette:
    def plain(_request: object) -> PlainTextResponse:
        return PlainTextResponse("bonjour")

    def own_policy(_request: object) -> PlainTextResponse:
        return PlainTextResponse("à moi", headers={"content-security-policy": "default-src 'self'"})

    routes = [Route("/", plain), Route("/own", own_policy)]
    application = Starlette(routes=routes)
    application.add_middleware(SecurityHeaders, headers=HEADERS)
    return application


def test_every_answer_gets_the_headers_refusals_included() -> None:
    with TestClient(app()) as client:
        for path, status in (("/", 200), ("/nowhere", 404)):
            answer = client.get(path)
            assert answer.status_code == status
            assert answer.headers["content-security-policy"] == "default-src 'none'"
            assert answer.headers["x-frame-options"] == "DENY"


def test_an_answer_keeps_a_header_it_set_itself_and_gets_each_header_once() -> None:
    with TestClient(app()) as client:
        answer = client.get("/own")
    assert answer.headers.get_list("content-security-policy") == ["default-src 'self'"]
    assert answer.headers.get_list("x-frame-options") == ["DENY"]
