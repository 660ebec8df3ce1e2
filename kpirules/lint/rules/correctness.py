"""Correctness rules: rules that can never fire, values nothing covers, conditions that
never or always hold, and limits that are missing. They read the checked model and the
analysis in kpirules.lint.analysis; none needs data."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kpirules import ast, model
from kpirules.diagnostics import Span
from kpirules.lint.analysis import (
    INF,
    Range,
    Scope,
    band_constants,
    band_test,
    clamp,
    describe,
    first_hit,
    number,
)
from kpirules.lint.context import LintContext
from kpirules.lint.examples import LEAD_FEEDBACK, LEAD_IMPROVEMENT, lead_card
from kpirules.lint.registry import Finding, rule

# ------------------------------------------------------------------ ordered rule tables


@dataclass
class Table:
    """Rules tried in order, the first that holds wins: rating levels, bands, pay tiers."""

    what: str  # "rating 'grades'", "the bands of 'x' in scorecard 'y'"
    span: Span  # where a gap is reported
    items: list[tuple[str, Span]]  # how to name each rule, and where it is
    tests: list[Callable[[float], bool]]
    constants: set[float]
    domain: Range
    domain_text: str  # where the domain comes from, for messages
    catch_all: bool  # ends with `otherwise`
    show: Callable[[float], str] = number
    gap: str = "values … are covered by no rule"  # … is replaced by the ranges


def _show_in(unit: str, currency: str | None) -> Callable[[float], str]:
    """Values of an indicator as the policy writes them."""
    if unit == "percent":
        return lambda v: number(v * 100) + "%"
    if unit in ("days", "hours", "minutes"):
        return lambda v: f"{number(v)} {unit}"
    if unit == "money" and currency:
        return lambda v: f"{number(v)} {currency}"
    return number


def _range_text(domain: Range) -> str:
    lo, hi = domain
    if math.isfinite(lo) and math.isfinite(hi):
        return f"from {number(lo)} to {number(hi)}"
    if math.isfinite(lo):
        return f"of at least {number(lo)}"
    if math.isfinite(hi):
        return f"of at most {number(hi)}"
    return "of any value"


def _tables(ctx: LintContext) -> Iterator[Table]:
    policy, analysis = ctx.policy, ctx.analysis
    currency = policy.header.currency if policy.header else None
    for rating in policy.ratings.values():
        cards = tuple(c.name for c in policy.scorecards.values() if c.rating == rating.name)
        # Scores of the scorecards that use the scale; without one, assume not negative.
        domain = analysis.final_range(cards) if cards else (0.0, INF)
        tested = analysis.score_tests([level.condition for level in rating.levels])
        if tested is None:
            continue
        tests, constants = tested
        where = f"scorecard{'s' * (len(cards) > 1)} {', '.join(cards)}" if cards else "no scorecard"
        yield Table(
            f"rating '{rating.name}'",
            ctx.span("rating", rating.name),
            [(f'rating level "{level.label}"', level.span) for level in rating.levels],
            tests,
            constants,
            domain,
            f"the totals of {where} are {_range_text(domain)}"
            if cards
            else "scores are assumed not negative, as no scorecard uses this rating",
            rating.levels[-1].condition is None,
            gap="scores … get no rating",
        )
    for card in policy.scorecards.values():
        for entry in card.entries:
            if not isinstance(entry.scoring, model.Bands):
                continue
            indicator = policy.indicators[entry.indicator]
            bands = entry.scoring.bands
            domain = (0.0, INF) if indicator.unit == "count" else (-INF, INF)
            yield Table(
                f"the bands of '{entry.indicator}' in scorecard '{card.name}'",
                bands[0].span,
                [("this band", b.span) for b in bands],
                [band_test(b) for b in bands],
                band_constants(bands),
                domain,
                "a count is never negative" if indicator.unit == "count" else "",
                bands[-1].kind == "otherwise",
                _show_in(indicator.unit, currency),
                "values … get no score (they count as missing)",
            )
    for incentive in policy.incentives.values():
        if not incentive.tiers:
            continue
        basis = incentive.tier_basis
        scored = isinstance(basis, ast.Name) and basis.name == "score"
        domain = analysis.final_range(incentive.scorecards) if scored else (-INF, INF)
        yield Table(
            f"the pay tiers of incentive '{incentive.name}'",
            incentive.tiers[0].span,
            [("this tier", b.span) for b in incentive.tiers],
            [band_test(b) for b in incentive.tiers],
            band_constants(incentive.tiers),
            domain,
            f"the totals of its scorecards are {_range_text(domain)}" if scored else "",
            incentive.tiers[-1].kind == "otherwise",
            gap="values … get no payout",
        )


@rule(
    "L201",
    "coverage-gap",
    "correctness",
    "error",
    "Some scores get no rating level (or some values no band, no pay tier).",
    bad=lead_card("rating strict")
    + """
rating strict "Strict grades" {
  "Exceeds" when score >= 110
  "Meets" when score >= 90 and score < 100
  "Below" when score < 90
}
"""
    + LEAD_IMPROVEMENT
    + LEAD_FEEDBACK,
    good=lead_card("rating strict")
    + """
rating strict "Strict grades" {
  "Exceeds" when score >= 110
  "Meets" when score >= 90
  "Below" otherwise
}
"""
    + LEAD_IMPROVEMENT
    + LEAD_FEEDBACK,
)
def coverage_gap(ctx: LintContext) -> Iterator[Finding]:
    """A rating is a decision table on the score (DMN's gap analysis): if a range of scores
    matches no level and there is no `otherwise`, the people who land there get no rating,
    so no rating-based bonus, recognition or plan either, without anyone deciding that.
    The levels' `score >= N`, `score < N`, `and`, `or`, `not` conditions are analysed as
    intervals over the scores the scorecards using the rating can actually produce (their
    curves, bands, gates, floor and cap). Score bands without `otherwise` (a value no band
    covers scores nothing and counts as missing) and pay tiers (no tier: no payout) are
    checked the same way."""
    for table in _tables(ctx):
        if table.catch_all:
            continue
        _, _, gaps = first_hit(table.tests, table.constants, table.domain)
        if gaps:
            ranges = "; ".join(describe(g, table.show) for g in gaps)
            where = f" ({table.domain_text})" if table.domain_text else ""
            yield Finding(
                table.span,
                f"in {table.what}, {table.gap.replace('…', ranges)}{where}",
                hint="cover them with another rule, or end with `otherwise`",
            )


@rule(
    "L202",
    "unreachable-level",
    "correctness",
    "warning",
    "A rating level, band or pay tier can never apply.",
    bad=lead_card("rating strict")
    + """
rating strict "Strict grades" {
  "Good" when score >= 90
  "Excellent" when score >= 110
  "Other" otherwise
}
"""
    + LEAD_IMPROVEMENT
    + LEAD_FEEDBACK,
    good=lead_card("rating strict")
    + """
rating strict "Strict grades" {
  "Excellent" when score >= 110
  "Good" when score >= 90
  "Other" otherwise
}
"""
    + LEAD_IMPROVEMENT
    + LEAD_FEEDBACK,
)
def unreachable_level(ctx: LintContext) -> Iterator[Finding]:
    """Levels are tried in order and the first that holds wins. A level whose scores an
    earlier level already takes (`"Good" when score >= 90` before `"Excellent" when score
    >= 110`), or that asks for a score the scorecards cannot produce (above their cap,
    below their floor), is never given: the scale on paper is not the scale in effect.
    The same goes for bands and pay tiers with hit policy `first`, and for an `otherwise`
    that earlier rules leave nothing to."""
    for table in _tables(ctx):
        reached, anywhere, _ = first_hit(table.tests, table.constants, table.domain)
        for i, (name, span) in enumerate(table.items):
            if reached[i]:
                continue
            if anywhere[i]:
                why = "the rules before it already cover every value it covers"
            elif table.domain_text:
                why = f"no value can reach it: {table.domain_text}"
            else:
                why = "it holds for no value"
            yield Finding(
                span,
                f"{name} in {table.what} can never apply: {why}",
                hint="reorder the rules (most demanding first) or change the bounds",
            )


_CURVE_EXAMPLE = """\
scorecard lead "Team lead" {{
  applies to staff where role == "lead"
  indicator revenue weight 70% {{
    threshold 400_000 CNY => 50
    target 800_000 CNY => 100
    stretch 1_200_000 CNY => {stretch}
  }}
  indicator new_customers weight 10% {{
    threshold 5 => 50
    target 10 => 100
  }}
  indicator learning weight 20% {{
    threshold 4 hours => 50
    target 8 hours => 100
  }}
  cap 100
}}
"""


@rule(
    "L203",
    "unreachable-curve",
    "correctness",
    "warning",
    "Part of a scoring curve can never count: it lies beyond a cap or under a floor.",
    bad=_CURVE_EXAMPLE.format(stretch=150) + LEAD_IMPROVEMENT + LEAD_FEEDBACK,
    good=_CURVE_EXAMPLE.format(stretch=120) + LEAD_IMPROVEMENT + LEAD_FEEDBACK,
)
def unreachable_curve(ctx: LintContext) -> Iterator[Finding]:
    """A curve promises more for better results; past a cap that promise is empty. An
    entry's `cap` below a point's score flattens the curve there, and an entry's `floor`
    above a point's score makes that point meaningless. The scorecard's `cap` limits the
    total: once one indicator's score alone brings the total to the cap (the others at
    their lowest, or left out where missing values are reweighted), the rest of its curve
    changes nothing — always so above the cap for an indicator weighted 100%. People are
    shown a stretch target that pays nothing: lower the stretch, or raise the cap. (A
    stretch above the cap still counts when it makes up for the other indicators, so
    that alone is not reported.)"""
    analysis = ctx.analysis
    for card in ctx.policy.scorecards.values():
        ranges = {e.indicator: analysis.entry_range(card, e) for e in card.entries}
        for entry in card.entries:
            curve = entry.scoring
            if not isinstance(curve, model.Curve):
                continue
            points = curve.points
            above = next((p for p in points if entry.cap is not None and p.score > entry.cap), None)
            if above is not None:
                yield Finding(
                    above.span,
                    f"this {above.kind} point scores {number(above.score)}, above the entry's "
                    f"cap of {number(entry.cap)}: the curve is flat from the cap on",
                    hint="lower the point's score to the cap, or drop the cap",
                )
            below = next(
                (p for p in points if entry.floor is not None and p.score < entry.floor), None
            )
            if below is not None:
                yield Finding(
                    below.span,
                    f"this {below.kind} point scores {number(below.score)}, below the entry's "
                    f"floor of {number(entry.floor)}: it changes nothing",
                    hint="drop the point or the floor",
                )
            if card.cap is None:
                continue
            enough = _score_reaching_cap(card, entry, ranges)
            beyond = next(
                (p for p in points if clamp(float(p.score), entry.floor, entry.cap) > enough),
                None,
            )
            if beyond is not None:
                yield Finding(
                    beyond.span,
                    f"this {beyond.kind} point scores {number(beyond.score)}, but the "
                    f"scorecard's cap of {number(card.cap)} is reached once '{entry.indicator}' "
                    f"scores {number(round(enough, 2))}, whatever the others score: the curve "
                    "beyond that changes nothing",
                    hint="lower the point's score, or raise the scorecard's cap",
                )


def _score_reaching_cap(
    card: model.Scorecard, entry: model.Entry, ranges: dict[str, Range]
) -> float:
    """The score of `entry` from which the total is at the scorecard's cap whatever the
    other entries score: the others at their lowest, present or (where missing values
    are reweighted) left out. Infinite when no score of this entry alone gets there."""
    others = [e for e in card.entries if e is not entry]
    optional = [e for e in others if (e.missing or card.missing).action == "reweight"]
    needed = -INF
    for size in range(len(optional) + 1):
        for left_out in itertools.combinations(optional, size):
            present = [e for e in others if e not in left_out]
            lows = [float(e.weight) * ranges[e.indicator][0] for e in present]
            if any(math.isinf(x) for x in lows):
                return INF
            weight = float(entry.weight) + sum(float(e.weight) for e in present)
            # (w·s + lows) / weight >= cap  ⇔  s >= (cap·weight − lows) / w
            needed = max(needed, (float(card.cap) * weight - sum(lows)) / float(entry.weight))
    return needed


# ------------------------------------------------------------------ conditions


def _conditions(ctx: LintContext) -> Iterator[tuple[ast.Expr, Scope, str]]:
    """Every condition of the policy with what its names mean there: filters, `applies
    to … where`, gates, action rules, `if`s. Rating levels are L201/L202's."""
    policy, analysis = ctx.policy, ctx.analysis
    for indicator in policy.indicators.values():
        for node in ast.walk(indicator.formula):
            if isinstance(node, ast.Call) and node.where is not None:
                yield node.where, Scope(), "this filter"
            elif isinstance(node, ast.If):
                yield node.condition, Scope(), "this `if` condition"
    for card in policy.scorecards.values():
        if card.where is not None:
            yield card.where, Scope(bare_roster=True), "this `applies to … where`"
        before = analysis.card_ranges[card.name][0]
        for gate in card.gates:
            yield gate.condition, Scope(score=before, bare_roster=True), "this gate"
    for incentive in policy.incentives.values():
        scope = analysis.outcome_scope(incentive.scorecards)
        for gate in incentive.gates:
            yield gate.condition, scope, "this gate"
        for action in incentive.actions:
            yield action.condition, scope, "this rule's condition"
        for expr in (incentive.pay, incentive.tier_basis, incentive.cap, incentive.floor):
            yield from _ifs(expr, scope)
        for band in incentive.tiers or ():
            yield from _ifs(band.output, scope)
    for rule_set in policy.improvements:
        scope = analysis.outcome_scope(rule_set.scorecards)
        for action in rule_set.actions:
            yield action.condition, scope, "this rule's condition"


def _ifs(expr: ast.Expr | None, scope: Scope) -> Iterator[tuple[ast.Expr, Scope, str]]:
    if expr is None:
        return
    for node in ast.walk(expr):
        if isinstance(node, ast.If):
            yield node.condition, scope, "this `if` condition"


NEVER_HINT = (
    "check the operators and values: with `and` all parts must hold at once, and a text "
    "must be one of the column's allowed values"
)


@rule(
    "L204",
    "never-holds",
    "correctness",
    "error",
    "A condition can never hold.",
    bad="""
    improvement big_swings for rep {
      when new_customers > 5 and new_customers < 3 => review "Pipeline check" owner hr
    }
    """,
    good="""
    improvement big_swings for rep {
      when new_customers > 5 or new_customers < 3 => review "Pipeline check" owner hr
    }
    """,
)
def never_holds(ctx: LintContext) -> Iterator[Finding]:
    """A gate that can never hold pays no one; an action rule that can never hold never
    helps anyone; a filter that can never hold keeps no row; a scorecard whose `applies to
    … where` can never hold has no members. Cedar-style validation catches these: a
    contradiction on one name (`x > 5 and x < 3`), a text the column can never hold
    (`role == "slaes_rep"` when `role` allows only "sales_rep" and "sales_manager"), a
    constant (`1 > 2`), or a score the scorecard cannot produce. Conditions built from
    comparisons with constants are analysed exactly; other parts (level tests, trends,
    comparisons of two indicators) are taken as unknown true/false inputs."""
    for expr, scope, what in _conditions(ctx):
        if ctx.analysis.judge(expr, scope) == "never":
            yield Finding(expr.span, f"{what} can never hold", hint=NEVER_HINT)


@rule(
    "L205",
    "always-holds",
    "correctness",
    "warning",
    "A condition always holds.",
    bad="""
    incentive welcome "Welcome bonus" for rep {
      gate score >= 0
      pay 500 CNY
    }
    """,
    good="""
    incentive welcome "Welcome bonus" for rep {
      gate score >= 50
      pay 500 CNY
    }
    """,
)
def always_holds(ctx: LintContext) -> Iterator[Finding]:
    """A gate that always holds is no gate: `score >= 0` when every score is at least 0
    (the curves start at 0, or the scorecard has `floor 0`), `x > 5 or x <= 5`, or a
    constant. Usually the value meant was a different one (`score >= 50`); if the gate is
    not wanted, drop it so readers do not look for its effect. The condition still does
    not hold when one of its values is missing."""
    for expr, scope, what in _conditions(ctx):
        if ctx.analysis.judge(expr, scope) == "always":
            yield Finding(
                expr.span,
                f"{what} always holds (whenever its values are present)",
                hint="compare with the value you meant, or drop the condition",
            )


# ------------------------------------------------------------------ labels and limits


def _duplicates(items: list[tuple[str, Span]]) -> Iterator[tuple[str, Span, Span]]:
    first: dict[str, Span] = {}
    for label, span in items:
        if label in first:
            yield label, span, first[label]
        else:
            first[label] = span


@rule(
    "L206",
    "duplicate-label",
    "correctness",
    "warning",
    "Two actions of one rule set, or two declarations of one kind, share a title.",
    bad="""
    improvement rep_growth for rep {
      when new_customers misses threshold => training "Sales skills" owner manager within 30 days
      when learning misses threshold => training "Sales skills" owner employee within 60 days
    }
    """,
    good="""
    improvement rep_growth for rep {
      when new_customers misses threshold => training "Prospecting" owner manager within 30 days
      when learning misses threshold => training "Learning plan" owner employee within 60 days
    }
    """,
)
def duplicate_label(ctx: LintContext) -> Iterator[Finding]:
    """Reports, feedback sheets and the TUI show titles and labels, not names. Two actions
    of one rule set with the same title cannot be told apart on a feedback sheet (which
    rule fired, and why?); two indicators, scorecards or goals with the same label are
    indistinguishable in every report. (Rating levels are already unique: E516.)"""
    policy = ctx.policy
    rule_sets = [(f"incentive '{i.name}'", i.actions) for i in policy.incentives.values()]
    rule_sets += [
        (f"improvement '{r.name}'" if r.name else "this improvement", r.actions)
        for r in policy.improvements
    ]
    for where, actions in rule_sets:
        for title, span, first in _duplicates([(a.title, a.span) for a in actions]):
            yield Finding(
                span,
                f'{where} already gives an action titled "{title}" (at {first})',
                hint="give each action its own title, or merge the rules with `or`",
            )
    tables = {
        "source": policy.sources,
        "objective": policy.objectives,
        "goal": policy.goals,
        "indicator": policy.indicators,
        "benchmark": policy.benchmarks,
        "scorecard": policy.scorecards,
        "rating": policy.ratings,
        "incentive": policy.incentives,
    }
    for kind, table in tables.items():
        labelled = [(d.label, ctx.span(kind, d.name)) for d in table.values() if d.label]
        for label, span, first in _duplicates(labelled):
            yield Finding(
                span,
                f'another {kind} is already labelled "{label}" (at {first})',
                hint="labels name things in reports; make each one distinct",
            )


@rule(
    "L207",
    "uncapped-incentive",
    "correctness",
    "warning",
    "An incentive has no cap.",
    bad="""
    incentive commission "Sales commission" for rep {
      pay revenue * 2%
    }
    """,
    good="""
    incentive commission "Sales commission" for rep {
      pay revenue * 2%
      cap 10_000 CNY
    }
    """,
)
def uncapped_incentive(ctx: LintContext) -> Iterator[Finding]:
    """Incentive compensation practice (Xactly, Varicent, …) caps payouts: an uncapped
    formula turns a data error, a windfall deal or a gamed indicator into an unlimited
    payout, and the budget cannot be planned. An incentive whose every amount is a
    constant (`pay 500 CNY`, or tiers that each pay a fixed amount) is bounded already
    and is not reported."""
    analysis = ctx.analysis
    for incentive in ctx.policy.incentives.values():
        if incentive.cap is not None:
            continue
        amounts = [b.output for b in incentive.tiers or ()] or [incentive.pay]
        if all(a is not None and analysis.const(a) is not None for a in amounts):
            continue
        yield Finding(
            ctx.span("incentive", incentive.name),
            f"incentive '{incentive.name}' has no cap",
            hint="add `cap 30_000 CNY` (or `cap employees.base_salary * 2`)",
        )
