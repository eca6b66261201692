"""The website's handlers run on a few threads at once (kiosk.agent.site_workers)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient

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

    with TestClient(app) as client, ThreadPoolExecutor(20) as visitors:  # twenty at once
        answers = list(visitors.map(lambda i: client.get("/slow", params={"n": i}), range(20)))
        refused = client.get("/slow", params={"n": 1000})
    assert [a.json() for a in answers] == [{"n": i, "thread": True} for i in range(20)]
    assert most == WORKERS  # never more than the workers, and all of them used
    assert refused.status_code == 422  # the handler's own parameters are still checked
