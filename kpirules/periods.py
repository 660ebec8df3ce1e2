"""Periods by cadence: numbering, labels, date ranges, and vectorised date → period.

A period is identified by an ordinal (an int, consecutive periods differ by 1) so that
"previous period" and "last N periods" are integer arithmetic. Labels:

- monthly: `2026-03` (calendar months);
- quarterly: `2026-Q1`, the first quarter of fiscal year 2026;
- yearly: `FY2026`, the fiscal year that starts in 2026.

With `fiscal_year_start 4`, FY2026 runs from 2026-04-01 to 2027-03-31 and 2026-Q1 is
April–June 2026. With the default (1), fiscal years and quarters are calendar ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

MONTHS_PER = {"monthly": 1, "quarterly": 3, "yearly": 12}


@dataclass(frozen=True)
class Calendar:
    cadence: str = "quarterly"
    fiscal_year_start: int = 1  # month number

    @property
    def months(self) -> int:
        return MONTHS_PER[self.cadence]

    def _month_index(self, year, month):
        """Months since year 0, shifted so a period boundary falls on a multiple."""
        shift = 0 if self.cadence == "monthly" else self.fiscal_year_start - 1
        return year * 12 + (month - 1) - shift

    def ordinal_of_date(self, day: date) -> int:
        return self._month_index(day.year, day.month) // self.months

    def ordinals(self, dates: pd.Series) -> pd.Series:
        """Vectorised: a datetime64 series → period ordinals (nullable Int64)."""
        valid = dates.notna()
        years = dates.dt.year.fillna(0).astype(np.int64)
        months = dates.dt.month.fillna(1).astype(np.int64)
        result = (self._month_index(years, months) // self.months).astype("Int64")
        return result.where(valid, pd.NA)

    def start(self, ordinal: int) -> date:
        shift = 0 if self.cadence == "monthly" else self.fiscal_year_start - 1
        months = ordinal * self.months + shift
        return date(months // 12, months % 12 + 1, 1)

    def end(self, ordinal: int) -> date:
        return self.start(ordinal + 1) - timedelta(days=1)

    def label(self, ordinal: int) -> str:
        if self.cadence == "monthly":
            start = self.start(ordinal)
            return f"{start.year:04d}-{start.month:02d}"
        fiscal_year = (ordinal * self.months) // 12
        if self.cadence == "yearly":
            return f"FY{fiscal_year:04d}"
        quarter = (ordinal * self.months) % 12 // 3 + 1
        return f"{fiscal_year:04d}-Q{quarter}"

    def parse(self, label: str) -> int | None:
        """A period label of this cadence → ordinal; None if it is not one."""
        if self.cadence == "monthly" and (m := re.fullmatch(r"(\d{4})-(\d{2})", label)):
            month = int(m.group(2))
            return (
                self.ordinal_of_date(date(int(m.group(1)), month, 1)) if 1 <= month <= 12 else None
            )
        if self.cadence == "quarterly" and (m := re.fullmatch(r"(\d{4})-Q([1-4])", label)):
            return (int(m.group(1)) * 12 + (int(m.group(2)) - 1) * 3) // 3
        if self.cadence == "yearly" and (m := re.fullmatch(r"FY(\d{4})", label)):
            return int(m.group(1))
        return None

    def between(self, first: date, last: date) -> list[int]:
        """Every period that overlaps [first, last]."""
        return list(range(self.ordinal_of_date(first), self.ordinal_of_date(last) + 1))

    def days(self, ordinal: int) -> int:
        return (self.end(ordinal) - self.start(ordinal)).days + 1


def calendar_of(policy) -> Calendar:
    """The calendar a checked policy declares (a library without a header: quarterly)."""
    header = policy.header
    if header is None:
        return Calendar()
    return Calendar(header.cadence, header.fiscal_year_start)
