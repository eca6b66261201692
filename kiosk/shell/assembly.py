"""The shell assembled from the configuration: pages, window, session controller, action table
and watchdog, wired together (``build_kiosk``). Tools and tests build the kiosk here too."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.core.devices import DeviceFailure, DeviceState, DeviceStatus, Scanner
from kiosk.core.mediation.desk import MediationDesk
from kiosk.core.mediation.reservation import ReservationDesk
from kiosk.core.ports import ButtonSource, Clock, Printer, SystemClock
from kiosk.core.printing import PrintQuota, QuotaPrinter
from kiosk.core.settings import Config
from kiosk.core.setup import SetupBoard, is_done
from kiosk.core.staff import RememberingTicketPrinter
from kiosk.core.stats.events import DeviceError
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import DB_NAME, Role, Store, StoreError, open_store
from kiosk.devices.select import build_buttons, build_printer, build_scanner, build_ticket_printer, check_touchscreen
from kiosk.pages import HelpLibrary, PageRenderer, PageServices
from kiosk.pages.booking import LibraryGuides
from kiosk.shell.actions import ActionTable
from kiosk.shell.beat import ShellBeat
from kiosk.shell.booking import BookingPanel
from kiosk.shell.controller import SessionController
from kiosk.shell.devicewatch import DeviceWatch, watch_devices
from kiosk.shell.first_screen import WELCOME_PAGE, FirstScreen
from kiosk.shell.mediation import MediationPanel
from kiosk.shell.operations import Operation
from kiosk.shell.readaloud import ReadAloud, SpeechEngine, default_engine
from kiosk.shell.resident_pages import ResidentPages
from kiosk.shell.scanner import ScanDesk
from kiosk.shell.scanpanel import ScanPanel
from kiosk.shell.setuppanel import SetupPanel
from kiosk.shell.staffmode import StaffMode
from kiosk.shell.watchdog import RendererWatchdog
from kiosk.shell.web.profile import remove_session_dir
from kiosk.shell.web.scheme import KioskSchemeHandler
from kiosk.shell.window import KioskWindow

log = logging.getLogger(__name__)


@dataclass
class ShownWindow:
    """A window already on screen with the first screen (``kiosk.shell.startup``): completed
    rather than built again."""

    window: KioskWindow
    scheme_handler: KioskSchemeHandler
    screen: FirstScreen  # what it shows


@dataclass
class Kiosk:
    """The shell, assembled: the window (a view), the session controller that drives it, the
    action table between them and the renderer watchdog."""

    window: KioskWindow
    controller: SessionController
    actions: ActionTable
    watchdog: RendererWatchdog
    mediation: MediationPanel
    staff: StaffMode
    buttons: ButtonSource | None = None  # [devices.buttons], read in a thread of their own
    booking: BookingPanel | None = None
    devices: DeviceWatch | None = None  # the devices' health, probed for the console and the heartbeat
    setup: SetupPanel | None = None  # the first-boot setup, shown instead of the welcome screen

    def close(self) -> None:
        """Tear down (tests, tools): nothing ticks any more, then the window closes."""
        if self.buttons is not None:
            self.buttons.stop()
        if self.devices is not None:
            self.devices.stop()
        self.watchdog.stop()
        if self.setup is not None:
            self.setup.stop()
        self.staff.stop()
        self.mediation.stop()
        self.controller.stop()
        self.mediation.desk.close()
        if self.booking is not None:
            self.booking.desk.close()
        self.window.allow_close()
        self.window.close()
        self.window.deleteLater()  # the controller (its child) with it


_DEFAULT = object()  # build_kiosk(store=..., speech=..., template_cache=...) not given


def build_kiosk(
    config: Config,
    session_root: Path,
    *,
    printer: Printer | None = None,
    clock: Clock | None = None,
    store: Store | object | None = _DEFAULT,
    recorder: StatsRecorder | None = None,
    speech: SpeechEngine | object | None = _DEFAULT,
    template_cache: Path | object | None = _DEFAULT,
    shown: ShownWindow | None = None,
    buttons: ButtonSource | None = None,
    scanner: Scanner | None = None,
) -> Kiosk:
    """Everything the shell needs, from the configuration: pages, window, controller, actions.

    ``store``: the statistics database (default: opened from ``data_dir``; ``None``: events wait
    in memory). ``printer``: default the one ``[devices]`` chooses. ``speech``: default the
    machine's voice (``None``: no read-aloud). ``template_cache``: where compiled templates
    outlive the process (default: ``data_dir/cache/templates``; ``None``: compiled at each start).
    ``shown``: the first screen's window, completed instead of a new one. ``buttons``: default
    the ones ``[devices.buttons]`` names. ``scanner``: default the one ``[devices]`` chooses.
    """
    settings = config.kiosk
    clock = clock or SystemClock()
    # The adapter [devices] chooses: CUPS, or "no printer here" — never a fake.
    printer = printer if printer is not None else build_printer(settings.devices)
    if store is _DEFAULT:
        store = open_shell_store(config)
    assert store is None or isinstance(store, Store)
    # The resident's PDF viewer prints within the free quota ([printing]); staff's test page does not count.
    quota = PrintQuota(settings.printing, store, clock, ZoneInfo(settings.centre.timezone))
    resident_printer = QuotaPrinter(printer, quota, settings.devices.printer_queue)
    if template_cache is _DEFAULT:
        template_cache = settings.paths.data_dir / "cache" / "templates"
    assert template_cache is None or isinstance(template_cache, Path)
    prepare_session_root(session_root)
    help_dir = config.kiosk_path.parent / "help"
    engine = default_engine(None) if speech is _DEFAULT else speech
    read_aloud = ReadAloud(engine)  # type: ignore[arg-type]
    renderer = PageRenderer(
        icons_dir=config.tiles_path.parent / "icons",
        centre_name=settings.centre.name,
        language=settings.shell.language,
        offered=settings.shell.languages,
        read_aloud=read_aloud.available,
        help_videos=help_dir / "videos",
        template_cache=template_cache,
    )
    renderer.warm()  # the templates, compiled or read back now: never written during a visit
    # The mediator desk has a connection of its own, used off the GUI thread only.
    # The call's number is printed on the ticket printer, when the terminal has one (the last
    # ticket kept in memory for the staff panel's reprint).
    tickets = (
        RememberingTicketPrinter(build_ticket_printer(settings.devices))
        if settings.devices.ticket_printer != "none"
        else None
    )
    desk = MediationDesk(store.path if store is not None else None, settings, clock, ticket_printer=tickets)
    library = HelpLibrary(help_dir)
    # The resident's appointment booking: its own connection too, off the GUI thread only.
    db_path = store.path if store is not None else None
    booking = ReservationDesk(db_path, settings, clock, "kiosk", guides=LibraryGuides(library), ticket_printer=tickets)
    # The first-boot setup ([setup] required, not done yet): its page instead of the welcome.
    in_setup = settings.setup.required and not is_done(settings.paths.data_dir)
    board = SetupBoard() if in_setup else None
    services = PageServices(config.tiles, library, settings.session.warning_s, desk, booking, board)
    pages = ResidentPages(renderer, services)
    if shown is None:
        scheme_handler = KioskSchemeHandler(pages)
        window = KioskWindow(settings.centre.name, scheme_handler, resident_printer)
        scheme_handler.setParent(window)
        welcome_shown = False
    else:
        scheme_handler, window = shown.scheme_handler, shown.window
        scheme_handler.set_source(pages)
        window.printer = resident_printer
        welcome_shown = pages.render(WELCOME_PAGE, {}).body == shown.screen.body
    read_aloud.setParent(window)
    controller = SessionController(
        window,
        config,
        pages,
        scheme_handler,
        read_aloud,
        clock=clock,
        session_root=session_root,
        recorder=recorder or StatsRecorder(store, clock),
        store=store,
        welcome_shown=welcome_shown,
    )
    controller.setParent(window)  # gone with the window, whatever the order of teardown: no tick after it
    scanner = scanner if scanner is not None else build_scanner(settings.devices)
    limit = int(settings.devices.scan_limit_mb * 1_000_000)
    controller.scanning = ScanDesk(window.chooser, scanner, limit, settings.devices.scan_options(), controller.record)
    if store is not None:
        ShellBeat(store, clock, parent=controller)  # the console's health page reads it
    watch = (  # the same scanner as the chooser's: SANE opens a device once at a time
        watch_devices(store, clock, printer, tickets, scanner, controller.record, controller)
        if store is not None
        else None
    )
    mediation = MediationPanel(desk, controller, window.top_bar)
    scanning = ScanPanel(controller.scanning, controller, window, watch.refresh if watch is not None else None)
    if watch is not None:
        watch.updated.connect(scanning.show_health)
    actions = ActionTable(controller, mediation, BookingPanel(booking, controller), scanning)
    watchdog = RendererWatchdog(
        controller,
        window,
        clock,
        hang_timeout_s=settings.shell.hang_timeout_s,
        memory_cap_mb=settings.shell.renderer_memory_cap_mb,
    )
    setup = None
    if board is not None:  # no resident's session: the page's verbs go to the setup alone
        zone = ZoneInfo(settings.centre.timezone)
        setup = SetupPanel(
            window,
            board,
            settings.paths.data_dir,
            printer=printer,
            centre_name=settings.centre.name,
            clock=clock,
            zone=zone,
        )
        window.actionRequested.connect(setup.dispatch)
    else:
        window.actionRequested.connect(actions.dispatch)
        window.activity.connect(controller.activity)
    window.lobbyPageChanged.connect(read_aloud.stop)
    window.printed.connect(controller.record_printed)
    window.printHeld.connect(controller.record_print_held)
    window.printFailed.connect(controller.record_print_failed)
    staff = StaffMode(window, controller, config, clock, printer=printer, tickets=tickets)
    buttons = buttons if buttons is not None else build_buttons(settings.devices)
    if buttons is not None:  # a press comes in as the top bar's own: same queued path, same verbs
        buttons.start(window.top_bar.triggered.emit)
    return Kiosk(window, controller, actions, watchdog, mediation, staff, buttons, actions.booking, watch, setup)


def report_touchscreen(kiosk: Kiosk, probe: Callable[[], DeviceStatus] = check_touchscreen) -> None:
    """At start, off the GUI thread (it opens every input device): no touchscreen is logged
    (``devices.touchscreen``) and recorded in the statistics as the touchscreen absent."""

    def record(status: DeviceStatus) -> None:
        if status.state is DeviceState.ABSENT:
            kiosk.controller.record(DeviceError, device="touchscreen", error=DeviceFailure.ABSENT)
        if kiosk.devices is not None:
            kiosk.devices.set_touchscreen(status)

    Operation(kiosk.window, probe, name="touchscreen").success(record).run()


def open_shell_store(config: Config) -> Store | None:
    """The statistics database; without it (a broken disk) the kiosk runs and events wait in memory."""
    try:
        return open_store(config.kiosk.paths.data_dir / DB_NAME, Role.SHELL, config.kiosk.stats.durability)
    except StoreError as error:
        log.error("stats.store_unavailable", extra={"error": str(error)})
        return None


def prepare_session_root(session_root: Path) -> None:
    """The sessions' parent directory, private; a shell killed mid-session (power cut, crash)
    left a resident's directory there: erase it before anyone else sits down."""
    session_root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for leftover in session_root.iterdir():
        remove_session_dir(leftover) if leftover.is_dir() else leftover.unlink(missing_ok=True)
        log.warning("session.leftover_wiped")
