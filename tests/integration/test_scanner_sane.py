"""The SANE adapter against SANE's real ``test`` backend (tests/sanekit.py), and the scans made
into the files sites receive (kiosk/core/scans.py), kept inside the session's directory."""

from __future__ import annotations

import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sane
from PIL import Image

from kiosk.core.devices import (
    ColourMode,
    DeviceFailure,
    DeviceState,
    ScannerError,
    ScannerUnavailable,
    ScanOptions,
    ScanSource,
)
from kiosk.core.scans import (
    ScanExportError,
    ScanFormat,
    export,
    export_for,
    rotate_page,
    scanner_message,
    scans_dir,
    session_scans,
)
from kiosk.core.settings import DevicesSettings
from kiosk.devices.absent import NoScanner
from kiosk.devices.sane import SaneScanner
from kiosk.devices.select import build_scanner
from kiosk.shell.web.profile import remove_session_dir
from tests.devicekit import page_count

pytestmark = [pytest.mark.devices, pytest.mark.sane]
MB = 1_000_000
FEEDER = ScanOptions(source=ScanSource.FEEDER, max_pages=2, resolution_dpi=100)


@pytest.fixture
def session_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "session-1"
    directory.mkdir(mode=0o700)
    return directory


@pytest.fixture
def scanner(sane_test_backend: Path) -> SaneScanner:
    return SaneScanner("test:0")


@pytest.fixture
def faulty(sane_test_backend: Path, tmp_path: Path) -> Iterator[SaneScanner]:
    """``test:1``, whose test options a test sets; put back to normal afterwards (the test
    backend keeps option values across opens, for the whole process)."""
    yield SaneScanner("test:1", timeout_s=5)
    normal = SaneScanner("test:1", backend_options={"read_return_value": "Default", "read_delay": 0})
    normal.scan(tmp_path / "reset", ScanOptions(resolution_dpi=50))


def test_lists_the_test_devices_with_their_feeder(scanner: SaneScanner) -> None:
    found = {info.device_id: info for info in scanner.devices()}
    assert set(found) == {"test:0", "test:1"}
    assert found["test:0"].sources == (ScanSource.FLATBED, ScanSource.FEEDER)
    assert scanner.status().state is DeviceState.READY


def test_two_feeder_pages_become_one_pdf_in_the_session(scanner: SaneScanner, session_dir: Path) -> None:
    pages = scanner.scan(session_dir, FEEDER)
    assert len(pages) == 2 and all(page.parent == session_dir for page in pages)
    with Image.open(pages[0]) as image:
        assert image.mode == "RGB" and round(image.info["dpi"][0]) == 100
    [pdf] = export(pages, ScanFormat.PDF, session_dir, limit_bytes=5 * MB)
    assert pdf == scans_dir(session_dir) / "scan-1.pdf" and pdf.read_bytes().startswith(b"%PDF")
    assert page_count(pdf) == 2
    [second] = export(pages[:1], ScanFormat.PDF, session_dir, limit_bytes=5 * MB)
    assert second.name == "scan-2.pdf" and page_count(second) == 1
    assert session_scans(session_dir) == [second, pdf]


def test_flatbed_page_as_jpeg_in_grey(scanner: SaneScanner, session_dir: Path) -> None:
    [page] = scanner.scan(session_dir, ScanOptions(mode=ColourMode.GREY, resolution_dpi=150))
    with Image.open(page) as image:
        assert image.mode == "L"
    [jpeg] = export([page], ScanFormat.JPEG, session_dir, limit_bytes=5 * MB)
    assert jpeg.name == "scan-1.jpg"
    with Image.open(jpeg) as image:
        assert image.format == "JPEG" and round(image.info["dpi"][0]) == 150


def test_rotation_turns_the_page_clockwise(scanner: SaneScanner, session_dir: Path) -> None:
    [page] = scanner.scan(session_dir, ScanOptions(resolution_dpi=100))
    with Image.open(page) as image:
        width, height = image.size
        corner = image.getpixel((0, height - 1))  # bottom left goes to top left
    rotate_page(page, 1)
    with Image.open(page) as image:
        assert image.size == (height, width)
        assert image.getpixel((0, 0)) == corner
        assert round(image.info["dpi"][0]) == 100
    rotate_page(page, 3)
    with Image.open(page) as image:
        assert image.size == (width, height)


def test_size_limit_is_honoured_by_compressing_then_downscaling(scanner: SaneScanner, session_dir: Path) -> None:
    pages = scanner.scan(session_dir, ScanOptions(source=ScanSource.FEEDER, max_pages=2, resolution_dpi=600))
    [roomy] = export(pages, ScanFormat.PDF, session_dir, limit_bytes=50 * MB)
    limit = roomy.stat().st_size // 4
    [tight] = export(pages, ScanFormat.PDF, session_dir, limit_bytes=limit)
    assert tight.stat().st_size <= limit and page_count(tight) == 2
    [png] = export(pages[:1], ScanFormat.PNG, session_dir, limit_bytes=limit)
    assert png.stat().st_size <= limit
    with pytest.raises(ScanExportError) as refused:
        export(pages, ScanFormat.PDF, session_dir, limit_bytes=2_000)
    assert refused.value.reason is DeviceFailure.TOO_LARGE
    assert not list(scans_dir(session_dir).glob(".*partial")) and len(session_scans(session_dir)) == 3


@pytest.mark.parametrize(
    ("accept", "suffixes"),
    [
        ("", [".pdf"]),
        (".pdf,.jpg", [".pdf"]),
        ("image/*", [".jpg", ".jpg"]),
        (".png, image/png", [".png", ".png"]),
        ("application/pdf", [".pdf"]),
        ("image/jpeg,.docx", [".jpg", ".jpg"]),
    ],
)
def test_accept_attribute_chooses_what_is_written(
    scanner: SaneScanner, session_dir: Path, accept: str, suffixes: list[str]
) -> None:
    pages = scanner.scan(session_dir, FEEDER)
    written = export_for(accept, pages, session_dir, limit_bytes=5 * MB)
    assert [path.suffix for path in written] == suffixes
    assert [path.name for path in written][:1] == [f"scan-1{suffixes[0]}"]


def test_a_site_wanting_another_kind_of_file_is_told(scanner: SaneScanner, session_dir: Path) -> None:
    pages = scanner.scan(session_dir, FEEDER)
    with pytest.raises(ScanExportError) as refused:
        export_for([".docx", "text/plain"], pages, session_dir, limit_bytes=5 * MB)
    assert refused.value.reason is DeviceFailure.REFUSED
    assert "autre genre de fichier" in scanner_message(refused.value.reason)
    assert not scans_dir(session_dir).exists() or not any(scans_dir(session_dir).iterdir())


def test_pages_outside_the_session_are_refused(scanner: SaneScanner, session_dir: Path, tmp_path: Path) -> None:
    [page] = scanner.scan(tmp_path / "elsewhere", ScanOptions(resolution_dpi=50))
    with pytest.raises(ValueError, match="not in the session"):
        export([page], ScanFormat.PDF, session_dir, limit_bytes=MB)


def test_a_second_open_of_the_device_is_busy(scanner: SaneScanner, session_dir: Path) -> None:
    scanner.devices()  # SANE initialised by the adapter, as in the shell
    held = sane.open("test:0")  # another program holding the scanner
    try:
        with pytest.raises(ScannerUnavailable) as busy:
            scanner.scan(session_dir, ScanOptions())
    finally:
        held.close()
    assert busy.value.reason is DeviceFailure.BUSY and "occupé" in scanner_message(DeviceFailure.BUSY)
    assert not list(session_dir.iterdir())
    assert len(scanner.scan(session_dir, ScanOptions(resolution_dpi=50))) == 1  # free again


def test_a_device_that_does_not_exist_is_absent(sane_test_backend: Path, session_dir: Path) -> None:
    missing = SaneScanner("test:9")
    with pytest.raises(ScannerUnavailable) as absent:
        missing.scan(session_dir, ScanOptions())
    assert absent.value.reason is DeviceFailure.ABSENT
    assert missing.status().state is DeviceState.ABSENT
    assert "pas de scanner" in scanner_message(DeviceFailure.ABSENT)


@pytest.mark.parametrize(
    ("status", "reason", "unavailable"),
    [
        ("SANE_STATUS_NO_DOCS", DeviceFailure.NO_DOCUMENT, False),  # feeder empty
        ("SANE_STATUS_COVER_OPEN", DeviceFailure.DOOR_OPEN, False),
        ("SANE_STATUS_JAMMED", DeviceFailure.JAM, False),
        ("SANE_STATUS_IO_ERROR", DeviceFailure.OFFLINE, True),  # unplugged mid-scan
        ("SANE_STATUS_DEVICE_BUSY", DeviceFailure.BUSY, True),
    ],
)
def test_scanner_failures_keep_nothing_and_say_why(
    faulty: SaneScanner, session_dir: Path, status: str, reason: DeviceFailure, unavailable: bool
) -> None:
    faulty.backend_options = {"read_return_value": status}
    with pytest.raises(ScannerError) as failed:
        faulty.scan(session_dir, FEEDER)
    assert failed.value.reason is reason
    assert isinstance(failed.value, ScannerUnavailable) is unavailable
    assert "SANE says" in str(failed.value) or "feeder is empty" in str(failed.value)
    assert not list(session_dir.iterdir())
    assert scanner_message(reason) != scanner_message(DeviceFailure.UNKNOWN)


def test_a_scanner_that_hangs_times_out_and_leaves_no_page(faulty: SaneScanner, session_dir: Path) -> None:
    faulty.timeout_s = 1
    faulty.backend_options = {"read_delay": 1, "read_delay_duration": 200_000}  # 0.2 s per read
    started = time.monotonic()
    with pytest.raises(ScannerUnavailable) as hung:
        faulty.scan(session_dir, ScanOptions(resolution_dpi=300))
    assert hung.value.reason is DeviceFailure.TIMED_OUT
    assert time.monotonic() - started < 10  # 1 s, with room for a loaded machine
    faulty.timeout_s = 30
    faulty.backend_options = {"read_delay": 0}
    assert len(faulty.scan(session_dir, ScanOptions(resolution_dpi=50))) == 1  # the worker is free again
    assert len(list(session_dir.iterdir())) == 1  # nothing of the timed-out scan


def test_selection_follows_the_config(sane_test_backend: Path) -> None:
    assert isinstance(build_scanner(DevicesSettings(scanner="none")), NoScanner)
    chosen = build_scanner(DevicesSettings(scanner="sane", scanner_device="test:1"))
    assert isinstance(chosen, SaneScanner) and chosen.device == "test:1"
    automatic = build_scanner(DevicesSettings())
    assert isinstance(automatic, SaneScanner) and automatic.device is None
    assert automatic.status().state is DeviceState.READY  # the first device found


def test_scans_are_gone_with_the_session(scanner: SaneScanner, session_dir: Path) -> None:
    pages = scanner.scan(session_dir, FEEDER)
    export(pages, ScanFormat.PDF, session_dir, limit_bytes=5 * MB)
    assert session_scans(session_dir)
    remove_session_dir(session_dir)  # what the shell does when the session ends
    assert not session_dir.exists() and session_scans(session_dir) == []
    shutil.rmtree(session_dir, ignore_errors=True)


def _sigpipe_disposition() -> str:
    """What the kernel will do with SIGPIPE for this process (not Python's own idea of it):
    "ignored", "caught" (a handler) or "default" (the process dies)."""
    bit = 1 << (signal.SIGPIPE - 1)
    masks = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("SigIgn", "SigCgt"):
            masks[key] = int(value.split()[0], 16)
    if masks["SigIgn"] & bit:
        return "ignored"
    return "caught" if masks["SigCgt"] & bit else "default"


def _a_closed_socket_raises() -> None:
    left, right = socket.socketpair()
    right.close()
    with pytest.raises(BrokenPipeError):  # an error the caller handles, not the end of the process
        for _ in range(64):
            left.send(b"x" * 65536)
    left.close()


def test_sanei_leaves_sigpipe_caught_through_a_scan(scanner: SaneScanner, session_dir: Path) -> None:
    """libsane's reader thread sets an ignored SIGPIPE back to its default when a scan ends: in
    that window, or for good, a write to a closed socket on any thread killed the whole process
    (it killed CI runs' pytest, in the middle of these tests). The adapter catches SIGPIPE with
    a handler instead, which sanei leaves alone: it never passes through the default."""
    assert _sigpipe_disposition() == "caught"  # the adapter, built on the main thread
    seen: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append(_sigpipe_disposition())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        scanner.scan(session_dir / "scans", ScanOptions(resolution_dpi=50))
        scanner.scan(session_dir / "scans", ScanOptions(resolution_dpi=50))
    finally:
        stop.set()
        watcher.join()
    assert seen and set(seen) == {"caught"}
    _a_closed_socket_raises()


def test_without_the_handler_a_scan_still_leaves_sigpipe_ignored(scanner: SaneScanner, session_dir: Path) -> None:
    """The fallback, for an adapter built off the main thread (no handler there): ignored as
    Python sets it, put back to its default by sanei at the scan's end, ignored again after."""
    previous = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        scanner.scan(session_dir / "scans", ScanOptions(resolution_dpi=50))
        assert _sigpipe_disposition() == "ignored"
        _a_closed_socket_raises()
    finally:
        signal.signal(signal.SIGPIPE, previous)
