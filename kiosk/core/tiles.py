"""The tile vocabulary: what a tile of ``tiles.toml`` (or of the national catalogue) is.

A tile is a démarche the resident can open: its words (French, and translations), its
pictogram, its start URL and the origins its browser may reach. :class:`TilesConfig` is the
whole file, with the origin groups tiles share (FranceConnect) and the navigation policy of each
tile. The démarche categories, the limits of a tile's words, its id and icon rules and the origin
rules are the vocabulary shared with the federation server (:mod:`sync.vocabulary`). Reading the
file and reporting its problems is :mod:`kiosk.core.loading`'s job.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kiosk.core.policy import NavigationPolicy, Permission
from kiosk.i18n import SUPPORTED
from sync.vocabulary import Category
from sync.vocabulary.fields import IconName, TileDescription, TileId, TileLabel
from sync.vocabulary.origins import check_origin


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TileText(_Strict):
    """A tile's words in another language than French."""

    label: TileLabel
    description: TileDescription


class Tile(_Strict):
    """One tile. Its category, words, id and icon follow the vocabulary the federation shares
    (:mod:`sync.vocabulary`), so a national tile the server accepts is one this terminal shows."""

    id: TileId
    label: TileLabel
    description: TileDescription
    icon: IconName
    category: Category
    url: str
    origins: tuple[str, ...] = ()
    origin_groups: tuple[str, ...] = ()
    permissions: frozenset[Permission] = frozenset()
    translations: dict[str, TileText] = Field(default_factory=dict)

    @field_validator("translations")
    @classmethod
    def _translation_languages(cls, value: dict[str, TileText]) -> dict[str, TileText]:
        unknown = sorted(code for code in value if code not in SUPPORTED or code == "fr")
        if unknown:
            others = ", ".join(code for code in SUPPORTED if code != "fr")
            raise ValueError(f"no such language {', '.join(unknown)}: translate into {others} (French is label)")
        return value

    def text(self, language: str) -> tuple[str, str, str]:
        """(label, description, language of those words): the translation, else the French."""
        translated = self.translations.get(language)
        if translated is None:
            return self.label, self.description, "fr"
        return translated.label, translated.description, language

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("the start URL must begin with https://")
        return value

    @field_validator("origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            check_origin(origin)  # raises ValueError with the reason
        return value


class TilesConfig(_Strict):
    origin_groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    tiles: tuple[Tile, ...] = Field(min_length=1)

    @field_validator("origin_groups")
    @classmethod
    def _groups(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for origins in value.values():
            for origin in origins:
                check_origin(origin)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TilesConfig:
        seen: set[str] = set()
        for tile in self.tiles:
            if tile.id in seen:
                raise ValueError(f"two tiles have the id {tile.id!r}; ids must be unique")
            seen.add(tile.id)
        return self

    def tile(self, tile_id: str) -> Tile:
        for tile in self.tiles:
            if tile.id == tile_id:
                return tile
        raise KeyError(tile_id)

    def origins_for(self, tile: Tile) -> tuple[str, ...]:
        expanded = list(tile.origins)
        for group in tile.origin_groups:
            expanded.extend(self.origin_groups.get(group, ()))
        return tuple(dict.fromkeys(expanded))

    def policy_for(self, tile: Tile) -> NavigationPolicy:
        return NavigationPolicy.from_strings(self.origins_for(tile))

    def by_category(self) -> list[tuple[Category, list[Tile]]]:
        groups: list[tuple[Category, list[Tile]]] = []
        for category in Category:
            members = [t for t in self.tiles if t.category is category]
            if members:
                groups.append((category, members))
        return groups


def icons_dir(tiles_path: Path) -> Path:
    """The tiles' pictograms: ``icons/`` beside ``tiles.toml``."""
    return tiles_path.parent / "icons"
