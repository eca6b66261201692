"""The ``Scanner`` port on SANE, with python-sane.

SANE reports failures as a status whose only trace in python-sane is ``sane_strstatus``'s
English text (``_sane.error("Device busy")``; libsane does not translate it). This module maps
those texts onto the closed vocabulary of ``kiosk.core.devices``; nothing of SANE leaks out.

Every SANE call runs on one worker thread for the whole process (libsane is initialised once
and is not thread-safe; ``sane_cancel`` is the one call SANE allows from elsewhere, see
:meth:`SaneScanner.cancel`) and is waited for at most a bounded time: a scanner that hangs (a
USB cable pulled mid-scan, a network scanner gone) gives ``TIMED_OUT`` instead of freezing the
caller. A call stuck in libsane keeps the worker until it returns; calls meanwhile time out too.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import signal
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, TypeVar

import sane

from kiosk.core.devices import (
    ColourMode,
    DeviceFailure,
    DeviceState,
    DeviceStatus,
    ScannerError,
    ScannerInfo,
    ScannerUnavailable,
    ScanOptions,
    ScanSource,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# sane_strstatus texts (sanei/sanei_constrain_value.c, sane_strstatus.c) → what went wrong.
_STATUS: dict[str, DeviceFailure] = {
    "Device busy": DeviceFailure.BUSY,
    "Scanner is warming up": DeviceFailure.BUSY,
    "Document feeder out of documents": DeviceFailure.NO_DOCUMENT,
    "Document feeder jammed": DeviceFailure.JAM,
    "Scanner cover is open": DeviceFailure.DOOR_OPEN,
    "Error during device I/O": DeviceFailure.OFFLINE,  # unplugged, switched off mid-scan
    "Access to resource has been denied": DeviceFailure.REFUSED,
    "Scanner mechanism locked for transport": DeviceFailure.REFUSED,
}
_UNAVAILABLE = {DeviceFailure.ABSENT, DeviceFailure.BUSY, DeviceFailure.OFFLINE, DeviceFailure.REFUSED}
_MODES: dict[ColourMode, tuple[str, ...]] = {
    ColourMode.COLOUR: ("Color", "Colour", "24bit Color"),
    ColourMode.GREY: ("Gray", "Grey", "8bit Gray"),
    ColourMode.BLACK_AND_WHITE: ("Lineart", "Binary", "Black & White", "Halftone"),
}
_FEEDER_WORDS = ("adf", "feeder", "automatic document")


_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sane")
_started = False


def _on_sigpipe(_signum: int, _frame: object) -> None:
    """Nothing to do: the write that raised the signal fails with EPIPE (BrokenPipeError)."""


def guard_sigpipe() -> None:
    """Catch SIGPIPE with a handler that does nothing, instead of ignoring it as Python does.

    libsane's reader thread (sanei_thread) sets SIGPIPE to ignored when a scan starts if it was
    at its default, and back to its default when the scan ends if it was ignored — so with
    Python's "ignored", every scan left the process at the default, and the next write to a
    closed socket or pipe, on any thread, killed the whole process (the shell; a CI run's
    pytest). A handler of our own is neither, and sanei leaves it alone. Python's
    ``signal.signal`` may only be called on the main thread: called elsewhere this does nothing,
    and ``_keep_sigpipe_survivable`` still repairs the damage after each SANE call."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGPIPE, _on_sigpipe)


def _keep_sigpipe_survivable() -> None:
    """After a SANE call: SIGPIPE back to ignored if sanei left it at its default (the handler
    of :func:`guard_sigpipe` was not installed), in C (this runs on the worker thread)."""
    libc = _libc()
    old = ctypes.create_string_buffer(256)  # a struct sigaction; its handler comes first
    if libc.sigaction(int(signal.SIGPIPE), None, old) == 0 and ctypes.c_void_p.from_buffer(old).value is None:
        libc.signal(int(signal.SIGPIPE), 1)  # SIG_IGN


@functools.cache
def _libc() -> Any:
    """libc's ``signal`` and ``sigaction``, looked up once (they are used after every SANE call)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.signal.restype = ctypes.c_void_p
    libc.signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
    libc.sigaction.restype = ctypes.c_int
    libc.sigaction.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    return libc


def _with_sane(work: Callable[[], T]) -> T:
    global _started
    if not _started:  # on the worker thread, once: SANE reads its configuration here
        sane.init()
        _started = True
    try:
        return work()
    finally:
        _keep_sigpipe_survivable()


def _fault(error: Exception, doing: str) -> ScannerError:
    """A python-sane error as the port's error: its reason, and English words for staff."""
    text = str(error)
    reason = _STATUS.get(text, DeviceFailure.UNKNOWN)
    kind = ScannerUnavailable if reason in _UNAVAILABLE else ScannerError
    return kind(f"{doing}: SANE says {text!r}", reason)


def _source_kind(name: str) -> ScanSource:
    return ScanSource.FEEDER if any(word in name.lower() for word in _FEEDER_WORDS) else ScanSource.FLATBED


class SaneScanner:
    """The configured SANE device (``device``), or with ``device=None`` the first one found at
    each call, so that a scanner plugged in later is used without a restart."""

    def __init__(
        self,
        device: str | None = None,
        *,
        timeout_s: float = 120.0,
        list_timeout_s: float = 20.0,
        backend_options: Mapping[str, str | int | float] | None = None,
    ) -> None:
        """``backend_options``: the backend's own options set after ours, by their python-sane
        names (``{"brightness": 10}``; the ``test`` backend's ``read_return_value``…)."""
        self.device = device
        self.timeout_s = timeout_s  # one scan (all pages of a feeder)
        self.list_timeout_s = list_timeout_s  # listing, status
        self.backend_options = dict(backend_options or {})
        self._open: Any = None  # the sane.SaneDev being scanned with, for cancel()
        self._cancelled = threading.Event()
        guard_sigpipe()

    def __repr__(self) -> str:
        return f"SaneScanner({self.device or 'first found'!r})"

    # -- the worker ------------------------------------------------------------------------
    def _call(self, work: Callable[[], T], timeout: float, doing: str) -> T:
        future: Future[T] = _WORKER.submit(_with_sane, work)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            future.cancel()  # still queued behind a hung call: never run it (its session may be gone)
            self.cancel()
            log.error("scanner.timed_out", extra={"doing": doing, "timeout_s": timeout})
            raise ScannerUnavailable(f"{doing}: no answer in {timeout} s", DeviceFailure.TIMED_OUT) from None
        except sane._sane.error as error:
            fault = _fault(error, doing)
            log.warning("scanner.failed", extra={"doing": doing, "error": str(error), "reason": str(fault.reason)})
            raise fault from error

    # -- the port --------------------------------------------------------------------------
    def devices(self) -> list[ScannerInfo]:
        return self._call(self._list, self.list_timeout_s, "listing scanners")

    def _list(self) -> list[ScannerInfo]:
        found = []
        for name, vendor, model, kind in sane.get_devices():
            sources: tuple[ScanSource, ...] = (ScanSource.FLATBED,)
            try:
                device = sane.open(name)
            except sane._sane.error:  # busy with another program: still there
                pass
            else:
                try:
                    option = device.opt.get("source")
                    if option is not None and isinstance(option.constraint, list):
                        sources = tuple(dict.fromkeys(_source_kind(str(s)) for s in option.constraint))
                finally:
                    device.close()
            found.append(ScannerInfo(name, f"{vendor} {model} ({kind})", sources))
        return found

    def _pick(self, device_id: str | None) -> str:
        wanted = device_id or self.device
        if wanted:
            return wanted
        names = [entry[0] for entry in sane.get_devices()]
        if not names:
            raise ScannerUnavailable("no SANE device found", DeviceFailure.ABSENT)
        return str(names[0])

    def scan(self, directory: Path, options: ScanOptions, device_id: str | None = None) -> list[Path]:
        # One token per scan: a timed-out scan still running on the worker keeps its own, set.
        cancelled = self._cancelled = threading.Event()
        pages: list[Path] = []
        try:
            self._call(lambda: self._scan(directory, options, device_id, pages, cancelled), self.timeout_s, "scanning")
            if cancelled.is_set():
                raise ScannerError("scan cancelled", DeviceFailure.UNKNOWN)
        except BaseException:
            for page in pages:
                page.unlink(missing_ok=True)
            raise
        log.info("scanner.scanned", extra={"pages": len(pages), "source": str(options.source)})
        return pages

    def _scan(
        self,
        directory: Path,
        options: ScanOptions,
        device_id: str | None,
        pages: list[Path],
        cancelled: threading.Event,
    ) -> None:
        name = self._pick(device_id)
        try:
            device = sane.open(name)
        except sane._sane.error as error:
            if str(error) == "Invalid argument":  # what sane_open says of a name no backend knows
                raise ScannerUnavailable(f"no SANE device {name!r}", DeviceFailure.ABSENT) from error
            raise
        self._open = device
        try:
            self._configure(device, options)
            for option, value in self.backend_options.items():
                setattr(device, option, value)
            if options.source is ScanSource.FEEDER:
                images = device.multi_scan()
                for image in images:
                    if cancelled.is_set():
                        break
                    pages.append(self._save(image, directory, device))
                    if len(pages) >= options.max_pages:
                        device.cancel()
                        break
                if not pages and not cancelled.is_set():
                    raise ScannerError(f"{name}: the feeder is empty", DeviceFailure.NO_DOCUMENT)
            else:
                image = device.scan()
                if not cancelled.is_set():
                    pages.append(self._save(image, directory, device))
        finally:
            self._open = None
            device.close()

    @staticmethod
    def _configure(device: Any, options: ScanOptions) -> None:
        source = device.opt.get("source")
        if source is not None and isinstance(source.constraint, list):
            wanted = [s for s in source.constraint if _source_kind(str(s)) is options.source]
            if not wanted:
                raise ScannerError(f"the scanner has no {options.source} source", DeviceFailure.REFUSED)
            device.source = wanted[0]
        elif options.source is ScanSource.FEEDER:
            raise ScannerError("the scanner has no feeder", DeviceFailure.REFUSED)
        mode = device.opt.get("mode")
        if mode is not None and isinstance(mode.constraint, list):
            for candidate in _MODES[options.mode]:
                if candidate in mode.constraint:
                    device.mode = candidate
                    break
        resolution = device.opt.get("resolution")
        if resolution is not None and resolution.is_settable():
            allowed = resolution.constraint
            dpi: float = options.resolution_dpi
            if isinstance(allowed, tuple):  # (min, max, quant)
                dpi = min(max(dpi, allowed[0]), allowed[1])
            elif isinstance(allowed, list) and allowed:
                dpi = min(allowed, key=lambda value: abs(value - options.resolution_dpi))
            device.resolution = type(device.resolution)(dpi)

    @staticmethod
    def _save(image: Any, directory: Path, device: Any) -> Path:
        directory.mkdir(mode=0o700, exist_ok=True)  # not its parents: a wiped session stays wiped
        path = directory / f"page-{uuid.uuid4().hex}.png"
        dpi = float(getattr(device, "resolution", 0) or 0)
        image.save(path, "PNG", dpi=(dpi, dpi) if dpi else None)  # the page's paper size, for PDFs
        return path

    def cancel(self) -> None:
        self._cancelled.set()
        device = self._open
        if device is not None:
            try:
                device.cancel()  # sane_cancel: the one call SANE allows from another thread
            except sane._sane.error as error:
                log.warning("scanner.cancel_failed", extra={"error": str(error)})

    def status(self) -> DeviceStatus:
        if self._open is not None:
            return DeviceStatus(DeviceState.BUSY)
        try:
            names = self._call(lambda: [entry[0] for entry in sane.get_devices()], self.list_timeout_s, "status")
        except ScannerError as error:
            return DeviceStatus(DeviceState.OFFLINE, frozenset({error.reason}), message=str(error))
        if (self.device and self.device in names) or (not self.device and names):
            return DeviceStatus(DeviceState.READY)
        missing = self.device or "any scanner"
        return DeviceStatus(DeviceState.ABSENT, frozenset({DeviceFailure.ABSENT}), message=f"{missing} not found")
