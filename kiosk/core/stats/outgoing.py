"""What leaves the terminal for one day (batch version 2), and the same figures for its report.

Durations and mediator waits only as buckets (no exact total, no median); refused navigations
counted per tile (the domain stays in the event, which is deleted 7 days after it is counted);
tiles as ``category/tile``; the residents' answers with every cell below k hidden.
"""

from __future__ import annotations

from kiosk.core.stats.aggregate import DayAggregate
from kiosk.core.stats.suppression import suppress_answers
from sync.protocol import DayFigures, Mediator, Printing


def day_figures(aggregate: DayAggregate, k: int, salt: bytes) -> DayFigures:
    """The aggregate with the answers suppressed (``salt``: the terminal's secret)."""
    data = aggregate.model_dump(mode="json", exclude={"version", "day", "weekday", "answers", "mediator", "printing"})
    return DayFigures(
        **data,
        mediator=Mediator(**aggregate.mediator.model_dump()),
        printing=Printing(**aggregate.printing.model_dump()),
        answers_asked=aggregate.asked,
        answers=suppress_answers(aggregate.answers, k, salt + aggregate.day.isoformat().encode()),
        suppression_k=k,
    )
