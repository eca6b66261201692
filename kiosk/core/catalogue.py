"""The national tile catalogue pulled from the federation, merged under the centre's own tiles.

The agent saves the catalogue it pulled (already validated against the wire format) as
``data_dir/catalogue.json``. At start the shell adds its tiles to those of ``tiles.toml``: a
local tile with the same id wins, so does a local origin group with the same name, and the
centre's own tiles stay as they are. A national tile whose pictogram is not installed gets a
generic one. If the file cannot be used — unreadable, or its tiles fail the same checks as
``tiles.toml`` — the last catalogue that worked (``catalogue.last-good.json``) is used instead,
and failing that, the local tiles alone.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kiosk.core.settings import Config
from kiosk.core.tiles import TilesConfig, icons_dir
from kiosk.i18n import SUPPORTED

log = logging.getLogger(__name__)

CATALOGUE_FILE = "catalogue.json"
LAST_GOOD_FILE = "catalogue.last-good.json"
FALLBACK_ICON = "information.svg"


def merge(local: TilesConfig, catalogue: dict[str, Any], icons: Path) -> TilesConfig:
    """``local`` plus the national tiles it does not already have. Raises ValueError if invalid."""
    national = catalogue.get("tiles")
    groups = catalogue.get("origin_groups", {})
    if not isinstance(national, list) or not isinstance(groups, dict):
        raise ValueError("a catalogue has a list of tiles and a table of origin groups")
    local_ids = {tile.id for tile in local.tiles}
    added = []
    for entry in national:
        if not isinstance(entry, dict) or entry.get("id") in local_ids:
            continue
        tile = {key: entry[key] for key in ("id", "label", "description", "icon", "category", "url") if key in entry}
        tile["origins"] = entry.get("origins", [])
        tile["origin_groups"] = entry.get("origin_groups", [])
        translations = entry.get("translations", {})
        if isinstance(translations, dict):  # languages this kiosk does not speak are left out
            tile["translations"] = {
                code: text for code, text in translations.items() if code in SUPPORTED and code != "fr"
            }
        if not (icons / str(tile.get("icon", ""))).is_file():
            tile["icon"] = FALLBACK_ICON
        added.append(tile)
    try:
        return TilesConfig.model_validate(
            {
                "origin_groups": {**groups, **local.origin_groups},
                "tiles": [*(t.model_dump(mode="json") for t in local.tiles), *added],
            }
        )
    except ValidationError as error:
        raise ValueError(f"the national catalogue does not pass the tile checks: {error}") from None


def with_national_catalogue(config: Config, data_dir: Path) -> Config:
    """``config`` with the saved national catalogue merged in (see the module's docstring)."""
    icons = icons_dir(config.tiles_path)
    for name in (CATALOGUE_FILE, LAST_GOOD_FILE):
        path = data_dir / name
        if not path.is_file():
            continue
        try:
            merged = merge(config.tiles, json.loads(path.read_text(encoding="utf-8")), icons)
        except (OSError, ValueError) as error:
            log.error("catalogue.unusable", extra={"file": name, "error": str(error)[:500]})
            continue
        if name == CATALOGUE_FILE:
            _keep_as_last_good(path, data_dir / LAST_GOOD_FILE)
        else:
            log.warning("catalogue.using_last_good")
        added = len(merged.tiles) - len(config.tiles.tiles)
        log.info("catalogue.applied", extra={"file": name, "national_tiles_added": added})
        return replace(config, tiles=merged)
    return config


def save_catalogue(data_dir: Path, catalogue: dict[str, Any], etag: str | None) -> None:
    """Write a newly pulled catalogue atomically (the agent)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{CATALOGUE_FILE}.tmp"
    tmp.write_text(json.dumps(catalogue, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, data_dir / CATALOGUE_FILE)
    (data_dir / "catalogue.etag").write_text((etag or "") + "\n", encoding="ascii")


def saved_etag(data_dir: Path) -> str | None:
    try:
        return (data_dir / "catalogue.etag").read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def _keep_as_last_good(source: Path, target: Path) -> None:
    try:
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except OSError as error:
        log.warning("catalogue.last_good_not_saved", extra={"error": str(error)})
