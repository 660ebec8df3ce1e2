"""Trend: each indicator (or total) over the periods of the results — direction, slope
and the run of consecutive improvements or declines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpirules.analysis.entries import entry_table
from kpirules.analysis.scope import DECIMALS, check_scope, in_scope, oriented, roster_columns
from kpirules.results import Results

TREND_COLUMNS = [
    "subject",
    "name",
    "department",
    "scorecard",
    "indicator",
    "better",
    "periods",
    "first",
    "last",
    "values",
    "slope",
    "direction",
    "streak",
]

# A trend is flat when the least-squares slope, in the better direction, moves less than
# 1% of the series' mean absolute level per period (exactly 0 for a series at 0).
FLAT_TOLERANCE = 0.01


def trends(
    results: Results, *, subject: str | None = None, department: str | None = None
) -> pd.DataFrame:
    """One row per (subject, scorecard, indicator) over every period of the results.

    The results must hold several periods: evaluate with `history=True` (or without a
    period). A value counts in the periods the person is on the scorecard. Columns:
    `TREND_COLUMNS`; `values` has one float per `results.periods` (NaN where missing).
    """
    check_scope(results, subject, department)
    scores = _scoped(results.scores, results, subject, department)
    entries = entry_table(results.policy)[["scorecard", "indicator", "better", "target"]]
    return _trend(scores, ["subject", "scorecard", "indicator"], entries, results)


def score_trends(
    results: Results, *, subject: str | None = None, department: str | None = None
) -> pd.DataFrame:
    """The same as `trends` for each person's total score on each scorecard: one row per
    (subject, scorecard), `indicator` is "total" and higher is better."""
    check_scope(results, subject, department)
    totals = _scoped(results.totals, results, subject, department)
    totals = totals[["subject", "period", "scorecard", "total"]].rename(columns={"total": "value"})
    totals = totals.assign(indicator="total")
    cards = pd.DataFrame(
        {"scorecard": list(results.policy.scorecards), "indicator": "total", "better": "higher"}
    ).assign(target=np.nan)
    return _trend(totals, ["subject", "scorecard", "indicator"], cards, results)


def _scoped(frame: pd.DataFrame, results: Results, subject, department) -> pd.DataFrame:
    if subject is not None:
        return frame[frame["subject"] == subject]
    if department is not None:
        people = in_scope(roster_columns(results), None, department)["subject"]
        return frame[frame["subject"].isin(people)]
    return frame


def _trend(
    long: pd.DataFrame, keys: list[str], entries: pd.DataFrame, results: Results
) -> pd.DataFrame:
    periods = list(results.periods)
    wide = (
        long.set_index([*keys, "period"])["value"]
        .astype("float64")
        .unstack("period")
        .reindex(columns=periods)
        .sort_index()
    )
    frame = wide.index.to_frame(index=False)
    frame = frame.merge(entries, on=["scorecard", "indicator"], how="left", validate="m:1")
    values = wide.to_numpy(dtype="float64")
    present = ~np.isnan(values)
    count = present.sum(axis=1)
    frame["periods"] = count
    frame["first"] = _at(values, np.argmax(present, axis=1), count)
    frame["last"] = _at(values, len(periods) - 1 - np.argmax(present[:, ::-1], axis=1), count)
    frame["values"] = list(map(tuple, values.tolist()))
    frame["slope"] = _slope(values, present)
    better = frame["better"].to_numpy()
    target = frame["target"].to_numpy("float64")[:, None]
    good = np.round(oriented(values, better[:, None], target), DECIMALS)
    frame["direction"] = _direction(good, values, present)
    frame["streak"] = _streak(good)
    frame = frame.merge(roster_columns(results), on="subject", how="left")
    frame = frame.sort_values(keys, kind="stable")
    return frame[TREND_COLUMNS].reset_index(drop=True)


def _at(values: np.ndarray, column: np.ndarray, count: np.ndarray) -> np.ndarray:
    picked = values[np.arange(len(values)), column] if len(values) else np.array([])
    return np.where(count > 0, picked, np.nan)


def _slope(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Least-squares slope per period over the periods with a value (x = 0, 1, …);
    NaN with fewer than two values."""
    x = np.broadcast_to(np.arange(values.shape[1], dtype="float64"), values.shape)
    n = present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_mean = np.where(present, x, 0).sum(axis=1) / n
        y_mean = np.where(present, values, 0).sum(axis=1) / n
        dx = np.where(present, x - x_mean[:, None], 0)
        dy = np.where(present, values - y_mean[:, None], 0)
        slope = (dx * dy).sum(axis=1) / (dx * dx).sum(axis=1)
    return np.where(n >= 2, np.round(slope, DECIMALS), np.nan)


def _direction(good: np.ndarray, values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """improving / declining / flat by the slope of the values turned so that larger is
    better; n/a with fewer than two values (or `closer` without a target)."""
    usable = ~np.isnan(good)
    slope = _slope(good, usable)
    with np.errstate(invalid="ignore"):
        level = np.where(present, np.abs(values), 0).sum(axis=1) / present.sum(axis=1)
    tolerance = np.maximum(FLAT_TOLERANCE * np.nan_to_num(level), 10.0**-DECIMALS)
    direction = np.where(
        slope > tolerance, "improving", np.where(slope < -tolerance, "declining", "flat")
    )
    return np.where(np.isnan(slope), "n/a", direction).astype(object)


def _streak(good: np.ndarray) -> np.ndarray:
    """+k: k improvements in a row ending at the latest period with a value; -k: k
    declines; 0 otherwise. A change needs values in two adjacent periods, so a gap ends
    the run."""
    rows, width = good.shape
    streak = np.zeros(rows, dtype="int64")
    if width < 2 or rows == 0:
        return streak
    change = np.sign(np.round(good[:, 1:] - good[:, :-1], DECIMALS))  # NaN where a side is missing
    usable = ~np.isnan(good)
    last = width - 1 - np.argmax(usable[:, ::-1], axis=1)  # latest period with a value
    everything = np.arange(rows)
    sign = np.where(last >= 1, change[everything, np.maximum(last - 1, 0)], np.nan)
    sign = np.nan_to_num(sign)  # a missing or zero change: no run
    running = sign != 0
    for back in range(width - 1):  # over periods, vectorised over people
        column = last - 1 - back
        valid = column >= 0
        same = np.zeros(rows, dtype=bool)
        same[valid] = change[everything[valid], column[valid]] == sign[valid]
        running &= same
        streak += running
    return (streak * sign).astype("int64")
