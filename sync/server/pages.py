"""The dashboard's figure pages: the network, a département, a centre, for one published period.

Every figure comes from ``published_cells`` (:mod:`sync.server.publication`): fixed periods,
small cells hidden the same way for everyone. A user sees only the places of their scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from sync.server.bounds import MAX_ID
from sync.server.dashboard import _db, _require_user, _terminal_row, templates
from sync.server.db import Database
from sync.server.export import Scope
from sync.server.models import Centre, PublishedCell, User
from sync.server.publication import GRACE_DAYS, Figure, figure_by_scope, figures, published_periods
from sync.vocabulary import CATEGORY_LABELS
from sync.vocabulary.periods import Period, PeriodError

router = APIRouter(include_in_schema=False)

SATISFACTION_LABELS = {
    "content": "Contents",
    "moyen": "Moyen",
    "mecontent": "Pas contents",
    "sans_reponse": "Sans réponse",
}
HIDDEN = "—"


@dataclass
class Overview:
    """What a page shows; ``None`` is a hidden figure."""

    sessions: int | None = None
    mediator_calls: int | None = None
    answered_share: int | None = None
    appointments: int | None = None
    pages_printed: int | None = None
    scan_pages: int | None = None
    series: list[tuple[Period, int | None]] = field(default_factory=list)
    categories: list[tuple[str, int | None]] = field(default_factory=list)
    satisfaction: list[tuple[str, int | None]] = field(default_factory=list)
    hours: list[tuple[str, int | None]] = field(default_factory=list)
    hidden: int = 0


def _value(found: dict[tuple[str, str], Figure], metric: str, key: str = "") -> int | None:
    figure = found.get((metric, key))
    return 0 if figure is None else figure.value


def overview(db: Database, level: str, scope: str, period: Period) -> Overview:
    found = figures(db, level, scope, period)
    page = Overview(
        sessions=_value(found, "sessions"),
        mediator_calls=_value(found, "mediator", "opened"),
        appointments=_value(found, "appointments_booked_total"),
        pages_printed=_value(found, "printing", "pages_printed"),
        scan_pages=_value(found, "scan_pages"),
    )
    taken, missed = _value(found, "mediator", "taken"), _value(found, "mediator", "missed")
    if taken is not None and missed is not None and taken + missed:
        page.answered_share = round(100 * taken / (taken + missed))
    page.categories = sorted(
        ((key, f.value) for (metric, key), f in found.items() if metric == "categories" and f.value is not None),
        key=lambda item: (-(item[1] or 0), item[0]),
    )
    page.satisfaction = [
        (key, f.value) for key in SATISFACTION_LABELS if (f := found.get(("answers.satisfaction", key))) and f.value
    ]
    page.hours = sorted(
        ((key, f.value) for (metric, key), f in found.items() if metric == "hours" and f.value is not None),
        key=lambda item: (not item[0].isdigit(), int(item[0]) if item[0].isdigit() else 0),
    )
    page.hidden = sum(1 for figure in found.values() if figure.value is None)
    children = period.children() if period.kind != "year" else [m for q in period.children() for m in q.children()]
    with db.session() as session:
        rows = session.execute(
            select(PublishedCell.period, PublishedCell.value, PublishedCell.hidden).where(
                PublishedCell.level == level,
                PublishedCell.scope == scope,
                PublishedCell.metric == "sessions",
                PublishedCell.key == "",
                PublishedCell.period.in_([c.label for c in children]),
            )
        ).all()
    shown = {period: None if hidden else int(value) for period, value, hidden in rows}
    page.series = [(child, shown.get(child.label, 0)) for child in children]
    return page


def user_scope(user: User) -> Scope:
    return Scope(user.scope_level, user.scope_value)


def _home(scope: Scope) -> str:
    if scope.level == "departement":
        return f"/departements/{scope.value}"
    if scope.level == "centre":
        return f"/centres/{scope.value}"
    return "/"


def _chosen(db: Database, label: str | None) -> tuple[Period | None, list[Period]]:
    available = published_periods(db)
    if label is None:
        months = [p for p in available if p.kind == "month"]
        return (months[0] if months else None), available
    try:
        period = Period.parse(label)
    except PeriodError as error:
        raise HTTPException(422, f"période inconnue : {error}") from None
    if period not in available:
        raise HTTPException(404, f"la période {period.label} n'est pas publiée ({GRACE_DAYS} jours après sa fin)")
    return period, available


def _render(
    request: Request,
    user: User,
    title: str,
    level: str,
    scope: str,
    label: str | None,
    crumbs: list[tuple[str, str]],
    extra: dict[str, Any] | None = None,
) -> Response:
    db = _db(request)
    period, available = _chosen(db, label)
    context: dict[str, Any] = {
        "user": user,
        "csrf": request.state.csrf,
        "title": title,
        "level": level,
        "scope": scope,
        "period": period,
        "available": available,
        "figures": overview(db, level, scope, period) if period else None,
        "children": _children(db, level, scope, period, user_scope(user)) if period else [],
        "crumbs": crumbs,
        "categories": CATEGORY_LABELS,
        "satisfaction_labels": SATISFACTION_LABELS,
        "grace_days": GRACE_DAYS,
        "hidden_word": HIDDEN,
        **(extra or {}),
    }
    return templates.TemplateResponse(request, "overview.html", context)


def _children(db: Database, level: str, scope: str, period: Period, reader: Scope) -> list[dict[str, Any]]:
    """The next level down with its sessions: départements of the nation, centres of a département."""
    if level == "national":
        sessions = figure_by_scope(db, "departement", period, "sessions")
        return [
            {"name": code, "href": f"/departements/{code}", "sessions": figure.value}
            for code, figure in sorted(sessions.items())
        ]
    if level != "departement":
        return []
    sessions = figure_by_scope(db, "centre", period, "sessions")
    with db.session() as session:
        centres = list(
            session.execute(select(Centre).where(Centre.departement == scope).order_by(Centre.name)).scalars()
        )
    return [
        {
            "name": f"{c.name} ({c.commune})",
            "href": f"/centres/{c.id}",
            "sessions": sessions[str(c.id)].value if str(c.id) in sessions else 0,
        }
        for c in centres
    ]


@router.get("/", response_class=HTMLResponse)
def national(request: Request, periode: str | None = None) -> Response:
    user = _require_user(request)
    scope = user_scope(user)
    if scope.level != "national":
        return RedirectResponse(_home(scope) + (f"?periode={periode}" if periode else ""), status_code=303)
    return _render(request, user, "Tout le réseau", "national", "", periode, [])


@router.get("/departements/{code}", response_class=HTMLResponse)
def departement(request: Request, code: str, periode: str | None = None) -> Response:
    user = _require_user(request)
    if not code.isalnum() or len(code) > 3:
        raise HTTPException(404)
    scope = user_scope(user)
    if scope.level == "centre" or (scope.level == "departement" and scope.value != code):
        raise HTTPException(403, f"votre compte donne accès à {scope.description} seulement")
    crumbs = [("Tout le réseau", "/")] if scope.level == "national" else []
    return _render(request, user, f"Département {code}", "departement", code, periode, crumbs)


@router.get("/centres/{centre_id}", response_class=HTMLResponse)
def centre(
    request: Request, centre_id: Annotated[int, PathParam(ge=1, le=MAX_ID)], periode: str | None = None
) -> Response:
    user = _require_user(request)
    with _db(request).session() as session:
        found = session.get(Centre, centre_id)
        if found is None:
            raise HTTPException(404, "centre inconnu")
        terminals = [_terminal_row(t) for t in found.terminals]
        title, dep = f"{found.name} ({found.commune})", found.departement
    scope = user_scope(user)
    if not scope.allows("centre", str(centre_id), {str(centre_id): dep}):
        raise HTTPException(403, f"votre compte donne accès à {scope.description} seulement")
    crumbs = []
    if scope.level == "national":
        crumbs.append(("Tout le réseau", "/"))
    if scope.level in ("national", "departement"):
        crumbs.append((f"Département {dep}", f"/departements/{dep}"))
    extra = {"terminals": terminals}
    return _render(request, user, title, "centre", str(centre_id), periode, crumbs, extra)
