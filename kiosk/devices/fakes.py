"""Fakes of the device ports, of the same shape as the real adapters.

Used where no real device exists (a developer's laptop, CI) and until the real adapter
of a port lands. They behave like a device: they can be "unplugged" to test degradation.
"""

from __future__ import annotations

import itertools
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.core.ports import PrinterError

log = logging.getLogger(__name__)


@dataclass
class PrintedJob:
    job_id: str
    title: str
    copies: int
    stored_as: Path | None


@dataclass
class FakePrinter:
    """A printer that keeps each job as a PDF copy in ``outbox`` (or in memory)."""

    outbox: Path | None = None
    online: bool = True
    jobs: list[PrintedJob] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def print_pdf(self, path: Path, title: str, copies: int = 1) -> str:
        if not self.online:
            raise PrinterError("fake printer is offline", code="offline")
        if not path.is_file():
            raise PrinterError(f"no such document: {path.name}", code="no_document")
        job_id = f"fake-{next(self._ids)}"
        stored: Path | None = None
        if self.outbox is not None:
            self.outbox.mkdir(parents=True, exist_ok=True)
            stored = self.outbox / f"{job_id}.pdf"
            shutil.copyfile(path, stored)
        self.jobs.append(PrintedJob(job_id, title, copies, stored))
        log.info("printer.job_queued", extra={"job": job_id, "copies": copies, "adapter": "fake"})
        return job_id
