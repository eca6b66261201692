"""The code stays in small modules: no module of kiosk/ over 450 lines, the window a thin view."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
KIOSK = Path(__file__).resolve().parents[2] / "kiosk"


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_module_of_the_terminal_is_over_450_lines() -> None:
    sizes = {str(p.relative_to(KIOSK)): lines(p) for p in KIOSK.rglob("*.py")}
    assert len(sizes) > 40
    assert {name: n for name, n in sizes.items() if n > 450} == {}


def test_the_window_is_a_thin_view() -> None:
    assert lines(KIOSK / "shell" / "window.py") < 300
