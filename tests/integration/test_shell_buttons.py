"""A big USB button in the real shell (offscreen): python-evdev's fake device, read by the real
adapter, presses the top bar's verbs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.session import State
from kiosk.core.store import Role, Store, open_store
from kiosk.devices.evdev import EvdevButtons, touchscreen_status
from kiosk.devices.fakes import FakeEvdev
from kiosk.shell.assembly import report_touchscreen
from kiosk.shell.operations import pending
from kiosk.shell.web.scheme import page_name

pytestmark = [pytest.mark.shell, pytest.mark.devices]


def test_a_button_opens_the_mediator_page_and_another_ends_the_session(qtbot, make_kiosk) -> None:  # type: ignore[no-untyped-def]
    machine = FakeEvdev()
    button = machine.plug("USB Big Button", keys=("KEY_F13", "KEY_F14"))
    buttons = EvdevButtons("USB Big Button", {"KEY_F13": "mediator", "KEY_F14": "end"}, library=machine)
    kiosk = make_kiosk(buttons=buttons)
    qtbot.waitUntil(buttons.connected.is_set, timeout=5_000)
    assert button.grabbed_by is not None  # its keys reach nothing else

    button.press("KEY_F13", at=10.0)  # from the welcome screen, like the top bar's button
    qtbot.waitUntil(lambda: page_name(kiosk.controller.current_url()) == "mediator", timeout=10_000)
    assert kiosk.controller.state is State.ACTIVE

    button.press("KEY_F14", at=11.0)
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)

    kiosk.buttons.stop()  # as the kiosk's close() does: the reader stops and lets the device go
    assert button.grabbed_by is None and not button.handles


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "data" / "kiosk.db", Role.SHELL)
    yield store
    store.close()  # after the kiosk (set up before it, torn down after it)


def test_a_terminal_without_touchscreen_records_it_at_start(qtbot, store, make_kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk(store=store)
    with_touch = FakeEvdev()
    with_touch.plug("ILITEK ILITEK-TP", touch=True)
    report_touchscreen(kiosk, lambda: touchscreen_status(with_touch))
    report_touchscreen(kiosk, lambda: touchscreen_status(FakeEvdev()))  # nothing plugged
    # Every call answered: these two, and the device watch's first probes (a loaded machine may
    # take a few seconds over those).
    qtbot.waitUntil(lambda: pending() == 0, timeout=30_000)
    errors = [json.loads(data) for (data,) in store.conn.execute("SELECT data FROM events WHERE kind = 'device_error'")]
    assert errors == [{"device": "touchscreen", "error": "absent"}]
