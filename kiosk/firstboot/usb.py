"""``borne-setup.toml`` on a USB key, read as root while the setup is not done.

The key is mounted read-only (no devices, no set-uid, no execution) in a private directory, the
file read (no symbolic link followed, at most 64 KiB) and the key unmounted at once; only then
is the file checked, and applied only when all of it is valid: an invalid file changes nothing
and its problems are shown on the setup page.
"""

from __future__ import annotations

import errno
import logging
import subprocess
import tempfile
from pathlib import Path

from kiosk.core import setup
from kiosk.core.setup import SetupInvalid, SetupProblem, SetupResult
from kiosk.firstboot.apply import Applier
from kiosk.i18n import N_

log = logging.getLogger(__name__)

MOUNT_OPTIONS = "ro,nosuid,nodev,noexec,noatime"
LINK_WORDS = N_("Le fichier borne-setup.toml est un lien : copiez le fichier lui-même sur la clé.")


class NoSetupFile(Exception):
    """The key has no ``borne-setup.toml``: not a setup key (nothing is said on screen)."""


def read_setup_file(device: Path) -> str:
    """The file's text from the key's file system ``device`` (a block device, or an image file).
    Raises :class:`NoSetupFile`, or :class:`SetupInvalid` when it cannot be read."""
    with tempfile.TemporaryDirectory(prefix="borne-usb-") as mountpoint:
        mounted = subprocess.run(
            ["mount", "-o", MOUNT_OPTIONS, str(device), mountpoint], capture_output=True, text=True, check=False
        )
        if mounted.returncode != 0:
            log.warning("setup.usb_not_mounted", extra={"device": str(device), "error": mounted.stderr.strip()})
            raise NoSetupFile(str(device))
        try:
            return _read(Path(mountpoint) / setup.USB_FILE)
        finally:
            subprocess.run(["umount", mountpoint], capture_output=True, check=False)


def _read(path: Path) -> str:
    def refused(message: str) -> SetupInvalid:
        return SetupInvalid([SetupProblem(key="(fichier)", message=message)])

    try:
        return setup.read_regular(path, setup.USB_FILE_MAX_BYTES)
    except FileNotFoundError:
        raise NoSetupFile(str(path)) from None
    except setup.TooLarge:
        raise refused(N_("Le fichier borne-setup.toml est trop grand.")) from None
    except UnicodeDecodeError:
        raise refused(N_("Enregistrez borne-setup.toml en UTF-8 (texte brut).")) from None
    except ValueError:  # a FIFO or a device would hang or flood
        raise refused(N_("borne-setup.toml doit être un fichier.")) from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise refused(
                N_("Le fichier borne-setup.toml est un lien : copiez le fichier lui-même sur la clé.")
            ) from None
        raise refused(N_("Le fichier borne-setup.toml ne peut pas être lu sur cette clé.")) from None


def import_from_usb(device: Path, applier: Applier) -> SetupResult | None:
    """The setup from the key in ``device``, once: nothing when the setup is done or the key has
    no setup file; otherwise its result, written for the setup page."""
    if setup.is_done(applier.data_dir):
        log.info("setup.usb_ignored_done")
        return None
    try:
        answers = setup.answers_from_toml(read_setup_file(device))
    except NoSetupFile:
        log.info("setup.usb_no_file", extra={"device": str(device)})
        return None
    except SetupInvalid as error:
        log.warning("setup.usb_invalid", extra={"problems": str(error)})
        result = SetupResult(request_id="usb", source="usb", ok=False, problems=tuple(error.problems))
    else:
        result = applier.apply(answers, "usb", "usb")
    setup.write_result(applier.data_dir, result)
    return result
