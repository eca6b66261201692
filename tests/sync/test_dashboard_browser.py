"""The dashboard in headless Chromium (Debian's, driven by playwright): log in, drill down from the
network to a département and a centre, download a CSV. Screenshots go to screenshots/dashboard/."""

from __future__ import annotations

import csv
import io
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from sync.protocol import Heartbeat
from tests.fedkit import Federation, batch

pytestmark = [pytest.mark.sync, pytest.mark.browser]
REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "screenshots" / "dashboard"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CATEGORIES = ["famille", "argent", "social_sante", "papiers", "travail", "logement"]


def seed(fed: Federation) -> dict[str, int]:
    """Three centres in two départements, twelve weeks of batches, one silent terminal."""
    rng = random.Random(4)
    today = datetime.now(UTC).date()
    centres = {
        "lyon": fed.centre("69", "France Services Lyon 8e"),
        "villeurbanne": fed.centre("69", "Centre social Villeurbanne"),
        "marseille": fed.centre("13", "Mairie de Marseille 3e"),
    }
    for centre_id in centres.values():
        device, token = fed.terminal(centre_id)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for n in range(84, 0, -1):
            day = today - timedelta(days=n)
            if day.weekday() == 6:
                continue
            sessions = rng.randint(5, 25)
            hours = [0] * 24
            for _ in range(sessions):
                hours[rng.choice([9, 10, 10, 11, 14, 15, 16])] += 1
            body = batch(
                device,
                day,
                sessions=sessions,
                hours=hours,
                categories={c: rng.randint(0, sessions) for c in rng.sample(CATEGORIES, 3)},
                mediator={"opened": 3, "taken": 2, "missed": 1},
                answers_asked=sessions,
                # As a terminal sends them: cells below k = 5 hidden (None), with one more when needed.
                answers={"satisfaction": {"content": sessions, "moyen": None, "mecontent": None, "sans_reponse": None}},
            )
            stored = requests.post(
                f"{fed.url}/api/v1/batches", data=body.model_dump_json(), headers=headers, timeout=10
            )
            assert stored.status_code == 201, stored.text
        beat = Heartbeat(
            device_id=device, software_version="0.4.0", uptime_s=7200, disk_free_mb=2048, device_clock=datetime.now(UTC)
        )
        taken = requests.post(f"{fed.url}/api/v1/heartbeats", data=beat.model_dump_json(), headers=headers, timeout=10)
        assert taken.status_code == 200, taken.text
    fed.terminal(centres["marseille"])  # enrolled, never heard of since: stale
    fed.publish()
    return centres


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.mark.parametrize("viewport", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_log_in_drill_down_and_download(federation: Federation, browser, tmp_path, viewport) -> None:  # type: ignore[no-untyped-def]
    centres = seed(federation)
    username, password = federation.user()
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = "desktop" if viewport[0] > 600 else "phone"
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Script errors and Content-Security-Policy violations (a refused load, 401 or 404, is a page's business).
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    try:
        page.goto(f"{federation.url}/")
        assert page.url.endswith("/login")
        page.fill("#username", username)
        page.fill("#password", "pas le bon mot de passe")
        page.click("button[type=submit]")
        assert "incorrect" in page.inner_text("[role=alert]")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_selector("h1:has-text('Tout le réseau')")
        page.wait_for_function("document.querySelector('#weekly') && document.querySelector('#weekly').width > 0")
        page.screenshot(path=str(SHOTS / f"national-{name}.png"), full_page=True)
        assert "sessions" in page.inner_text(".kpis")
        assert "octobre 2026" in page.inner_text(".note")  # the last published month, named with its dates
        assert page.locator("text=< 5").count() == 0  # hidden figures never say how small they are

        page.click("a:has-text('69')")
        page.wait_for_selector("h1:has-text('Département 69')")
        page.screenshot(path=str(SHOTS / f"departement-{name}.png"), full_page=True)
        page.click("a:has-text('France Services Lyon 8e')")
        page.wait_for_selector("h1:has-text('France Services Lyon 8e')")
        assert page.locator("text=Bornes de ce centre").count() == 1
        page.screenshot(path=str(SHOTS / f"centre-{name}.png"), full_page=True)

        with page.expect_download() as download_info:
            page.click("a.csv >> nth=0")
        target = tmp_path / "export.csv"
        download_info.value.save_as(target)
        rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
        sessions = [r for r in rows if r["metric"] == "sessions"]
        assert sessions and {r["scope"] for r in sessions} == {str(centres["lyon"])}

        page.goto(f"{federation.url}/parc")
        page.wait_for_selector("h1:has-text('Parc de bornes')")
        assert page.locator("tr.stale").count() >= 1  # the silent terminal comes first, highlighted
        assert "jamais" in page.locator("tr.stale").first.inner_text()
        page.screenshot(path=str(SHOTS / f"fleet-{name}.png"), full_page=True)
        with page.expect_download() as fleet_download:
            page.click("a.csv")
        fleet_csv = tmp_path / "parc.csv"
        fleet_download.value.save_as(fleet_csv)
        fleet_rows = list(csv.DictReader(io.StringIO(fleet_csv.read_text(encoding="utf-8"))))
        assert len(fleet_rows) == 4 and fleet_rows[0]["silencieuse"] == "oui"
        assert errors == []
    finally:
        context.close()
