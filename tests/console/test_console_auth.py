"""Who may use the console: login required everywhere, CSRF, throttling, roles, headers."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from kiosk.agent.console.app import PUBLIC
from tests.console.conftest import ADMIN, STAFF, ConsoleServer, form_token, login_token

pytestmark = pytest.mark.console

SAMPLE = {
    "call_id": "1",
    "verb": "prendre",
    "name": "console.js",
    "ref": "abc",
    "person_id": "marie",
    "token": "t",
    "closure_id": "1",
    "number": "1",
}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: SAMPLE[m.group(1)], path)


def test_no_page_or_api_without_a_login(console_server: ConsoleServer) -> None:
    routes = console_server.console.app.routes
    # Only FastAPI routes get the app's guard: a mounted app or a bare Starlette route would not.
    assert all(isinstance(r, APIRoute) for r in routes), [r for r in routes if not isinstance(r, APIRoute)]
    routes = [r for r in routes if isinstance(r, APIRoute)]
    guarded = [(method, r.path) for r in routes if r.path not in PUBLIC for method in sorted(r.methods)]
    # Every route the app has is tried (a new one is too); these must be among them.
    assert {
        ("GET", "/appels"),
        ("POST", "/appels/{call_id}/{verb}"),
        ("GET", "/api/appels/flux"),
        ("GET", "/comptes"),
        ("POST", "/comptes"),
        ("POST", "/presence"),
        ("GET", "/rendez-vous"),
        ("GET", "/rendez-vous/semaine"),
        ("GET", "/rendez-vous/nouveau"),
        ("POST", "/rendez-vous/nouveau"),
        ("GET", "/rendez-vous/{ref}/deplacer"),
        ("POST", "/rendez-vous/{ref}/deplacer"),
        ("POST", "/rendez-vous/{ref}/{verb}"),
        ("GET", "/personnes"),
        ("POST", "/personnes/nouvelle"),
        ("POST", "/personnes/{person_id}"),
        ("POST", "/personnes/{person_id}/desactiver"),
        ("POST", "/personnes/{person_id}/agenda"),
        ("GET", "/appareils"),
        ("GET", "/statistiques"),
        ("GET", "/statistiques.csv"),
        ("GET", "/reglages"),
        ("POST", "/reglages/fermetures"),
        ("POST", "/reglages/fermetures/{closure_id}/supprimer"),
    } <= set(guarded)
    client = console_server.client()
    for method, path in guarded:
        answer = client.request(method, console_server.url + concrete(path), allow_redirects=False, data={"csrf": "x"})
        if path.startswith("/api/"):
            assert answer.status_code == 401, (method, path, answer.status_code)
            assert answer.json() == {"detail": "Connexion nécessaire."}
        else:
            assert (answer.status_code, answer.headers.get("location")) == (303, "/connexion"), (method, path)
    # A cookie that is not a login is no better than none.
    client.cookies.set("borne_console", "not-a-token")
    assert client.get(console_server.url + "/api/appels").status_code == 401
    # What is public: the login form, the static files and — the documented exception — the
    # persons' agenda feeds, which a calendar application fetches without a login: the long
    # random token in the address is the permission (an unknown one answers 404, not a page).
    assert {"/connexion", "/static/{name}", "/agenda/{token}.ics"} == PUBLIC
    feed = client.get(console_server.url + "/agenda/" + "x" * 43 + ".ics", allow_redirects=False)
    assert feed.status_code == 404 and feed.text == "Adresse inconnue.\n"
    assert client.get(console_server.url + "/static/console.js").headers["content-type"].startswith("text/javascript")
    for name in ("..%2Fapp.py", "app.py", ".hidden.js", "templates%2Fbase.html"):
        assert client.get(console_server.url + "/static/" + name).status_code == 404, name


def test_the_session_cookie_and_headers(console_server: ConsoleServer) -> None:
    client = console_server.client()
    token = login_token(client, console_server.url)
    answer = client.post(
        console_server.url + "/connexion",
        data={"name": ADMIN[0], "password": ADMIN[1], "csrf": token},
        allow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/appels"
    cookie = next(c for c in answer.raw.headers.getlist("set-cookie") if c.startswith("borne_console="))
    assert {"secure", "httponly", "samesite=strict"} <= {part.strip().lower() for part in cookie.split(";")}
    page = client.get(console_server.url + "/appels")
    assert page.status_code == 200 and "Appels du jour" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "<script>" not in page.text and 'src="/static/console.js"' in page.text
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["cache-control"] == "no-store"
    # Logging out ends the session on the server, not only in this browser.
    stolen = client.cookies.get("borne_console")
    out = client.post(console_server.url + "/deconnexion", data={"csrf": form_token(page.text)}, allow_redirects=False)
    assert out.status_code == 303
    thief = console_server.client()
    thief.cookies.set("borne_console", stolen)
    assert thief.get(console_server.url + "/api/appels").status_code == 401


def test_a_post_without_the_right_csrf_token_is_refused(console_server: ConsoleServer) -> None:
    client = console_server.login(*STAFF)
    url = console_server.url + "/presence"
    for data in ({"present": "oui"}, {"present": "oui", "csrf": "forged"}):
        refused = client.post(url, data=data, allow_redirects=False)
        assert refused.status_code == 403 and "Ce formulaire a expiré" in refused.text
    with console_server.console.context.db() as store:
        assert store.conn.execute("SELECT COUNT(*) FROM agent_status").fetchone()[0] == 0
    good = form_token(client.get(console_server.url + "/appels").text)
    assert client.post(url, data={"present": "oui", "csrf": good}, allow_redirects=False).status_code == 303
    # Another session's token is not this one's.
    other = form_token(console_server.login(*ADMIN).get(console_server.url + "/appels").text)
    assert other != good
    assert client.post(url, data={"present": "non", "csrf": other}, allow_redirects=False).status_code == 403
    # The login form has its own token: a login posted from elsewhere is refused.
    stranger = console_server.client()
    answer = stranger.post(
        console_server.url + "/connexion", data={"name": ADMIN[0], "password": ADMIN[1], "csrf": "x"}
    )
    assert answer.status_code == 403 and "borne_console" not in stranger.cookies


def test_failed_logins_are_throttled_per_address(console_server: ConsoleServer) -> None:
    client = console_server.client()
    for _ in range(5):
        answer = client.post(
            console_server.url + "/connexion",
            data={"name": ADMIN[0], "password": "wrong-password", "csrf": login_token(client, console_server.url)},
        )
        assert answer.status_code == 401 and "Nom ou mot de passe incorrect." in answer.text
    # Now even the right password waits.
    answer = client.post(
        console_server.url + "/connexion",
        data={"name": ADMIN[0], "password": ADMIN[1], "csrf": login_token(client, console_server.url)},
    )
    assert answer.status_code == 429
    assert "Trop d&#39;essais, réessayez dans 10 minutes." in answer.text
    assert "borne_console" not in client.cookies
    with console_server.console.context.db() as store:
        failed = store.conn.execute("SELECT COUNT(*) FROM console_audit WHERE action = 'login_failed'").fetchone()[0]
    assert failed == 5


def test_an_admin_page_and_action_are_refused_to_staff(console_server: ConsoleServer) -> None:
    staff = console_server.login(*STAFF)
    page = staff.get(console_server.url + "/appels")
    assert 'href="/comptes"' not in page.text  # no link to what staff may not open
    token = form_token(page.text)
    assert staff.get(console_server.url + "/comptes").status_code == 403
    assert staff.get(console_server.url + "/journal").status_code == 403
    refused = staff.post(
        console_server.url + "/comptes", data={"name": "mallory", "role": "admin", "password": "x" * 12, "csrf": token}
    )
    assert refused.status_code == 403 and "réservée aux administrateurs" in refused.text
    ctx = console_server.console.context
    with ctx.db():
        assert "mallory" not in {a.name for a in ctx.accounts.all()}
    admin = console_server.login(*ADMIN)
    token = form_token(admin.get(console_server.url + "/comptes").text)
    made = admin.post(
        console_server.url + "/comptes", data={"name": "lea", "role": "staff", "password": "y" * 12, "csrf": token}
    )
    assert made.status_code == 200 and "Compte lea créé." in made.text
    with ctx.db() as store:
        assert ("lea", "staff") in {(a.name, a.role.value) for a in ctx.accounts.all()}
        row = store.conn.execute("SELECT account, action, target FROM console_audit ORDER BY id DESC").fetchone()
    assert row == (ADMIN[0], "account_set", "lea (staff)")
    short = admin.post(
        console_server.url + "/comptes", data={"name": "bob", "role": "staff", "password": "court", "csrf": token}
    )
    assert short.status_code == 400 and "au moins 10 caractères" in short.text
