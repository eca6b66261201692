"""The staff agent (staff console, scheduled statistics and sync jobs).

Its jobs arrive with the statistics and sync work; until then the command says so
plainly rather than pretending to run.
"""

from __future__ import annotations

import sys


def run_agent() -> int:
    print(
        "kiosk agent: the staff agent (statistics aggregation, sync to the federation, staff console) "
        "is not part of this release yet. The kiosk shell runs on its own.",
        file=sys.stderr,
    )
    return 2
