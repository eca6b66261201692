"""Physical buttons and the touchscreen: the evdev adapter reading python-evdev's fake devices
(kiosk.devices.fakes.FakeEvdev), and ``[devices.buttons]`` validated."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import get_args

import pytest
from evdev import ecodes

from kiosk.core.devices import DeviceState
from kiosk.core.loading import check_config
from kiosk.core.settings import ButtonsSettings, ButtonVerb, DevicesSettings
from kiosk.devices.evdev import ButtonConfigError, EvdevButtons, resolve_keys, touchscreen_status
from kiosk.devices.fakes import FakeEvdev, FakeInputNode
from kiosk.devices.select import build_buttons
from kiosk.pages.actions import Action

pytestmark = [pytest.mark.devices]

NAME = "USB Big Button"
KEYS = {"KEY_F13": "mediator", "KEY_F14": "end"}


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


class Reading:
    """An adapter started on the fake machine; the verbs it delivers, in order."""

    def __init__(self, machine: FakeEvdev, device: str = NAME, **options: float) -> None:
        self.verbs: queue.Queue[str] = queue.Queue()
        self.buttons = EvdevButtons(device, KEYS, library=machine, retry_s=0.05, **options)
        self.buttons.start(self.verbs.put)

    def next(self) -> str:
        return self.verbs.get(timeout=3)

    def nothing_more(self, node: FakeInputNode, at: float) -> None:
        """No verb is waiting: a press sent now is the next one delivered."""
        node.press("KEY_F14", at=at)
        assert self.next() == "end"


@pytest.fixture
def machine() -> FakeEvdev:
    return FakeEvdev()


@pytest.fixture
def reading(machine: FakeEvdev) -> Iterator[Reading]:
    started: list[Reading] = []

    def start(device: str = NAME, **options: float) -> Reading:
        started.append(Reading(machine, device, **options))
        return started[-1]

    yield start  # type: ignore[misc]
    for each in started:
        each.buttons.stop()
        assert each.buttons._thread is None  # the reader is gone, not left behind


def test_mapped_keys_give_their_verbs_and_the_device_is_grabbed(machine: FakeEvdev, reading) -> None:  # type: ignore[no-untyped-def]
    node = machine.plug(NAME, keys=("KEY_F13", "KEY_F14", "KEY_A"))
    other_program = machine.InputDevice(node.path)  # a reader that was there first (the compositor)
    buttons = reading()
    wait_for(buttons.buttons.connected.is_set)
    assert node.grabbed_by is not None and node.grabbed_by is not other_program
    node.press("KEY_A", at=1.0)  # not mapped: grabbed all the same, and nothing delivered
    node.press("KEY_F13", at=2.0)
    node.press("KEY_F14", at=3.0)
    assert [buttons.next(), buttons.next()] == ["mediator", "end"]
    assert other_program.queue == []  # the grab kept every key from it
    other_program.close()


def test_a_device_named_by_path(machine: FakeEvdev, reading) -> None:  # type: ignore[no-untyped-def]
    machine.plug("Keyboard")
    node = machine.plug(NAME, keys=("KEY_F13",))
    buttons = reading(node.path)
    wait_for(buttons.buttons.connected.is_set)
    node.press("KEY_F13", at=1.0)
    assert buttons.next() == "mediator"


def test_key_up_and_auto_repeat_are_ignored(machine: FakeEvdev, reading) -> None:  # type: ignore[no-untyped-def]
    node = machine.plug(NAME, keys=("KEY_F13", "KEY_F14"))
    buttons = reading()
    wait_for(buttons.buttons.connected.is_set)
    node.key("KEY_F13", 1, at=1.0)
    for held in range(1, 20):  # held down for two seconds: the kernel repeats it
        node.key("KEY_F13", 2, at=1.0 + held * 0.1)
    node.key("KEY_F13", 0, at=3.0)
    assert buttons.next() == "mediator"
    buttons.nothing_more(node, at=4.0)


def test_a_bounce_is_one_press_and_a_second_press_counts(machine: FakeEvdev, reading) -> None:  # type: ignore[no-untyped-def]
    node = machine.plug(NAME, keys=("KEY_F13", "KEY_F14"))
    buttons = reading(debounce_s=0.3)
    wait_for(buttons.buttons.connected.is_set)
    node.key("KEY_F13", 1, at=1.0)
    node.key("KEY_F13", 0, at=1.01)
    node.key("KEY_F13", 1, at=1.02)  # the contact bounced
    node.key("KEY_F13", 0, at=1.1)
    assert buttons.next() == "mediator"
    node.press("KEY_F14", at=1.2)  # another key is not a bounce of the first
    assert buttons.next() == "end"
    node.press("KEY_F13", at=1.5)  # a second press, later
    assert buttons.next() == "mediator"


def test_unplugged_then_plugged_again_it_is_read_again(machine: FakeEvdev, reading, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="kiosk.devices.evdev")
    node = machine.plug(NAME, keys=("KEY_F13", "KEY_F14"))
    buttons = reading()
    wait_for(buttons.buttons.connected.is_set)
    machine.unplug(node)  # the reader's next read fails with ENODEV
    wait_for(lambda: not buttons.buttons.connected.is_set())
    assert not node.handles  # let go: closed
    wait_for(lambda: "devices.buttons_absent" in caplog.messages)  # looked for, and said once
    time.sleep(0.2)  # several more looks
    assert caplog.messages.count("devices.buttons_absent") == 1
    lost = [r for r in caplog.records if r.message == "devices.buttons_lost"]
    assert [r.__dict__["error"] for r in lost] == ["ENODEV"]

    again = machine.plug(NAME, keys=("KEY_F13", "KEY_F14"))  # back, at another /dev/input/eventN
    assert again.path != node.path
    wait_for(buttons.buttons.connected.is_set)
    again.press("KEY_F13", at=50.0)
    assert buttons.next() == "mediator"
    assert again.grabbed_by is not None


def test_absent_at_start_it_is_read_once_plugged(machine: FakeEvdev, reading) -> None:  # type: ignore[no-untyped-def]
    buttons = reading()
    time.sleep(0.1)
    assert not buttons.buttons.connected.is_set()
    node = machine.plug(NAME, keys=("KEY_F13",))
    wait_for(buttons.buttons.connected.is_set)
    node.press("KEY_F13", at=1.0)
    assert buttons.next() == "mediator"


def test_a_device_another_program_grabbed_is_not_read_until_it_lets_go(machine: FakeEvdev, reading, caplog) -> None:  # type: ignore[no-untyped-def]
    node = machine.plug(NAME, keys=("KEY_F13",))
    holder = machine.InputDevice(node.path)
    holder.grab()
    buttons = reading()
    wait_for(lambda: "devices.buttons_grab_refused" in caplog.messages)
    assert not buttons.buttons.connected.is_set() and node.grabbed_by is holder
    holder.close()
    wait_for(buttons.buttons.connected.is_set)
    node.press("KEY_F13", at=1.0)
    assert buttons.next() == "mediator"


def test_a_failing_receiver_does_not_stop_the_buttons(machine: FakeEvdev, caplog) -> None:
    node = machine.plug(NAME, keys=("KEY_F13", "KEY_F14"))
    verbs: list[str] = []

    def deliver(verb: str) -> None:
        verbs.append(verb)
        if verb == "mediator":
            raise RuntimeError("a bug in the receiver")

    buttons = EvdevButtons(NAME, KEYS, library=machine, retry_s=0.05)
    buttons.start(deliver)
    try:
        wait_for(buttons.connected.is_set)
        node.press("KEY_F13", at=1.0)
        node.press("KEY_F14", at=2.0)
        wait_for(lambda: verbs == ["mediator", "end"])
        assert "devices.button_delivery_failed" in caplog.messages
    finally:
        buttons.stop()


def test_the_fake_has_python_evdevs_shape() -> None:
    """The fake's methods are python-evdev's, with the same parameters (what the adapter calls)."""
    import inspect

    import evdev

    from kiosk.devices.fakes import FakeInputDevice, FakeInputEvent

    for method in ("grab", "ungrab", "read", "close", "capabilities"):
        real = inspect.signature(getattr(evdev.InputDevice, method)).parameters
        assert list(inspect.signature(getattr(FakeInputDevice, method)).parameters) == list(real), method
    assert inspect.isgeneratorfunction(evdev.InputDevice.read) and inspect.isgeneratorfunction(FakeInputDevice.read)
    event = evdev.InputEvent(12, 500_000, ecodes.EV_KEY, 183, 1)
    fake = FakeInputEvent(12, 500_000, ecodes.EV_KEY, 183, 1)
    assert (fake.type, fake.code, fake.value, fake.timestamp()) == (
        event.type,
        event.code,
        event.value,
        event.timestamp(),
    )
    assert {"InputDevice", "list_devices", "ecodes"} <= set(dir(evdev)) & set(dir(FakeEvdev()))


# -- configuration ------------------------------------------------------------------------------


def test_key_names_resolve_to_the_kernels_codes() -> None:
    assert resolve_keys({"KEY_F13": "mediator", "BTN_0": "end"}, ecodes) == {183: "mediator", 256: "end"}


def test_an_unknown_key_name_is_refused_with_the_names_it_may_mean() -> None:
    with pytest.raises(ButtonConfigError, match=r"'KEY_ENTRE' is not a key name Linux knows; did you mean KEY_ENTER"):
        resolve_keys({"KEY_ENTRE": "end"}, ecodes)
    with pytest.raises(ButtonConfigError, match="the same key as another"):
        resolve_keys({"KEY_MUTE": "end", "KEY_MIN_INTERESTING": "home"}, ecodes)  # one code, two names


def test_a_bad_key_name_leaves_the_kiosk_without_buttons_and_says_why(caplog) -> None:  # type: ignore[no-untyped-def]
    settings = DevicesSettings(buttons=ButtonsSettings(device=NAME, keys={"KEY_F99": "end"}))
    assert build_buttons(settings) is None
    assert "devices.buttons_invalid" in caplog.messages
    assert build_buttons(DevicesSettings()) is None  # none configured


def write_config(directory: Path, buttons: str) -> tuple[Path, Path]:
    from tests.shellkit import write_test_config

    kiosk_toml = write_test_config(directory) / "kiosk.toml"
    kiosk_toml.write_text(kiosk_toml.read_text(encoding="utf-8") + "\n[devices.buttons]\n" + buttons, encoding="utf-8")
    return kiosk_toml, kiosk_toml.with_name("tiles.toml")


def test_buttons_in_kiosk_toml(tmp_path: Path) -> None:
    good = 'device = "USB Big Button"\nkeys = { KEY_F13 = "mediator", KEY_F14 = "end" }\n'
    assert check_config(*write_config(tmp_path / "good", good)) == []

    [problem] = check_config(*write_config(tmp_path / "verb", 'device = "B"\nkeys = { KEY_F13 = "mediateur" }\n'))
    assert problem.key == "devices.buttons.keys.KEY_F13"
    assert "'mediator'" in problem.message and "'end'" in problem.message  # the verbs it may be

    [problem] = check_config(*write_config(tmp_path / "name", 'device = "B"\nkeys = { F13 = "end" }\n'))
    assert "'F13' is not a key name" in problem.message and "KEY_F13" in problem.message

    [problem] = check_config(*write_config(tmp_path / "device", 'keys = { KEY_F13 = "end" }\n'))
    assert "keys need a device" in problem.message


def test_kiosk_config_check_names_an_unknown_key(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from kiosk.cli import main as kiosk_main

    kiosk_toml, _ = write_config(tmp_path / "cfg", 'device = "B"\nkeys = { KEY_F33 = "end" }\n')
    assert check_config(kiosk_toml, kiosk_toml.with_name("tiles.toml")) == []  # the core cannot know
    assert kiosk_main(["config", "check", str(kiosk_toml.parent)]) == 1
    out = capsys.readouterr().out
    assert "devices.buttons.keys: [devices.buttons] keys: 'KEY_F33' is not a key name Linux knows" in out
    assert "fix: use the key's name as `evtest` prints it" in out


def test_every_button_verb_is_a_verb_of_the_kiosk() -> None:
    assert set(get_args(ButtonVerb)) <= {action.value for action in Action}


# -- the touchscreen ----------------------------------------------------------------------------


def test_a_touchscreen_is_found_among_the_input_devices(machine: FakeEvdev, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="kiosk.devices.evdev")
    machine.plug("Power Button", keys=("KEY_POWER",))
    machine.plug("ILITEK ILITEK-TP", touch=True)
    status = touchscreen_status(machine)
    assert status.state is DeviceState.READY and status.message == "ILITEK ILITEK-TP"
    assert [r.__dict__["state"] for r in caplog.records if r.message == "devices.touchscreen"] == ["present"]
    assert all(not node.handles for node in machine.nodes.values())  # every device opened was closed


def test_no_touchscreen_is_reported_absent(machine: FakeEvdev, caplog) -> None:  # type: ignore[no-untyped-def]
    machine.plug("Power Button", keys=("KEY_POWER",))
    status = touchscreen_status(machine)
    assert status.state is DeviceState.ABSENT and status.health == ("absent", None)
    assert [r.__dict__["state"] for r in caplog.records if r.message == "devices.touchscreen"] == ["absent"]
