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
    objects: list[bytes] = [b"<</Type/Catalog/Pages 2 0 R>>", b""]  # 2: the page tree, filled below
    kids = []
    font = 3
    objects.append(b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>")
    for n in range(pages):
        lines = "".join(f"BT /F1 11 Tf 60 {760 - 16 * i} Td (Ligne {i} de la page {n + 1}) Tj ET\n" for i in range(40))
        stream = lines.encode()
        objects.append(b"<</Length %d>>stream\n%s\nendstream" % (len(stream), stream))
        content = len(objects)
        objects.append(
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents %d 0 R/Resources<</Font<</F1 %d 0 R>>>>>>"
            % (content, font)
        )
        kids.append(len(objects))
    objects[1] = b"<</Type/Pages/Kids[%s]/Count %d>>" % (b" ".join(b"%d 0 R" % k for k in kids), pages)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


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
