"""Scanned pages made into the files a site receives: PDF or JPEG/PNG, under a size limit.

The ``Scanner`` port writes one PNG per page into the session's directory; this module turns
pages into ``scan-1.pdf`` (several pages in one PDF) or ``scan-1.jpg``, ``scan-2.jpg``… (one
image per page), in the format a site's ``<input type=file accept=…>`` allows, compressed and
then downscaled until each file is under the limit the centre configures (``scan_limit_mb``):
sites often refuse files over a few megabytes. Everything is written under the session's
directory (``scans/``), which the shell deletes when the session ends: nothing survives it.

Pure: Pillow only (no Qt, no device library).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path

from PIL import Image

from kiosk.core.devices import DeviceFailure
from kiosk.i18n import N_

SCANS = "scans"  # the folder of a session's scans, inside the session's directory
DEFAULT_DPI = 200

# (scale, JPEG quality), tried in turn until a file fits: quality first, then size.
_STEPS = ((1.0, 85), (1.0, 70), (1.0, 55), (0.75, 60), (0.5, 60), (0.35, 50), (0.25, 45))


class ScanFormat(StrEnum):
    PDF = "pdf"
    JPEG = "jpg"
    PNG = "png"


_ACCEPT: dict[str, tuple[ScanFormat, ...]] = {
    ".pdf": (ScanFormat.PDF,),
    "application/pdf": (ScanFormat.PDF,),
    ".jpg": (ScanFormat.JPEG,),
    ".jpeg": (ScanFormat.JPEG,),
    ".jpe": (ScanFormat.JPEG,),
    ".jfif": (ScanFormat.JPEG,),
    "image/jpeg": (ScanFormat.JPEG,),
    "image/jpg": (ScanFormat.JPEG,),
    "image/pjpeg": (ScanFormat.JPEG,),
    ".png": (ScanFormat.PNG,),
    "image/png": (ScanFormat.PNG,),
    "image/*": (ScanFormat.JPEG, ScanFormat.PNG),
    "*/*": tuple(ScanFormat),
}


class ScanExportError(ValueError):
    """The pages cannot become a file the site accepts (format refused, too large even when
    downscaled, a page unreadable). ``str()`` is English for logs; :func:`export_message` is
    for residents."""

    def __init__(self, message: str, reason: DeviceFailure) -> None:
        super().__init__(message)
        self.reason = reason


def scans_dir(session_dir: Path) -> Path:
    return session_dir / SCANS


def accepted_formats(accept: str | Iterable[str]) -> tuple[ScanFormat, ...]:
    """The formats a file input's ``accept`` allows, best first (PDF keeps pages together).

    ``accept`` is the attribute (``".pdf,image/*"``) or its parts as QtWebEngine hands them.
    No ``accept`` means any file: every format. ``()`` when the site wants only other kinds of
    file (``".docx"``): a scan cannot be sent there."""
    parts = accept.split(",") if isinstance(accept, str) else list(accept)
    tokens = [token.strip().lower() for token in parts if token.strip()]
    if not tokens:
        return tuple(ScanFormat)
    found = {fmt for token in tokens for fmt in _ACCEPT.get(token, ())}
    return tuple(fmt for fmt in ScanFormat if fmt in found)


def rotate_page(page: Path, quarter_turns: int) -> None:
    """Turn a scanned page clockwise by ``quarter_turns`` × 90° (in place, resolution kept)."""
    turns = quarter_turns % 4
    if not turns:
        return
    with Image.open(page) as image:
        image.load()
        dpi = image.info.get("dpi")
        rotated = image.rotate(-90 * turns, expand=True)
    _write_atomically(page, _encode(rotated, "PNG", dpi=dpi))


def export(pages: Sequence[Path], fmt: ScanFormat, session_dir: Path, *, limit_bytes: int) -> list[Path]:
    """Make ``pages`` into files of ``fmt`` under ``scans/`` of the session, each under
    ``limit_bytes``: one PDF of all pages, or one image per page. Raises ``ScanExportError``."""
    if not pages:
        raise ValueError("no page to export")
    root = session_dir.resolve()
    for page in pages:
        if not page.resolve().is_relative_to(root):
            raise ValueError(f"{page} is not in the session's directory")
    target = scans_dir(session_dir)
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        images = [_load(page) for page in pages]
    except OSError as error:
        raise ScanExportError(f"a scanned page cannot be read: {error}", DeviceFailure.BAD_DOCUMENT) from error
    if fmt is ScanFormat.PDF:
        written = [_write_atomically(_next_name(target, fmt), _fit(images, fmt, limit_bytes))]
    else:
        written = [_write_atomically(_next_name(target, fmt), _fit([image], fmt, limit_bytes)) for image in images]
    return written


def export_for(
    accept: str | Iterable[str], pages: Sequence[Path], session_dir: Path, *, limit_bytes: int
) -> list[Path]:
    """:func:`export` in the best format ``accept`` allows; ``ScanExportError`` (REFUSED) if none."""
    formats = accepted_formats(accept)
    if not formats:
        raise ScanExportError(f"the site accepts none of our formats: {accept!r}", DeviceFailure.REFUSED)
    return export(pages, formats[0], session_dir, limit_bytes=limit_bytes)


def session_scans(session_dir: Path) -> list[Path]:
    """This session's exported scans, newest first (what the file chooser offers)."""
    folder = scans_dir(session_dir)
    found = [p for p in folder.glob("scan-*") if p.is_file() and p.suffix[1:] in set(ScanFormat)]
    return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)


def _load(page: Path) -> Image.Image:
    with Image.open(page) as image:
        image.load()
        dpi = image.info.get("dpi", (DEFAULT_DPI, DEFAULT_DPI))
        converted = image.convert("L" if image.mode in ("1", "L", "LA", "I;16") else "RGB")
    converted.info["dpi"] = (float(dpi[0]) or DEFAULT_DPI, float(dpi[1]) or DEFAULT_DPI)
    return converted


def _fit(images: list[Image.Image], fmt: ScanFormat, limit_bytes: int) -> bytes:
    size = 0
    for scale, quality in _STEPS:
        if fmt is ScanFormat.PNG and quality != _STEPS[0][1] and scale == 1.0:
            continue  # PNG is lossless: only smaller pictures make smaller files
        scaled = [_scaled(image, scale) for image in images]
        dpi = scaled[0].info["dpi"]
        if fmt is ScanFormat.PDF:
            data = _encode(
                scaled[0], "PDF", save_all=True, append_images=scaled[1:], resolution=dpi[0], quality=quality
            )
        elif fmt is ScanFormat.JPEG:
            data = _encode(scaled[0], "JPEG", quality=quality, dpi=dpi, optimize=True)
        else:
            data = _encode(scaled[0], "PNG", dpi=dpi, optimize=True)
        size = len(data)
        if size <= limit_bytes:
            return data
    raise ScanExportError(
        f"the scan is {size} bytes at its smallest, over the limit of {limit_bytes}", DeviceFailure.TOO_LARGE
    )


def _scaled(image: Image.Image, scale: float) -> Image.Image:
    dpi = image.info["dpi"]
    if scale == 1.0:
        return image
    smaller = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS
    )
    smaller.info["dpi"] = (dpi[0] * scale, dpi[1] * scale)  # same paper size, fewer dots
    return smaller


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **{key: value for key, value in options.items() if value is not None})
    return buffer.getvalue()


def _next_name(folder: Path, fmt: ScanFormat) -> Path:
    taken = {p.stem for p in folder.iterdir()}
    number = 1
    while f"scan-{number}" in taken:
        number += 1
    return folder / f"scan-{number}.{fmt}"


def _write_atomically(path: Path, data: bytes) -> Path:
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)
    return path


# -- words for residents ----------------------------------------------------------------------

_ASK_SCAN = N_("Le scanner ne répond pas. Un membre de l'accueil peut vous aider.")
_SCANNER_MESSAGES: dict[DeviceFailure, str] = {
    DeviceFailure.ABSENT: N_(
        "Il n'y a pas de scanner sur cette borne. Demandez à l'accueil : on peut scanner pour vous."
    ),
    DeviceFailure.BUSY: N_("Le scanner est occupé. Patientez un instant, puis réessayez."),
    DeviceFailure.NO_DOCUMENT: N_("Il n'y a pas de feuille dans le chargeur. Posez vos feuilles, puis réessayez."),
    DeviceFailure.JAM: N_("Une feuille est coincée dans le scanner. Un membre de l'accueil peut vous aider."),
    DeviceFailure.DOOR_OPEN: N_("Le capot du scanner est ouvert. Fermez-le, puis réessayez."),
    DeviceFailure.OFFLINE: N_("Le scanner a été débranché ou éteint. Un membre de l'accueil peut vous aider."),
    DeviceFailure.TOO_LARGE: N_(
        "Ce document est trop lourd pour ce site, même réduit. Essayez avec moins de pages à la fois."
    ),
    DeviceFailure.REFUSED: N_(
        "Ce site demande un autre genre de fichier qu'un document scanné. Un membre de l'accueil peut vous aider."
    ),
    DeviceFailure.BAD_DOCUMENT: N_("Une page scannée ne peut pas être lue. Scannez-la de nouveau, s'il vous plaît."),
}


def scanner_message(reason: DeviceFailure) -> str:
    """What to tell a resident whose scan or its export met ``reason`` (a French message id)."""
    return _SCANNER_MESSAGES.get(reason, _ASK_SCAN)
