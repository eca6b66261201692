"""The welcome screen kept from one start to the next (``kiosk.shell.first_screen``): only for
the kiosk.toml and the version it was made from, never a crash over a bad file."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.pages.files import PageNotFound
from kiosk.shell import first_screen
from kiosk.shell.first_screen import (
    SNAPSHOT_NAME,
    FirstScreen,
    FirstScreenPages,
    config_key,
    read_first_screen,
    save_first_screen,
)

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, text: str = '[centre]\nname = "Centre A"\n') -> Path:
    directory = tmp_path / "config"
    directory.mkdir(exist_ok=True)
    (directory / "kiosk.toml").write_text(text, encoding="utf-8")
    return directory


def _screen(config_dir: Path, body: str = "<h1>Touchez l'écran</h1>") -> FirstScreen:
    key = config_key(config_dir)
    assert key is not None
    return FirstScreen(key, "Centre A", "fr", True, body.encode("utf-8"))


def test_a_kept_screen_comes_back_for_the_same_kiosk_toml(tmp_path: Path) -> None:
    config, kept = _config(tmp_path), tmp_path / "last-good"
    screen = _screen(config)
    save_first_screen(kept, screen)
    assert read_first_screen(config, kept) == screen
    assert stat.S_IMODE((kept / SNAPSHOT_NAME).stat().st_mode) == 0o600


def test_a_changed_kiosk_toml_or_version_makes_it_stale(tmp_path: Path, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    config, kept = _config(tmp_path), tmp_path / "last-good"
    save_first_screen(kept, _screen(config))
    _config(tmp_path, '[centre]\nname = "Centre B"\n')
    with caplog.at_level(logging.INFO, logger="kiosk.shell.first_screen"):
        assert read_first_screen(config, kept) is None
    assert "first_screen.stale" in caplog.messages
    _config(tmp_path)  # back to what it was made from
    assert read_first_screen(config, kept) is not None
    monkeypatch.setattr(first_screen, "__version__", "99.0")
    assert read_first_screen(config, kept) is None


@pytest.mark.parametrize(
    "content",
    ["", "{not json", "[]", json.dumps({"key": "k"}), b"\xff\xfe".decode("latin-1"), json.dumps({"body": 3})],
)
def test_an_unreadable_snapshot_means_the_usual_start(tmp_path: Path, content: str, caplog) -> None:  # type: ignore[no-untyped-def]
    config, kept = _config(tmp_path), tmp_path / "last-good"
    kept.mkdir()
    (kept / SNAPSHOT_NAME).write_text(content, encoding="latin-1")
    with caplog.at_level(logging.WARNING, logger="kiosk.shell.first_screen"):
        assert read_first_screen(config, kept) is None
    assert "first_screen.unreadable" in caplog.messages


def test_no_kiosk_toml_no_first_screen(tmp_path: Path) -> None:
    assert config_key(tmp_path / "nowhere") is None
    assert read_first_screen(tmp_path / "nowhere", tmp_path) is None


def test_saving_the_same_screen_writes_nothing_and_a_read_only_place_is_no_crash(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    config, kept = _config(tmp_path), tmp_path / "last-good"
    screen = _screen(config)
    save_first_screen(kept, screen)
    path = kept / SNAPSHOT_NAME
    os.utime(path, (1, 1))
    save_first_screen(kept, screen)
    assert path.stat().st_mtime == 1  # unchanged: not written again
    save_first_screen(kept, _screen(config, "<h1>Nouveau</h1>"))
    assert path.stat().st_mtime != 1
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger="kiosk.shell.first_screen"):
        save_first_screen(blocked / "last-good", screen)
    assert "first_screen.not_saved" in caplog.messages
    assert not list(kept.glob(".tmp-*"))  # no half-written file left behind


def test_the_first_screen_serves_only_the_welcome_page_and_static_files(tmp_path: Path) -> None:
    pages = FirstScreenPages(_screen(_config(tmp_path)))
    assert pages.render("attract", {}).body == "<h1>Touchez l'écran</h1>".encode()
    assert pages.static("kiosk.css").content_type == "text/css"
    for page in ("home", "help", "goodbye"):
        with pytest.raises(PageNotFound):
            pages.render(page, {})
    with pytest.raises(PageNotFound):
        pages.static("../templates/base.html")


def test_the_first_screen_is_shown_without_pydantic_jinja2_or_the_help_centre() -> None:
    """What `kiosk shell` needs up to its first screen imports none of what the configuration and
    the other pages need: that is the half second it saves."""
    code = (
        "import sys, os; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "import kiosk.cli, kiosk.shell.startup, kiosk.shell.app\n"
        "kiosk.cli.build_parser().parse_args(['shell'])\n"
        "heavy = ('pydantic', 'jinja2', 'kiosk.core.settings', 'kiosk.core.loading', 'kiosk.pages.library',"
        " 'kiosk.shell.assembly', 'kiosk.shell.controller', 'babel', 'idna', 'publicsuffixlist',"
        " 'kiosk.shell.web.browser')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
