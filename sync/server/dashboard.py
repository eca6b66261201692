"""The federation's dashboard: French, server-rendered, usable on a phone.

Accounts log in with a password (scrypt); attempts are throttled per client address. The
session is a random id in an HttpOnly, SameSite=Strict cookie (Secure unless the server is
started with ``--insecure-cookies`` for a plain-http test), stored hashed in the database so
that any server process can check it. Every form carries a CSRF token bound to the session (the
login form, a token bound to a pre-login cookie).
"""

from __future__ import annotations

import csv
import hmac
import io
import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from sync.server import ratelimit
from sync.server.db import Database, aware, utcnow
from sync.server.models import Centre, Terminal, User, WebSession
from sync.server.ratelimit import client_address
from sync.server.security import check_password, csv_cell, hash_password, needs_rehash, token_hash
from sync.server.settings import ServerSettings

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

SESSION_COOKIE = "borne_session"
PRELOGIN_COOKIE = "borne_prelogin"
SESSION_HOURS = 8
STALE_HEARTBEAT = timedelta(minutes=20)
STALE_BATCH = timedelta(days=2)
STATIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _secure(request: Request) -> bool:
    settings: ServerSettings = request.app.state.settings
    return not settings.insecure_cookies


def current_user(db: Database, request: Request) -> User | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with db.session() as session:
        web = session.get(WebSession, token_hash(cookie))
        if web is None or (aware(web.expires_at) or utcnow()) < utcnow():
            return None
        user = session.get(User, web.user_id)
        if user is not None:
            session.expunge(user)
        request.state.csrf = web.csrf_token
        return user


def _require_user(request: Request) -> User:
    user = current_user(_db(request), request)
    if user is None:
        raise HTTPException(303, headers={"Location": "/login"})
    return user


def _check_csrf(request: Request, token: str) -> None:
    expected = getattr(request.state, "csrf", None)
    if not expected or not hmac.compare_digest(expected, token):
        raise HTTPException(403, "jeton CSRF invalide : rechargez la page")


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    if not STATIC_NAME.fullmatch(name):
        raise HTTPException(404)
    path = (HERE / "static" / name).resolve()
    vendor = (HERE / "static" / "vendor" / name).resolve()
    for candidate in (path, vendor):
        if candidate.is_file() and candidate.parent in (HERE / "static", HERE / "static" / "vendor"):
            return FileResponse(candidate, headers={"Cache-Control": "public, max-age=86400"})
    raise HTTPException(404)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(request, "login.html", {"csrf": token, "error": error})
    response.set_cookie(PRELOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request))
    return response


LOGIN_FAILED = "Identifiant ou mot de passe incorrect."
LOGIN_THROTTLED = "Trop d'essais depuis cette connexion : réessayez dans quelques minutes."


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    """Every attempt counts against the client's address (not the account: nobody can lock
    someone else out); every failure says the same and takes as long, account or not."""
    expected = request.cookies.get(PRELOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf):
        raise HTTPException(403, "jeton CSRF invalide : rechargez la page de connexion")
    db = _db(request)
    settings: ServerSettings = request.app.state.settings
    throttle = f"login:{client_address(request.scope)}"
    if (wait := ratelimit.take(db, throttle, settings.login_rate)) is not None:
        context = {"csrf": expected, "error": LOGIN_THROTTLED}
        headers = {"Retry-After": str(int(wait) + 1)}
        return templates.TemplateResponse(request, "login.html", context, status_code=429, headers=headers)
    with db.session() as session:
        stored = session.execute(select(User.password_hash).where(User.username == username)).scalar_one_or_none()
    if not check_password(password, stored):  # outside any transaction: it takes about a second
        context = {"csrf": expected, "error": LOGIN_FAILED}
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    assert stored is not None
    ratelimit.forget(db, throttle)
    session_id = secrets.token_urlsafe(32)
    upgraded = hash_password(password) if needs_rehash(stored) else None
    with db.session() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        if upgraded is not None:
            user.password_hash = upgraded
        session.add(
            WebSession(
                id_hash=token_hash(session_id),
                user_id=user.id,
                csrf_token=secrets.token_urlsafe(24),
                expires_at=utcnow() + timedelta(hours=SESSION_HOURS),
            )
        )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        max_age=SESSION_HOURS * 3600,
    )
    response.delete_cookie(PRELOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=100)]) -> Response:
    _require_user(request)
    _check_csrf(request, csrf)
    with _db(request).session() as session:
        web = session.get(WebSession, token_hash(request.cookies.get(SESSION_COOKIE, "")))
        if web is not None:
            session.delete(web)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- the fleet ------------------------------------------------------------------------------


def _terminal_row(terminal: Terminal) -> dict[str, Any]:
    import json

    now = utcnow()
    beat = aware(terminal.last_heartbeat_at)
    batch = aware(terminal.last_batch_at)
    health = json.loads(terminal.last_heartbeat) if terminal.last_heartbeat else {}
    problems = [
        f"{label} : {health[name].get('code') or health[name]['state']}"
        for name, label in (("printer", "imprimante"), ("scanner", "scanner"), ("ticket_printer", "tickets"))
        if isinstance(health.get(name), dict) and health[name].get("state") in ("warning", "error")
    ]
    if terminal.clock_skew_s is not None and abs(terminal.clock_skew_s) > 300:
        problems.append(f"horloge décalée de {round(terminal.clock_skew_s / 60)} min")
    return {
        "name": terminal.name,
        "device_id": terminal.device_id,
        "version": terminal.software_version or "–",
        "last_heartbeat": beat,
        "last_batch": batch,
        "stale": _stale(now, beat, batch),
        "revoked": terminal.revoked_at is not None,
        "enrolled": terminal.enrolled_at is not None,
        "problems": problems,
        "disk_free_mb": health.get("disk_free_mb"),
    }


def _stale(now: datetime, beat: datetime | None, batch: datetime | None) -> bool:
    return beat is None or now - beat > STALE_HEARTBEAT or batch is None or now - batch > STALE_BATCH


def _in_scope(query: Any, user: User) -> Any:
    """Only the terminals the user's scope covers (national: all; a département's; a centre's)."""
    if user.scope_level == "departement":
        return query.where(Centre.departement == user.scope_value)
    if user.scope_level == "centre":
        return query.where(Centre.id == int(user.scope_value))
    return query


def _fleet_rows(request: Request, user: User, ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The terminals in the user's scope, silent ones first (``ids``: these, in this order)."""
    with _db(request).session() as session:
        rows = []
        # The centre in the same query: one query for the whole fleet, not one per terminal.
        query = _in_scope(select(Terminal, Centre).join(Centre).order_by(Centre.departement, Centre.name), user)
        if ids is not None:
            query = query.where(Terminal.id.in_(ids))
        for terminal, centre in session.execute(query).all():
            row = _terminal_row(terminal)
            row["centre"] = f"{centre.name} ({centre.commune})"
            row["centre_id"] = terminal.centre_id
            row["id"] = terminal.id
            rows.append(row)
    if ids is not None:
        place = {terminal_id: n for n, terminal_id in enumerate(ids)}
        return sorted(rows, key=lambda r: place[r["id"]])
    rows.sort(key=lambda r: (not r["stale"], r["centre"]))
    return rows


def _fleet_order(request: Request, user: User) -> tuple[list[int], int]:
    """The ids of the terminals in the user's scope in the order of :func:`_fleet_rows`, and how
    many are silent, from a few columns (a page then reads only its own hundred terminals)."""
    query = select(Terminal.id, Terminal.last_heartbeat_at, Terminal.last_batch_at, Centre.name, Centre.commune)
    with _db(request).session() as session:
        found = session.execute(_in_scope(query.join(Centre).order_by(Centre.departement, Centre.name), user)).all()
    now = utcnow()
    order = [
        (not _stale(now, aware(beat), aware(batch)), f"{name} ({commune})", tid)
        for tid, beat, batch, name, commune in found
    ]
    order.sort(key=lambda entry: entry[:2])  # stable: the query's order among equals, as in the CSV
    return [tid for _, _, tid in order], sum(1 for fresh, _, _ in order if not fresh)


@router.get("/parc.csv")
def fleet_csv(request: Request) -> Response:
    user = _require_user(request)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["centre", "borne", "device_id", "version", "dernier_signal", "derniere_synchro", "silencieuse", "problemes"]
    )
    for r in _fleet_rows(request, user):
        writer.writerow(
            csv_cell(cell)
            for cell in (
                r["centre"],
                r["name"],
                r["device_id"],
                r["version"],
                r["last_heartbeat"].isoformat() if r["last_heartbeat"] else "",
                r["last_batch"].isoformat() if r["last_batch"] else "",
                "oui" if r["stale"] else "non",
                "; ".join(r["problems"]),
            )
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="parc-de-bornes.csv"'},
    )


FLEET_PAGE = 100  # terminals per page of /parc (the CSV has them all)


@router.get("/parc", response_class=HTMLResponse)
def fleet(request: Request, page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """The terminals, silent ones first, a hundred per page."""
    user = _require_user(request)
    ids, silent = _fleet_order(request, user)
    pages = max(1, -(-len(ids) // FLEET_PAGE))
    if page > pages:
        raise HTTPException(404, f"il n'y a que {pages} page(s)")
    context = {
        "user": user,
        "csrf": request.state.csrf,
        "terminals": _fleet_rows(request, user, ids[(page - 1) * FLEET_PAGE : page * FLEET_PAGE]),
        "total": len(ids),
        "silent": silent,
        "page": page,
        "pages": pages,
    }
    return templates.TemplateResponse(request, "fleet.html", context)
