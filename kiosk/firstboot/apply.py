"""Applying the technician's answers, as root: Wi-Fi, enrolment, local settings, then the lock.

Each step is done only once every answer has been checked; the setup is *done* (``done``
written, the page and the USB key never asked again) only when every step succeeded. A failed
enrolment leaves the Wi-Fi's file (it is what the next try needs) but no local settings and no
lock, and the result says what to correct.
"""

from __future__ import annotations

import logging
import os
import pwd
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from kiosk.agent.sync_jobs import SYNC_FILE, TOKEN_FILE, Enrolled, save_enrolment
from kiosk.agent.version import software_version
from kiosk.core import setup
from kiosk.core.setup import FederationAnswers, SetupAnswers, SetupInvalid, SetupProblem, SetupResult, WifiAnswers
from kiosk.i18n import N_
from sync.client import EnrolmentRefused, SyncClient, SyncError

log = logging.getLogger(__name__)

IWD_DIR = Path("/var/lib/kiosk/iwd")  # iwd's /var/lib/iwd, bound there by iwd.service.d/kiosk.conf
AGENT_USER = "kiosk-agent"

Enrol = Callable[[FederationAnswers], Enrolled]
Source = Literal["screen", "usb"]


@dataclass
class Applier:
    """Where the answers go. ``enrol``: the federation's enrolment (default: the real one, tried
    while the network comes up); ``agent_user``: who owns the token (``None``: leave it)."""

    data_dir: Path
    iwd_dir: Path = IWD_DIR
    agent_user: str | None = AGENT_USER
    enrol: Enrol | None = None
    tries: int = 6
    wait_s: float = 5.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def apply(self, answers: SetupAnswers, request_id: str, src: Source) -> SetupResult:
        if setup.is_done(self.data_dir):
            problem = SetupProblem(key="(borne)", message=N_("La mise en service est déjà faite."))
            return SetupResult(request_id=request_id, source=src, ok=False, problems=(problem,))
        if answers.wifi is not None:
            self._write_wifi(answers.wifi)
        centre = ""
        if answers.federation is not None:
            try:
                centre = self._enrol(answers.federation)
            except SyncError as error:
                log.warning("setup.enrolment_failed", extra={"error": str(error)})
                refused = isinstance(error, EnrolmentRefused)
                problem = SetupProblem(
                    key="federation.code" if refused else "federation.server", message=_enrol_words(refused)
                )
                return SetupResult(request_id=request_id, source=src, ok=False, problems=(problem,))
        setup.write_private(setup.local_settings_path(self.data_dir), setup.local_settings_toml(answers), 0o644)
        setup.write_private(self.data_dir / setup.SETUP_DIR / setup.DONE_FILE, f"{src}\n", 0o644)
        log.info("setup.done", extra={"source": src, "wifi": answers.wifi is not None, "enrolled": bool(centre)})
        return SetupResult(request_id=request_id, source=src, ok=True, enrolled_centre=centre)

    def apply_pending(self) -> SetupResult | None:
        """The shell's request, if one waits: applied, its result written, the request (with its
        passphrase and code) deleted whatever happened."""
        path = setup.request_path(self.data_dir)
        try:
            request = setup.read_request(self.data_dir)
        except SetupInvalid as error:
            path.unlink(missing_ok=True)
            result = SetupResult(request_id="invalid", source="screen", ok=False, problems=tuple(error.problems))
            setup.write_result(self.data_dir, result)
            return result
        if request is None:
            return None
        try:
            result = self.apply(request.answers, request.request_id, "screen")
        except OSError:  # a full or broken data partition: said on the page, not left to time out
            log.exception("setup.apply_failed")
            problem = SetupProblem(key="(borne)", message=setup.NO_ANSWER_WORDS)
            result = SetupResult(request_id=request.request_id, source="screen", ok=False, problems=(problem,))
        finally:
            path.unlink(missing_ok=True)
        setup.write_result(self.data_dir, result)
        return result

    # -- steps --------------------------------------------------------------------------------
    def _write_wifi(self, wifi: WifiAnswers) -> None:
        network = setup.iwd_network_file(wifi)
        self.iwd_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        setup.write_private(self.iwd_dir / network.name, network.text, 0o600)  # iwd sees it at once
        log.info("setup.wifi_written", extra={"file": network.name})

    def _enrol(self, federation: FederationAnswers) -> str:
        enrol = self.enrol or _real_enrolment
        for attempt in range(1, self.tries + 1):
            try:
                enrolled = enrol(federation)
                break
            except EnrolmentRefused:
                raise  # no point trying again
            except SyncError as error:  # unreachable: the Wi-Fi may still be joining
                if attempt == self.tries:
                    raise
                log.info("setup.enrolment_retry", extra={"attempt": attempt, "error": str(error)})
                self.sleep(self.wait_s)
        save_enrolment(self.data_dir, enrolled)
        if self.agent_user is not None:
            user = pwd.getpwnam(self.agent_user)
            for name in (TOKEN_FILE, SYNC_FILE):
                os.chown(self.data_dir / name, user.pw_uid, user.pw_gid, follow_symlinks=False)
        return enrolled.centre_name


def _real_enrolment(federation: FederationAnswers) -> Enrolled:
    """``kiosk enroll``'s path: the one-time code exchanged for the terminal's token."""
    answer = SyncClient(federation.server, None).enrol(federation.code, software_version())
    return Enrolled(federation.server, answer.device_id, answer.token, answer.centre_name)


def _enrol_words(refused: bool) -> str:
    if refused:
        return N_("Le serveur de la fédération a refusé ce code : vérifiez-le, ou demandez-en un nouveau.")
    return N_("Le serveur de la fédération ne répond pas : vérifiez le Wi-Fi ou le câble, et son adresse.")
