"""Resident-facing internal pages (``kiosk:`` scheme), rendered with Jinja2.

No Qt here: the shell serves these pages through its scheme handler, and the agent can
render the same templates for a website.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from kiosk.i18n import DEFAULT_LANGUAGE, N_, SUPPORTED, Language, languages, translator
from kiosk.i18n import language as language_of

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

ACTIONS: frozenset[str] = frozenset(
    {
        "start",
        "open",
        "back",
        "home",
        "stay",
        "end",
        "attract",
        "close",
        "answers",
        "question",
        "read",
        "stop_reading",
        "contrast",
        "language",
    }
)
"""Verbs a kiosk: page may ask of the shell with a ``kiosk://action/<verb>`` navigation."""

PAGES: frozenset[str] = frozenset(
    {
        "attract",
        "home",
        "blocked",
        "warning",
        "goodbye",
        "questions",
        "crashed",
        "help",
        "article",
        "glossary",
        "mediator",
        "unreachable",
    }
)

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

_CONTENT_TYPES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".webm": "video/webm",
    ".vtt": "text/vtt",
}


class PageNotFound(Exception):
    """No such page or static file (or a path that tries to leave the static folder)."""


@dataclass(frozen=True)
class RenderedPage:
    body: bytes
    content_type: str


def _safe_relative(path: str) -> PurePosixPath:
    if not path or "\x00" in path or "\\" in path or "%" in path or path.startswith("/"):
        raise PageNotFound(path)
    relative = PurePosixPath(path)
    if any(part in ("..", ".", "") for part in relative.parts):
        raise PageNotFound(path)
    return relative


class PageRenderer:
    def __init__(
        self,
        *,
        icons_dir: Path,
        centre_name: str,
        language: str = DEFAULT_LANGUAGE,
        offered: tuple[str, ...] = SUPPORTED,
        read_aloud: bool = False,
        website: str | None = None,
        help_videos: Path | None = None,
    ) -> None:
        """``website``: the URL prefix (e.g. ``/aide``) when rendering the help pages as a public
        website rather than as the kiosk's ``kiosk:`` pages. ``language`` is the terminal's
        default; ``offered`` the ones its picker offers."""
        self._icons = icons_dir
        self._videos = help_videos
        self.website = website
        self.default_language = language_of(language).code
        self.offered = tuple(code for code in offered if code in SUPPORTED) or (self.default_language,)
        self._language = self.default_language
        self._globals = {
            "centre_name": centre_name,
            "block_reasons": BLOCK_REASONS,
            "read_aloud": read_aloud and website is None,
            "website": website is not None,
            "high_contrast": False,
            "href": self._href,
            "static_url": self.static_url,
            "language_url": self._language_url,
        }
        self._environments: dict[str, Environment] = {}

    @property
    def language(self) -> Language:
        return language_of(self._language)

    def offered_or_default(self, code: str) -> str:
        """``code`` if the picker offers it, else the terminal's default language."""
        return code if code in self.offered else self.default_language

    def set_language(self, code: str) -> Language:
        """The language of the pages rendered from now on (the shell: this resident's choice)."""
        self._language = self.offered_or_default(code)
        return self.language

    def set_high_contrast(self, on: bool) -> None:
        """Black on white, thick borders: for the pages rendered from now on."""
        self._globals["high_contrast"] = on

    def href(self, page: str, *, lang: str | None = None, **query: str) -> str:
        """A link to one of our pages: ``kiosk://article?slug=x``, or ``/aide/guides/x`` on the website
        (with ``?lang=`` when the visitor reads another language than the default)."""
        if self.website is None:
            return f"kiosk://{page}" + (f"?{urlencode(query)}" if query else "")
        if lang and lang != self.default_language:
            query = {**query, "lang": lang}
        prefix = self.website.rstrip("/")
        if page == "article":
            slug = query.pop("slug", "")
            return f"{prefix}/guides/{quote(slug)}" + (f"?{urlencode(query)}" if query else "")
        if page == "glossary":
            return f"{prefix}/glossaire" + (f"?{urlencode(query)}" if query else "")
        return prefix + (f"?{urlencode(query)}" if query else "")

    @pass_context
    def _href(self, context: Context, page: str, **query: str) -> str:
        return self.href(page, lang=context.get("lang"), **query)

    def _language_url(self, code: str) -> str:
        if self.website is None:
            return f"kiosk://action/language?{urlencode({'code': code})}"
        return self.href("help", lang=code) if code != self.default_language else self.website

    def static_url(self, path: str) -> str:
        return f"kiosk://static/{path}" if self.website is None else f"{self.website.rstrip('/')}/static/{path}"

    def render(self, page: str, *, language: str | None = None, **context: object) -> RenderedPage:
        """Render ``page`` in ``language`` (default: the current one; an unoffered code is the default)."""
        if page not in PAGES:
            raise PageNotFound(page)
        code = self._language if language is None else self.offered_or_default(language)
        lang = language_of(code)
        template = self._environment(code).get_template(f"{page}.html")
        html = template.render(
            **self._globals,
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
            )
            env.policies["ext.i18n.trimmed"] = True
            env.install_gettext_translations(translator(code).translations, newstyle=True)  # type: ignore[attr-defined]
            self._environments[code] = env
        return env

    def static(self, path: str) -> RenderedPage:
        relative = _safe_relative(path)
        if relative.parts[0] == "icons" and len(relative.parts) == 2:
            base, name = self._icons, relative.parts[1]
            target = base / name
        elif relative.parts[0] == "help-videos" and len(relative.parts) == 2 and self._videos is not None:
            base, target = self._videos, self._videos / relative.parts[1]
        else:
            base, target = STATIC, STATIC.joinpath(*relative.parts)
        try:
            resolved = target.resolve(strict=True)
        except OSError:
            raise PageNotFound(path) from None
        if not resolved.is_relative_to(base.resolve()) or not resolved.is_file():
            raise PageNotFound(path)
        content_type = _CONTENT_TYPES.get(resolved.suffix) or mimetypes.guess_type(resolved.name)[0]
        if content_type is None:
            raise PageNotFound(path)
        return RenderedPage(resolved.read_bytes(), content_type)
