"""Checked model → plan: every rule resolved, typed and in the runners' units."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from kpirules import ast, model
from kpirules.formatter import format_expr
from kpirules.plan import nodes as n
from kpirules.plan.expressions import OUTCOME, RATING, lower_grid, lower_row
from kpirules.plan.order import lagged_names, order


def build(policy: model.Policy) -> n.Plan:
    """The plan of a checked policy."""
    steps, by_period = order(policy)
    header = policy.header
    return n.Plan(
        steps=steps,
        by_period=by_period,
        scorecards=tuple(_scorecard(card, policy) for card in policy.scorecards.values()),
        goals=tuple(_goals(policy, steps)),
        benchmarks=tuple(
            n.Benchmark(b.name, _number(b.value), b.dim, format_expr(b.expr), b.span)
            for b in policy.benchmarks.values()
        ),
        name=policy.name,
        cadence=header.cadence if header else "",
        currency=header.currency if header else None,
        sources=tuple(_source(spec) for spec in policy.sources.values()),
        roster=_roster(policy.roster),
        effective=_effective(header),
        objectives=tuple(policy.objectives),
        goal_supports=tuple((goal.name, tuple(goal.supports)) for goal in policy.goals.values()),
    )


def _source(spec: model.Source) -> n.Source:
    return n.Source(
        spec.name, spec.key if spec.is_roster else spec.subject, spec.time, spec.is_roster
    )


def _roster(spec: model.Source | None) -> n.Roster | None:
    if spec is None:
        return None
    roles = spec.roles
    return n.Roster(spec.name, spec.key, roles.get("start"), roles.get("end"), roles.get("manager"))


def _effective(header: model.Header | None) -> tuple[date, date] | None:
    if header is None or not (header.effective_start and header.effective_end):
        return None
    return date.fromisoformat(header.effective_start), date.fromisoformat(header.effective_end)


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def formula(expr: ast.Expr, policy: model.Policy, env: frozenset[str] = OUTCOME) -> n.Formula:
    """A rule's expression, lowered: gates, payouts and actions see `score` and `rating`."""
    return n.Formula(lower_grid(expr, policy, env), policy.dim_of(expr), format_expr(expr))


def _missing(rule: model.MissingRule) -> n.MissingRule:
    return n.MissingRule(n.WhenMissing(rule.action), _number(rule.score))


def _band(band: model.Band, policy: model.Policy) -> n.Band:
    return n.Band(
        n.BandKind(band.kind),
        _number(band.low),
        _number(band.high),
        formula(band.output, policy),
        _number(band.score),
        band.span,
    )


def _scoring(scoring, indicator: model.Indicator, policy: model.Policy):
    if isinstance(scoring, model.Curve):
        points = tuple(
            n.CurvePoint(n.PointKind(p.kind), float(p.value), float(p.score), p.span)
            for p in scoring.points
        )
        return n.Curve(points, float(scoring.otherwise), n.Better(indicator.better))
    if isinstance(scoring, model.Bands):
        bands = tuple(_band(b, policy) for b in scoring.bands)
        return n.Bands(n.HitPolicy(scoring.hit_policy), bands)
    return None


def _gate(gate: model.Gate, policy: model.Policy) -> n.Gate:
    return n.Gate(
        formula(gate.condition, policy), n.GateEffect(gate.effect), _number(gate.value), gate.span
    )


def _rating(rating: model.Rating | None, policy: model.Policy) -> n.Rating | None:
    if rating is None:
        return None
    levels = tuple(
        n.RatingLevel(
            level.label,
            None if level.condition is None else formula(level.condition, policy, RATING),
            level.span,
        )
        for level in rating.levels
    )
    distribution = tuple(
        n.DistributionRule(rule.label, n.Bound(rule.bound), float(rule.share), rule.span)
        for rule in rating.distribution
    )
    return n.Rating(rating.name, levels, distribution, rating.span)


def _actions(actions, origin: str, policy: model.Policy) -> tuple[n.Action, ...]:
    return tuple(
        n.Action(
            origin,
            formula(action.condition, policy),
            action.periods,
            action.kind,
            action.title,
            action.owner,
            _number(action.within_days),
            action.span,
        )
        for action in actions
    )


def _payout(incentive: model.Incentive, policy: model.Policy) -> n.Payout:
    header = policy.header

    def maybe(expr: ast.Expr | None) -> n.Formula | None:
        return None if expr is None else formula(expr, policy)

    return n.Payout(
        incentive=incentive.name,
        gates=tuple(_gate(g, policy) for g in incentive.gates),
        pay=maybe(incentive.pay),
        tiers=None if incentive.tiers is None else tuple(_band(b, policy) for b in incentive.tiers),
        tier_basis=maybe(incentive.tier_basis),
        cap=maybe(incentive.cap),
        floor=maybe(incentive.floor),
        prorate=None if incentive.prorate is None else n.Prorate(incentive.prorate),
        rounding=n.Rounding(header.rounding_mode if header else "half_even"),
        step=header.rounding_step if header else Decimal("0.01"),
        currency=header.currency if header else None,
        actions=_actions(incentive.actions, f"incentive {incentive.name}", policy),
        span=incentive.span,
    )


def _scorecard(card: model.Scorecard, policy: model.Policy) -> n.Scorecard:
    entries = tuple(
        n.Entry(
            entry.indicator,
            float(entry.weight),
            _scoring(entry.scoring, policy.indicators[entry.indicator], policy),
            _number(entry.cap),
            _number(entry.floor),
            _missing(entry.missing or card.missing),
            entry.span,
        )
        for entry in card.entries
    )
    improvements = tuple(
        action
        for improvement in policy.improvements
        if card.name in improvement.scorecards
        for action in _actions(
            improvement.actions,
            f"improvement {improvement.name}" if improvement.name else "improvement",
            policy,
        )
    )
    return n.Scorecard(
        name=card.name,
        members=None if card.where is None else _members(card.where, policy),
        entries=entries,
        missing=_missing(card.missing),
        gates=tuple(_gate(g, policy) for g in card.gates),
        cap=_number(card.cap),
        floor=_number(card.floor),
        rating=_rating(policy.ratings.get(card.rating) if card.rating else None, policy),
        payouts=tuple(
            _payout(incentive, policy)
            for incentive in policy.incentives.values()
            if card.name in incentive.scorecards
        ),
        actions=improvements,
        span=card.span,
    )


def _members(where: ast.Expr, policy: model.Policy) -> n.Formula:
    """`applies to roster where …`: a condition on the roster's rows."""
    lowered = lower_row(where, policy, policy.roster.name)
    return n.Formula(lowered, policy.dim_of(where), format_expr(where))


def _goals(policy: model.Policy, steps) -> list[n.Goal]:
    goals = []
    for goal in policy.goals.values():
        target = goal.target
        if target is None:
            continue
        needed = needed_for(policy, [target.indicator])
        goals.append(
            n.Goal(
                goal.name,
                goal.owner_level,
                goal.owner_value if goal.owner_level != "company" else "company",
                target.indicator,
                n.Comparison(target.op),
                float(target.value),
                tuple(step.name for step in steps if step.name in needed),
                goal.deadline,
                goal.span,
                column=None
                if goal.owner_level == "company"
                else policy.roster.roles.get(goal.owner_level, goal.owner_level),
                supports=tuple(goal.supports),
            )
        )
    return goals


def needed_for(policy: model.Policy, targets: list[str]) -> set[str]:
    """The target indicators and every indicator they are computed from."""
    needed: set[str] = set()
    pending = list(targets)
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            indicator = policy.indicators[name]
            pending += [*indicator.depends_on, *lagged_names(indicator.formula)]
    return needed
