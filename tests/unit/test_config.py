"""Configuration: the shipped files, every kind of problem in one run, last-good fallback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kiosk.cli import main as kiosk_main
from kiosk.core.loading import (
    ConfigError,
    check_config,
    format_problems,
    load_config,
    load_with_last_good,
    with_env_overrides,
)
from kiosk.core.policy import Verdict
from kiosk.core.settings import KioskSettings
from sync.vocabulary import Category

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "config"


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    target = tmp_path / "cfg"
    shutil.copytree(SAMPLE, target)
    return target


def test_shipped_config_is_valid_and_complete() -> None:
    config = load_config(SAMPLE / "kiosk.toml", SAMPLE / "tiles.toml")
    ids = {t.id for t in config.tiles.tiles}
    for required in (
        "impots",
        "caf",
        "ameli",
        "ants",
        "france-travail",
        "info-retraite",
        "assurance-retraite",
        "service-public",
        "msa",
        "titre-sejour",
        "ville",
        "cv",
    ):
        assert required in ids
    for tile in config.tiles.tiles:
        assert config.tiles.policy_for(tile).decide(tile.url).verdict is Verdict.ALLOW, tile.id
        assert (SAMPLE / "icons" / tile.icon).is_file()
    caf = config.tiles.tile("caf")
    assert config.tiles.policy_for(caf).decide("https://app.franceconnect.gouv.fr/api/v2/authorize").allowed
    assert not config.tiles.policy_for(caf).decide("https://www.google.com/").allowed
    assert [c for c, _ in config.tiles.by_category()] == [
        c for c in Category if any(t.category is c for t in config.tiles.tiles)
    ]


def test_every_problem_in_one_run(cfg: Path) -> None:
    (cfg / "kiosk.toml").write_text(
        '[centre]\nname = "X"\ntimezone = "Mars/Olympus"\n\n[session]\nidle_timeout_s = 5\nwarning_s = "thirty"\n'
        "typo_key = 1\n\n[shell]\nzoom_levels = [1.5, 1.0, 2.0]\n",
        encoding="utf-8",
    )
    tiles = (cfg / "tiles.toml").read_text(encoding="utf-8")
    tiles = tiles.replace('url = "https://www.caf.fr/"', 'url = "https://www.cnaf.example/"')
    tiles = tiles.replace('icon = "cv.svg"', 'icon = "missing.svg"')
    tiles = tiles.replace('origins = ["*.msa.fr"]', 'origins = ["*.fr"]')
    tiles = tiles.replace(
        'origin_groups = ["franceconnect"]\n\n[[tiles]]\nid = "ameli"',
        'origin_groups = ["nope"]\n\n[[tiles]]\nid = "ameli"',
    )
    (cfg / "tiles.toml").write_text(tiles, encoding="utf-8")
    problems = check_config(cfg / "kiosk.toml", cfg / "tiles.toml")
    keys = {(p.file.name, p.key) for p in problems}
    assert ("kiosk.toml", "centre.timezone") in keys
    assert ("kiosk.toml", "session.idle_timeout_s") in keys
    assert ("kiosk.toml", "session.warning_s") in keys
    assert ("kiosk.toml", "session.typo_key") in keys
    assert ("kiosk.toml", "shell.zoom_levels") in keys
    assert any(k == ("tiles.toml", 'tiles[id="msa"].origins') for k in keys)
    # A tile that fails validation hides the cross-checks of the whole file; fix it and look again.
    assert all(p.fix and p.message for p in problems)
    assert all(p.line for p in problems if p.file.name == "kiosk.toml")
    text = format_problems(problems)
    assert "fix:" in text and text.endswith(f"{len(problems)} problems found.")
    (cfg / "tiles.toml").write_text(tiles.replace('origins = ["*.fr"]', 'origins = ["*.msa.fr"]'), encoding="utf-8")
    problems = check_config(cfg / "kiosk.toml", cfg / "tiles.toml")
    keys = {(p.file.name, p.key) for p in problems}
    assert ("tiles.toml", 'tiles[id="caf"].url') in keys
    assert ("tiles.toml", 'tiles[id="cv"].icon') in keys
    assert ("tiles.toml", 'tiles[id="caf"].origin_groups') in keys


def test_toml_syntax_error_has_a_line(cfg: Path) -> None:
    (cfg / "kiosk.toml").write_text('[centre]\nname = "unterminated\n', encoding="utf-8")
    problems = check_config(cfg / "kiosk.toml", cfg / "tiles.toml")
    assert len(problems) == 1 and problems[0].line == 2 and problems[0].key == "(syntax)"


def test_missing_file(cfg: Path) -> None:
    (cfg / "tiles.toml").unlink()
    problems = check_config(cfg / "kiosk.toml", cfg / "tiles.toml")
    assert problems[0].file.name == "tiles.toml" and "does not exist" in problems[0].message


def test_duplicate_ids(cfg: Path) -> None:
    text = (cfg / "tiles.toml").read_text(encoding="utf-8").replace('id = "ameli"', 'id = "caf"')
    (cfg / "tiles.toml").write_text(text, encoding="utf-8")
    assert any("unique" in p.message for p in check_config(cfg / "kiosk.toml", cfg / "tiles.toml"))


def test_last_good_fallback(cfg: Path, tmp_path: Path) -> None:
    last_good = tmp_path / "last-good"
    result = load_with_last_good(cfg / "kiosk.toml", cfg / "tiles.toml", last_good)
    assert not result.from_last_good and (last_good / "tiles.toml").is_file()
    (cfg / "tiles.toml").write_text("this is [not toml", encoding="utf-8")
    result = load_with_last_good(cfg / "kiosk.toml", cfg / "tiles.toml", last_good)
    assert result.from_last_good and result.problems
    assert result.config.tiles.tile("caf").label == "La CAF"


def test_last_good_copy_follows_each_good_config_and_is_not_rewritten_unchanged(cfg: Path, tmp_path: Path) -> None:
    last_good = tmp_path / "last-good"
    load_with_last_good(cfg / "kiosk.toml", cfg / "tiles.toml", last_good)
    icon = sorted((cfg / "icons").iterdir())[0]
    copies = [last_good / "kiosk.toml", last_good / "tiles.toml", last_good / "icons" / icon.name]
    written = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in copies]
    load_with_last_good(cfg / "kiosk.toml", cfg / "tiles.toml", last_good)
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in copies] == written  # the same config: no write
    tiles = (cfg / "tiles.toml").read_text(encoding="utf-8").replace('label = "La CAF"', 'label = "La CAF!"')
    (cfg / "tiles.toml").write_text(tiles, encoding="utf-8")
    icon.write_bytes(icon.read_bytes() + b"\n<!-- redrawn -->\n")
    load_with_last_good(cfg / "kiosk.toml", cfg / "tiles.toml", last_good)
    assert copies[1].read_text(encoding="utf-8") == tiles
    assert copies[2].read_bytes() == icon.read_bytes()
    assert (last_good / "kiosk.toml").read_bytes() == (cfg / "kiosk.toml").read_bytes()


def test_no_last_good_refuses(cfg: Path, tmp_path: Path) -> None:
    (cfg / "tiles.toml").write_text("tiles = 3", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_with_last_good(cfg / "kiosk.toml", cfg / "tiles.toml", tmp_path / "none")
    assert error.value.problems


def test_env_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KIOSK_SESSION_ROOT", str(tmp_path / "s"))
    settings = with_env_overrides(KioskSettings())
    assert settings.paths.session_root == tmp_path / "s"
    assert settings.paths.data_dir == Path("/var/lib/kiosk")


def test_cli_config_check(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kiosk_main(["config", "check", str(cfg)]) == 0
    (cfg / "kiosk.toml").write_text("[session]\nidle_timeout_s = 1\n", encoding="utf-8")
    assert kiosk_main(["config", "check", str(cfg / "kiosk.toml")]) == 1
    out = capsys.readouterr().out
    assert "session.idle_timeout_s" in out and "fix:" in out


def test_stats_settings_are_checked(cfg: Path) -> None:
    text = (cfg / "kiosk.toml").read_text(encoding="utf-8")
    text = text.replace("suppression_k = 5 ", "suppression_k = 2 ")
    text = text.replace('durability = "normal"', 'durability = "max"')
    (cfg / "kiosk.toml").write_text(text, encoding="utf-8")
    problems = {p.key: p for p in check_config(cfg / "kiosk.toml", cfg / "tiles.toml")}
    assert set(problems) == {"stats.suppression_k", "stats.durability"}
    assert "5" in problems["stats.suppression_k"].message
    assert problems["stats.durability"].line is not None


def test_devices_settings_are_checked(cfg: Path) -> None:
    text = (cfg / "kiosk.toml").read_text(encoding="utf-8")
    assert KioskSettings().devices.printer == "auto"  # a missing [devices] finds the printer by itself
    text = text.replace('printer = "auto"', 'printer = "fake"').replace(
        'printer_queue = ""', 'printer_queue = "Salle 2"'
    )
    (cfg / "kiosk.toml").write_text(text, encoding="utf-8")
    problems = {p.key: p for p in check_config(cfg / "kiosk.toml", cfg / "tiles.toml")}
    assert set(problems) == {"devices.printer", "devices.printer_queue"}
    assert "'auto', 'cups' or 'none'" in problems["devices.printer"].message
    assert "allowed values" in problems["devices.printer"].fix
    assert "lpstat -e" in problems["devices.printer_queue"].fix
    assert all(p.line is not None for p in problems.values())


def test_scanner_options_are_checked_and_become_the_scans_options(cfg: Path) -> None:
    from kiosk.core.devices import ColourMode, ScanOptions, ScanSource

    # The shell's defaults, unchanged (the flatbed gives one page whatever max_pages says).
    assert KioskSettings().devices.scan_options() == ScanOptions(max_pages=20)
    text = (cfg / "kiosk.toml").read_text(encoding="utf-8")
    good = text.replace('scan_mode = "colour"', 'scan_mode = "grey"').replace(
        'scan_source = "flatbed"', 'scan_source = "feeder"'
    )
    (cfg / "kiosk.toml").write_text(good, encoding="utf-8")
    assert check_config(cfg / "kiosk.toml", cfg / "tiles.toml") == []
    bad = good.replace("scan_resolution_dpi = 200", "scan_resolution_dpi = 2400").replace(
        'scan_mode = "grey"', 'scan_mode = "gris"'
    )
    bad = bad.replace('scan_source = "feeder"', 'scan_source = "adf"').replace(
        "scan_max_pages = 20", "scan_max_pages = 0"
    )
    (cfg / "kiosk.toml").write_text(bad, encoding="utf-8")
    problems = {p.key: p for p in check_config(cfg / "kiosk.toml", cfg / "tiles.toml")}
    assert set(problems) == {
        "devices.scan_resolution_dpi",
        "devices.scan_mode",
        "devices.scan_source",
        "devices.scan_max_pages",
    }
    assert "600" in problems["devices.scan_resolution_dpi"].message
    assert "'colour', 'grey' or 'black_and_white'" in problems["devices.scan_mode"].message
    assert "'flatbed' or 'feeder'" in problems["devices.scan_source"].message
    assert all(p.line is not None and p.fix for p in problems.values())
    options = KioskSettings.model_validate(
        {"devices": {"scan_mode": "black_and_white", "scan_source": "feeder", "scan_resolution_dpi": 300}}
    ).devices.scan_options()
    assert options == ScanOptions(300, ColourMode.BLACK_AND_WHITE, ScanSource.FEEDER, 20)
