"""The website's handlers run on a few threads at once (kiosk.agent.site_workers)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Query

from kiosk.agent.site_workers import WORKERS, site_workers

pytestmark = [pytest.mark.unit]


def test_at_most_the_site_s_workers_run_at_once_and_the_parameters_are_read() -> None:
    app = FastAPI()
    workers = site_workers(app)
    assert site_workers(app) is workers  # one set per app
    running, most, lock = 0, 0, threading.Lock()

    @app.get("/slow")
    @workers
    def slow(n: Annotated[int, Query(ge=0, le=100)]) -> dict[str, int]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.1)  # a page drawn, a database that waits
        with lock:
            running -= 1
        return {"n": n, "thread": threading.get_ident() != threading.main_thread().ident}

    async def twenty() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://site") as client:
            return list(await asyncio.gather(*(client.get("/slow", params={"n": i}) for i in range(20))))

    answers = asyncio.run(twenty())
    assert [a.json() for a in answers] == [{"n": i, "thread": True} for i in range(20)]
    assert most == WORKERS  # twenty at once, never more than the workers, and all of them used
    refused = asyncio.run(_get(app, "/slow?n=1000"))
    assert refused.status_code == 422  # the handler's own parameters are still checked


async def _get(app: FastAPI, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://site") as client:
        return await client.get(path)
