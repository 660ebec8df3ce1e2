"""Units of measure and the rules for combining them (`percent + money` is an error)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Column types and indicator units map onto a few dimensions.
COLUMN_TYPES = (
    "text",
    "number",
    "integer",
    "money",
    "percent",
    "bool",
    "date",
    "days",
    "hours",
    "minutes",
)
INDICATOR_UNITS = (
    "count",
    "number",
    "percent",
    "ratio",
    "money",
    "days",
    "hours",
    "minutes",
    "score",
)
DURATION_UNITS = {  # unit word → (canonical name, minutes per unit)
    "day": ("days", Decimal(1440)),
    "days": ("days", Decimal(1440)),
    "hour": ("hours", Decimal(60)),
    "hours": ("hours", Decimal(60)),
    "h": ("hours", Decimal(60)),
    "minute": ("minutes", Decimal(1)),
    "minutes": ("minutes", Decimal(1)),
    "min": ("minutes", Decimal(1)),
}
PERIOD_UNITS = ("periods",)


def article(word: str) -> str:
    """`a goal`, `an indicator`."""
    return ("an " if word[:1] in "aeiou" else "a ") + word


NUMERIC_KINDS = ("number", "percent", "money", "duration")


@dataclass(frozen=True)
class Dim:
    """The type of a value: its kind, and the unit for money (currency) and durations."""

    kind: str  # number percent money duration bool text date period list any
    unit: str | None = None
    literal: bool = False  # a bare number literal adapts to the other operand's unit

    def __str__(self) -> str:
        if self.kind == "money":
            return f"money ({self.unit})" if self.unit else "money"
        if self.kind == "duration":
            return self.unit or "duration"
        return self.kind

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS or self.kind == "any"

    @property
    def dimensionless(self) -> bool:
        return self.kind in ("number", "percent")

    def plain(self) -> Dim:
        return Dim(self.kind, self.unit)


NUMBER = Dim("number")
LITERAL_NUMBER = Dim("number", literal=True)
PERCENT = Dim("percent")
BOOL = Dim("bool")
TEXT = Dim("text")
DATE = Dim("date")
PERIOD = Dim("period")
ANY = Dim("any")  # unknown after an earlier error: accepted everywhere, reported once


def money(currency: str | None) -> Dim:
    return Dim("money", currency)


def duration(unit: str) -> Dim:
    return Dim("duration", DURATION_UNITS[unit][0])


def of_column_type(type_name: str, currency: str | None) -> Dim:
    if type_name in ("number", "integer"):
        return NUMBER
    if type_name == "percent":
        return PERCENT
    if type_name == "money":
        return money(currency)
    if type_name in ("days", "hours", "minutes"):
        return duration(type_name)
    return {"text": TEXT, "bool": BOOL, "date": DATE}.get(type_name, ANY)


def of_indicator_unit(unit: str, currency: str | None) -> Dim:
    if unit in ("count", "number", "ratio", "score"):
        return NUMBER
    if unit == "percent":
        return PERCENT
    if unit == "money":
        return money(currency)
    if unit in ("days", "hours", "minutes"):
        return duration(unit)
    return ANY


def compatible(a: Dim, b: Dim) -> bool:
    """Can values of these dimensions be added, subtracted or compared?"""
    if a.kind == "any" or b.kind == "any":
        return True
    if (a.literal and b.numeric) or (b.literal and a.numeric):
        return True
    if a.dimensionless and b.dimensionless:
        return True
    if a.kind != b.kind:
        return False
    if a.kind == "money":
        return a.unit is None or b.unit is None or a.unit == b.unit
    return True  # durations convert; text, dates, bools compare within their kind


def add(a: Dim, b: Dim) -> Dim | None:
    if not (a.numeric and b.numeric) or not compatible(a, b):
        return None
    if a.kind == "any" or b.kind == "any":
        return ANY
    if a.literal and not b.literal:
        return b.plain()
    if b.literal and not a.literal:
        return a.plain()
    if a.dimensionless and b.dimensionless:
        both_literal = a.literal and b.literal
        kind = "percent" if a.kind == b.kind == "percent" else "number"
        return Dim(kind, literal=both_literal and kind == "number")
    return a.plain()


def multiply(a: Dim, b: Dim) -> Dim | None:
    if not (a.numeric and b.numeric):
        return None
    if a.kind == "any" or b.kind == "any":
        return ANY
    if a.dimensionless and b.dimensionless:
        return Dim("number", literal=a.literal and b.literal)
    if a.dimensionless:
        return b.plain()
    if b.dimensionless:
        return a.plain()
    return None  # money × days has no meaning here


def divide(a: Dim, b: Dim) -> Dim | None:
    if not (a.numeric and b.numeric):
        return None
    if a.kind == "any" or b.kind == "any":
        return ANY
    if b.dimensionless:
        return a.plain() if not a.dimensionless else Dim("number", literal=a.literal and b.literal)
    if a.kind == b.kind and compatible(a, b):
        return NUMBER  # a ratio: money / money, days / days
    return None


def assignable(value: Dim, declared: Dim) -> bool:
    """May a formula of dimension `value` define an indicator of unit `declared`?"""
    if value.kind == "any" or declared.kind == "any":
        return True
    if declared.dimensionless:
        return value.dimensionless
    if value.literal and value.dimensionless:
        return True
    return compatible(value.plain(), declared)
