"""The devices page's "Relevé de la borne" panel: the shell's last device health snapshot.

The shell owns the devices and writes what it sees (:mod:`kiosk.core.device_health`): this
panel reads that row, so it shows the touchscreen and the printer's supplies (toner, ink: the IPP
marker levels, as a number and a bar) as the terminal itself sees them. The other panels probe
the devices live from the agent; the two agree unless something changed in the last minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from kiosk.agent.console.accounts import Login
from kiosk.agent.console.context import ConsoleContext
from kiosk.agent.console.health import LEVEL_WORDS, Prober
from kiosk.core.device_health import DEVICES, HEALTH_STALE_S, LABELS, UNKNOWN_WORDS, low_markers, read_health
from kiosk.core.devices import Marker


@dataclass(frozen=True)
class MarkerLine:
    name: str
    level: int | None
    low: bool

    @property
    def text(self) -> str:
        return f"{self.name} : {'niveau inconnu' if self.level is None else f'{self.level} %'}" + (
            " (bas)" if self.low else ""
        )


@dataclass(frozen=True)
class ReportLine:
    device: str  # its label, in French
    level: str  # ok, warning, error, absent (the CSS class)
    level_words: str
    words: str  # "papier bas"
    code: str  # "paper_low": what the logs and the statistics say
    markers: tuple[MarkerLine, ...] = ()


def _markers(markers: tuple[Marker, ...]) -> tuple[MarkerLine, ...]:
    low = low_markers(markers)
    return tuple(MarkerLine(m.name or m.kind, m.level, m in low) for m in markers)


async def snapshot(ctx: ConsoleContext, _login: Login, _prober: Prober) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        with ctx.db() as store:
            health = read_health(store, ctx.clock.now())
        if health is None:
            return {"reports": [], "seen": None, "unknown": UNKNOWN_WORDS, "stale_min": HEALTH_STALE_S // 60}
        lines = [
            ReportLine(
                LABELS[name],
                item.state,
                LEVEL_WORDS[item.state],
                item.words,
                item.code,
                _markers(item.markers),
            )
            for name in DEVICES
            if (item := health.devices.get(name)) is not None
        ]
        return {"reports": lines, "seen": health.at.astimezone(ctx.zone).strftime("%H:%M:%S")}

    return await run_in_threadpool(read)
