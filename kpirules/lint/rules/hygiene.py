"""Hygiene rules: declarations nothing uses.

Only the unit's own files are looked at: an imported catalogue declares things for many
policies, so one policy not using some of them is normal. For the same reason nothing is
reported in a library (a unit without a `policy` header): it exists to be imported.
"""

from __future__ import annotations

from collections.abc import Iterator

from kpirules import ast, model
from kpirules.lint.context import LintContext
from kpirules.lint.examples import LEAD_FEEDBACK, LEAD_IMPROVEMENT, lead_card
from kpirules.lint.registry import Finding, rule
from kpirules.lint.rules.strategy import measured


def _outcome_exprs(policy: model.Policy) -> Iterator[ast.Expr]:
    """Every expression outside indicator formulas that can name an indicator or column."""
    for card in policy.scorecards.values():
        if card.where is not None:
            yield card.where
        yield from (g.condition for g in card.gates)
    for incentive in policy.incentives.values():
        yield from (g.condition for g in incentive.gates)
        yield from (a.condition for a in incentive.actions)
        yield from (b.output for b in incentive.tiers or ())
        for expr in (incentive.pay, incentive.tier_basis, incentive.cap, incentive.floor):
            if expr is not None:
                yield expr
    for rule_set in policy.improvements:
        yield from (a.condition for a in rule_set.actions)


def _names(exprs) -> set[str]:
    return {n.name for e in exprs for n in ast.walk(e) if isinstance(n, ast.Name)}


@rule(
    "L301",
    "unused-source",
    "hygiene",
    "warning",
    "A source no indicator reads.",
    bad="""
    source visits "Customer visits (CRM)" {
      subject rep_id
      time visited_on
      key visit_id
      columns {
        visit_id: text required
        rep_id: text required
        visited_on: date required
      }
    }
    """,
    good="""
    source visits "Customer visits (CRM)" {
      subject rep_id
      time visited_on
      key visit_id
      columns {
        visit_id: text required
        rep_id: text required
        visited_on: date required
      }
    }

    indicator visit_count "Customer visits" {
      supports revenue_plan
      unit count
      better higher
      = count(visits)
    }

    improvement visit_rhythm for rep {
      when visit_count < 10 => coaching "Visit planning" owner manager within 30 days
    }
    """,
)
def unused_source(ctx: LintContext) -> Iterator[Finding]:
    """Every source is data someone must deliver, keep fresh and check (a data binding
    entry, data-quality findings, staleness). A source no indicator reads costs that and
    measures nothing — usually a leftover, or an indicator that was never written."""
    if ctx.library:
        return
    read = {s for i in ctx.policy.indicators.values() for s in i.sources}
    for source in ctx.policy.sources.values():
        span = ctx.span("source", source.name)
        if not source.is_roster and source.name not in read and ctx.own(span):
            yield Finding(
                span,
                f"source '{source.name}' is read by no indicator",
                hint="remove it, or write the indicator that needs it",
            )


def used_columns(ctx: LintContext) -> set[tuple[str, str]]:
    """(source, column) pairs that something reads: a formula or filter, a field role, a
    roster column in `applies to … where`, a gate, a payout or an action rule, a goal
    owner's level — or the data checks, for a `required` column or one with an `in`
    list (rows failing them are left out of scoring)."""
    policy = ctx.policy
    used = set(ctx.index.references[1])
    roster = policy.roster
    for source in policy.sources.values():
        used |= {(source.name, column) for column in source.roles.values()}
        used |= {(source.name, c.name) for c in source.columns.values() if c.required or c.allowed}
    if roster is not None:
        bare = _names(_outcome_exprs(policy))
        used |= {(roster.name, n) for n in bare if n in roster.columns}
        for goal in policy.goals.values():
            column = roster.roles.get(goal.owner_level, goal.owner_level)
            used.add((roster.name, column))
    return used


@rule(
    "L302",
    "unused-column",
    "hygiene",
    "warning",
    "A declared column that nothing reads.",
    bad="""
    source visits "Customer visits (CRM)" {
      subject rep_id
      time visited_on
      key visit_id
      columns {
        visit_id: text required
        rep_id: text required
        visited_on: date required
        channel: text
      }
    }

    indicator visit_count "Customer visits" {
      supports revenue_plan
      unit count
      better higher
      = count(visits)
    }

    improvement visit_rhythm for rep {
      when visit_count < 10 => coaching "Visit planning" owner manager within 30 days
    }
    """,
    good="""
    source visits "Customer visits (CRM)" {
      subject rep_id
      time visited_on
      key visit_id
      columns {
        visit_id: text required
        rep_id: text required
        visited_on: date required
        channel: text
      }
    }

    indicator visit_count "Customer visits on site" {
      supports revenue_plan
      unit count
      better higher
      = count(visits where visits.channel == "on-site")
    }

    improvement visit_rhythm for rep {
      when visit_count < 10 => coaching "Visit planning" owner manager within 30 days
    }
    """,
)
def unused_column(ctx: LintContext) -> Iterator[Finding]:
    """A declared column is a promise that the data has it. One that nothing reads has no
    effect on any result: it is a leftover of an indicator that changed, or a sign that
    an indicator reads the wrong column. Reading means: a formula or filter, a field role,
    `applies to … where`, a gate, a payout, an action rule or a goal owner. A `required`
    column, or one with an `in [...]` list, is read by the data checks before scoring —
    rows that fail them are left out — so it is used even if no formula names it: declare
    the descriptive columns of an export that way (or leave them undeclared, at the price
    of an `extra_column` data finding). Test data does not count as a use."""
    if ctx.library:
        return
    used = used_columns(ctx)
    for source in ctx.policy.sources.values():
        if not ctx.own(ctx.span("source", source.name)):
            continue
        for column in source.columns.values():
            if (source.name, column.name) not in used:
                yield Finding(
                    column.span,
                    f"column '{column.name}' of '{source.name}' is read by nothing",
                    hint="remove it, or use it in a formula or filter",
                )


def used_indicators(policy: model.Policy) -> set[str]:
    used = {e.indicator for c in policy.scorecards.values() for e in c.entries}
    used |= {g.target.indicator for g in policy.goals.values() if g.target is not None}
    for indicator in policy.indicators.values():  # another formula (itself does not count)
        used |= _names([indicator.formula]) - {indicator.name}
    used |= _names(_outcome_exprs(policy))
    return used & set(policy.indicators)


@rule(
    "L303",
    "unused-indicator",
    "hygiene",
    "warning",
    "An indicator in no scorecard, goal target, formula or rule.",
    bad="""
    indicator order_count "Orders closed" {
      supports revenue_plan
      unit count
      better higher
      = count(orders)
    }
    """,
    good="""
    indicator order_count "Orders closed" {
      supports revenue_plan
      unit count
      better higher
      = count(orders)
    }

    improvement order_flow for rep {
      when order_count < 3 => coaching "Deal flow review" owner manager within 30 days
    }
    """,
)
def unused_indicator(ctx: LintContext) -> Iterator[Finding]:
    """An indicator that no scorecard scores, no goal targets, no other formula uses and no
    gate, payout or action rule tests is computed for everyone in every period and
    affects nothing. Either it was meant to be on a scorecard, or it should go."""
    if ctx.library:
        return
    used = used_indicators(ctx.policy)
    for indicator in ctx.policy.indicators.values():
        span = ctx.span("indicator", indicator.name)
        if indicator.name not in used and ctx.own(span):
            yield Finding(
                span,
                f"indicator '{indicator.name}' is used nowhere: no scorecard, goal, formula or "
                "rule",
                hint="add it to a scorecard or a goal target, or remove it",
            )


@rule(
    "L304",
    "unused-goal",
    "hygiene",
    "warning",
    "A goal with no indicator under it and no target.",
    bad="""
    goal happy_customers "Customers are happy" {
      supports growth
    }
    """,
    good="""
    goal happy_customers "Customers are happy" {
      supports growth
      target new_customers >= 40 by 2026-Q1
    }
    """,
)
def unused_goal(ctx: LintContext) -> Iterator[Finding]:
    """A goal is measured through the indicators that support it (directly or through
    sub-goals) or through its own target. A goal with neither is decoration: nothing in
    the results will ever say whether it is met. (Objectives like this are L103.)"""
    if ctx.library:
        return
    under = measured(ctx.policy)
    for goal in ctx.policy.goals.values():
        span = ctx.span("goal", goal.name)
        if goal.name not in under and ctx.own(span):
            yield Finding(
                span,
                f"goal '{goal.name}' is measured by nothing: no indicator supports it and it "
                "has no target",
                hint="add `target INDICATOR >= VALUE by PERIOD`, or support it with an indicator",
            )


@rule(
    "L305",
    "unused-rating",
    "hygiene",
    "warning",
    "A rating scale no scorecard uses.",
    bad="""
    rating simple "Pass or fail" {
      "Pass" when score >= 80
      "Fail" otherwise
    }
    """,
    good=lead_card("rating simple")
    + """
rating simple "Pass or fail" {
  "Pass" when score >= 80
  "Fail" otherwise
}
"""
    + LEAD_IMPROVEMENT
    + LEAD_FEEDBACK,
)
def unused_rating(ctx: LintContext) -> Iterator[Finding]:
    """A rating scale no scorecard names is never applied; readers of the policy may still
    believe it is. It is usually a scale that was replaced."""
    if ctx.library:
        return
    used = {c.rating for c in ctx.policy.scorecards.values()}
    for rating in ctx.policy.ratings.values():
        span = ctx.span("rating", rating.name)
        if rating.name not in used and ctx.own(span):
            yield Finding(
                span,
                f"rating '{rating.name}' is used by no scorecard",
                hint="name it in a scorecard (`rating NAME`), or remove it",
            )


@rule(
    "L306",
    "unused-benchmark",
    "hygiene",
    "warning",
    "A benchmark nothing refers to.",
    bad="""
    benchmark market_growth "Market growth 2026, industry report" = 8%
    """,
    good="""
    benchmark market_deal_size "Median deal size, industry report" = 150_000 CNY

    improvement deal_size for rep {
      when revenue < market_deal_size => coaching "Deal sizing" owner manager within 30 days
    }
    """,
)
def unused_benchmark(ctx: LintContext) -> Iterator[Finding]:
    """Benchmarks bring the outside view into the policy (the source article: learn from industry
    benchmarks). One that no target, curve, gate or rule compares with has no effect, and
    suggests a comparison that was meant but never written."""
    if ctx.library:
        return
    names = ctx.index.references[0]
    for benchmark in ctx.policy.benchmarks.values():
        span = ctx.span("benchmark", benchmark.name)
        if benchmark.name not in names and ctx.own(span):
            yield Finding(
                span,
                f"benchmark '{benchmark.name}' is used nowhere",
                hint="compare something with it, or remove it",
            )
