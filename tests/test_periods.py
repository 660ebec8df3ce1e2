"""Periods by cadence and fiscal year start, worked out by hand."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from kpirules.periods import Calendar


@pytest.mark.parametrize(
    ("cadence", "start", "day", "label", "first", "last"),
    [
        ("monthly", 1, date(2026, 3, 15), "2026-03", date(2026, 3, 1), date(2026, 3, 31)),
        ("quarterly", 1, date(2026, 5, 2), "2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
        ("yearly", 1, date(2026, 12, 31), "FY2026", date(2026, 1, 1), date(2026, 12, 31)),
        # Fiscal year from April: FY2026 is April 2026 to March 2027; its Q1 is Apr–Jun.
        ("quarterly", 4, date(2026, 4, 1), "2026-Q1", date(2026, 4, 1), date(2026, 6, 30)),
        ("quarterly", 4, date(2027, 2, 28), "2026-Q4", date(2027, 1, 1), date(2027, 3, 31)),
        ("quarterly", 4, date(2026, 3, 31), "2025-Q4", date(2026, 1, 1), date(2026, 3, 31)),
        ("yearly", 4, date(2027, 3, 31), "FY2026", date(2026, 4, 1), date(2027, 3, 31)),
        # Months are calendar months whatever the fiscal year.
        ("monthly", 4, date(2026, 4, 9), "2026-04", date(2026, 4, 1), date(2026, 4, 30)),
    ],
)
def test_period_of_a_date(cadence, start, day, label, first, last):
    calendar = Calendar(cadence, start)
    ordinal = calendar.ordinal_of_date(day)
    assert calendar.label(ordinal) == label
    assert (calendar.start(ordinal), calendar.end(ordinal)) == (first, last)
    assert calendar.parse(label) == ordinal
    series = pd.Series(pd.to_datetime([day.isoformat(), None]))
    assert calendar.ordinals(series).tolist() == [ordinal, pd.NA]


def test_consecutive_periods_and_ranges():
    calendar = Calendar("quarterly", 4)
    periods = calendar.between(date(2026, 1, 1), date(2026, 12, 31))
    assert [calendar.label(p) for p in periods] == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert periods == list(range(periods[0], periods[0] + 4))
    assert calendar.days(calendar.parse("2026-Q4")) == 31 + 28 + 31  # Jan–Mar 2027


def test_labels_of_another_cadence_do_not_parse():
    assert Calendar("quarterly").parse("2026-03") is None
    assert Calendar("monthly").parse("2026-13") is None
    assert Calendar("yearly").parse("2026-Q1") is None
