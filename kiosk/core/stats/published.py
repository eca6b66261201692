"""The terminal's own figures over fixed periods, hidden by the federation's rule.

``kiosk stats report`` shows what the federation would publish for this terminal alone: the same
day figures as the batches (:mod:`.outgoing`), summed over ISO weeks and week-based months,
quarters and years (:mod:`sync.vocabulary.periods`), small cells hidden month by month by
:func:`sync.vocabulary.disclosure.suppress_month` with the terminal's secret. Sealed days never
change, so a period reads the same whenever it is asked for, and two overlapping periods cannot
be subtracted: they are made of the same whole weeks, hidden consistently.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from kiosk.core.stats.aggregate import DayAggregate
from kiosk.core.stats.outgoing import day_figures
from sync.protocol import cells
from sync.vocabulary.disclosure import Cell, Finest, GeoNode, suppress_month
from sync.vocabulary.figures import EXEMPT, families_for, family_leaves
from sync.vocabulary.periods import Period, month_of, months_between, week_of

HERE: GeoNode = ("centre", "borne")


@dataclass(frozen=True)
class Figure:
    true: int
    hidden: bool = False
    partial: bool = False  # answers: includes cells hidden on single days

    @property
    def value(self) -> int | None:
        """What may be shown: ``None`` when hidden."""
        return None if self.hidden else self.true


@dataclass
class Published:
    """Published figures per period label: (metric, key) → Figure."""

    periods: dict[str, dict[tuple[str, str], Figure]] = field(default_factory=lambda: defaultdict(dict))
    forced: dict[str, set[Cell]] = field(default_factory=lambda: defaultdict(set))


def publish(aggregates: Iterable[DayAggregate], last: Period, k: int, secret: bytes) -> Published:
    """Every month from the first day's to ``last`` (a month), with their weeks, quarters, years."""
    by_month: dict[Period, list[DayAggregate]] = defaultdict(list)
    for aggregate in aggregates:
        by_month[month_of(aggregate.day)].append(aggregate)
    out = Published()
    if not by_month:
        return out
    for month in months_between(min(by_month), last):
        _publish_month(out, month, by_month.get(month, []), k, secret)
        for longer in month.ancestors()[1:]:
            if longer.months()[-1] == month:
                _publish_longer(out, longer)
    return out


def _publish_month(out: Published, month: Period, days: list[DayAggregate], k: int, secret: bytes) -> None:
    tables: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    partial: set[tuple[str, str, str]] = set()  # week, metric, key
    for aggregate in days:
        week = Period.of_week(week_of(aggregate.day)).label
        for metric, key, value, hidden in cells(day_figures(aggregate, k, secret)):
            tables[week][metric][key] += value
            if hidden:
                partial.add((week, metric, key))
    metrics = {metric for per in tables.values() for metric in per}
    for family in families_for(metrics):
        values: dict[Finest, int] = {}
        for week, per in tables.items():
            for leaf, value in family_leaves(family, per).items():
                values[("borne", week, leaf)] = value
        result = suppress_month(family, month, {HERE: None}, values, k, secret, out.forced[family.name])
        out.forced[family.name] |= result.forced
        for (_, period, key), value in result.values.items():
            name = family.published(key)
            assert name is not None
            marked = (period, *name) in partial or (Period.parse(period).kind == "month" and _any_week(partial, name))
            out.periods[period][name] = Figure(value, (HERE, period, key) in result.hidden, marked)
        if family.root is None:
            for week, metric, key in partial:
                if metric == family.table:
                    for period in (week, month.label):
                        out.periods[period].setdefault((metric, key), Figure(0, partial=True))
    for week, per in tables.items():
        for metric in EXEMPT:
            value = per.get(metric, {}).get("", 0)
            for period in (week, month.label):
                before = out.periods[period].get((metric, ""), Figure(0))
                if value:
                    out.periods[period][(metric, "")] = Figure(before.true + value)


def _any_week(partial: set[tuple[str, str, str]], name: tuple[str, str]) -> bool:
    return any((metric, key) == name for _, metric, key in partial)


def _publish_longer(out: Published, period: Period) -> None:
    sums: dict[tuple[str, str], int] = defaultdict(int)
    partial: set[tuple[str, str]] = set()
    for month in period.months():
        for name, figure in out.periods.get(month.label, {}).items():
            sums[name] += figure.true
            if figure.partial:
                partial.add(name)
    hidden = set()
    for family in families_for([m for m, _ in sums]):
        for _, forced_period, key in out.forced[family.name]:
            published = family.published(key)
            if forced_period == period.label and published is not None:
                hidden.add(published)
    out.periods[period.label] = {name: Figure(value, name in hidden, name in partial) for name, value in sums.items()}


def publish_so_far(
    aggregates: Iterable[DayAggregate], period: Period, last_day: date, k: int, secret: bytes
) -> dict[tuple[str, str], Figure]:
    """``period``'s figures over its days up to ``last_day`` (the console's "this month"): every
    month to ``last_day``'s hidden as :func:`publish` hides it; a quarter or year not yet over is
    the sum of its months so far, with the cells its months' suppression forced hidden."""
    out = publish(aggregates, month_of(last_day), k, secret)
    if period.label not in out.periods and period.kind in ("quarter", "year"):
        _publish_longer(out, period)
    return dict(out.periods.get(period.label, {}))
