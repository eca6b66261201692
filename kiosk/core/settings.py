"""The settings of ``kiosk.toml``: the centre, the session's timings, the shell, statistics,
the agent and the paths; and :class:`Config`, the settings with their tiles.

Pydantic models only: reading the files, reporting problems and the last good copy are
:mod:`kiosk.core.loading`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kiosk.core import places
from kiosk.core.devices import ColourMode, ScanOptions, ScanSource
from kiosk.core.mediation_config import AppointmentSettings, MediatorSettings, NotificationSettings, OpeningSettings
from kiosk.core.store import Durability
from kiosk.core.tiles import TilesConfig
from kiosk.i18n import SUPPORTED
from sync.vocabulary import DEFAULT_K, MAX_K, MIN_K


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CentreSettings(_Strict):
    name: str = "Espace France Services"
    commune: str = ""
    timezone: str = "Europe/Paris"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use a name like 'Europe/Paris' or 'America/Cayenne'"
            ) from None
        return value


class SessionSettings(_Strict):
    idle_timeout_s: int = Field(default=120, ge=15, le=3600)
    warning_s: int = Field(default=30, ge=5, le=300)
    goodbye_s: int = Field(default=6, ge=1, le=60)


class ShellSettings(_Strict):
    zoom_levels: tuple[float, float, float] = (1.0, 1.25, 1.5)
    fullscreen: bool = True
    renderer_memory_cap_mb: int = Field(default=700, ge=100)
    hang_timeout_s: float = Field(default=5.0, ge=1, le=60)
    language: str = "fr"  # the terminal's language at the start of every session
    languages: tuple[str, ...] = SUPPORTED  # offered by the language picker, in this order

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in SUPPORTED:
            raise ValueError(f"the kiosk speaks {', '.join(SUPPORTED)}; choose one of them")
        return value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [code for code in value if code not in SUPPORTED]
        if unknown:
            raise ValueError(f"no translation for {', '.join(unknown)}; the kiosk speaks {', '.join(SUPPORTED)}")
        if len(set(value)) != len(value):
            raise ValueError("give each language once")
        return value

    @model_validator(mode="before")
    @classmethod
    def _default_offered(cls, data: Any) -> Any:
        """The default language is always in the picker (first if the list forgot it)."""
        if isinstance(data, dict) and "languages" in data:
            language, offered = data.get("language", "fr"), list(data["languages"] or ())
            if language not in offered:
                data = {**data, "languages": [language, *offered]}
        return data

    @field_validator("zoom_levels")
    @classmethod
    def _zooms(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if not all(0.5 <= z <= 3 for z in value) or not value[0] < value[1] < value[2]:
            raise ValueError("give three increasing zoom factors between 0.5 and 3, e.g. [1.0, 1.25, 1.5]")
        return value


class StatsSettings(_Strict):
    questions: bool = True  # the optional end-of-session questions (skippable with one tap)
    questions_timeout_s: int = Field(default=45, ge=10, le=300)  # unanswered: goodbye screen
    suppression_k: int = Field(default=DEFAULT_K, ge=MIN_K, le=MAX_K)  # answers cells below this are hidden
    keep_event_days: int = Field(default=7, ge=1, le=400)  # raw events, once counted and sealed
    keep_aggregate_months: int = Field(default=25, ge=1, le=120)
    durability: Durability = Durability.NORMAL  # "full": also survive a power cut, slower


class AgentSettings(_Strict):
    listen_host: str = "127.0.0.1"  # "0.0.0.0" to publish the help website (/aide) on the network
    listen_port: int = Field(default=8700, ge=0, le=65535)


class ConsoleSettings(_Strict):
    """[console]: the staff console, served by the agent over HTTPS. Set ``listen_host`` to the
    terminal's LAN address (or "0.0.0.0") so the reception's tablet or PC can reach it."""

    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8743, ge=0, le=65535)
    cert_file: Path | None = None  # both or neither; neither: a self-signed certificate in data_dir/console
    key_file: Path | None = None
    session_hours: int = Field(default=12, ge=1, le=168)  # a login lasts this long

    @model_validator(mode="after")
    def _pair(self) -> ConsoleSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError(
                "give both cert_file and key_file (a PEM certificate and its key), or neither for the"
                " certificate the agent makes itself"
            )
        return self


class PathsSettings(_Strict):
    data_dir: Path = places.DATA_DIR
    session_root: Path = places.SESSION_ROOT
    last_good_dir: Path = places.LAST_GOOD_DIR


class TicketPrinterSettings(_Strict):
    """[devices.ticket]: how to reach the ESC/POS ticket printer ``ticket_printer`` names."""

    host: str = ""  # network: the printer's address (its own menu or test print shows it)
    port: int = Field(default=9100, ge=1, le=65535)  # network: raw printing port (JetDirect)
    usb_vendor: int = Field(default=0, ge=0, le=0xFFFF)  # usb: ids as `lsusb` shows them, e.g. 0x04b8
    usb_product: int = Field(default=0, ge=0, le=0xFFFF)
    usb_in_endpoint: int = Field(default=0x82, ge=0x81, le=0x8F)  # `lsusb -v`: bEndpointAddress (IN)
    usb_out_endpoint: int = Field(default=0x01, ge=0x01, le=0x0F)  # Epson's; many clones: 0x81 and 0x03
    serial_device: str = ""  # serial: e.g. "/dev/ttyUSB0"
    baudrate: int = Field(default=9600, ge=1200, le=921600)  # serial
    width: int = Field(default=48, ge=24, le=64)  # characters per line: 48 on 80 mm paper, 32 on 58 mm
    dots: int = Field(default=576, ge=256, le=1024)  # dots per line: 576 on 80 mm paper, 384 on 58 mm
    code_page: Literal["CP1252", "CP858"] = "CP1252"  # the printer's table for French accents
    qr: Literal["native", "image"] = "native"  # "image" for a printer without its own QR codes
    ask_status: bool = True  # ask for paper and cover status (DLE EOT) before each ticket
    timeout_s: float = Field(default=5.0, gt=0, le=60)  # waiting longer than this is a failure

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if value and (len(value) > 253 or not all(c.isalnum() or c in ".-:[]" for c in value)):
            raise ValueError(f"{value!r} is not a host name or IP address, e.g. '192.168.1.50'")
        return value


# The top bar's verbs a physical button may carry (values of kiosk.pages.Action; a test checks).
ButtonVerb = Literal["home", "back", "help", "mediator", "zoom", "end", "read", "contrast"]


class ButtonsSettings(_Strict):
    """[devices.buttons]: physical buttons (a big USB button, a keypad). ``device`` is the input
    device's name as `evtest` lists it, or its /dev/input/by-id/… path; "" = no buttons.
    ``keys`` maps the device's key names ("KEY_F13") to the top bar's verbs ("mediator", "end")."""

    device: str = ""
    keys: dict[str, ButtonVerb] = Field(default_factory=dict)
    debounce_ms: int = Field(default=300, ge=0, le=5000)  # a second press sooner than this is a bounce
    retry_s: float = Field(default=3.0, ge=0.5, le=60)  # unplugged: look for it again this often

    @field_validator("keys")
    @classmethod
    def _key_names(cls, keys: dict[str, ButtonVerb]) -> dict[str, ButtonVerb]:
        for name in keys:
            if not (name.startswith(("KEY_", "BTN_")) and name[4:].replace("_", "").isalnum() and name.isupper()):
                raise ValueError(f"{name!r} is not a key name: use the names `evtest` prints, e.g. KEY_F13 or BTN_0")
        return keys

    @model_validator(mode="after")
    def _device_with_keys(self) -> ButtonsSettings:
        if self.keys and not self.device:
            raise ValueError('keys need a device: device = "USB Big Button" (its name as `evtest` lists it)')
        if self.device and not self.keys:
            raise ValueError('device needs keys to map, e.g. keys = { KEY_F13 = "mediator" }')
        return self


class DevicesSettings(_Strict):
    """[devices]: which adapter each device port uses. "auto" finds the device when it is there
    (and keeps looking, so that a printer plugged in later works); "none" turns the feature off."""

    printer: Literal["auto", "cups", "none"] = "auto"
    printer_queue: str = ""  # a CUPS queue name; "" = the CUPS default destination
    scanner: Literal["auto", "sane", "none"] = "auto"
    scanner_device: str = ""  # a SANE device name as `scanimage -L` lists it; "" = the first found
    scan_limit_mb: float = Field(default=5.0, ge=0.5, le=100)  # what sites accept; scans are compressed below it
    scan_resolution_dpi: int = Field(default=200, ge=75, le=600)  # legible pages that stay light
    scan_mode: ColourMode = ColourMode.COLOUR  # "colour", "grey" or "black_and_white"
    scan_source: ScanSource = ScanSource.FLATBED  # "flatbed" (the glass) or "feeder" (several sheets at once)
    scan_max_pages: int = Field(default=20, ge=1, le=100)  # the feeder stops after this many sheets a scan
    ticket_printer: Literal["none", "network", "usb", "serial"] = "none"  # ESC/POS, see [devices.ticket]
    ticket: TicketPrinterSettings = Field(default_factory=TicketPrinterSettings)
    buttons: ButtonsSettings = Field(default_factory=ButtonsSettings)

    @model_validator(mode="after")
    def _ticket_reachable(self) -> DevicesSettings:
        ticket, kind = self.ticket, self.ticket_printer
        if kind == "network" and not ticket.host:
            raise ValueError(
                'ticket_printer = "network" needs the printer\'s address: host = "192.168.1.50" in [devices.ticket]'
            )
        if kind == "usb" and not (ticket.usb_vendor and ticket.usb_product):
            raise ValueError(
                'ticket_printer = "usb" needs usb_vendor and usb_product in [devices.ticket], as `lsusb` shows'
                " them (ID 04b8:0202 → usb_vendor = 0x04b8, usb_product = 0x0202)"
            )
        if kind == "serial" and not ticket.serial_device:
            raise ValueError('ticket_printer = "serial" needs serial_device = "/dev/ttyUSB0" (say) in [devices.ticket]')
        return self

    def scan_options(self) -> ScanOptions:
        """What the shell asks of the scanner (the ``scan_*`` keys)."""
        return ScanOptions(self.scan_resolution_dpi, self.scan_mode, self.scan_source, self.scan_max_pages)

    @field_validator("printer_queue")
    @classmethod
    def _queue(cls, value: str) -> str:
        # CUPS's own rule for queue names (lpadmin(8)).
        if len(value) > 127 or any(c in value for c in " /\\#'\"") or not value.isprintable():
            raise ValueError(
                f"{value!r} is not a CUPS queue name; give the name `lpstat -e` lists "
                '(up to 127 characters, no space, /, \\, #, or quotes), or "" for the default printer'
            )
        return value


class StaffSettings(_Strict):
    """[staff]: the staff panel on the terminal (a long press on the centre's name, then the PIN
    that ``kiosk staff-pin`` sets; without a PIN the press does nothing)."""

    hold_s: float = Field(default=3.0, ge=1, le=10)  # how long the centre's name is pressed
    panel_timeout_s: int = Field(default=60, ge=1, le=600)  # untouched this long, the panel closes


class PrintingSettings(_Strict):
    """[printing]: what a resident prints without asking (pages × copies); past it the job waits
    at the reception, held in CUPS, until staff release it from the console."""

    pages_per_session: int = Field(default=20, ge=0, le=10_000)  # 0: every job waits for staff
    pages_per_day: int = Field(default=200, ge=0, le=100_000)  # the whole terminal, all sessions of the day
    max_copies: int = Field(default=5, ge=1, le=99)  # copies one job may ask for
    held_keep_hours: int = Field(default=12, ge=1, le=168)  # a held job not released by then is purged


class SetupSettings(_Strict):
    """[setup]: the first-boot setup (README, "Première mise en service"). While ``required`` and
    not yet done, the screen shows the technician's setup page instead of the welcome screen and a
    USB key's ``borne-setup.toml`` is read. The appliance turns it on (``KIOSK_SETUP_REQUIRED=1``
    in kiosk-shell.service); ``make run`` and tests leave it off."""

    required: bool = False


class KioskSettings(_Strict):
    centre: CentreSettings = Field(default_factory=CentreSettings)
    session: SessionSettings = Field(default_factory=SessionSettings)
    shell: ShellSettings = Field(default_factory=ShellSettings)
    stats: StatsSettings = Field(default_factory=StatsSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    paths: PathsSettings = Field(default_factory=PathsSettings)
    devices: DevicesSettings = Field(default_factory=DevicesSettings)
    opening: OpeningSettings = Field(default_factory=OpeningSettings)
    mediator: MediatorSettings = Field(default_factory=MediatorSettings)
    appointments: AppointmentSettings = Field(default_factory=AppointmentSettings)
    staff: StaffSettings = Field(default_factory=StaffSettings)
    printing: PrintingSettings = Field(default_factory=PrintingSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    setup: SetupSettings = Field(default_factory=SetupSettings)


@dataclass(frozen=True)
class Config:
    kiosk: KioskSettings
    tiles: TilesConfig
    kiosk_path: Path
    tiles_path: Path
