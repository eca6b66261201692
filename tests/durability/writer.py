"""A stand-in for the shell's event writer, for the durability suite.

``python -m tests.durability.writer DB START [full]`` records events as fast as it can, forever,
through the real store and recorder; after each event the recorder acknowledges (committed), it
prints ``ACK <n>`` and flushes, so the parent knows which events must survive a SIGKILL.
Each event carries its number ``n`` (a tile id ``t<n>``) so it can be found in the database.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk.core.config import Category
from kiosk.core.ports import SystemClock
from kiosk.core.stats.events import PrintJob, SessionEnded, SessionStarted, TileOpened
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Durability, Role, open_store


def main() -> None:
    path, start = Path(sys.argv[1]), int(sys.argv[2])
    durability = Durability.FULL if "full" in sys.argv[3:] else Durability.NORMAL
    store = open_store(path, Role.SHELL, durability)
    recorder = StatsRecorder(store, SystemClock())
    out = sys.stdout
    n = start
    while True:
        session = f"s{n}"
        # Filler events around each numbered one, as a real session writes them.
        recorder.record(SessionStarted(), session)
        if recorder.record(TileOpened(tile=f"t{n}", category=Category.AUTRE), session):
            out.write(f"ACK {n}\n")
            out.flush()
        recorder.record(PrintJob(pages=1 + n % 5, status="printed"), session)
        recorder.record(SessionEnded(duration_s=n % 600, reason="button"), session)
        n += 1


if __name__ == "__main__":
    main()
