"""What the console's print page asks of CUPS, and of the staff's uploaded files — all blocking,
run off the event loop by :mod:`.printing_page`.

A job is shown by its number, queue, pages, time and state, never by its title: the kiosk names
its jobs "Borne", but another program on the box could name a job after what a resident typed.
An uploaded file is checked by its content (``%PDF-``, or an image Pillow can open as PNG or JPEG),
an image becomes a one-page PDF, and the file is deleted once submitted (or refused).
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.core.printing import KnownJob

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PAGES = 200
MAX_IMAGE_PIXELS = 60_000_000  # a photo from a phone is ~12 million
STAFF_TITLE = "Borne (accueil)"  # never the file's own name

STATE_WORDS = {
    3: "En attente",
    4: "Retenu pour l'accueil",
    5: "En cours d'impression",
    6: "Arrêté (voir l'imprimante)",
    7: "Annulé",
    8: "Échoué",
    9: "Imprimé",
}
HELD, PENDING = 4, 3
_ATTRIBUTES = [
    "job-id",  # without it CUPS answers no job at all
    "job-state",
    "job-printer-uri",
    "time-at-creation",
    "time-at-completed",
    "job-impressions",
    "copies",
]


class UploadRefused(Exception):
    """A file staff cannot print; the message is French, for them."""


class CupsDown(Exception):
    """CUPS cannot be reached; the message is French."""


@dataclass(frozen=True)
class JobRow:
    number: int
    queue: str
    document: str
    pages: str
    copies: int
    time: str
    state: int
    state_words: str

    @property
    def held(self) -> bool:
        return self.state == HELD

    @property
    def cancellable(self) -> bool:
        return self.state in (HELD, PENDING)


def connect(server: str | None) -> Any:
    """A pycups connection to ``server`` (None: CUPS_SERVER or libcups' default), for this thread."""
    import cups

    from kiosk.devices.cups import parse_server

    host, port = parse_server(server if server is not None else os.environ.get("CUPS_SERVER"))
    try:
        if host is not None:
            cups.setServer(host)
        if port is not None:
            cups.setPort(port)
        return cups.Connection(host=host, port=port) if host and port else cups.Connection()
    except RuntimeError as error:
        raise CupsDown("Le serveur d'impression (CUPS) ne répond pas : vérifiez que la borne est allumée.") from error


def list_jobs(server: str | None, known: dict[str, KnownJob], today: date, zone: ZoneInfo) -> list[JobRow]:
    """Jobs not finished, and those finished today, newest first."""
    import cups

    conn = connect(server)
    try:
        jobs: dict[int, dict[str, Any]] = dict(conn.getJobs(which_jobs="all", requested_attributes=_ATTRIBUTES))
    except (cups.IPPError, cups.HTTPError, RuntimeError) as error:
        raise CupsDown("Le serveur d'impression (CUPS) ne répond pas.") from error
    rows = []
    for number, attributes in jobs.items():
        state = int(attributes.get("job-state", 0))
        created = datetime.fromtimestamp(int(attributes.get("time-at-creation") or 0), zone)
        finished = state >= 7
        if finished:
            completed = datetime.fromtimestamp(int(attributes.get("time-at-completed") or 0), zone)
            if completed.date() != today:
                continue
        mine = known.get(str(number))
        pages = str(mine.pages) if mine else str(attributes.get("job-impressions") or "—")
        copies = mine.copies if mine else int(attributes.get("copies") or 1)
        document = "Impression de l'accueil" if mine and mine.origin == "staff" else "Document de la borne"
        queue = str(attributes.get("job-printer-uri", "")).rpartition("/")[2]
        rows.append(
            JobRow(
                number,
                queue,
                document,
                pages,
                copies,
                created.strftime("%H:%M"),
                state,
                STATE_WORDS.get(state, "Inconnu"),
            )
        )
    return sorted(rows, key=lambda row: (not row.cancellable, -row.number))


def queues(server: str | None) -> tuple[list[str], str | None]:
    """The CUPS queues on the box and the default one."""
    import cups

    conn = connect(server)
    try:
        return sorted(conn.getPrinters()), conn.getDefault()
    except (cups.IPPError, cups.HTTPError, RuntimeError) as error:
        raise CupsDown("Le serveur d'impression (CUPS) ne répond pas.") from error


def as_pdf(data: bytes, directory: Path) -> tuple[Path, int]:
    """The upload as a PDF file in ``directory`` and its page count; ``UploadRefused`` otherwise."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(f"Ce fichier est trop gros (plus de {MAX_UPLOAD_BYTES // 1024 // 1024} Mo).")
    if not data:
        raise UploadRefused("Ce fichier est vide.")
    target = directory / "document.pdf"
    if data.startswith(b"%PDF-"):
        pages = _pdf_pages(data)
        target.write_bytes(data)
        return target, pages
    target.write_bytes(_image_pdf(data))
    return target, 1


def _pdf_pages(data: bytes) -> int:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        pages = len(PdfReader(io.BytesIO(data)).pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as error:
        log.info("console.upload_unreadable_pdf", extra={"error": str(error)[:200]})
        raise UploadRefused("Ce PDF est abîmé ou illisible : enregistrez-le de nouveau et réessayez.") from None
    if not 1 <= pages <= MAX_PAGES:
        raise UploadRefused(f"Ce PDF a {pages} pages : la console en imprime de 1 à {MAX_PAGES}.")
    return pages


def _image_pdf(data: bytes) -> bytes:
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("PNG", "JPEG"):
                raise UploadRefused(_WRONG_TYPE)
            page = image.convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise UploadRefused(_WRONG_TYPE) from None
    out = io.BytesIO()
    page.save(out, format="PDF", resolution=150.0)
    return out.getvalue()


_WRONG_TYPE = "Ce fichier n'est ni un PDF, ni une image PNG ou JPEG : la console ne peut pas l'imprimer."
