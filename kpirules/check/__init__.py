"""Parsed modules → checked policy model, with every problem found in one pass.

The checker resolves names, infers units, validates curves, bands, weights and ratings,
and finds cycles. It keeps going after an error so that one run reports all it can;
it builds the model only when nothing is wrong.
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from pathlib import Path

from kpirules import ast, model
from kpirules import dimensions as dims
from kpirules.check.expressions import (
    Context,
    ExpressionChecker,
    suggest,
    valid_date,
    valid_period,
)
from kpirules.check.graph import find_cycles
from kpirules.check.symbols import Symbols
from kpirules.diagnostics import Diagnostic, error, has_errors, warning
from kpirules.loader import confined

CADENCES = ("monthly", "quarterly", "yearly")
DIRECTIONS = ("higher", "lower", "closer")
HORIZONS = ("short", "long")
HIT_POLICIES = ("unique", "first")
MISSING_ACTIONS = ("reweight", "score", "fail")
GATE_EFFECTS = ("cap", "score")
ROUNDING_MODES = ("half_even", "half_up", "down", "up")
ACTION_KINDS = ("training", "coaching", "plan", "review", "recognize", "nominate")
OWNERS = ("manager", "employee", "hr")
PRORATE_BASES = ("days_employed",)
FEEDBACK_KEYS = ("check_in", "one_on_one", "review", "calibration")
FEEDBACK_CADENCES = ("weekly", "biweekly", "monthly", "quarterly", "yearly")
DQ_FINDINGS = (
    "missing_column",
    "extra_column",
    "type_mismatch",
    "null_key",
    "duplicate_key",
    "unknown_subject",
    "out_of_range",
    "stale",
    "null_value",
    "not_allowed",
)
DQ_LEVELS = ("error", "warning", "ignore")
ROLES_SOURCE = ("key", "subject", "time")
ROLES_ROSTER = ("key", "display", "department", "role", "manager", "start", "end")
POINT_ORDER = {"threshold": 0, "target": 1, "stretch": 2}
_PERIOD_FORMS = {
    "monthly": re.compile(r"^\d{4}-\d{2}$"),
    "quarterly": re.compile(r"^\d{4}-Q[1-4]$"),
    "yearly": re.compile(r"^FY\d{4}$"),
}


def check(
    modules: list[ast.Module], root: str = "."
) -> tuple[model.Policy | None, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    policy = _Checker(modules, root, diagnostics).run()
    diagnostics.sort(key=lambda d: d.sort_key)
    return (None if has_errors(diagnostics) else policy), diagnostics


class _Checker:
    def __init__(self, modules: list[ast.Module], root: str, diagnostics: list[Diagnostic]):
        self.modules = modules
        self.root = root
        self.diagnostics = diagnostics
        self.symbols = Symbols(modules, diagnostics)
        self.header: model.Header | None = None

    # ------------------------------------------------------------ helpers

    def error(self, code: str, message: str, node: ast.Node, hint: str | None = None) -> None:
        self.diagnostics.append(error(code, message, node.span, hint))

    def warn(self, code: str, message: str, node: ast.Node, hint: str | None = None) -> None:
        self.diagnostics.append(warning(code, message, node.span, hint))

    def single(self, body, kind: type, decl_name: str):
        """The one statement of a kind in a body; a second one is an error."""
        found = [stmt for stmt in body if isinstance(stmt, kind)]
        for extra in found[1:]:
            self.error(
                "E206",
                f"{decl_name} says this twice; only one is allowed",
                extra,
                hint=f"first at {found[0].span}",
            )
        return found[0] if found else None

    def choice(self, ident: ast.Ident | None, allowed: tuple[str, ...], what: str) -> str | None:
        if ident is None:
            return None
        if ident.text not in allowed:
            self.error(
                "E208",
                f"unknown {what} '{ident.text}'",
                ident,
                hint=suggest(ident.text, allowed) or "one of: " + ", ".join(allowed),
            )
            return None
        return ident.text

    def describe(self, body) -> str | None:
        stmt = self.single(body, ast.Description, "this declaration")
        return stmt.text.value if stmt else None

    # ------------------------------------------------------------ driver

    def run(self) -> model.Policy:
        symbols = self.symbols
        self.exprs = ExpressionChecker(symbols, self.diagnostics, None)
        self.header = self.check_header()
        symbols.currency = self.exprs.currency = self.header.currency if self.header else None
        for decl in symbols.source_decls.values():
            source = self.check_source(decl)
            symbols.sources[source.name] = source
        rosters = [s for s in symbols.sources.values() if s.is_roster]
        for extra in rosters[1:]:
            self.error(
                "E211",
                f"a policy has one roster; '{rosters[0].name}' is already declared",
                symbols.source_decls[extra.name].name,
            )
        if not rosters and symbols.scorecards:
            first = next(iter(symbols.scorecards.values()))
            self.error(
                "E211",
                "scorecards need a roster of the people they evaluate",
                first.name,
                hint="declare `roster employees { key employee_id … }`",
            )
        benchmarks = {n: self.check_benchmark(d) for n, d in symbols.benchmarks.items()}
        objectives = {n: self.check_objective(d) for n, d in symbols.objectives.items()}
        indicators = {n: self.check_indicator(d) for n, d in symbols.indicators.items()}
        goals = {n: self.check_goal(d) for n, d in symbols.goals.items()}
        ratings = {n: self.check_rating(d) for n, d in symbols.ratings.items()}
        scorecards = {n: self.check_scorecard(d) for n, d in symbols.scorecards.items()}
        incentives = {n: self.check_incentive(d) for n, d in symbols.incentives.items()}
        improvements = tuple(self.check_improvement(d) for d in symbols.improvements)
        feedback = tuple(self.check_feedback(d) for d in symbols.feedback)
        tests = tuple(self.check_test(d) for d in symbols.tests)
        self.check_cascade_cycles()
        self.check_indicator_cycles(indicators)
        return model.Policy(
            header=self.header,
            sources=dict(symbols.sources),
            objectives=objectives,
            goals=goals,
            indicators=indicators,
            benchmarks=benchmarks,
            scorecards=scorecards,
            ratings=ratings,
            incentives=incentives,
            improvements=improvements,
            feedback=feedback,
            tests=tests,
            files=tuple(m.path for m in self.modules),
            root=self.root,
            dims=self.exprs.dims,
        )

    # ------------------------------------------------------------ header

    def check_header(self) -> model.Header | None:
        policies = self.symbols.policies
        for extra in policies[1:]:
            self.error(
                "E212",
                f"a policy has one header; already declared at {policies[0].span}",
                extra.name,
            )
        if not policies:
            return None
        decl = policies[0]
        body = decl.body
        version = self.single(body, ast.Version, "the policy")
        cadence_stmt = self.single(body, ast.Cadence, "the policy")
        cadence = None
        if cadence_stmt is None:
            self.error(
                "E207",
                "the policy needs a cadence",
                decl.name,
                hint="add `cadence quarterly` (monthly, quarterly or yearly)",
            )
        else:
            cadence = self.choice(cadence_stmt.name, CADENCES, "cadence")
        effective = self.single(body, ast.Effective, "the policy")
        start = end = None
        if effective is not None:
            start = self.check_date(effective.start)
            end = self.check_date(effective.end)
            if start and end and start > end:
                self.error(
                    "E312",
                    f"the effective range ends ({end}) before it starts ({start})",
                    effective,
                )
        currency_stmt = self.single(body, ast.Currency, "the policy")
        currency = None
        if currency_stmt is not None:
            currency = currency_stmt.code.text
            if not re.fullmatch(r"[A-Z]{3}", currency):
                self.error(
                    "E208",
                    f"'{currency}' is not a currency code",
                    currency_stmt.code,
                    hint="use an ISO 4217 code such as CNY, USD or EUR",
                )
        locale = self.single(body, ast.Locale, "the policy")
        rounding = self.single(body, ast.Rounding, "the policy")
        mode, step = "half_even", Decimal("0.01")
        if rounding is not None:
            mode = self.choice(rounding.mode, ROUNDING_MODES, "rounding mode") or mode
            value = self.exprs.constant(rounding.step, dims.LITERAL_NUMBER, "rounding step")
            if value is not None:
                if value <= 0:
                    self.error("E308", "the rounding step must be positive", rounding.step)
                else:
                    step = value
        fiscal = self.single(body, ast.FiscalYearStart, "the policy")
        fiscal_month = 1
        if fiscal is not None:
            month = fiscal.month.value
            if month != month.to_integral_value() or not 1 <= month <= 12:
                self.error("E208", "fiscal_year_start is a month number from 1 to 12", fiscal.month)
            else:
                fiscal_month = int(month)
        quality = {}
        dq_block = self.single(body, ast.DataQuality, "the policy")
        if dq_block is not None:
            quality = self.check_data_quality(dq_block)
        return model.Header(
            name=decl.name.value,
            version=version.value.value if version else None,
            cadence=cadence or "quarterly",
            effective_start=start,
            effective_end=end,
            currency=currency,
            locale=locale.value.value if locale else "en",
            rounding_mode=mode,
            rounding_step=step,
            fiscal_year_start=fiscal_month,
            data_quality=quality,
            description=self.describe(body),
            span=decl.span,
        )

    def check_data_quality(self, block: ast.DataQuality) -> dict[str, str]:
        settings: dict[str, str] = {}
        for setting in block.settings:
            key = setting.key.text
            if key in settings:
                self.error("E206", f"data_quality sets '{key}' twice", setting.key)
                continue
            if key == "stale_after":
                value = setting.value
                if isinstance(value, ast.Quantity) and value.unit in dims.DURATION_UNITS:
                    minutes = value.value * dims.DURATION_UNITS[value.unit][1]
                    settings[key] = str(minutes / 1440)
                else:
                    self.error("E308", "stale_after takes a duration such as `7 days`", setting)
                continue
            if key not in DQ_FINDINGS:
                self.error(
                    "E208",
                    f"unknown data-quality setting '{key}'",
                    setting.key,
                    hint=suggest(key, (*DQ_FINDINGS, "stale_after"))
                    or "settings: stale_after, " + ", ".join(DQ_FINDINGS),
                )
                continue
            if not isinstance(setting.value, ast.Ident):
                self.error("E208", f"'{key}' takes error, warning or ignore", setting)
                continue
            level = self.choice(setting.value, DQ_LEVELS, "level")
            if level:
                settings[key] = level
        return settings

    def check_date(self, lit: ast.DateLit) -> str | None:
        if not valid_date(lit.text):
            self.error("E313", f"{lit.text} is not a calendar date", lit)
            return None
        return lit.text

    def check_period_literal(self, lit: ast.PeriodLit, strict_cadence: bool) -> None:
        text = lit.text
        if not valid_period(text):
            self.error("E313", f"{text} is not a month", lit)
            return
        cadence = self.header.cadence if self.header else None
        if strict_cadence and cadence and not _PERIOD_FORMS[cadence].match(text):
            example = {"monthly": "2026-03", "quarterly": "2026-Q1", "yearly": "FY2026"}[cadence]
            self.error(
                "E313",
                f"{text} is not a {cadence} period",
                lit,
                hint=f"{cadence} periods are written like {example}",
            )

    # ------------------------------------------------------------ sources

    def check_source(self, decl: ast.SourceDecl) -> model.Source:
        kind = "roster" if decl.is_roster else "source"
        allowed_roles = ROLES_ROSTER if decl.is_roster else ROLES_SOURCE
        columns: dict[str, model.Column] = {}
        blocks = [s for s in decl.body if isinstance(s, ast.Columns)]
        for extra in blocks[1:]:
            self.error("E206", f"{kind} '{decl.name.text}' has two columns blocks", extra)
        if not blocks:
            self.error(
                "E207",
                f"{kind} '{decl.name.text}' declares no columns",
                decl.name,
                hint="add `columns { id: text  amount: money … }`",
            )
        for block in blocks[:1]:
            for column in block.columns:
                name = column.name.text
                if name in columns:
                    self.error("E201", f"column '{name}' is declared twice", column.name)
                    continue
                type_name = self.choice(column.type, dims.COLUMN_TYPES, "column type")
                dim = (
                    dims.of_column_type(type_name, self.symbols.currency) if type_name else dims.ANY
                )
                allowed = None
                if column.allowed is not None:
                    allowed = tuple(
                        self._allowed_value(item, type_name) for item in column.allowed.items
                    )
                columns[name] = model.Column(
                    name, type_name or "text", dim, column.required, allowed, column.span
                )
        roles: dict[str, str] = {}
        for stmt in decl.body:
            if not isinstance(stmt, ast.FieldRole):
                continue
            if stmt.role not in allowed_roles:
                self.error(
                    "E208",
                    f"{dims.article(kind)} has no '{stmt.role}' field",
                    stmt,
                    hint="fields: " + ", ".join(allowed_roles),
                )
                continue
            if stmt.role in roles:
                self.error("E206", f"{kind} '{decl.name.text}' sets '{stmt.role}' twice", stmt)
                continue
            if blocks and stmt.column.text not in columns:
                self.error(
                    "E203",
                    f"'{stmt.column.text}' is not a column of '{decl.name.text}'",
                    stmt.column,
                    hint=suggest(stmt.column.text, columns),
                )
                continue
            roles[stmt.role] = stmt.column.text
            column = columns.get(stmt.column.text)
            if column and stmt.role in ("time", "start", "end") and column.type != "date":
                self.error(
                    "E314",
                    f"the {stmt.role} column must be a date, '{column.name}' is {column.type}",
                    stmt.column,
                )
        if not decl.is_roster and blocks and "subject" not in roles:
            self.error(
                "E207",
                f"source '{decl.name.text}' needs a subject: the roster key its rows belong to",
                decl.name,
                hint="add `subject employee_id`",
            )
        if decl.is_roster and "key" not in roles:
            self.error(
                "E207",
                f"roster '{decl.name.text}' needs a key",
                decl.name,
                hint="add `key employee_id`",
            )
        return model.Source(
            decl.name.text,
            decl.label.value if decl.label else None,
            decl.is_roster,
            columns,
            roles,
            decl.span,
        )

    def _allowed_value(self, item: ast.Expr, type_name: str | None):
        if isinstance(item, ast.String):
            if type_name not in (None, "text"):
                self.error("E301", f"a {type_name} column cannot hold text", item)
            return item.value
        if isinstance(item, (ast.Number, ast.Percent)):
            return item.value
        if isinstance(item, ast.Bool):
            return item.value
        self.error("E308", "allowed values are literals", item)
        return None

    # ------------------------------------------------------------ cascade

    def check_benchmark(self, decl: ast.BenchmarkDecl) -> model.Benchmark:
        dim = self.symbols.benchmark_dim(decl.name.text)
        if isinstance(decl.expr, ast.Name) or not self._is_literal(decl.expr):
            self.error(
                "E308", "a benchmark is a constant: a number, percentage or quantity", decl.expr
            )
            value = None
        else:
            value = self.exprs.constant(decl.expr, dim.plain(), "benchmark")
        return model.Benchmark(
            decl.name.text,
            decl.label.value if decl.label else None,
            decl.expr,
            value,
            dim.plain(),
            decl.span,
        )

    @staticmethod
    def _is_literal(expr: ast.Expr) -> bool:
        while isinstance(expr, ast.Negate):
            expr = expr.operand
        return isinstance(expr, ast.NUMERIC_LITERALS)

    def check_supports(self, body, allowed: tuple[str, ...], owner: str) -> tuple[str, ...]:
        names = []
        for stmt in body:
            if not isinstance(stmt, ast.Supports):
                continue
            for target in stmt.targets:
                kind = self.symbols.kind_of.get(target.text)
                if kind is None:
                    candidates = [n for n, k in self.symbols.kind_of.items() if k in allowed]
                    self.error(
                        "E202",
                        f"unknown {' or '.join(allowed)} '{target.text}'",
                        target,
                        hint=suggest(target.text, candidates),
                    )
                elif kind not in allowed:
                    self.error(
                        "E403",
                        f"{owner} cannot support {kind} '{target.text}'; "
                        f"it supports {' or '.join(allowed)}s",
                        target,
                    )
                else:
                    names.append(target.text)
        return tuple(names)

    def horizon(self, body, owner: str) -> str | None:
        stmt = self.single(body, ast.Horizon, owner)
        return self.choice(stmt.name, HORIZONS, "horizon") if stmt else None

    def check_objective(self, decl: ast.ObjectiveDecl) -> model.Objective:
        body = decl.body or ()
        for stmt in body:
            if isinstance(stmt, (ast.Owner, ast.Target)):
                self.error(
                    "E208",
                    "objectives take supports, horizon and description; owners "
                    "and targets belong to goals",
                    stmt,
                )
        return model.Objective(
            decl.name.text,
            decl.label.value if decl.label else None,
            self.horizon(body, f"objective '{decl.name.text}'"),
            self.check_supports(body, ("objective",), "an objective"),
            self.describe(body),
            decl.span,
        )

    def check_goal(self, decl: ast.GoalDecl) -> model.Goal:
        body = decl.body or ()
        name = decl.name.text
        supports = self.check_supports(body, ("objective", "goal"), "a goal")
        owner = self.single(body, ast.Owner, f"goal '{name}'")
        level, value = "company", None
        if owner is not None:
            level = owner.level.text
            value = owner.value.value if owner.value else None
            roster = self.symbols.roster
            if level == "company" and owner.value is not None:
                self.error("E208", "`owner company` takes no name", owner.value)
            if level != "company":
                column = roster.roles.get(level, level) if roster else level
                if roster is not None and column not in roster.columns:
                    self.error(
                        "E203",
                        f"goal owner '{level}' is neither `company` nor a roster field",
                        owner.level,
                        hint=suggest(level, [*list(roster.columns), "company"]),
                    )
                if value is None:
                    self.error("E207", f'say which {level}: `owner {level} "Sales"`', owner)
        target_stmt = self.single(body, ast.Target, f"goal '{name}'")
        target = deadline = None
        if target_stmt is not None:
            target = self.check_goal_target(target_stmt)
            if target_stmt.deadline is not None:
                deadline = target_stmt.deadline.text
                if isinstance(target_stmt.deadline, ast.DateLit):
                    self.check_date(target_stmt.deadline)
                else:
                    self.check_period_literal(target_stmt.deadline, strict_cadence=True)
        return model.Goal(
            name,
            decl.label.value if decl.label else None,
            supports,
            level,
            value,
            target,
            deadline,
            self.horizon(body, f"goal '{name}'"),
            self.describe(body),
            decl.span,
        )

    def check_goal_target(self, stmt: ast.Target) -> model.GoalTarget | None:
        cond = stmt.condition
        if not (
            isinstance(cond, ast.Binary)
            and cond.op in ("==", "!=", "<", "<=", ">", ">=")
            and isinstance(cond.left, ast.Name)
        ):
            self.error(
                "E315",
                "a goal target compares an indicator with a value",
                cond,
                hint="e.g. `target new_market_share >= 30% by 2026-Q4`",
            )
            return None
        name = cond.left.name
        if name not in self.symbols.indicators:
            self.error(
                "E202",
                f"unknown indicator '{name}'",
                cond.left,
                hint=suggest(name, self.symbols.indicators),
            )
            return None
        dim = self.symbols.indicator_dim(name)
        self.exprs.dims[id(cond.left)] = dim
        self.exprs.dims[id(cond)] = dims.BOOL
        value = self.exprs.constant(cond.right, dim, "target")
        if value is None:
            return None
        return model.GoalTarget(name, cond.op, value, cond)

    # ------------------------------------------------------------ indicators

    def check_indicator(self, decl: ast.IndicatorDecl) -> model.Indicator:
        name = decl.name.text
        what = f"indicator '{name}'"
        body = decl.body
        unit_stmt = self.single(body, ast.UnitStmt, what)
        better_stmt = self.single(body, ast.Better, what)
        period_stmt = self.single(body, ast.PeriodStmt, what)
        formula = self.single(body, ast.Formula, what)
        unit = self.choice(unit_stmt.name, dims.INDICATOR_UNITS, "unit") if unit_stmt else None
        if unit_stmt is None:
            self.error(
                "E207",
                f"{what} needs a unit",
                decl.name,
                hint="add `unit count` (or number, percent, money, days, …)",
            )
        better = self.choice(better_stmt.name, DIRECTIONS, "direction") if better_stmt else None
        if better_stmt is None:
            self.error(
                "E207",
                f"{what} needs a direction",
                decl.name,
                hint="add `better higher`, `better lower` or `better closer`",
            )
        period = self.choice(period_stmt.name, CADENCES, "period") if period_stmt else None
        cadence = self.header.cadence if self.header else None
        if period and cadence and period != cadence:
            self.error(
                "E317",
                f"{what} is measured {period}, but the policy's cadence is {cadence}",
                period_stmt,
                hint="indicators are evaluated per policy period; for a longer view use "
                "`over last N periods` in the formula",
            )
        declared = dims.of_indicator_unit(unit, self.symbols.currency) if unit else dims.ANY
        ctx = Context("formula", indicator=name)
        expr: ast.Expr = ast.Number("0")
        if formula is None:
            self.error(
                "E207",
                f"{what} needs a formula",
                decl.name,
                hint="add `= sum(orders.amount)` or similar",
            )
        else:
            expr = formula.expr
            errors_before = len(self.diagnostics)
            found = self.exprs.check(expr, ctx)
            clean = len(self.diagnostics) == errors_before
            if found.kind in ("bool", "text", "date", "list", "period", "periods"):
                self.error("E303", f"the formula gives {found}; an indicator is a number", formula)
            elif not dims.assignable(found, declared):
                self.error(
                    "E303",
                    f"the formula gives {found} but the unit is {unit}",
                    formula,
                    hint="change the unit, or the formula",
                )
            reads = ctx.sources or ctx.depends_on or ctx.lagged or ctx.roster_columns
            if clean and not reads:
                self.error(
                    "E316",
                    f"{what} reads no data",
                    formula,
                    hint="aggregate a source, read a roster column, or use other indicators",
                )
        return model.Indicator(
            name,
            decl.label.value if decl.label else None,
            unit or "number",
            declared,
            better or "higher",
            self.horizon(body, what),
            period,
            self.check_supports(body, ("goal", "objective"), "an indicator"),
            expr,
            tuple(sorted(ctx.depends_on)),
            tuple(sorted(ctx.sources)),
            self.describe(body),
            decl.span,
        )

    def check_indicator_cycles(self, indicators: dict[str, model.Indicator]) -> None:
        edges = {name: ind.depends_on for name, ind in indicators.items()}
        for cycle in find_cycles(edges):
            first = self.symbols.indicators[cycle[0]]
            self.error(
                "E401",
                "indicators depend on each other: " + " → ".join([*cycle, cycle[0]]),
                first.name,
                hint="use previous(x) for last period's value",
            )

    def check_cascade_cycles(self) -> None:
        edges: dict[str, tuple[str, ...]] = {}
        decls = {**self.symbols.objectives, **self.symbols.goals}
        for name, decl in decls.items():
            edges[name] = tuple(
                t.text
                for s in (decl.body or ())
                if isinstance(s, ast.Supports)
                for t in s.targets
                if t.text in decls
            )
        for cycle in find_cycles(edges):
            self.error(
                "E402",
                "the cascade loops: " + " → ".join([*cycle, cycle[0]]),
                decls[cycle[0]].name,
                hint="a goal supports a higher goal or objective",
            )

    # ------------------------------------------------------------ scorecards

    def check_scorecard(self, decl: ast.ScorecardDecl) -> model.Scorecard:
        name = decl.name.text
        what = f"scorecard '{name}'"
        body = decl.body
        applies = self.single(body, ast.AppliesTo, what)
        roster = self.symbols.roster
        where = None
        if applies is None:
            self.error(
                "E207",
                f"{what} needs `applies to`",
                decl.name,
                hint='add `applies to employees where role == "sales_rep"`',
            )
        else:
            if roster is not None and applies.roster.text != roster.name:
                self.error(
                    "E205",
                    f"scorecards apply to the roster '{roster.name}', not '{applies.roster.text}'",
                    applies.roster,
                )
            if applies.where is not None:
                where = applies.where
                self.exprs.check(where, Context("roster"), dims.BOOL)
        entries = []
        seen: dict[str, ast.Entry] = {}
        for stmt in body:
            if isinstance(stmt, ast.Entry):
                if stmt.indicator.text in seen:
                    self.error(
                        "E511",
                        f"indicator '{stmt.indicator.text}' is already in {what}",
                        stmt.indicator,
                    )
                    continue
                seen[stmt.indicator.text] = stmt
                entry = self.check_entry(stmt, what)
                if entry is not None:
                    entries.append(entry)
        if not seen:
            self.error("E509", f"{what} lists no indicators", decl.name)
        elif len(entries) == len(seen):
            total = sum((e.weight for e in entries), Decimal(0))
            if total != 1:
                self.error(
                    "E501",
                    f"the weights of {what} total {_percent(total)}, not 100%",
                    decl.name,
                    hint="adjust the weights so they add up to 100%",
                )
        missing_stmt = self.single(body, ast.Missing, what)
        missing = self.check_missing(missing_stmt) if missing_stmt else model.MissingRule("fail")
        rating_stmt = self.single(body, ast.UseRating, what)
        rating = None
        if rating_stmt is not None:
            rating = self.resolve(rating_stmt.name, "rating")
        ctx = self.outcome_context((name,))
        ctx.rated = False  # gates come before the rating
        gates = tuple(
            self.check_gate(g, ctx, scorecard=True) for g in body if isinstance(g, ast.Gate)
        )
        cap = self.single(body, ast.Cap, what)
        floor = self.single(body, ast.Floor, what)
        return model.Scorecard(
            name,
            decl.label.value if decl.label else None,
            applies.roster.text if applies else "",
            where,
            tuple(entries),
            missing,
            rating,
            gates,
            self.score_bound(cap),
            self.score_bound(floor),
            self.describe(body),
            decl.span,
        )

    def score_bound(self, stmt: ast.Cap | ast.Floor | None) -> Decimal | None:
        if stmt is None:
            return None
        return self.exprs.constant(stmt.expr, dims.NUMBER, "score limit")

    def resolve(self, ident: ast.Ident, kind: str) -> str | None:
        found = self.symbols.kind_of.get(ident.text)
        if found == kind:
            return ident.text
        if found is None:
            names = [n for n, k in self.symbols.kind_of.items() if k == kind]
            self.error(
                "E202", f"unknown {kind} '{ident.text}'", ident, hint=suggest(ident.text, names)
            )
        else:
            self.error(
                "E205", f"'{ident.text}' is {dims.article(found)}, not {dims.article(kind)}", ident
            )
        return None

    def check_missing(self, stmt: ast.Missing) -> model.MissingRule:
        action = self.choice(stmt.action, MISSING_ACTIONS, "missing-data rule")
        if action == "score":
            if stmt.value is None:
                self.error("E207", "say which score: `when missing => score 0`", stmt)
                return model.MissingRule("score", Decimal(0))
            return model.MissingRule("score", self.exprs.constant(stmt.value, dims.NUMBER, "score"))
        if stmt.value is not None:
            self.error("E208", f"`{stmt.action.text}` takes no value", stmt.value)
        return model.MissingRule(action or "fail")

    def check_entry(self, stmt: ast.Entry, what: str) -> model.Entry | None:
        name = stmt.indicator.text
        if self.resolve(stmt.indicator, "indicator") is None:
            return None
        weight = self.exprs.constant(stmt.weight, dims.PERCENT, "weight")
        if weight is not None and not isinstance(stmt.weight, ast.Percent):
            self.error("E510", "write weights as percentages, e.g. `weight 40%`", stmt.weight)
            weight = None
        elif weight is not None and not 0 < weight <= 1:
            self.error("E510", "a weight is more than 0% and at most 100%", stmt.weight)
            weight = None
        items = stmt.items or ()
        decl = self.symbols.indicators[name]
        better = next((s.name.text for s in decl.body if isinstance(s, ast.Better)), "higher")
        dim = self.symbols.indicator_dim(name)
        points = [i for i in items if isinstance(i, ast.Point)]
        bands = [i for i in items if isinstance(i, ast.Bands)]
        scoring: model.Curve | model.Bands | None = None
        if points and bands:
            self.error("E503", f"'{name}' has both curve points and bands; choose one", bands[0])
        elif bands:
            for extra in bands[1:]:
                self.error("E206", "only one bands block per indicator", extra)
            scoring = self.check_bands(bands[0], dim)
            for stray in (i for i in items if isinstance(i, ast.OtherwiseScore)):
                self.error(
                    "E503",
                    "`otherwise =>` here belongs to curves; with bands, end the bands block "
                    "with `otherwise => N`",
                    stray,
                )
        elif points:
            scoring = self.check_curve(points, items, dim, better, name)
        else:
            unit = next((s.name.text for s in decl.body if isinstance(s, ast.UnitStmt)), None)
            if unit != "score":
                self.error(
                    "E515",
                    f"'{name}' has no scoring in {what}",
                    stmt,
                    hint="add `{ threshold … => 50  target … => 100 }` or bands",
                )
        cap = self.single(items, ast.Cap, f"'{name}'")
        floor = self.single(items, ast.Floor, f"'{name}'")
        missing = self.single(items, ast.Missing, f"'{name}'")
        if weight is None:
            return None
        return model.Entry(
            name,
            weight,
            scoring,
            self.score_bound(cap),
            self.score_bound(floor),
            self.check_missing(missing) if missing else None,
            stmt.span,
        )

    def check_curve(
        self, points: list[ast.Point], items, dim, better: str, name: str
    ) -> model.Curve | None:
        built = []
        for point in points:
            value = self.exprs.constant(point.value, dim, f"{point.kind} value")
            score = self.exprs.constant(point.score, dims.NUMBER, "score")
            if value is not None and score is not None:
                named = point.value.name if isinstance(point.value, ast.Name) else None
                benchmark = named if named in self.symbols.benchmarks else None
                built.append(model.CurvePoint(point.kind, value, score, point.span, benchmark))
        for kind in POINT_ORDER:
            repeated = [p for p in points if p.kind == kind]
            limit = 2 if better == "closer" and kind != "target" else 1
            for extra in repeated[limit:]:
                self.error(
                    "E503",
                    f"'{name}' has more than {limit} {kind} point{'s' if limit > 1 else ''}",
                    extra,
                )
        otherwise = self.single(items, ast.OtherwiseScore, f"'{name}'")
        below = Decimal(0)
        if otherwise is not None:
            below = self.exprs.constant(otherwise.score, dims.NUMBER, "score") or Decimal(0)
        if len(built) != len(points):
            return None
        self.check_curve_shape(built, better, name)
        return model.Curve(tuple(built), below)

    def check_curve_shape(self, points: list[model.CurvePoint], better: str, name: str) -> None:
        if better == "closer":
            targets = [p for p in points if p.kind == "target"]
            if len(targets) != 1:
                self.diagnostics.append(
                    error(
                        "E502",
                        f"'{name}' is better closer to a target: give exactly one target point",
                        points[0].span,
                    )
                )
                return
            for a, b in itertools.pairwise(points):
                if b.value <= a.value:
                    self.diagnostics.append(
                        error(
                            "E502",
                            f"for `better closer`, list the points of '{name}' from the "
                            "lowest value to the highest",
                            b.span,
                        )
                    )
                    return
            peak = points.index(targets[0])
            for i, (a, b) in enumerate(itertools.pairwise(points)):
                rising = i < peak
                if (rising and b.score < a.score) or (not rising and b.score > a.score):
                    self.diagnostics.append(
                        error(
                            "E502",
                            f"scores of '{name}' must rise towards the target and fall after it",
                            b.span,
                        )
                    )
                    return
            return
        kinds = [POINT_ORDER[p.kind] for p in points if p.kind in POINT_ORDER]
        if kinds != sorted(kinds):
            self.diagnostics.append(
                error(
                    "E502",
                    f"list the points of '{name}' in order: threshold, target, stretch",
                    points[0].span,
                )
            )
            return
        for a, b in itertools.pairwise(points):
            improving = b.value > a.value if better == "higher" else b.value < a.value
            if not improving:
                way = "above" if better == "higher" else "below"
                self.diagnostics.append(
                    error(
                        "E502",
                        f"'{name}' is better {better}: this {b.kind} point must lie {way} "
                        f"the {a.kind} point ({a.value})",
                        b.span,
                        hint=f"the indicator's direction is `better {better}`",
                    )
                )
                return
            if b.score < a.score:
                self.diagnostics.append(
                    error(
                        "E502",
                        f"the score falls from {a.score} to {b.score} as '{name}' improves",
                        b.span,
                    )
                )
                return

    def check_bands(
        self, block: ast.Bands, dim, outcome_ctx: Context | None = None, output_dim=None
    ) -> model.Bands:
        policy = self.choice(block.hit_policy, HIT_POLICIES, "hit policy") or "first"
        built = []
        for band in block.bands:
            low = high = None
            rng = band.range
            if rng.low is not None:
                low = self.exprs.constant(rng.low, dim, "band bound")
            if rng.high is not None:
                high = self.exprs.constant(rng.high, dim, "band bound")
            if rng.kind == "between" and low is not None and high is not None and low >= high:
                self.error("E504", f"this band is empty: from {low} to {high}", rng)
            score = None
            if outcome_ctx is None:
                score = self.exprs.constant(band.output, dims.NUMBER, "score")
            else:
                found = self.exprs.check(band.output, outcome_ctx)
                if output_dim is not None and not dims.compatible(found, output_dim):
                    self.error("E301", f"this tier pays {found}, not {output_dim}", band.output)
            built.append(model.Band(rng.kind, low, high, band.output, score, band.span))
        for band in built[:-1]:
            if band.kind == "otherwise":
                self.diagnostics.append(
                    error("E514", "`otherwise` must be the last band", band.span)
                )
        if policy == "unique":
            for i, a in enumerate(built):
                for b in built[i + 1 :]:
                    if a.kind != "otherwise" and b.kind != "otherwise" and _overlap(a, b):
                        self.diagnostics.append(
                            error(
                                "E504",
                                "bands overlap, but the hit policy is `unique`",
                                b.span,
                                hint=f"it overlaps the band at {a.span}; use `first` to let order "
                                "decide",
                            )
                        )
        return model.Bands(policy, tuple(built))

    def outcome_context(self, scorecards: tuple[str, ...]) -> Context:
        labels: set[str] | None = set()
        for card in scorecards:
            decl = self.symbols.scorecards.get(card)
            use = (
                next((s for s in decl.body if isinstance(s, ast.UseRating)), None) if decl else None
            )
            rating = self.symbols.ratings.get(use.name.text) if use else None
            if rating is None:
                labels = None
                break
            labels |= {b.label.value for b in rating.body if isinstance(b, ast.RatingBand)}
        return Context(
            "outcome",
            scorecards=scorecards,
            rating_labels=frozenset(labels) if labels is not None else None,
        )

    def check_gate(self, gate: ast.Gate, ctx: Context, scorecard: bool) -> model.Gate:
        self.exprs.check(gate.condition, ctx, dims.BOOL)
        effect, value = ("score", Decimal(0)) if scorecard else ("none", None)
        if gate.effect is not None:
            if not scorecard:
                self.error(
                    "E208", "an incentive gate stops the payout; it takes no `else`", gate.effect
                )
            else:
                effect = self.choice(gate.effect, GATE_EFFECTS, "gate effect") or "score"
                value = self.exprs.constant(gate.value, dims.NUMBER, "score")
        return model.Gate(gate.condition, effect, value, gate.span)

    # ------------------------------------------------------------ ratings

    def check_rating(self, decl: ast.RatingDecl) -> model.Rating:
        levels = []
        labels: dict[str, ast.RatingBand] = {}
        bands = [s for s in decl.body if isinstance(s, ast.RatingBand)]
        for i, band in enumerate(bands):
            label = band.label.value
            if label in labels:
                self.error("E516", f"rating level {band.label.raw} is listed twice", band.label)
            labels[label] = band
            if band.condition is None:
                if i != len(bands) - 1:
                    self.error("E514", "`otherwise` must be the last rating level", band)
            else:
                self.exprs.check(band.condition, Context("rating"), dims.BOOL)
            levels.append(model.RatingLevel(label, band.condition, band.span))
        if not bands:
            self.error("E509", f"rating '{decl.name.text}' has no levels", decl.name)
        rules = []
        for block in decl.body:
            if not isinstance(block, ast.Distribution):
                continue
            for rule in block.rules:
                if rule.label.value not in labels:
                    self.error(
                        "E507",
                        f"no rating level is called {rule.label.raw}",
                        rule.label,
                        hint=suggest(rule.label.value, labels),
                    )
                share = self.exprs.constant(rule.share, dims.PERCENT, "share")
                if share is not None and not 0 <= share <= 1:
                    self.error("E508", "a share is between 0% and 100%", rule.share)
                if share is not None:
                    rules.append(
                        model.DistributionRule(rule.label.value, rule.bound, share, rule.span)
                    )
        return model.Rating(
            decl.name.text,
            decl.label.value if decl.label else None,
            tuple(levels),
            tuple(rules),
            decl.span,
        )

    # ------------------------------------------------------------ incentives and actions

    def scorecard_names(self, idents: tuple[ast.Ident, ...]) -> tuple[str, ...]:
        return tuple(n for n in (self.resolve(i, "scorecard") for i in idents) if n)

    def check_incentive(self, decl: ast.IncentiveDecl) -> model.Incentive:
        name = decl.name.text
        what = f"incentive '{name}'"
        cards = self.scorecard_names(decl.scorecards)
        ctx = self.outcome_context(cards)
        body = decl.body
        money = dims.money(self.symbols.currency)
        gates = tuple(
            self.check_gate(g, ctx, scorecard=False) for g in body if isinstance(g, ast.Gate)
        )
        pays = [s for s in body if isinstance(s, (ast.PayExpr, ast.PayTiers))]
        for extra in pays[1:]:
            self.error("E206", f"{what} has more than one `pay`", extra)
        pay = tiers = basis = None
        if not pays:
            self.error(
                "E207",
                f"{what} says nothing about pay",
                decl.name,
                hint="add `pay employees.base_salary * 10%` or `pay tiers on score { … }`",
            )
        elif isinstance(pays[0], ast.PayExpr):
            pay = pays[0].expr
            found = self.exprs.check(pay, ctx)
            if found.kind != "any" and not (found.kind == "money" or found.literal):
                self.error(
                    "E301",
                    f"a payout is money, this is {found}",
                    pay,
                    hint="multiply a money column, e.g. employees.base_salary * 10%",
                )
        else:
            basis = pays[0].basis
            basis_dim = self.exprs.check(basis, ctx)
            tiers = self.check_bands(
                ast.Bands(ast.Ident("first"), pays[0].bands, span=pays[0].span),
                basis_dim,
                outcome_ctx=ctx,
                output_dim=money,
            ).bands
        cap = self.single(body, ast.Cap, what)
        floor = self.single(body, ast.Floor, what)
        for bound in (cap, floor):
            if bound is not None:
                found = self.exprs.check(bound.expr, ctx)
                if not dims.compatible(found, money):
                    self.error("E301", f"a payout limit is money, this is {found}", bound.expr)
        prorate = self.single(body, ast.Prorate, what)
        basis_name = self.choice(prorate.basis, PRORATE_BASES, "proration") if prorate else None
        if basis_name and self.symbols.roster and "start" not in self.symbols.roster.roles:
            self.error(
                "E207",
                "proration by days employed needs the roster's `start` field",
                prorate,
                hint="add `start hired_on` to the roster",
            )
        actions = tuple(self.check_action(a, ctx) for a in body if isinstance(a, ast.ActionRule))
        return model.Incentive(
            name,
            decl.label.value if decl.label else None,
            cards,
            gates,
            pay,
            tiers,
            basis,
            cap.expr if cap else None,
            floor.expr if floor else None,
            basis_name,
            actions,
            self.describe(body),
            decl.span,
        )

    def check_action(self, rule: ast.ActionRule, ctx: Context) -> model.Action:
        self.exprs.check(rule.condition, ctx, dims.BOOL)
        periods = 1
        if rule.persistence is not None:
            periods = self.exprs.periods(rule.persistence, "`for`") or 1
        kind = self.choice(rule.kind, ACTION_KINDS, "action") or rule.kind.text
        owner = None
        if isinstance(rule.owner, ast.Ident):
            owner = self.choice(rule.owner, OWNERS, "owner")
        elif isinstance(rule.owner, ast.String):
            owner = rule.owner.value
        within = None
        if rule.within is not None:
            within = self.exprs.constant(rule.within, dims.duration("days"), "deadline")
            if within is not None and not isinstance(rule.within, ast.Quantity):
                self.error(
                    "E308", "give the deadline with a unit, e.g. `within 30 days`", rule.within
                )
        return model.Action(
            rule.condition, periods, kind, rule.title.value, owner, within, rule.span
        )

    def check_improvement(self, decl: ast.ImprovementDecl) -> model.Improvement:
        cards = self.scorecard_names(decl.scorecards)
        ctx = self.outcome_context(cards)
        actions = tuple(
            self.check_action(a, ctx) for a in decl.body if isinstance(a, ast.ActionRule)
        )
        return model.Improvement(decl.name.text if decl.name else None, cards, actions, decl.span)

    def check_feedback(self, decl: ast.FeedbackDecl) -> model.Feedback:
        settings: dict[str, str] = {}
        for setting in decl.body:
            key = self.choice(setting.key, FEEDBACK_KEYS, "feedback setting")
            value = self.choice(setting.value, FEEDBACK_CADENCES, "feedback cadence")
            if key and key in settings:
                self.error("E206", f"feedback sets '{key}' twice", setting.key)
            elif key and value:
                settings[key] = value
        return model.Feedback(self.scorecard_names(decl.scorecards), settings, decl.span)

    # ------------------------------------------------------------ tests

    def check_test(self, decl: ast.TestDecl) -> model.Test:
        expects = 0
        for stmt in decl.body:
            if isinstance(stmt, ast.GivenRecords):
                source = self.symbols.sources.get(stmt.source.text)
                if source is None:
                    self.error(
                        "E701",
                        f"unknown source '{stmt.source.text}'",
                        stmt.source,
                        hint=suggest(stmt.source.text, self.symbols.sources),
                    )
                    continue
                for record in stmt.records:
                    for item in record.fields:
                        if item.name.text not in source.columns:
                            self.error(
                                "E702",
                                f"source '{source.name}' has no column '{item.name.text}'",
                                item.name,
                                hint=suggest(item.name.text, source.columns),
                            )
                        found = self.exprs.check(item.value, Context("constant"))
                        column = source.columns.get(item.name.text)
                        if column is not None and not _fits(found, column):
                            self.error(
                                "E706",
                                f"'{item.name.text}' is a {column.type} column; this value is "
                                f"{found}",
                                item.value,
                            )
            elif isinstance(stmt, ast.GivenFile):
                if stmt.source.text not in self.symbols.sources:
                    self.error("E701", f"unknown source '{stmt.source.text}'", stmt.source)
                self.check_fixture_path(stmt)
            elif isinstance(stmt, ast.Expect):
                expects += 1
                self.exprs.check(stmt.expr, Context("test"), dims.BOOL)
            elif isinstance(stmt, ast.TestPeriod):
                self.check_period_literal(stmt.period, strict_cadence=True)
        if expects == 0:
            self.error(
                "E704",
                f"test {decl.name.raw} expects nothing",
                decl.name,
                hint='add `expect score("e1") == 100`',
            )
        return model.Test(decl.name.value, decl, decl.span)

    def check_fixture_path(self, stmt: ast.GivenFile) -> None:
        base = Path(stmt.span.file).resolve().parent
        target, problem = confined(stmt.path.value, base, Path(self.root), stmt.path.span)
        if problem:
            self.diagnostics.append(problem)
        elif not target.is_file():
            self.error("E703", f"fixture file not found: {stmt.path.raw}", stmt.path)


def _fits(found: dims.Dim, column: model.Column) -> bool:
    """Can a fixture literal of this dimension fill this column?"""
    if found.kind == "any":
        return True
    if column.type == "text":
        return found.kind == "text"
    if column.type == "bool":
        return found.kind == "bool"
    if column.type == "date":
        return found.kind == "date"
    return dims.compatible(found, column.dim) and found.numeric


def _overlap(a: model.Band, b: model.Band) -> bool:
    def bounds(band: model.Band):
        inf = Decimal("Infinity")
        low, low_open = (-inf, False)
        high, high_open = (inf, False)
        if band.kind in ("above", "at_least", "between"):
            low, low_open = band.low, band.kind == "above"
        if band.kind in ("below", "at_most", "between"):
            high, high_open = band.high, band.kind in ("below", "between")
        return low, low_open, high, high_open

    a_low, a_lo, a_high, a_ho = bounds(a)
    b_low, b_lo, b_high, b_ho = bounds(b)
    if None in (a_low, a_high, b_low, b_high):
        return False
    # Two intervals overlap unless one ends before the other starts.
    if a_high < b_low or b_high < a_low:
        return False
    if a_high == b_low and (a_ho or b_lo):
        return False
    return not (b_high == a_low and (b_ho or a_lo))


def _percent(value: Decimal) -> str:
    shown = (value * 100).normalize()
    return f"{shown:f}%"
