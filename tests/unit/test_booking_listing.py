"""The booking website under load: what it loads before its first visitor, and the list of free
slots it keeps while nothing that changes them happened."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kiosk.agent.web import create_help_site
from kiosk.core.mediation.reservation import ReservationDesk
from kiosk.core.ports import ManualClock
from tests.bookingkit import LIFTED, booking_config, seed, slot_links
from tests.unit.test_booking_site import MONDAY_8H

pytestmark = [pytest.mark.unit, pytest.mark.appointments]


def test_the_website_loads_the_booking_pages_before_its_first_visitor(tmp_path: Path) -> None:
    config = booking_config(tmp_path / "data")
    clock = ManualClock(MONDAY_8H)
    app = create_help_site(config, db_path=seed(config, clock), clock=clock, limits=LIFTED)
    desk: ReservationDesk = app.state.booking_desk
    frozen_before = gc.get_freeze_count()
    with TestClient(app) as web:
        # Started: the connection is open and the slots listed, nobody has asked yet.
        assert desk._book is not None and desk._listed
        assert gc.get_freeze_count() > frozen_before  # what was loaded is out of the full collections
        assert slot_links(web.get("/rendez-vous/creneaux?demarche=logement").text)
    assert gc.get_freeze_count() == 0  # stopped: collected again
