"""The agent's help website at /aide: the same pages, web links, no kiosk:// left, safe files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kiosk.agent.web import create_help_site
from kiosk.core.loading import load_config

pytestmark = [pytest.mark.unit, pytest.mark.help]
REPO = Path(__file__).resolve().parents[2]

ARTICLE = """+++
title = "Télécharger une attestation"
category = "famille"
tile = "caf"
keywords = ["attestation", "papier caf"]
updated = 2026-11-25
prepare = ["Votre numéro allocataire"]
+++
Pour avoir une attestation.

## Étapes

1. Touchez **Mon compte** puis votre [[mot de passe]].

## Si ça ne marche pas

- Touchez **Contacter le médiateur**.
"""


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    help_dir = tmp_path / "help"
    (help_dir / "articles").mkdir(parents=True)
    (help_dir / "articles" / "caf-attestation.md").write_text(ARTICLE, encoding="utf-8")
    (help_dir / "glossary.toml").write_text(
        '[[terms]]\nterm = "mot de passe"\ndefinition = "Un code secret."\naliases = ["mdp"]\n', encoding="utf-8"
    )
    config = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml")
    return TestClient(create_help_site(config, help_dir))


def test_the_help_home_lists_guides_with_web_links(client: TestClient) -> None:
    page = client.get("/aide")
    assert page.status_code == 200 and "kiosk://" not in page.text
    assert 'href="/aide/guides/caf-attestation"' in page.text and 'href="/aide/glossaire"' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert client.get("/", follow_redirects=False).headers["location"] == "/aide"


def test_search_and_an_article_with_the_official_site(client: TestClient) -> None:
    found = client.get("/aide", params={"q": "atestation caf"})
    assert "Résultats pour" in found.text and "/aide/guides/caf-attestation" in found.text
    article = client.get("/aide/guides/caf-attestation")
    assert article.status_code == 200 and "kiosk://" not in article.text
    assert 'href="https://www.caf.fr/"' in article.text and "Aller sur le site officiel" in article.text
    assert 'class="term-word"' in article.text and "Un code secret." in article.text
    assert "Écouter" not in article.text  # read-aloud is the terminal's


def test_unknown_guides_and_files_are_404(client: TestClient) -> None:
    assert client.get("/aide/guides/nope").status_code == 404
    for path in ("/aide/static/../__init__.py", "/aide/static/%2e%2e/__init__.py", "/aide/static/help-videos/../x"):
        assert client.get(path).status_code == 404
    css = client.get("/aide/static/kiosk.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_the_glossary_page(client: TestClient) -> None:
    page = client.get("/aide/glossaire")
    assert page.status_code == 200 and re.search(r"<dt>mot de passe</dt>", page.text)
