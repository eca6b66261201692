"""axe-core in headless Chromium on the help pages and the kiosk's own pages: no serious or
critical violation. axe-core comes from the PyPI package axe-playwright-python, which ships it
(no npm needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.help import HelpCentre
from kiosk.core.loading import load_config
from kiosk.core.mediation.desk import DeskState, DeskView
from kiosk.pages import PageRenderer, home_groups
from kiosk.pages.mediator import mediator_context
from kiosk.pages.questions import QUESTIONS_PAGE
from tests.axekit import ServedKioskLinks, serious_violations

pytestmark = [pytest.mark.help, pytest.mark.a11y]
REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml")


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    from tests.bookingkit import served

    with served(CONFIG) as url:
        yield url


def help_paths() -> list[str]:
    centre = HelpCentre.load(REPO / "config" / "help")
    first = sorted(centre.articles)[0]
    return [
        "/aide",
        "/aide?q=carte+vitale",
        "/aide?q=zzqxw",
        "/aide/glossaire",
        # Right to left, and a guide shown in French inside an Arabic page.
        "/aide?lang=ar",
        "/aide?lang=ar&q=impots",
        f"/aide/guides/{first}?lang=ar",
        "/aide/glossaire?lang=ar",
        "/aide/guides/utiliser-la-borne?lang=ar",  # a guide translated into Arabic, with its video
        "/aide?lang=pt",
    ] + [f"/aide/guides/{slug}" for slug in sorted(centre.articles)]


def test_help_pages_have_no_serious_accessibility_violation(site: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    found = {}
    for path in help_paths():
        page.goto(site + path)
        problems = serious_violations(page)
        if problems:
            found[path] = problems
    page.close()
    assert not found, found


KIOSK_PAGES = {
    "attract": {},
    "goodbye": {},
    "questions": {"questions": QUESTIONS_PAGE},
    # "page:state": one of the page's states (the mediator page: its desk's views)
    **{
        f"mediator:{view.state.value}{'-error' if view.error else ''}{'-no-ticket' if view.ticket_failed else ''}": (
            mediator_context(view, CONFIG.tiles)
        )
        for view in (
            DeskView(DeskState.OFFER),
            DeskView(DeskState.OFFER, error="Écrivez seulement des lettres."),
            DeskView(DeskState.WAITING, number=3, position=2, wait="environ 15 minutes"),
            DeskView(DeskState.WAITING, number=3, position=2, wait="environ 15 minutes", ticket_failed=True),
            DeskView(DeskState.TAKEN, number=3),
            DeskView(DeskState.DONE, number=3),
            DeskView(DeskState.CANCELLED, number=3),
            DeskView(DeskState.UNAVAILABLE, "L'espace est fermé en ce moment."),
            DeskView(DeskState.RECEPTION),
        )
    },
    "unreachable": {"site": "www.caf.fr"},
    # the website's cancel link (kiosk/agent/cancel_site.py): the form, and the answers after it
    **{
        f"appointment_cancel:{state}": {
            "cancel_state": state,
            "when": "Mercredi 7 janvier",
            "hour": "14 h",
            "form_token": "t",
            "category": "Papiers – Élections – Citoyenneté",
            "place": "Espace France Services, Bureau 2",
        }
        for state in ("confirm", "cancelled", "already", "past", "expired", "missing")
    },
    "blocked": {
        "site": "evil.example",
        "reason": "not_allowed",
        "back_url": "kiosk://borne/action/back",
        "suggest": None,
    },
    "home": {},
}


@pytest.mark.parametrize("lang", ["fr", "ar"])
@pytest.mark.parametrize("name", sorted(KIOSK_PAGES))
def test_kiosk_pages_have_no_serious_accessibility_violation(site: str, browser, name: str, lang: str) -> None:  # type: ignore[no-untyped-def]
    renderer = PageRenderer(
        icons_dir=REPO / "config" / "icons", centre_name=CONFIG.kiosk.centre.name, links=ServedKioskLinks()
    )
    context = {"groups": home_groups(CONFIG.tiles, lang)} if name == "home" else KIOSK_PAGES[name]
    html = renderer.render(name.partition(":")[0], language=lang, **context).body.decode()
    assert f'lang="{lang}"' in html
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(site + "/aide")  # the page's origin, so that its style sheet loads
    page.set_content(html, wait_until="load")
    problems = serious_violations(page)
    page.close()
    assert not problems, problems
