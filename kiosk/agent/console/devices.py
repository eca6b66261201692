"""The console's devices section ("Appareils"): the terminal's health, one panel after another.

The page is a list of :class:`Panel` (:data:`PANELS`): each has an anchor, a title in the page's
own table of contents, a template for its body and an async ``load`` giving that template's
values. Printers, the ticket printer, the terminal, the sync and the agent are
panels of :class:`~kiosk.agent.console.health.Check` lines; the print jobs and staff printing
(the devices issue) come as more panels, with their own template and routes, nothing else
changed. Probes run off the event loop, each bounded in time (:class:`health.Prober`): a dead
CUPS or a silent ticket printer shows as such, and the page always answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from kiosk.agent.console import device_panel, health
from kiosk.agent.console.accounts import Login
from kiosk.agent.console.context import ConsoleContext
from kiosk.agent.console.health import Check, Prober
from kiosk.core.device_health import UNKNOWN_WORDS, read_health

Load = Callable[[ConsoleContext, Login, Prober], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Panel:
    """A part of the devices page: ``#anchor``, its title, its template and what fills it."""

    anchor: str
    title: str
    load: Load
    template: str = "_checks.html"
    intro: str = ""


@dataclass
class DevicesPage:
    panels: list[Panel] = field(default_factory=list)
    prober: Prober = field(default_factory=Prober)

    async def render(self, ctx: ConsoleContext, login: Login) -> list[tuple[Panel, dict[str, Any]]]:
        values = await asyncio.gather(*(panel.load(ctx, login, self.prober) for panel in self.panels))
        return list(zip(self.panels, values, strict=True))


def _checks(checks: list[Check]) -> dict[str, Any]:
    return {"checks": checks}


async def printers(ctx: ConsoleContext, _login: Login, prober: Prober) -> dict[str, Any]:
    devices = ctx.settings.devices
    return _checks(await prober.run("cups", lambda: health.cups_checks(devices, ctx.cups_server), "Imprimante"))


async def ticket_printer(ctx: ConsoleContext, _login: Login, prober: Prober) -> dict[str, Any]:
    devices = ctx.settings.devices
    if devices.ticket_printer == "none":
        return _checks(
            [Check("Imprimante à tickets", "absent", 'Pas d\'imprimante à tickets (ticket_printer = "none").')]
        )

    if devices.ticket_printer != "network":
        return _checks(await run_in_threadpool(lambda: [_ticket_printer_as_the_shell_saw_it(ctx)]))

    def probe() -> list[Check]:
        from kiosk.devices.select import build_ticket_printer

        return health.device_check("Imprimante à tickets", build_ticket_printer(devices).status)

    return _checks(await prober.run("tickets", probe, "Imprimante à tickets"))


def _ticket_printer_as_the_shell_saw_it(ctx: ConsoleContext) -> Check:
    """A USB or serial ticket printer is the shell's: one process at a time opens it, and a probe
    from here could take it from under a resident's ticket (or find it "busy"). The shell's own
    last reading is shown instead."""
    kind = ctx.settings.devices.ticket_printer
    facts = (("Branchement", "USB" if kind == "usb" else "série"), ("Relevé par", "la borne"))
    with ctx.db() as store:
        snapshot = read_health(store, ctx.clock.now())
    if snapshot is None:
        return Check("Imprimante à tickets", "absent", _sentence(UNKNOWN_WORDS), facts)
    report = snapshot.get("ticket_printer")
    return Check("Imprimante à tickets", report.state, _sentence(report.words), facts)


def _sentence(words: str) -> str:
    """``words`` as a sentence: a capital first, a full stop last."""
    return f"{words[:1].upper()}{words[1:]}."


async def terminal(ctx: ConsoleContext, _login: Login, _prober: Prober) -> dict[str, Any]:
    data_dir = ctx.settings.paths.data_dir

    def read() -> list[Check]:
        with ctx.db() as store:
            shell = health.shell_check(store, ctx.clock.now())
        return [shell, health.disk_check(data_dir)]

    return _checks(await run_in_threadpool(read))


async def sync(ctx: ConsoleContext, _login: Login, _prober: Prober) -> dict[str, Any]:
    data_dir = ctx.settings.paths.data_dir

    def read() -> list[Check]:
        with ctx.db() as store:
            return [health.sync_check(store, data_dir, ctx.zone), health.agent_check(ctx.started, ctx.version)]

    return _checks(await run_in_threadpool(read))


PANELS: tuple[Panel, ...] = (
    Panel("releve", "Relevé de la borne", device_panel.snapshot, "_device_health.html"),
    Panel("imprimantes", "Imprimantes", printers),
    Panel("tickets", "Imprimante à tickets", ticket_printer),
    # No live scanner probe here: SANE opens a device for one process at a time, and the shell
    # owns the scanner (a probe from the agent could make a resident's scan fail as "busy"). The
    # shell's own reading of it is in the "Relevé de la borne".
    Panel("borne", "Borne", terminal),
    Panel("envoi", "Envoi des statistiques et service", sync),
)


def add_routes(app: FastAPI, ctx: ConsoleContext, panels: tuple[Panel, ...] = PANELS) -> DevicesPage:
    page = DevicesPage(list(panels))

    @app.get("/appareils")
    async def devices_page(request: Request) -> Response:
        login: Login = request.state.login
        shown = await page.render(ctx, login)
        worst = [c.level for _, values in shown for c in values.get("checks", ())]
        return ctx.render(
            "devices.html",
            login=login,
            panels=shown,
            problems=sum(1 for level in worst if level in ("error", "warning")),
        )

    return page
