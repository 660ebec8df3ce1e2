"""Numbers as a manager reads them: by the indicator's unit, in the sheet's language.

Fixed rounding everywhere, so the same results always print the same text.
"""

from __future__ import annotations

import math

from kpirules.feedback.labels import Labels


def missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: float, decimals: int) -> str:
    """Thousands separators, at most `decimals` places, no trailing zeros, no `-0`."""
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class Formatter:
    """Formats values for one sheet: its language and the policy's currency."""

    def __init__(self, labels: Labels, currency: str | None):
        self.labels = labels
        self.currency = currency

    # ------------------------------------------------------------ values

    def value(self, value: float | None, unit: str) -> str:
        """An indicator value (or a threshold, target, median…) in its unit."""
        if missing(value):
            return self.labels["none"]
        if unit == "percent":
            return f"{_plain(value * 100, 1)}%"
        if unit == "money":
            return self.money(value, decimals=0 if abs(value) >= 1000 else 2)
        if unit in ("days", "hours", "minutes"):
            number = _plain(value, 2)
            key = "unit_day" if unit == "days" and number == "1" else f"unit_{unit}"
            return self.labels.format(key, n=number)
        if unit == "count":
            return _plain(value, 1)
        return _plain(value, 2)  # number, ratio, score

    def change(self, delta: float | None, unit: str) -> str:
        """A signed difference in the indicator's unit; percentages in points."""
        if missing(delta):
            return self.labels["none"]
        sign = "+" if delta > 0 else "−" if delta < 0 else "±"
        size = abs(delta)
        if unit == "percent":
            return sign + self.labels.format("unit_pp", n=_plain(size * 100, 1))
        return sign + self.value(size, unit)

    def money(self, amount: float | None, decimals: int = 2) -> str:
        if missing(amount):
            return self.labels["none"]
        number = f"{amount:,.{decimals}f}"
        if not self.currency:
            return number
        currency = self.labels.get(f"currency_{self.currency}", self.currency)
        if self.labels.lang == "en":
            currency = self.currency  # the ISO code reads best in English
        return self.labels.format("money", currency=currency, n=number)

    # ------------------------------------------------------------ scores

    def score(self, score: float | None) -> str:
        return self.labels["none"] if missing(score) else f"{score:.1f}"

    def points(self, points: float | None) -> str:
        if missing(points):
            return self.labels["none"]
        return self.labels.format("unit_points", n=f"{points:.1f}")

    def weight(self, weight: float | None) -> str:
        return self.labels["none"] if missing(weight) else f"{_plain(weight * 100, 1)}%"

    def share(self, share: float | None) -> str:
        return self.labels["none"] if missing(share) else f"{_plain(share * 100, 1)}%"

    def percentile(self, percentile: float | None) -> str:
        return self.labels["none"] if missing(percentile) else f"{percentile:.0f}"

    def count(self, count: float | None) -> str:
        return self.labels["none"] if missing(count) else f"{int(count)}"
