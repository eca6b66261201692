"""`make run`: give the local federation server a centre, this terminal and an admin account, once.

Idempotent: does nothing when the terminal is already enrolled. Prints where to look.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from sync.server import admin
from sync.server.db import Database, migrate


def main(server: str, data_dir: Path, credentials: Path) -> int:
    if (data_dir / "sync.json").exists():
        return 0
    db = Database(os.environ["BORNE_FEDERATION_DB"])
    migrate(db.engine)
    centre = admin.create_centre(
        db, "Espace France Services de Saint-Exemple", "Saint-Exemple", "69", "france_services"
    )
    made = admin.create_terminal(db, centre, "Borne de démonstration")
    if not credentials.exists():
        password = secrets.token_urlsafe(12)
        admin.create_user(db, "admin", password)
        credentials.write_text(f"admin\n{password}\n", encoding="utf-8")
        credentials.chmod(0o600)
    db.dispose()
    from kiosk.cli import main as kiosk

    return kiosk(["enroll", "--server", server, "--code", made.code])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])))
