"""What a file input's ``accept`` lets a scan become, and the French words for scan failures."""

from __future__ import annotations

import pytest

from kiosk.core.devices import DeviceFailure
from kiosk.core.scans import ScanFormat, accepted_formats, scanner_message

pytestmark = [pytest.mark.unit, pytest.mark.devices]
PDF, JPEG, PNG = ScanFormat.PDF, ScanFormat.JPEG, ScanFormat.PNG


@pytest.mark.parametrize(
    ("accept", "formats"),
    [
        ("", (PDF, JPEG, PNG)),
        ([], (PDF, JPEG, PNG)),
        (" , ", (PDF, JPEG, PNG)),
        (".pdf", (PDF,)),
        ("image/*", (JPEG, PNG)),
        (".JPG,.png", (JPEG, PNG)),
        (["image/png", "application/pdf"], (PDF, PNG)),
        (".jpeg, image/jpeg", (JPEG,)),
        ("*/*", (PDF, JPEG, PNG)),
        (".docx,text/plain", ()),
        ("image/heic", ()),
    ],
)
def test_accepted_formats(accept: str | list[str], formats: tuple[ScanFormat, ...]) -> None:
    assert accepted_formats(accept) == formats


def test_every_scanner_failure_has_plain_french_words() -> None:
    said = {reason: scanner_message(reason) for reason in DeviceFailure}
    assert all(message.endswith(".") and "SANE" not in message for message in said.values())
    told_apart = [DeviceFailure.ABSENT, DeviceFailure.BUSY, DeviceFailure.NO_DOCUMENT, DeviceFailure.JAM]
    told_apart += [DeviceFailure.DOOR_OPEN, DeviceFailure.OFFLINE, DeviceFailure.TOO_LARGE, DeviceFailure.REFUSED]
    assert len({said[reason] for reason in told_apart}) == len(told_apart)
    assert said[DeviceFailure.UNKNOWN] == said[DeviceFailure.TIMED_OUT] not in {said[r] for r in told_apart}
    assert "chargeur" in said[DeviceFailure.NO_DOCUMENT] and "capot" in said[DeviceFailure.DOOR_OPEN]
