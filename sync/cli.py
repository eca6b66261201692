"""``kiosk-federation``: the federation server's command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk-federation", description="Borne federation server.")
    parser.add_argument("command", choices=["serve"], help="serve: run the federation server")
    parser.parse_args(argv)
    print(
        "kiosk-federation: the federation server (ingest, dashboard, export) is not part of this release yet.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
