"""Where the kiosk's own pages live: one host of the ``kiosk:`` scheme, ``kiosk://borne/``.

``kiosk://borne/<page>?…`` is a page of the registry, ``kiosk://borne/static/<path>`` a file,
``kiosk://borne/action/<verb>?…`` a verb for the shell (never loaded: the page intercepts it).

One host, because Chromium makes each host of a scheme a site of its own, with a renderer
process of its own: with a host per page, every step of the lobby between two residents
(welcome → questions → goodbye → welcome) launched a new renderer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple
from urllib.parse import urlencode

from kiosk.core.policy import KIOSK_SCHEME

HOST = "borne"
ROOT = f"{KIOSK_SCHEME}://{HOST}/"
STATIC = "static"
ACTION = "action"
RESERVED = frozenset({STATIC, ACTION})
"""First path segments that are not pages: no page may take these names."""
SCREENS_WITHIN: dict[str, frozenset[str]] = {"questions": frozenset({"goodbye"})}
"""Pages that carry other pages' screens, shown in place by the page's ``kioskScreen(name)``
(which answers true): the goodbye comes the moment the questions are answered, no load."""


class Kind(StrEnum):
    PAGE = "page"
    STATIC = "static"
    ACTION = "action"


class Place(NamedTuple):
    """What a ``kiosk:`` URL names: a page, a static file's path or a verb."""

    kind: Kind
    name: str


def page_url(name: str, **query: str) -> str:
    return f"{ROOT}{name}" + (f"?{urlencode(query)}" if query else "")


def static_url(path: str) -> str:
    return f"{ROOT}{STATIC}/{path}"


def verb_url(verb: str, **params: str) -> str:
    return f"{ROOT}{ACTION}/{verb}" + (f"?{urlencode(params)}" if params else "")


def place(host: str, path: str) -> Place | None:
    """What the host and path of a ``kiosk:`` URL name; None for anything not on our host."""
    if host != HOST:
        return None
    head, _, rest = path.lstrip("/").partition("/")
    if head == STATIC:
        return Place(Kind.STATIC, rest)
    if head == ACTION:
        return Place(Kind.ACTION, rest.strip("/"))
    if not head or rest.strip("/"):
        return None
    return Place(Kind.PAGE, head)
