"""The agent's website: the help centre for residents at home, at ``/aide``.

The same articles, glossary and search as on the terminal, rendered from the same templates
(multichannel: what a resident read at the borne can be found again at home), in the languages
the terminal offers (``?lang=ar``; the guides themselves are in French). Only reads files;
records nothing about visitors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiosk.core.help import HelpCentre, HelpError
from kiosk.core.settings import Config
from kiosk.shell.pages import PageNotFound, PageRenderer
from kiosk.shell.pages.help import help_context

PREFIX = "/aide"
Lang = Annotated[str, Query(max_length=5, pattern=r"^[a-z]{2}$")]  # a language the site does not offer: the default
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self'; "
    "img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_help_site(config: Config, help_dir: Path | None = None) -> FastAPI:
    help_dir = help_dir or config.kiosk_path.parent / "help"
    try:
        centre: HelpCentre | None = HelpCentre.load(help_dir)
    except (OSError, HelpError):
        centre = None
    renderer = PageRenderer(
        icons_dir=config.tiles_path.parent / "icons",
        centre_name=config.kiosk.centre.name,
        website=PREFIX,
        help_videos=help_dir / "videos",
        language=config.kiosk.shell.language,
        offered=config.kiosk.shell.languages,
    )
    tile_urls = {tile.id: tile.url for tile in config.tiles.tiles}
    app = FastAPI(title="Borne — aide", docs_url=None, redoc_url=None, openapi_url=None)

    def page(name: str, params: dict[str, str], lang: str, status: int = 200, **extra: object) -> HTMLResponse:
        code = renderer.offered_or_default(lang)  # per request: the renderer's own language is left alone
        context, _event = help_context(centre, name, params, code)
        rendered = renderer.render(name, language=code, **context, **extra)
        if context.get("missing"):
            status = 404
        return HTMLResponse(rendered.body, status_code=status, headers=SECURITY_HEADERS)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(PREFIX, status_code=307)

    @app.get(PREFIX)
    def home(q: Annotated[str, Query(max_length=200)] = "", lang: Lang = "") -> HTMLResponse:
        return page("help", {"q": q} if q else {}, lang)

    @app.get(PREFIX + "/guides/{slug}")
    def article(slug: str, lang: Lang = "") -> HTMLResponse:
        tile = centre.articles[slug].tile if centre and slug in centre.articles else None
        return page("article", {"slug": slug}, lang, tile_url=tile_urls.get(tile or "", ""))

    @app.get(PREFIX + "/glossaire")
    def glossary(lang: Lang = "") -> HTMLResponse:
        return page("glossary", {}, lang)

    @app.get(PREFIX + "/static/{path:path}")
    def static(path: str) -> Response:
        try:
            rendered = renderer.static(path)
        except PageNotFound:
            return Response(status_code=404)
        return Response(rendered.body, media_type=rendered.content_type, headers=SECURITY_HEADERS)

    return app
