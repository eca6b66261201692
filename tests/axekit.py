"""axe-core in headless Chromium, for the a11y tests. axe-core comes from the PyPI package
axe-playwright-python, which ships it (no npm needed); only its script is used."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest

from kiosk.pages import KioskLinks

AXE = Path(str(files("axe_playwright_python") / "axe.min.js"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def launch(pw):  # type: ignore[no-untyped-def]
    return pw.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert AXE.is_file(), "axe-core is missing: run `make deps` (axe-playwright-python, the `test` extra)"
    with sync_playwright() as pw:
        chromium = launch(pw)
        try:
            yield chromium
        finally:
            chromium.close()


def serious_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe's serious and critical violations on the page. The script is evaluated through the
    DevTools protocol, which a page's CSP does not govern (the console's refuses a <script> tag)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


class ServedKioskLinks(KioskLinks):
    """The kiosk's own pages served over HTTP for Chromium: their style sheet and icons fetched
    from the help site."""

    def static(self, path: str) -> str:
        return f"/aide/static/{path}"
