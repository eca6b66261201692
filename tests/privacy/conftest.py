"""Prints what the privacy audit covered at the end of the run."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.privacy.test_audit import TOTALS

    if TOTALS["fleets"]:
        terminalreporter.write_line(
            f"LP audit of the federation: {TOTALS['fleets']} fleets, {TOTALS['views']} views,"
            f" {TOTALS['figures']} published figures, {TOTALS['hidden']} hidden cells audited, none pinned"
        )
    if TOTALS["reports"]:
        terminalreporter.write_line(
            f"LP audit of kiosk stats report: {TOTALS['reports']} terminals, {TOTALS['report periods']} periods,"
            f" {TOTALS['report hidden']} hidden cells audited, none pinned"
        )
