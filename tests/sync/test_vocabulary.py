"""One vocabulary for the terminal and the federation: a catalogue the server accepts is one the
terminal merges (categories, tile words, ids, icons, origins), and both sides hide small cells
with the same rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings, target
from hypothesis import strategies as st
from pydantic import ValidationError

from kiosk.core.catalogue import merge
from kiosk.core.loading import load_config
from sync.protocol import Catalogue
from sync.vocabulary import Category

pytestmark = [pytest.mark.unit, pytest.mark.sync]
REPO = Path(__file__).resolve().parents[2]
LOCAL = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml").tiles
ICONS = REPO / "config" / "icons"

GOOD_ORIGINS = ["*.monespacesante.fr", "www.service-public.fr", "app.franceconnect.gouv.fr", "http://*.example.org"]
ODD_ORIGINS = [
    "*.gouv.fr",  # a public suffix: every site of the State
    "*.fr",
    "1.2.3.4",
    "https://x.example.fr/path",
    "ftp://files.example.fr",
    "impôts.gouv.fr",  # Unicode: the terminal reads it as punycode
    "exa mple.fr",
    "localhost",
    "x.example.fr:99999",
    "x.example.fr:8443",
    "*.*.example.fr",
    "a..b.fr",
    "-a.example.fr",
    "xn--zz.example.fr",
    "",
]


def _mostly(valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` four times in five, else ``odd``: enough catalogues pass the server to test the terminal."""
    return st.integers(0, 4).flatmap(lambda n: odd if n == 0 else valid)


def _sized(shortest: int, longest: int) -> st.SearchStrategy[str]:
    """Words of every length in the range, both ends included, in several scripts."""
    repeated = st.builds(lambda n, c: c * n, st.integers(shortest, longest), st.sampled_from(["a", "é", "ع", " "]))
    return st.one_of(repeated, st.text(min_size=shortest, max_size=longest))


ORIGINS = _mostly(st.sampled_from(GOOD_ORIGINS), st.one_of(st.sampled_from(ODD_ORIGINS), st.text(max_size=24)))
# Usual values of a national tile's fields, and odd ones (too long, unknown, malformed…).
USUAL: dict[str, st.SearchStrategy[Any]] = {
    "id": st.one_of(
        st.sampled_from(["mon-espace-sante", "caf"]),  # "caf" is also a local tile
        st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True),
    ),
    "label": _sized(1, 40),
    "description": _sized(1, 140),
    "icon": st.sampled_from(["famille.svg", "information.svg", "nope.svg"]),
    "category": st.sampled_from([c.value for c in Category]),
    "url": st.just("https://www.example.fr/"),
    "origins": st.lists(ORIGINS, min_size=1, max_size=3),
}
ODD: dict[str, st.SearchStrategy[Any]] = {
    "id": st.one_of(
        st.sampled_from(["Caf", "mon_espace", "v1.2", "a/b", "-a", "a-", "é", "x" * 65]),
        st.from_regex(r"[a-z0-9][a-z0-9_./-]{0,127}", fullmatch=True),  # what the wire's table keys allow
    ),
    "label": st.one_of(st.just(""), _sized(41, 90)),
    "description": st.one_of(st.just(""), _sized(141, 220)),
    "icon": st.sampled_from(["a/b.svg", "x.png", "", "../x.svg"]),
    "category": st.sampled_from(["Papiers", "sante", ""]),
    "url": st.sampled_from(["http://www.example.fr/", "ftp://a.fr/", "https://" + "x" * 500]),
    "origins": st.just([]),
}
OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "origin_groups": st.lists(st.sampled_from(["franceconnect", "national-login", "unknown"]), max_size=2),
    "translations": st.dictionaries(
        st.sampled_from(["en", "ar", "pt", "de", "fr"]),
        st.fixed_dictionaries({"label": _mostly(_sized(1, 40), ODD["label"]), "description": _sized(0, 220)}),
        max_size=3,
    ),
}
USUAL_TILE = st.fixed_dictionaries(USUAL, optional=OPTIONAL)
ODD_TILE = st.tuples(USUAL_TILE, st.sampled_from(sorted(ODD)).flatmap(lambda key: st.tuples(st.just(key), ODD[key])))
TILES = _mostly(USUAL_TILE, ODD_TILE.map(lambda pair: {**pair[0], pair[1][0]: pair[1][1]}))  # one field odd
CATALOGUES = st.fixed_dictionaries(
    {
        "version": st.integers(1, 3),
        "origin_groups": st.dictionaries(st.sampled_from(["national-login", "x"]), st.lists(ORIGINS, max_size=2)),
        "tiles": _mostly(st.lists(TILES, max_size=3, unique_by=lambda tile: tile["id"]), st.lists(TILES, max_size=3)),
    }
)

LONG_LABEL: dict[str, Any] = {
    "version": 1,
    "tiles": [
        {
            "id": "mon-espace-sante",
            "label": "Mon espace santé : votre carnet de santé en ligne, vos documents et vos messages",
            "description": "Votre carnet de santé en ligne.",
            "icon": "sante.svg",
            "category": "social_sante",
            "url": "https://www.monespacesante.fr/",
            "origins": ["*.monespacesante.fr"],
        }
    ],
}


def _server_accepts(data: dict[str, Any]) -> dict[str, Any] | None:
    """The catalogue as the server publishes it and the agent saves it, or None if refused."""
    try:
        return Catalogue.model_validate(data).model_dump(mode="json")
    except ValidationError:
        return None


def test_a_label_the_server_accepts_is_one_the_terminal_shows() -> None:
    assert len(LONG_LABEL["tiles"][0]["label"]) == 80
    published = _server_accepts(LONG_LABEL)
    if published is not None:  # accepted by the server: the terminal must merge it too
        merge(LOCAL, published, ICONS)
    shorter = {**LONG_LABEL, "tiles": [{**LONG_LABEL["tiles"][0], "label": "Mon espace santé"}]}
    published = _server_accepts(shorter)
    assert published is not None
    assert merge(LOCAL, published, ICONS).tile("mon-espace-sante").label == "Mon espace santé"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CATALOGUES)
@example(LONG_LABEL)
def test_whatever_catalogue_the_server_accepts_the_terminal_merges(data: dict[str, Any]) -> None:
    published = _server_accepts(data)
    accepted = len(published["tiles"]) if published is not None else -1
    event(f"server accepted {accepted} tiles" if published is not None else "refused by the server")
    target(float(accepted), label="national tiles the server accepted")  # steer towards accepted tiles
    if published is None:
        return
    merged = merge(LOCAL, published, ICONS)  # ValueError: the terminal would drop the whole catalogue
    local_ids = {tile.id for tile in LOCAL.tiles}
    assert {t.id for t in merged.tiles} == local_ids | {t["id"] for t in published["tiles"]}


def test_terminal_and_server_hide_small_cells_with_one_rule() -> None:
    from kiosk.core.stats import published, suppression
    from sync import vocabulary
    from sync.server import publication
    from sync.vocabulary import disclosure

    assert suppression.suppress_table is vocabulary.suppress_table  # a day's answers, in every batch
    assert published.suppress_month is publication.suppress_month is disclosure.suppress_month  # every period
    assert published.families_for is publication.families_for  # the same families published
