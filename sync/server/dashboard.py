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
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from sync.server import ratelimit
from sync.server.bounds import EARLIEST_DAY, LATEST_DAY, MAX_ID, period_problem
from sync.server.db import Database, aware, utcnow
from sync.server.models import Centre, Terminal, UsageCell, User, WebSession
from sync.server.ratelimit import client_address
from sync.server.security import check_password, csv_cell, hash_password, needs_rehash, token_hash
from sync.server.settings import ServerSettings
from sync.vocabulary import CATEGORY_LABELS, DEFAULT_K, suppress_table

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

SESSION_COOKIE = "borne_session"
PRELOGIN_COOKIE = "borne_prelogin"
SESSION_HOURS = 8
STALE_HEARTBEAT = timedelta(minutes=20)
STALE_BATCH = timedelta(days=2)
STATIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

SATISFACTION_LABELS = {
    "content": "Contents",
    "moyen": "Moyen",
    "mecontent": "Pas contents",
    "sans_reponse": "Sans réponse",
}
WEEKDAYS = ("Lun", "Mar", "Mer", "Jeu", "Ven", "Sam", "Dim")


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


# -- figures for a page --------------------------------------------------------------------------


@dataclass
class Overview:
    sessions: int = 0
    terminal_days: int = 0
    weekly: dict[date, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    mediator: dict[str, int] = field(default_factory=dict)
    appointments: int = 0
    pages_printed: int = 0
    scan_pages: int = 0
    satisfaction: dict[str, int | None] = field(default_factory=dict)
    heatmap: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])
    children: list[dict[str, Any]] = field(default_factory=list)

    @property
    def answered_share(self) -> int | None:
        calls = self.mediator.get("taken", 0) + self.mediator.get("missed", 0)
        return round(100 * self.mediator.get("taken", 0) / calls) if calls else None

    @property
    def heat_max(self) -> int:
        return max((max(row) for row in self.heatmap), default=0) or 1


def overview(db: Database, level: str, scope: str, first: date, last: date) -> Overview:
    figures = Overview()
    query = (
        select(UsageCell.day, UsageCell.metric, UsageCell.key, UsageCell.value)
        .where(UsageCell.level == level, UsageCell.scope == scope, UsageCell.day >= first, UsageCell.day <= last)
        .where(
            UsageCell.metric.in_(
                (
                    "sessions",
                    "terminal_days",
                    "categories",
                    "mediator",
                    "appointments_booked",
                    "printing",
                    "scan_pages",
                    "hours",
                    "answers.satisfaction",
                )
            )
        )
    )
    satisfaction: dict[str, int] = defaultdict(int)
    with db.session() as session:
        for day, metric, key, value in session.execute(query):
            if metric == "sessions":
                figures.sessions += value
                week = day - timedelta(days=day.weekday())
                figures.weekly[week] = figures.weekly.get(week, 0) + value
            elif metric == "terminal_days":
                figures.terminal_days += value
            elif metric == "categories":
                figures.categories[key] = figures.categories.get(key, 0) + value
            elif metric == "mediator":
                figures.mediator[key] = figures.mediator.get(key, 0) + value
            elif metric == "appointments_booked":
                figures.appointments += value
            elif metric == "printing" and key == "pages_printed":
                figures.pages_printed += value
            elif metric == "scan_pages":
                figures.scan_pages += value
            elif metric == "hours":
                figures.heatmap[day.weekday()][int(key)] += value
            elif metric == "answers.satisfaction":
                satisfaction[key] += value
    week = first - timedelta(days=first.weekday())
    while week <= last:
        figures.weekly.setdefault(week, 0)
        week += timedelta(days=7)
    figures.weekly = dict(sorted(figures.weekly.items()))
    figures.categories = dict(sorted(figures.categories.items(), key=lambda item: -item[1]))
    table = {key: satisfaction.get(key, 0) for key in SATISFACTION_LABELS}
    figures.satisfaction = suppress_table(table, DEFAULT_K, f"{level}|{scope}|{first}..{last}".encode())
    return figures


def _children(db: Database, level: str, scope: str | None, first: date, last: date) -> list[dict[str, Any]]:
    """The next level down with its sessions: départements of the nation, centres of a département."""
    with db.session() as session:
        if level == "departement":
            rows = session.execute(
                select(UsageCell.scope, func.sum(UsageCell.value))
                .where(UsageCell.level == "departement", UsageCell.metric == "sessions")
                .where(UsageCell.day >= first, UsageCell.day <= last)
                .group_by(UsageCell.scope)
                .order_by(UsageCell.scope)
            ).all()
            return [{"name": code, "href": f"/departements/{code}", "sessions": int(total)} for code, total in rows]
        centres = session.execute(select(Centre).where(Centre.departement == scope).order_by(Centre.name)).scalars()
        totals = dict(
            session.execute(
                select(UsageCell.scope, func.sum(UsageCell.value))
                .where(UsageCell.level == "centre", UsageCell.metric == "sessions")
                .where(UsageCell.day >= first, UsageCell.day <= last)
                .group_by(UsageCell.scope)
            ).all()
        )
        return [
            {"name": f"{c.name} ({c.commune})", "href": f"/centres/{c.id}", "sessions": int(totals.get(str(c.id), 0))}
            for c in centres
        ]


PERIOD_BOUNDS = f"dates entre le {EARLIEST_DAY:%d/%m/%Y} et le {LATEST_DAY:%d/%m/%Y}"


def _period(start: str | None, end: str | None) -> tuple[date, date]:
    today = utcnow().date()
    try:
        last = date.fromisoformat(end) if end else today - timedelta(days=1)
        if period_problem(last, last) is not None:
            raise HTTPException(422, PERIOD_BOUNDS)
        first = date.fromisoformat(start) if start else last - timedelta(weeks=12) + timedelta(days=1)
    except ValueError:
        raise HTTPException(422, "dates au format AAAA-MM-JJ") from None
    if period_problem(first, last) is not None:
        raise HTTPException(422, PERIOD_BOUNDS)
    if first > last or (last - first).days > 3 * 366:
        raise HTTPException(422, "période invalide (au plus trois ans)")
    return first, last


def _render(
    request: Request,
    user: User,
    title: str,
    level: str,
    scope: str,
    first: date,
    last: date,
    children: list[dict[str, Any]],
    crumbs: list[tuple[str, str]],
    extra: dict[str, Any] | None = None,
) -> Response:
    figures = overview(_db(request), level, scope, first, last)
    context = {
        "user": user,
        "csrf": request.state.csrf,
        "title": title,
        "level": level,
        "scope": scope,
        "first": first,
        "last": last,
        "figures": figures,
        "children": children,
        "crumbs": crumbs,
        "categories": CATEGORY_LABELS,
        "satisfaction_labels": SATISFACTION_LABELS,
        "weekdays": WEEKDAYS,
        "k": DEFAULT_K,
        **(extra or {}),
    }
    return templates.TemplateResponse(request, "overview.html", context)


@router.get("/", response_class=HTMLResponse)
def national(request: Request, start: str | None = None, end: str | None = None) -> Response:
    user = _require_user(request)
    first, last = _period(start, end)
    children = _children(_db(request), "departement", None, first, last)
    return _render(request, user, "Tout le réseau", "national", "", first, last, children, [])


@router.get("/departements/{code}", response_class=HTMLResponse)
def departement(request: Request, code: str, start: str | None = None, end: str | None = None) -> Response:
    user = _require_user(request)
    first, last = _period(start, end)
    if not code.isalnum() or len(code) > 3:
        raise HTTPException(404)
    children = _children(_db(request), "centre", code, first, last)
    return _render(
        request, user, f"Département {code}", "departement", code, first, last, children, [("Tout le réseau", "/")]
    )


@router.get("/centres/{centre_id}", response_class=HTMLResponse)
def centre(
    request: Request,
    centre_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    start: str | None = None,
    end: str | None = None,
) -> Response:
    user = _require_user(request)
    first, last = _period(start, end)
    with _db(request).session() as session:
        found = session.get(Centre, centre_id)
        if found is None:
            raise HTTPException(404, "centre inconnu")
        terminals = [_terminal_row(t) for t in found.terminals]
        title, dep = f"{found.name} ({found.commune})", found.departement
    crumbs = [("Tout le réseau", "/"), (f"Département {dep}", f"/departements/{dep}")]
    return _render(request, user, title, "centre", str(centre_id), first, last, [], crumbs, {"terminals": terminals})


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
        "stale": beat is None or now - beat > STALE_HEARTBEAT or batch is None or now - batch > STALE_BATCH,
        "revoked": terminal.revoked_at is not None,
        "enrolled": terminal.enrolled_at is not None,
        "problems": problems,
        "disk_free_mb": health.get("disk_free_mb"),
    }


def _fleet_rows(request: Request) -> list[dict[str, Any]]:
    with _db(request).session() as session:
        rows = []
        for terminal in session.execute(
            select(Terminal).join(Centre).order_by(Centre.departement, Centre.name)
        ).scalars():
            row = _terminal_row(terminal)
            row["centre"] = f"{terminal.centre.name} ({terminal.centre.commune})"
            row["centre_id"] = terminal.centre_id
            rows.append(row)
    rows.sort(key=lambda r: (not r["stale"], r["centre"]))
    return rows


@router.get("/parc.csv")
def fleet_csv(request: Request) -> Response:
    _require_user(request)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["centre", "borne", "device_id", "version", "dernier_signal", "derniere_synchro", "silencieuse", "problemes"]
    )
    for r in _fleet_rows(request):
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


@router.get("/parc", response_class=HTMLResponse)
def fleet(request: Request) -> Response:
    user = _require_user(request)
    rows = _fleet_rows(request)
    return templates.TemplateResponse(
        request,
        "fleet.html",
        {"user": user, "csrf": request.state.csrf, "terminals": rows},
    )
