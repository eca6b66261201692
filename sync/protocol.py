"""The wire format between terminals and the federation server.

Versioned pydantic models, shared by the client (``kiosk agent``) and the server. The server
accepts every version listed in :data:`SUPPORTED_BATCH_VERSIONS`, so terminals in the field keep
syncing while the fleet is updated. ``python -m sync.protocol DIR`` writes the JSON Schemas.

Nothing in a batch identifies a resident: the figures are counts for one terminal and one day,
with the residents' answers already suppressed below the terminal's threshold (``None`` cells).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from sync.vocabulary import (
    DEFAULT_K,
    MAX_K,
    MEDIATOR_COUNTS,
    MIN_K,
    PRINTING_COUNTS,
    SCALARS,
    TABLES,
    Category,
)
from sync.vocabulary.fields import IconName, Origin, TileDescription, TileId, TileLabel

BATCH_VERSION: Literal[2] = 2
SUPPORTED_BATCH_VERSIONS = (1, 2)
HEARTBEAT_VERSION = 1
MAX_BATCH_BYTES = 256 * 1024
MAX_TABLE_KEYS = 300  # keys in any one table of a day (tiles, help articles, answers of a question…)
MAX_DAY_KEYS = 3000  # keys in all the tables of a day together

_CATEGORIES = {category.value for category in Category}
_KEY = re.compile(r"[a-z0-9][a-z0-9_./-]{0,127}")
_DEVICE = re.compile(r"[A-Za-z0-9_-]{4,64}")


def _key(value: str) -> str:
    if not _KEY.fullmatch(value):
        raise ValueError(f"{value!r} is not a table key (a-z, 0-9, _ . / -, at most 128)")
    return value


def _device(value: str) -> str:
    if not _DEVICE.fullmatch(value):
        raise ValueError(f"{value!r} is not a device id")
    return value


Key = Annotated[str, AfterValidator(_key)]
DeviceId = Annotated[str, AfterValidator(_device)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]
Table = Annotated[dict[Key, Count], Field(max_length=MAX_TABLE_KEYS)]
AnswerTable = Annotated[dict[Key, Count | None], Field(max_length=MAX_TABLE_KEYS)]  # None: hidden cell


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mediator(_Wire):
    opened: Count = 0
    taken: Count = 0
    done: Count = 0
    missed: Count = 0
    waits: Table = Field(default_factory=dict)
    median_wait_s: float | None = Field(default=None, ge=0, le=86_400)  # version 1 only: dropped on receipt


class Printing(_Wire):
    jobs: Count = 0
    pages_printed: Count = 0
    pages_held: Count = 0
    pages_released: Count = 0
    pages_cancelled: Count = 0
    pages_staff: Count = 0  # absent from batches of terminals older than this count: 0


class DayFigures(_Wire):
    """One terminal's figures for one day. Version 2: durations and waits as buckets only,
    refusals counted per tile (``blocked``: tile → count, never a domain), tiles keyed
    ``category/tile``. The two version 1 fields (``total_duration_s``, ``median_wait_s``) are
    accepted from version 1 batches only and dropped on receipt (:func:`upgrade`)."""

    sessions: Count = 0
    sessions_ended: Count = 0
    total_duration_s: Count = 0  # version 1 only
    end_reasons: Table = Field(default_factory=dict)
    durations: Table = Field(default_factory=dict)
    hours: list[Count] = Field(default_factory=lambda: [0] * 24, min_length=24, max_length=24)
    tiles: Table = Field(default_factory=dict)
    categories: Table = Field(default_factory=dict)
    blocked: Table = Field(default_factory=dict)
    help_views: Table = Field(default_factory=dict)
    help_searches: Count = 0
    help_searches_empty: Count = 0
    mediator: Mediator = Field(default_factory=Mediator)
    appointments_booked: Table = Field(default_factory=dict)
    appointments_cancelled: Table = Field(default_factory=dict)
    printing: Printing = Field(default_factory=Printing)
    scan_pages: Count = 0
    tickets: Count = 0
    device_errors: Table = Field(default_factory=dict)
    answers_asked: Count = 0
    answers: dict[Key, AnswerTable] = Field(default_factory=dict, max_length=MAX_TABLE_KEYS)
    suppression_k: int = Field(default=DEFAULT_K, ge=MIN_K, le=MAX_K)
    events_lost: Count = 0
    late_events: Count = 0
    undated_events: Count = 0

    @model_validator(mode="after")
    def _not_too_many_keys(self) -> DayFigures:
        keys = sum(len(table) for table in self.answers.values()) + len(self.mediator.waits)
        keys += sum(len(value) for name, value in self if isinstance(value, dict) and name != "answers")
        if keys > MAX_DAY_KEYS:
            raise ValueError(f"{keys} keys in the day's tables: at most {MAX_DAY_KEYS}")
        return self


class DailyBatch(_Wire):
    """What a terminal uploads for one closed day. Its id is deterministic: a retry is the same batch."""

    version: Literal[1, 2] = BATCH_VERSION
    kind: Literal["daily_usage"] = "daily_usage"
    batch_id: str = Field(pattern=r"^[A-Za-z0-9_-]{4,64}:\d{4}-\d{2}-\d{2}:v\d+$", max_length=100)
    device_id: DeviceId
    day: date
    figures: DayFigures

    @staticmethod
    def make_id(device_id: str, day: date, version: int = BATCH_VERSION) -> str:
        return f"{device_id}:{day.isoformat()}:v{version}"

    def payload_hash(self) -> str:
        return payload_hash(self.model_dump(mode="json"))

    @model_validator(mode="after")
    def _version_2_carries_no_exact_figure(self) -> DailyBatch:
        figures = self.figures
        if self.version >= 2:
            if figures.total_duration_s or figures.mediator.median_wait_s is not None:
                raise ValueError("a version 2 batch has no total_duration_s nor median_wait_s: durations go in buckets")
            bad = [key for key in figures.tiles if key.split("/")[0] not in _CATEGORIES or key.count("/") != 1]
            if bad:
                raise ValueError(f"tiles are keyed 'category/tile' in version 2: {', '.join(bad[:3])}")
            domains = [key for key in figures.blocked if "." in key]
            if domains:
                raise ValueError("blocked counts refusals per tile in version 2, never per domain")
        return self


def upgrade(figures: DayFigures, version: int) -> DayFigures:
    """A day's figures in the current version: what version 1 sent and version 2 no longer
    carries is dropped (exact durations, the median wait, refused domains, tiles whose category
    the batch did not say — counted under their category as ``category/inconnue``)."""
    if version >= BATCH_VERSION:
        return figures
    data = figures.model_dump()
    data["total_duration_s"] = 0
    data["mediator"]["median_wait_s"] = None
    data["tiles"] = {f"{cat}/inconnue": n for cat, n in figures.categories.items() if n}
    refused = sum(figures.blocked.values())
    data["blocked"] = {"inconnue": refused} if refused else {}
    return DayFigures.model_validate(data)


class DeviceStatus(_Wire):
    state: Literal["ok", "warning", "error", "absent"] = "absent"
    code: Key | None = None  # e.g. "paper_out", "offline"


class Heartbeat(_Wire):
    version: Literal[1] = 1
    device_id: DeviceId
    software_version: str = Field(max_length=40, pattern=r"^[0-9A-Za-z.+_-]+$")
    uptime_s: int = Field(ge=0, le=3650 * 86_400)
    last_sync_at: datetime | None = None
    printer: DeviceStatus = Field(default_factory=DeviceStatus)
    scanner: DeviceStatus = Field(default_factory=DeviceStatus)
    ticket_printer: DeviceStatus = Field(default_factory=DeviceStatus)
    disk_free_mb: int = Field(ge=0, le=2**40)
    device_clock: datetime
    outbox_waiting: Count = 0


class CatalogueTileText(_Wire):
    label: TileLabel
    description: TileDescription


class CatalogueTile(_Wire):
    """A national tile: the same words, id, icon, category and origins as a terminal's own tiles
    (:mod:`sync.vocabulary`), so that what the server accepts every terminal can show."""

    id: TileId
    label: TileLabel
    description: TileDescription
    icon: IconName
    category: Category
    url: str = Field(max_length=500, pattern=r"^https://")
    origins: list[Origin] = Field(min_length=1, max_length=50)
    origin_groups: list[Key] = Field(default_factory=list)
    # The tile's words in other languages than French, by ISO 639-1 code ("en", "ar", …).
    translations: dict[Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")], CatalogueTileText] = Field(
        default_factory=dict, max_length=20
    )


class Catalogue(_Wire):
    """The national tiles, pulled by terminals (the centre's own tiles stay local)."""

    version: int = Field(ge=1, le=2**31 - 1)
    origin_groups: dict[Key, list[Origin]] = Field(default_factory=dict)
    tiles: list[CatalogueTile] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalogue:
        ids = [tile.id for tile in self.tiles]
        twice = sorted({tile_id for tile_id in ids if ids.count(tile_id) > 1})
        if twice:
            raise ValueError(f"several tiles have the id {', '.join(twice)}; ids must be unique")
        return self


class Enrolment(_Wire):
    code: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    software_version: str = Field(max_length=40, pattern=r"^[0-9A-Za-z.+_-]+$")


class EnrolmentAnswer(_Wire):
    device_id: DeviceId
    token: str
    centre_name: str


class IngestAnswer(_Wire):
    status: Literal["stored", "already_stored"]
    batch_id: str
    clock_skew_flagged: bool = False


def cells(figures: DayFigures) -> Iterator[tuple[str, str, int, int]]:
    """``(metric, key, value, hidden)`` for every non-zero figure of a day: the names the server
    sums and publishes (and the terminal's report too). A single count has the key ""."""
    yield "terminal_days", "", 1, 0
    for name in SCALARS:
        value = getattr(figures, name)
        if value:
            yield name, "", value, 0
    for name in TABLES:
        for key, value in getattr(figures, name).items():
            if value:
                yield name, key, value, 0
    for hour, value in enumerate(figures.hours):
        if value:
            yield "hours", str(hour), value, 0
    for field in MEDIATOR_COUNTS:
        if getattr(figures.mediator, field):
            yield "mediator", field, getattr(figures.mediator, field), 0
    for key, value in figures.mediator.waits.items():
        if value:
            yield "mediator_waits", key, value, 0
    for field in PRINTING_COUNTS:
        if getattr(figures.printing, field):
            yield "printing", field, getattr(figures.printing, field), 0
    for question, table in figures.answers.items():
        for answer, count in table.items():
            if count is None:
                yield f"answers.{question}", answer, 0, 1
            elif count:
                yield f"answers.{question}", answer, count, 0


def payload_hash(data: Any) -> str:
    """SHA-256 of the canonical JSON of ``data`` (sorted keys, no spaces): same figures, same hash."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


SCHEMAS: dict[str, type[BaseModel]] = {
    "daily-batch.v2": DailyBatch,
    "heartbeat.v1": Heartbeat,
    "catalogue.v1": Catalogue,
    "enrolment.v1": Enrolment,
}


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/protocol")):
        print(written_path)
