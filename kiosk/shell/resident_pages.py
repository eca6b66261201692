"""The ``kiosk:`` pages as the resident at the screen sees them: in their language, with their
contrast. The shell's scheme handler renders through this; the preferences are reset between
residents by the session controller."""

from __future__ import annotations

from collections.abc import Mapping

from kiosk.core.stats.events import Event
from kiosk.pages import PAGES, PageRegistry, PageRenderer, PageRequest, PageServices, RenderedPage


class ResidentPages:
    def __init__(self, renderer: PageRenderer, services: PageServices, registry: PageRegistry = PAGES) -> None:
        self.renderer = renderer
        self.services = services
        self.registry = registry
        self.language = renderer.default_language
        self.high_contrast = False

    @property
    def default_language(self) -> str:
        return self.renderer.default_language

    def set_language(self, code: str) -> str:
        """This resident's language: ``code`` if the terminal offers it, else the default."""
        self.language = self.renderer.offered_or_default(code)
        return self.language

    def reset(self) -> None:
        """The next resident starts in the terminal's language, without high contrast."""
        self.language = self.renderer.default_language
        self.high_contrast = False

    def render(self, page: str, params: Mapping[str, str]) -> RenderedPage:
        context = self.registry.context(page, PageRequest(params, self.language), self.services)
        return self.renderer.render(page, language=self.language, high_contrast=self.high_contrast, **context)

    def static(self, path: str) -> RenderedPage:
        return self.renderer.static(path)

    def visit(self, page: str, params: Mapping[str, str]) -> Event | None:
        """The usage event of going to ``page`` (a guide read, a search), if it is one."""
        return self.registry.visit(page, PageRequest(params, self.language), self.services)
