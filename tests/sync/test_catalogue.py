"""The national tile catalogue: published on the server, pulled with an ETag, merged under the
centre's own tiles, with the last good copy when a new one cannot be used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.agent.sync_jobs import Enrolled, SyncJobs, save_enrolment
from kiosk.core.catalogue import CATALOGUE_FILE, LAST_GOOD_FILE
from kiosk.core.loading import load_for_process
from kiosk.core.store import Role, open_store
from sync.cli import main as federation_cli
from tests.fedkit import Federation

pytestmark = pytest.mark.sync
REPO = Path(__file__).resolve().parents[2]

CATALOGUE = {
    "version": 3,
    "origin_groups": {"franceconnect": ["app.franceconnect.gouv.fr"], "national-login": ["login.example.fr"]},
    "tiles": [
        {
            "id": "mon-espace-sante",
            "label": "Mon espace santé",
            "description": "Votre carnet de santé en ligne.",
            "icon": "espace-sante.svg",
            "category": "social_sante",
            "url": "https://www.monespacesante.fr/",
            "origins": ["*.monespacesante.fr"],
            "origin_groups": ["national-login"],
        },
        {
            "id": "caf",
            "label": "CAF nationale",
            "description": "Must not replace the centre's own CAF tile.",
            "icon": "famille.svg",
            "category": "famille",
            "url": "https://national.example.fr/",
            "origins": ["national.example.fr"],
        },
    ],
}


@pytest.fixture
def terminal(federation: Federation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    monkeypatch.setenv("KIOSK_DATA_DIR", str(data))
    monkeypatch.setenv("KIOSK_LAST_GOOD_DIR", str(tmp_path / "last-good"))
    device, token = federation.terminal()
    save_enrolment(data, Enrolled(federation.url, device, token, "Test"))
    store = open_store(data / "kiosk.db", Role.AGENT)
    yield SyncJobs(store, data, 5), data
    store.close()


def test_published_pulled_once_and_merged_under_local_tiles(federation: Federation, terminal, tmp_path) -> None:  # type: ignore[no-untyped-def]
    jobs, data = terminal
    source = tmp_path / "catalogue.json"
    source.write_text(json.dumps(CATALOGUE), encoding="utf-8")
    assert federation_cli(["--database", federation.db.url, "set-catalogue", str(source)]) == 0
    assert jobs.catalogue() is True
    assert jobs.catalogue() is False  # same ETag: 304, nothing rewritten
    tiles = load_for_process(REPO / "config").config.tiles
    national = tiles.tile("mon-espace-sante")
    assert national.icon == "information.svg"  # its pictogram is not installed here
    assert "login.example.fr" in tiles.origins_for(national)
    assert tiles.tile("caf").url == "https://www.caf.fr/"  # the centre's own tile wins
    assert (data / LAST_GOOD_FILE).is_file()


def test_a_damaged_catalogue_falls_back_to_the_last_good_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("KIOSK_DATA_DIR", str(data))
    monkeypatch.setenv("KIOSK_LAST_GOOD_DIR", str(tmp_path / "last-good"))
    (data / CATALOGUE_FILE).write_text(json.dumps(CATALOGUE), encoding="utf-8")
    assert "mon-espace-sante" in {t.id for t in load_for_process(REPO / "config").config.tiles.tiles}
    (data / CATALOGUE_FILE).write_text('{"tiles": [', encoding="utf-8")  # cut short
    assert "mon-espace-sante" in {t.id for t in load_for_process(REPO / "config").config.tiles.tiles}


def test_a_catalogue_failing_the_tile_checks_is_not_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("KIOSK_DATA_DIR", str(data))
    monkeypatch.setenv("KIOSK_LAST_GOOD_DIR", str(tmp_path / "last-good"))
    bad = json.loads(json.dumps(CATALOGUE))
    bad["tiles"][0]["origins"] = ["*.fr"]  # a public suffix: the whole country
    (data / CATALOGUE_FILE).write_text(json.dumps(bad), encoding="utf-8")
    tiles = load_for_process(REPO / "config").config.tiles
    assert "mon-espace-sante" not in {t.id for t in tiles.tiles} and len(tiles.tiles) == 15
