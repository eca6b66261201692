"""The long-wait alert: staff told once when a mediator call has waited more than N minutes.

One alert per call and channel (webhook, e-mail), under the key ``alert:<call id>:<channel>``;
retried a few times while the call still waits, dropped once it does not (taken, cancelled,
missed). What it says: the call's number of the day, its démarche category, the minutes waited
and the terminal's name — never the resident's first name. Pure; the agent's job sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kiosk.core.mediation.calls import Call, CallState
from kiosk.core.mediation.notices import NoticeChannel

UNKNOWN_CATEGORY = "Je ne sais pas"


def alert_key(call_id: int, channel: NoticeChannel) -> str:
    return f"alert:{call_id}:{channel.value}"


def overdue(calls: Iterable[Call], now: datetime, after_min: int) -> list[Call]:
    """The calls still waiting that were opened ``after_min`` minutes ago or more."""
    limit = now - timedelta(minutes=after_min)
    return [call for call in calls if call.state is CallState.WAITING and call.opened <= limit]


def minutes_waited(call: Call, now: datetime) -> int:
    return max(0, int((now - call.opened).total_seconds() // 60))


@dataclass(frozen=True)
class AlertText:
    payload: dict[str, Any]  # the webhook's JSON
    subject: str
    email: str


def alert_text(call: Call, now: datetime, terminal: str) -> AlertText:
    minutes = minutes_waited(call, now)
    label = call.category.label if call.category is not None else UNKNOWN_CATEGORY
    payload = {
        "event": "mediator_call_waiting",
        "number": call.number,
        "category": call.category.value if call.category is not None else None,
        "category_label": label,
        "minutes": minutes,
        "terminal": terminal,
    }
    subject = f"Borne : le n° {call.number} attend un médiateur depuis {minutes} minutes"
    email = "\n".join(
        [
            f"Le n° {call.number} attend un médiateur depuis {minutes} minutes.",
            f"Démarche : {label}",
            f"Borne : {terminal}",
            "",
            "Prenez l'appel dans la console (Appels), ou allez voir la personne à la borne.",
        ]
    )
    return AlertText(payload, subject, email)
