"""Type and unit checking of expressions, and resolution of the names in them.

Every expression is checked in a *context* that says which names it may use:

- `formula`: an indicator's formula: indicators, benchmarks, roster columns, and source
  columns inside aggregates (`sum(orders.amount where …)`);
- `row`: inside an aggregate: columns of that one source, roster columns, benchmarks;
- `roster`: a scorecard's `applies to … where`: the roster's columns, bare or qualified;
- `outcome`: gates, payouts and action conditions: `score`, `rating`, indicators,
  benchmarks and roster columns;
- `rating`: rating bands: `score`;
- `constant`: literals and benchmarks;
- `test`: test expectations: `value(...)`, `score(...)`, `rating(...)`, …
"""

from __future__ import annotations

import calendar
import difflib
import operator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from kpirules import ast
from kpirules import dimensions as dims
from kpirules.diagnostics import Diagnostic, error, warning
from kpirules.dimensions import Dim

# Constant folding (constants, and E318's constant zero divisors): one table for both.
ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
AGGREGATES = ("sum", "count", "count_distinct", "mean", "min", "max", "median", "percentile")
SCALAR_FUNCTIONS = ("abs", "round", "coalesce", "min", "max")
TIME_FUNCTIONS = ("previous", "worsening", "improving")
TEST_FUNCTIONS = ("value", "score", "rating", "payout", "actions", "missing")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
LIST = Dim("list")
PERIODS = Dim("periods")


@dataclass
class Context:
    kind: str  # formula | row | roster | outcome | rating | constant | test
    indicator: str | None = None  # the indicator whose formula this is
    scorecards: tuple[str, ...] = ()  # outcome: the scorecards the rule applies to
    rating_labels: frozenset[str] | None = None  # outcome: labels `rating` can take
    row_source: list[str] = field(default_factory=list)  # row: the aggregated source
    depends_on: set[str] = field(default_factory=set)  # indicators used (not lagged)
    lagged: set[str] = field(default_factory=set)  # indicators used via previous/trend
    sources: set[str] = field(default_factory=set)  # sources aggregated
    roster_columns: set[str] = field(default_factory=set)  # formula: roster columns read
    rated: bool = True  # outcome: is the rating known yet? (not in scorecard gates)

    def inside_aggregate(self) -> Context:
        return Context(
            "row",
            self.indicator,
            self.scorecards,
            self.rating_labels,
            [],
            self.depends_on,
            self.lagged,
            self.sources,
        )


def valid_date(text: str) -> bool:
    year, month, day = (int(part) for part in text.split("-"))
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def valid_period(text: str) -> bool:
    """Month numbers 1–12; quarter and fiscal-year forms are valid by their syntax."""
    return not (len(text) == 7 and text[5:].isdigit() and not 1 <= int(text[5:]) <= 12)


def _as_percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}%"


def suggest(name: str, candidates) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


class ExpressionChecker:
    def __init__(self, symbols, diagnostics: list[Diagnostic], currency: str | None):
        self.symbols = symbols
        self.diagnostics = diagnostics
        self.currency = currency
        self.dims: dict[int, Dim] = {}

    # ------------------------------------------------------------ entry points

    def check(self, expr: ast.Expr, ctx: Context, expect: Dim | None = None) -> Dim:
        dim = self._infer(expr, ctx)
        if expect is not None and expect.kind == "bool" and dim.kind not in ("bool", "any"):
            self._error(
                "E304",
                f"this condition is {dim}, not true/false",
                expr,
                hint="compare it, e.g. `x >= 10`",
            )
        return dim

    def constant(self, expr: ast.Expr, target: Dim, what: str = "value") -> Decimal | None:
        """The Decimal value of a constant, in the unit of `target` (percent as a fraction)."""
        dim = self._infer(expr, Context("constant"))
        if dim.kind == "any":
            return None
        if not dim.numeric:
            self._error("E308", f"the {what} must be a number, not {dim}", expr)
            return None
        if not dims.compatible(dim, target) and target.kind != "any":
            self._error("E301", f"the {what} is {dim} but should be {target}", expr)
            return None
        value = self.constant_value(expr, target)
        if (
            target.kind == "percent"
            and isinstance(expr, ast.Number)
            and value is not None
            and abs(value) > 1
        ):
            self.diagnostics.append(
                warning(
                    "W301",
                    f"{expr.text} means {_as_percent(value)} for a percent indicator",
                    expr.span,
                    hint=f"write {expr.text}% if you mean percent",
                )
            )
        return value

    def constant_value(self, expr: ast.Expr, target: Dim) -> Decimal | None:
        if isinstance(expr, (ast.Number, ast.Percent)):
            return expr.value
        if isinstance(expr, ast.Quantity):
            if expr.unit in dims.DURATION_UNITS and target.kind == "duration" and target.unit:
                per = dims.DURATION_UNITS[expr.unit][1]
                return expr.value * per / dims.DURATION_UNITS[target.unit][1]
            return expr.value
        if isinstance(expr, ast.Negate):
            inner = self.constant_value(expr.operand, target)
            return None if inner is None else -inner
        if isinstance(expr, ast.Name) and expr.name in self.symbols.benchmarks:
            bench = self.symbols.benchmarks[expr.name]
            return self.constant_value(bench.expr, target) if bench.expr is not expr else None
        if isinstance(expr, ast.Binary) and expr.op in ARITHMETIC:
            left = self.constant_value(expr.left, target)
            right = self.constant_value(expr.right, target)
            if left is None or right is None:
                return None
            try:
                return ARITHMETIC[expr.op](left, right)
            except (InvalidOperation, ZeroDivisionError):
                self._error("E308", "division by zero in a constant", expr)
                return None
        self._error(
            "E308", "expected a constant (a number, percentage, quantity or benchmark)", expr
        )
        return None

    def _fixed_value(self, expr: ast.Expr, depth: int = 0) -> Decimal | None:
        """The value of an expression built only from literals and benchmarks (`0`,
        `0 CNY`, `2 - 2`, a benchmark that is 0), or 0 for a product with such a zero
        factor (`0 * x`); else None. Reports nothing."""
        if depth > 50:
            return None
        if isinstance(expr, (ast.Number, ast.Percent, ast.Quantity)):
            return expr.value
        if isinstance(expr, ast.Negate):
            inner = self._fixed_value(expr.operand, depth + 1)
            return None if inner is None else -inner
        if isinstance(expr, ast.Name) and expr.name in self.symbols.benchmarks:
            return self._fixed_value(self.symbols.benchmarks[expr.name].expr, depth + 1)
        if isinstance(expr, ast.Binary) and expr.op in ARITHMETIC:
            left = self._fixed_value(expr.left, depth + 1)
            right = self._fixed_value(expr.right, depth + 1)
            if expr.op == "*" and 0 in (left, right):  # `0 * x` is 0 whatever x is
                return Decimal(0)
            if left is None or right is None or (expr.op == "/" and right == 0):
                return None
            try:
                return ARITHMETIC[expr.op](left, right)
            except InvalidOperation:
                return None
        return None

    # ------------------------------------------------------------ inference

    def _infer(self, expr: ast.Expr, ctx: Context) -> Dim:
        dim = self._infer_node(expr, ctx)
        self.dims[id(expr)] = dim
        return dim

    def _infer_node(self, expr: ast.Expr, ctx: Context) -> Dim:
        if isinstance(expr, ast.Number):
            return dims.LITERAL_NUMBER
        if isinstance(expr, ast.Percent):
            return dims.PERCENT
        if isinstance(expr, ast.Quantity):
            return self._quantity(expr)
        if isinstance(expr, ast.String):
            return dims.TEXT
        if isinstance(expr, ast.Bool):
            return dims.BOOL
        if isinstance(expr, ast.DateLit):
            if not valid_date(expr.text):
                self._error("E313", f"{expr.text} is not a calendar date", expr)
            return dims.DATE
        if isinstance(expr, ast.PeriodLit):
            if not valid_period(expr.text):
                self._error("E313", f"{expr.text} is not a period", expr)
            return dims.PERIOD
        if isinstance(expr, ast.ListLit):
            for item in expr.items:
                self._infer(item, ctx)
            return LIST
        if isinstance(expr, ast.Name):
            return self._name(expr, ctx)
        if isinstance(expr, ast.Attribute):
            return self._attribute(expr, ctx)
        if isinstance(expr, ast.Call):
            return self._call(expr, ctx)
        if isinstance(expr, ast.Negate):
            dim = self._infer(expr.operand, ctx)
            if not dim.numeric:
                self._error("E302", f"cannot negate {dim}", expr)
                return dims.ANY
            return dim
        if isinstance(expr, ast.Not):
            self.check(expr.operand, ctx, dims.BOOL)
            return dims.BOOL
        if isinstance(expr, ast.Binary):
            return self._binary(expr, ctx)
        if isinstance(expr, ast.In):
            return self._in(expr, ctx)
        if isinstance(expr, ast.LevelTest):
            return self._level_test(expr, ctx)
        if isinstance(expr, ast.If):
            self.check(expr.condition, ctx, dims.BOOL)
            then = self._infer(expr.then, ctx)
            other = self._infer(expr.otherwise, ctx)
            if not dims.compatible(then, other):
                self._error("E301", f"the branches of this `if` differ: {then} and {other}", expr)
                return dims.ANY
            return then.plain() if not then.literal else other
        return dims.ANY

    def _quantity(self, expr: ast.Quantity) -> Dim:
        if expr.unit in dims.DURATION_UNITS:
            return dims.duration(expr.unit)
        if expr.unit in dims.PERIOD_UNITS:
            return PERIODS
        # The grammar admits only duration and period words and three capital letters.
        if self.currency and expr.unit != self.currency:
            self._error(
                "E309",
                f"{expr.unit} differs from the policy currency {self.currency}",
                expr,
                hint="kpirules does not convert currencies",
            )
            return dims.money(self.currency)  # reported once, not again by every use
        return dims.money(expr.unit)

    def _name(self, expr: ast.Name, ctx: Context) -> Dim:
        name = expr.name
        symbols = self.symbols
        if ctx.kind in ("outcome", "rating") and name == "score":
            return dims.NUMBER
        if ctx.kind == "outcome" and name == "rating" and not ctx.rated:
            self._error(
                "E202",
                "a scorecard gate cannot use the rating: the rating is decided after the gates",
                expr,
                hint="test the score or the indicators instead",
            )
            return dims.ANY
        if ctx.kind == "outcome" and name == "rating":
            return dims.TEXT
        if ctx.kind == "test" and name in symbols.indicators:
            self._error(
                "E705",
                f"'{name}' has a value per person and period",
                expr,
                hint=f'ask for one: value({name}, "e1")',
            )
            return dims.ANY
        if ctx.kind in ("formula", "outcome", "row") and name in symbols.indicators:
            if ctx.kind == "row":
                self._error(
                    "E307",
                    f"indicator '{name}' cannot be used inside an aggregate",
                    expr,
                    hint="aggregate the source columns, or move it outside",
                )
                return dims.ANY
            ctx.depends_on.add(name)
            return symbols.indicator_dim(name)
        if name in symbols.benchmarks and ctx.kind != "roster":
            return symbols.benchmark_dim(name)
        if ctx.kind == "constant" and name in symbols.kind_of:
            self._error(
                "E308",
                f"'{name}' is {dims.article(symbols.kind_of[name])}; a constant is needed here",
                expr,
                hint="write a number, a percentage, a quantity or a benchmark",
            )
            return dims.ANY
        roster = symbols.roster
        if ctx.kind in ("roster", "outcome") and roster is not None and name in roster.columns:
            return symbols.column_dim(roster.name, name)
        if ctx.kind == "test" and (name in symbols.incentives or name in symbols.indicators):
            return dims.ANY
        if name in symbols.sources and ctx.kind in ("formula", "row"):
            self._error(
                "E305",
                f"source '{name}' is not a value",
                expr,
                hint=f"count its rows with count({name})",
            )
            return dims.ANY
        candidates = set(symbols.benchmarks)
        if ctx.kind in ("formula", "outcome", "test"):
            candidates |= set(symbols.indicators)
        if ctx.kind in ("roster", "outcome") and roster is not None:
            candidates |= set(roster.columns)
        if ctx.kind in ("outcome", "rating"):
            candidates |= {"score", "rating"} if ctx.kind == "outcome" else {"score"}
        where = {
            "formula": "in a formula",
            "row": "inside an aggregate",
            "roster": "here",
            "outcome": "here",
            "rating": "in a rating band",
            "constant": "in a constant",
            "test": "in a test",
        }[ctx.kind]
        hint = suggest(name, candidates)
        if hint is None and ctx.kind in ("formula", "row") and roster is not None:
            for source in symbols.sources.values():
                if name in source.columns:
                    hint = f"qualify the column: {source.name}.{name}"
                    break
        self._error("E202", f"unknown name '{name}' {where}", expr, hint=hint)
        return dims.ANY

    def _attribute(self, expr: ast.Attribute, ctx: Context) -> Dim:
        source = self.symbols.sources.get(expr.source)
        if source is None:
            self._error(
                "E204",
                f"unknown source '{expr.source}'",
                expr,
                hint=suggest(expr.source, self.symbols.sources),
            )
            return dims.ANY
        if ctx.kind == "row" and not source.is_roster and not ctx.row_source:
            ctx.row_source.append(source.name)
            ctx.sources.add(source.name)
        if expr.column not in source.columns:
            self._error(
                "E203",
                f"source '{source.name}' has no column '{expr.column}'",
                expr,
                hint=suggest(expr.column, source.columns),
            )
            return dims.ANY
        dim = self.symbols.column_dim(source.name, expr.column)
        if source.is_roster:
            if ctx.kind in ("constant", "rating", "test"):
                self._error("E202", f"'{expr.source}.{expr.column}' cannot be used here", expr)
                return dims.ANY
            if ctx.kind == "formula":  # a person's attribute: the same in every period
                ctx.roster_columns.add(expr.column)
            return dim
        if ctx.kind == "row":
            if ctx.row_source[0] != source.name:
                self._error(
                    "E306",
                    f"one aggregate reads one source: '{ctx.row_source[0]}' "
                    f"and '{source.name}' are mixed here",
                    expr,
                    hint="aggregate each source separately and combine the results",
                )
                return dims.ANY
            return dim
        if ctx.kind == "formula":
            self._error(
                "E305",
                f"column '{expr.source}.{expr.column}' must be aggregated",
                expr,
                hint=f"wrap it in sum(), mean(), count_distinct(), …: "
                f"sum({expr.source}.{expr.column})",
            )
        else:
            self._error(
                "E305",
                f"source columns are only read in indicator formulas; "
                f"'{expr.source}.{expr.column}' cannot be used here",
                expr,
                hint="define an indicator for it",
            )
        return dims.ANY

    def _binary(self, expr: ast.Binary, ctx: Context) -> Dim:
        op = expr.op
        if op in ("and", "or"):
            self.check(expr.left, ctx, dims.BOOL)
            self.check(expr.right, ctx, dims.BOOL)
            return dims.BOOL
        left = self._infer(expr.left, ctx)
        right = self._infer(expr.right, ctx)
        if left.kind == "any" or right.kind == "any":
            return dims.BOOL if op in COMPARISONS else dims.ANY
        if op in COMPARISONS:
            if not dims.compatible(left, right):
                self._error("E301", f"cannot compare {left} with {right}", expr)
            elif op not in ("==", "!=") and not (left.numeric or left.kind in ("date", "period")):
                self._error("E302", f"{left} values cannot be ordered with {op}", expr)
            self._check_rating_label(expr.left, expr.right, ctx)
            self._check_rating_label(expr.right, expr.left, ctx)
            return dims.BOOL
        if op == "-" and left.kind == right.kind == "date":
            return dims.duration("days")
        if op == "/" and self._fixed_value(expr.right) == 0:
            self._error(
                "E318",
                "division by zero: the divisor is always 0, so the result is never a number",
                expr.right,
                hint="divide by the quantity meant, or drop the division",
            )
        combine = {"+": dims.add, "-": dims.add, "*": dims.multiply, "/": dims.divide}[op]
        result = combine(left, right)
        if result is None:
            verb = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}[op]
            hint = None
            if op in "+-" and left.numeric and right.numeric:
                hint = "both sides need the same unit"
            self._error(
                "E301" if op in "+-" else "E302",
                f"cannot {verb} {left} and {right}",
                expr,
                hint=hint,
            )
            return dims.ANY
        return result

    def _in(self, expr: ast.In, ctx: Context) -> Dim:
        item = self._infer(expr.item, ctx)
        if isinstance(expr.collection, ast.ListLit):
            for option in expr.collection.items:
                dim = self._infer(option, ctx)
                if not dims.compatible(item, dim):
                    self._error("E301", f"cannot compare {item} with {dim}", option)
                self._check_rating_label(expr.item, option, ctx)
            self.dims[id(expr.collection)] = LIST
        else:
            collection = self._infer(expr.collection, ctx)
            if collection.kind not in ("list", "any"):
                self._error("E302", f"`in` needs a list, not {collection}", expr.collection)
        return dims.BOOL

    def _check_rating_label(self, side: ast.Expr, other: ast.Expr, ctx: Context) -> None:
        if not (isinstance(side, ast.Name) and side.name == "rating" and ctx.kind == "outcome"):
            return
        labels = ctx.rating_labels
        if isinstance(other, ast.String) and labels is not None and other.value not in labels:
            self._error(
                "E507",
                f"no rating level is called {other.raw}",
                other,
                hint=suggest(other.value, labels) or "levels: " + ", ".join(sorted(labels)),
            )

    def _level_test(self, expr: ast.LevelTest, ctx: Context) -> Dim:
        if ctx.kind != "outcome":
            self._error(
                "E311",
                f"`{expr.test} {expr.level}` is only meaningful in gates, "
                "payouts and action rules of a scorecard",
                expr,
            )
            return dims.BOOL
        subject = expr.subject
        if not (isinstance(subject, ast.Name) and subject.name in self.symbols.indicators):
            self._error(
                "E311",
                f"`{expr.test} {expr.level}` needs an indicator of the scorecard on its left",
                subject,
            )
            return dims.BOOL
        ctx.depends_on.add(subject.name)
        for card_name in ctx.scorecards:
            card = self.symbols.scorecards.get(card_name)
            if card is None:
                continue
            entry = next(
                (
                    e
                    for e in card.body
                    if isinstance(e, ast.Entry) and e.indicator.text == subject.name
                ),
                None,
            )
            if entry is None:
                self._error(
                    "E311", f"indicator '{subject.name}' is not in scorecard '{card_name}'", subject
                )
            elif not any(isinstance(i, ast.Point) and i.kind == expr.level for i in entry.items):
                self._error(
                    "E311",
                    f"indicator '{subject.name}' has no {expr.level} point in "
                    f"scorecard '{card_name}'",
                    expr,
                )
        return dims.BOOL

    # ------------------------------------------------------------ functions

    def _call(self, expr: ast.Call, ctx: Context) -> Dim:
        func = expr.func
        if ctx.kind == "test":
            return self._test_call(expr, ctx)
        is_aggregate = func in AGGREGATES and not (func in ("min", "max") and len(expr.args) > 1)
        if (expr.where is not None or expr.window is not None) and not is_aggregate:
            self._error("E210", f"`where` and `over` only go with aggregates, not {func}()", expr)
        if is_aggregate:
            return self._aggregate(expr, ctx)
        if func in SCALAR_FUNCTIONS:
            return self._scalar(expr, ctx)
        if func in TIME_FUNCTIONS:
            return self._time_function(expr, ctx)
        known = AGGREGATES + SCALAR_FUNCTIONS + TIME_FUNCTIONS
        self._error(
            "E209",
            f"unknown function '{func}'",
            expr,
            hint=suggest(func, known) or "functions: " + ", ".join(sorted(set(known))),
        )
        return dims.ANY

    def _aggregate(self, expr: ast.Call, ctx: Context) -> Dim:
        func = expr.func
        if ctx.kind != "formula":
            where = "inside another aggregate" if ctx.kind == "row" else "here"
            self._error(
                "E307",
                f"{func}() aggregates source rows and cannot be used {where}",
                expr,
                hint="aggregates belong in indicator formulas",
            )
            return dims.ANY
        wanted = 2 if func == "percentile" else 1
        if len(expr.args) != wanted:
            self._error(
                "E210",
                f"{func}() takes {wanted} argument{'s' * (wanted > 1)}, got {len(expr.args)}",
                expr,
            )
            return dims.ANY
        inner = ctx.inside_aggregate()
        arg = expr.args[0]
        if func == "count" and isinstance(arg, ast.Name) and arg.name in self.symbols.sources:
            inner.row_source.append(arg.name)
            ctx.sources.add(arg.name)
            self.dims[id(arg)] = LIST
            dim = dims.NUMBER
        else:
            dim = self._infer(arg, inner)
            if func in ("count", "count_distinct"):
                dim = dims.NUMBER
            elif not dim.numeric and not (func in ("min", "max") and dim.kind == "date"):
                self._error("E302", f"{func}() needs numbers, not {dim}", arg)
                dim = dims.ANY
        if func == "percentile":
            share = self.constant(expr.args[1], dims.PERCENT, "percentile")
            if share is not None and not 0 <= share <= 1:
                self._error("E308", "the percentile must be between 0% and 100%", expr.args[1])
        if expr.where is not None:
            self.check(expr.where, inner, dims.BOOL)
        if expr.window is not None:
            self.periods(expr.window, "the window")
        if not inner.row_source:
            self._error(
                "E305",
                f"{func}() reads no source column",
                expr,
                hint="aggregate a column such as sum(orders.amount)",
            )
        return dim.plain() if dim.kind != "any" else dim

    def periods(self, expr: ast.Expr, what: str) -> int | None:
        """A count of periods: `3 periods` or `3`."""
        ok = isinstance(expr, ast.Number) or (
            isinstance(expr, ast.Quantity) and expr.unit in dims.PERIOD_UNITS
        )
        if ok:
            self.dims[id(expr)] = PERIODS
            value = expr.value
            if value == value.to_integral_value() and value >= 1:
                return int(value)
        self._error("E308", f"{what} must be a whole number of periods, e.g. `3 periods`", expr)
        return None

    def _scalar(self, expr: ast.Call, ctx: Context) -> Dim:
        func, args = expr.func, expr.args
        if func in ("abs", "round"):
            wanted = (1,) if func == "abs" else (1, 2)
            if len(args) not in wanted:
                self._error(
                    "E210",
                    f"{func}() takes {' or '.join(map(str, wanted))} argument(s), got {len(args)}",
                    expr,
                )
                return dims.ANY
            dim = self._infer(args[0], ctx)
            if not dim.numeric:
                self._error("E302", f"{func}() needs a number, not {dim}", args[0])
                return dims.ANY
            if func == "round" and len(args) == 2:
                digits = self.constant(args[1], dims.NUMBER, "number of decimals")
                if digits is not None and digits != digits.to_integral_value():
                    self._error("E308", "round() takes a whole number of decimals", args[1])
            return dim
        # coalesce, min, max: two or more values of one unit
        if len(args) < 2:
            self._error("E210", f"{func}() needs at least two values", expr)
            return dims.ANY
        result = self._infer(args[0], ctx)
        for arg in args[1:]:
            dim = self._infer(arg, ctx)
            if not dims.compatible(result, dim):
                self._error("E301", f"{func}() mixes {result} and {dim}", arg)
                return dims.ANY
            if result.literal or result.kind == "any":
                result = dim
        return result

    def _time_function(self, expr: ast.Call, ctx: Context) -> Dim:
        func, args = expr.func, expr.args
        if ctx.kind not in ("formula", "outcome"):
            self._error("E307", f"{func}() cannot be used here", expr)
            return dims.ANY
        wanted = (1, 2) if func == "previous" else (2,)
        if len(args) not in wanted or not (
            isinstance(args[0], ast.Name) and args[0].name in self.symbols.indicators
        ):
            usage = (
                "previous(indicator[, periods])"
                if func == "previous"
                else f"{func}(indicator, 3 periods)"
            )
            self._error("E210", f"use {usage}", expr)
            return dims.ANY
        name = args[0].name
        better = self.symbols.indicator_better(name)
        if func != "previous" and better == "closer":
            self._error(
                "E210",
                f"{func}() needs a direction, and '{name}' is better closer to a target",
                expr,
                hint="define an indicator for the distance, e.g. abs(x - 100%), better lower",
            )
        ctx.lagged.add(name)
        dim = self.symbols.indicator_dim(name)
        self.dims[id(args[0])] = dim
        if len(args) == 2:
            self.periods(args[1], f"the {func}() window")
        return dim if func == "previous" else dims.BOOL

    def _test_call(self, expr: ast.Call, ctx: Context) -> Dim:
        func, args = expr.func, expr.args
        symbols = self.symbols
        if func not in TEST_FUNCTIONS:
            self._error(
                "E705",
                f"unknown test function '{func}'",
                expr,
                hint=suggest(func, TEST_FUNCTIONS) or "use " + ", ".join(TEST_FUNCTIONS),
            )
            return dims.ANY
        named = {"value": "indicator", "missing": "indicator", "payout": "incentive"}.get(func)
        if func == "score" and args and isinstance(args[0], ast.Name):
            named = "indicator"
        rest = list(args)
        result = {
            "score": dims.NUMBER,
            "rating": dims.TEXT,
            "actions": LIST,
            "missing": dims.BOOL,
        }.get(func, dims.ANY)
        if named:
            target = rest.pop(0) if rest else None
            table = symbols.indicators if named == "indicator" else symbols.incentives
            if not (isinstance(target, ast.Name) and target.name in table):
                shown = target.name if isinstance(target, ast.Name) else None
                self._error(
                    "E202",
                    f"{func}() needs an {named} name first"
                    + (f": unknown {named} '{shown}'" if shown else ""),
                    target or expr,
                    hint=suggest(shown, table) if shown else None,
                )
                return result
            self.dims[id(target)] = dims.ANY
            if func == "value":
                result = symbols.indicator_dim(target.name)
            elif func == "payout":
                result = dims.money(self.currency)
        if not 1 <= len(rest) <= 2:
            self._error("E210", f"{func}() takes a subject id and optionally a period", expr)
            return result
        if self._infer(rest[0], ctx).kind not in ("text", "any"):
            self._error("E302", 'the subject id is a string, e.g. "e1"', rest[0])
        if len(rest) == 2 and self._infer(rest[1], ctx).kind not in ("period", "any"):
            self._error("E302", "the period is written like 2026-Q1", rest[1])
        return result

    # ------------------------------------------------------------ reporting

    def _error(self, code: str, message: str, node: ast.Node, hint: str | None = None) -> None:
        self.diagnostics.append(error(code, message, node.span, hint))
