"""Scanning in the real shell (offscreen) with SANE's test backend: a site's file input gets
a two-page PDF scanned from the file chooser, and nothing of it survives the session.

Set ``BORNE_SHOTS=<dir>`` to keep a PNG of the top bar's scan steps."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from tests.devicekit import page_count
from tests.security.test_escape import touch_centre
from tests.security.test_residue import new_session
from tests.shellkit import keep_shot, wait_ready, write_test_config

pytestmark = [pytest.mark.shell, pytest.mark.devices, pytest.mark.sane]

UPLOAD_PAGE = """<!doctype html><meta charset=utf-8><body>
<input type=file id=f accept=".pdf,image/jpeg" style="display:none">
<button id=b style="position:fixed;inset:0;width:100%;height:100%;font-size:40px"
  onclick="document.getElementById('f').click()">Envoyer un justificatif</button>
<script>
document.getElementById('f').onchange = function (event) {
  var file = event.target.files[0];
  fetch('/upload', {method: 'POST', body: file, headers: {'X-Name': file.name}})
    .then(function () { window.sent = file.name; });
};
</script></body>"""


def drive(steps: list[tuple[Callable[[], bool], Callable[[], None]]], parent, give_up: Callable[[], object]) -> QTimer:  # type: ignore[no-untyped-def]
    """Press each step's button once its condition holds, from the event loop (the page waits
    inside the chooser, so the test's own code cannot run until it is answered). After 60 s
    ``give_up`` closes the overlays, so that a step never reached fails the test, not hangs it."""
    timer = QTimer(parent)
    timer.setInterval(100)
    deadline = time.monotonic() + 60

    def tick() -> None:
        if time.monotonic() > deadline:
            timer.stop()
            give_up()
            return
        if steps and steps[0][0]():
            _condition, action = steps.pop(0)
            QTimer.singleShot(0, action)  # outside this slot: the action may open a nested loop
        if not steps:
            timer.stop()

    timer.timeout.connect(tick)
    timer.start()
    return timer


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Set up before the shell, closed after it (fixtures end in reverse order)."""
    from kiosk.core.store import Role, open_store

    store = open_store(tmp_path / "data" / "kiosk.db", Role.SHELL)
    yield store
    store.close()


def test_a_scanned_pdf_reaches_the_site_and_is_gone_after_the_session(  # type: ignore[no-untyped-def]
    store, qtbot, make_kiosk, loopback_web, sane_test_backend: Path, tmp_path: Path
) -> None:
    from kiosk.core.loading import load_config
    from kiosk.shell.web.scheme import page_name

    directory = write_test_config(tmp_path / "scan-config")
    with open(directory / "kiosk.toml", "a", encoding="utf-8") as toml:
        toml.write('\n[devices]\nprinter = "none"\nscanner = "sane"\nscanner_device = "test:0"\n')
    kiosk = make_kiosk(load_config(directory / "kiosk.toml", directory / "tiles.toml"), store=store)
    loopback_web.clear()
    loopback_web.page("www.allowed.test", "/", UPLOAD_PAGE)
    new_session(qtbot, kiosk)  # on the "allowed" tile's page
    session_dir = kiosk.controller.browser.dir
    chooser, overlay = kiosk.window.chooser, kiosk.controller.scanning.overlay

    def ready(button) -> Callable[[], bool]:  # type: ignore[no-untyped-def]
        return lambda: overlay.isVisible() and button.isVisible() and button.isEnabled() and not overlay._busy

    def pages(n: int) -> Callable[[], bool]:
        return lambda: len(overlay._pages) == n and not overlay._busy

    steps = [
        (lambda: chooser.isVisible() and chooser.scan_button.isVisible(), chooser.scan_button.click),
        (ready(overlay.scan_button), overlay.scan_button.click),
        (lambda: pages(1)() and ready(overlay.add)(), overlay.add.click),
        (lambda: pages(2)() and ready(overlay.rotate)(), overlay.rotate.click),
        (lambda: pages(2)() and ready(overlay.save)(), overlay.save.click),
    ]
    driver = drive(steps, kiosk.window, kiosk.window.dismiss_overlays)
    view = kiosk.controller.session_view()
    for _ in range(4):  # a synthesised touch can land while the page still settles
        touch_centre(kiosk)
        try:
            qtbot.waitUntil(lambda: len(steps) < 5, timeout=2500)  # the chooser came
            break
        except Exception:
            continue
    qtbot.waitUntil(
        lambda: bool([h for h in loopback_web.requests_to("www.allowed.test") if h.path == "/upload"]), timeout=30_000
    )
    assert not driver.isActive()
    [upload] = [h for h in loopback_web.requests_to("www.allowed.test") if h.path == "/upload"]
    assert upload.headers.get("X-Name") == "scan-1.pdf" and upload.body.startswith(b"%PDF")
    received = tmp_path / "received.pdf"
    received.write_bytes(upload.body)
    assert page_count(received) == 2
    saved = session_dir / "scans" / "scan-1.pdf"
    assert saved.read_bytes() == upload.body
    assert not list((session_dir / "pages").iterdir())  # the raw pages went once saved
    assert view is kiosk.controller.session_view()
    kiosk.controller.stats.flush()
    kinds = [(kind, json.loads(data)) for kind, data in store.conn.execute("SELECT kind, data FROM events")]
    assert ("pages_scanned", {"pages": 2}) in [(kind, {"pages": data.get("pages")}) for kind, data in kinds]

    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.browser is None, timeout=10_000)
    assert not saved.exists() and not session_dir.exists()
    qtbot.waitUntil(lambda: page_name(kiosk.window.lobby_view.page().url()) in {"goodbye", "attract"}, timeout=10_000)


def test_a_missing_scanner_says_so_in_french_and_is_counted(qtbot, kiosk_app, sane_test_backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QWidget

    from kiosk.core.devices import ScanOptions
    from kiosk.devices.sane import SaneScanner
    from kiosk.shell.scanner import ScanOverlay

    parent = QWidget()
    qtbot.addWidget(parent)
    parent.resize(1000, 800)
    parent.show()
    events: list[tuple[str, dict[str, object]]] = []
    overlay = ScanOverlay(
        parent,
        SaneScanner("test:9"),
        1_000_000,
        ScanOptions(),
        lambda kind, **fields: events.append((kind.kind, fields)),
    )
    said: list[str] = []
    steps = [
        (lambda: overlay.isVisible() and overlay.scan_button.isEnabled(), overlay.scan_button.click),
        (
            lambda: "pas de scanner" in overlay.heading.text() and overlay.scan_button.isEnabled(),
            lambda: (said.append(overlay.heading.text()), overlay.cancel.click()),
        ),
    ]
    drive(steps, parent, overlay.dismiss)
    assert overlay.run(tmp_path, [".pdf"]) == []
    assert said == ["Il n'y a pas de scanner sur cette borne. Demandez à l'accueil : on peut scanner pour vous."]
    assert events == [("device_error", {"device": "scanner", "error": "absent"})]
    assert not (tmp_path / "scans").exists() and not list((tmp_path).glob("pages/*"))


def test_a_site_taking_one_image_gets_one_jpeg_page(qtbot, kiosk_app, sane_test_backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QWidget

    from kiosk.core.devices import ScanOptions
    from kiosk.devices.sane import SaneScanner
    from kiosk.shell.scanner import ScanOverlay

    parent = QWidget()
    qtbot.addWidget(parent)
    parent.resize(1000, 800)
    parent.show()
    overlay = ScanOverlay(parent, SaneScanner("test:0"), 1_000_000, ScanOptions(resolution_dpi=100))
    add_shown: list[bool] = []
    steps = [
        (lambda: overlay.isVisible() and overlay.scan_button.isEnabled(), overlay.scan_button.click),
        (
            lambda: overlay.save.isVisible() and overlay.save.isEnabled() and not overlay._busy,
            lambda: (add_shown.append(overlay.add.isVisible()), overlay.save.click()),
        ),
    ]
    drive(steps, parent, overlay.dismiss)
    [jpeg] = overlay.run(tmp_path, ["image/jpeg"], one_page=True)
    assert add_shown == [False]  # no "Ajouter une page": the site takes one picture
    assert jpeg == tmp_path / "scans" / "scan-1.jpg" and jpeg.read_bytes()[:2] == b"\xff\xd8"
    assert not list((tmp_path / "pages").iterdir())  # the raw page went once saved


def scan_config(tmp_path: Path, device: str = "test:0", adapter: str = "sane", extra: str = ""):  # type: ignore[no-untyped-def]
    from kiosk.core.loading import load_config

    directory = write_test_config(tmp_path / f"scan-config-{adapter}-{device.replace(':', '')}")
    with open(directory / "kiosk.toml", "a", encoding="utf-8") as toml:
        toml.write(f'\n[devices]\nprinter = "none"\nscanner = "{adapter}"\nscanner_device = "{device}"\n{extra}')
    return load_config(directory / "kiosk.toml", directory / "tiles.toml")


def test_the_top_bar_scans_two_pages_into_a_pdf_that_sites_are_offered_until_the_session_ends(  # type: ignore[no-untyped-def]
    store, qtbot, make_kiosk, loopback_web, sane_test_backend: Path, tmp_path: Path
) -> None:
    """On a 1024 px screen, from the welcome screen: "Scanner un document" starts a session,
    scans two pages, saves them as one PDF in the session's scans, says where it is, prints it
    through the PDF viewer; a site's file input is then offered it, and the end wipes it."""
    from kiosk.shell.web.scheme import page_name

    kiosk = make_kiosk(scan_config(tmp_path), store=store, size=(1024, 768))
    button = kiosk.window.top_bar.buttons["scan"]
    assert button.isVisible() and button.text() == "Scanner un\ndocument"
    overlay, note = kiosk.controller.scanning.overlay, kiosk.actions.scanning.note
    assert kiosk.controller.browser is None  # the welcome screen: no session yet
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: overlay.isVisible() and overlay.scan_button.isEnabled(), timeout=10_000)
    session_dir = kiosk.controller.browser.dir  # the tap started a session: the scan has a home
    wait_ready(qtbot, kiosk, "kiosk://borne/home")

    def settled(n: int) -> Callable[[], bool]:
        return lambda: len(overlay._pages) == n and not overlay._busy and overlay.save.isEnabled()

    keep_shot(qtbot, kiosk, "scan-ready")
    overlay.scan_button.click()
    qtbot.waitUntil(settled(1), timeout=30_000)
    assert overlay.save.text() == "Enregistrer en PDF" and overlay.save_jpeg.isVisible()
    overlay.add.click()
    qtbot.waitUntil(settled(2), timeout=30_000)
    keep_shot(qtbot, kiosk, "scan-two-pages")
    overlay.save.click()
    qtbot.waitUntil(note.isVisible, timeout=30_000)
    keep_shot(qtbot, kiosk, "scan-saved")
    saved = session_dir / "scans" / "scan-1.pdf"
    assert page_count(saved) == 2
    assert not list((session_dir / "pages").iterdir())  # the raw pages went once saved
    assert note.heading.text() == "Votre document est prêt."
    assert "« scan-1.pdf »" in note.message.text() and "choisissez-le dans la liste" in note.message.text()
    assert note.print_button.isVisible() and note.print_button.text() == "Imprimer"
    note.print_button.click()
    qtbot.waitUntil(kiosk.window.pdf_shown, timeout=10_000)
    assert kiosk.window.pdf_viewer.path == saved
    kiosk.window.close_pdf()

    loopback_web.clear()
    loopback_web.page("www.allowed.test", "/", UPLOAD_PAGE)
    kiosk.controller.open_tile("allowed")
    wait_ready(qtbot, kiosk, "http://www.allowed.test/")
    chooser = kiosk.window.chooser
    offered: list[str] = []

    def pick() -> None:
        offered.extend(choice.text() for choice in chooser._choices)
        chooser._choices[0].click()

    steps = [(lambda: chooser.isVisible() and bool(chooser._choices), pick)]
    drive(steps, kiosk.window, kiosk.window.dismiss_overlays)
    for _ in range(4):  # a synthesised touch can land while the page still settles
        touch_centre(kiosk)
        try:
            qtbot.waitUntil(lambda: not steps, timeout=2500)  # the chooser came
            break
        except Exception:
            continue
    qtbot.waitUntil(
        lambda: bool([h for h in loopback_web.requests_to("www.allowed.test") if h.path == "/upload"]), timeout=30_000
    )
    assert offered == ["scan-1.pdf"]
    [upload] = [h for h in loopback_web.requests_to("www.allowed.test") if h.path == "/upload"]
    assert upload.headers.get("X-Name") == "scan-1.pdf" and upload.body == saved.read_bytes()

    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.browser is None, timeout=10_000)
    assert not saved.exists() and not session_dir.exists()
    assert not note.isVisible() and not overlay.isVisible()
    qtbot.waitUntil(lambda: page_name(kiosk.window.lobby_view.page().url()) in {"goodbye", "attract"}, timeout=10_000)


def test_the_top_bar_says_when_the_scanner_is_missing_and_hides_without_one(  # type: ignore[no-untyped-def]
    store, qtbot, make_kiosk, sane_test_backend: Path, tmp_path: Path
) -> None:
    """A configured scanner the devices' health finds absent: the button says so, and a tap
    explains in French instead of opening the scanner. ``scanner = "none"``: no button at all."""
    kiosk = make_kiosk(scan_config(tmp_path, device="test:9"), store=store)
    button, note = kiosk.window.top_bar.buttons["scan"], kiosk.actions.scanning.note
    assert button.isVisible()
    qtbot.waitUntil(lambda: kiosk.window.top_bar.label("scan") == "Scanner indisponible", timeout=15_000)
    assert kiosk.devices is not None and kiosk.devices.last.get("scanner").state == "absent"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(note.isVisible, timeout=5_000)
    keep_shot(qtbot, kiosk, "scan-missing")
    assert note.heading.text() == "Scanner indisponible"
    assert note.message.text() == "Le scanner a été débranché ou éteint. Un membre de l'accueil peut vous aider."
    assert not note.print_button.isVisible() and not kiosk.controller.scanning.overlay.isVisible()
    note.ok.click()

    without = make_kiosk(scan_config(tmp_path, adapter="none"))
    assert not without.window.top_bar.buttons["scan"].isVisible()
    without.actions.dispatch("scan", {})
    assert not without.controller.scanning.overlay.isVisible()


def test_the_configured_feeder_grey_and_resolution_reach_the_scanner(  # type: ignore[no-untyped-def]
    store, qtbot, make_kiosk, sane_test_backend: Path, tmp_path: Path
) -> None:
    """``scan_source = "feeder"``, ``scan_max_pages``, ``scan_mode`` and ``scan_resolution_dpi``
    in [devices]: one tap on "Scanner" takes three sheets from the test backend's feeder, grey,
    at 100 dpi; saved as JPEG they are three pictures (and no "Imprimer": the viewer shows PDFs)."""
    from PIL import Image

    extra = 'scan_source = "feeder"\nscan_max_pages = 3\nscan_mode = "grey"\nscan_resolution_dpi = 100\n'
    kiosk = make_kiosk(scan_config(tmp_path, extra=extra), store=store)
    overlay, note = kiosk.controller.scanning.overlay, kiosk.actions.scanning.note
    kiosk.actions.dispatch("scan", {})
    qtbot.waitUntil(lambda: overlay.isVisible() and overlay.scan_button.isEnabled(), timeout=10_000)
    assert overlay.heading.text() == "Posez vos feuilles dans le chargeur du scanner, puis touchez « Scanner »."
    overlay.scan_button.click()
    qtbot.waitUntil(lambda: len(overlay._pages) == 3 and not overlay._busy, timeout=30_000)
    with Image.open(overlay._pages[0]) as page:
        assert page.mode == "L" and round(page.info["dpi"][0]) == 100
    overlay.save_jpeg.click()
    qtbot.waitUntil(note.isVisible, timeout=30_000)
    scans = kiosk.controller.browser.dir / "scans"
    assert sorted(p.name for p in scans.iterdir()) == ["scan-1.jpg", "scan-2.jpg", "scan-3.jpg"]
    assert "scan-1.jpg, scan-2.jpg, scan-3.jpg" in note.message.text()
    assert not note.print_button.isVisible()
    note.ok.click()
