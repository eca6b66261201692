"""The console's calls section: today's calls, live; take, finish, cancel; staff presence.

The list is rendered on the server (``_calls.html``) for the page and for the live stream alike:
the stream (server-sent events) reads the database every :data:`POLL_S` and sends the list again
when it changed — a call opened by the shell, taken from another console, a new minute of wait.
The page's script (``static/console.js``) swaps it in, beeps and changes the title when a new
call waits.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from kiosk.agent.console.accounts import Login
from kiosk.agent.console.context import COOKIE, POLL_S, ConsoleContext, Refused
from kiosk.core.mediation.calls import OPEN_STATES, Call, CallState, CallStateError
from kiosk.core.mediation.presence import set_staff_present, staff_present
from kiosk.core.mediation.storage import StoreBusy

KEEPALIVE_S = 15.0
STREAM_MAX_S = 600.0
"""A stream ends after this long and the browser opens a new one (the login is checked again then
too, besides at every poll)."""

UNKNOWN_CATEGORY = "Je ne sais pas"
NOTICES = {
    "prendre": "Appel pris : allez voir la personne.",
    "terminer": "Appel terminé.",
    "annuler": "Appel annulé.",
    "deja": "Cet appel a changé entre-temps (pris ou annulé par quelqu'un d'autre, ou par la personne).",
}
"""After a staff action (``?avis=``). A change of presence has none: the presence card says it."""
Verb = Literal["prendre", "terminer", "annuler"]


@dataclass(frozen=True)
class CallRow:
    id: int
    number: int
    first_name: str | None
    category: str
    state: CallState
    waited: str  # "depuis 3 min"


def waited(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 1:
        return "depuis moins d'une minute"
    if minutes < 60:
        return f"depuis {minutes} min"
    return f"depuis {minutes // 60} h {minutes % 60:02d}"


def rows(calls: list[Call], now: datetime) -> list[CallRow]:
    return [
        CallRow(
            id=call.id,
            number=call.number,
            first_name=call.first_name,
            category=call.category.label if call.category else UNKNOWN_CATEGORY,
            state=call.state,
            waited=waited(call.opened if call.state is CallState.WAITING else call.taken or call.opened, now),
        )
        for call in calls
        if call.state in OPEN_STATES
    ]


@dataclass(frozen=True)
class Snapshot:
    html: str
    waiting_ids: tuple[int, ...]


def snapshot(ctx: ConsoleContext, login: Login) -> Snapshot:
    now = ctx.clock.now()
    with ctx.db() as store:
        calls = rows(ctx.queue.today(), now)
        present = staff_present(store)
    html = ctx.render_text("_calls.html", calls=calls, present=present, login=login)
    return Snapshot(html, tuple(c.id for c in calls if c.state is CallState.WAITING))


def add_routes(app: FastAPI, ctx: ConsoleContext) -> None:
    @app.get("/appels")
    def calls_page(request: Request, avis: str = "") -> Response:
        login: Login = request.state.login
        current = snapshot(ctx, login)
        return ctx.render(
            "calls.html",
            login=login,
            calls_html=current.html,
            waiting=len(current.waiting_ids),
            notice=NOTICES.get(avis, ""),
        )

    @app.post("/appels/{call_id}/{verb}")
    def act(request: Request, call_id: int, verb: Verb) -> Response:
        login: Login = request.state.login
        move = {"prendre": ctx.queue.take, "terminer": ctx.queue.finish, "annuler": ctx.queue.cancel}[verb]
        try:
            with ctx.db():
                call = move(call_id)
        except CallStateError:
            return RedirectResponse("/appels?avis=deja", status_code=303)
        except StoreBusy as error:
            raise Refused(503, "La base de données est occupée : réessayez dans un instant.") from error
        action = {"prendre": "call_take", "terminer": "call_finish", "annuler": "call_cancel"}[verb]
        ctx.audit(login.account, action, f"call {call.id} (n° {call.number} du {call.day.isoformat()})")
        return RedirectResponse(f"/appels?avis={verb}", status_code=303)

    @app.post("/presence")
    def presence(request: Request, present: Annotated[Literal["oui", "non"], Form()]) -> Response:
        login: Login = request.state.login
        with ctx.db() as store:
            set_staff_present(store, present == "oui", ctx.clock.now())
        ctx.audit(login.account, "presence", "present" if present == "oui" else "absent")
        return RedirectResponse(f"/appels?avis={'present' if present == 'oui' else 'absent'}", status_code=303)

    @app.get("/api/appels")
    def calls_json(request: Request) -> Response:
        now = ctx.clock.now()
        with ctx.db() as store:
            calls = rows(ctx.queue.today(), now)
            present = staff_present(store)
        return JSONResponse(
            {
                "present": present,
                "calls": [
                    {
                        "id": c.id,
                        "number": c.number,
                        "first_name": c.first_name,
                        "category": c.category,
                        "state": c.state.value,
                        "waited": c.waited,
                    }
                    for c in calls
                ],
            }
        )

    @app.get("/api/appels/flux")
    async def stream(request: Request) -> Response:
        login: Login = request.state.login
        token = request.cookies.get(COOKIE, "")

        def still_logged_in() -> bool:
            return ctx.locked(lambda: ctx.accounts.session(token, ctx.clock.now())) is not None

        async def events() -> AsyncIterator[str]:
            yield "retry: 1000\n\n"
            started = sent_at = time.monotonic()
            last: Snapshot | None = None
            while not ctx.stopping.is_set() and time.monotonic() - started < STREAM_MAX_S:
                if not await run_in_threadpool(still_logged_in):
                    yield "event: ended\ndata: {}\n\n"
                    return
                current = await run_in_threadpool(snapshot, ctx, login)
                if current != last:
                    data = json.dumps({"html": current.html, "waiting": list(current.waiting_ids)})
                    yield f"event: calls\ndata: {data}\n\n"
                    last, sent_at = current, time.monotonic()
                elif time.monotonic() - sent_at > KEEPALIVE_S:
                    yield ": keep-alive\n\n"
                    sent_at = time.monotonic()
                await asyncio.sleep(POLL_S)

        return StreamingResponse(events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})
