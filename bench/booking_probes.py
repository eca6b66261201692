"""`booking_p95_ms`: website bookings under 20 concurrent clients on one terminal's agent.

The agent's website (help and booking, real uvicorn on loopback) on a fresh database with a few
resource persons. Twenty clients each book in a loop as a phone would (the slots page, the
form, the POST); the figure is the 95th percentile of the POSTs (a slot lost to another client
answers 409 with the slots now: timed too, it is part of the load). The baseline, in the same
run, is the p95 of a plain GET of the site's style sheet by the same twenty clients.

The clients loop without pause, so they queue wherever the site is slowest: a faster slots page
sends them sooner to the booking's transaction, which waits for the disk one booking at a time.
The slots page's and the form's p95, and the whole booking's (the three requests), are reported
beside it to read the figure by.

The website runs in a process of its own, as the agent does on a terminal: in the bench's
process its requests would wait for the clients' threads (one interpreter lock), and the figure
would measure the clients as much as the site.
"""

from __future__ import annotations

import multiprocessing
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kiosk.core.mediation_config import PersonSettings
from kiosk.core.ports import SystemClock
from kiosk.core.settings import Config
from tests.bookingkit import LIFTED, booking_config, client, open_form, seed, slot_links
from tests.fedkit import free_port

CLIENTS = 20
Sample = Any  # a GET's milliseconds, or a booking's (slots page, form, POST) milliseconds
TARGET_MS = 200.0
PERSONS = tuple(PersonSettings(id=f"p{i}", name=f"Personne {i}", slot_minutes=15) for i in range(6))


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def _serve(config: Config, db: Path, port: int) -> None:
    """The website, in the child process (no rate limit: twenty clients share one address)."""
    import uvicorn

    from kiosk.agent.web import create_help_site

    app = create_help_site(config, db_path=db, limits=LIFTED)
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")).run()


@contextmanager
def served_apart(config: Config, db: Path) -> Iterator[str]:
    """The website on a loopback port in a process of its own; stopped even on failure."""
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(config, db, port), daemon=True)
    process.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.is_alive(), f"the website's process ended (exit {process.exitcode})"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the website did not start within 60 s"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.join(15)
        if process.is_alive():
            process.kill()
            process.join(5)


def _together(work: Callable[[int], list[Sample]]) -> list[Sample]:
    results: list[list[Sample]] = [[] for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)

    def run(index: int) -> None:
        start.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return [sample for samples in results for sample in samples]


def measure(bookings: int = 10, gets: int = 50) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="borne-bench-booking-") as tmp:
        config = booking_config(Path(tmp) / "data", *PERSONS)
        db = seed(config, SystemClock())
        with served_apart(config, db) as site:

            def baseline(_index: int) -> list[float]:
                session, times = client(), []
                for _ in range(gets):
                    began = time.perf_counter()
                    assert session.get(site + "/aide/static/kiosk.css", timeout=60).status_code == 200
                    times.append((time.perf_counter() - began) * 1000)
                return times

            def booker(index: int) -> list[tuple[float, float, float]]:
                session, times = client(), []
                for turn in range(bookings):
                    began = time.perf_counter()
                    links = slot_links(session.get(site + "/rendez-vous/creneaux?demarche=logement", timeout=60).text)
                    listed = time.perf_counter()
                    fields, _page = open_form(session, site, links[(index * bookings + turn) % len(links)])
                    data = {**fields, "name": "Marie Curie", "contact": "06 12 34 56 78"}
                    formed = time.perf_counter()
                    answer = session.post(
                        site + "/rendez-vous/coordonnees", data=data, allow_redirects=False, timeout=60
                    )
                    done = time.perf_counter()
                    times.append(((listed - began) * 1000, (formed - listed) * 1000, (done - formed) * 1000))
                    assert answer.status_code in (303, 409), answer.status_code
                return times

            base = _together(baseline)
            booked = _together(booker)
    p95, base_p95 = _p95([post for _slots, _form, post in booked]), _p95(base)
    return {
        "booking_p95_ms": round(p95, 1),
        "booking_slots_page_p95_ms": round(_p95([slots for slots, _form, _post in booked]), 1),
        "booking_form_p95_ms": round(_p95([form for _slots, form, _post in booked]), 1),
        "booking_whole_p95_ms": round(_p95([sum(sample) for sample in booked]), 1),
        "booking_baseline_p95_ms": round(base_p95, 1),
        "booking_ratio": round(p95 / base_p95, 2),
        "booking_target_ms": TARGET_MS,
        "booking_target_met": p95 < TARGET_MS,
        "booking_clients": CLIENTS,
        "booking_samples": len(booked),
    }
