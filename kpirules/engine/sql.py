"""The DuckDB runner: the plan's reads run as SQL (through Ibis), the grid work in pandas.

What costs a run its time and memory is reading rows: every aggregate filters, windows
and reduces a source's rows by subject (or group) and period. This runner compiles each
source's aggregates — filters, arguments, windows, every reduction — into one Ibis query
per source and window, runs it in an embedded DuckDB over the loaded frames (scanned in
place, not copied), and brings back only one row per grid cell. Formulas over those
values, scoring, totals, gates, ratings, payouts, actions and goal roll-ups then run on
the grid (people × periods) with the pandas runner's code, so both runners apply the
same rules (`kpirules.rules`) and give byte-identical results
(`tests/test_sql_runner.py`).

Rules the SQL keeps exactly as the pandas runner does:
- missing is NULL; a comparison with a missing side is unknown, and a filter that is
  unknown does not keep the row;
- numeric comparisons follow the exactness rule: both sides rounded half-even to
  `rules.DECIMALS` places the way numpy does (`round_even(x * 10^9) / 10^9`);
- a division by zero is missing, and counted for the run's notes over the same rows;
- an aggregate of nothing follows `rules.aggregate_of_nothing`; a mean is the sum of
  the known values over their count; median and percentile interpolate linearly.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import ibis
import numpy as np
import pandas as pd

from kpirules import rules
from kpirules.engine import PandasRunner
from kpirules.engine.expressions import Evaluator
from kpirules.plan import expr as x

_SCALE = float(10**rules.DECIMALS)


@ibis.udf.scalar.builtin(name="round_even")
def _duckdb_round_even(value: float, digits: int) -> float:  # DuckDB's banker's rounding
    ...


class Connection:
    """One SQL engine per run, with the run's frames registered as tables by `table`."""

    name: str
    round_even: Any  # the engine's half-even rounding, as an Ibis builtin

    def __init__(self, backend: Any) -> None:
        self.backend = backend  # the Ibis backend
        self.names: dict[int, str] = {}  # id(frame) → its registered name

    def table(self, frame: pd.DataFrame):
        name = self.names.get(id(frame))
        if name is None:
            name = self.names[id(frame)] = f"t{len(self.names)}"
            self.register(name, _typed(frame))
        return self.backend.table(name)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        raise NotImplementedError


class DuckDBConnection(Connection):
    """An embedded DuckDB: frames are scanned in place, not copied."""

    name = "duckdb"
    round_even = staticmethod(_duckdb_round_even)

    @classmethod
    def open(cls) -> DuckDBConnection:
        duck = duckdb.connect()
        connection = cls(ibis.duckdb.from_connection(duck))
        connection.duck = duck
        return connection

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.duck.register(name, frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as DuckDB should see it: a text column with no values at all (an empty
    source, a column left blank) would otherwise have no type to compare with."""
    blank = [
        name
        for name in frame.columns
        if frame[name].dtype == object and not _has_value(frame[name])
    ]
    if not blank:
        return frame  # scanned in place
    return frame.assign(**{name: frame[name].astype("string") for name in blank})


def _has_value(column: pd.Series) -> bool:
    """Whether a column holds any value: its first rows usually tell, cheaply."""
    return bool(column.iloc[:1024].notna().any() or column.notna().any())


class SqlEvaluator(Evaluator):
    """The pandas evaluator with its aggregates computed in DuckDB."""

    keeps_members_only = True  # `_rows` joins the rows to the level's keys
    connect = DuckDBConnection.open  # the engine the reads run in

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "sql" not in self.shared:
            self.shared["sql"] = self.connect()
        self.connection: Connection = self.shared["sql"]
        self._computed: dict[x.Aggregate, np.ndarray] = {}
        self._level_table = None

    def aggregate(self, agg: x.Aggregate) -> pd.Series:
        if agg not in self._computed:
            siblings = {
                read
                for step in self.plan.steps
                for read in step.aggregates
                if read.source == agg.source and read.window == agg.window
            }
            self._computed.update(self._query(agg.source, agg.window, [agg, *siblings - {agg}]))
        return pd.Series(self._computed[agg], index=self.level.index)

    # ------------------------------------------------------------ the query

    def _rows(self, source: str):
        """The source's rows of subjects at this level, with `_pos` (the key's grid
        position) and `_pidx` (the period's position; NULL: no time column)."""
        spec = self.plan.source(source)
        connection = self.connection
        rows = connection.table(self.frames[source])
        if self._level_table is None:
            by_subject = self.level.key_of_subject
            positions = self.level.keys.get_indexer(by_subject.to_numpy())
            level = pd.DataFrame({"_subject": by_subject.index, "_pos": positions})
            self._level_frame = level[positions >= 0].reset_index(drop=True)
            self._level_table = connection.table(self._level_frame)
        level = self._level_table
        if spec.subject is None:  # rows of no one in particular: no subject reads them
            return rows.filter(ibis.literal(False)).mutate(_pos=-1, _pidx=ibis.null("int64"))
        rows = rows.inner_join(level, rows[spec.subject] == level["_subject"]).drop("_subject")
        if spec.time:
            calendar = self.calendar
            shift = 0 if calendar.cadence == "monthly" else calendar.fiscal_year_start - 1
            when = rows[spec.time]
            months = when.year() * 12 + when.month() - 1 - shift
            rows = rows.mutate(_pidx=(months // calendar.months) - self.level.periods[0])
            rows = rows.filter(rows["_pidx"].notnull())  # no date: in no period
        else:
            rows = rows.mutate(_pidx=ibis.null("int64"))
        return rows

    def _query(self, source: str, window: int, reads: list[x.Aggregate]):
        """Every read of `source` over `window`, one pass; → read → grid values."""
        rows = self._rows(source)
        if any(_needs_subject(read) for read in reads):
            roster = self.plan.roster
            people = self.connection.table(self.frames[roster.name])
            subject = self.plan.source(source).subject
            attributes = {
                node.column
                for read in reads
                for node in _nodes(read)
                if isinstance(node, x.SubjectColumn)
            }
            people = people.select(
                _key=people[roster.key], **{f"_subject_{c}": people[c] for c in attributes}
            )
            rows = rows.left_join(people, rows[subject] == people["_key"]).drop("_key")
        round_even = self.connection.round_even
        compiled = _Compiled(rows, round_even)
        columns: dict[str, Any] = {}
        for i, read in enumerate(reads):
            matched = ibis.literal(True)
            if read.where is not None:
                matched = _holds(compiled.expr(read.where))
            if read.argument is None:
                value = ibis.literal(1.0)
            else:
                value = compiled.expr(read.argument)
                if read.func == x.Reduce.COUNT:
                    value = value.notnull().ifelse(1.0, ibis.null("float64"))
            columns[f"m{i}"] = matched
            columns[f"v{i}"] = matched.ifelse(value, ibis.null(value.type()))
        self._note_divisions(compiled, rows)
        count = len(self.level.periods)
        table = rows.mutate(**columns)
        if window > 1 or self.plan.source(source).time is None:
            timeless = self.plan.source(source).time is None
            offsets = ibis.memtable({"_k": list(range(count if timeless else window))})
            table = table.cross_join(offsets)
            cell = table["_k"] if timeless else table["_pidx"] + table["_k"]
            table = table.mutate(_cell=cell)
        else:
            table = table.mutate(_cell=table["_pidx"])
        table = table.filter((table["_cell"] >= 0) & (table["_cell"] < count))
        metrics: dict[str, Any] = {"_rows": table.count()}
        for i, read in enumerate(reads):
            kept = table[f"v{i}"]
            metrics[f"known{i}"] = kept.count()
            metrics[f"matched{i}"] = table[f"m{i}"].cast("int64").sum()
            if read.func in (x.Reduce.SUM, x.Reduce.MEAN):  # exact: `rules.exact_sums`
                small = kept.abs() < rules.EXACT_SUM_LIMIT
                whole = small.ifelse(round_even(kept * _SCALE, 0), ibis.null()).cast("int64")
                metrics[f"high{i}"] = (whole >> rules.LOW_BITS).sum().cast("float64")
                metrics[f"low{i}"] = (whole & (2**rules.LOW_BITS - 1)).sum().cast("float64")
                metrics[f"largest{i}"] = kept.abs().max()
                metrics[f"value{i}"] = kept.sum()  # plain, for values past the limit
            else:
                metrics[f"value{i}"] = _reduce(read, kept)
        grouped = table.group_by(["_pos", "_cell"]).aggregate(**metrics).to_pandas()
        cells = (grouped["_pos"].to_numpy("int64") * count) + grouped["_cell"].to_numpy("int64")
        size = len(self.level.index)
        has_rows = np.zeros(size, dtype=bool)
        has_rows[cells] = True
        out = {}
        for i, read in enumerate(reads):
            values = grouped[f"value{i}"]
            if pd.api.types.is_datetime64_any_dtype(values):  # min/max of dates stay dates
                dates = np.full(size, np.datetime64("NaT"), dtype="datetime64[ns]")
                dates[cells] = values.to_numpy(dtype="datetime64[ns]")
                out[read] = dates
                continue
            reduced = np.full(size, np.nan)
            reduced[cells] = values.to_numpy(dtype="float64", na_value=np.nan)
            if f"high{i}" in grouped and not grouped[f"largest{i}"].max() >= rules.EXACT_SUM_LIMIT:
                parts = [
                    grouped[f"{p}{i}"].fillna(0.0).to_numpy("float64") for p in ("high", "low")
                ]
                reduced[cells] = rules.exact_total(*parts)
            if read.func == x.Reduce.MEAN:
                counted = grouped[f"known{i}"].to_numpy("float64")
                with np.errstate(invalid="ignore", divide="ignore"):
                    reduced[cells] = reduced[cells] / counted
            known = np.zeros(size)
            known[cells] = grouped[f"known{i}"].to_numpy("float64")
            if read.func in _COUNTED:
                matched = np.zeros(size, dtype=bool)
                matched[cells] = grouped[f"matched{i}"].to_numpy("float64") > 0
                nothing = rules.aggregate_of_nothing(read.func, has_rows, matched)
                reduced = np.where(has_rows & (known > 0), reduced, nothing)
            out[read] = reduced
        return out

    def _note_divisions(self, compiled: _Compiled, rows) -> None:
        """Divisions by zero in row expressions, counted over the rows as pandas does."""
        if not compiled.divisions:
            return
        counts = rows.aggregate(
            **{
                f"d{i}": (zero & dividend.notnull()).cast("int64").sum()
                for i, (zero, dividend) in enumerate(compiled.divisions)
            }
        ).to_pandas()
        for i in range(len(compiled.divisions)):
            found = counts[f"d{i}"].iloc[0]
            self.notes.add(
                self.where, "division by zero (value is missing)", 0 if pd.isna(found) else found
            )


_COUNTED = ("sum", "count", "count_distinct", "mean")


def _reduce(read: x.Aggregate, kept):
    func = read.func
    if func == x.Reduce.SUM:
        return kept.sum()
    if func == x.Reduce.COUNT:
        return kept.count().cast("float64")
    if func == x.Reduce.COUNT_DISTINCT:
        return kept.nunique().cast("float64")
    if func == x.Reduce.MEAN:  # as pandas does it: the sum over the count
        return kept.sum() / kept.count().nullif(0)
    if func == x.Reduce.MIN:
        return kept.min()
    if func == x.Reduce.MAX:
        return kept.max()
    if func == x.Reduce.MEDIAN:
        return kept.median()
    return kept.quantile(read.quantile)


def _nodes(read: x.Aggregate):
    for part in (read.argument, read.where):
        if part is not None:
            yield from x.walk(part)


def _needs_subject(read: x.Aggregate) -> bool:
    return any(isinstance(node, x.SubjectColumn) for node in _nodes(read))


def _holds(condition):
    """A condition as a plain truth value: unknown does not hold."""
    return condition.fill_null(False)


class _Compiled:
    """Row expressions → Ibis column expressions over one source's rows."""

    def __init__(self, rows, round_even):
        self.rows = rows
        self.round_even = round_even
        self.divisions: list[tuple[Any, Any]] = []  # (divisor is zero, dividend)

    def expr(self, e: x.Expr):
        rows = self.rows
        if isinstance(e, x.Column):
            return _scaled(rows[e.column], e.scale)
        if isinstance(e, x.SubjectColumn):
            return _scaled(rows[f"_subject_{e.column}"], e.scale)
        if isinstance(e, x.Const):
            return _literal(e.value)
        if isinstance(e, x.Negate):
            return -self.expr(e.operand)
        if isinstance(e, x.Not):
            return ~self.expr(e.operand)
        if isinstance(e, x.Binary):
            return self._binary(e)
        if isinstance(e, x.In):
            item = self.expr(e.item)
            options = [self.expr(option) for option in e.options]
            return item.notnull().ifelse(item.isin(options), ibis.null("boolean"))
        if isinstance(e, x.If):
            condition = _holds(self.expr(e.condition))
            return condition.ifelse(self.expr(e.then), self.expr(e.otherwise))
        if isinstance(e, x.Call):
            return self._call(e)
        raise ValueError(f"{type(e).__name__} cannot be read from a source's rows")

    def _binary(self, e: x.Binary):
        left, right = self.expr(e.left), self.expr(e.right)
        op = e.op
        if op == x.Op.AND:
            return left & right  # SQL's AND and OR are Kleene's, as the runners'
        if op == x.Op.OR:
            return left | right
        if op in x.COMPARISON_OPS:
            if _numeric(e.left) and _numeric(e.right):
                left, right = self._exact(left), self._exact(right)
            return x.COMPARE[op](left, right)
        if op == x.Op.SUB and e.left.unit.kind == "date" and e.right.unit.kind == "date":
            return left.delta(right, unit="microsecond") / 60_000_000.0  # minutes, as pandas
        if op in x.ARITHMETIC:
            return x.ARITHMETIC[op](left, right)
        zero = right == 0
        self.divisions.append((zero.fill_null(False), left))
        return zero.fill_null(False).ifelse(ibis.null("float64"), left / right)

    def _exact(self, value):
        """The exactness rule in SQL, bit for bit numpy's `np.round(value, DECIMALS)`."""
        return self.round_even(value * _SCALE, 0) / _SCALE

    def _call(self, e: x.Call):
        args = [self.expr(a) for a in e.args]
        if e.func == x.Func.ABS:
            return args[0].abs()
        if e.func == x.Func.ROUND:
            digits = int(e.args[1].value) if len(e.args) > 1 else 0
            return self.round_even(args[0], digits)
        if e.func == x.Func.COALESCE:
            return ibis.coalesce(*args)
        # min/max of values: missing if any is missing (SQL's least/greatest skip NULLs)
        any_missing = ibis.or_(*(a.isnull() for a in args))
        chosen = ibis.least(*args) if e.func == x.Func.MIN else ibis.greatest(*args)
        return any_missing.ifelse(ibis.null("float64"), chosen)


def _numeric(e: x.Expr) -> bool:
    unit = getattr(e, "unit", None)
    return unit is not None and unit.kind in ("number", "percent", "money", "duration")


def _scaled(column, scale: float):
    return column * scale if scale != 1.0 else column


def _literal(value):
    if value is None:
        return ibis.null()
    if isinstance(value, bool):
        return ibis.literal(value)
    if isinstance(value, date):
        return ibis.timestamp(value.year, value.month, value.day, 0, 0, 0)
    if isinstance(value, float):
        return ibis.literal(value, type="float64")
    return ibis.literal(value)


class DuckDBRunner(PandasRunner):
    """The plan's reads in DuckDB; formulas, scoring and outcomes on the grid."""

    name = "duckdb"
    evaluator = SqlEvaluator
