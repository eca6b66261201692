"""The picker's language names and directions, written out in ``kiosk.i18n.NATIVE`` for a quick
start, are still those of Babel's locale data (CLDR), for every supported language."""

from __future__ import annotations

import pytest
from babel import Locale

from kiosk.i18n import NATIVE, SUPPORTED, language

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("code", SUPPORTED)
def test_each_language_is_named_in_its_own_words_and_written_its_own_way(code: str) -> None:
    locale = Locale.parse(code)
    name = locale.get_display_name(code) or code
    assert (language(code).name, language(code).direction) == (name[:1].upper() + name[1:], locale.text_direction)


def test_every_supported_language_and_only_those_has_its_name() -> None:
    assert set(NATIVE) == set(SUPPORTED)
