"""What every part of the console shares: the database (behind one lock), the rules, the
templates, and the two ways a request is turned away."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from kiosk.agent.console.accounts import Account, Accounts, Login
from kiosk.agent.console.security import LoginThrottle
from kiosk.core.mediation.booking import AppointmentBook
from kiosk.core.mediation.calls import CallQueue
from kiosk.core.mediation.ics import CalendarCache
from kiosk.core.ports import Clock
from kiosk.core.settings import KioskSettings
from kiosk.core.store import Store

T = TypeVar("T")

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
COOKIE = "borne_console"
LOGIN_COOKIE = "borne_console_login"  # the login form's own CSRF token (double submit)
POLL_S = 0.5
"""How often the live list reads the database for changes."""


class Section(NamedTuple):
    """An entry of the console's navigation."""

    path: str
    label: str
    admin_only: bool


SECTIONS: tuple[Section, ...] = (
    Section("/appels", "Appels", admin_only=False),
    Section("/rendez-vous", "Rendez-vous", admin_only=False),
    Section("/appareils", "Appareils", admin_only=False),
    Section("/impressions", "Impressions", admin_only=False),
    Section("/statistiques", "Statistiques", admin_only=False),
    Section("/reglages", "Réglages", admin_only=False),
    Section("/personnes", "Personnes ressources", admin_only=True),
    Section("/comptes", "Comptes", admin_only=True),
    Section("/journal", "Journal", admin_only=True),
)


class NotLoggedIn(Exception):
    """No valid session: a page sends to the login, an API answers 401."""


class Refused(Exception):
    """A request turned away with a status and a French reason for the staff member."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass
class ConsoleContext:
    store: Store  # the console's own connection (Role.AGENT), used under `lock`
    queue: CallQueue
    clock: Clock
    zone: ZoneInfo
    centre_name: str
    book: AppointmentBook  # on the same connection as `store`
    calendars: CalendarCache
    session_lasts: timedelta = timedelta(hours=12)
    settings: KioskSettings = field(default_factory=KioskSettings)  # devices, hours, data_dir, k
    cups_server: str | None = None  # None: CUPS_SERVER or libcups' default
    version: str = ""
    started: float = field(default_factory=time.monotonic)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.RLock = field(default_factory=threading.RLock)
    accounts: Accounts = field(init=False)
    env: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.accounts = Accounts(self.store)
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True), auto_reload=False
        )

    @contextmanager
    def db(self) -> Iterator[Store]:
        """The connection, for one request at a time (sqlite3 connections are not for threads at once)."""
        with self.lock:
            yield self.store

    def locked(self, work: Callable[[], T]) -> T:
        with self.lock:
            return work()

    def audit(self, who: Account | str, action: str, target: str | None = None) -> None:
        name = who.name if isinstance(who, Account) else who
        with self.lock:
            self.accounts.audit(name, action, target, self.clock.now())

    def render(self, template: str, status: int = 200, login: Login | None = None, **values: Any) -> HTMLResponse:
        sections = [s for s in SECTIONS if login is not None and (login.account.is_admin or not s.admin_only)]
        html = self.env.get_template(template).render(centre=self.centre_name, login=login, sections=sections, **values)
        return HTMLResponse(html, status_code=status)

    def render_text(self, template: str, **values: Any) -> str:
        return self.env.get_template(template).render(**values)
