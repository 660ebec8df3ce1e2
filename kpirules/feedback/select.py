"""Whose sheets, for which period: one person, a manager's direct reports, or everyone."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from kpirules import model
from kpirules.results import Results


class FeedbackError(ValueError):
    """The sheets cannot be made as asked (unknown person or manager, no such period…)."""


def check_period(results: Results, period: str | None) -> None:
    if not results.periods:
        raise FeedbackError("the results hold no period (was the run blocked by data errors?)")
    if period is not None and period not in results.periods:
        raise FeedbackError(
            f"period {period} is not in the results ({results.periods[0]} to {results.periods[-1]})"
        )


def everyone(results: Results, period: str | None = None) -> dict[str, str]:
    """subject → sheet period for every evaluated person: `period` for those on a
    scorecard in it, else each person's latest period with a total score (or, lacking
    one, their latest period on a scorecard). Ordered by subject."""
    check_period(results, period)
    totals = results.totals
    if period is not None:
        people = totals.loc[totals["period"] == period, "subject"]
        return dict.fromkeys(sorted(set(people.astype(str))), period)
    order = {p: i for i, p in enumerate(results.periods)}
    frame = totals[["subject", "period", "total"]].assign(
        _order=totals["period"].map(order), _scored=totals["total"].notna()
    )
    # The latest scored period wins over later unscored ones: sort so it comes last.
    frame = frame.sort_values(["subject", "_scored", "_order"], kind="stable")
    latest = frame.drop_duplicates("subject", keep="last")
    return dict(zip(latest["subject"].astype(str), latest["period"]))


def one(results: Results, subject: str, period: str | None = None) -> dict[str, str]:
    """{subject: period} for one person, or a FeedbackError saying why not."""
    check_period(results, period)
    totals = results.totals
    own = totals[totals["subject"].astype(str) == subject]
    if own.empty:
        raise FeedbackError(
            f"no one with id {subject!r} was evaluated (not in the roster, or on no scorecard)"
        )
    if period is not None:
        if not (own["period"] == period).any():
            raise FeedbackError(
                f"{subject!r} was not evaluated in {period} (not employed then, or no "
                "scorecard applied)"
            )
        return {subject: period}
    return {subject: everyone(_only(results, own))[subject]}


def team(results: Results, manager: str, period: str | None = None) -> tuple[str, dict[str, str]]:
    """The manager's direct reports on a scorecard in `period` (default: the latest period
    in which any of them was): (period, {subject: period}), ordered by name, then id."""
    check_period(results, period)
    totals = results.totals
    reports = totals[totals["manager"].astype(str) == manager]
    if reports.empty:
        raise FeedbackError(f"no one evaluated reports to manager {manager!r}")
    if period is None:
        order = {p: i for i, p in enumerate(results.periods)}
        period = max(reports["period"], key=order.__getitem__)
    in_period = reports[reports["period"] == period]
    if in_period.empty:
        raise FeedbackError(f"no one evaluated in {period} reports to manager {manager!r}")
    people = in_period.drop_duplicates("subject").assign(
        _name=in_period["name"].fillna("").astype(str), _id=in_period["subject"].astype(str)
    )
    people = people.sort_values(["_name", "_id"], kind="stable")
    return period, dict.fromkeys(people["_id"], period)


def _only(results: Results, totals: pd.DataFrame) -> Results:
    """The results seen through one person's totals (for picking their period)."""
    view = Results(results.policy, periods=results.periods)
    view.totals = totals
    return view


def name_of(results: Results, key: str, roster: Mapping[str, str] | None = None) -> str | None:
    """The display name of a person: from the roster when given (a store manager may be on
    no scorecard), else from the results."""
    if roster and key in roster:
        return roster[key]
    totals = results.totals
    names = totals.loc[totals["subject"].astype(str) == key, "name"].dropna()
    return str(names.iloc[0]) if len(names) else None


def roster_names(policy: model.Policy, frames: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """roster key → display name for everyone in the roster frame (empty without a
    `display` column), so that managers and owners on no scorecard are named too."""
    roster = policy.roster
    display = roster.roles.get("display") if roster else None
    frame = frames.get(roster.name) if roster else None
    if display is None or frame is None or display not in frame or roster.key not in frame:
        return {}
    known = frame[[roster.key, display]].dropna()
    return dict(zip(known[roster.key].astype(str).tolist(), known[display].astype(str).tolist()))
