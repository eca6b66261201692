"""What the bench's residents do: one démarche on a loopback web server, on the shipped config.

The shipped configuration (``config/``: its tiles, questions and help) is copied with one tile
added, ``bench``, whose site is served by ``tests/webserver.py:LoopbackWeb`` through Chromium's
``--proxy-server``: nothing leaves the machine. Its page does what a real démarche leaves
behind: a cookie, local and session storage, an IndexedDB database, a form field typed in,
and a PDF (an "avis") downloaded, which the kiosk opens in its PDF viewer.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.pdfkit import text_pdf
from tests.webserver import LoopbackWeb, Response

REPO = Path(__file__).resolve().parents[1]
HOST = "www.demarche.test"
TILE_ID = "bench"

BENCH_TILE = """
[[tiles]]
id = "{tile}"
label = "Démarche de mesure"
description = "Un site local qui laisse des cookies, du stockage et un avis en PDF."
icon = "{icon}"
category = "autre"
url = "http://{host}/"
origins = ["http://*.demarche.test"]
"""

# The page stores everything first, then downloads the avis: the PDF on screen means all is stored.
DEMARCHE = """<!doctype html><html lang=fr><meta charset=utf-8><title>Votre démarche</title>
<h1>Votre démarche</h1>
<form><label>Nom <input id=nom name=nom autocomplete=on></label></form>
<script>
document.getElementById('nom').value = 'Jeanne Dupont';
document.cookie = 'session=' + 'c'.repeat(200) + '; max-age=86400; path=/';
document.cookie = 'consentement=oui; max-age=31536000; path=/';
localStorage.setItem('brouillon', 'x'.repeat(200000));
sessionStorage.setItem('etape', 'y'.repeat(20000));
var open = indexedDB.open('dossier', 1);
open.onupgradeneeded = function () { open.result.createObjectStore('pieces'); };
open.onsuccess = function () {
  var db = open.result, t = db.transaction('pieces', 'readwrite');
  for (var i = 0; i < 20; i++) t.objectStore('pieces').put('z'.repeat(10000), 'piece-' + i);
  t.oncomplete = function () { db.close(); location.href = '/avis.pdf'; };
};
</script>
"""


def avis_pdf(pages: int = 3) -> bytes:
    """A small valid PDF with text on each page (what a tax notice or a certificate looks like)."""
    return text_pdf([[f"Ligne {i} de la page {n + 1}" for i in range(40)] for n in range(pages)])


def serve_demarche() -> LoopbackWeb:
    """The démarche's site, started (stop it with ``.stop()``)."""
    web = LoopbackWeb().start()
    web.page(HOST, "/", DEMARCHE)
    web.add(HOST, "/avis.pdf", Response(avis_pdf(), content_type="application/pdf"))
    return web


def shipped_config_with_bench_tile(directory: Path) -> Path:
    """A copy of ``config/`` (every setting as shipped) with the bench tile added."""
    shutil.copytree(REPO / "config", directory, dirs_exist_ok=True)
    icon = sorted(p.name for p in (directory / "icons").glob("*.svg"))[0]
    tiles = directory / "tiles.toml"
    with tiles.open("a", encoding="utf-8") as handle:
        handle.write(BENCH_TILE.format(tile=TILE_ID, icon=icon, host=HOST))
    return directory
