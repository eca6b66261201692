"""``kiosk`` command line: shell, agent, config check, help check, stats report, enrolment, first-boot setup,
accounts, staff PIN."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.core.logs import configure_logging
from kiosk.core.places import default_config_dir

if TYPE_CHECKING:
    from kiosk.core.loading import Problem
    from kiosk.core.settings import KioskSettings


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError as error:
        raise argparse.ArgumentTypeError("size must look like 1920x1080") from error
    return width, height


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Borne: self-service terminal for social centres.")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    shell = sub.add_parser("shell", help="run the resident's screen (the kiosk browser)")
    shell.add_argument("--config-dir", type=Path, default=None, help=f"default: {default_config_dir()}")
    shell.add_argument("--windowed", action="store_true", help="a window instead of full screen (development)")
    shell.add_argument("--size", type=_size, default=None, help="window size, e.g. 1280x800")
    shell.add_argument("--screenshot", type=Path, default=None, help="where `kill -USR1` saves a PNG of the screen")

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="report every problem of kiosk.toml and tiles.toml")
    check.add_argument("path", nargs="?", type=Path, default=None, help="a config directory, kiosk.toml or tiles.toml")

    help_tools = sub.add_parser("help", help="help centre tools")
    help_sub = help_tools.add_subparsers(dest="help_command", required=True)
    help_check = help_sub.add_parser("check", help="report what to fix in the guides, glossary and synonyms")
    help_check.add_argument(
        "--help-dir", type=Path, default=None, help=f"the help content (default: {default_config_dir() / 'help'})"
    )

    agent = sub.add_parser("agent", help="run the agent: scheduled jobs, the help website and the staff console")
    agent.add_argument("--config-dir", type=Path, default=None, help=f"default: {default_config_dir()}")
    agent.add_argument("--once", action="store_true", help="run every job once now and exit")
    agent.add_argument(
        "--port", type=int, default=None, help="port of the help website (default: [agent] in kiosk.toml)"
    )
    agent.add_argument(
        "--console-port", type=int, default=None, help="port of the staff console (default: [console] in kiosk.toml)"
    )

    console_user = sub.add_parser(
        "console-user", help="create a staff console account, or set its role and a new password"
    )
    console_user.add_argument("name", help="the account's name (letters, digits, . _ -)")
    console_user.add_argument("--role", choices=("staff", "admin"), required=True)
    console_user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input (no prompt)"
    )
    console_user.add_argument("--config-dir", type=Path, default=None, help=f"default: {default_config_dir()}")

    staff_pin = sub.add_parser("staff-pin", help="set the PIN of the staff panel on the terminal (4 to 8 digits)")
    staff_pin.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input (no prompt)")
    staff_pin.add_argument(
        "--group", default=None, help="the group that may read the PIN's hash (default: kiosk, when it exists)"
    )
    staff_pin.add_argument("--config-dir", type=Path, default=None, help=f"default: {default_config_dir()}")

    enroll = sub.add_parser("enroll", help="join the federation server with a one-time enrolment code")
    enroll.add_argument("--server", required=True, help="e.g. https://stats.federation.example")
    enroll.add_argument("--code", required=True, help="the code given by the federation (XXXX-XXXX-XXXX-XXXX)")
    enroll.add_argument("--config-dir", type=Path, default=None, help=f"default: {default_config_dir()}")

    from kiosk.firstboot.command import add_parser as add_setup

    add_setup(sub, f"default: {default_config_dir()}")

    stats = sub.add_parser("stats", help="usage statistics of this terminal")
    stats_sub = stats.add_subparsers(dest="stats_command", required=True)
    report = stats_sub.add_parser("report", help="figures of a fixed period, with small cells hidden")
    report.add_argument(
        "--period", default=None, help="2026-W05, 2026-03, 2026-Q1 or 2026 (default: the last closed month)"
    )
    report.add_argument("--from", dest="first", default=None, help="first day of a period, YYYY-MM-DD")
    report.add_argument("--to", dest="last", default=None, help="its last day, YYYY-MM-DD")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table")
    report.add_argument("--config-dir", type=Path, default=None, help=f"default: {default_config_dir()}")
    return parser


def _config_dir(path: Path | None) -> Path:

    if path is None:
        return default_config_dir()
    return path.parent if path.suffix == ".toml" else path


def _settings(config_dir: Path) -> KioskSettings | None:
    """The settings a command runs on; None (the problems printed) when there are none."""
    from kiosk.core.loading import ConfigError, format_problems, load_for_process

    try:
        return load_for_process(config_dir).config.kiosk
    except ConfigError as error:
        print(format_problems(error.problems), file=sys.stderr)
        return None


def cmd_config_check(path: Path | None) -> int:
    from kiosk.core.loading import check_config, format_problems

    directory = _config_dir(path)
    kiosk_path, tiles_path = directory / "kiosk.toml", directory / "tiles.toml"
    problems = (
        check_config(kiosk_path, tiles_path)
        or _device_problems(kiosk_path, tiles_path)
        or _local_problems(kiosk_path, tiles_path)
    )
    if problems:
        print(format_problems(problems))
        return 1
    print(f"{kiosk_path} and {tiles_path}: no problem found.")
    return 0


def _device_problems(kiosk_path: Path, tiles_path: Path) -> list[Problem]:
    """What only a device library knows: the key names of [devices.buttons] (python-evdev's)."""
    from kiosk.core.loading import Problem, load_config

    keys = load_config(kiosk_path, tiles_path).kiosk.devices.buttons.keys
    if not keys:
        return []
    try:
        from kiosk.devices.evdev import ButtonConfigError, check_keys
    except ImportError as error:
        print(f"note: python-evdev cannot be imported ({error}): key names not checked", file=sys.stderr)
        return []
    try:
        check_keys(keys)
    except ButtonConfigError as error:
        fix = "use the key's name as `evtest` prints it when the button is pressed, e.g. KEY_F13"
        return [Problem(kiosk_path, "devices.buttons.keys", str(error), fix)]
    return []


def _local_problems(kiosk_path: Path, tiles_path: Path) -> list[Problem]:
    """The first-boot setup's local.toml (under data_dir), merged over kiosk.toml at start."""
    from kiosk.core.loading import load_config, with_env_overrides, with_local_settings

    config = load_config(kiosk_path, tiles_path)
    return with_local_settings(config, with_env_overrides(config.kiosk).paths.data_dir)[1]


def _tile_ids(tiles_path: Path) -> set[str] | None:
    """The ids of ``tiles.toml`` as written (even if the file has other problems); None if unreadable."""
    import tomllib

    try:
        data = tomllib.loads(tiles_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    tiles = data.get("tiles", [])
    return (
        {str(tile["id"]) for tile in tiles if isinstance(tile, dict) and "id" in tile}
        if isinstance(tiles, list)
        else None
    )


def cmd_help_check(help_dir: Path | None) -> int:
    """What an editor must fix after editing a guide; 1 if anything, else 0 and a summary."""
    from kiosk.core.help import HelpCentre

    directory = help_dir if help_dir is not None else default_config_dir() / "help"
    if not directory.is_dir():
        print(f"{directory}: no such directory; give the help content's directory with --help-dir")
        return 1
    centre = HelpCentre.load(directory, strict=False)
    tiles_path = directory.parent / "tiles.toml"
    tile_ids = _tile_ids(tiles_path)
    if tile_ids is None:
        print(f"note: {tiles_path} cannot be read, so the guides' tiles are not checked", file=sys.stderr)
    problems = centre.check(tile_ids)
    for problem in problems:
        where = f"{directory / problem.path}:{problem.line}" if problem.line else f"{directory / problem.path}"
        print(f"{where}: {problem.message}")
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found.")
        return 1
    translated = sum(len(guides) for guides in centre.translations.values())
    print(
        f"{directory}: {len(centre.articles)} guides, {translated} translations, {len(centre.glossary)} glossary"
        f" terms, {len(centre.synonyms.words)} synonyms: no problem found."
    )
    return 0


def cmd_stats_report(config_dir: Path, period_text: str | None, first: str | None, last: str | None, fmt: str) -> int:
    from kiosk.core.stats.report import build_report, last_closed_month, parse_period, render
    from kiosk.core.store import DB_NAME, Role, StoreError, open_store

    settings = _settings(config_dir)
    if settings is None:
        return 2
    try:
        period = parse_period(period_text, first, last)
    except ValueError as error:
        print(f"kiosk stats report: {error}", file=sys.stderr)
        return 2
    db_path = settings.paths.data_dir / DB_NAME
    if not db_path.is_file():
        print(
            f"No statistics yet: {db_path} does not exist (the shell creates it with its first session).",
            file=sys.stderr,
        )
        return 1
    try:
        store = open_store(db_path, Role.AGENT)
    except StoreError as error:
        print(f"kiosk stats report: {error}", file=sys.stderr)
        return 1
    try:
        period = period or last_closed_month(store)
        if period is None:
            print("kiosk stats report: no day is closed yet", file=sys.stderr)
            return 1
        report = build_report(store, settings, period)
    except ValueError as error:
        print(f"kiosk stats report: {error}", file=sys.stderr)
        return 2
    finally:
        store.close()
    sys.stdout.write(render(report, fmt))
    return 0


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("Password (10 characters or more): ")
    if getpass.getpass("The same password again: ") != first:
        print("kiosk console-user: the two passwords differ; nothing changed.", file=sys.stderr)
        return None
    return first


def cmd_console_user(config_dir: Path, name: str, role: str, from_stdin: bool) -> int:
    from datetime import UTC, datetime

    from kiosk.agent.console.accounts import AccountError, Accounts, StaffRole, check_name
    from kiosk.agent.console.certificate import CERT_NAME, own_directory
    from kiosk.core.store import DB_NAME, Role, StoreError, open_store

    settings = _settings(config_dir)
    if settings is None:
        return 2
    try:
        name = check_name(name)
    except AccountError as error:
        print(f"kiosk console-user: {error}", file=sys.stderr)
        return 2
    password = _read_password(from_stdin)
    if password is None:
        return 2
    try:
        store = open_store(settings.paths.data_dir / DB_NAME, Role.AGENT)
    except StoreError as error:
        print(f"kiosk console-user: {error}", file=sys.stderr)
        return 1
    try:
        accounts = Accounts(store)
        created = accounts.set(name, StaffRole(role), password, datetime.now(UTC))
        accounts.audit("(command line)", "account_set", f"{name} ({role})", datetime.now(UTC))
    except AccountError as error:
        print(f"kiosk console-user: {error}", file=sys.stderr)
        return 2
    finally:
        store.close()
    console = settings.console
    print(
        f"{'Created' if created else 'Updated'} the {role} account {name!r}"
        f"{'' if created else ' (its open logins are closed)'}. "
        f"The console: https://{console.listen_host}:{console.listen_port}/"
    )
    cert = console.cert_file or own_directory(settings.paths.data_dir) / CERT_NAME
    if cert.is_file():
        from cryptography import x509

        from kiosk.agent.console.certificate import fingerprint

        print(
            f"Its certificate's SHA-256 fingerprint: {fingerprint(x509.load_pem_x509_certificate(cert.read_bytes()))}"
        )
    return 0


def cmd_staff_pin(config_dir: Path, from_stdin: bool, group: str | None) -> int:
    """Write the argon2id hash of a new staff PIN beside kiosk.toml (0640, owner and ``group``)."""
    import getpass
    import grp

    from kiosk.core.staff import PinError, StaffPin, check_pin, write_pin

    if from_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass("Staff PIN (4 to 8 digits): ")
        if getpass.getpass("The same PIN again: ") != pin:
            print("kiosk staff-pin: the two PINs differ; nothing changed.", file=sys.stderr)
            return 2
    try:
        staff_pin = StaffPin.make(check_pin(pin))
    except PinError as error:
        print(f"kiosk staff-pin: {error}; nothing changed.", file=sys.stderr)
        return 2
    if group is None:
        try:
            group = grp.getgrnam("kiosk").gr_name  # the shell's user, on the appliance
        except KeyError:
            group = None
    try:
        path = write_pin(config_dir, staff_pin, group)
    except (OSError, LookupError) as error:
        print(f"kiosk staff-pin: cannot write the PIN's hash in {config_dir}: {error}", file=sys.stderr)
        return 1
    print(f"The staff PIN is set (its argon2 hash is in {path}). Staff open the panel with a long press")
    print("on the centre's name in the terminal's top bar; the shell reads the new PIN at the next press.")
    return 0


def cmd_enroll(config_dir: Path, server: str, code: str) -> int:
    from kiosk.agent.sync_jobs import Enrolled, save_enrolment
    from kiosk.agent.version import software_version
    from kiosk.core.setup import server_url
    from sync.client import SyncClient, SyncError

    settings = _settings(config_dir)
    if settings is None:
        return 2
    try:
        server = server_url(server)
    except ValueError as error:
        print(f"kiosk enroll: {error}", file=sys.stderr)
        return 2
    try:
        answer = SyncClient(server, None).enrol(code, software_version())
    except SyncError as error:
        print(f"kiosk enroll: {error}", file=sys.stderr)
        return 1
    save_enrolment(settings.paths.data_dir, Enrolled(server, answer.device_id, answer.token, answer.centre_name))
    print(f"Enrolled as {answer.device_id} for {answer.centre_name}. The agent sends statistics from now on.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "enroll":
        configure_logging(args.log_level)
        return cmd_enroll(_config_dir(args.config_dir), args.server, args.code)
    if args.command == "config":
        return cmd_config_check(args.path)
    if args.command == "setup":
        configure_logging(args.log_level)
        settings = _settings(_config_dir(args.config_dir))
        from kiosk.firstboot.command import run as run_setup

        return 2 if settings is None else run_setup(settings.paths.data_dir, args)
    if args.command == "console-user":
        return cmd_console_user(_config_dir(args.config_dir), args.name, args.role, args.password_stdin)
    if args.command == "staff-pin":
        return cmd_staff_pin(_config_dir(args.config_dir), args.pin_stdin, args.group)
    if args.command == "help":
        return cmd_help_check(args.help_dir)
    if args.command == "stats":
        return cmd_stats_report(_config_dir(args.config_dir), args.period, args.first, args.last, args.format)
    configure_logging(args.log_level)
    if args.command == "shell":
        from kiosk.shell.app import ShellOptions, run_shell

        return run_shell(
            ShellOptions(
                config_dir=_config_dir(args.config_dir),
                windowed=args.windowed,
                size=args.size,
                screenshot_path=args.screenshot,
            )
        )
    if args.command == "agent":
        from kiosk.agent.main import run_agent

        return run_agent(
            _config_dir(args.config_dir), once=args.once, port_override=args.port, console_port=args.console_port
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
