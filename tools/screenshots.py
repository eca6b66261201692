"""`make screenshots`: a PNG of every resident screen, at two terminal sizes.

Runs the real shell offscreen against a loopback web server (routed as Chromium's proxy)
so the démarche, blocked and form screens show real pages without any network.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.shellkit import write_test_config  # noqa: E402
from tests.webserver import LoopbackWeb  # noqa: E402

FORM = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Formulaire</title>
<style>body{font-family:'Noto Sans',sans-serif;font-size:22px;margin:2rem 3rem;color:#222}
label{display:block;margin-top:1rem;font-weight:600} input{font-size:24px;padding:.5rem;width:28rem}
header{background:#2a5c8a;color:#fff;padding:1rem 1.5rem;margin:-2rem -3rem 2rem}</style></head>
<body><header><strong>Site de démonstration</strong> — Connexion à votre espace</header>
<h1>Connectez-vous</h1><label for=id>Identifiant</label><input id=id autocomplete=off>
<label for=pw>Mot de passe</label><input id=pw type=password>
<p>Exemple de page d'un site de démarche.</p></body></html>"""


def arabic_tour(kiosk, shot, wait_for, settle) -> None:  # type: ignore[no-untyped-def]
    """The same screens in Arabic (right to left), reached the way a resident does: the picker."""
    from kiosk.shell.web.scheme import page_name

    kiosk.controller.session.activity()  # the goodbye screen: a touch brings the welcome screen
    wait_for(lambda: page_name(kiosk.window.lobby_view.page().url()) == "attract")
    settle()
    kiosk.window.lobby_view.page().runJavaScript("document.querySelector('.language[lang=ar]').click()")
    wait_for(lambda: page_name(kiosk.controller.current_url()) == "home" and kiosk.controller.language == "ar")
    shot("ar-home")
    kiosk.controller.open_page("help")
    wait_for(lambda: page_name(kiosk.controller.current_url()) == "help")
    shot("ar-help")
    kiosk.controller.session_page().runJavaScript("location.href='kiosk://borne/help?q=carte+vitale'")
    wait_for(lambda: "q=" in kiosk.controller.current_url().query())
    shot("ar-help-search")
    kiosk.controller.session_page().runJavaScript("location.href='kiosk://borne/article?slug=declarer-ses-revenus'")
    wait_for(lambda: page_name(kiosk.controller.current_url()) == "article")
    shot("ar-help-article")
    kiosk.controller.session_page().runJavaScript("location.href='kiosk://borne/article?slug=utiliser-la-borne'")
    wait_for(lambda: "utiliser-la-borne" in kiosk.controller.current_url().toString())
    shot("ar-help-article-translated")
    kiosk.controller.session_page().runJavaScript("location.href='http://evil.test/phishing'")
    wait_for(lambda: page_name(kiosk.controller.current_url()) == "blocked")
    shot("ar-blocked")
    kiosk.controller.end_session()
    wait_for(lambda: page_name(kiosk.window.lobby_view.page().url()) == "questions")
    shot("ar-questions")
    kiosk.window.lobby_view.page().runJavaScript("document.getElementById('skip').click()")
    wait_for(lambda: page_name(kiosk.window.lobby_view.page().url()) == "goodbye")
    shot("ar-goodbye")
    kiosk.controller.session.activity()
    wait_for(lambda: page_name(kiosk.window.lobby_view.page().url()) == "attract")
    shot("attract-after-ar")


def setup_page(config, directory: Path, size: tuple[int, int], save, wait_for) -> None:  # type: ignore[no-untyped-def]
    """The first-boot setup page, as the appliance shows it at its first start (no session, no
    top bar): empty, then with the centre's name typed and a problem said."""
    from kiosk.core.settings import SetupSettings
    from kiosk.devices.fakes import FakePrinter
    from kiosk.shell.assembly import build_kiosk
    from kiosk.shell.web.scheme import page_name

    paths = config.kiosk.paths.model_copy(update={"data_dir": directory})
    settings = config.kiosk.model_copy(update={"setup": SetupSettings(required=True), "paths": paths})
    technician = build_kiosk(
        type(config)(settings, config.tiles, config.kiosk_path, config.tiles_path),
        directory / "sessions",
        printer=FakePrinter(),
        store=None,
        template_cache=None,
    )
    technician.window.resize(*size)
    technician.window.show()
    wait_for(lambda: page_name(technician.window.lobby_view.page().url()) == "setup")
    save(technician, "setup")
    page = technician.window.lobby_view.page()
    page.runJavaScript("document.getElementById('centre').value = 'Centre social des Tilleuls';")
    page.runJavaScript("document.getElementById('ssid').value = 'Accueil-Public';")
    page.runJavaScript("document.getElementById('passphrase').value = 'court';")
    page.runJavaScript("document.querySelector('button[value=finish]').click();")
    wait_for(lambda: technician.setup is not None and bool(technician.setup.board.view.problems))
    save(technician, "setup-problem")
    technician.close()


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    web = LoopbackWeb().start()
    try:
        web.page("www.allowed.test", "/", FORM)
        from PySide6.QtCore import QEventLoop, QTimer

        from kiosk.core.loading import load_config
        from kiosk.core.ports import ManualClock
        from kiosk.devices.fakes import FakePrinter
        from kiosk.shell.app import create_application
        from kiosk.shell.assembly import Kiosk, build_kiosk
        from kiosk.shell.web.scheme import page_name

        create_application(chromium_flags=[f"--proxy-server=http://127.0.0.1:{web.port}"])

        def settle(ms: int = 700) -> None:
            loop = QEventLoop()
            QTimer.singleShot(ms, loop.quit)
            loop.exec()

        def wait_for(predicate, timeout_ms: int = 10_000) -> None:  # type: ignore[no-untyped-def]
            waited = 0
            while not predicate() and waited < timeout_ms:
                settle(50)
                waited += 50

        with tempfile.TemporaryDirectory() as tmp:
            sample = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml")
            test_dir = write_test_config(Path(tmp) / "cfg")
            test_config = load_config(test_dir / "kiosk.toml", test_dir / "tiles.toml")
            # The sample catalogue, plus the test tile that opens the loopback form.
            tiles = sample.tiles.model_copy(update={"tiles": (*sample.tiles.tiles, test_config.tiles.tile("allowed"))})
            config = type(sample)(
                kiosk=sample.kiosk, tiles=tiles, kiosk_path=sample.kiosk_path, tiles_path=sample.tiles_path
            )
            for width, height in ((1920, 1080), (1280, 800)):
                clock = ManualClock()
                kiosk = build_kiosk(
                    config, Path(tmp) / f"s{width}", printer=FakePrinter(), clock=clock, store=None, template_cache=None
                )
                kiosk.window.resize(width, height)
                kiosk.window.show()

                def shot(name: str, w: Kiosk = kiosk, size: int = width) -> None:
                    settle()
                    path = out / f"{name}-{size}.png"
                    w.window.grab().save(str(path))
                    print(path)

                wait_for(lambda w=kiosk: page_name(w.window.lobby_view.page().url()) == "attract")
                shot("attract")
                kiosk.controller.start_session()
                wait_for(lambda w=kiosk: page_name(w.controller.current_url()) == "home")
                shot("home")
                kiosk.controller.cycle_zoom()
                kiosk.controller.cycle_zoom()
                shot("home-zoom-max")
                kiosk.controller.cycle_zoom()
                kiosk.controller.open_page("help")
                wait_for(lambda w=kiosk: page_name(w.controller.current_url()) == "help")
                shot("help")
                kiosk.controller.session_page().runJavaScript(
                    "location.href='kiosk://borne/article?slug=declarer-ses-revenus'"
                )
                wait_for(lambda w=kiosk: page_name(w.controller.current_url()) == "article")
                settle(300)
                kiosk.controller.session_page().runJavaScript(
                    "var b=document.querySelector('.term-word'); b && b.click();"
                )
                shot("help-article")
                # The guide's "Imprimer ce guide": the viewer, then the print screen, then a range.
                kiosk.controller.session_page().runJavaScript("document.getElementById('print-guide').click()")
                wait_for(kiosk.window.pdf_shown)
                kiosk.window.pdf_viewer.print_button.click()
                shot("print-screen")
                kiosk.window.pdf_viewer.sheet.page_range.click()
                kiosk.window.pdf_viewer.sheet.copies_more.click()
                shot("print-screen-range")
                kiosk.window.pdf_viewer.sheet.cancel_button.click()
                kiosk.window.close_pdf()
                kiosk.controller.session_page().runJavaScript("location.href='kiosk://borne/glossary'")
                wait_for(lambda w=kiosk: page_name(w.controller.current_url()) == "glossary")
                shot("help-glossary")
                # No database here: the mediator page sends residents to the reception desk (its
                # other states: `make screenshots` also runs tests/integration/test_shell_mediator.py).
                kiosk.actions.dispatch("mediator")
                wait_for(lambda w=kiosk: page_name(w.controller.current_url()) == "mediator")
                shot("mediator")
                kiosk.controller.open_tile("allowed")
                wait_for(lambda w=kiosk: w.controller.current_url().host() == "www.allowed.test")
                settle(300)
                kiosk.window.activateWindow()
                kiosk.controller.session_view().setFocus()
                kiosk.controller.session_page().runJavaScript("document.getElementById('id').focus()")
                wait_for(lambda w=kiosk: w.window.keyboard.shown, 5000)
                shot("form-keyboard")
                kiosk.controller.session_page().runJavaScript("location.href='http://evil.test/phishing'")
                wait_for(lambda w=kiosk: page_name(w.controller.current_url()) == "blocked")
                shot("blocked")
                clock.advance(config.kiosk.session.idle_timeout_s + 1)
                kiosk.controller.session.tick()
                settle(1200)
                shot("idle-warning")
                kiosk.controller.end_session()
                wait_for(lambda w=kiosk: page_name(w.window.lobby_view.page().url()) == "questions")
                shot("questions-age")
                lobby = kiosk.window.lobby_view.page()
                for value in ("40_59", "oui"):
                    lobby.runJavaScript(
                        "var b=[...document.querySelectorAll('.question:not([hidden]) .choice')]"
                        f".find(x=>x.dataset.value=='{value}'); b && b.click();"
                    )
                    settle(500)
                shot("questions-satisfaction")
                lobby.runJavaScript("document.getElementById('skip').click()")
                wait_for(lambda w=kiosk: page_name(w.window.lobby_view.page().url()) == "goodbye")
                shot("goodbye")
                arabic_tour(kiosk, shot, wait_for, settle)
                kiosk.close()

                def save(w: Kiosk, name: str, size: int = width) -> None:
                    shot(name, w, size)

                setup_page(config, Path(tmp) / f"d{width}", (width, height), save, wait_for)
    finally:
        web.stop()
    return 0


if __name__ == "__main__":
    status = main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
    # PySide6 + QtWebEngine can crash in the garbage collector while the interpreter shuts down
    # (a segmentation fault after every screenshot was saved): leave without that phase, as
    # the test suite does, so that `make screenshots` says what happened.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
