"""Lowered expressions: what a runner evaluates, with every name resolved.

The checker's formulas name things (`new_customers`, `orders.amount`, `role`, `target`);
lowering resolves each name to what it is — a column of the rows being reduced, the
subject's roster column, another indicator, a constant — so that a runner never looks a
name up in the model. Constants are in the runners' units (percentages as fractions,
durations in minutes); a value read from data or from an indicator carries `scale`, the
factor that brings it to those units (minutes per unit for durations, else 1).

Two levels, as in the language: *row* expressions run on a source's rows inside an
aggregate (`Column`, `SubjectColumn`); *grid* expressions run per subject (or group) and
period (`RosterColumn`, `Indicator`, `Aggregate`, `Previous`, `Trend`, `LevelTest`,
`Env`). Operators are shared.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum

from kpirules.dimensions import ANY, Dim


class Op(StrEnum):
    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    AND = "and"
    OR = "or"


COMPARISON_OPS = frozenset({Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE})
# One operator table for every runner (numbers, numpy arrays, pandas series and SQL
# expressions all take Python's operators); division is each runner's own (by zero:
# missing, and counted).
ARITHMETIC = {Op.ADD: operator.add, Op.SUB: operator.sub, Op.MUL: operator.mul}
COMPARE = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


class Func(StrEnum):
    ABS = "abs"
    ROUND = "round"
    MIN = "min"
    MAX = "max"
    COALESCE = "coalesce"


class Reduce(StrEnum):
    SUM = "sum"
    COUNT = "count"
    COUNT_DISTINCT = "count_distinct"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"
    MEDIAN = "median"
    PERCENTILE = "percentile"


@dataclass(frozen=True)
class Const:
    """A literal or a constant benchmark: a float (runner units), text, a truth value,
    a date, or None (missing). `label` names a benchmark, so explain can show it."""

    value: float | str | bool | date | None
    unit: Dim = ANY
    label: str | None = None


@dataclass(frozen=True)
class Column:
    """Row level: a column of the rows being reduced (`orders.amount`, or `role` in a
    roster's `applies to … where`)."""

    source: str
    column: str
    scale: float = 1.0
    unit: Dim = ANY


@dataclass(frozen=True)
class SubjectColumn:
    """Row level: a roster column of each row's subject (`employees.region` inside an
    aggregate over orders)."""

    column: str
    scale: float = 1.0
    unit: Dim = ANY


@dataclass(frozen=True)
class RosterColumn:
    """Grid level: the subject's roster column (missing at a group's level)."""

    column: str
    label: str  # as written: `employees.grade` or `grade`
    scale: float = 1.0
    unit: Dim = ANY


@dataclass(frozen=True)
class Indicator:
    """Grid level: another indicator's value this period (in runner units × `scale`)."""

    name: str
    scale: float = 1.0
    unit: Dim = ANY


@dataclass(frozen=True)
class Env:
    """Grid level: a value the rule is evaluated with (`score`, `rating`)."""

    name: str
    unit: Dim = ANY


@dataclass(frozen=True)
class Aggregate:
    """Grid level: a source's rows of the subject in this period (and the `window`-1
    before it), kept by `where`, reduced by `func`. `argument` None counts rows."""

    func: Reduce
    source: str
    argument: Expr | None
    where: Expr | None
    window: int
    quantile: float | None  # percentile only, as a fraction
    unit: Dim
    text: str  # as written, for explain
    argument_text: str
    where_text: str | None


@dataclass(frozen=True)
class Previous:
    indicator: str
    lag: int
    scale: float = 1.0
    unit: Dim = ANY


@dataclass(frozen=True)
class Trend:
    """`worsening(x, n)` / `improving(x, n)`: x moved the bad/good way n periods running,
    in the indicator's direction (`lower_is_better`)."""

    worsening: bool
    indicator: str
    periods: int
    lower_is_better: bool


@dataclass(frozen=True)
class LevelTest:
    """`x misses threshold` / `x reaches target` against the scorecard's curve points."""

    indicator: str
    reaches: bool
    level: str  # threshold | target | stretch
    scale: float = 1.0


@dataclass(frozen=True)
class Negate:
    operand: Expr
    unit: Dim = ANY


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class Binary:
    op: Op
    left: Expr
    right: Expr
    unit: Dim = ANY


@dataclass(frozen=True)
class In:
    item: Expr
    options: tuple[Expr, ...]


@dataclass(frozen=True)
class If:
    condition: Expr
    then: Expr
    otherwise: Expr
    unit: Dim = ANY


@dataclass(frozen=True)
class Call:
    func: Func
    args: tuple[Expr, ...]
    unit: Dim = ANY


Expr = (
    Const
    | Column
    | SubjectColumn
    | RosterColumn
    | Indicator
    | Env
    | Aggregate
    | Previous
    | Trend
    | LevelTest
    | Negate
    | Not
    | Binary
    | In
    | If
    | Call
)


def walk(expr: Expr) -> Iterator[Expr]:
    """The node and every node under it, parents first, left to right."""
    yield expr
    for field in fields(expr):
        value = getattr(expr, field.name)
        if isinstance(value, tuple):
            for item in value:
                if _is_expr(item):
                    yield from walk(item)
        elif _is_expr(value):
            yield from walk(value)


def _is_expr(value: object) -> bool:
    return isinstance(value, Expr)  # a union of the node classes
