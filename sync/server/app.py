"""The federation server's HTTP API (FastAPI). Stateless: every process shares one database."""

import json
import logging
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.protocol import (
    MAX_BATCH_BYTES,
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
from sync.server.export import export_rows, render_csv
from sync.server.ingest import Conflict, RateLimited, record_heartbeat, store_batch
from sync.server.models import ReadToken, Setting, Terminal
from sync.server.security import token_hash
from sync.server.settings import ServerSettings

log = logging.getLogger(__name__)


class BodyLimit:
    """Refuse request bodies over the limit (413) before any handler parses them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        too_large = JSONResponse({"detail": f"body larger than {MAX_BATCH_BYTES} bytes"}, status_code=413)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BATCH_BYTES):
            await too_large(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BATCH_BYTES:
                await too_large(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "missing token: send 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"})
    return authorization[7:].strip()


def create_app(db: Database, settings: ServerSettings | None = None) -> FastAPI:
    app = FastAPI(
        title="Borne — serveur de la fédération",
        version="1",
        description="Reçoit les statistiques anonymes des bornes et les met à disposition de la fédération.",
    )
    app.add_middleware(BodyLimit)
    app.state.db = db
    app.state.settings = settings or ServerSettings()

    def device(authorization: Annotated[str | None, Header()] = None) -> Terminal:
        token = _bearer(authorization)
        digest = token_hash(token)
        with db.session() as session:
            terminal = session.execute(select(Terminal).where(Terminal.token_hash == digest)).scalar_one_or_none()
            if terminal is None:
                if session.execute(select(ReadToken).where(ReadToken.token_hash == digest)).scalar_one_or_none():
                    raise HTTPException(403, "a read token cannot write")
                raise HTTPException(401, "unknown token", {"WWW-Authenticate": "Bearer"})
            if terminal.revoked_at is not None:
                raise HTTPException(401, "this terminal's token was revoked", {"WWW-Authenticate": "Bearer"})
            session.expunge(terminal)
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

    @app.exception_handler(RateLimited)
    async def _rate_limited(_request: Request, error: RateLimited) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=429, headers={"Retry-After": str(error.retry_after_s)})

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
