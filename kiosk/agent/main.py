"""``kiosk agent``: the terminal's background process.

It runs on a schedule (APScheduler): seal closed days every 15 minutes, purge once a night,
checkpoint the database every hour, and — once the terminal is enrolled — send the outbox to
the federation server and a heartbeat every 5 minutes; write its beat for the shell every few
seconds and close the mediator calls' day after midnight. For appointments it seeds the
configuration's resource persons at start, fetches their calendars every
``calendar_refresh_min`` and wipes residents' contacts after ``keep_days`` (at start and nightly).
It sends the appointments' reminders and the long-wait alert (:mod:`kiosk.agent.notify_jobs`) on
a thread and connection of their own.
It serves the help website over HTTP and the staff console (:mod:`kiosk.agent.console`) over
HTTPS, both in this one process.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.agent.appointment_jobs import PURGE_HOUR, PURGE_MINUTE, AppointmentJobs
from kiosk.agent.jobs import StatsJobs
from kiosk.agent.notify_jobs import ALERTS_EVERY_S, REMINDERS_EVERY_MIN, NotifyJobs
from kiosk.agent.print_housekeeping import PrintHousekeeping
from kiosk.agent.sync_jobs import SyncJobs
from kiosk.agent.version import software_version
from kiosk.core.loading import ConfigError, format_problems, load_for_process
from kiosk.core.mediation.calls import CallQueue
from kiosk.core.mediation.presence import AGENT_BEAT_S, beat
from kiosk.core.ports import Clock, SystemClock
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import DB_NAME, Role, Store, StoreError, open_store

log = logging.getLogger(__name__)

AGGREGATE_EVERY_MIN = 15
CHECKPOINT_EVERY_MIN = 60
SYNC_EVERY_MIN = 5
HEARTBEAT_EVERY_MIN = 5


def beat_job(store: Store, clock: Clock) -> None:
    """Tell the shell the agent (and its console) is up; never raises into the scheduler."""
    try:
        beat(store, clock.now())
    except Exception:
        log.exception("agent.beat_failed")


def end_of_day_job(queue: CallQueue) -> None:
    """Close the calls' past days; forget the console's expired logins and year-old audit rows."""
    from kiosk.agent.console.accounts import Accounts

    try:
        queue.end_of_day()
    except Exception:
        log.exception("agent.calls_end_of_day_failed")
    try:
        Accounts(queue.store).purge(queue.clock.now())
    except Exception:
        log.exception("agent.console_purge_failed")


def run_agent(
    config_dir: Path, once: bool = False, port_override: int | None = None, console_port: int | None = None
) -> int:
    try:
        result = load_for_process(config_dir)
    except ConfigError as error:
        print(format_problems(error.problems), file=sys.stderr)
        log.critical("config.invalid_no_last_good")
        return 2
    if result.from_last_good:
        log.error("config.invalid_using_last_good", extra={"problems": format_problems(result.problems)})
    elif result.problems:  # the first-boot setup's local.toml, left out
        log.error("config.local_settings_ignored", extra={"problems": format_problems(result.problems)})
    settings = result.config.kiosk
    db_path = settings.paths.data_dir / DB_NAME
    try:
        store = open_store(db_path, Role.AGENT, settings.stats.durability)
        notify_store = open_store(db_path, Role.AGENT, settings.stats.durability)  # the notifications' own
    except StoreError as error:
        print(f"kiosk agent: {error}", file=sys.stderr)
        log.critical("agent.store_unusable", extra={"error": str(error)})
        return 1
    clock = SystemClock()
    jobs = StatsJobs(store, settings, clock)
    calls = CallQueue(store, settings.mediator, ZoneInfo(settings.centre.timezone), clock, StatsRecorder(store, clock))
    sync = SyncJobs(store, settings.paths.data_dir, settings.stats.suppression_k)
    appointments = AppointmentJobs(store, settings, clock)
    appointments.seed()  # before the console opens: it lists the persons
    notify = NotifyJobs(notify_store, settings, clock)
    version = software_version()
    if once:
        sealed = jobs.aggregate()
        purged = jobs.purge()
        end_of_day_job(calls)
        calendars = appointments.refresh_calendars()
        wiped = appointments.purge()
        reminded, alerted = notify.reminders(), notify.alerts()
        jobs.checkpoint()
        print(f"kiosk agent: {sealed} day(s) sealed, {purged} old row(s) deleted ({db_path}).")
        problems = sum(1 for status in calendars if status.problem is not None)
        print(
            f"kiosk agent: {len(calendars)} calendar(s) fetched ({problems} with a problem), "
            f"contacts of {wiped} past appointment(s) wiped."
        )
        if settings.notifications.reminding or settings.notifications.alerting:
            print(
                f"kiosk agent: {reminded.sent} reminder(s) and {alerted.sent} alert(s) sent, "
                f"{reminded.retry + alerted.retry + reminded.postponed + alerted.postponed} to try again later, "
                f"{reminded.failed + alerted.failed} given up (see the log)."
            )
        else:
            print("kiosk agent: no reminders or alerts are configured ([notifications]), nothing sent.")
        notify_store.close()
        drained = sync.sync()
        if drained is None:
            print("kiosk agent: not enrolled with a federation server (kiosk enroll), nothing sent.")
        else:
            print(
                f"kiosk agent: {drained.sent} batch(es) sent, {drained.already} already there, "
                f"{len(drained.quarantined)} quarantined{', stopped: ' + drained.stopped if drained.stopped else ''}."
            )
            sync.heartbeat(version)
            if sync.catalogue():
                print("kiosk agent: a new national tile catalogue was saved; the shell uses it from its next start.")
        return 0

    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    from kiosk.agent.console.serve import build_console, http_server, https_server, run_servers, stop_on_signals
    from kiosk.agent.web import create_help_site

    try:
        console = build_console(settings, db_path, clock)
    except (ValueError, OSError, StoreError) as error:
        print(f"kiosk agent: the staff console cannot start: {error}", file=sys.stderr)
        log.critical("agent.console_unusable", extra={"error": str(error)})
        store.close()
        notify_store.close()
        return 1

    # One line per run of a job every 5 seconds (the beat) would drown the journal.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.executors.notify").setLevel(logging.WARNING)  # the alerts' check, every 30 s
    # The jobs share the agent's one SQLite connection: they run one at a time (two jobs opening
    # transactions on one connection at once made the sealing at start fail now and then).
    # The notifications have their own thread (and connection): a mail server that hangs for its
    # timeout must not hold up the beat the shell reads.
    executors = {"default": ThreadPoolExecutor(max_workers=1), "notify": ThreadPoolExecutor(max_workers=1)}
    scheduler = BackgroundScheduler(timezone=settings.centre.timezone, executors=executors)
    now = datetime.now(scheduler.timezone)
    common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
    scheduler.add_job(
        jobs.aggregate, "interval", minutes=AGGREGATE_EVERY_MIN, jitter=60, next_run_time=now, id="aggregate", **common
    )
    scheduler.add_job(jobs.purge, "cron", hour=3, minute=30, jitter=600, id="purge", **common)
    scheduler.add_job(jobs.purge, "date", run_date=now, id="purge-at-start", **common)
    scheduler.add_job(jobs.checkpoint, "interval", minutes=CHECKPOINT_EVERY_MIN, id="checkpoint", **common)
    scheduler.add_job(sync.sync, "interval", minutes=SYNC_EVERY_MIN, jitter=90, next_run_time=now, id="sync", **common)
    scheduler.add_job(sync.catalogue, "interval", hours=1, jitter=300, next_run_time=now, id="catalogue", **common)
    scheduler.add_job(
        sync.heartbeat,
        "interval",
        args=[version],
        minutes=HEARTBEAT_EVERY_MIN,
        jitter=30,
        next_run_time=now,
        id="heartbeat",
        **common,
    )
    # The shell reads the beat before offering a mediator call: at start, then every few seconds.
    scheduler.add_job(
        beat_job, "interval", args=[store, clock], seconds=AGENT_BEAT_S, next_run_time=now, id="beat", **common
    )
    scheduler.add_job(end_of_day_job, "cron", args=[calls], hour=0, minute=5, id="calls-end-of-day", **common)
    prints = PrintHousekeeping(store, settings, clock)  # held jobs nobody released, purged
    scheduler.add_job(prints.run, "interval", hours=1, jitter=60, next_run_time=now, id="print-housekeeping", **common)
    scheduler.add_job(end_of_day_job, "date", args=[calls], run_date=now, id="calls-end-of-day-at-start", **common)
    scheduler.add_job(
        appointments.refresh_calendars,
        "interval",
        minutes=settings.appointments.calendar_refresh_min,
        jitter=60,
        next_run_time=now,
        id="calendars",
        **common,
    )
    scheduler.add_job(
        appointments.purge, "cron", hour=PURGE_HOUR, minute=PURGE_MINUTE, id="appointments-purge", **common
    )
    scheduler.add_job(appointments.purge, "date", run_date=now, id="appointments-purge-at-start", **common)
    scheduler.add_job(
        notify.reminders, "interval", minutes=REMINDERS_EVERY_MIN, next_run_time=now, id="reminders",
        executor="notify", **common,
    )  # fmt: skip
    scheduler.add_job(
        notify.alerts, "interval", seconds=ALERTS_EVERY_S, next_run_time=now, id="alerts", executor="notify", **common
    )
    host, port = settings.agent.listen_host, port_override if port_override is not None else settings.agent.listen_port
    console_host = settings.console.listen_host
    console_port = console_port if console_port is not None else settings.console.listen_port
    servers = [
        http_server(create_help_site(result.config), host, port),
        https_server(console.app, console_host, console_port, console.certificate),
    ]
    # From here a SIGTERM/SIGINT stops both servers (and the live streams) together, even one that
    # comes before they have started.
    with stop_on_signals(servers, on_stop=console.context.stopping.set):
        scheduler.start()
        log.info(
            "agent.started",
            extra={
                "database": str(db_path),
                "timezone": settings.centre.timezone,
                "website": f"http://{host}:{port}/aide",
                "console": f"https://{console_host}:{console_port}/",
                "console_certificate": str(console.certificate.cert_file),
                "console_fingerprint_sha256": console.certificate.fingerprint,
            },
        )
        try:
            run_servers(servers)  # in the foreground until a signal
        finally:
            log.info("agent.stopping")
            scheduler.shutdown(wait=True)
            console.close()
    store.close()
    notify_store.close()
    return 0
