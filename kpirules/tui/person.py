"""What the Person screen shows, from the results and `kpirules.analysis` (no Textual).

Peers and trends come from `kpirules.analysis.comparison` and `trends`; comparison is
computed once per period for everyone (peers need the whole population anyway) and
cached, so opening the next person is a filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kpirules.tui.session import Session


@dataclass
class Outcome:
    kind: str  # total | rating | payout | action
    item: str
    result: str
    note: str
    focus: str  # the start of the explanation step that derives it
    fired: bool | None = None


@dataclass
class PersonView:
    subject: str
    scorecard: str
    period: str
    identity: pd.Series  # the person's row of results.totals
    indicators: pd.DataFrame  # comparison rows, with `trend` (values up to the period)
    total_trend: list[float]
    payouts: pd.DataFrame
    outcomes: list[Outcome] = field(default_factory=list)


def comparison_for(session: Session, period: str) -> pd.DataFrame:
    from kpirules.analysis import comparison

    return session.cached(
        ("comparison", period), lambda: comparison(session.results, period=period)
    )


def person_view(session: Session, subject: str, scorecard: str, period: str) -> PersonView | None:
    """None when the person is not on `scorecard` in `period`."""
    from kpirules.analysis import score_trends, trends

    results = session.results
    totals = results.totals
    mine = totals[(totals["subject"] == subject) & (totals["period"] == period)]
    on_card = mine[mine["scorecard"] == scorecard]
    if on_card.empty:
        return None
    identity = on_card.iloc[0]
    compared = comparison_for(session, period)
    rows = compared[(compared["subject"] == subject) & (compared["scorecard"] == scorecard)].copy()
    order = {e.indicator: i for i, e in enumerate(session.policy.scorecards[scorecard].entries)}
    rows = rows.sort_values("indicator", key=lambda names: names.map(order), kind="stable")
    upto = results.periods.index(period) + 1
    history = trends(results, subject=subject)
    history = history[history["scorecard"] == scorecard].set_index("indicator")["values"]
    rows["trend"] = rows["indicator"].map(lambda name: tuple(history.get(name, ()))[:upto])
    total_history = score_trends(results, subject=subject)
    total_history = total_history[total_history["scorecard"] == scorecard]
    total_trend = list(total_history["values"].iloc[0])[:upto] if len(total_history) else []
    payouts = results.payouts
    paid = payouts[
        (payouts["subject"] == subject)
        & (payouts["period"] == period)
        & (payouts["scorecard"] == scorecard)
    ]
    view = PersonView(
        subject, scorecard, period, identity, rows.reset_index(drop=True), total_trend, paid
    )
    view.outcomes = outcomes(session, view)
    return view


def total_note(status: str) -> str:
    """The total's status in words that cannot be read as a payout's: the scorecard's
    gate limits the score; a bonus has gates of its own (shown on its line)."""
    return status.replace("gate failed", "scorecard gate not met: total limited")


def outcomes(session: Session, view: PersonView) -> list[Outcome]:
    """Total, rating, each payout, and every action rule of the scorecard: fired or not."""
    from kpirules.tui.format import money, number

    policy, results = session.policy, session.results
    card = policy.scorecards[view.scorecard]
    identity = view.identity
    out = [
        Outcome(
            "total",
            "Total score",
            number(identity["total"]),
            total_note(str(identity["status"])),
            "weighted total",
        ),
        Outcome("rating", "Rating", str(identity["rating"] or "—"), card.rating or "", "rating "),
    ]
    for incentive in policy.incentives.values():
        if view.scorecard not in incentive.scorecards:
            continue
        row = view.payouts[view.payouts["incentive"] == incentive.name]
        amount = float(row["amount"].iloc[0]) if len(row) else float("nan")
        notes = []
        if len(row) and not bool(row["gate_passed"].iloc[0]):
            notes.append("bonus gate not met: no payout")
        if len(row) and bool(row["capped"].iloc[0]):
            notes.append("capped")
        out.append(
            Outcome(
                "payout",
                f"Payout: {incentive.label or incentive.name}",
                money(amount, session.currency),
                ", ".join(notes),
                f"incentive {incentive.name}",
            )
        )
    actions = results.actions
    fired_rules = set(
        actions.loc[
            (actions["subject"] == view.subject)
            & (actions["period"] == view.period)
            & (actions["scorecard"] == view.scorecard),
            "rule",
        ]
    )
    rules = [
        a for i in policy.incentives.values() if view.scorecard in i.scorecards for a in i.actions
    ]
    rules += [
        a for imp in policy.improvements if view.scorecard in imp.scorecards for a in imp.actions
    ]
    for rule in rules:
        fired = f"{rule.span.file}:{rule.span.line}" in fired_rules
        owner = f"owner {rule.owner}" if rule.owner else ""
        out.append(
            Outcome(
                "action",
                f"{rule.kind}: {rule.title}",
                "fired" if fired else "not fired",
                owner if fired else "Enter: why not",
                f'{rule.kind} "{rule.title}"',
                fired,
            )
        )
    return out
