"""The first-boot setup: the technician's answers, where they are kept, and the lock.

The answers (the centre's name, the Wi-Fi, the federation's enrolment code) come from the
setup page on screen or from ``borne-setup.toml`` on a USB key; both are checked by the same
models, with French words for the technician. Applying them needs privileges the shell has
not (Wi-Fi credentials, the agent's token): the shell writes a *request* in its inbox, a
privileged oneshot (``kiosk setup apply``, ``kiosk.firstboot``) applies it and writes the
*result*, the local settings (``setup/local.toml``, merged over ``kiosk.toml`` by
:mod:`kiosk.core.loading`) and the ``done`` marker, after which nothing asks again.

Files, under ``data_dir`` (``/var/lib/kiosk``, the data partition):

- ``setup/`` (root's, readable by all): ``local.toml``, ``done``, ``result.json``;
- ``setup-inbox/request.json`` (the shell's, 0600): what the technician typed, deleted once applied.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import stat
import tomllib
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kiosk.i18n import N_

SETUP_DIR = "setup"
INBOX_DIR = "setup-inbox"
LOCAL_FILE = "local.toml"
DONE_FILE = "done"
RESULT_FILE = "result.json"
REQUEST_FILE = "request.json"
REOPEN_FILE = "reopen"  # in the inbox: the staff panel asks for the setup again
USB_FILE = "borne-setup.toml"
USB_FILE_MAX_BYTES = 64 * 1024

PASSPHRASE_WORDS = N_("Le mot de passe Wi-Fi compte de 8 à 63 caractères sans accent (rien pour un réseau ouvert).")
CODE_WORDS = N_("Recopiez le code d'inscription tel qu'il est écrit, par exemple ABCD-EFGH-JKLM-NPQR.")
NO_ANSWER_WORDS = N_("La mise en service ne répond pas. Redémarrez la borne et réessayez, ou utilisez une clé USB.")
SYNTAX_WORDS = N_("Le fichier est mal écrit à cette ligne (guillemets, crochets, « = »).")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CODE = re.compile(r"^[A-Za-z0-9-]{8,64}$")


class SetupInvalid(ValueError):
    """Answers that cannot be applied; ``problems`` say which and why, in French."""

    def __init__(self, problems: Sequence[SetupProblem]) -> None:
        super().__init__("; ".join(f"{p.key}: {p.message}" for p in problems))
        self.problems = list(problems)


class SetupProblem(BaseModel):
    model_config = ConfigDict(frozen=True)
    key: str  # "centre.name", "wifi.passphrase", "(fichier)"…
    message: str  # a French message id (translated where it is shown)


def server_url(text: str) -> str:
    """The federation server's address as the enrolment takes it: https, or plain http to this
    machine only (a test server). The address is parsed, never matched as a string prefix:
    ``http://127.0.0.1.attacker.example`` names a host, not the loopback address.
    Raises ValueError with the reason (in English: ``kiosk enroll`` prints it)."""
    parts = urllib.parse.urlsplit(text.strip())
    try:
        host, _port = parts.hostname, parts.port
    except ValueError:
        raise ValueError("the server address has an invalid port") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("the server address must look like https://stats.federation.example")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ValueError("the server address must have no user name, password, query or fragment")
    if parts.scheme == "http" and not _loopback(host):
        raise ValueError("the server address must start with https:// (plain http only for 127.0.0.1, ::1, localhost)")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- the answers -------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CentreAnswers(_Strict):
    name: str
    commune: str = ""

    @field_validator("name", "commune")
    @classmethod
    def _text(cls, value: str) -> str:
        value = " ".join(value.split())
        if _CONTROL.search(value) or len(value) > 80:
            raise ValueError(N_("Écrivez au plus 80 caractères, sur une ligne."))
        return value

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value:
            raise ValueError(N_("Écrivez le nom du centre, comme les habitants le connaissent."))
        return value


class WifiAnswers(_Strict):
    ssid: str
    passphrase: str = ""  # "": an open network
    hidden: bool = False

    @field_validator("ssid")
    @classmethod
    def _ssid(cls, value: str) -> str:
        if not value or len(value.encode("utf-8")) > 32 or _CONTROL.search(value):
            raise ValueError(N_("Le nom du réseau Wi-Fi compte de 1 à 32 caractères."))
        return value

    @field_validator("passphrase")
    @classmethod
    def _passphrase(cls, value: str) -> str:
        hex_key = len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)
        ascii_phrase = 8 <= len(value) <= 63 and all(" " <= c <= "~" for c in value)
        if value and not (hex_key or ascii_phrase):
            raise ValueError(PASSPHRASE_WORDS)
        return value


class FederationAnswers(_Strict):
    server: str
    code: str

    @field_validator("server")
    @classmethod
    def _server(cls, value: str) -> str:
        try:
            return server_url(value)
        except ValueError:
            raise ValueError(N_("Écrivez l'adresse du serveur de la fédération, qui commence par https://")) from None

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        value = value.strip().upper()
        if not _CODE.match(value):
            raise ValueError(CODE_WORDS)
        return value


class SetupAnswers(_Strict):
    """Everything the technician answers: ``borne-setup.toml``'s sections, the page's fields."""

    centre: CentreAnswers
    wifi: WifiAnswers | None = None  # None: a cable (or the Wi-Fi is already set up)
    federation: FederationAnswers | None = None  # None: this terminal sends no statistics


_PYDANTIC_WORDS = {
    "missing": N_("Cette valeur manque."),
    "extra_forbidden": N_("Cette clé n'existe pas : vérifiez son orthographe (voir l'exemple borne-setup.toml)."),
    "string_type": N_("Écrivez un texte entre guillemets."),
    "bool_type": N_("Écrivez true ou false."),
    "bool_parsing": N_("Écrivez true ou false."),
    "model_type": N_("Cette valeur doit être une section [ … ]."),
}


def _problems(error: ValidationError) -> list[SetupProblem]:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(fichier)"
        if item["type"] == "value_error":
            message = str(item.get("ctx", {}).get("error", item["msg"]))
        else:
            message = _PYDANTIC_WORDS.get(item["type"], N_("Cette valeur n'est pas valable."))
        problems.append(SetupProblem(key=key, message=message))
    return problems


def validate_answers(data: Mapping[str, Any]) -> SetupAnswers:
    try:
        return SetupAnswers.model_validate(data)
    except ValidationError as error:
        raise SetupInvalid(_problems(error)) from None


def answers_from_toml(text: str) -> SetupAnswers:
    """``borne-setup.toml``'s content, checked; raises :class:`SetupInvalid`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = re.search(r"line (\d+)", str(error))
        key = f"(ligne {line.group(1)})" if line else "(fichier)"
        raise SetupInvalid([SetupProblem(key=key, message=SYNTAX_WORDS)]) from None
    return validate_answers(data)


def answers_from_form(params: Mapping[str, str]) -> SetupAnswers:
    """The setup page's fields (untrusted): an empty Wi-Fi name means no Wi-Fi, an empty code no
    enrolment. Raises :class:`SetupInvalid`."""
    data: dict[str, Any] = {"centre": {"name": params.get("centre", "")}}
    ssid = params.get("ssid", "")
    if ssid.strip():
        data["wifi"] = {"ssid": ssid.strip(), "passphrase": params.get("passphrase", "")}
    code, server = params.get("code", "").strip(), params.get("server", "").strip()
    if code or server:
        data["federation"] = {"server": server, "code": code}
    return validate_answers(data)


# -- where they are kept -------------------------------------------------------------------------


def setup_dir(data_dir: Path) -> Path:
    return data_dir / SETUP_DIR


def local_settings_path(data_dir: Path) -> Path:
    return data_dir / SETUP_DIR / LOCAL_FILE


def is_done(data_dir: Path) -> bool:
    """The lock: once the setup is done, neither the page nor a USB key asks again."""
    return (data_dir / SETUP_DIR / DONE_FILE).exists()


def local_settings_toml(answers: SetupAnswers) -> str:
    """What the setup says of ``kiosk.toml``: the centre's name (and commune), as TOML."""
    lines = ["# Written by the first-boot setup (kiosk setup apply); merged over kiosk.toml.", "[centre]"]
    lines.append(f"name = {_toml_string(answers.centre.name)}")
    if answers.centre.commune:
        lines.append(f"commune = {_toml_string(answers.centre.commune)}")
    return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    # A JSON string is a TOML basic string once control characters are refused (the models do).
    return json.dumps(value, ensure_ascii=False)


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` atomically, with ``mode`` from the first byte.

    The temporary file is made anew (``O_EXCL``, no link followed): root's units write in
    ``/var/lib/kiosk``, where the shell's user may write too, and a link left there in place of
    the temporary file must not send root's write (a token) onto another file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)  # a stale one from a power cut, or a link
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    os.fchmod(fd, mode)  # whatever the umask
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


# -- request and result ----------------------------------------------------------------------------


class SetupRequest(_Strict):
    request_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$")
    answers: SetupAnswers


class SetupResult(_Strict):
    request_id: str  # "usb" for a USB key's file
    source: Literal["screen", "usb"]
    ok: bool
    problems: tuple[SetupProblem, ...] = ()
    enrolled_centre: str = ""  # the federation's name for the centre, when enrolled


def request_path(data_dir: Path) -> Path:
    return data_dir / INBOX_DIR / REQUEST_FILE


def write_request(data_dir: Path, request: SetupRequest) -> None:
    write_private(request_path(data_dir), request.model_dump_json())


def ask_reopen(data_dir: Path) -> None:
    """The staff panel's "Rouvrir la mise en service": a request only root's unit acts on."""
    write_private(data_dir / INBOX_DIR / REOPEN_FILE, "reopen\n")


def take_reopen(data_dir: Path) -> bool:
    """Whether the staff panel asked to reopen the setup (the request is consumed)."""
    try:
        (data_dir / INBOX_DIR / REOPEN_FILE).unlink()
    except FileNotFoundError:
        return False
    return True


def read_request(data_dir: Path) -> SetupRequest | None:
    """The request waiting in the inbox; ``None`` when none. Raises :class:`SetupInvalid`."""
    try:
        text = read_regular(request_path(data_dir), USB_FILE_MAX_BYTES)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise SetupInvalid([SetupProblem(key="(borne)", message=NO_ANSWER_WORDS)]) from None
    try:
        return SetupRequest.model_validate_json(text)
    except ValidationError as error:
        raise SetupInvalid(_problems(error)) from None


class TooLarge(ValueError):
    pass


def read_regular(path: Path, limit: int) -> str:
    """A regular file's UTF-8 text, opened without following a link nor waiting on a FIFO.
    Raises FileNotFoundError, OSError (a link: ELOOP), :class:`TooLarge`, UnicodeDecodeError or
    ValueError (not a regular file)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as source:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path.name} is not a regular file")
        data = source.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{path.name} is larger than {limit} bytes")
    return data.decode("utf-8")


def write_result(data_dir: Path, result: SetupResult) -> None:
    write_private(data_dir / SETUP_DIR / RESULT_FILE, result.model_dump_json(), 0o644)


def read_result(data_dir: Path) -> SetupResult | None:
    try:
        return SetupResult.model_validate_json((data_dir / SETUP_DIR / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValidationError):
        return None


# -- the Wi-Fi, as iwd keeps it ----------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkFile:
    name: str  # the file's name in iwd's directory
    text: str


def iwd_network_file(wifi: WifiAnswers) -> NetworkFile:
    """iwd's file for the network (iwd.network(5)): ``<ssid>.psk`` or ``<ssid>.open``, the name
    hex-encoded as ``=<hex>`` unless the SSID is only letters, digits, ``-`` and ``_``."""
    plain = re.fullmatch(r"[A-Za-z0-9_-]+", wifi.ssid) is not None
    stem = wifi.ssid if plain else "=" + wifi.ssid.encode("utf-8").hex()
    lines = []
    if wifi.passphrase:
        key = "PreSharedKey" if len(wifi.passphrase) == 64 else "Passphrase"
        lines += ["[Security]", f"{key}={wifi.passphrase}", ""]
    lines += ["[Settings]", "AutoConnect=true"]
    if wifi.hidden:
        lines.append("Hidden=true")
    return NetworkFile(f"{stem}.{'psk' if wifi.passphrase else 'open'}", "\n".join(lines) + "\n")


# -- what the setup page shows ---------------------------------------------------------------------

FIELDS = {
    "centre.name": "centre",
    "wifi.ssid": "ssid",
    "wifi.passphrase": "passphrase",
    "federation.server": "server",
    "federation.code": "code",
}
"""An answer's key → the setup page's field that holds it."""


@dataclass(frozen=True)
class SetupView:
    """The setup page's state: ``stage`` "form", "applying" or "done"; ``values`` what was typed
    (never the passphrase nor the code: they stay in the shell's memory); ``problems`` of the
    last try; ``usb`` the problems of a USB key's file; ``printer`` the printer check's words."""

    stage: Literal["form", "applying", "done"] = "form"
    values: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[SetupProblem, ...] = ()
    usb: tuple[SetupProblem, ...] = ()
    printer: str = ""
    remembered: frozenset[str] = frozenset()  # secret fields typed before, kept if left empty

    def field_problems(self) -> dict[str, str]:
        return {FIELDS[p.key]: p.message for p in self.problems if p.key in FIELDS}

    def other_problems(self) -> list[SetupProblem]:
        return [p for p in self.problems if p.key not in FIELDS]


class SetupBoard:
    """The setup page's view, kept by the shell and read by the page's handler."""

    def __init__(self) -> None:
        self.view = SetupView()
