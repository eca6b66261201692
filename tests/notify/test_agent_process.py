"""The real ``kiosk agent --once``, twice, as two starts of the agent: the reminder reaches the
SMTP capture once (the second start finds it sent in the database)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.loading import load_config
from kiosk.core.mediation.booking import AppointmentBook, Booked, Channel
from kiosk.core.ports import ManualClock, SystemClock
from kiosk.core.store import DB_NAME, Role, open_store
from sync.vocabulary import Category
from tests.notify.conftest import AWA, PARIS
from tests.notifykit import SmtpCapture

pytestmark = pytest.mark.appointments
REPO = Path(__file__).resolve().parents[2]
EVERY_DAY = "\n".join(f'{day} = ["08:00-18:00"]' for day in ("monday", "tuesday", "wednesday", "thursday",
                                                              "friday", "saturday", "sunday"))  # fmt: skip


def agent_once(config: Path, data: Path, tmp_path: Path) -> str:
    env = {"PATH": "/usr/bin:/bin", "KIOSK_DATA_DIR": str(data), "KIOSK_LAST_GOOD_DIR": str(tmp_path / "lg")}
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "agent", "--once", "--config-dir", str(config)],
        env=env, capture_output=True, text=True, timeout=90, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_starts_of_the_agent_send_the_reminder_once(tmp_path: Path, smtp_capture: SmtpCapture) -> None:
    config, data = tmp_path / "config", tmp_path / "data"
    config.mkdir()
    (config / "tiles.toml").write_text((REPO / "config" / "tiles.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (config / "icons").symlink_to(REPO / "config" / "icons")
    (config / "kiosk.toml").write_text(
        f"""[centre]
name = "Espace France Services de Saint-Exemple"
[opening]
{EVERY_DAY}
[devices]
printer = "none"
scanner = "none"
[appointments]
min_notice_min = 0
[[appointments.persons]]
id = "marie"
name = "Marie Dupont"
{EVERY_DAY}
[notifications]
public_url = "https://rdv.centre-exemple.fr"
[notifications.smtp]
host = "127.0.0.1"
port = {smtp_capture.port}
security = "none"
from_address = "rdv@centre-exemple.fr"
[notifications.reminders]
send_at = "00:00"
""",
        encoding="utf-8",
    )
    # Booked two days ago (so before the reminders' hour) for tomorrow at noon, as the shell books.
    settings = load_config(config / "kiosk.toml", config / "tiles.toml").kiosk
    store = open_store(data / DB_NAME, Role.SHELL)
    try:
        clock = ManualClock(SystemClock().now() - timedelta(days=2))
        book = AppointmentBook(store, settings.appointments, settings.opening, PARIS, clock)
        book.seed_persons(settings.appointments.persons)
        tomorrow = (SystemClock().now().astimezone(PARIS) + timedelta(days=1)).date()
        noon = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 12, tzinfo=PARIS)
        slot = next(s for s in book.free_slots(Category.LOGEMENT) if s.start == noon)
        assert isinstance(book.book(slot, Category.LOGEMENT, AWA, Channel.KIOSK), Booked)
    finally:
        store.close()

    first = agent_once(config, data, tmp_path)
    assert "1 reminder(s) and 0 alert(s) sent" in first, first
    second = agent_once(config, data, tmp_path)
    assert "0 reminder(s) and 0 alert(s) sent" in second, second
    assert len(smtp_capture.messages) == 1 and "à 12 h" in smtp_capture.bodies()[0]
