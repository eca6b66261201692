"""Serving the console: its certificate, its app on its own connection, and running it beside
the help website in the agent's one process (two uvicorn servers, one asyncio loop)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import uvicorn
from fastapi import FastAPI

from kiosk.agent.calendars import calendar_cache
from kiosk.agent.console.app import create_console
from kiosk.agent.console.certificate import ConsoleCertificate, ensure_self_signed, load_configured, own_directory
from kiosk.agent.console.context import ConsoleContext
from kiosk.agent.version import software_version
from kiosk.core.mediation.booking import AppointmentBook
from kiosk.core.mediation.calls import CallQueue
from kiosk.core.ports import Clock
from kiosk.core.settings import KioskSettings
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Role, open_store

log = logging.getLogger(__name__)

GRACEFUL_S = 3
"""A live stream is closed after this long when the agent stops."""


def console_certificate(settings: KioskSettings) -> ConsoleCertificate:
    """The configured certificate, or the agent's own (made at the first start)."""
    console = settings.console
    if console.cert_file is not None and console.key_file is not None:
        return load_configured(console.cert_file, console.key_file)
    return ensure_self_signed(own_directory(settings.paths.data_dir), console.listen_host)


@dataclass
class Console:
    app: FastAPI
    context: ConsoleContext
    certificate: ConsoleCertificate

    def close(self) -> None:
        self.context.stopping.set()
        self.context.store.close()


def build_console(settings: KioskSettings, db_path: Path, clock: Clock) -> Console:
    """The console on a connection of its own (the scheduler's jobs keep theirs)."""
    certificate = console_certificate(settings)
    store = open_store(db_path, Role.AGENT, settings.stats.durability)
    zone = ZoneInfo(settings.centre.timezone)
    recorder = StatsRecorder(store, clock)
    queue = CallQueue(store, settings.mediator, zone, clock, recorder)
    calendars = calendar_cache(settings.paths.data_dir, zone)
    book = AppointmentBook(
        store, settings.appointments, settings.opening, zone, clock, recorder=recorder, busy=calendars.busy
    )
    context = ConsoleContext(
        store=store,
        queue=queue,
        clock=clock,
        zone=zone,
        centre_name=settings.centre.name,
        book=book,
        calendars=calendars,
        session_lasts=timedelta(hours=settings.console.session_hours),
        settings=settings,
        version=software_version(),
    )
    return Console(create_console(context), context, certificate)


class SharedSignalServer(uvicorn.Server):
    """A uvicorn server that leaves SIGTERM/SIGINT to the agent, which stops every server at once
    (each uvicorn server would otherwise take the handlers from the one started before it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def https_server(app: FastAPI, host: str, port: int, certificate: ConsoleCertificate) -> SharedSignalServer:
    return SharedSignalServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            ssl_certfile=str(certificate.cert_file),
            ssl_keyfile=str(certificate.key_file),
            log_level="warning",
            timeout_graceful_shutdown=GRACEFUL_S,
            server_header=False,
        )
    )


def http_server(app: FastAPI, host: str, port: int) -> SharedSignalServer:
    return SharedSignalServer(uvicorn.Config(app, host=host, port=port, log_level="warning", server_header=False))


async def serve_together(servers: Sequence[uvicorn.Server]) -> None:
    """Run the servers until one stops (a signal, or one that could not start): then all stop."""

    async def serve(server: uvicorn.Server) -> None:
        try:
            await server.serve()
        finally:
            for other in servers:
                other.should_exit = True

    await asyncio.gather(*(serve(server) for server in servers))


@contextlib.contextmanager
def stop_on_signals(servers: Sequence[uvicorn.Server], on_stop: Callable[[], None]) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT stop every server (a server told before it has started
    stops as soon as it has)."""

    def stop(_signum: int, _frame: object) -> None:
        on_stop()
        for server in servers:
            server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_servers(servers: Sequence[uvicorn.Server]) -> None:
    """Serve in the foreground until they are told to stop."""
    asyncio.run(serve_together(servers))
