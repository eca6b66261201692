"""The federation server's HTTP API (FastAPI). Stateless: every process shares one database."""

import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import select

from sync.asgi import SecurityHeaders
from sync.protocol import (
    Catalogue,
    DailyBatch,
    EnrolmentAnswer,
    Heartbeat,
    IngestAnswer,
    payload_hash,
)
from sync.protocol import Enrolment as EnrolmentRequest
from sync.server import admin
from sync.server.db import Database
from sync.server.export import Scope as ReaderScope
from sync.server.export import export_rows, render_csv
from sync.server.ingest import Conflict, Refused, record_heartbeat, store_batch
from sync.server.middleware import SECURITY_HEADERS, BodyLimit, validation_error
from sync.server.models import ReadToken, Setting, Terminal
from sync.server.publication import GRACE_DAYS, is_published, published_periods
from sync.server.ratelimit import RateLimit
from sync.server.security import token_hash
from sync.server.settings import ServerSettings
from sync.vocabulary import periods
from sync.vocabulary.periods import Period, PeriodError

log = logging.getLogger(__name__)


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "missing token: send 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"})
    return authorization[7:].strip()


def _export_period(label: str | None, first: date | None, last: date | None, by: str) -> Period | None:
    """The one fixed period asked for: ``period=``, or ``from``/``to`` that are exactly one;
    ``None`` when none is asked for (the latest published month is meant)."""
    if by == "day":
        raise HTTPException(422, "no figure is published per day: ask for by=week, month or quarter")
    try:
        if label is not None:
            return Period.parse(label)
        if first is None and last is None:
            return None
        if first is None or last is None:
            raise PeriodError(f"give both from= and to=, or period= ({periods.HELP})")
        return periods.snap(first, last)
    except (PeriodError, OverflowError) as error:
        raise HTTPException(422, str(error) or "dates out of range") from None


EXPORTS_KEPT = 16
PERIOD_DEFAULT = "; without it (and without from/to), the latest published month"


def _latest_month(db: Database) -> Period:
    months = [period for period in published_periods(db) if period.kind == "month"]
    if not months:
        raise HTTPException(404, f"nothing is published yet: a month is published {GRACE_DAYS} days after it ends")
    return months[0]


def published_within(period: Period, kind: str) -> list[Period]:
    """The shorter periods of ``kind`` making ``period`` (its weeks, months or quarters)."""
    out: list[Period] = []
    todo = [period]
    while todo:
        current = todo.pop(0)
        if current.kind == kind:
            out.append(current)
        else:
            todo.extend(current.children())
    if not out:
        raise HTTPException(422, f"a {period.kind} has no {kind}s: by={kind} needs a longer period")
    return out


def create_app(db: Database, settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        """The publication job runs beside the requests, never inside one."""
        if not settings.publish_in_process:
            yield
            return
        from sync.server.schedule import PublicationSchedule

        schedule = PublicationSchedule(db)
        schedule.start()
        try:
            yield
        finally:
            schedule.stop()

    app = FastAPI(
        title="Borne — serveur de la fédération",
        version="1",
        description="Reçoit les statistiques anonymes des bornes et les met à disposition de la fédération.",
        docs_url=None,  # Swagger UI and ReDoc load third-party scripts: the schema is at /openapi.json
        redoc_url=None,
        lifespan=lifespan,
    )
    # The last added runs first: headers on every answer, then the rate limit, then the body.
    app.add_middleware(BodyLimit, timeout_s=settings.body_timeout_s)
    app.add_middleware(RateLimit, db=db, settings=settings)  # outside BodyLimit: a 413 or 408 counts too
    app.add_middleware(SecurityHeaders, headers=SECURITY_HEADERS)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.state.db = db
    app.state.settings = settings
    # Published figures and centres never change: an export, once rendered, is kept (a year of
    # centres is 50,000 rows, about a second to read and render), the last few per process.
    exports: dict[tuple[object, ...], tuple[bytes, int]] = {}
    exports_lock = threading.Lock()

    def device(request: Request, authorization: Annotated[str | None, Header()] = None) -> Terminal:
        token = _bearer(authorization)
        terminal: Terminal | None = getattr(request.state, "terminal", None)  # found by RateLimit
        if terminal is None:
            with db.session() as session:
                if session.execute(select(ReadToken).where(ReadToken.token_hash == token_hash(token))).scalar():
                    raise HTTPException(403, "a read token cannot write")
            raise HTTPException(401, "unknown token", {"WWW-Authenticate": "Bearer"})
        if terminal.revoked_at is not None:
            raise HTTPException(401, "this terminal's token was revoked", {"WWW-Authenticate": "Bearer"})
        return terminal

    def reader(request: Request, authorization: Annotated[str | None, Header()] = None) -> tuple[str, ReaderScope]:
        from sync.server.dashboard import current_user

        if authorization is None and (user := current_user(db, request)) is not None:
            return f"user:{user.username}", ReaderScope(user.scope_level, user.scope_value)
        token = _bearer(authorization)
        with db.session() as session:
            found = session.execute(
                select(ReadToken).where(ReadToken.token_hash == token_hash(token))
            ).scalar_one_or_none()
            if found is None or found.revoked_at is not None:
                raise HTTPException(401, "unknown or revoked read token", {"WWW-Authenticate": "Bearer"})
            return f"token:{found.name}", ReaderScope(found.scope_level, found.scope_value)

    @app.post("/api/v1/enrol", response_model=EnrolmentAnswer, tags=["terminals"])
    def enrol(request: EnrolmentRequest) -> EnrolmentAnswer:
        """Exchange a one-time enrolment code for the terminal's own token."""
        try:
            terminal, token, centre_name = admin.enrol(db, request.code, request.software_version)
        except admin.EnrolmentRefused as error:
            raise HTTPException(403, str(error)) from None
        log.info("terminal.enrolled", extra={"device": terminal.device_id})
        return EnrolmentAnswer(device_id=terminal.device_id, token=token, centre_name=centre_name)

    @app.post("/api/v1/batches", response_model=IngestAnswer, tags=["terminals"])
    def ingest(
        batch: DailyBatch,
        response: Response,
        terminal: Annotated[Terminal, Depends(device)],
        x_borne_device_clock: Annotated[datetime | None, Header()] = None,
    ) -> IngestAnswer:
        """Store one day of one terminal's figures. Sending the same batch again is harmless."""
        if batch.device_id != terminal.device_id:
            raise HTTPException(403, "this token belongs to another terminal")
        if batch.batch_id != DailyBatch.make_id(batch.device_id, batch.day, batch.version):
            raise HTTPException(422, "batch_id must be '<device_id>:<day>:v<version>'")
        try:
            stored = store_batch(db, terminal.id, batch, x_borne_device_clock)
        except Conflict:
            raise HTTPException(409, "a different batch with this id is already stored") from None
        except Refused as error:
            raise HTTPException(422, str(error)) from None
        response.status_code = 200 if stored.already else 201
        return IngestAnswer(
            status="already_stored" if stored.already else "stored",
            batch_id=batch.batch_id,
            clock_skew_flagged=stored.skew_flagged,
        )

    @app.post("/api/v1/heartbeats", tags=["terminals"])
    def heartbeat(beat: Heartbeat, terminal: Annotated[Terminal, Depends(device)]) -> dict[str, bool]:
        """The terminal's health, every few minutes."""
        if beat.device_id != terminal.device_id:
            raise HTTPException(403, "this token belongs to another terminal")
        return {"clock_skew_flagged": record_heartbeat(db, terminal.id, beat)}

    @app.get("/api/v1/catalogue", response_model=Catalogue, tags=["terminals"])
    def catalogue(
        _terminal: Annotated[Terminal, Depends(device)],
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        """The national tile catalogue, with an ETag."""
        with db.session() as session:
            setting = session.get(Setting, "catalogue")
        data = json.loads(setting.value) if setting else Catalogue(version=1).model_dump(mode="json")
        etag = f'"{payload_hash(data)[:32]}"'
        if if_none_match == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return JSONResponse(data, headers={"ETag": etag})

    @app.get("/api/v1/export", tags=["federation"])
    def export(
        who: Annotated[tuple[str, ReaderScope], Depends(reader)],
        period: Annotated[
            str | None, Query(max_length=8, pattern=periods.LABEL_PATTERN, description=periods.HELP + PERIOD_DEFAULT)
        ] = None,
        first: Annotated[date | None, Query(alias="from")] = None,
        last: Annotated[date | None, Query(alias="to")] = None,
        level: Literal["centre", "departement", "national"] = "national",
        format: Literal["csv", "json"] = "json",  # noqa: A002 - the public parameter's name
        by: Literal["period", "week", "month", "quarter", "day"] = "period",
        scope: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9A-Za-z]*$")] = None,
        departement: Annotated[str | None, Query(max_length=3, pattern=r"^[0-9AB]{2,3}$")] = None,
        metric: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_.]+$")] = None,
    ) -> Response:
        """Published figures of one fixed period (ISO week, month, quarter or year; ``by`` splits it
        into shorter ones) per centre, département or the whole network, small cells hidden."""
        asked = _export_period(period, first, last, by)
        name, scope_of_reader = who
        if not scope_of_reader.allows_level(level, scope, departement):
            raise HTTPException(403, f"this reader may only read {scope_of_reader.description}")
        chosen = asked or _latest_month(db)
        if not is_published(db, chosen):
            raise HTTPException(
                404, f"{chosen.label} is not published yet: a period is published {GRACE_DAYS} days after it ends"
            )
        parts = [chosen] if by == "period" else published_within(chosen, by)
        key = (level, tuple(p.label for p in parts), scope_of_reader, scope, departement, metric, format)
        if (found := exports.get(key)) is None:
            rows = export_rows(db, level, parts, scope_of_reader, scope=scope, departement=departement, metric=metric)
            if format == "csv":
                body = render_csv(rows).encode()
            else:
                body = bytes(JSONResponse({"period": chosen.label, "level": level, "rows": rows}).body)
            with exports_lock:  # requests run on a thread pool
                found = exports[key] = (body, len(rows))
                while len(exports) > EXPORTS_KEPT:
                    exports.pop(next(iter(exports)))
        body, count = found
        log.info("export", extra={"who": name, "level": level, "period": chosen.label, "rows": count})
        if format == "csv":
            filename = f"borne-{level}-{chosen.label}.csv"
            return Response(
                body,
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        return Response(body, media_type="application/json")

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    from sync.server.dashboard import router
    from sync.server.pages import router as pages

    app.include_router(router)
    app.include_router(pages)
    return app
