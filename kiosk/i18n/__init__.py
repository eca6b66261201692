"""The kiosk's own words in the residents' languages: gettext catalogues, read with Babel.

French is the source language: every message id is the French text, so French needs no
catalogue and a string missing from another catalogue shows in French, never as a key.
Catalogues are the ``.po`` files in this package (``<code>/LC_MESSAGES/kiosk.po``), compiled in
memory when first used: there is no ``.mo`` to forget to rebuild. No Qt here: the shell, the
agent's website and the tests use the same translators.

Strings in Python are marked with ``N_`` (they stay French in the code and are translated where
they are shown); templates use ``{% trans %}`` and ``_()``. ``make i18n`` extracts them into
``kiosk.pot`` and merges the catalogues.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
DOMAIN = "kiosk"
DEFAULT_LANGUAGE = "fr"

SUPPORTED: tuple[str, ...] = ("fr", "en", "ar", "pt")
"""Languages with a complete catalogue, in the order the language picker shows them."""

NATIVE: dict[str, tuple[str, str]] = {
    "fr": ("Français", "ltr"),
    "en": ("English", "ltr"),
    "ar": ("العربية", "rtl"),
    "pt": ("Português", "ltr"),
}
"""Each supported language's name in its own language and its writing direction, as Babel's
locale data (CLDR) gives them: ``tests/unit/test_language_names.py`` checks that they agree. Written out because
reading that data for the picker cost a twentieth of a second of each start of the kiosk."""


def N_(message: str) -> str:  # noqa: N802 (the gettext convention, which `make i18n` looks for)
    """Mark a string for translation where it is defined; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in its own language, as a resident looks for it: "العربية", "English"
    direction: str  # "ltr" or "rtl"

    @property
    def rtl(self) -> bool:
        return self.direction == "rtl"


@cache
def language(code: str) -> Language:
    """The language ``code`` (one of SUPPORTED); an unknown code is French."""
    if code not in SUPPORTED:
        code = DEFAULT_LANGUAGE
    name, direction = NATIVE[code]
    return Language(code, name, direction)


def languages(codes: tuple[str, ...] | list[str] = SUPPORTED) -> list[Language]:
    return [language(code) for code in codes if code in SUPPORTED]


def catalogue_path(code: str) -> Path:
    return HERE / code / "LC_MESSAGES" / f"{DOMAIN}.po"


class Translator:
    """``gettext``/``ngettext`` for one language; French (and a broken catalogue) is identity."""

    def __init__(self, lang: Language, translations: NullTranslations) -> None:
        self.language = lang
        self._translations = translations

    @property
    def code(self) -> str:
        return self.language.code

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._translations.ngettext(singular, plural, n)

    def __call__(self, message: str, **values: object) -> str:
        """``t("Bonjour %(name)s", name=...)``: translated, then the values put in."""
        text = self.gettext(message)
        return text % values if values else text

    @property
    def translations(self) -> NullTranslations:
        return self._translations


@cache
def translator(code: str) -> Translator:
    """The translator of ``code``, built once per process. A catalogue that cannot be read is
    logged and its language falls back to French: the kiosk keeps serving residents."""
    lang = language(code)
    if lang.code == DEFAULT_LANGUAGE:
        return Translator(lang, NullTranslations())
    from babel.messages.mofile import write_mo  # only for other languages than French
    from babel.messages.pofile import read_po

    try:
        with catalogue_path(lang.code).open("rb") as po:
            catalog = read_po(po, locale=lang.code, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        return Translator(lang, GNUTranslations(buffer))
    except Exception as error:  # a damaged .po must never stop the kiosk
        log.error("i18n.catalogue_unreadable", extra={"language": lang.code, "error": str(error)[:300]})
        return Translator(language(DEFAULT_LANGUAGE), NullTranslations())
