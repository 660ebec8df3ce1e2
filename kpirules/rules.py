"""The scoring rules, each in one place: the exactness rule, comparisons with missing
values, band membership, curve scoring, level tests, limits and money rounding.

Every function works element-wise on numpy arrays and on plain Python numbers alike, so
the vectorised engine, `explain`, `kpirules test` and the linter apply literally the same
rule (an operator table shared by two runners, as cel-python does).

The exactness rule (docs/language.md, "Exactness"): arithmetic is carried at full
precision — indicator values and scores are never rounded before they are used — and
every number is rounded to `DECIMALS` decimal places (half-even) at the moment it is
compared or rounded to money. So a total that is exactly 70 in exact arithmetic meets
`score >= 70` even when binary floating point lands one ulp below, and an amount that is
exactly a half cent rounds by the declared mode.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np

DECIMALS = 9
_SCALE = 10**DECIMALS


def exact(value: Any) -> Any:
    """`value` rounded to DECIMALS places: what is compared, and what results report."""
    if isinstance(value, float):
        return float(np.round(value, DECIMALS))
    return np.round(value, DECIMALS)


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


# ------------------------------------------------------------------ comparisons

COMPARISONS = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def compare_numbers(op: str, left: Any, right: Any) -> Any:
    """A numeric comparison under the exactness rule (both sides rounded first)."""
    with np.errstate(invalid="ignore"):
        return COMPARISONS[op](exact(left), exact(right))


def compare_scalar(op: str, left: Any, right: Any) -> bool | None:
    """Three-valued: a comparison with a missing side is unknown (None)."""
    if is_missing(left) or is_missing(right):
        return None
    if _is_number(left) and _is_number(right):
        return bool(compare_numbers(op, float(left), float(right)))
    return bool(COMPARISONS[op](left, right))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal, np.number)) and not isinstance(value, bool)


def and3(left: bool | None, right: bool | None) -> bool | None:
    """Kleene AND: false wins, then unknown."""
    if left is False or right is False:
        return False
    return None if left is None or right is None else True


def or3(left: bool | None, right: bool | None) -> bool | None:
    """Kleene OR: true wins, then unknown."""
    if left is True or right is True:
        return True
    return None if left is None or right is None else False


def not3(value: bool | None) -> bool | None:
    return None if value is None else not value


def holds(value: bool | None) -> bool:
    """A condition holds only when it is known to be true."""
    return value is True


# ------------------------------------------------------------------ aggregates


def aggregate_of_nothing(func: str, has_rows: Any, matched: Any) -> Any:
    """An aggregate where no value is present: missing for someone with no rows at all;
    otherwise a count is 0, a sum is 0 when no row passed the filter and missing when
    rows passed but every value is missing, and anything else (mean, min, max, median,
    percentile) is missing — there is nothing to average."""
    if func in ("count", "count_distinct"):
        nothing = 0.0
    elif func == "sum":
        nothing = np.where(matched, np.nan, 0.0)
    else:
        nothing = np.nan
    result = np.where(has_rows, nothing, np.nan)
    return float(result) if np.ndim(result) == 0 else result


# ------------------------------------------------------------------ exact sums

# A sum of data values is exact: each value is taken at DECIMALS places as an integer
# (so 1,881,370.19 is 1,881,370,190,000,000), the integers are added exactly, and the
# total is divided back once. Row order — and so the runner — cannot change a sum, and a
# column of cents adds up to the cents an auditor gets by hand. To add exactly with
# float64 accumulators (numpy's bincount, SQL's SUM cast to DOUBLE), each integer is
# split into high and low bits: every partial sum of either part stays an integer below
# 2**53. Values of EXACT_SUM_LIMIT or more (beyond int64 at DECIMALS places) are added
# as plain floats, in every runner alike.
EXACT_SUM_LIMIT = 2.0**62 / _SCALE
LOW_BITS = 26
_LOW_MASK = 2**LOW_BITS - 1
_FLOAT_EXACT = 2.0**53


def exact_parts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values (finite, below EXACT_SUM_LIMIT) → the high and low parts of their integers
    at DECIMALS places, as float64. Every step is exact in float64 (a product by a power
    of two, a floor, a difference of integers that fits), and gives what SQL's
    `whole >> LOW_BITS` and `whole & (2**LOW_BITS - 1)` give."""
    whole = np.asarray(values, dtype="float64") * _SCALE
    np.rint(whole, out=whole)  # in place: these run over every row read
    high = whole * 2.0**-LOW_BITS
    np.floor(high, out=high)
    low = high * 2.0**LOW_BITS
    np.subtract(whole, low, out=low)
    return high, low


def exact_total(high: Any, low: Any) -> Any:
    """A sum from the sums of its high and low parts (`exact_parts`)."""
    high = np.asarray(high)
    low = np.asarray(low, dtype="float64")
    if high.dtype != object and np.all(np.abs(high) < 2.0**36):  # fits int64 put together
        whole = (high.astype(np.int64) << LOW_BITS) + low.astype(np.int64)
        total = whole.astype("float64") / _SCALE
    else:  # Python integers: float() of an int rounds correctly, as int64 → float64 does
        total = np.array(
            [float((int(h) << LOW_BITS) + int(lo)) / _SCALE for h, lo in zip(high, low)]
        )
    return float(total) if np.ndim(total) == 0 else total


def exact_sums(
    cells: np.ndarray, values: np.ndarray, size: int, rows: np.ndarray | None = None
) -> np.ndarray:
    """The exact sum per cell (0..size-1) of the known `values`: `cells[i]` holds
    `values[rows[i]]` (a windowed read puts one row in several cells; `rows` None: the
    i-th value). The parts are worked out once per row, not per cell."""
    values = np.asarray(values, dtype="float64")
    picked = np.arange(len(values)) if rows is None else rows
    known = ~np.isnan(values[picked])
    cells, picked = cells[known], picked[known]
    huge = len(picked) and np.nanmax(np.abs(values)) >= EXACT_SUM_LIMIT  # cheap first
    if huge and np.abs(values[picked]).max() >= EXACT_SUM_LIMIT:  # in a cell read
        return np.bincount(cells, weights=values[picked], minlength=size)
    high, low = exact_parts(np.nan_to_num(values))
    high, low = high[picked], low[picked]
    low_sums = np.bincount(cells, weights=low, minlength=size)  # exact below 2**27 rows
    largest = np.abs(high).max(initial=0.0)
    if largest * len(high) < _FLOAT_EXACT or (  # no partial sum can pass 2**53
        np.bincount(cells, weights=np.abs(high), minlength=size).max(initial=0) < _FLOAT_EXACT
    ):
        high_sums = np.bincount(cells, weights=high, minlength=size)
    else:  # partial sums past 2**53: add the high parts as integers
        exact_high = np.zeros(size, dtype=np.int64)
        np.add.at(exact_high, cells, high.astype(np.int64))
        high_sums = exact_high.astype(object)
    return exact_total(high_sums, low_sums)


# ------------------------------------------------------------------ bands and curves


def in_band(kind: str, low: Any, high: Any, value: Any) -> Any:
    """Whether `value` lies in a band (`between` is low-inclusive, high-exclusive)."""
    v = exact(value)
    with np.errstate(invalid="ignore"):
        if kind == "otherwise":
            return np.ones_like(v, dtype=bool) if isinstance(v, np.ndarray) else True
        if kind == "below":
            return v < float(high)
        if kind == "at_most":
            return v <= float(high)
        if kind == "above":
            return v > float(low)
        if kind == "at_least":
            return v >= float(low)
        return (v >= float(low)) & (v < float(high))


def curve_score(value: Any, xs: list[float], ys: list[float], otherwise: float, better: str) -> Any:
    """Piecewise linear through the points (ordered worst to best as written), flat
    beyond the last one, `otherwise` before the first one (for `closer`: outside the
    outermost points). A value exactly on the first point scores that point, whatever
    floating point makes of it. Missing stays missing."""
    v = np.asarray(value, dtype="float64")
    xs_arr = np.asarray(xs, dtype="float64")
    ys_arr = np.asarray(ys, dtype="float64")
    outside = before_first_point(v, xs, better)
    if better == "lower":  # mirror so values grow in the better direction
        v, xs_arr = -v, -xs_arr
    if len(xs_arr) > 1:  # flat beyond the outermost points, so an ulp outside scores them
        scores = np.interp(v, xs_arr, ys_arr)
    else:
        scores = np.full_like(v, ys_arr[0])
    scores = np.where(outside, float(otherwise), scores)
    scores = np.where(np.isnan(v), np.nan, scores)
    return float(scores) if np.ndim(scores) == 0 else scores


def before_first_point(value: Any, xs: list[float], better: str) -> Any:
    """Whether a value is worse than a curve's first point (for `closer`: outside the
    outermost points), so that it scores the curve's `otherwise`."""
    v = exact(np.asarray(value, dtype="float64"))
    first, last = exact(xs[0]), exact(xs[-1])
    with np.errstate(invalid="ignore"):
        if better == "closer":
            result = (v < first) | (v > last)
        elif better == "lower":
            result = v > first
        else:
            result = v < first
    return bool(result) if np.ndim(result) == 0 else result


def reaches(value: Any, levels: list[float], target: float | None, better: str) -> Any:
    """Whether a value reaches a curve level (`x reaches target`) in the indicator's
    direction; `closer` reaches when within the level's points on both sides of the
    target (or, with one point, no farther from the target than it)."""
    v = exact(np.asarray(value, dtype="float64"))
    with np.errstate(invalid="ignore"):
        if better == "lower":
            result = v <= levels[0]
        elif better == "closer" and len(levels) > 1:
            result = (v >= min(levels)) & (v <= max(levels))
        elif better == "closer":
            aim = levels[0] if target is None else target
            result = exact(np.abs(v - aim)) <= exact(abs(levels[0] - aim))
        else:
            result = v >= levels[0]
    return bool(result) if np.ndim(result) == 0 else result


def clip(value: Any, floor: Decimal | float | None, cap: Decimal | float | None) -> Any:
    """A score or total held between its floor and cap (missing stays missing)."""
    if floor is not None:
        value = np.maximum(value, float(floor))  # maximum, not fmax: NaN stays NaN
    if cap is not None:
        value = np.minimum(value, float(cap))
    return float(value) if np.ndim(value) == 0 else value


# ------------------------------------------------------------------ money

MONEY_MODES = ("half_even", "half_up", "down", "up")


def round_money(amounts: Any, mode: str, step: Decimal) -> Any:
    """Round to the declared step, from the amount rounded to DECIMALS places, in exact
    integer arithmetic: 4,577.575 is a half cent, and half-even makes it 4,577.58."""
    values = np.asarray(amounts, dtype="float64")
    missing = np.isnan(values)
    scaled = np.rint(np.where(missing, 0.0, values) * _SCALE)
    if np.any(np.abs(scaled) >= 2.0**62):  # beyond int64 at 9 decimals: Python integers
        whole = scaled.astype(object)
    else:
        whole = scaled.astype("int64")
    unit = int(Decimal(step) * _SCALE)
    sign = np.where(whole < 0, -1, 1)
    q, r = np.divmod(np.abs(whole), unit)
    if mode == "up":  # away from zero
        q = q + (r > 0)
    elif mode == "half_up":  # a half goes away from zero
        q = q + (2 * r >= unit)
    elif mode == "half_even":
        q = q + ((2 * r > unit) | ((2 * r == unit) & (q % 2 == 1)))
    rounded = (sign * q * unit).astype("float64") / _SCALE
    out = np.where(missing, np.nan, rounded)
    return float(out) if np.ndim(out) == 0 else out
