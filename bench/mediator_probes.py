"""The mediator call's figure for `make bench`: ``mediator_call_to_console_ms``.

From the resident's confirm — :meth:`MediationDesk.open_call`, what the shell runs on its worker
thread when the page's confirm arrives — to the call's row in the calls list of a staff console
open in headless Chromium (logged in, its live stream connected), served by the real
``kiosk agent`` in a process of its own on the same database file, as on a terminal.

The end point is the row entering the page's document, time-stamped in the page by a
``MutationObserver`` on the list (``Date.now()``, the same system clock as the bench's
``time.time()``): that is what staff see, one frame before it is painted. The server-sent event
reaching a Python client would leave out the browser's part (the event's delivery, the list
swapped in) and add the bench's own threads; polling the page from here would add the poll.

Baseline, in the same run and in turns with the calls: the same channel carrying a change that
needs no call — staff presence switched by a write to the database from the bench's own
connection (as the shell writes its call), to the list showing it. The ratio says what the
call's path (the desk's checks, the row, its statistics) adds to what the live list costs by
itself (the stream reads the database every ``POLL_S``: half of that on average). Also given:
``mediator_console_fetch_ms``, the console's list fetched by the page (``/api/appels``), what a
console asking at that instant would wait.

Each measured change comes after a random pause shorter than ``POLL_S``, so that changes fall
anywhere between two reads of the stream, not just after one.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.agent.console.context import POLL_S
from kiosk.core.loading import load_config
from kiosk.core.mediation.desk import DeskState, MediationDesk
from kiosk.core.mediation.presence import set_staff_present
from kiosk.core.mediation_config import OpeningSettings
from kiosk.core.ports import SystemClock
from kiosk.core.settings import KioskSettings
from kiosk.core.store import Role, Store, open_store
from tests.agentkit import log_in, running_agent, staff_browser

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 1000.0
STAFF = ("bench", "mot-de-passe-du-banc")
ALL_DAY = ("00:00-24:00",)
SHOWN_WITHIN_S = 10.0

WATCH = """() => {
  const list = document.getElementById("appels");
  window.__swaps = [];
  new MutationObserver(() => {
    const waiting = [...list.querySelectorAll("li.call.waiting")].map(li => Number(li.dataset.call));
    const presence = list.querySelector(".presence strong");
    window.__swaps.push([Date.now(), waiting, presence ? presence.textContent : ""]);
  }).observe(list, {childList: true});
  return true;
}"""
"""Each time the live stream swaps the list in: when, the waiting calls' ids, the presence word."""

FETCH = """async () => {
  const start = performance.now();
  const answer = await fetch("/api/appels", {cache: "no-store"});
  await answer.json();
  return performance.now() - start;
}"""

Swap = tuple[float, list[int], str]


def always_open(settings: KioskSettings) -> KioskSettings:
    """The shipped settings, open every hour of every day (the bench runs whenever it is run)."""
    opening = OpeningSettings(
        monday=ALL_DAY, tuesday=ALL_DAY, wednesday=ALL_DAY, thursday=ALL_DAY, friday=ALL_DAY, saturday=ALL_DAY,
        sunday=ALL_DAY,
    )  # fmt: skip
    return settings.model_copy(update={"opening": opening})


class Console:
    """The calls page in headless Chromium, and the list's swaps it has seen."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def login(self, url: str) -> None:
        log_in(self.page, url, *STAFF)
        self.wait(lambda: self.page.inner_text("#etat-direct") == "Mise à jour en direct.", "the live stream")
        self.page.evaluate(WATCH)

    def wait(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + SHOWN_WITHIN_S
        while not check():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the console did not show {what} within {SHOWN_WITHIN_S:.0f} s")
            time.sleep(0.02)

    def shown(self, check: Callable[[Swap], bool], what: str) -> float:
        """The time (epoch ms) the first swap ``check`` accepts entered the page; the swaps seen
        so far are then forgotten."""
        found: list[float] = []

        def seen() -> bool:
            swaps = self.page.evaluate("window.__swaps")
            found.extend(float(at) for at, waiting, presence in swaps if check((at, waiting, presence)))
            return bool(found)

        self.wait(seen, what)
        self.page.evaluate("window.__swaps = []")
        return found[0]

    def fetch_ms(self) -> float:
        return float(self.page.evaluate(FETCH))


def now_ms() -> float:
    return time.time() * 1000


def presence_ms(console: Console, store: Store, present: bool, rng: random.Random) -> float:
    """Staff presence switched in the database, to the console showing it."""
    time.sleep(rng.uniform(0, POLL_S))
    word = "présent" if present else "absent"
    start = now_ms()
    set_staff_present(store, present, SystemClock().now())
    return console.shown(lambda swap: swap[2] == word, f"staff {word}") - start


def call_ms(console: Console, desk: MediationDesk, session: str, rng: random.Random) -> float:
    """The resident's confirm, to the call's row in the console; the call is then left (missed)
    and the console shown without it."""
    time.sleep(rng.uniform(0, POLL_S))
    start = now_ms()
    view = desk.open_call({"category": "papiers", "first_name": "Zoé"}, session)
    if view.state is not DeskState.WAITING or desk.call_id is None:
        raise RuntimeError(f"the desk did not open a call: {view}")
    call = desk.call_id
    shown = console.shown(lambda swap: call in swap[1], f"call {call}")
    desk.session_ended(session)
    console.shown(lambda swap: call not in swap[1], f"call {call} gone")
    return shown - start


def measure(rounds: int = 20) -> dict[str, object]:
    config = REPO / "config"
    settings = always_open(load_config(config / "kiosk.toml", config / "tiles.toml").kiosk)
    with tempfile.TemporaryDirectory(prefix="borne-bench-mediator-") as tmp:
        calls, baseline, fetches = turns(config, Path(tmp), settings, rounds)
    call, base = statistics.median(calls), statistics.median(baseline)
    return {
        "mediator_call_to_console_ms": round(call, 1),
        "mediator_call_to_console_baseline_ms": round(base, 1),
        "mediator_call_to_console_ratio": round(call / base, 2),
        "mediator_call_to_console_max_ms": round(max(calls), 1),
        "mediator_console_fetch_ms": round(statistics.median(fetches), 1),
        "mediator_call_to_console_target_ms": TARGET_MS,
        "mediator_call_to_console_target_met": call < TARGET_MS,
        "mediator_call_rounds": rounds,
    }


def turns(
    config: Path, root: Path, settings: KioskSettings, rounds: int
) -> tuple[list[float], list[float], list[float]]:
    """Calls, presence changes (two a turn) and list fetches, in turns, in milliseconds."""
    rng = random.Random(13)
    calls: list[float] = []
    baseline: list[float] = []
    fetches: list[float] = []
    with running_agent(config, root, [(STAFF[0], "staff", STAFF[1])]) as agent, staff_browser() as page:
        store = open_store(agent.db_path, Role.SHELL)  # the shell's own connection
        desk = MediationDesk(agent.db_path, settings, SystemClock())
        try:
            console = Console(page)
            console.login(agent.console_url)
            presence_ms(console, store, True, rng)  # staff present: the desk offers calls
            desk.refresh("warm-up")  # the desk's connection opened, as after the page's first look
            for turn in range(rounds):
                baseline.append(presence_ms(console, store, False, rng))
                baseline.append(presence_ms(console, store, True, rng))
                calls.append(call_ms(console, desk, f"bench-{turn}", rng))
                fetches.append(console.fetch_ms())
        finally:
            desk.close()
            store.close()
    return calls, baseline, fetches


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 20), indent=2))
