"""The vocabulary's checks as pydantic field types, for the models of both sides (the terminal's
tiles, the wire format). Apart from :mod:`sync.vocabulary` so that importing the vocabulary
never imports pydantic."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from sync.vocabulary import TILE_DESCRIPTION_MAX, TILE_LABEL_MAX, check_icon_name, check_tile_id
from sync.vocabulary.origins import check_origin

TileId = Annotated[str, AfterValidator(check_tile_id)]
TileLabel = Annotated[str, Field(min_length=1, max_length=TILE_LABEL_MAX)]
TileDescription = Annotated[str, Field(min_length=1, max_length=TILE_DESCRIPTION_MAX)]
IconName = Annotated[str, AfterValidator(check_icon_name)]
Origin = Annotated[str, AfterValidator(check_origin)]
