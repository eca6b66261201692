"""Structured logs: one JSON object per line on stdout, which journald keeps on the appliance.

Residents' data never goes into a log: callers pass hosts (see ``policy.host_for_log``),
never full URLs, and never anything a resident typed.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from sync.vocabulary.logs import JsonLineFormatter

__all__ = ["JsonLineFormatter", "configure_logging"]


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every log record of the process to ``stream`` (stdout by default) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
