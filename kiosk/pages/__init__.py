"""Resident-facing pages — home, help, refusals, questions… — as Jinja2 templates and static files.

No Qt here: the shell serves them on its ``kiosk:`` scheme and the agent renders the help pages
as a public website, each with its own ``Links`` strategy, from one ``PageRenderer``. Each page
is a handler in the ``PAGES`` registry (``registry.py``); the verbs a page may ask of the shell
are the ``Action`` enum.

The names below are imported on first use (PEP 562): the shell's first screen needs only
``files`` and ``address``, not Jinja2 nor the help centre, and paints before they load.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.pages.actions import Action, action_url
    from kiosk.pages.files import STATIC, TEMPLATES, PageNotFound, RenderedPage
    from kiosk.pages.handlers import home_groups
    from kiosk.pages.library import HelpLibrary
    from kiosk.pages.links import KioskLinks, Links, WebsiteLinks
    from kiosk.pages.registry import PAGES, PageRegistry, PageRequest, PageServices
    from kiosk.pages.renderer import PageRenderer

_HOME = {
    "Action": "actions",
    "action_url": "actions",
    "STATIC": "files",
    "TEMPLATES": "files",
    "PageNotFound": "files",
    "RenderedPage": "files",
    "home_groups": "handlers",
    "HelpLibrary": "library",
    "KioskLinks": "links",
    "Links": "links",
    "WebsiteLinks": "links",
    "PAGES": "registry",
    "PageRegistry": "registry",
    "PageRequest": "registry",
    "PageServices": "registry",
    "PageRenderer": "renderer",
}

__all__ = [
    "PAGES",
    "STATIC",
    "TEMPLATES",
    "Action",
    "HelpLibrary",
    "KioskLinks",
    "Links",
    "PageNotFound",
    "PageRegistry",
    "PageRenderer",
    "PageRequest",
    "PageServices",
    "RenderedPage",
    "WebsiteLinks",
    "action_url",
    "home_groups",
]
assert sorted(__all__) == sorted(_HOME)


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name == "PAGES":
        importlib.import_module("kiosk.pages.guides")  # they register their pages in PAGES
        importlib.import_module("kiosk.pages.handlers")
        importlib.import_module("kiosk.pages.mediator")
        importlib.import_module("kiosk.pages.booking")
        importlib.import_module("kiosk.pages.setup")
    value = getattr(importlib.import_module(f"kiosk.pages.{home}"), name)
    globals()[name] = value
    return value
