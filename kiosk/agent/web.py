"""The agent's website: the help centre for residents at home, at ``/aide``, and the booking
pages at ``/rendez-vous`` (``booking_site.py``).

The same articles, glossary and search as on the terminal, rendered from the same templates
(multichannel: what a resident read at the borne can be found again at home), in the languages
the terminal offers (``?lang=ar``; the guides themselves are in French). The help pages only
read files and record nothing about visitors; the booking pages write the appointments a resident
books (``booking_site.py``).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiosk.agent.booking_site import add_booking_routes, warm_booking
from kiosk.agent.cancel_site import add_cancel_routes
from kiosk.agent.site_workers import site_workers
from kiosk.core.settings import Config
from kiosk.pages import PAGES, HelpLibrary, PageNotFound, PageRenderer, PageRequest, PageServices, WebsiteLinks

log = logging.getLogger(__name__)

PREFIX = "/aide"
Lang = Annotated[str, Query(max_length=5, pattern=r"^[a-z]{2}$")]  # a language the site does not offer: the default
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self'; "
    "img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_help_site(config: Config, help_dir: Path | None = None, **booking: Any) -> FastAPI:
    """The help site and its booking pages (``booking``: :func:`add_booking_routes`'s options)."""
    library = HelpLibrary(help_dir or config.kiosk_path.parent / "help")
    services = PageServices(config.tiles, library)
    renderer = PageRenderer(
        icons_dir=config.tiles_path.parent / "icons",
        centre_name=config.kiosk.centre.name,
        links=WebsiteLinks(PREFIX, config.kiosk.shell.language),
        help_videos=library.videos,
        language=config.kiosk.shell.language,
        offered=config.kiosk.shell.languages,
    )
    tile_urls = {tile.id: tile.url for tile in config.tiles.tiles}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(warm)  # before the server takes its first request
        # What is loaded now lives as long as the process: kept out of the garbage collector's
        # full passes, which went through all of it (~0.1 s, every thread stopped) a few times a
        # minute under load.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # a process that goes on (a test's) collects it again

    app = FastAPI(title="Borne — aide", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    workers = site_workers(app)  # the handlers on a few threads (see site_workers)

    def page(name: str, params: dict[str, str], lang: str, status: int = 200, **extra: Any) -> HTMLResponse:
        code = renderer.offered_or_default(lang)  # per request: nothing is shared between visitors
        context = PAGES.context(name, PageRequest(params, code), services)
        rendered = renderer.render(name, language=code, **context, **extra)
        if context.get("missing"):
            status = 404
        return HTMLResponse(rendered.body, status_code=status, headers=SECURITY_HEADERS)

    @app.get("/", include_in_schema=False)
    @workers
    def root() -> RedirectResponse:
        return RedirectResponse(PREFIX, status_code=307)

    @app.get(PREFIX)
    @workers
    def home(q: Annotated[str, Query(max_length=200)] = "", lang: Lang = "") -> HTMLResponse:
        return page("help", {"q": q} if q else {}, lang)

    @app.get(PREFIX + "/guides/{slug}")
    @workers
    def article(slug: str, lang: Lang = "") -> HTMLResponse:
        centre = library.centre
        tile = centre.articles[slug].tile if centre and slug in centre.articles else None
        return page("article", {"slug": slug}, lang, tile_url=tile_urls.get(tile or "", ""))

    @app.get(PREFIX + "/glossaire")
    @workers
    def glossary(lang: Lang = "") -> HTMLResponse:
        return page("glossary", {}, lang)

    desk = app.state.booking_desk = add_booking_routes(app, config, renderer, services, **booking)
    add_cancel_routes(app, config, renderer, SECURITY_HEADERS)  # /rendez-vous/annuler/<ref>

    @app.get(PREFIX + "/static/{path:path}")
    @workers
    def static(path: str) -> Response:
        try:
            rendered = renderer.static(path)
        except PageNotFound:
            return Response(status_code=404)
        return Response(rendered.body, media_type=rendered.content_type, headers=SECURITY_HEADERS)

    def warm() -> None:
        """The guides read, the templates compiled, the booking pages' data loaded: the first
        visitors wait for none of it. A warm-up that fails costs a slower first page, nothing more."""
        try:
            page("help", {}, "")
            warm_booking(desk, renderer, services)
        except Exception as error:
            log.warning("website.warm_up_failed", extra={"error": str(error)})

    return app
