"""The federation server's HTTP API (FastAPI). Stateless: every process shares one database."""

import json
import logging
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import select

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
from sync.server.bounds import period_problem
from sync.server.db import Database
from sync.server.export import export_rows, render_csv
from sync.server.ingest import Conflict, Refused, record_heartbeat, store_batch
from sync.server.middleware import BodyLimit, SecurityHeaders, validation_error
from sync.server.models import ReadToken, Setting, Terminal
from sync.server.ratelimit import RateLimit
from sync.server.security import token_hash
from sync.server.settings import ServerSettings

log = logging.getLogger(__name__)


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "missing token: send 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"})
    return authorization[7:].strip()


def create_app(db: Database, settings: ServerSettings | None = None) -> FastAPI:
    app = FastAPI(
        title="Borne — serveur de la fédération",
        version="1",
        description="Reçoit les statistiques anonymes des bornes et les met à disposition de la fédération.",
        docs_url=None,  # Swagger UI and ReDoc load third-party scripts: the schema is at /openapi.json
        redoc_url=None,
    )
    settings = settings or ServerSettings()
    # The last added runs first: headers on every answer, then the rate limit, then the body.
    app.add_middleware(BodyLimit, timeout_s=settings.body_timeout_s)
    app.add_middleware(RateLimit, db=db, settings=settings)  # outside BodyLimit: a 413 or 408 counts too
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.state.db = db
    app.state.settings = settings

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

    def reader(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
        from sync.server.dashboard import current_user

        if authorization is None and (user := current_user(db, request)) is not None:
            return f"user:{user.username}"
        token = _bearer(authorization)
        with db.session() as session:
            found = session.execute(
                select(ReadToken).where(ReadToken.token_hash == token_hash(token))
            ).scalar_one_or_none()
            if found is None or found.revoked_at is not None:
                raise HTTPException(401, "unknown or revoked read token", {"WWW-Authenticate": "Bearer"})
            return f"token:{found.name}"

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
        who: Annotated[str, Depends(reader)],
        first: Annotated[date, Query(alias="from")],
        last: Annotated[date, Query(alias="to")],
        level: Literal["centre", "departement", "national"] = "national",
        format: Literal["csv", "json"] = "json",  # noqa: A002 - the public parameter's name
        by: Literal["period", "day"] = "period",
        scope: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9A-Za-z]*$")] = None,
        departement: Annotated[str | None, Query(max_length=3, pattern=r"^[0-9AB]{2,3}$")] = None,
        metric: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_.]+$")] = None,
    ) -> Response:
        """Figures of the period per centre, département or the whole network, small cells hidden."""
        if (problem := period_problem(first, last)) is not None:
            raise HTTPException(422, problem)
        if last < first:
            raise HTTPException(422, "'to' is before 'from'")
        if (last - first).days > 3 * 366:
            raise HTTPException(422, "ask for at most three years at once")
        rows = export_rows(
            db, level, first, last, by_day=by == "day", scope=scope, departement=departement, metric=metric
        )
        log.info("export", extra={"who": who, "level": level, "rows": len(rows)})
        if format == "csv":
            filename = f"borne-{level}-{first}-{last}.csv"
            return PlainTextResponse(
                render_csv(rows),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        return JSONResponse({"from": str(first), "to": str(last), "level": level, "rows": rows})

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    from sync.server.dashboard import router

    app.include_router(router)
    return app
