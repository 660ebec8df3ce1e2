"""Policy tests: `test` blocks give fixture data and state expectations; this runs them.

Each test evaluates the whole policy on its own data (sources it does not give are
empty), then checks each `expect` against the results. Durations are compared in
minutes, percentages as fractions, money in the policy currency; `==` allows for float
noise (1e-9).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kpirules import ast, model, rules
from kpirules import dimensions as dims
from kpirules.data import DataError, empty_frame
from kpirules.data.binding import FileSpec
from kpirules.data.readers import read
from kpirules.engine import EvaluationError, evaluate
from kpirules.formatter import format_expr
from kpirules.loader import confined
from kpirules.plan.expressions import literal_number, minutes_per
from kpirules.results import Results


@dataclass
class Failure:
    line: str  # file:line of the expectation
    expectation: str
    message: str


@dataclass
class TestResult:
    name: str
    location: str
    status: str  # pass | fail | error
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None
    results: Results | None = None


class _TestError(Exception):
    """A problem with a test itself (unknown subject, unreadable fixture…)."""


def run_tests(policy: model.Policy, pattern: str | None = None) -> list[TestResult]:
    selected = [t for t in policy.tests if pattern is None or re.search(pattern, t.name)]
    return [run_test(policy, test) for test in selected]


def run_test(policy: model.Policy, test: model.Test) -> TestResult:
    location = f"{test.span.file}:{test.span.line}"
    result = TestResult(test.name, location, "pass")
    period = next((s.period.text for s in test.decl.body if isinstance(s, ast.TestPeriod)), None)
    try:
        data = fixture_data(policy, test)
        results = evaluate(policy, data, period, history=True)
    except (DataError, EvaluationError, _TestError) as exc:
        result.status, result.error = "error", str(exc)
        return result
    result.results = results
    if results.blocked:
        findings = results.quality[results.quality["severity"] == "error"]
        first = findings.iloc[0]["message"] if len(findings) else "data-quality error"
        result.status, result.error = "error", f"fixture data failed data quality: {first}"
        return result
    period = period or (results.periods[-1] if results.periods else None)
    for stmt in test.decl.body:
        if not isinstance(stmt, ast.Expect):
            continue
        where = f"{stmt.span.file}:{stmt.span.line}"
        shown = format_expr(stmt.expr)
        try:
            outcome = _Expectation(policy, results, period).check(stmt.expr)
        except _TestError as exc:
            result.status = "error" if result.status != "fail" else "fail"
            result.failures.append(Failure(where, shown, str(exc)))
            continue
        if outcome is not None:
            result.status = "fail"
            result.failures.append(Failure(where, shown, outcome))
    if result.status == "error" and not result.error:
        result.error = result.failures[0].message
    return result


# ------------------------------------------------------------------ fixtures


def fixture_data(policy: model.Policy, test: model.Test) -> dict[str, pd.DataFrame]:
    """Each source's rows as the test gives them (as text, typed by the data layer)."""
    rows: dict[str, list[dict]] = {}
    frames: dict[str, pd.DataFrame] = {}
    base = Path(test.span.file).resolve().parent
    for stmt in test.decl.body:
        if isinstance(stmt, ast.GivenRecords):
            spec = policy.sources[stmt.source.text]
            for record in stmt.records:
                rows.setdefault(spec.name, []).append(
                    {f.name.text: _cell(f.value, spec.columns[f.name.text]) for f in record.fields}
                )
        elif isinstance(stmt, ast.GivenFile):
            path, problem = confined(stmt.path.value, base, Path(policy.root))
            if problem:
                raise _TestError(problem.message)
            fmt = path.suffix.lower().lstrip(".")
            if fmt not in ("csv", "xlsx", "parquet"):
                raise _TestError(f"{stmt.path.value}: fixtures are .csv, .xlsx or .parquet files")
            spec = FileSpec(source=stmt.source.text, path=path, shown=str(path), format=fmt)
            try:
                frames[stmt.source.text] = read(spec).frame.drop(columns=["_row"], errors="ignore")
            except DataError as exc:
                raise _TestError(str(exc)) from exc
    for name, records in rows.items():
        spec = policy.sources[name]
        frame = pd.DataFrame(records, columns=list(spec.columns), dtype=object).fillna("")
        frames[name] = pd.concat([frames[name], frame]) if name in frames else frame
    for name, spec in policy.sources.items():
        if name not in frames:
            frames[name] = empty_frame(spec)
    return frames


def _cell(value: ast.Expr, column: model.Column) -> str:
    """A literal as the text a CSV cell would hold for this column."""
    negative = False
    while isinstance(value, ast.Negate):
        negative, value = not negative, value.operand
    sign = "-" if negative else ""
    if isinstance(value, ast.String):
        return value.value
    if isinstance(value, ast.Bool):
        return "true" if value.value else "false"
    if isinstance(value, ast.DateLit | ast.PeriodLit):
        return value.text
    if isinstance(value, ast.Percent):
        return sign + str(value.value)
    if isinstance(value, ast.Quantity) and value.unit in dims.DURATION_UNITS:
        minutes = value.value * dims.DURATION_UNITS[value.unit][1]
        return sign + str(minutes / minutes_per_decimal(column.dim))
    if isinstance(value, ast.Number | ast.Quantity):
        return sign + str(value.value)
    raise _TestError(f"a fixture value must be a literal, not {format_expr(value)}")


def minutes_per_decimal(dim: dims.Dim):
    if dim.kind == "duration" and dim.unit:
        return dims.DURATION_UNITS[dim.unit][1]
    return 1


# ------------------------------------------------------------------ expectations


class _Expectation:
    def __init__(self, policy: model.Policy, results: Results, period: str | None):
        self.policy = policy
        self.results = results
        self.period = period

    def check(self, expr: ast.Expr) -> str | None:
        """None when the expectation holds, else what was found instead."""
        if isinstance(expr, ast.Binary) and expr.op in ("==", "!=", "<", "<=", ">", ">="):
            left, right = self.value(expr.left), self.value(expr.right)
            if _compare(expr.op, left, right):
                return None
            return (
                f"expected {format_expr(expr)}, but the left side is {_show(left)} "
                f"and the right side {_show(right)}"
            )
        holds = self.value(expr)
        if holds is True:
            return None
        return f"expected {format_expr(expr)} to hold, but it is {_show(holds)}"

    def value(self, expr: ast.Expr) -> Any:
        if isinstance(expr, ast.NUMERIC_LITERALS):
            return literal_number(expr)
        if isinstance(expr, ast.Negate):
            return -self.value(expr.operand)
        if isinstance(expr, ast.String):
            return expr.value
        if isinstance(expr, ast.Bool):
            return expr.value
        if isinstance(expr, ast.DateLit | ast.PeriodLit):
            return expr.text
        if isinstance(expr, ast.ListLit):
            return [self.value(item) for item in expr.items]
        if isinstance(expr, ast.Not):
            return not self._truth(self.value(expr.operand))
        if isinstance(expr, ast.In):
            return self.value(expr.item) in self.value(expr.collection)
        if isinstance(expr, ast.Binary):
            if expr.op == "and":
                return self._truth(self.value(expr.left)) and self._truth(self.value(expr.right))
            if expr.op == "or":
                return self._truth(self.value(expr.left)) or self._truth(self.value(expr.right))
            left, right = self.value(expr.left), self.value(expr.right)
            if expr.op in ("==", "!=", "<", "<=", ">", ">="):
                return _compare(expr.op, left, right)
            return {"+": left + right, "-": left - right, "*": left * right}.get(
                expr.op, left / right if right else math.nan
            )
        if isinstance(expr, ast.Call):
            return self.call(expr)
        raise _TestError(f"cannot evaluate {format_expr(expr)} in a test")

    @staticmethod
    def _truth(value: Any) -> bool:
        return bool(value) and not (isinstance(value, float) and math.isnan(value))

    def call(self, call: ast.Call) -> Any:
        func, args = call.func, list(call.args)
        name = None
        if func in ("value", "missing", "payout") or (
            func == "score" and args and isinstance(args[0], ast.Name)
        ):
            name = args.pop(0).name
        subject = self.value(args[0])
        period = self.value(args[1]) if len(args) > 1 else self.period
        r = self.results
        if func in ("value", "missing"):
            rows = self._rows(r.indicators, subject, period, indicator=name)
            value = float(rows["value"].iloc[0])
            if func == "missing":
                return math.isnan(value)
            return value * minutes_per(self.policy.indicators[name].dim)
        if func == "score" and name is not None:
            return float(self._rows(r.scores, subject, period, indicator=name)["score"].iloc[0])
        if func == "score":
            return float(self._one_card(r.totals, subject, period)["total"])
        if func == "rating":
            return self._one_card(r.totals, subject, period)["rating"]
        if func == "payout":
            return float(self._rows(r.payouts, subject, period, incentive=name)["amount"].sum())
        if func == "actions":
            actions = r.actions
            chosen = actions[(actions["subject"] == subject) & (actions["period"] == period)]
            return sorted(chosen["title"])
        raise _TestError(f"unknown test function {func}()")

    def _rows(self, frame: pd.DataFrame, subject: str, period: str, **where) -> pd.DataFrame:
        mask = (frame["subject"] == subject) & (frame["period"] == period)
        for column, value in where.items():
            mask &= frame[column] == value
        rows = frame[mask]
        if rows.empty:
            what = ", ".join(f"{k} {v}" for k, v in where.items())
            raise _TestError(
                f"no result for subject {subject!r} in {period}"
                + (f" ({what})" if what else "")
                + " — is the subject in the roster and on that scorecard?"
            )
        return rows

    def _one_card(self, totals: pd.DataFrame, subject: str, period: str) -> pd.Series:
        rows = self._rows(totals, subject, period)
        if len(rows) > 1:
            cards = ", ".join(rows["scorecard"])
            raise _TestError(
                f"{subject!r} is on several scorecards ({cards}); "
                "ask for score(indicator, …) instead"
            )
        return rows.iloc[0]


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        if math.isnan(left) or math.isnan(right):
            return op == "!=" and not (math.isnan(left) and math.isnan(right))
        return bool(rules.compare_numbers(op, left, right))  # the engine's exactness rule
    try:
        return (
            {"==": left == right, "!=": left != right}[op]
            if op in ("==", "!=")
            else {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
                op
            ]
        )
    except TypeError:
        return False


def _show(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "missing"
        return f"{value:.10g}"
    if value is None:
        return "none"
    return repr(value)


# ------------------------------------------------------------------ coverage


@dataclass
class Coverage:
    items: dict[str, bool]  # what → exercised by some test

    @property
    def percent(self) -> float:
        return 100.0 * sum(self.items.values()) / len(self.items) if self.items else 100.0


def coverage(policy: model.Policy, outcomes: list[TestResult]) -> Coverage:
    """Which rating levels, curve segments, gates and action rules the tests exercised."""
    items: dict[str, bool] = {}
    results = [o.results for o in outcomes if o.results is not None]
    for card in policy.scorecards.values():
        rating = policy.ratings.get(card.rating)
        for label in rating.labels if rating else ():
            seen = any(
                ((r.totals["scorecard"] == card.name) & (r.totals["rating"] == label)).any()
                for r in results
            )
            items[f"scorecard {card.name}: rating {label!r}"] = seen
        for entry in card.entries:
            if isinstance(entry.scoring, model.Curve):
                segments = _segments(entry.scoring)
                values = pd.concat(
                    [
                        r.scores.loc[
                            (r.scores["scorecard"] == card.name)
                            & (r.scores["indicator"] == entry.indicator),
                            "value",
                        ]
                        for r in results
                    ]
                    or [pd.Series(dtype=float)]
                ).dropna()
                better = policy.indicators[entry.indicator].better
                for label, test in segments:
                    hit = bool(test(values, better).any()) if len(values) else False
                    items[f"scorecard {card.name}: {entry.indicator} {label}"] = hit
        if card.gates:
            failed = any(
                (
                    (r.totals["scorecard"] == card.name)
                    & r.totals["status"].str.contains("gate failed")
                ).any()
                for r in results
            )
            items[f"scorecard {card.name}: a gate failing"] = failed
    for incentive in policy.incentives.values():
        if incentive.gates:
            for state in (True, False):
                seen = any(
                    (
                        (r.payouts["incentive"] == incentive.name)
                        & (r.payouts["gate_passed"] == state)
                    ).any()
                    for r in results
                )
                items[f"incentive {incentive.name}: gate {'passing' if state else 'failing'}"] = (
                    seen
                )
    rules = [a for i in policy.incentives.values() for a in i.actions] + [
        a for imp in policy.improvements for a in imp.actions
    ]
    for action in rules:
        where = f"{action.span.file}:{action.span.line}"
        items[f"action {action.kind} {action.title!r} ({where})"] = any(
            (r.actions["rule"] == where).any() for r in results
        )
    return Coverage(items)


def _segments(curve: model.Curve):
    points = [float(p.value) for p in curve.points]

    def between(a: float, b: float):
        low, high = min(a, b), max(a, b)
        return lambda v, better: (v >= low) & (v <= high)

    def before(v, better):
        return v > points[0] if better == "lower" else v < points[0]

    def beyond(v, better):
        return v < points[-1] if better == "lower" else v > points[-1]

    segments = [("below the first point", before)]
    for a, b in itertools.pairwise(points):
        segments.append((f"between {a:.15g} and {b:.15g}", between(a, b)))
    segments.append(("beyond the last point", beyond))
    return segments
