"""The help centre as the pages use it: loaded once, on first use, with problems logged."""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported with the first help page: Markdown and search are not for the home page
    from kiosk.core.help import HelpCentre

log = logging.getLogger(__name__)


class HelpLibrary:
    """The guides and glossary in ``directory`` (``config/help``), read when a help page is first
    shown; without them the help pages say so plainly, and staff find the reason in the log."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @cached_property
    def centre(self) -> HelpCentre | None:
        from kiosk.core.help import HelpCentre, HelpError

        try:
            centre = HelpCentre.load(self.directory)
        except (OSError, HelpError) as error:
            log.error("help.unavailable", extra={"error": str(error)[:300]})
            return None
        problems = centre.problems()
        if problems:
            log.warning("help.content_problems", extra={"problems": problems[:10]})
        return centre

    @property
    def videos(self) -> Path:
        return self.directory / "videos"

    @classmethod
    def of(cls, centre: HelpCentre | None) -> HelpLibrary:
        """A library around an already loaded centre (tests, tools)."""
        library = cls(Path("/nonexistent"))
        library.__dict__["centre"] = centre
        return library
