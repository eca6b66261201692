"""The page registry: each ``kiosk:`` page is a handler registered under its name.

A handler turns the page's query and the resident's language into the template's context;
a page may also say which usage event a *visit* is (a guide read, a search and how many
results). Visits are recorded when the resident navigates to the page, never while it is
rendered: re-rendering the same page (a language or contrast change) is not another visit.
Adding a page is one handler here (or in a module of this package) and one template.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kiosk.core.stats.events import Event
from kiosk.core.tiles import TilesConfig
from kiosk.pages.address import RESERVED
from kiosk.pages.files import PageNotFound
from kiosk.pages.library import HelpLibrary

if TYPE_CHECKING:
    from kiosk.core.mediation.desk import MediationDesk
    from kiosk.core.mediation.reservation import ReservationDesk
    from kiosk.core.setup import SetupBoard


@dataclass(frozen=True)
class PageRequest:
    """What a page is asked with: its query (untrusted) and the resident's language."""

    params: Mapping[str, str] = field(default_factory=dict)
    language: str = "fr"

    def get(self, key: str, default: str = "") -> str:
        return self.params.get(key, default)


@dataclass(frozen=True)
class PageServices:
    """What the handlers may read: the tiles, the help centre, the session's delays, the
    mediator desk (``None``: no call can be made here, e.g. the website), the booking desk."""

    tiles: TilesConfig
    help: HelpLibrary
    warning_s: float = 60.0
    mediation: MediationDesk | None = None
    booking: ReservationDesk | None = None  # the resident's appointment booking (its view)
    setup: SetupBoard | None = None  # the first-boot setup page's view, while the setup is shown


Handler = Callable[[PageRequest, PageServices], Mapping[str, Any]]
Visit = Callable[[PageRequest, PageServices], Event | None]


@dataclass(frozen=True)
class PageSpec:
    name: str
    context: Handler
    visit: Visit | None = None


class PageRegistry:
    def __init__(self) -> None:
        self._pages: dict[str, PageSpec] = {}

    def page(self, name: str, *, visit: Visit | None = None) -> Callable[[Handler], Handler]:
        """Register the decorated function as the context of page ``name``."""

        def register(handler: Handler) -> Handler:
            if name in self._pages:
                raise ValueError(f"page {name!r} registered twice")
            if name in RESERVED:
                raise ValueError(f"{name!r} is not a page name: kiosk://borne/{name}/ is not a page")
            self._pages[name] = PageSpec(name, handler, visit)
            return handler

        return register

    def static_pages(self, *names: str) -> None:
        """Pages whose template needs nothing but the common context."""
        for name in names:
            self.page(name)(_no_context)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._pages)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._pages))

    def __contains__(self, name: object) -> bool:
        return name in self._pages

    def context(self, name: str, request: PageRequest, services: PageServices) -> Mapping[str, Any]:
        spec = self._pages.get(name)
        if spec is None:
            raise PageNotFound(name)
        return spec.context(request, services)

    def visit(self, name: str, request: PageRequest, services: PageServices) -> Event | None:
        """The usage event a navigation to this page is, if any."""
        spec = self._pages.get(name)
        return spec.visit(request, services) if spec is not None and spec.visit is not None else None


def _no_context(_request: PageRequest, _services: PageServices) -> Mapping[str, Any]:
    return {}


PAGES = PageRegistry()
"""The kiosk's pages (filled by ``kiosk.pages.handlers``, ``kiosk.pages.guides`` and ``kiosk.pages.mediator``)."""
