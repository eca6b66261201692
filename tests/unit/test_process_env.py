"""What importing the kiosk sets in its own process's environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE = (
    "import os, kiosk.core.settings\n"
    "from pydantic.plugin._loader import get_plugins\n"
    "print(os.environ.get('PYDANTIC_DISABLE_PLUGINS'), len(list(get_plugins())))\n"
)


def _run(env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_the_kiosk_skips_pydantic_plugin_discovery() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    assert _run(env) == "__all__ 0"


def test_an_operators_choice_of_pydantic_plugins_wins() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    assert _run({**env, "PYDANTIC_DISABLE_PLUGINS": "logfire"}).startswith("logfire ")
