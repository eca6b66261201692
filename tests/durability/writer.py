"""A stand-in for the shell's event writer, for the durability suite.

``python -m tests.durability.writer DBPATH SEED [full]`` opens the store as the shell does
(``Role.SHELL``, ``Durability.FULL`` with ``full``) and records sessions of varied events through
the real :class:`StatsRecorder`, as fast as it can, forever. Between sessions it sometimes flushes
and checkpoints, as the shell does while the attract screen shows, so a kill can land in a
checkpoint too.

Every event can be told apart in the database by its *key* ``<session>/<kind>/<tile or ->``: the
session id is ``<SEED>-<n>`` and a session holds each kind at most once, except ``tile_opened``
whose tiles differ. Once the recorder has acknowledged an event (``record()`` returned ``True``:
it is committed, and so is everything that was waiting in memory before it) the writer prints
``ACK <key>`` and flushes stdout, so the parent knows which events must survive a SIGKILL.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from kiosk.core.ports import SystemClock
from kiosk.core.stats.events import (
    AgeBracket,
    DeviceError,
    Event,
    HelpSearched,
    Outcome,
    PagesScanned,
    PrintJob,
    Satisfaction,
    SessionEnded,
    SessionStarted,
    TileOpened,
)
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Durability, Role, open_store
from sync.vocabulary import Category


def event_key(session: str, kind: str, tile: object = None) -> str:
    """The key of an event; the parent computes it from the database the same way."""
    return f"{session}/{kind}/{tile or '-'}"


def session_events(rng: random.Random) -> list[Event]:
    """One resident's session: a start, a few tiles and devices, an end with or without answers."""
    middle: list[Event] = []
    for j in range(rng.randrange(4)):
        middle.append(TileOpened(tile=f"t{j}", category=rng.choice(list(Category))))
    if rng.random() < 0.5:
        middle.append(PrintJob(pages=rng.randint(1, 40), status=rng.choice(["printed", "held", "released"])))
    if rng.random() < 0.3:
        middle.append(PagesScanned(pages=rng.randint(1, 20)))
    if rng.random() < 0.3:
        middle.append(HelpSearched(results=rng.randrange(12)))
    if rng.random() < 0.1:
        middle.append(DeviceError(device="printer", error=rng.choice(["offline", "paper_out", "jam"])))
    rng.shuffle(middle)
    answered = rng.random() < 0.5
    end = SessionEnded(
        duration_s=round(rng.uniform(0, 3600), 3),
        reason="button" if answered else rng.choice(["idle", "crash", "staff"]),
        age=rng.choice(list(AgeBracket)) if answered else None,
        outcome=rng.choice(list(Outcome)) if answered else None,
        satisfaction=rng.choice(list(Satisfaction)) if answered else None,
        first_visit=rng.choice([True, False]) if answered else None,
    )
    return [SessionStarted(), *middle, end]


def main() -> None:
    path, seed = Path(sys.argv[1]), int(sys.argv[2])
    durability = Durability.FULL if "full" in sys.argv[3:] else Durability.NORMAL
    rng = random.Random(seed)
    store = open_store(path, Role.SHELL, durability)
    recorder = StatsRecorder(store, SystemClock())
    out = sys.stdout
    waiting: list[str] = []  # recorded but not yet acknowledged (the database was locked)
    n = 0
    while True:
        session = f"{seed}-{n}"
        for event in session_events(rng):
            waiting.append(event_key(session, event.kind, getattr(event, "tile", None)))
            if recorder.record(event, session):
                if recorder.lost_total:
                    sys.exit(f"the recorder dropped {recorder.lost_total} events: cannot tell which were written")
                out.write("".join(f"ACK {key}\n" for key in waiting))
                out.flush()
                waiting.clear()
        if rng.random() < 0.1:  # between residents, as the shell does on the attract screen
            if recorder.flush() and waiting and not recorder.lost_total:
                out.write("".join(f"ACK {key}\n" for key in waiting))
                out.flush()
                waiting.clear()
            store.checkpoint()
        n += 1


if __name__ == "__main__":
    main()
