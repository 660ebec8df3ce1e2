"""Vectorised evaluation of expressions over all subjects and periods at once.

Two levels:
- *row* expressions run on a source's rows (inside aggregates): a pandas Series per node;
- *grid* expressions run on the grid of keys × periods (indicator formulas, gates,
  payouts, action conditions): a Series indexed by (key, period), or a scalar.

Units inside evaluation: money in the policy currency, percentages as fractions,
durations in minutes (converted back to the indicator's unit at the end), dates as
datetime64. Missing is NaN (numbers) or <NA> (booleans and text); a comparison with a
missing side is <NA>, and a condition that is <NA> does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from kpirules import rules
from kpirules.periods import Calendar
from kpirules.plan import expr as x
from kpirules.plan.nodes import Plan

_COMPARE = rules.COMPARISONS


@dataclass
class Level:
    """Where values live: per subject, or per group of subjects (a goal owner's level)."""

    name: str  # "subject", "company" or a roster column
    key_of_subject: pd.Series  # subject id → key at this level
    periods: list[int]
    keys: pd.Index = field(init=False)  # sorted; a key's position is its grid row block
    index: pd.MultiIndex = field(init=False)

    def __post_init__(self) -> None:
        self.keys = pd.Index(sorted(pd.unique(self.key_of_subject.dropna())))
        self.index = pd.MultiIndex.from_product([self.keys, self.periods], names=["key", "period"])


@dataclass
class Notes:
    """What the evaluator noticed: division by zero, nothing matched, … (counted)."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, where: str, what: str, count: int) -> None:
        if count:
            self.counts[(where, what)] = self.counts.get((where, what), 0) + int(count)


class Evaluator:
    """Evaluates a plan's lowered expressions (`kpirules.plan.expr`) on a level's grid."""

    # Whether reading a source keeps only the level's members' rows at no cost (a join
    # in SQL), so a run over some groups need not cut the frames to their rows first.
    keeps_members_only = False

    def __init__(
        self,
        plan: Plan,
        frames: dict[str, pd.DataFrame],
        calendar: Calendar,
        level: Level,
        notes: Notes,
        shared: dict | None = None,
    ):
        self.plan = plan
        self.frames = frames
        self.calendar = calendar
        self.level = level
        self.notes = notes
        self.roster = plan.roster
        self.values: dict[str, pd.Series] = {}  # indicator → grid series (indicator unit)
        self._prepared: dict[str, pd.DataFrame] = {}
        self._cell_cache: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        # Shared by the evaluators of one run (subject level, goal levels): each source's
        # subject column looked up in the roster once.
        self.shared = shared if shared is not None else {}
        self._roster_columns: dict[str, pd.Series] = {}
        self.where = ""  # what is being evaluated, for notes

    # ------------------------------------------------------------ sources

    def rows(self, source: str) -> pd.DataFrame:
        """A source's rows (of subjects at this level) with two integer columns: `_pos`,
        the key's position on the grid, and `_pidx`, the period's position (negative for
        history rows before the first period, `_TIMELESS` without a time column)."""
        if source in self._prepared:
            return self._prepared[source]
        spec = self.plan.source(source)
        frame = self.frames[source]
        subjects = frame[spec.subject] if spec.subject else pd.Series(pd.NA, index=frame.index)
        # Look each row's subject up once; a group level then maps positions, not text.
        by_subject = self.level.key_of_subject
        if ("subject_pos", source) not in self.shared:
            self.shared[("subject_pos", source)] = by_subject.index.get_indexer(subjects)
        subject_pos = self.shared[("subject_pos", source)]
        group_pos = self.level.keys.get_indexer(by_subject.to_numpy())
        positions = np.where(subject_pos >= 0, group_pos[subject_pos], -1)
        if spec.time:
            if ("periods", source) not in self.shared:  # every level reads the same dates
                self.shared[("periods", source)] = self.calendar.ordinals(frame[spec.time])
            periods = self.shared[("periods", source)]
            pidx = (periods - self.level.periods[0]).fillna(_NO_PERIOD).to_numpy(dtype="int64")
        else:  # no time column: the rows count in every period
            periods = pd.Series(pd.NA, index=frame.index, dtype="Int64")
            pidx = np.full(len(frame), _TIMELESS, dtype="int64")
        prepared = frame.assign(_period=periods, _pos=positions, _pidx=pidx)
        if (positions < 0).any():  # rows of no one at this level (a copy: only if needed)
            prepared = prepared[positions >= 0]
        self._prepared[source] = prepared
        return prepared

    def roster_column(self, column: str) -> pd.Series:
        """A roster column on the grid (subject level only; groups have no attributes)."""
        if self.level.name != "subject":
            return pd.Series(np.nan, index=self.level.index)
        if column not in self._roster_columns:  # gates, payouts and rules ask repeatedly
            frame = self.frames[self.roster.name]
            values = frame.set_index(self.roster.key)[column]
            keys = self.level.index.get_level_values("key")
            self._roster_columns[column] = pd.Series(
                values.reindex(keys).to_numpy(), index=self.level.index
            )
        return self._roster_columns[column]

    # ------------------------------------------------------------ grid level

    def grid(self, e: x.Expr, env: dict[str, Any] | None = None) -> Any:
        """Evaluate on the grid. `env` supplies `score`, `rating` and the level tester."""
        env = env or {}
        if isinstance(e, x.Env):
            return env[e.name]
        if isinstance(e, x.Indicator):
            return _scaled(self.values[e.name], e.scale)
        if isinstance(e, x.RosterColumn):
            return _scaled(self.roster_column(e.column), e.scale)
        if isinstance(e, x.Aggregate):
            return self.aggregate(e)
        if isinstance(e, x.Previous):
            by_key = self.values[e.indicator].groupby(level="key", sort=False)
            return _scaled(by_key.shift(e.lag), e.scale)
        if isinstance(e, x.Trend):
            return self._trend(e)
        if isinstance(e, x.LevelTest):
            return env["level_test"](e)
        return self._common(e, lambda sub: self.grid(sub, env))

    def aggregate(self, agg: x.Aggregate) -> pd.Series:
        """Group a source's rows by grid cell (key × period) and reduce them.

        A key with no rows in a period is *missing* for every aggregate. A key that has
        rows, none of which pass the `where` filter, counts 0 and sums 0; its mean, min,
        max, median and percentile stay missing (there is nothing to average). Rows that
        fail the filter are kept as missing values, so one group-by sees both.
        """
        func, source, window = agg.func, agg.source, agg.window
        frame = self.rows(source)
        matched = np.ones(len(frame), dtype=bool)
        if agg.where is not None:
            held = _holds(self.row(agg.where, frame, source))
            matched = held.to_numpy() if isinstance(held, pd.Series) else matched & held
        if agg.argument is None:  # count(source): its rows
            values = pd.Series(1.0, index=frame.index)
        else:
            values = self.row(agg.argument, frame, source)
            if not isinstance(values, pd.Series):
                values = pd.Series(values, index=frame.index)
            if func == x.Reduce.COUNT:  # rows where the value is present, whatever its type
                values = pd.Series(np.where(values.notna(), 1.0, np.nan), index=frame.index)
        kept = values.where(matched)
        if func == x.Reduce.COUNT_DISTINCT:  # distinct integer codes count far faster than text
            codes = pd.factorize(kept)[0]
            kept = pd.Series(np.where(codes >= 0, codes, np.nan), index=kept.index)
        if (source, window) not in self._cell_cache:  # several aggregates read one source
            self._cell_cache[(source, window)] = self._cells(frame, window)
        cells, rows = self._cell_cache[(source, window)]
        size = len(self.level.index)
        out = np.full(size, np.nan)
        if func in _COUNTED:
            # Counts and sums straight into grid order with bincount: no group-by needed.
            per_row = kept.to_numpy(dtype="float64")
            v = per_row[rows]
            known = ~np.isnan(v)
            has_rows = np.bincount(cells, minlength=size) > 0
            matched_rows = np.bincount(cells, weights=matched[rows], minlength=size) > 0
            if func == x.Reduce.COUNT_DISTINCT:
                codes = v[known].astype("int64")
                span = int(codes.max()) + 1 if len(codes) else 1
                pairs = pd.unique(cells[known] * span + codes)  # hashing, not sorting
                counts = np.bincount(pairs // span, minlength=size).astype("float64")
            else:
                counts = np.bincount(cells, weights=known, minlength=size)
            if func in (x.Reduce.SUM, x.Reduce.MEAN):  # exact: `rules.exact_sums`
                totals = rules.exact_sums(cells, per_row, size, rows)
            if func == x.Reduce.MEAN:
                with np.errstate(invalid="ignore", divide="ignore"):
                    out = totals / counts
            elif func == x.Reduce.SUM:
                out = totals
            else:
                out = counts
            nothing = rules.aggregate_of_nothing(func, has_rows, matched_rows)
            out = np.where(has_rows & (counts > 0), out, nothing)
            return pd.Series(out, index=self.level.index)
        data = pd.DataFrame({"cell": cells, "v": kept.to_numpy()[rows]})
        grouped = data.groupby("cell", sort=False)["v"]
        if func == x.Reduce.PERCENTILE:
            reduced = grouped.quantile(agg.quantile)
        else:
            reduced = getattr(grouped, _PANDAS_AGG[func])()
        if pd.api.types.is_datetime64_any_dtype(kept):  # min/max of dates stay dates
            dates = np.full(size, np.datetime64("NaT"), dtype="datetime64[ns]")
            dates[reduced.index.to_numpy()] = reduced.to_numpy(dtype="datetime64[ns]")
            return pd.Series(dates, index=self.level.index)
        out[reduced.index.to_numpy()] = reduced.to_numpy(dtype="float64")
        return pd.Series(out, index=self.level.index)

    def _cells(self, frame: pd.DataFrame, window: int) -> tuple[np.ndarray, np.ndarray]:
        """Each row's grid cells: its own period's and the window-1 after it (every period
        for a source without a time column). Returns the cells and, for each, its row."""
        count = len(self.level.periods)
        positions = frame["_pos"].to_numpy(dtype="int64")
        pidx = frame["_pidx"].to_numpy(dtype="int64")
        rows = np.arange(len(frame))
        timeless = pidx == _TIMELESS
        cells, owners = [], []
        for k in range(window):
            shifted = pidx + k
            ok = ~timeless & (shifted >= 0) & (shifted < count)
            cells.append(positions[ok] * count + shifted[ok])
            owners.append(rows[ok])
        if timeless.any():
            for j in range(count):
                cells.append(positions[timeless] * count + j)
                owners.append(rows[timeless])
        return np.concatenate(cells), np.concatenate(owners)

    def _trend(self, trend: x.Trend) -> pd.Series:
        series = self.values[trend.indicator]
        by_key = series.groupby(level="key", sort=False)
        change = series - by_key.shift(1)
        if trend.lower_is_better:
            change = -change
        bad = change < 0 if trend.worsening else change > 0
        bad = bad & change.notna()
        held = bad.copy()
        shifted_by = bad.groupby(level="key", sort=False)
        for k in range(1, trend.periods):
            held &= shifted_by.shift(k, fill_value=False).astype(bool)
        return held.astype("boolean")

    # ------------------------------------------------------------ row level

    def row(self, e: x.Expr, frame: pd.DataFrame, source: str) -> Any:
        """Evaluate on the rows of `source` (already filtered to `frame`)."""
        if isinstance(e, x.Column):
            return _scaled(frame[e.column], e.scale)
        if isinstance(e, x.SubjectColumn):  # a roster attribute of each row's subject
            roster = self.roster
            by_subject = self.frames[roster.name].set_index(roster.key)[e.column]
            values = frame[self.plan.source(source).subject].map(by_subject)
            return _scaled(values, e.scale)
        return self._common(e, lambda sub: self.row(sub, frame, source))

    # ------------------------------------------------------------ shared operators

    def _common(self, e: x.Expr, sub) -> Any:
        if isinstance(e, x.Const):
            if isinstance(e.value, date):
                return pd.Timestamp(e.value)
            return np.nan if e.value is None else e.value
        if isinstance(e, x.Negate):
            return -sub(e.operand)
        if isinstance(e, x.Not):
            return ~_as_bool(sub(e.operand))
        if isinstance(e, x.Binary):
            return self._binary(e, sub)
        if isinstance(e, x.In):
            item = sub(e.item)
            options = [sub(option) for option in e.options]
            if isinstance(item, pd.Series):
                result = item.isin(options).astype("boolean")
                return result.mask(item.isna(), pd.NA)
            return item in options
        if isinstance(e, x.If):
            condition = _holds(sub(e.condition))
            then, other = sub(e.then), sub(e.otherwise)
            if isinstance(condition, pd.Series):
                return pd.Series(
                    np.where(condition, _values(then, condition), _values(other, condition)),
                    index=condition.index,
                )
            return then if condition else other
        if isinstance(e, x.Call):
            return self._function(e, sub)
        raise ValueError(f"cannot evaluate {type(e).__name__}")

    def _binary(self, e: x.Binary, sub) -> Any:
        op = e.op
        if op in (x.Op.AND, x.Op.OR):
            left, right = _as_bool(sub(e.left)), _as_bool(sub(e.right))
            return (left & right) if op == x.Op.AND else (left | right)
        left, right = sub(e.left), sub(e.right)
        if op in x.COMPARISON_OPS:
            return _compare(op, left, right)
        if op == x.Op.SUB and _is_dates(left) and _is_dates(right):
            return (left - right) / pd.Timedelta(minutes=1)
        if op in x.ARITHMETIC:
            return x.ARITHMETIC[op](left, right)
        zero = right == 0
        if isinstance(zero, pd.Series):
            self.notes.add(
                self.where,
                "division by zero (value is missing)",
                int((zero & _notna(left, zero)).sum()),
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                return (left / right.mask(zero)).astype("float64")
        if zero:
            self.notes.add(self.where, "division by zero (value is missing)", 1)
            return np.nan
        return left / right

    def _function(self, call: x.Call, sub) -> Any:
        args = [sub(a) for a in call.args]
        func = call.func
        if func == x.Func.ABS:
            return abs(args[0])
        if func == x.Func.ROUND:
            digits = int(args[1]) if len(args) > 1 else 0
            return (
                args[0].round(digits) if isinstance(args[0], pd.Series) else round(args[0], digits)
            )
        if not any(isinstance(a, pd.Series) for a in args):  # constants only
            if func == x.Func.COALESCE:
                return next((a for a in args if not pd.isna(a)), np.nan)
            if any(pd.isna(a) for a in args):
                return np.nan
            return min(args) if func == x.Func.MIN else max(args)
        frame = pd.concat([_as_series(a, args) for a in args], axis=1)
        if func == x.Func.COALESCE:
            return frame.bfill(axis=1).iloc[:, 0]
        if func == x.Func.MIN:
            return frame.min(axis=1, skipna=False)
        return frame.max(axis=1, skipna=False)


def _scaled(values: pd.Series, scale: float) -> pd.Series:
    """Data in runner units: durations to minutes (a scale of 1 leaves text alone)."""
    return values * scale if scale != 1.0 else values


# Sentinel period positions, far outside any grid: a row without a time column counts in
# every period; a row whose time is missing counts in none.
_TIMELESS = -(2**41)
_NO_PERIOD = -(2**40)

_COUNTED = ("sum", "count", "count_distinct", "mean")  # reduced with np.bincount

_PANDAS_AGG = {
    "sum": "sum",
    "count": "count",
    "count_distinct": "nunique",
    "mean": "mean",
    "min": "min",
    "max": "max",
    "median": "median",
}


def _is_dates(value: Any) -> bool:
    if isinstance(value, pd.Series):
        return pd.api.types.is_datetime64_any_dtype(value)
    return isinstance(value, pd.Timestamp)


def _notna(value: Any, like: pd.Series) -> pd.Series:
    if isinstance(value, pd.Series):
        return value.notna()
    return pd.Series(not pd.isna(value), index=like.index)


def _as_series(value: Any, peers: list) -> pd.Series:
    if isinstance(value, pd.Series):
        return value
    index = next(p.index for p in peers if isinstance(p, pd.Series))
    return pd.Series(value, index=index, dtype="float64")


def _values(value: Any, like: pd.Series) -> Any:
    return value.to_numpy() if isinstance(value, pd.Series) else value


def _is_numbers(value: Any) -> bool:
    if isinstance(value, pd.Series):
        return pd.api.types.is_numeric_dtype(value) and not pd.api.types.is_bool_dtype(value)
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def _floats(value: Any) -> Any:
    return (
        value.to_numpy(dtype="float64", na_value=np.nan) if isinstance(value, pd.Series) else value
    )


def _compare(op: str, left: Any, right: Any) -> Any:
    if not isinstance(left, pd.Series) and not isinstance(right, pd.Series):
        if left is None or right is None or pd.isna(left) or pd.isna(right):
            return pd.NA
        return rules.compare_scalar(op, left, right)
    series = left if isinstance(left, pd.Series) else right
    missing = (left.isna() if isinstance(left, pd.Series) else pd.isna(left)) | (
        right.isna() if isinstance(right, pd.Series) else pd.isna(right)
    )
    lhs = left.astype(object) if isinstance(left, pd.Series) and left.dtype == "boolean" else left
    with np.errstate(invalid="ignore"):
        if _is_numbers(left) and _is_numbers(right):  # the exactness rule
            result = rules.compare_numbers(op, _floats(left), _floats(right))
        elif op in ("==", "!="):
            result = (lhs == right) if op == "==" else (lhs != right)
        else:
            result = _COMPARE[op](lhs, right)
    result = pd.Series(result, index=series.index).fillna(False).astype("boolean")
    return result.mask(missing, pd.NA)


def _as_bool(value: Any) -> Any:
    if isinstance(value, pd.Series):
        return value.astype("boolean")
    return pd.NA if value is None or value is pd.NA else bool(value)


def _holds(value: Any) -> Any:
    """A condition as plain booleans: missing does not hold."""
    if isinstance(value, pd.Series):
        return value.astype("boolean").fillna(False).astype(bool)
    return bool(value) if value is not pd.NA and value is not None else False
