"""Where the kiosk keeps its files unless ``[paths]`` says otherwise, and the environment
variables that override them (systemd units, tests, the bench).

Known without reading the configuration: the last good copy of a broken configuration, and the
welcome screen painted before the configuration is read (``kiosk.shell.first_screen``), are
found here. The standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR = Path("/var/lib/kiosk")
SESSION_ROOT = Path("/run/kiosk/sessions")
LAST_GOOD_DIR = DATA_DIR / "last-good-config"

ENV_OVERRIDES = {
    "KIOSK_DATA_DIR": "data_dir",
    "KIOSK_SESSION_ROOT": "session_root",
    "KIOSK_LAST_GOOD_DIR": "last_good_dir",
}
"""Environment variable → ``[paths]`` key it overrides, whatever the configuration says."""


def last_good_dir() -> Path:
    """Where the last good configuration is kept: it cannot come from a configuration that may
    be broken, so only the environment moves it."""
    return Path(os.environ.get("KIOSK_LAST_GOOD_DIR") or LAST_GOOD_DIR)


def default_config_dir() -> Path:
    """KIOSK_CONFIG_DIR, else /etc/kiosk when it holds a kiosk.toml, else the checkout's config/."""
    env = os.environ.get("KIOSK_CONFIG_DIR")
    if env:
        return Path(env)
    etc = Path("/etc/kiosk")
    if (etc / "kiosk.toml").is_file():
        return etc
    return Path(__file__).resolve().parents[2] / "config"
