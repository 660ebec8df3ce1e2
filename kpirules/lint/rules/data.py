"""Data rules: the policy checked against real data (`kpirules lint --data BINDING`).

The policy is evaluated once with `kpirules.evaluate`; the rules read the scores frame
(one row per person, period, scorecard and indicator, for the scorecard's members) and
the data-quality findings. A person-period counts as *evaluated* for an indicator when
its value is present.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd

from kpirules import model
from kpirules.data.quality import BINDING_OPTIONS
from kpirules.diagnostics import Severity
from kpirules.lint.analysis import number
from kpirules.lint.context import LintContext
from kpirules.lint.registry import Finding, rule

SAME_POLICY = "# the base policy unchanged; only the data differ (below)\n"


def _check_share(options: dict) -> str | None:
    share = options["share"]
    return None if 0 <= share <= 1 else "share is a fraction from 0 to 1, e.g. 0.9"


def _entries(ctx: LintContext) -> Iterator[tuple[model.Scorecard, model.Entry, pd.Series]]:
    """Each scorecard entry with the values of its members (missing ones included)."""
    scores = ctx.results.scores
    if scores.empty:
        return
    for card in ctx.policy.scorecards.values():
        of_card = scores[scores["scorecard"] == card.name]
        for entry in card.entries:
            values = of_card.loc[of_card["indicator"] == entry.indicator, "value"]
            if len(values):
                yield card, entry, pd.to_numeric(values, errors="coerce")


def reaches(values: pd.Series, points: tuple[model.CurvePoint, ...], kind: str, better: str):
    """Which present values reach the curve's `kind` point, in the indicator's direction
    (as `x reaches kind` does in a rule)."""
    levels = [float(p.value) for p in points if p.kind == kind]
    if better == "lower":
        return values <= levels[0] + 1e-9
    if better == "closer":
        target = next((float(p.value) for p in points if p.kind == "target"), levels[0])
        if len(levels) > 1:
            return (values >= min(levels) - 1e-9) & (values <= max(levels) + 1e-9)
        return (values - target).abs() <= abs(levels[0] - target) + 1e-9
    return values >= levels[0] - 1e-9


def _reached(
    ctx: LintContext, point_of: Callable[[model.Curve], model.CurvePoint | None]
) -> Iterator[tuple[model.Scorecard, model.Entry, model.CurvePoint, int, float]]:
    """For each curve-scored entry with values: the point `point_of` picks, how many
    evaluated people-periods there are, and the share of them that reach the point."""
    for card, entry, values in _entries(ctx):
        curve = entry.scoring
        present = values.dropna()
        if not isinstance(curve, model.Curve) or present.empty:
            continue
        point = point_of(curve)
        if point is None:
            continue
        better = ctx.policy.indicators[entry.indicator].better
        share = float(reaches(present, curve.points, point.kind, better).mean())
        yield card, entry, point, len(present), share


def _share_text(share: float) -> str:
    return f"{number(round(share * 100, 1))}%"


# Four reps who all sell more than the target of 200 000 CNY.
EASY_ORDERS = """\
order_id,rep_id,closed_on,amount,new_customer
o1,r1,2026-03-25,210000,true
o2,r2,2026-03-25,250000,true
o3,r2,2026-03-26,10000,true
o4,r3,2026-03-27,250000,true
o5,r3,2026-03-27,10000,true
o6,r3,2026-03-28,10000,false
o7,r4,2026-03-30,350000,true
"""


@rule(
    "L401",
    "target-too-easy",
    "data",
    "warning",
    "Nearly everyone already reaches the target.",
    options={"share": 0.9},
    validate=_check_share,
    needs_data=True,
    bad=SAME_POLICY,
    good=SAME_POLICY,
    bad_data={"orders": EASY_ORDERS},
)
def target_too_easy(ctx: LintContext) -> Iterator[Finding]:
    """SMART targets are achievable *and* challenging. When nearly everyone already reaches
    the target point (by default 90% or more of the evaluated people-periods), the target
    rewards the status quo: scores bunch at the top, the rating distribution guidance
    cannot hold, and bonuses are paid for business as usual. Raise the target, or check
    the data. Option `share` (default 0.9). Curves with a `target` point only."""
    limit = ctx.options["share"]

    def target_of(curve: model.Curve) -> model.CurvePoint | None:
        return next((p for p in curve.points if p.kind == "target"), None)

    for card, entry, target, count, share in _reached(ctx, target_of):
        if share >= limit:
            yield Finding(
                target.span,
                f"{_share_text(share)} of the {count} evaluated people-periods of "
                f"scorecard '{card.name}' already reach this target of '{entry.indicator}'",
                hint=f"a target nearly everyone reaches (at least {_share_text(limit)}) is not "
                "challenging; raise it, or check the data",
            )


# Four reps, none of whom wins the threshold of two new customers.
HARD_ORDERS = """\
order_id,rep_id,closed_on,amount,new_customer
o1,r1,2026-03-25,50000,true
o2,r2,2026-03-25,150000,true
o3,r2,2026-03-26,10000,false
o4,r3,2026-03-27,250000,true
o5,r3,2026-03-27,10000,false
o6,r3,2026-03-28,10000,false
o7,r4,2026-03-30,350000,true
"""


@rule(
    "L402",
    "target-out-of-reach",
    "data",
    "warning",
    "Nearly no one reaches even the threshold.",
    options={"share": 0.1},
    validate=_check_share,
    needs_data=True,
    bad=SAME_POLICY,
    good=SAME_POLICY,
    bad_data={"orders": HARD_ORDERS},
)
def target_out_of_reach(ctx: LintContext) -> Iterator[Finding]:
    """The A of SMART: achievable. When nearly no one reaches even the threshold point (by
    default 10% or fewer of the evaluated people-periods), the indicator scores 0 for
    almost everyone: it demotivates instead of steering, and in a weighted total it only
    shifts everybody down. Lower the threshold, or check the data. Option `share`
    (default 0.1). Curves only; without a `threshold` point the curve's first point is
    used."""
    limit = ctx.options["share"]

    def threshold_of(curve: model.Curve) -> model.CurvePoint:
        return next((p for p in curve.points if p.kind == "threshold"), curve.points[0])

    for card, entry, point, count, share in _reached(ctx, threshold_of):
        if share <= limit:
            yield Finding(
                point.span,
                f"only {_share_text(share)} of the {count} evaluated people-periods of "
                f"scorecard '{card.name}' reach this {point.kind} of '{entry.indicator}'",
                hint=f"a level almost no one reaches (at most {_share_text(limit)}) is not "
                "achievable; lower it, or check the data",
            )


# Only one of the four reps has any training recorded.
FEW_COURSES = """\
course_id,person_id,completed_on,hours
c1,r1,2026-03-25,2
"""


@rule(
    "L403",
    "often-missing",
    "data",
    "warning",
    "An indicator is missing for too many of the people scored on it.",
    options={"share": 0.2},
    validate=_check_share,
    needs_data=True,
    bad=SAME_POLICY,
    good=SAME_POLICY,
    bad_data={"courses": FEW_COURSES},
)
def often_missing(ctx: LintContext) -> Iterator[Finding]:
    """Data must be complete (the source article: accurate, complete and timely). An indicator
    with no value for many members of a scorecard (by default more than 20% of their
    people-periods) is decided by the missing-data rule instead of by performance:
    reweighting quietly shifts their score onto the other indicators, `fail` leaves them
    without a total. Fix the data feed, or state on the entry what missing means: an
    entry with its own `when missing => …` has decided that, and is not reported. Option
    `share` (default 0.2)."""
    limit = ctx.options["share"]
    for card, entry, values in _entries(ctx):
        if entry.missing is not None:
            continue
        share = float(values.isna().mean())
        if share > limit:
            yield Finding(
                ctx.index.entry_span(card.name, entry),
                f"'{entry.indicator}' is missing for {_share_text(share)} of the {len(values)} "
                f"people-periods scored on scorecard '{card.name}'",
                hint=f"more than {_share_text(limit)}: fix the data feed, or say on the entry "
                "what missing means (`when missing => score 0`)",
            )


# An order whose amount is not a number: the row fails `type_mismatch` and is left out.
BAD_ORDERS = """\
order_id,rep_id,closed_on,amount,new_customer
o1,r1,2026-03-25,50000,true
o2,r2,2026-03-25,150000,true
o3,r2,2026-03-26,lots,true
o4,r3,2026-03-27,250000,true
o5,r3,2026-03-27,10000,true
o6,r3,2026-03-28,10000,false
o7,r4,2026-03-30,350000,true
"""


@rule(
    "L404",
    "data-quality",
    "data",
    "warning",
    "The data have quality findings (types, keys, subjects, ranges, freshness).",
    needs_data=True,
    bad=SAME_POLICY,
    good=SAME_POLICY,
    bad_data={"orders": BAD_ORDERS},
)
def data_quality(ctx: LintContext) -> Iterator[Finding]:
    """Scores are only as good as the data: accurate, complete and timely. The data-quality
    checks that run before every evaluation (docs/data.md) are reported here, one finding
    per source and check, at the source's declaration (or the column's), with the number
    of rows and the first one. A check at level `error` in the policy's `data_quality`
    stops the run, and is reported as an error; the others at this rule's level."""
    quality = ctx.results.quality
    if quality is None or quality.empty:
        return
    for (name, check), group in quality.groupby(["source", "check"], sort=True):
        source = ctx.policy.sources.get(name)
        if source is None:
            continue
        first = group.iloc[0]
        column = source.columns.get(first["column"]) if pd.notna(first["column"]) else None
        span = column.span if column is not None else ctx.span("source", name)
        where = f"{first['file']}" + (f" row {int(first['row'])}" if pd.notna(first["row"]) else "")
        count = len(group)
        blocking = (group["severity"] == "error").any()
        yield Finding(
            span,
            f"source '{name}': {count} data-quality finding{'s' * (count != 1)} `{check}` "
            f"(first: {where}: {first['message']})",
            hint=_hint(check, blocking),
            severity=Severity.ERROR if blocking else None,
        )


def _hint(check: str, blocking: bool) -> str:
    if check in BINDING_OPTIONS:  # set in data.yaml, not in the policy
        fix = f"`{BINDING_OPTIONS[check]}` in the binding"
        return (
            f"this stops the evaluation; fix the data, or {fix}"
            if blocking
            else (f"fix the data, or {fix} if it is expected")
        )
    if blocking:
        return "this stops the evaluation; fix the data"
    return f"fix the data, or set `data_quality {{ {check} ignore }}` if it is expected"
