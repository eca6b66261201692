"""The console's admin sections: accounts (create, change role or password) and the audit log.

Refused with 403 to a staff account: the check is a route dependency of each admin route.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import Response

from kiosk.agent.console.accounts import AccountError, Login, StaffRole
from kiosk.agent.console.context import ConsoleContext, Refused
from kiosk.core.mediation.storage import from_ms

ADMIN_ONLY = "Cette page est réservée aux administrateurs de la console."
ROLE_LABELS = {StaffRole.STAFF: "Accueil (appels)", StaffRole.ADMIN: "Administrateur"}
ACTION_LABELS = {
    "login": "Connexion",
    "login_failed": "Connexion refusée",
    "logout": "Déconnexion",
    "call_take": "Appel pris",
    "call_finish": "Appel terminé",
    "call_cancel": "Appel annulé",
    "presence": "Présence",
    "account_set": "Compte créé ou modifié",
    "appointment_book": "Rendez-vous pris",
    "appointment_move": "Rendez-vous déplacé",
    "appointment_cancel": "Rendez-vous annulé",
    "appointment_attended": "Rendez-vous : venu",
    "appointment_no_show": "Rendez-vous : pas venu",
    "person_add": "Personne ressource ajoutée",
    "person_edit": "Personne ressource modifiée",
    "person_deactivate": "Personne ressource désactivée",
    "person_activate": "Personne ressource réactivée",
    "feed_rotate": "Nouvelle adresse d'agenda",
    "closure_add": "Fermeture exceptionnelle ajoutée",
    "closure_remove": "Fermeture exceptionnelle supprimée",
    "print_release": "Impression libérée",
    "print_cancel": "Impression annulée",
    "print_staff": "Impression de l'accueil",
}


def require_admin(request: Request) -> Login:
    login: Login | None = getattr(request.state, "login", None)
    if login is None or not login.account.is_admin:
        raise Refused(403, ADMIN_ONLY)
    return login


Admin = Annotated[Login, Depends(require_admin)]


def add_routes(app: FastAPI, ctx: ConsoleContext) -> None:
    def accounts_page(login: Login, status: int = 200, error: str = "", notice: str = "") -> Response:
        with ctx.db():
            accounts = ctx.accounts.all()
        return ctx.render(
            "accounts.html",
            status=status,
            login=login,
            accounts=accounts,
            roles=ROLE_LABELS,
            error=error,
            notice=notice,
        )

    @app.get("/comptes")
    def accounts(login: Admin) -> Response:
        return accounts_page(login)

    @app.post("/comptes")
    def set_account(
        login: Admin,
        name: Annotated[str, Form(max_length=200)],
        role: Annotated[StaffRole, Form()],
        password: Annotated[str, Form(max_length=500)],
    ) -> Response:
        try:
            with ctx.db():
                created = ctx.accounts.set(name, role, password, ctx.clock.now())
        except AccountError as error:
            return accounts_page(login, status=400, error=str(error))
        ctx.audit(login.account, "account_set", f"{name.strip()} ({role.value})")
        verb = "créé" if created else "modifié (ses connexions en cours sont fermées)"
        return accounts_page(login, notice=f"Compte {name.strip()} {verb}.")

    @app.get("/journal")
    def journal(login: Admin) -> Response:
        with ctx.db():
            entries = ctx.accounts.audit_log(200)
        zone = ctx.zone
        shown = [
            (
                (from_ms(at) or datetime.min).astimezone(zone).strftime("%d/%m %H:%M:%S"),
                who,
                ACTION_LABELS.get(action, action),
                target or "",
            )
            for at, who, action, target in entries
        ]
        return ctx.render("journal.html", login=login, entries=shown)
