"""Strategy rules: the KPI method of the source article (seed/kpi-management-essentials):
tie every indicator to strategy, keep the key few, balance short and long term, make
targets time-bound, help those who miss and talk to people regularly."""

from __future__ import annotations

from collections.abc import Iterator

from kpirules import ast, model
from kpirules.lint.context import LintContext
from kpirules.lint.examples import LEAD, LEAD_FEEDBACK, LEAD_IMPROVEMENT
from kpirules.lint.registry import Finding, rule


@rule(
    "L101",
    "unaligned",
    "strategy",
    "error",
    "An indicator or goal does not trace up to an objective.",
    options={"require_goal": False},
    bad="""
    indicator order_count "Orders closed" {
      unit count
      better higher
      = count(orders)
    }

    improvement order_flow for rep {
      when order_count < 3 => coaching "Deal flow review" owner manager within 30 days
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
def unaligned(ctx: LintContext) -> Iterator[Finding]:
    """The source article, a Chinese questions-and-answers text on what is key in KPI
    performance management ("KPI绩效管理的关键"; it gives no title or author), opens its
    list with this: goals must follow the company's strategy ("目标要与企业战略相结合").
    KPIs come from strategy. Strategy decides what each department and role focuses on
    ("expand into new markets" → new-customer count, new-market revenue share), so every
    indicator must support a goal or objective, and every goal an objective or a higher
    goal. An indicator measured "because we can" pulls attention away from what the
    company is trying to do. Only the declaration where the chain breaks is reported: a
    chain that ends in an objective is aligned. With the option `require_goal = true`, an
    indicator must support a goal, not an objective directly."""
    policy = ctx.policy
    for indicator in policy.indicators.values():
        if not indicator.supports:
            yield Finding(
                ctx.span("indicator", indicator.name),
                f"indicator '{indicator.name}' supports no goal: it does not trace up to an "
                "objective",
                hint="add `supports GOAL`, naming the goal it measures",
            )
        elif ctx.options["require_goal"] and not any(s in policy.goals for s in indicator.supports):
            yield Finding(
                ctx.span("indicator", indicator.name),
                f"indicator '{indicator.name}' supports an objective directly, not a goal",
                hint="state the goal it measures and support that goal",
            )
    for goal in policy.goals.values():
        if not goal.supports:
            yield Finding(
                ctx.span("goal", goal.name),
                f"goal '{goal.name}' supports no objective or goal",
                hint="add `supports OBJECTIVE`, naming the strategy it serves",
            )


def _check_key_few(options: dict) -> str | None:
    if options["min"] < 1 or options["max"] < options["min"]:
        return "needs 1 <= min <= max"
    return None


@rule(
    "L102",
    "key-few",
    "strategy",
    "warning",
    "A scorecard has fewer than 3 or more than 7 indicators.",
    options={"min": 3, "max": 7},
    validate=_check_key_few,
    bad="""\
scorecard lead "Team lead" {
  applies to staff where role == "lead"
  indicator revenue weight 60% {
    threshold 400_000 CNY => 50
    target 800_000 CNY => 100
  }
  indicator learning weight 40% {
    threshold 4 hours => 50
    target 8 hours => 100
  }
}
"""
    + LEAD_IMPROVEMENT
    + LEAD_FEEDBACK,
    good=LEAD + LEAD_IMPROVEMENT + LEAD_FEEDBACK,
)
def key_few(ctx: LintContext) -> Iterator[Finding]:
    """The source article's "key few" (关键少数): three to seven indicators per role. Fewer, and
    one number decides a person's whole assessment and invites gaming it; more, and nobody
    knows what matters, every weight is too small to change behaviour, and the assessment
    costs more than it tells. Options: `min` (default 3) and `max` (default 7). (That the
    weights of a scorecard total 100% is the checker's job: E501.)"""
    low, high = ctx.options["min"], ctx.options["max"]
    for card in ctx.policy.scorecards.values():
        count = len(card.entries)
        if not low <= count <= high:
            plural = "s" if count != 1 else ""
            yield Finding(
                ctx.span("scorecard", card.name),
                f"scorecard '{card.name}' has {count} indicator{plural}; keep {low} to {high} "
                "(the key few)",
                hint="merge or drop indicators" if count > high else "add the missing focus areas",
            )


def measured(policy: model.Policy) -> set[str]:
    """Objectives and goals with an indicator somewhere under them (a goal's target
    indicator counts as under it)."""
    found: set[str] = set()
    parents = {
        **{g.name: g.supports for g in policy.goals.values()},
        **{o.name: o.supports for o in policy.objectives.values()},
    }
    starts = [s for i in policy.indicators.values() for s in i.supports]
    starts += [g.name for g in policy.goals.values() if g.target is not None]
    stack = list(starts)
    while stack:
        name = stack.pop()
        if name in found:
            continue
        found.add(name)
        stack.extend(parents.get(name, ()))
    return found


@rule(
    "L103",
    "unmeasured-objective",
    "strategy",
    "warning",
    "An objective has no goal or indicator under it.",
    bad="""
    objective loyal_customers "Customers who come back" {
      horizon long
    }
    """,
    good="""
    objective loyal_customers "Customers who come back" {
      horizon long
    }

    goal repeat_business "Half the revenue from returning customers" {
      supports loyal_customers
      target repeat_share >= 50% by 2026-Q1
    }

    indicator repeat_share "Revenue from returning customers" {
      supports repeat_business
      unit percent
      better higher
      = sum(orders.amount where not orders.new_customer) / sum(orders.amount)
    }
    """,
)
def unmeasured_objective(ctx: LintContext) -> Iterator[Finding]:
    """An objective nobody measures is a wish. The source article derives indicators *from* the
    strategy: each objective should break down into goals and indicators, or it will not
    shape anyone's work. An objective is measured when an indicator traces up to it, or a
    goal with a target does. (Goals with nothing under them are reported by L304.)"""
    measured_names = measured(ctx.policy)
    for objective in ctx.policy.objectives.values():
        if objective.name not in measured_names:
            yield Finding(
                ctx.span("objective", objective.name),
                f"objective '{objective.name}' has nothing under it: no goal or indicator "
                "measures it",
                hint="add a goal that supports it, with an indicator and a target",
            )


@rule(
    "L104",
    "no-long-term",
    "strategy",
    "warning",
    "A scorecard has no long-term indicator.",
    bad="""\
indicator order_count "Orders closed" {
  supports revenue_plan
  unit count
  better higher
  = count(orders)
}

scorecard lead "Team lead" {
  applies to staff where role == "lead"
  indicator revenue weight 50% {
    threshold 400_000 CNY => 50
    target 800_000 CNY => 100
  }
  indicator new_customers weight 30% {
    threshold 5 => 50
    target 10 => 100
  }
  indicator order_count weight 20% {
    threshold 20 => 50
    target 40 => 100
  }
}
"""
    + LEAD_IMPROVEMENT
    + LEAD_FEEDBACK,
    good=LEAD + LEAD_IMPROVEMENT + LEAD_FEEDBACK,
)
def no_long_term(ctx: LintContext) -> Iterator[Finding]:
    """The source article asks for a balance of short-term results (monthly sales, quarterly
    complaint rate) and long-term ones (skill growth, brand reputation). A scorecard of
    short-term indicators only rewards hitting this quarter by burning the future: no
    training, no customer care, no development of the team. Give at least one indicator
    `horizon long`."""
    indicators = ctx.policy.indicators
    for card in ctx.policy.scorecards.values():
        if not any(indicators[e.indicator].horizon == "long" for e in card.entries):
            yield Finding(
                ctx.span("scorecard", card.name),
                f"scorecard '{card.name}' has no long-term indicator",
                hint="add an indicator with `horizon long` (skills, customer loyalty, reputation)",
            )


@rule(
    "L105",
    "goal-without-deadline",
    "strategy",
    "warning",
    "A goal has no deadline.",
    bad="""
    goal big_deals "Win large deals" {
      supports growth
      target revenue >= 2_000_000 CNY
    }
    """,
    good="""
    goal big_deals "Win large deals" {
      supports growth
      target revenue >= 2_000_000 CNY by 2026-Q1
    }
    """,
)
def goal_without_deadline(ctx: LintContext) -> Iterator[Finding]:
    """SMART goals are time-bound: "reach 30% of revenue from new markets by Q4", not "grow
    new markets". Without a deadline a goal can never be late, so it is never due, and the
    goal report cannot say whether the company is on track."""
    for goal in ctx.policy.goals.values():
        if goal.deadline is None:
            what = "its target has no deadline" if goal.target else "it has no target and date"
            yield Finding(
                ctx.span("goal", goal.name),
                f"goal '{goal.name}' is not time-bound: {what}",
                hint="write `target INDICATOR >= VALUE by PERIOD`, e.g. `by 2026-Q4`",
            )


def _timed(policy: model.Policy, name: str, seen: set[str]) -> bool:
    """Does the indicator read, directly or through the indicators it uses, a source whose
    rows fall into periods?"""
    if name in seen:
        return False
    seen.add(name)
    indicator = policy.indicators[name]
    if any(policy.sources[s].time for s in indicator.sources if s in policy.sources):
        return True
    used = {
        n.name
        for n in ast.walk(indicator.formula)
        if isinstance(n, ast.Name) and n.name in policy.indicators
    }
    return any(_timed(policy, other, seen) for other in used | set(indicator.depends_on))


@rule(
    "L106",
    "untimed-indicator",
    "strategy",
    "warning",
    "An indicator reads no data that falls into periods.",
    bad="""
    source targets "Sales targets" {
      subject rep_id
      key rep_id
      columns {
        rep_id: text required
        quota: money required
      }
    }

    indicator quota "Quota" {
      supports revenue_plan
      unit money
      better higher
      = sum(targets.quota)
    }

    improvement quota_check for rep {
      when quota < 100_000 CNY => review "Quota review" owner hr within 30 days
    }
    """,
    good="""
    source targets "Sales targets" {
      subject rep_id
      time valid_from
      key target_id
      columns {
        target_id: text required
        rep_id: text required
        valid_from: date required
        quota: money required
      }
    }

    indicator quota "Quota" {
      supports revenue_plan
      unit money
      better higher
      = sum(targets.quota)
    }

    improvement quota_check for rep {
      when quota < 100_000 CNY => review "Quota review" owner hr within 30 days
    }
    """,
)
def untimed_indicator(ctx: LintContext) -> Iterator[Finding]:
    """Time-bound, the T of SMART, applies to indicators too: an indicator is measured per
    period. One whose formula reads only sources without a `time` column (or only the
    roster) gives the same value in every period, so it cannot show progress, a trend or
    a miss this quarter: it measures a state, not performance."""
    for indicator in ctx.policy.indicators.values():
        if not _timed(ctx.policy, indicator.name, set()):
            yield Finding(
                ctx.span("indicator", indicator.name),
                f"indicator '{indicator.name}' reads no dated data: it has the same value in "
                "every period",
                hint="aggregate a source that declares a `time` column",
            )


def _can_miss(card: model.Scorecard) -> bool:
    """A threshold point or bands: some values score below what is expected."""
    for entry in card.entries:
        if isinstance(entry.scoring, model.Bands):
            return True
        if isinstance(entry.scoring, model.Curve) and any(
            p.kind == "threshold" for p in entry.scoring.points
        ):
            return True
    return False


@rule(
    "L107",
    "no-improvement",
    "strategy",
    "warning",
    "People on a scorecard can miss a threshold, and no improvement rule helps them.",
    bad=LEAD + LEAD_FEEDBACK,
    good=LEAD + LEAD_IMPROVEMENT + LEAD_FEEDBACK,
)
def no_improvement(ctx: LintContext) -> Iterator[Finding]:
    """For those who miss their KPIs the source article prescribes finding the cause (selling
    skill, or market resources?) and giving training and a chance to improve. A scorecard
    with thresholds and no `improvement … for` it sanctions misses without any help."""
    covered = {c for rule_set in ctx.policy.improvements for c in rule_set.scorecards}
    for card in ctx.policy.scorecards.values():
        if card.name not in covered and _can_miss(card):
            yield Finding(
                ctx.span("scorecard", card.name),
                f"scorecard '{card.name}' has no improvement rule: people who miss a threshold "
                "get no training, coaching or plan",
                hint=f"add `improvement for {card.name} {{ when … misses threshold => training "
                '"…" owner manager within 30 days }`',
            )


@rule(
    "L108",
    "no-feedback",
    "strategy",
    "warning",
    "A scorecard has no feedback cadence.",
    bad=LEAD + LEAD_IMPROVEMENT,
    good=LEAD + LEAD_IMPROVEMENT + LEAD_FEEDBACK,
)
def no_feedback(ctx: LintContext) -> Iterator[Finding]:
    """Feedback must be timely and regular: weekly or monthly one-on-ones, not only the
    annual review. A scorecard without a `feedback` block (for it, or for everyone) leaves
    its people to find out how they did when it is too late to change it."""
    everyone = any(not f.scorecards for f in ctx.policy.feedback)
    covered = {c for f in ctx.policy.feedback for c in f.scorecards}
    if everyone:
        return
    for card in ctx.policy.scorecards.values():
        if card.name not in covered:
            yield Finding(
                ctx.span("scorecard", card.name),
                f"scorecard '{card.name}' has no feedback cadence",
                hint=f"add `feedback for {card.name} {{ one_on_one monthly  review quarterly }}`",
            )
