"""The mediator desk (a real database, the agent's connection beside it) and the page's handler."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.loading import load_config
from kiosk.core.mediation.calls import CallQueue
from kiosk.core.mediation.contact import ContactError
from kiosk.core.mediation.desk import DeskState, DeskView, MediationDesk, parse_call_request
from kiosk.core.mediation.presence import beat, set_staff_present
from kiosk.core.ports import ManualClock
from kiosk.core.settings import KioskSettings, MediatorSettings
from kiosk.core.store import Role, Store, open_store
from kiosk.pages import PAGES, PageRenderer, PageRequest, PageServices
from kiosk.pages.library import HelpLibrary
from kiosk.pages.mediator import mediator_context
from sync.vocabulary import Category

pytestmark = [pytest.mark.unit, pytest.mark.mediator]

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml")
MONDAY_10H = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 10:00 in Paris
SATURDAY = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
SETTINGS = KioskSettings()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "kiosk.db", Role.AGENT)
    try:
        yield store
    finally:
        store.close()


def make_desk(agent: Store, clock: ManualClock, settings: KioskSettings = SETTINGS) -> MediationDesk:
    assert agent.path is not None
    return MediationDesk(agent.path, settings, clock)


def up(agent: Store, clock: ManualClock) -> None:
    beat(agent, clock.now())
    set_staff_present(agent, True, clock.now())


def desk_up(agent: Store, settings: KioskSettings = SETTINGS) -> tuple[MediationDesk, ManualClock]:
    """A desk at 10:00 on a Monday, the agent beating and staff present."""
    clock = ManualClock(MONDAY_10H)
    up(agent, clock)
    return make_desk(agent, clock, settings), clock


def rows(agent: Store) -> list[tuple[str, str | None, str | None, str | None]]:
    return list(agent.conn.execute("SELECT state, category, first_name, session FROM mediator_calls ORDER BY id"))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, (None, None)),
        ({"category": "inconnu", "first_name": "  "}, (None, None)),
        ({"category": "logement", "first_name": " Marie-Claire "}, (Category.LOGEMENT, "Marie-Claire")),
    ],
)
def test_call_requests_are_read(params: dict[str, str], expected: tuple[Category | None, str | None]) -> None:
    assert parse_call_request(params) == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "impots"}, "category"),
        ({"category": "logement'; DROP TABLE mediator_calls; --"}, "category"),
        ({"first_name": "a" * 500}, "first_name"),
        ({"first_name": "a" * 31}, "first_name"),
        ({"first_name": "<b>Zoé</b>"}, "first_name"),
        ({"first_name": "Zoé<script>"}, "first_name"),
    ],
)
def test_bad_call_requests_are_refused(params: dict[str, str], field: str) -> None:
    with pytest.raises(ContactError) as refused:
        parse_call_request(params)
    assert refused.value.field == field and refused.value.resident_message


def test_a_call_is_opened_once_and_followed(agent: Store) -> None:
    desk, clock = desk_up(agent)
    try:
        assert desk.refresh("s1").state is DeskState.OFFER
        view = desk.open_call({"category": "logement", "first_name": "Zoé"}, "s1")
        assert view == DeskView(DeskState.WAITING, number=1, position=1, wait="moins de 5 minutes")
        assert desk.view is view  # what the page renders
        again = desk.open_call({"category": "travail"}, "s1")  # a second confirm: the same call
        assert again.number == 1 and rows(agent) == [("waiting", "logement", "Zoé", "s1")]
        console = CallQueue(agent, SETTINGS.mediator, ZoneInfo("Europe/Paris"), clock)
        console.take(1)
        assert desk.refresh("s1") == DeskView(DeskState.TAKEN, number=1)
        console.finish(1)
        assert desk.refresh("s1").state is DeskState.DONE  # shown once…
        assert desk.refresh("s1").state is DeskState.OFFER  # …then a new call may be made
        stages = [r[0] for r in agent.conn.execute("SELECT data FROM events WHERE kind = 'mediator_call'")]
        # One call, counted once by the shell; the console (its own recorder) counts taken and done.
        assert stages == ['{"stage":"opened","wait_s":null}']
    finally:
        desk.close()


def test_the_place_and_wait_count_the_callers_ahead(agent: Store) -> None:
    clock = ManualClock(MONDAY_10H)
    up(agent, clock)
    console = CallQueue(agent, SETTINGS.mediator, ZoneInfo("Europe/Paris"), clock)
    console.open(None, None, "someone-else")
    desk = make_desk(agent, clock)
    try:
        view = desk.open_call({}, "s1")
        assert (view.number, view.position, view.wait) == (2, 2, "environ 15 minutes")
    finally:
        desk.close()


def test_the_sessions_waiting_call_is_missed_when_it_ends(agent: Store) -> None:
    desk, _clock = desk_up(agent)
    try:
        desk.open_call({"category": "papiers"}, "s1")
        assert desk.session_ended("s1") == 1
        assert rows(agent) == [("missed", "papiers", None, "s1")]
        assert desk.call_id is None and desk.view.state is DeskState.RECEPTION  # nothing of it for the next resident
    finally:
        desk.close()


def test_the_next_resident_never_sees_the_last_ones_call(agent: Store) -> None:
    """The last resident's end is written off the GUI thread; the next one may ask first."""
    desk, _clock = desk_up(agent)
    try:
        desk.open_call({"category": "papiers"}, "s1")
        assert desk.refresh("s2").state is DeskState.OFFER  # not s1's number
        view = desk.open_call({"category": "logement"}, "s2")
        assert view.number == 2 and view.position == 2  # s1's call still waits
        assert desk.session_ended("s1") == 1  # s1's end, arriving late
        assert desk.refresh("s2").state is DeskState.WAITING and desk.view.position == 1  # s2's call kept
        assert [r[0] for r in rows(agent)] == ["missed", "waiting"]
    finally:
        desk.close()


def test_no_call_when_the_agent_is_down_or_nobody_can_come(agent: Store) -> None:
    clock = ManualClock(MONDAY_10H)
    set_staff_present(agent, True, clock.now())
    desk = make_desk(agent, clock)
    try:
        assert desk.open_call({"category": "papiers"}, "s1").state is DeskState.RECEPTION  # no beat: down
        beat(agent, clock.now())
        set_staff_present(agent, False, clock.now())
        absent = desk.open_call({"category": "papiers"}, "s1")
        assert absent.state is DeskState.UNAVAILABLE
        assert (
            absent.message
            == "Aucun médiateur n'est disponible en ce moment. Prochaine présence : Aujourd'hui à partir de 14 h."
        )
        clock.set_wall(SATURDAY)
        beat(agent, clock.now())
        closed = desk.refresh("s1")
        assert closed.message == "L'espace est fermé en ce moment. Prochaine présence : Lundi de 9 h à 12 h."
        assert rows(agent) == []
    finally:
        desk.close()


def test_a_disabled_mediator_or_no_database_sends_to_the_reception(agent: Store) -> None:
    clock = ManualClock(MONDAY_10H)
    up(agent, clock)
    disabled = SETTINGS.model_copy(update={"mediator": MediatorSettings(enabled=False)})
    desk = make_desk(agent, clock, disabled)
    nowhere = MediationDesk(None, SETTINGS, clock)
    try:
        assert desk.open_call({}, "s1").state is DeskState.DISABLED
        assert nowhere.open_call({}, "s1").state is DeskState.RECEPTION
        assert nowhere.session_ended("s1") == 0
        assert rows(agent) == []
    finally:
        desk.close()


def test_a_database_locked_by_the_other_process_sends_to_the_reception(agent: Store) -> None:
    desk, _clock = desk_up(agent)
    try:
        assert desk.refresh("s1").state is DeskState.OFFER
        agent.conn.execute("BEGIN IMMEDIATE")  # the agent holds the write lock past the desk's wait
        try:
            assert desk.open_call({"category": "papiers"}, "s1").state is DeskState.RECEPTION
        finally:
            agent.conn.execute("ROLLBACK")
        assert rows(agent) == [] and desk.call_id is None
    finally:
        desk.close()


def test_a_damaged_read_is_the_reception_desk_not_an_error(agent: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    desk, _clock = desk_up(agent)

    def broken(*_args: object) -> bool:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr("kiosk.core.mediation.desk.agent_alive", broken)
    try:
        assert desk.refresh("s1").state is DeskState.RECEPTION
    finally:
        desk.close()


# -- the page ---------------------------------------------------------------------------------
def services(desk: MediationDesk | None) -> PageServices:
    return PageServices(CONFIG.tiles, HelpLibrary(REPO / "config" / "help"), mediation=desk)


def test_the_page_offers_the_home_pages_categories_and_i_dont_know() -> None:
    context = mediator_context(DeskView(DeskState.OFFER), CONFIG.tiles)
    values = [c["value"] for c in context["categories"]]
    assert values == [category.value for category, _ in CONFIG.tiles.by_category()] + ["inconnu"]
    assert all(c["icon"].startswith(("icons/", "actions/")) for c in context["categories"])
    html = PageRenderer(icons_dir=REPO / "config" / "icons", centre_name="Centre").render("mediator", **context)
    body = html.body.decode()
    assert "Je ne sais pas" in body and 'action="kiosk://borne/action/call"' in body
    assert "gardé jusqu'à ce soir seulement" in body


def test_the_page_without_a_desk_sends_to_the_reception() -> None:
    context = PAGES.context("mediator", PageRequest(), services(None))
    assert context["desk"] == "reception" and context["categories"] == []


@pytest.mark.parametrize(
    ("view", "shown"),
    [
        (
            DeskView(DeskState.WAITING, number=7, position=2, wait="environ 15 minutes"),
            "Vous êtes le 2e dans la file. Attente : environ 15 minutes.",
        ),
        (
            DeskView(DeskState.WAITING, number=7, position=1, wait="moins de 5 minutes"),
            "Vous êtes le 1er dans la file.",
        ),
        (DeskView(DeskState.TAKEN, number=7), "Un médiateur arrive vers vous"),
        (DeskView(DeskState.CANCELLED, number=7), "Une personne de l'accueil de Centre peut vous aider."),
        (DeskView(DeskState.UNAVAILABLE, "L'espace est fermé en ce moment."), "L'espace est fermé en ce moment."),
        (DeskView(DeskState.DISABLED), "Adressez-vous à l'accueil de Centre"),
    ],
)
def test_each_state_of_the_page(view: DeskView, shown: str) -> None:
    class Desk:
        pass

    desk = Desk()
    desk.view = view  # type: ignore[attr-defined]
    context = PAGES.context("mediator", PageRequest(), services(desk))  # type: ignore[arg-type]
    body = PageRenderer(icons_dir=REPO / "config" / "icons", centre_name="Centre").render("mediator", **context).body
    text = " ".join(re.sub(r"<[^>]+>", " ", body.decode()).replace("&#39;", "'").replace(" .", ".").split())
    assert shown in text
    assert ("action/call" in body.decode()) is (view.state is DeskState.OFFER)
