"""``kiosk`` command line: shell, agent, config check."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.core.logs import configure_logging


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError as error:
        raise argparse.ArgumentTypeError("size must look like 1920x1080") from error
    return width, height


def build_parser() -> argparse.ArgumentParser:
    from kiosk.core.config import default_config_dir

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

    sub.add_parser("agent", help="run the staff agent (scheduled jobs, staff console)")
    return parser


def _config_dir(path: Path | None) -> Path:
    from kiosk.core.config import default_config_dir

    if path is None:
        return default_config_dir()
    return path.parent if path.suffix == ".toml" else path


def cmd_config_check(path: Path | None) -> int:
    from kiosk.core.config import check_config, format_problems

    directory = _config_dir(path)
    kiosk_path, tiles_path = directory / "kiosk.toml", directory / "tiles.toml"
    problems = check_config(kiosk_path, tiles_path)
    if problems:
        print(format_problems(problems))
        return 1
    print(f"{kiosk_path} and {tiles_path}: no problem found.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "config":
        return cmd_config_check(args.path)
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

        return run_agent()
    return 2


if __name__ == "__main__":
    sys.exit(main())
