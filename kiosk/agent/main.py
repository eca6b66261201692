"""``kiosk agent``: the terminal's background process.

It runs on a schedule (APScheduler): seal closed days every 15 minutes, purge once a night,
checkpoint the database every hour, and — once the terminal is enrolled — send the outbox to
the federation server and a heartbeat every 5 minutes. The staff console will join this process.
"""

from __future__ import annotations

import logging
import signal
import sys
from datetime import datetime
from pathlib import Path

from kiosk.agent.jobs import StatsJobs
from kiosk.agent.sync_jobs import SyncJobs
from kiosk.core.loading import ConfigError, format_problems, load_for_process
from kiosk.core.ports import SystemClock
from kiosk.core.store import DB_NAME, Role, StoreError, open_store

log = logging.getLogger(__name__)

AGGREGATE_EVERY_MIN = 15
CHECKPOINT_EVERY_MIN = 60
SYNC_EVERY_MIN = 5
HEARTBEAT_EVERY_MIN = 5


def software_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("borne")
    except PackageNotFoundError:
        return "0+unknown"


def run_agent(config_dir: Path, once: bool = False, port_override: int | None = None) -> int:
    try:
        result = load_for_process(config_dir)
    except ConfigError as error:
        print(format_problems(error.problems), file=sys.stderr)
        log.critical("config.invalid_no_last_good")
        return 2
    if result.from_last_good:
        log.error("config.invalid_using_last_good", extra={"problems": format_problems(result.problems)})
    settings = result.config.kiosk
    db_path = settings.paths.data_dir / DB_NAME
    try:
        store = open_store(db_path, Role.AGENT, settings.stats.durability)
    except StoreError as error:
        print(f"kiosk agent: {error}", file=sys.stderr)
        log.critical("agent.store_unusable", extra={"error": str(error)})
        return 1
    jobs = StatsJobs(store, settings, SystemClock())
    sync = SyncJobs(store, settings.paths.data_dir, settings.stats.suppression_k)
    version = software_version()
    if once:
        sealed = jobs.aggregate()
        purged = jobs.purge()
        jobs.checkpoint()
        print(f"kiosk agent: {sealed} day(s) sealed, {purged} old row(s) deleted ({db_path}).")
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

    import uvicorn
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    from kiosk.agent.web import create_help_site

    # The jobs share the agent's one SQLite connection: they run one at a time (two jobs opening
    # transactions on one connection at once made the sealing at start fail now and then).
    scheduler = BackgroundScheduler(
        timezone=settings.centre.timezone, executors={"default": ThreadPoolExecutor(max_workers=1)}
    )
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
    server = uvicorn.Server(
        uvicorn.Config(create_help_site(result.config), host="127.0.0.1", port=0, log_level="warning")
    )

    def stop(signum: int, _frame: object) -> None:
        # Until uvicorn takes the signals over, a SIGTERM must still stop the agent cleanly.
        server.should_exit = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
    host, port = settings.agent.listen_host, port_override if port_override is not None else settings.agent.listen_port
    log.info(
        "agent.started",
        extra={"database": str(db_path), "timezone": settings.centre.timezone, "website": f"http://{host}:{port}/aide"},
    )
    try:
        # The help website in the foreground; uvicorn stops on SIGTERM/SIGINT.
        server.config.host, server.config.port = host, port
        server.run()
    finally:
        log.info("agent.stopping")
        scheduler.shutdown(wait=True)
    store.close()
    return 0
