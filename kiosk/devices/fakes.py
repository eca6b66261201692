"""In-memory fakes of the device ports, for tests only (never wired by default).

They keep the contracts of ``kiosk.core.devices`` — the errors, the job states, the files a scan
leaves — and can be told to fail with any ``DeviceFailure``. The fake printer keeps no copy of a
document: it checks that the file is there and remembers its size.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.core.devices import (
    DeviceFailure,
    DeviceState,
    DeviceStatus,
    DeviceWarning,
    JobId,
    JobNotFound,
    JobState,
    JobStatus,
    PrinterStatus,
    PrinterUnavailable,
    PrintOptions,
    PrintRejected,
    ScannerError,
    ScannerInfo,
    ScannerUnavailable,
    ScanOptions,
    ScanSource,
    Ticket,
    TicketPrinterError,
)
from kiosk.devices.fakes_udev import FakeUdev as FakeUdev  # pyudev's fake, in a module of its own


@dataclass
class FakeJob:
    job_id: JobId
    title: str
    copies: int
    options: PrintOptions
    size: int  # bytes of the document when it was submitted
    state: JobState = JobState.QUEUED
    reason: DeviceFailure | None = None


@dataclass
class FakePrinter:
    """A printer in memory. ``finish_at_once`` jobs are DONE at their first ``job()`` call;
    otherwise the test moves them with ``finish``/``fail``. ``unavailable`` makes every call
    fail the way an absent or offline printer does."""

    finish_at_once: bool = True
    unavailable: DeviceFailure | None = None
    jobs: dict[JobId, FakeJob] = field(default_factory=dict)
    purged: list[JobId] = field(default_factory=list)
    calls: int = 0  # every port call, to check what runs where
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, pdf: Path, *, title: str, copies: int = 1, options: PrintOptions | None = None) -> JobId:
        with self._lock:
            self._check()
            if not pdf.is_file():
                raise PrintRejected(f"no such document: {pdf.name}", DeviceFailure.NO_DOCUMENT)
            job_id = JobId(f"fake-{next(self._ids)}")
            options = options or PrintOptions()
            state = JobState.HELD if options.hold else JobState.QUEUED
            self.jobs[job_id] = FakeJob(job_id, title, copies, options, pdf.stat().st_size, state)
            return job_id

    def job(self, job_id: JobId) -> JobStatus:
        with self._lock:
            self._check()
            job = self._job(job_id)
            if self.finish_at_once and job.state is JobState.QUEUED:
                job.state = JobState.DONE
            return JobStatus(job_id, job.state, job.reason)

    def cancel(self, job_id: JobId, *, purge: bool = True) -> None:
        with self._lock:
            self._check()
            job = self.jobs.get(job_id)
            if job is not None and not job.state.finished:
                job.state = JobState.CANCELLED
            if purge and job is not None:
                del self.jobs[job_id]
                self.purged.append(job_id)

    def release(self, job_id: JobId) -> None:
        with self._lock:
            self._check()
            job = self._job(job_id)
            if job.state is JobState.HELD:
                job.state = JobState.QUEUED

    def status(self) -> PrinterStatus:
        with self._lock:
            self.calls += 1
            if self.unavailable is DeviceFailure.ABSENT:
                return PrinterStatus(DeviceState.ABSENT, frozenset({DeviceFailure.ABSENT}), queue="fake")
            if self.unavailable is not None:
                return PrinterStatus(DeviceState.OFFLINE, frozenset({self.unavailable}), queue="fake")
            busy = any(j.state in (JobState.QUEUED, JobState.PRINTING) for j in self.jobs.values())
            return PrinterStatus(DeviceState.BUSY if busy else DeviceState.READY, queue="fake")

    # -- what a test does to the device ------------------------------------------------------
    def finish(self, job_id: JobId) -> None:
        with self._lock:
            job = self._job(job_id)
            job.state, job.reason = JobState.DONE, None

    def fail(self, job_id: JobId, reason: DeviceFailure) -> None:
        with self._lock:
            job = self._job(job_id)
            job.state, job.reason = JobState.FAILED, reason

    def wait_on(self, job_id: JobId, reason: DeviceFailure) -> None:
        """The job stays queued, waiting for ``reason`` to be fixed (paper, a jam…)."""
        with self._lock:
            job = self._job(job_id)
            job.state, job.reason = JobState.QUEUED, reason

    def _check(self) -> None:
        self.calls += 1
        if self.unavailable is not None:
            raise PrinterUnavailable(f"fake printer: {self.unavailable}", self.unavailable)

    def _job(self, job_id: JobId) -> FakeJob:
        try:
            return self.jobs[job_id]
        except KeyError:
            raise JobNotFound(f"no job {job_id}", DeviceFailure.UNKNOWN) from None


def tiny_png(width: int = 8, height: int = 8, grey: int = 200) -> bytes:
    """A valid greyscale PNG (what a scanner's page looks like to the code that reads it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([grey]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@dataclass
class FakeScanner:
    """A scanner with a flatbed and a feeder holding ``feeder_pages`` sheets."""

    present: bool = True
    failure: DeviceFailure | None = None  # the next scans fail with this
    feeder_pages: int = 3
    scans: int = 0
    _cancelled: threading.Event = field(default_factory=threading.Event)

    def devices(self) -> list[ScannerInfo]:
        if not self.present:
            return []
        return [ScannerInfo("fake:0", "Fake scanner", (ScanSource.FLATBED, ScanSource.FEEDER))]

    def scan(self, directory: Path, options: ScanOptions, device_id: str | None = None) -> list[Path]:
        if not self.present:
            raise ScannerUnavailable("no scanner", DeviceFailure.ABSENT)
        if device_id not in (None, "fake:0"):
            raise ScannerUnavailable(f"no scanner {device_id}", DeviceFailure.ABSENT)
        if self.failure in (DeviceFailure.OFFLINE, DeviceFailure.BUSY):
            raise ScannerUnavailable(f"fake scanner: {self.failure}", self.failure)
        if self.failure is not None:
            raise ScannerError(f"fake scanner: {self.failure}", self.failure)
        count = 1 if options.source is ScanSource.FLATBED else min(options.max_pages, self.feeder_pages)
        if count == 0:
            raise ScannerError("feeder empty", DeviceFailure.NO_DOCUMENT)
        self.scans += 1
        pages: list[Path] = []
        for number in range(1, count + 1):
            if self._cancelled.is_set():
                self._cancelled.clear()
                for page in pages:
                    page.unlink(missing_ok=True)
                raise ScannerError("scan cancelled", DeviceFailure.UNKNOWN)
            page = directory / f"scan-{self.scans}-{number}.png"
            page.write_bytes(tiny_png())
            pages.append(page)
        if options.source is ScanSource.FEEDER:
            self.feeder_pages -= count
        return pages

    def cancel(self) -> None:
        self._cancelled.set()

    def status(self) -> DeviceStatus:
        if not self.present:
            return DeviceStatus(DeviceState.ABSENT, frozenset({DeviceFailure.ABSENT}))
        if self.failure is not None:
            return DeviceStatus(DeviceState.OFFLINE, frozenset({self.failure}))
        return DeviceStatus(DeviceState.READY)


@dataclass
class FakeTicketPrinter:
    """A ticket printer whose roll holds ``paper`` tickets (PAPER_LOW under 5)."""

    paper: int = 50
    online: bool = True
    printed: list[Ticket] = field(default_factory=list)

    def print_ticket(self, ticket: Ticket) -> None:
        if not self.online:
            raise TicketPrinterError("fake ticket printer offline", DeviceFailure.OFFLINE)
        if self.paper <= 0:
            raise TicketPrinterError("fake ticket printer: no paper", DeviceFailure.PAPER_OUT)
        self.paper -= 1
        self.printed.append(ticket)

    def status(self) -> DeviceStatus:
        if not self.online:
            return DeviceStatus(DeviceState.OFFLINE, frozenset({DeviceFailure.OFFLINE}))
        if self.paper <= 0:
            return DeviceStatus(DeviceState.OFFLINE, frozenset({DeviceFailure.PAPER_OUT}))
        warnings = frozenset({DeviceWarning.PAPER_LOW}) if self.paper < 5 else frozenset()
        return DeviceStatus(DeviceState.READY, warnings=warnings)


# -- python-evdev: the kernel's input devices, for kiosk.devices.evdev ----------------------------


@dataclass(frozen=True)
class FakeInputEvent:
    """``evdev.InputEvent``: the kernel's timestamp, type, code and value."""

    sec: int
    usec: int
    type: int
    code: int
    value: int

    def timestamp(self) -> float:
        return self.sec + self.usec / 1_000_000


@dataclass(eq=False)
class FakeInputNode:
    """One device plugged into a :class:`FakeEvdev` machine: what the kernel holds for it."""

    machine: FakeEvdev
    name: str
    path: str
    capabilities: dict[int, list[int]]
    plugged: bool = True
    grabbed_by: FakeInputDevice | None = None
    handles: list[FakeInputDevice] = field(default_factory=list)

    def send(self, type_: int, code: int, value: int, at: float) -> None:
        """An event as the kernel reports it: to the grabbing reader only, else to every reader."""
        event = FakeInputEvent(int(at), round((at - int(at)) * 1_000_000), type_, code, value)
        for handle in list(self.handles):
            if self.grabbed_by is None or self.grabbed_by is handle:
                handle.queue.append(event)
                handle.wake()

    def key(self, name: str, value: int, at: float) -> None:
        """A key event (value 1 down, 0 up, 2 auto-repeat) followed by its SYN_REPORT."""
        ecodes = self.machine.ecodes
        self.send(ecodes.EV_KEY, ecodes.ecodes[name], value, at)
        self.send(ecodes.EV_SYN, ecodes.SYN_REPORT, 0, at)

    def press(self, name: str, at: float) -> None:
        self.key(name, 1, at)
        self.key(name, 0, at + 0.08)


class FakeInputDevice:
    """``evdev.InputDevice``: opened on a path of the fake machine, with a real file descriptor
    (a pipe) that ``select`` wakes when events wait, and the library's errors (ENOENT, EBUSY, ENODEV)."""

    def __init__(self, machine: FakeEvdev, path: str) -> None:
        node = machine.nodes.get(path)
        if node is None or not node.plugged:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        self.node, self.path, self.name = node, path, node.name
        self.queue: list[FakeInputEvent] = []
        self._read_end, self._write_end = os.pipe()
        os.set_blocking(self._read_end, False)
        self.fd = self._read_end
        self.closed = False
        node.handles.append(self)

    def wake(self) -> None:
        if not self.closed:
            os.write(self._write_end, b"!")

    def capabilities(self, verbose: bool = False, absinfo: bool = True) -> dict[int, list[int]]:
        return {kind: list(codes) for kind, codes in self.node.capabilities.items()}

    def grab(self) -> None:
        self._check()
        if self.node.grabbed_by not in (None, self):
            raise OSError(errno.EBUSY, "Device or resource busy")
        self.node.grabbed_by = self

    def ungrab(self) -> None:
        self._check()
        if self.node.grabbed_by is not self:
            raise OSError(errno.EINVAL, "Invalid argument")
        self.node.grabbed_by = None

    def read(self) -> Iterator[FakeInputEvent]:
        """Like python-evdev's: a generator; BlockingIOError when nothing waits, ENODEV once unplugged."""
        with contextlib.suppress(BlockingIOError):  # the wake-up bytes
            os.read(self._read_end, 4096)
        self._check()
        if not self.queue:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        events, self.queue = self.queue, []
        yield from events

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.node.grabbed_by is self:
            self.node.grabbed_by = None
        self.node.handles.remove(self)
        os.close(self._read_end)
        os.close(self._write_end)

    def _check(self) -> None:
        if not self.node.plugged:
            raise OSError(errno.ENODEV, "No such device")


class FakeEvdev:
    """The ``evdev`` module over a machine whose input devices the test plugs and unplugs:
    ``InputDevice``, ``list_devices`` and ``ecodes`` (python-evdev's own tables)."""

    def __init__(self) -> None:
        from evdev import ecodes  # the kernel's key names and codes: data, no device needed

        self.ecodes: Any = ecodes
        self.nodes: dict[str, FakeInputNode] = {}
        self._numbers = itertools.count(0)

    def InputDevice(self, path: str) -> FakeInputDevice:  # noqa: N802 (python-evdev's name)
        return FakeInputDevice(self, path)

    def list_devices(self) -> list[str]:
        return [path for path, node in self.nodes.items() if node.plugged]

    def plug(self, name: str, *, keys: tuple[str, ...] = (), touch: bool = False) -> FakeInputNode:
        """A device appears at the next /dev/input/eventN, as the kernel numbers them."""
        e = self.ecodes
        capabilities: dict[int, list[int]] = {e.EV_SYN: [e.SYN_REPORT], e.EV_KEY: [e.ecodes[k] for k in keys]}
        if touch:
            capabilities[e.EV_KEY].append(e.BTN_TOUCH)
            capabilities[e.EV_ABS] = [e.ABS_X, e.ABS_Y, e.ABS_MT_POSITION_X, e.ABS_MT_POSITION_Y]
        node = FakeInputNode(self, name, f"/dev/input/event{next(self._numbers)}", capabilities)
        self.nodes[node.path] = node
        return node

    def unplug(self, node: FakeInputNode) -> None:
        """Gone: the path disappears, and every reader's next read fails with ENODEV."""
        node.plugged = False
        del self.nodes[node.path]
        for handle in list(node.handles):
            handle.wake()
