"""Read-aloud: the text of a kiosk page spoken in its language (QtTextToSpeech, speech-dispatcher
with espeak-ng on the appliance: French, English, Arabic, Portuguese voices). It stops when the
page or the session changes.

The engine is anything with ``say(text)``, ``stop()`` and optionally ``setLocale(locale)``: a
real ``QTextToSpeech``, or in tests a fake that records what it was asked to say.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Protocol, cast

from PySide6.QtCore import QLocale, QObject
from PySide6.QtWebEngineCore import QWebEnginePage

log = logging.getLogger(__name__)

MAX_CHARS = 6000  # a long article is read in full; a runaway page is not


class SpeechEngine(Protocol):
    def say(self, text: str) -> None: ...

    def stop(self, boundary: object = ...) -> None: ...


def default_engine(parent: QObject | None) -> SpeechEngine | None:
    """A French voice through speech-dispatcher if the machine has one, else None (no button).

    ``KIOSK_SPEECH=off`` in the environment turns read-aloud off (tests, a terminal without speakers).
    """
    if os.environ.get("KIOSK_SPEECH", "").lower() == "off":
        return None
    try:
        from PySide6.QtTextToSpeech import QTextToSpeech
    except ImportError:
        return None
    engines = QTextToSpeech.availableEngines()
    if "speechd" not in engines:
        log.warning("read_aloud.no_engine", extra={"engines": engines})
        return None
    speech = QTextToSpeech("speechd", parent)
    speech.setLocale(QLocale(QLocale.Language.French, QLocale.Country.France))
    return cast(SpeechEngine, speech)  # QTextToSpeech.stop(boundary) has a default the stubs omit


# The text of a kiosk page to read aloud, and its language (a French guide inside a page in
# another language is read with the French voice). PySide returns a JS array as "": JSON it is.
_READ_SCRIPT = (
    "(function(){var m=document.querySelector('main')||document.body;"
    "var a=m.querySelector('article[lang]');var c=(a||m).cloneNode(true);"
    "c.querySelectorAll('.read-aloud,script,[hidden],.term-def,.languages').forEach(function(e){e.remove();});"
    "return JSON.stringify([c.innerText,(a||document.documentElement).lang]);})()"
)


class ReadAloud(QObject):
    def __init__(self, engine: SpeechEngine | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.speaking = False

    @property
    def available(self) -> bool:
        return self.engine is not None

    def read(self, text: str, language: str = "fr") -> None:
        """Say ``text`` with the voice of ``language`` (an ISO code such as "fr" or "ar")."""
        if self.engine is None:
            return
        text = " ".join(text.split())[:MAX_CHARS]
        if not text:
            return
        self.stop()
        set_locale = getattr(self.engine, "setLocale", None)
        if set_locale is not None:
            set_locale(QLocale(language or "fr"))
        self.engine.say(text)
        self.speaking = True
        log.info("read_aloud.started", extra={"chars": len(text), "language": language})

    def read_page(self, page: QWebEnginePage, language: str) -> None:
        """Read one of our pages: its main text, with the voice of the guide it shows, if any."""

        def speak(result: object) -> None:
            try:
                text, lang = json.loads(str(result))
            except (ValueError, TypeError):
                return
            self.read(str(text or ""), language=str(lang or language))

        page.runJavaScript(_READ_SCRIPT, 0, speak)

    def stop(self, *_signal_args: object) -> None:
        if self.engine is not None and self.speaking:
            self.engine.stop()
        self.speaking = False
