"""A mediator call end to end, as at a centre: the resident at the real shell (offscreen
QtWebEngine), the staff member at the console in headless Chromium, served by the real
``kiosk agent`` in a process of its own (HTTPS with the certificate it makes at its first start).
The two processes meet in one database file, as in production.

Each step leaves a screenshot of the console and of the shell in ``build/screenshots/``
(``e2e-mediator-*.png``): look at them after changing the calls page or the mediator page.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.core.mediation.presence import agent_alive
from kiosk.core.ports import SystemClock
from kiosk.core.store import Role, Store, open_store
from tests.agentkit import RunningAgent, log_in, running_agent, staff_browser
from tests.integration.test_shell_mediator import confirm_call, press_mediator, text, wait_text
from tests.shellkit import write_test_config

pytestmark = [pytest.mark.browser, pytest.mark.mediator, pytest.mark.console, pytest.mark.shell]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"
STAFF = ("karim", "mot-de-passe-accueil")
FOLLOW_S = 2.0
"""The console shows a new call, and the resident's screen a change made at the console, within this."""

ALWAYS_OPEN = """
[session]
idle_timeout_s = 900   # the resident waits for the mediator without touching the screen
warning_s = 10
goodbye_s = 2

[opening]   # open every day and all day: the test runs whenever it is run
monday = ["00:00-24:00"]
tuesday = ["00:00-24:00"]
wednesday = ["00:00-24:00"]
thursday = ["00:00-24:00"]
friday = ["00:00-24:00"]
saturday = ["00:00-24:00"]
sunday = ["00:00-24:00"]
"""


COUNT_TONES = """
window.__tones = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__tones += 1; return start.apply(this, args); };
"""
"""Run before the console's own script in each of its pages (the CSP does not apply): counts the
tones of its beep (two a beep)."""


def centre_config(directory: Path) -> Path:
    """The shell's test configuration (loopback tiles), always open; the agent reads it too.
    Not ``tmp_path / "config"``: the ``kiosk_config`` fixture writes its own there."""
    write_test_config(directory)
    kiosk = directory / "kiosk.toml"
    base = kiosk.read_text(encoding="utf-8")
    session_start = base.index("[session]")
    session_end = base.index("[shell]")
    kiosk.write_text(base[:session_start] + base[session_end:] + ALWAYS_OPEN, encoding="utf-8")
    return directory


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[RunningAgent]:
    """``kiosk agent`` in its own process, with a staff account; stopped even when the test fails."""
    with running_agent(
        centre_config(tmp_path / "centre-config"), tmp_path / "agent", [(STAFF[0], "staff", STAFF[1])]
    ) as agent:
        yield agent


@pytest.fixture
def shell_store(agent: RunningAgent) -> Iterator[Store]:
    """The shell's own connection to the agent's database file."""
    store = open_store(agent.db_path, Role.SHELL)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def console_page(agent: RunningAgent) -> Iterator[object]:
    with staff_browser() as page:
        yield page


def until(qtbot, check: Callable[[], bool], timeout_s: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds until ``check`` holds, the shell's events running meanwhile (polled from here:
    the console's CSP rightly forbids the eval Playwright's own waits use)."""
    start = time.monotonic()
    qtbot.waitUntil(check, timeout=int(timeout_s * 1000))
    return time.monotonic() - start


def screenshots(qtbot, kiosk, page, step: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"e2e-mediator-{step}-console.png"), full_page=True)
    if kiosk is not None:
        qtbot.wait(700)  # painted
        kiosk.window.grab().save(str(SCREENSHOTS / f"e2e-mediator-{step}-shell.png"))


def test_a_resident_calls_and_staff_take_the_call_in_the_console(  # type: ignore[no-untyped-def]
    qtbot, agent: RunningAgent, shell_store: Store, console_page, make_kiosk
) -> None:
    # make_kiosk last: the shell is closed (its session wiped, written down) before its store,
    # and the agent stopped after both.
    from kiosk.core.loading import load_config

    page = console_page
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    # Staff log in and say they are there.
    page.add_init_script(COUNT_TONES)
    page.goto(agent.console_url + "/appels")
    assert page.url.endswith("/connexion")
    screenshots(qtbot, None, page, "1-login")
    log_in(page, agent.console_url, *STAFF)
    page.click("button[name=present][value=oui]")
    page.wait_for_url("**/appels?avis=present")
    until(qtbot, lambda: page.inner_text("#etat-direct") == "Mise à jour en direct.", 10)
    assert "Personne n'attend." in page.inner_text("#appels")
    page.evaluate("window.__sameDocument = true")

    # The resident, at the real shell on the same database, presses "Contacter le médiateur".
    config = load_config(agent.config_dir / "kiosk.toml", agent.config_dir / "tiles.toml")
    kiosk = make_kiosk(config=config, store=shell_store, clock=SystemClock())
    assert agent_alive(shell_store, datetime.now(UTC))  # the agent's own beat
    press_mediator(qtbot, kiosk)
    wait_text(qtbot, kiosk, "C'est pour quelle démarche ?")
    screenshots(qtbot, kiosk, page, "2-offer")

    # They choose a démarche and confirm: the console shows the call, without a reload.
    confirm_call(qtbot, kiosk, "papiers", "Zoé")
    waiting = "li.call.waiting"
    shown_s = until(qtbot, lambda: page.locator(waiting).count() == 1, FOLLOW_S)
    assert shown_s < FOLLOW_S
    assert page.evaluate("window.__sameDocument") is True
    row = page.inner_text(waiting)
    assert "N° 1" in row and "Zoé" in row and "Papiers" in row, row
    assert page.title().startswith("(1) Appel en attente")
    # With a beep: the staff's click that loaded this page lets it play sound, no other touch needed.
    assert page.evaluate("window.__tones") == 2
    wait_text(qtbot, kiosk, "Vous êtes le 1er dans la file.")
    assert kiosk.window.top_bar.label("mediator") == "Médiateur : n° 1"
    screenshots(qtbot, kiosk, page, "3-waiting")

    # Staff take it: the resident's screen says someone is coming.
    page.click(f"{waiting} button:has-text('Prendre')")
    taken_at = time.monotonic()
    page.wait_for_url("**/appels?avis=prendre")
    wait_text(qtbot, kiosk, "Un médiateur arrive vers vous", timeout=int(FOLLOW_S * 1000))
    assert time.monotonic() - taken_at < FOLLOW_S
    assert kiosk.window.top_bar.label("mediator") == "Un médiateur arrive"
    assert page.locator("li.call.taken").count() == 1 and page.locator(waiting).count() == 0
    assert "Appel pris : allez voir la personne." in page.inner_text("main")
    screenshots(qtbot, kiosk, page, "4-taken")

    # Staff finish it: both screens say so.
    page.click("li.call.taken button:has-text('Terminer')")
    finished_at = time.monotonic()
    page.wait_for_url("**/appels?avis=terminer")
    wait_text(qtbot, kiosk, "l'échange avec le médiateur est terminé", timeout=int(FOLLOW_S * 1000))
    assert time.monotonic() - finished_at < FOLLOW_S
    assert kiosk.window.top_bar.label("mediator") == "Contacter le médiateur"
    assert "Aucun appel en cours." in page.inner_text("#appels") and "Appel terminé." in page.inner_text("main")
    screenshots(qtbot, kiosk, page, "5-done")
    assert "Un médiateur arrive" not in text(qtbot, kiosk)
    states = shell_store.conn.execute("SELECT state, category, first_name FROM mediator_calls").fetchall()
    assert [tuple(r) for r in states] == [("done", "papiers", "Zoé")]
    assert problems == []  # a CSP refusal or a missing file in the console would be reported here
