"""Jinja2 rendering of the resident-facing pages, the same for the kiosk and the website.

The renderer holds no per-visitor state: the language and the contrast are arguments of each
``render`` (the shell passes its resident's, the website each request's), and where links lead
is a ``Links`` strategy given at construction.
"""

from __future__ import annotations

import logging
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.bccache import Bucket, FileSystemBytecodeCache
from jinja2.runtime import Context

from kiosk.i18n import DEFAULT_LANGUAGE, N_, SUPPORTED, languages, translator
from kiosk.i18n import language as language_of
from kiosk.pages.files import STATIC, TEMPLATES, PageNotFound, RenderedPage, static_file
from kiosk.pages.links import KioskLinks, Links

log = logging.getLogger(__name__)


BLOCK_REASONS: dict[str, str] = {
    "not_allowed": N_("Ce site n'est pas disponible depuis cette démarche."),
    "forbidden_scheme": N_("Cette page ne peut pas s'ouvrir sur la borne."),
    "external_protocol": N_(
        "Ce lien veut ouvrir une autre application (courriel, téléphone…). La borne ne le fait pas."
    ),
    "insecure": N_("Cette page n'est pas sécurisée. Par prudence, la borne ne l'ouvre pas."),
    "credentials": N_("Ce lien cache une autre adresse. Par prudence, la borne ne l'ouvre pas."),
    "ip_literal": N_("Ce lien ne mène pas à un site connu. Par prudence, la borne ne l'ouvre pas."),
    "bad_port": N_("Ce lien mène à une partie du site que la borne n'ouvre pas."),
    "malformed": N_("Ce lien est mal écrit. La borne ne peut pas l'ouvrir."),
    "certificate": N_("La connexion à ce site n'est pas sûre. Par prudence, la borne ne l'ouvre pas."),
}
"""Why a page was refused, in the resident's words (msgids: translated on the page)."""


class TemplateCache(FileSystemBytecodeCache):
    """Compiled templates kept on disk from one start to the next (Jinja compiles a template to
    Python the first time a process renders it: 30 ms of the welcome screen's first paint).
    Jinja checks each entry against its template's source; a cache that cannot be read or
    written is no cache, never a page that fails. It is written only by ``PageRenderer.warm``
    (the shell calls it as it starts): a resident's visit never leaves a file behind, not even a
    compiled template."""

    writing = False

    @classmethod
    def at(cls, directory: Path) -> TemplateCache | None:
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            log.warning("templates.cache_unavailable", extra={"error": str(error)})
            return None
        return cls(str(directory))

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged entry (cut short, garbage): compile from the source
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        if not self.writing:
            return
        try:
            super().dump_bytecode(bucket)
        except OSError as error:  # a full or read-only disk
            log.warning("templates.cache_not_written", extra={"error": str(error)})


def template_names() -> frozenset[str]:
    """The pages that have a template (partials start with ``_``; ``base`` is the frame)."""
    return frozenset(p.stem for p in TEMPLATES.glob("*.html") if not p.stem.startswith("_") and p.stem != "base")


class PageRenderer:
    def __init__(
        self,
        *,
        icons_dir: Path,
        centre_name: str,
        links: Links | None = None,
        language: str = DEFAULT_LANGUAGE,
        offered: tuple[str, ...] = SUPPORTED,
        read_aloud: bool = False,
        help_videos: Path | None = None,
        template_cache: Path | None = None,
    ) -> None:
        """``language`` is the default (the terminal's); ``offered`` the ones its picker offers;
        ``template_cache`` a directory where compiled templates outlive the process."""
        self._icons = icons_dir
        self._cache = TemplateCache.at(template_cache) if template_cache is not None else None
        self._videos = help_videos
        self.links: Links = links or KioskLinks()
        self.default_language = language_of(language).code
        self.offered = tuple(code for code in offered if code in SUPPORTED) or (self.default_language,)
        self._globals = {
            "centre_name": centre_name,
            "block_reasons": BLOCK_REASONS,
            "read_aloud": read_aloud and not self.links.website,
            "website": self.links.website,
            "href": self._href,
            "static_url": self.links.static,
            # Inside the kiosk the style sheet comes with each page: one request less on the GUI
            # thread per screen (custom schemes are not cached). A website keeps it a file, cached
            # by the browser and allowed by its content security policy.
            "inline_css": None if self.links.website else (STATIC / "kiosk.css").read_text(encoding="utf-8"),
            "language_url": self.links.language,
            "action": self.links.action,
        }
        self._environments: dict[str, Environment] = {}
        self._pages = template_names()

    def warm(self) -> None:
        """Compile every template now (from the cache when it has them), writing the cache."""
        if self._cache is None:
            return
        self._cache.writing = True
        try:
            environment = self._environment(self.default_language)
            if environment.cache is not None:
                environment.cache.clear()  # those compiled before, while the cache was not written
            for template in sorted(TEMPLATES.glob("*.html")):
                environment.get_template(template.name)
        finally:
            self._cache.writing = False

    def offered_or_default(self, code: str | None) -> str:
        """``code`` if the picker offers it, else the terminal's default language."""
        return code if code in self.offered else self.default_language

    @pass_context
    def _href(self, context: Context, page: str, **query: str) -> str:
        return self.links.page(page, str(context.get("lang") or self.default_language), **query)

    def render(
        self, page: str, *, language: str | None = None, high_contrast: bool = False, **context: object
    ) -> RenderedPage:
        """Render ``page`` in ``language`` (an unoffered or missing code is the default)."""
        if page not in self._pages:
            raise PageNotFound(page)
        lang = language_of(self.offered_or_default(language))
        template = self._environment(lang.code).get_template(f"{page}.html")
        html = template.render(
            **self._globals,
            high_contrast=high_contrast,
            lang=lang.code,
            dir=lang.direction,
            languages=languages(self.offered),
            page=page,
            **context,
        )
        return RenderedPage(html.encode("utf-8"), "text/html; charset=utf-8")

    def _environment(self, code: str) -> Environment:
        """One Jinja environment per language, its gettext installed (templates compiled once each)."""
        env = self._environments.get(code)
        if env is None:
            env = Environment(
                loader=FileSystemLoader(TEMPLATES),
                autoescape=select_autoescape(default=True, default_for_string=True),
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                extensions=["jinja2.ext.i18n"],
                bytecode_cache=self._cache,
                # The templates are part of the installed package: no stat of three files per
                # page to see whether they changed (a restart takes an edited template).
                auto_reload=False,
            )
            env.policies["ext.i18n.trimmed"] = True
            env.install_gettext_translations(translator(code).translations, newstyle=True)  # type: ignore[attr-defined]
            self._environments[code] = env
        return env

    def static(self, path: str) -> RenderedPage:
        roots = {"icons": self._icons}
        if self._videos is not None:
            roots["help-videos"] = self._videos
        return static_file(path, roots)
