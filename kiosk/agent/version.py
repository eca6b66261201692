"""The installed software's version (the heartbeat's, the enrolment's, the console's health page)."""

from __future__ import annotations


def software_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("borne")
    except PackageNotFoundError:
        return "0+unknown"
