"""The staff panel's test page for the printer: one A4 page of text, written as a PDF by hand
(the kiosk has no PDF library, and a test page must not depend on much)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.core.devices import DeviceFault, Printer
from kiosk.core.mediation.wording import date_text, hour_text
from kiosk.i18n import N_


def trial_page_lines(centre_name: str, now: datetime, zone: ZoneInfo) -> list[str]:
    local = now.astimezone(zone)
    return [
        "Borne : page d'essai de l'imprimante",
        centre_name,
        f"{date_text(local.date())} à {hour_text(local)}",
        "",
        "Si vous lisez cette page, l'imprimante de la borne fonctionne.",
        "Accents : à â ç é è ê ë î ï ô ù û ü ÿ œ æ À Ç É È Ê Ô Œ € « »",
    ]


log = logging.getLogger(__name__)

TRIAL_SENT = N_("Page d'essai envoyée à l'imprimante.")


def print_trial_page(printer: Printer | None, centre_name: str, now: datetime, zone: ZoneInfo) -> str:
    """The test page sent to ``printer`` (blocking: call it off the GUI thread); the outcome's
    words for staff or the technician, as a message id."""
    if printer is None:
        return N_("Pas d'imprimante sur cette borne.")
    pdf = text_pdf(trial_page_lines(centre_name, now, zone))
    with tempfile.TemporaryDirectory(prefix="borne-trial-") as directory:
        path = Path(directory) / "page-essai.pdf"
        path.write_bytes(pdf)
        try:
            printer.submit(path, title="Borne - page d'essai")
        except DeviceFault as error:
            return not_printed(error)
    return TRIAL_SENT


def not_printed(error: DeviceFault) -> str:
    log.warning("staff.print_failed", extra={"reason": error.reason.value, "error": str(error)})
    return N_("Rien n'est sorti : vérifiez l'appareil (papier, câble, capot).")


def text_pdf(lines: Sequence[str], size: int = 14) -> bytes:
    """A PDF 1.4 of one A4 page with ``lines`` in Helvetica (WinAnsi: French letters and €)."""
    step = round(size * 1.6)
    content = "".join(
        f"BT /F1 {size + 6 if i == 0 else size} Tf 60 {770 - step * i} Td ({pdf_string(line)}) Tj ET\n"
        for i, line in enumerate(lines)
    ).encode("cp1252", errors="replace")
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[4 0 R]/Count 1>>",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 5 0 R/Resources<</Font<</F1 3 0 R>>>>>>",
        b"<</Length %d>>stream\n%s\nendstream" % (len(content), content),
    ]
    return pdf_file(objects)


def pdf_file(objects: Sequence[bytes]) -> bytes:
    """A PDF 1.4 file of ``objects`` (numbered from 1; the first is the catalogue), with its
    cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdf_string(line: str) -> str:
    """``line`` as the inside of a PDF literal string (backslashes and brackets escaped)."""
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
