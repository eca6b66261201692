"""Where the pages' links lead: a strategy for the kiosk (``kiosk:`` URLs, actions) and one for
the public website (paths under a prefix, ``?lang=`` kept, no actions)."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote, urlencode

from kiosk.pages import address
from kiosk.pages.actions import action_url


class Links(Protocol):
    website: bool

    def page(self, name: str, lang: str, **query: str) -> str: ...

    def static(self, path: str) -> str: ...

    def language(self, code: str) -> str: ...

    def action(self, verb: str, **params: str) -> str: ...


class KioskLinks:
    """Links inside the kiosk: pages on the ``kiosk:`` scheme, verbs for the shell."""

    website = False

    def page(self, name: str, lang: str, **query: str) -> str:
        return address.page_url(name, **query)

    def static(self, path: str) -> str:
        return address.static_url(path)

    def language(self, code: str) -> str:
        return action_url("language", code=code)

    def action(self, verb: str, **params: str) -> str:
        return action_url(verb, **params)


class WebsiteLinks:
    """Links of the public website under ``prefix`` (e.g. ``/aide``): the language travels in
    the query, since a visitor's choice must not be shared with other requests."""

    website = True

    def __init__(self, prefix: str, default_language: str) -> None:
        self.prefix = prefix.rstrip("/")
        self.default_language = default_language

    def page(self, name: str, lang: str, **query: str) -> str:
        if lang and lang != self.default_language:
            query = {**query, "lang": lang}
        if name == "article":
            slug = query.pop("slug", "")
            return f"{self.prefix}/guides/{quote(slug)}" + (f"?{urlencode(query)}" if query else "")
        if name == "glossary":
            return f"{self.prefix}/glossaire" + (f"?{urlencode(query)}" if query else "")
        return self.prefix + (f"?{urlencode(query)}" if query else "")

    def static(self, path: str) -> str:
        return f"{self.prefix}/static/{path}"

    def language(self, code: str) -> str:
        return self.page("help", code)

    def action(self, verb: str, **params: str) -> str:
        raise ValueError(f"the website has no kiosk action ({verb!r}): guard it with `not website`")
