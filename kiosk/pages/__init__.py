"""Resident-facing pages — home, help, refusals, questions… — as Jinja2 templates and static files.

No Qt here: the shell serves them on its ``kiosk:`` scheme and the agent renders the help pages
as a public website, each with its own ``Links`` strategy, from one ``PageRenderer``. Each page
is a handler in the ``PAGES`` registry (``registry.py``); the verbs a page may ask of the shell
are the ``Action`` enum.
"""

from __future__ import annotations

from kiosk.pages import guides, handlers  # noqa: F401  (they register the pages)
from kiosk.pages.actions import Action, action_url
from kiosk.pages.handlers import home_groups
from kiosk.pages.library import HelpLibrary
from kiosk.pages.links import KioskLinks, Links, WebsiteLinks
from kiosk.pages.registry import PAGES, PageRegistry, PageRequest, PageServices
from kiosk.pages.renderer import STATIC, TEMPLATES, PageNotFound, PageRenderer, RenderedPage

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
