"""What the devices page checks: printers (CUPS), the ticket printer, the shell's
beat, the disk, the sync with the federation and the agent itself — each as a :class:`Check`.

A probe may block (a network ticket printer, a hung cupsd): :class:`Prober` runs each one on a
daemon thread of its own and waits at most :data:`PROBE_TIMEOUT_S`; a probe still running from
an earlier page is not started again (a hung device costs one thread, not one per page view).
Nothing here raises into the page: a failure is a check in the "error" state, in French.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from kiosk.agent.sync_jobs import load_enrolment
from kiosk.core.device_health import FAILURE_WORDS, WARNING_WORDS
from kiosk.core.devices import DeviceFailure, DeviceState, DeviceStatus
from kiosk.core.mediation.presence import SHELL_SILENT_S, shell_seen
from kiosk.core.settings import DevicesSettings
from kiosk.core.store import Store

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 4.0
DISK_LOW_FRACTION = 0.10
DISK_LOW_BYTES = 1024**3

Level = Literal["ok", "warning", "error", "absent"]
LEVEL_WORDS: dict[Level, str] = {"ok": "En ordre", "warning": "À surveiller", "error": "En panne", "absent": "Absent"}


@dataclass(frozen=True)
class Check:
    """One line of the devices page: what, how it is, and a few facts."""

    name: str
    level: Level
    summary: str
    facts: tuple[tuple[str, str], ...] = ()

    @property
    def level_words(self) -> str:
        return LEVEL_WORDS[self.level]


def status_check(name: str, status: DeviceStatus, facts: tuple[tuple[str, str], ...] = ()) -> Check:
    """A device port's status in French (the device's own words as a fact, for the technician)."""
    level, _ = status.health
    words = [FAILURE_WORDS[r] for r in sorted(status.reasons, key=list(DeviceFailure).index)]
    words += [WARNING_WORDS[w] for w in sorted(status.warnings)]
    if status.state is DeviceState.ABSENT:
        summary = "Aucun appareil" + (
            f" ({words[0]})" if words and words[0] != FAILURE_WORDS[DeviceFailure.ABSENT] else ""
        )
    elif level == "error":
        summary = "En panne : " + ", ".join(words or [FAILURE_WORDS[DeviceFailure.OFFLINE]])
    elif status.state is DeviceState.BUSY:
        summary = "En cours d'impression" + (f" ({', '.join(words)})" if words else "")
    else:
        summary = "Prêt" + (f" ({', '.join(words)})" if words else "")
    if status.message:
        facts = (*facts, ("Message de l'appareil", status.message[:300]))
    return Check(name, level, summary, facts)


# -- probes (each runs on a thread of its own) ----------------------------------------------------


def cups_checks(devices: DevicesSettings, server: str | None) -> list[Check]:
    """Every CUPS queue: state, jobs waiting, the printer's last message; the kiosk's one first."""
    if devices.printer == "none":
        return [Check("Imprimante", "absent", 'Pas d\'imprimante sur cette borne (printer = "none").')]
    try:
        import cups

        from kiosk.devices.cups import parse_server, printer_status
    except ImportError as error:
        return [Check("Imprimante", "error", "Le module d'impression (pycups) manque : réinstallez la borne.",
                      (("Détail", str(error)),))]  # fmt: skip
    host, port = parse_server(server if server is not None else os.environ.get("CUPS_SERVER"))
    try:
        if host is not None:
            cups.setServer(host)  # for this thread only
        if port is not None:
            cups.setPort(port)
        conn = cups.Connection(host=host, port=port) if host and port else cups.Connection()
        printers: dict[str, dict[str, Any]] = dict(conn.getPrinters())
        default = conn.getDefault()
        # "job-id" must be asked for too: without it CUPS answers no job at all.
        jobs = dict(conn.getJobs(which_jobs="not-completed", requested_attributes=["job-id", "job-printer-uri"]))
    except (RuntimeError, cups.IPPError, cups.HTTPError) as error:
        where = f"{host}:{port}" if port else (host or "serveur local")
        return [Check("Imprimante", "error", "Serveur d'impression (CUPS) injoignable.",
                      (("Serveur", where), ("Détail", str(error)[:300])))]  # fmt: skip
    if not printers:
        return [Check("Imprimante", "absent", "Aucune imprimante installée dans CUPS.")]
    mine = devices.printer_queue or default
    waiting: dict[str, int] = {}
    for attributes in jobs.values():
        queue = str(attributes.get("job-printer-uri", "")).rpartition("/")[2]
        waiting[queue] = waiting.get(queue, 0) + 1
    checks = []
    for queue in sorted(printers, key=lambda q: (q != mine, q)):
        status = printer_status(queue, printers[queue])
        facts = [("File CUPS", queue), ("Travaux en attente", str(waiting.get(queue, 0)))]
        if queue == mine:
            facts.append(("Rôle", "celle de la borne"))
        info = str(printers[queue].get("printer-info") or "")
        name = f"Imprimante {info}" if info else f"Imprimante {queue}"
        checks.append(status_check(name, status, tuple(facts)))
    if devices.printer_queue and devices.printer_queue not in printers:
        checks.insert(0, Check("Imprimante", "error", f"La file « {devices.printer_queue} » n'existe pas dans CUPS."))
    elif mine is None:
        checks.insert(
            0, Check("Imprimante", "error", "Aucune imprimante par défaut dans CUPS : la borne n'imprime pas.")
        )
    return checks


def device_check(name: str, status: Callable[[], DeviceStatus]) -> list[Check]:
    return [status_check(name, status())]


def shell_check(store: Store, now: datetime) -> Check:
    seen = shell_seen(store)
    if seen is None:
        return Check("Écran de la borne", "error", "Jamais démarré sur cette base de données.")
    ago = now - seen
    facts = (("Dernier signe de vie", _ago(ago)),)
    if ago > timedelta(seconds=SHELL_SILENT_S):
        return Check("Écran de la borne", "error", "Ne répond plus : redémarrez la borne si l'écran est figé.", facts)
    return Check("Écran de la borne", "ok", "En marche.", facts)


def disk_check(data_dir: Path) -> Check:
    try:
        usage = shutil.disk_usage(data_dir)
    except OSError as error:
        return Check("Espace disque", "error", "Le dossier des données est illisible.", (("Détail", str(error)),))
    low = usage.free < DISK_LOW_BYTES or usage.free < usage.total * DISK_LOW_FRACTION
    facts = (
        ("Libre", f"{_gib(usage.free)} sur {_gib(usage.total)} ({usage.free * 100 // max(usage.total, 1)} %)"),
        ("Dossier", str(data_dir)),
    )
    if low:
        return Check("Espace disque", "warning", "Presque plein : prévenez la personne qui entretient la borne.", facts)
    return Check("Espace disque", "ok", "Suffisant.", facts)


def sync_check(store: Store, data_dir: Path, zone: Any) -> Check:
    enrolled = load_enrolment(data_dir)
    counts = dict(store.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
    last = store.conn.execute("SELECT MAX(sent_at) FROM outbox WHERE state = 'sent'").fetchone()[0]
    error = store.conn.execute(
        "SELECT last_error FROM outbox WHERE state = 'pending' AND last_error IS NOT NULL ORDER BY day LIMIT 1"
    ).fetchone()
    facts = [
        ("Dernier envoi réussi", _when(last, zone) if last else "jamais"),
        ("Lots en attente", str(counts.get("pending", 0))),
    ]
    if counts.get("quarantined"):
        facts.append(("Lots refusés par le serveur", str(counts["quarantined"])))
    if error is not None:
        facts.append(("Dernière erreur", str(error[0])[:300]))
    if enrolled is None:
        return Check("Envoi des statistiques", "absent", "Borne non inscrite auprès de la fédération.", tuple(facts))
    facts.insert(0, ("Serveur", enrolled.server))
    if counts.get("quarantined"):
        return Check("Envoi des statistiques", "error", "Des lots ont été refusés par le serveur.", tuple(facts))
    if counts.get("pending", 0) > 2:
        return Check("Envoi des statistiques", "warning", "Des lots attendent d'être envoyés.", tuple(facts))
    return Check("Envoi des statistiques", "ok", "À jour.", tuple(facts))


def agent_check(started: float, version: str) -> Check:
    facts = (("En marche depuis", _ago(timedelta(seconds=time.monotonic() - started))), ("Version", version))
    return Check("Service de la console (agent)", "ok", "En marche.", facts)


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"
    return f"{seconds // 86400} jours"


def _gib(size: int) -> str:
    return f"{size / 1024**3:.1f} Go".replace(".", ",")


def _when(text: str, zone: Any) -> str:
    try:
        return datetime.fromisoformat(text).astimezone(zone).strftime("%d/%m/%Y à %H:%M")
    except ValueError:
        return text


# -- running probes off the event loop --------------------------------------------------------


@dataclass
class Prober:
    """Runs blocking probes on daemon threads, one at a time per name, each bounded in time."""

    timeout_s: float = PROBE_TIMEOUT_S
    _running: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def run(self, name: str, probe: Callable[[], list[Check]], title: str) -> list[Check]:
        with self._lock:
            if name in self._running:
                return [Check(title, "error", "Ne répond pas (la vérification précédente n'est pas finie).")]
            self._running.add(name)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Check]] = loop.create_future()

        def settle(result: list[Check] | None, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result or [])

        def work() -> None:
            result: list[Check] | None = None
            failure: BaseException | None = None
            try:
                result = probe()
            except Exception as error:  # a probe's bug must not take the page down
                log.exception("console.probe_failed", extra={"probe": name})
                failure = error
            finally:
                with self._lock:
                    self._running.discard(name)
            # The loop may be gone (the agent stopped while a device was slow): nobody waits then.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, result, failure)

        threading.Thread(target=work, name=f"console-probe-{name}", daemon=True).start()
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout_s)
        except TimeoutError:
            log.warning("console.probe_timed_out", extra={"probe": name, "timeout_s": self.timeout_s})
            return [Check(title, "error", f"Ne répond pas (rien après {self.timeout_s:g} s).")]
        except Exception as error:
            return [Check(title, "error", "La vérification a échoué.", (("Détail", str(error)[:300]),))]
