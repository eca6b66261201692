"""Physical buttons and the touchscreen, through python-evdev (``[devices.buttons]`` in kiosk.toml).

:class:`EvdevButtons` (the ``ButtonSource`` port) reads one input device — a big USB button, a
keypad — in a thread of its own. The device is grabbed (``EVIOCGRAB``): its keys reach no other
program, not even the compositor, so a "Terminer" button can never type into a web form. Only a
key going down counts: key-up and the kernel's auto-repeat are ignored, and a second press of the
same key within ``debounce_ms`` (by the kernel's own timestamps) is a bounce, not a new press.
Unplugged, the device is looked for again every ``retry_s``; nothing here ever raises into the shell.

:func:`find_touchscreen` looks for an input device that reports touches (multi-touch positions or
``BTN_TOUCH``), once at start.

``library`` is python-evdev's module, or in tests ``kiosk.devices.fakes.FakeEvdev`` of the same
shape: the same code reads both.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import logging
import os
import select
import threading
from collections.abc import Callable, Mapping
from typing import Any

import evdev  # python-evdev (absolute import: this module's own name does not shadow it)

from kiosk.core.devices import DeviceFailure, DeviceState, DeviceStatus
from kiosk.core.settings import ButtonsSettings

log = logging.getLogger(__name__)

KEY_DOWN = 1  # EV_KEY values: 0 up, 1 down, 2 auto-repeat


class ButtonConfigError(ValueError):
    """``[devices.buttons]`` names a key Linux does not know, or the same key twice."""


def _evdev() -> Any:
    return evdev


def resolve_keys(keys: Mapping[str, str], ecodes: Any) -> dict[int, str]:
    """Key names ("KEY_F13") to the kernel's codes, with the verb each one carries."""
    known = {name: code for name, code in ecodes.ecodes.items() if name.startswith(("KEY_", "BTN_"))}
    codes: dict[int, str] = {}
    for name, verb in keys.items():
        code = known.get(name)
        if code is None:
            close = difflib.get_close_matches(name, list(known), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "`evtest` prints the keys a device sends"
            raise ButtonConfigError(f"[devices.buttons] keys: {name!r} is not a key name Linux knows; {hint}")
        if code in codes:
            raise ButtonConfigError(f"[devices.buttons] keys: {name!r} is the same key as another one of keys")
        codes[code] = verb
    return codes


def check_keys(keys: Mapping[str, str]) -> None:
    """Raise :class:`ButtonConfigError` for a key name Linux does not know (``kiosk config check``)."""
    resolve_keys(keys, _evdev().ecodes)


class EvdevButtons:
    """The ``ButtonSource`` port over one evdev input device (see the module's docstring)."""

    def __init__(
        self,
        device: str,
        keys: Mapping[str, str],
        *,
        debounce_s: float = 0.3,
        retry_s: float = 3.0,
        library: Any = None,
    ) -> None:
        self.library = library if library is not None else _evdev()
        self.device = device  # a name as the device reports it, or a /dev/input/… path
        self.codes = resolve_keys(keys, self.library.ecodes)
        self.debounce_s = debounce_s
        self.retry_s = retry_s
        self.connected = threading.Event()  # the device is open and grabbed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake: tuple[int, int] | None = None  # a pipe: stop() wakes the reader's select
        self._deliver: Callable[[str], None] = lambda verb: None

    @classmethod
    def from_settings(cls, settings: ButtonsSettings, library: Any = None) -> EvdevButtons:
        return cls(
            settings.device,
            settings.keys,
            debounce_s=settings.debounce_ms / 1000,
            retry_s=settings.retry_s,
            library=library,
        )

    def __repr__(self) -> str:
        return f"EvdevButtons({self.device!r}, {len(self.codes)} keys)"

    # -- the port ---------------------------------------------------------------------------
    def start(self, deliver: Callable[[str], None]) -> None:
        if self._thread is not None:
            raise RuntimeError("the buttons are already being read")
        self._deliver = deliver
        self._wake = os.pipe()
        self._thread = threading.Thread(target=self._run, name="evdev-buttons", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is None or self._wake is None:
            return
        os.write(self._wake[1], b"x")
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            log.error("devices.buttons_thread_stuck")
            return  # it still reads the pipe: leave it open
        for fd in self._wake:
            os.close(fd)
        self._thread = self._wake = None

    # -- the reader's thread ----------------------------------------------------------------
    def _run(self) -> None:
        missing_said = False
        while not self._stop.is_set():
            try:
                device = self._open()
            except OSError as error:
                device = None
                if not missing_said:
                    log.warning("devices.buttons_unreadable", extra={"device": self.device, "error": str(error)})
                    missing_said = True
            if device is None:
                if not missing_said:
                    log.warning("devices.buttons_absent", extra={"device": self.device, "retry_s": self.retry_s})
                    missing_said = True
                self._stop.wait(self.retry_s)
                continue
            missing_said = False
            try:
                self._read(device)
            except OSError as error:  # ENODEV: unplugged; look for it again
                log.warning(
                    "devices.buttons_lost",
                    extra={"device": self.device, "error": errno.errorcode.get(error.errno or 0, str(error))},
                )
            except Exception:  # a bug must not end the buttons for good: log, and start again
                log.exception("devices.buttons_failed", extra={"device": self.device})
                self._stop.wait(self.retry_s)
            finally:
                self.connected.clear()
                _release(device)

    def _open(self) -> Any:
        """The device, open and grabbed; ``None`` when it is not there (or another program holds it)."""
        device = self._find()
        if device is None:
            return None
        try:
            device.grab()
        except OSError as error:  # EBUSY: another program grabbed it first
            log.error("devices.buttons_grab_refused", extra={"device": device.path, "error": str(error)})
            device.close()
            return None
        log.info("devices.buttons_ready", extra={"device": device.name, "path": device.path})
        self.connected.set()
        return device

    def _find(self) -> Any:
        library = self.library
        if self.device.startswith("/"):
            try:
                return library.InputDevice(self.device)
            except OSError as error:
                if error.errno in (errno.ENOENT, errno.ENODEV):
                    return None
                raise
        for path in library.list_devices():
            try:
                candidate = library.InputDevice(path)
            except OSError:
                continue  # gone meanwhile, or not ours to read
            if candidate.name == self.device:
                return candidate
            candidate.close()
        return None

    def _read(self, device: Any) -> None:
        assert self._wake is not None
        wake = self._wake[0]
        last: dict[int, float] = {}  # key code → time of the last press that counted
        while not self._stop.is_set():
            ready, _, _ = select.select([device.fd, wake], [], [])
            if wake in ready:
                return
            try:
                for event in device.read():
                    self._on_event(event, last)
            except BlockingIOError:
                continue

    def _on_event(self, event: Any, last: dict[int, float]) -> None:
        if event.type != self.library.ecodes.EV_KEY or event.value != KEY_DOWN:
            return
        verb = self.codes.get(event.code)
        if verb is None:
            return  # a key we do not map: grabbed all the same, it reaches nothing
        when = float(event.timestamp())
        previous = last.get(event.code)
        if previous is not None and 0 <= when - previous < self.debounce_s:
            log.debug("devices.button_bounce", extra={"verb": verb})
            return
        last[event.code] = when
        log.info("devices.button", extra={"verb": verb})
        try:
            self._deliver(verb)
        except Exception:
            log.exception("devices.button_delivery_failed", extra={"verb": verb})


def _release(device: Any) -> None:
    for let_go in (device.ungrab, device.close):
        with contextlib.suppress(OSError):  # already gone with the device
            let_go()


def find_touchscreen(library: Any = None) -> str | None:
    """The name of the first input device that reports touches, or ``None``."""
    library = library if library is not None else _evdev()
    ecodes = library.ecodes
    for path in library.list_devices():
        try:
            device = library.InputDevice(path)
        except OSError:
            continue
        try:
            capabilities = device.capabilities(absinfo=False)
            if ecodes.ABS_MT_POSITION_X in capabilities.get(ecodes.EV_ABS, ()) or ecodes.BTN_TOUCH in capabilities.get(
                ecodes.EV_KEY, ()
            ):
                return str(device.name)
        except OSError:
            continue
        finally:
            device.close()
    return None


def touchscreen_status(library: Any = None) -> DeviceStatus:
    """The touchscreen's presence, logged as ``devices.touchscreen``."""
    try:
        name = find_touchscreen(library)
    except OSError as error:  # /dev/input unreadable
        log.warning("devices.touchscreen", extra={"state": "absent", "error": str(error)})
        return DeviceStatus(DeviceState.ABSENT, frozenset({DeviceFailure.ABSENT}), message=str(error))
    if name is None:
        log.warning("devices.touchscreen", extra={"state": "absent"})
        return DeviceStatus(DeviceState.ABSENT, frozenset({DeviceFailure.ABSENT}), message="no touch input device")
    log.info("devices.touchscreen", extra={"state": "present", "device": name})
    return DeviceStatus(DeviceState.READY, message=name)
