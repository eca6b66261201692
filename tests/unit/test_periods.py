"""The published periods: ISO weeks, and months, quarters and years of whole weeks."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.vocabulary.periods import Period, PeriodError, month_of, snap, week_of

pytestmark = [pytest.mark.unit, pytest.mark.stats]


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)))
def test_every_day_lies_in_one_week_of_one_month_of_one_quarter_of_one_year(day: date) -> None:
    week = Period.of_week(week_of(day))
    chain = week.ancestors()
    assert [p.kind for p in chain] == ["week", "month", "quarter", "year"]
    for shorter, longer in itertools.pairwise(chain):
        assert shorter in longer.children()
        assert longer.first_day <= shorter.first_day and shorter.last_day <= longer.last_day
    for period in chain:
        assert period.first_day <= day <= period.last_day
        assert period.first_day.weekday() == 0 and period.last_day.weekday() == 6  # whole weeks
        assert Period.parse(period.label) == period
    assert month_of(day) == chain[1]


@given(st.integers(2001, 2099))
def test_the_months_of_a_year_cover_it_without_gap_or_overlap(year: int) -> None:
    months = Period("year", year).months()
    assert len(months) == 12
    for before, after in itertools.pairwise(months):
        assert before.last_day + timedelta(days=1) == after.first_day
    assert months[0].first_day == Period("year", year).first_day
    assert months[-1].last_day == Period("year", year).last_day


def test_a_month_is_the_weeks_whose_thursday_it_holds() -> None:
    march = Period.parse("2026-03")
    assert (march.first_day, march.last_day) == (date(2026, 3, 2), date(2026, 3, 29))
    assert [p.label for p in march.children()] == ["2026-W10", "2026-W11", "2026-W12", "2026-W13"]
    assert Period.parse("2026").first_day == date(2025, 12, 29)
    assert march.french() == "mars 2026 (du 2 mars 2026 au 29 mars 2026)"


@pytest.mark.parametrize(
    ("label", "message"),
    [("2026-13", "months are 01 to 12"), ("2026-W54", "weeks 1 to 53"), ("26-03", "is not a period"), ("1999", "2000")],
)
def test_bad_labels_say_how_to_write_one(label: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        Period.parse(label)


def test_only_exact_periods_are_snapped() -> None:
    assert snap(date(2026, 3, 2), date(2026, 3, 29)) == Period.parse("2026-03")
    assert snap(date(2026, 3, 2), date(2026, 3, 8)) == Period.parse("2026-W10")
    with pytest.raises(PeriodError, match="whole ISO weeks"):
        snap(date(2026, 3, 1), date(2026, 3, 31))
