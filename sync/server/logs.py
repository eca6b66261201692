"""The federation server's logs: JSON lines on standard error (journald keeps them), in the shape
the terminal uses (:mod:`sync.vocabulary.logs`)."""

from __future__ import annotations

from typing import Any

from sync.vocabulary.logs import JsonLineFormatter


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` (and uvicorn ``log_config``): every logger, uvicorn's
    too, as JSON lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLineFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler")
        },
    }
