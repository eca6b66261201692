"""The staff console's FastAPI application: login, the guard every route goes through, static files.

Every route needs a login except those in :data:`PUBLIC`: the login form, the static files, and
the resource persons' agenda feeds (:mod:`.feeds`: a calendar application cannot log in; the
long random token in the address is the permission):
an app-wide dependency checks the session cookie, then, for anything but GET/HEAD, the form's
CSRF token. So a route added later is guarded without asking for it (a test enumerates them).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kiosk.agent.console import (
    admin,
    appointments,
    devices,
    feeds,
    live,
    persons,
    printing_page,
    settings_page,
    statistics,
)
from kiosk.agent.console.accounts import Login, same
from kiosk.agent.console.context import COOKIE, LOGIN_COOKIE, STATIC, ConsoleContext, NotLoggedIn, Refused
from kiosk.agent.console.security import HEADERS
from sync.asgi import SecurityHeaders

PUBLIC = frozenset({"/connexion", "/static/{name}", feeds.FEED_PATH})
SAFE_METHODS = frozenset({"GET", "HEAD"})
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
CSRF_REASON = "Ce formulaire a expiré ou ne vient pas de la console. Rechargez la page et recommencez."


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_console(ctx: ConsoleContext) -> FastAPI:
    async def guard(request: Request) -> None:
        route = request.scope.get("route")
        if getattr(route, "path", None) in PUBLIC:
            return
        token = request.cookies.get(COOKIE, "")
        login = await run_in_threadpool(lambda: ctx.locked(lambda: ctx.accounts.session(token, ctx.clock.now())))
        if login is None:
            raise NotLoggedIn()
        request.state.login = login
        if request.method not in SAFE_METHODS:
            sent: object = request.headers.get("x-csrf-token")
            if sent is None:
                sent = (await request.form()).get("csrf")
            if not isinstance(sent, str) or not same(sent, login.csrf):
                raise Refused(403, CSRF_REASON)

    app = FastAPI(
        title="Borne — console", docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(guard)]
    )
    app.add_middleware(SecurityHeaders, headers=HEADERS)
    app.add_middleware(printing_page.UploadLimit)

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, _error: NotLoggedIn) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "Connexion nécessaire."}, status_code=401)
        return RedirectResponse("/connexion", status_code=303)

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": error.reason}, status_code=error.status)
        login = getattr(request.state, "login", None)
        return ctx.render("refused.html", status=error.status, login=login, reason=error.reason)

    def login_page(request: Request, status: int = 200, error: str = "") -> Response:
        form_token = secrets.token_urlsafe(24)
        response = ctx.render("login.html", status=status, form_token=form_token, error=error)
        response.set_cookie(
            LOGIN_COOKIE, form_token, max_age=3600, secure=True, httponly=True, samesite="strict", path="/connexion"
        )
        return response

    @app.get("/connexion")
    def login_form(request: Request) -> Response:
        return login_page(request)

    @app.post("/connexion")
    def login(
        request: Request,
        name: Annotated[str, Form(max_length=200)] = "",
        password: Annotated[str, Form(max_length=500)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not same(csrf, expected):
            raise Refused(403, CSRF_REASON)
        address = request.client.host if request.client else "?"
        wait_s = ctx.throttle.blocked_for_s(address)
        if wait_s > 0:
            minutes = ctx.throttle.minutes(wait_s)
            reason = f"Trop d'essais, réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."
            return login_page(request, status=429, error=reason)
        account = ctx.locked(lambda: ctx.accounts.authenticate(name, password))
        if account is None:
            ctx.throttle.failed(address)
            ctx.audit("?", "login_failed", address)
            return login_page(request, status=401, error="Nom ou mot de passe incorrect.")
        token = ctx.locked(lambda: ctx.accounts.open_session(account, ctx.clock.now(), ctx.session_lasts))
        ctx.audit(account, "login", address)
        response = RedirectResponse("/appels", status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(ctx.session_lasts.total_seconds()),
            secure=True,
            httponly=True,
            samesite="strict",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/connexion", secure=True, httponly=True, samesite="strict")
        return response

    @app.post("/deconnexion")
    def logout(request: Request) -> Response:
        login: Login = request.state.login
        ctx.locked(lambda: ctx.accounts.close_session(request.cookies.get(COOKIE, "")))
        ctx.audit(login.account, "logout")
        response = RedirectResponse("/connexion", status_code=303)
        response.delete_cookie(COOKIE, secure=True, httponly=True, samesite="strict")
        return response

    @app.get("/")
    def home() -> Response:
        return RedirectResponse("/appels", status_code=303)

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        path = STATIC / name
        media = STATIC_TYPES.get(path.suffix)
        if media is None or "/" in name or name.startswith(".") or not path.is_file():
            return Response(status_code=404)
        return Response(path.read_bytes(), media_type=media)

    live.add_routes(app, ctx)
    appointments.add_routes(app, ctx)
    admin.add_routes(app, ctx)
    persons.add_routes(app, ctx)
    feeds.add_routes(app, ctx)
    devices.add_routes(app, ctx)
    statistics.add_routes(app, ctx)
    settings_page.add_routes(app, ctx)
    printing_page.add_routes(app, ctx)
    return app
