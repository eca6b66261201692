"""The console's print section ("Impressions", ``/impressions``): the terminal's CUPS jobs — held
for staff, waiting, printing, done today — with "Libérer" and "Annuler", and staff printing a PDF
or an image on any queue of the box.

Every CUPS call runs on a daemon thread bounded by :data:`CUPS_TIMEOUT_S` (:func:`bounded`): a
dead or hung cupsd gives a French message, never a 500 nor a page that hangs. Each action is
audit-logged with the job's number (never a title) and counted in the statistics: a release or a
cancellation as the resident's ``PrintJob`` (released, cancelled), a staff print as ``StaffPrint``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kiosk.agent.console.accounts import Login
from kiosk.agent.console.context import ConsoleContext
from kiosk.agent.console.print_jobs import (
    MAX_UPLOAD_BYTES,
    STAFF_TITLE,
    CupsDown,
    JobRow,
    UploadRefused,
    as_pdf,
    list_jobs,
    queues,
)
from kiosk.core.device_health import FAILURE_WORDS
from kiosk.core.devices import JobId, PrinterError, PrintOutcome
from kiosk.core.printing import known_jobs, pages_since, record_job
from kiosk.core.stats.events import PrintJob, StaffPrint
from kiosk.core.stats.recorder import StatsRecorder

log = logging.getLogger(__name__)
T = TypeVar("T")

PATH = "/impressions"
UPLOAD_PATH = "/impressions/imprimer"
CUPS_TIMEOUT_S = 4.0
MAX_COPIES = 20
NOTICES = {
    "liberee": "Impression libérée : elle sort à l'imprimante.",
    "annulee": "Impression annulée et effacée de l'imprimante.",
    "envoyee": "Document envoyé à l'imprimante. Le fichier reçu a été effacé de la borne.",
}


class CupsTimedOut(CupsDown):
    pass


_running_lock = threading.Lock()


async def bounded(name: str, call: Callable[[], T], running: set[str], timeout_s: float = CUPS_TIMEOUT_S) -> T:
    """``call()`` on a daemon thread, at most ``timeout_s``; a call of that name still hanging
    from before (``running``: one set per console) is not started again (``CupsTimedOut`` at once)."""
    with _running_lock:
        if name in running:
            raise CupsTimedOut("Le serveur d'impression (CUPS) ne répond pas (la demande précédente attend encore).")
        running.add(name)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    future.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved after a timeout too

    def settle(result: Any, error: BaseException | None) -> None:
        if not future.done():
            future.set_exception(error) if error is not None else future.set_result(result)

    def work() -> None:
        result: Any = None
        failure: BaseException | None = None
        try:
            result = call()
        except Exception as error:
            failure = error
        finally:
            with _running_lock:
                running.discard(name)
        with contextlib.suppress(RuntimeError):  # the loop may be gone
            loop.call_soon_threadsafe(settle, result, failure)

    threading.Thread(target=work, name=f"console-cups-{name}", daemon=True).start()
    try:
        return await asyncio.wait_for(asyncio.shield(future), timeout_s)
    except TimeoutError:
        log.warning("console.cups_timed_out", extra={"call": name, "timeout_s": timeout_s})
        raise CupsTimedOut(f"Le serveur d'impression (CUPS) ne répond pas (rien après {timeout_s:g} s).") from None


class UploadLimit:
    """Refuses an upload whose announced size passes the limit, before anything reads it."""

    def __init__(self, app: ASGIApp, limit: int = MAX_UPLOAD_BYTES + 64 * 1024) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == UPLOAD_PATH and scope["method"] == "POST":
            length = dict(scope["headers"]).get(b"content-length", b"")
            if not length.isdigit() or int(length) > self.limit:
                body = "Fichier trop gros (20 Mo au plus) : revenez en arrière et choisissez-en un autre.".encode()
                await send({"type": "http.response.start", "status": 413,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _printer_words(error: Exception) -> str:
    if isinstance(error, PrinterError):
        return "L'imprimante a refusé : " + FAILURE_WORDS.get(error.reason, "erreur inconnue") + "."
    if isinstance(error, CupsDown):
        return str(error)
    return "Le serveur d'impression (CUPS) ne répond pas."


def add_routes(app: FastAPI, ctx: ConsoleContext) -> None:
    running: set[str] = set()

    async def cups(name: str, call: Callable[[], T]) -> T:
        return await bounded(name, call, running)

    def printer(queue: str | None = None) -> Any:
        from kiosk.devices.cups import CupsPrinter

        return CupsPrinter(queue, ctx.cups_server)

    def recorder_record(event: Any) -> None:
        with ctx.db() as store:
            StatsRecorder(store, ctx.clock).record(event)

    async def page(login: Login, status: int = 200, notice: str = "", error: str = "") -> Response:
        now = ctx.clock.now()
        today = now.astimezone(ctx.zone).date()
        midnight = datetime.combine(today, time(), ctx.zone)
        with ctx.db() as store:
            known = known_jobs(store)
            staff_pages = pages_since(store, StaffPrint.kind, midnight)
        jobs: list[JobRow] = []
        names: list[str] = []
        default: str | None = None
        cups_error = ""
        try:
            jobs = await cups("jobs", lambda: list_jobs(ctx.cups_server, known, today, ctx.zone))
            names, default = await cups("queues", lambda: queues(ctx.cups_server))
        except CupsDown as down:
            cups_error = str(down)
        mine = ctx.settings.devices.printer_queue or default or ""
        return ctx.render(
            "printing.html",
            status=status,
            login=login,
            jobs=jobs,
            held=sum(1 for job in jobs if job.held),
            queues=sorted(names, key=lambda q: (q != mine, q)),
            mine=mine,
            cups_error=cups_error,
            notice=notice,
            error=error,
            max_copies=MAX_COPIES,
            staff_pages=staff_pages,
            max_mb=MAX_UPLOAD_BYTES // 1024 // 1024,
        )

    @app.get(PATH)
    async def printing(request: Request, avis: str = "") -> Response:
        return await page(request.state.login, notice=NOTICES.get(avis, ""))

    async def act(login: Login, number: int, action: str) -> Response:
        job_id = JobId(str(number))
        with ctx.db() as store:
            mine = known_jobs(store).get(job_id)
        try:
            if action == "release":
                await cups(f"release-{number}", lambda: printer().release(job_id))
            else:
                await cups(f"cancel-{number}", lambda: printer().cancel(job_id, purge=True))
        except (PrinterError, CupsDown) as error:
            return await page(login, status=503, error=_printer_words(error))
        ctx.audit(login.account, "print_release" if action == "release" else "print_cancel", f"job {number}")
        if mine is not None and mine.origin == "resident" and mine.held:
            outcome = PrintOutcome.RELEASED if action == "release" else PrintOutcome.CANCELLED
            recorder_record(PrintJob(pages=max(1, mine.pages * mine.copies), status=outcome))
        return RedirectResponse(f"{PATH}?avis={'liberee' if action == 'release' else 'annulee'}", status_code=303)

    @app.post(PATH + "/{number}/liberer")
    async def release(request: Request, number: int) -> Response:
        return await act(request.state.login, number, "release")

    @app.post(PATH + "/{number}/annuler")
    async def cancel(request: Request, number: int) -> Response:
        return await act(request.state.login, number, "cancel")

    @app.post(UPLOAD_PATH)
    async def staff_print(
        request: Request,
        document: UploadFile,
        queue: Annotated[str, Form(max_length=127)],
        copies: Annotated[int, Form()] = 1,
    ) -> Response:
        login: Login = request.state.login
        if not 1 <= copies <= MAX_COPIES:
            return await page(login, status=400, error=f"Nombre de copies : de 1 à {MAX_COPIES}.")
        data = await document.read(MAX_UPLOAD_BYTES + 1)
        await document.close()
        directory = tempfile.mkdtemp(prefix="borne-staff-print-")
        try:
            pdf, pages = as_pdf(data, Path(directory))
            del data
            job_id = await cups("staff-print", lambda: printer(queue).submit(pdf, title=STAFF_TITLE, copies=copies))
        except UploadRefused as refused:
            return await page(login, status=400, error=str(refused))
        except (PrinterError, CupsDown) as error:
            return await page(login, status=503, error=_printer_words(error))
        finally:
            shutil.rmtree(directory, ignore_errors=True)  # the staff's file leaves the terminal at once
        with ctx.db() as store:
            record_job(store, job_id, queue, pages, copies, held=False, origin="staff", at=ctx.clock.now())
        ctx.audit(login.account, "print_staff", f"job {job_id} ({pages * copies} p., {queue})")
        recorder_record(StaffPrint(pages=min(10_000, pages * copies)))
        return RedirectResponse(f"{PATH}?avis=envoyee", status_code=303)
