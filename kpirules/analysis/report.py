"""The analysis report behind `kpirules analyze`: every analysis for one scope (a
subject, a department or everyone), as named sections of DataFrames.

A subject's sections hold their own rows. A department or everyone is summarised — per
indicator medians and shares, the biggest movers — so that the report stays readable at
100,000 people; the full frames are one function call away in the Python API."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kpirules import model
from kpirules.analysis.calibration import DEFAULT_CUTS, NO_GROUP, calibration, nine_box
from kpirules.analysis.compare import comparison
from kpirules.analysis.drilldown import check_dimension, drilldown
from kpirules.analysis.formula import shape_of
from kpirules.analysis.ratio import ratio_split
from kpirules.analysis.rootcause import decompose
from kpirules.analysis.scope import AnalysisError, pick_base, pick_period
from kpirules.analysis.trend import score_trends, trends
from kpirules.results import Results

MOVERS = 5  # biggest rises and falls of the total listed for a group


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    frame: pd.DataFrame
    note: str | None = None


@dataclass(frozen=True)
class Request:
    """What `kpirules analyze` was asked for."""

    subject: str | None = None
    department: str | None = None
    period: str | None = None
    base: str | None = None
    drill: str | None = None
    by: str | None = None
    calibrate_by: str = "department"
    nine_box: tuple[str, str] | None = None
    cuts: tuple[float, float] = DEFAULT_CUTS


@dataclass(frozen=True)
class Report:
    policy: str
    scope: str  # subject | department | everyone
    key: str | None
    period: str
    base: str | None
    sections: list[Section] = field(default_factory=list)


def build_report(policy: model.Policy, loaded, results: Results, request: Request) -> Report:
    """Every section asked for. `loaded`: the data as loaded for the evaluation (the
    ratio split and drill-down evaluate pieces of formulas on it)."""
    period = pick_period(results, request.period)
    base = (
        pick_base(results, period, request.base) if request.base else _default_base(results, period)
    )
    if request.drill:  # a mistyped name fails before any work is done
        check_dimension(policy, request.drill, request.by or "")
    who = {"subject": request.subject, "department": request.department}
    scope = "subject" if request.subject else "department" if request.department else "everyone"
    sections = _comparison(results, who, period, scope)
    sections += _trend(results, who, scope)
    if base is None:
        sections.append(
            Section("root_cause", "Root cause", pd.DataFrame(), f"{period} is the first period")
        )
    else:
        sections += _root_cause(policy, loaded, results, who, period, base, scope)
    if request.drill:
        frame = drilldown(
            policy, loaded, results, request.drill, request.by, period=period, base=base, **who
        )
        note = None if frame["additive"].all() else _NOT_ADDITIVE
        title = f"Drill-down: {request.drill} by {request.by}"
        sections.append(Section("drilldown", title, frame, note))
    frame = calibration(
        results, by=request.calibrate_by, period=period, department=request.department
    )
    if request.subject is not None:  # the person's own group
        frame = frame[
            frame["group"].isin(_groups_of(results, request.subject, request.calibrate_by))
        ]
    sections.append(Section("calibration", f"Calibration by {request.calibrate_by}", frame))
    if request.nine_box:
        sections += _nine_box(results, request, period)
    return Report(policy.name, scope, request.subject or request.department, period, base, sections)


_NOT_ADDITIVE = (
    "this formula does not add up over slices (not a sum, count, mean or ratio of sums "
    "and counts): each slice's own value is shown, without a contribution"
)


def _groups_of(results: Results, subject: str, by: str) -> set[str]:
    mine = results.totals[results.totals["subject"] == subject]
    return set(mine[by].astype("string").fillna(NO_GROUP))


def _default_base(results: Results, period: str) -> str | None:
    try:
        return pick_base(results, period, None)
    except AnalysisError:
        return None


def _comparison(results: Results, who: dict, period: str, scope: str) -> list[Section]:
    frame = comparison(results, period=period, **who)
    if scope == "subject":
        return [Section("comparison", "Comparison", frame)]
    return [Section("comparison", "Comparison (per indicator)", _comparison_summary(frame))]


def _comparison_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per scorecard and indicator: how many have a value, their median against the
    target and against everyone on the scorecard, and the shares meeting target and
    improving."""
    cells = ["scorecard", "indicator"]
    grouped = frame.groupby(cells, sort=True)
    summary = grouped.agg(
        label=("label", "first"),
        unit=("unit", "first"),
        better=("better", "first"),
        people=("value", "count"),
        median=("value", "median"),
        target=("target", "first"),
        peer_median=("peer_median", "first"),
        median_delta=("delta", "median"),
        benchmark_value=("benchmark_value", "first"),
    )
    summary["meets_target_share"] = grouped["meets_target"].agg(_share)
    summary["improved_share"] = grouped["improved"].agg(_share)
    return summary.reset_index()


def _share(flags: pd.Series) -> float:
    known = flags.dropna()
    return round(float(known.astype(bool).mean()), 6) if len(known) else float("nan")


def _trend(results: Results, who: dict, scope: str) -> list[Section]:
    indicators = trends(results, **who)
    totals = score_trends(results, **who)
    if scope == "subject":
        return [
            Section("trend", "Trend", indicators),
            Section("score_trend", "Trend of the total", totals),
        ]
    counts = pd.crosstab(
        [indicators["scorecard"], indicators["indicator"]], indicators["direction"]
    ).reindex(columns=["improving", "declining", "flat", "n/a"], fill_value=0)
    slopes = indicators.groupby(["scorecard", "indicator"])["slope"].median().rename("median_slope")
    summary = counts.join(slopes).reset_index()
    summary.columns.name = None
    cards = pd.crosstab(totals["scorecard"], totals["direction"]).reindex(
        columns=["improving", "declining", "flat", "n/a"], fill_value=0
    )
    cards = cards.join(totals.groupby("scorecard")["slope"].median().rename("median_slope"))
    cards = cards.reset_index().assign(indicator="total")
    cards.columns.name = None
    summary = pd.concat([summary, cards[summary.columns]], ignore_index=True)
    return [Section("trend", "Trend (people per direction)", summary)]


def _root_cause(
    policy: model.Policy,
    loaded,
    results: Results,
    who: dict,
    period: str,
    base: str,
    scope: str,
) -> list[Section]:
    title = f"Root cause: {base} → {period}"
    try:
        lines = decompose(results, period=period, base=base, **who)
    except AnalysisError as exc:
        return [Section("root_cause", title, pd.DataFrame(), str(exc))]
    sections = [Section("root_cause", title, lines)]
    if scope != "subject":
        sections.append(
            Section("movers", "Biggest changes of the total", _movers(results, who, period, base))
        )
    ratios = [
        name
        for name in sorted(set(lines["indicator"].dropna()))
        if (shape := shape_of(policy.indicators[name], policy)) is not None
        and shape.denominator is not None
    ]
    if ratios:
        frame = pd.concat(
            [
                ratio_split(policy, loaded, results, name, period=period, base=base, **who)
                for name in ratios
            ],
            ignore_index=True,
        )
        note = (
            None
            if scope == "subject"
            else "the ratio of the group's sums, like a goal owned by it (not a mean of ratios)"
        )
        title = "Ratio indicators: numerator or denominator?"
        sections.append(Section("ratio_split", title, frame, note))
    return sections


def _movers(results: Results, who: dict, period: str, base: str) -> pd.DataFrame:
    """The people whose total rose or fell the most (per scorecard)."""
    totals = results.totals
    if who["department"] is not None:
        totals = totals[totals["department"] == who["department"]]
    keys = ["subject", "name", "department", "scorecard"]
    before = totals[totals["period"] == base].set_index(keys)["total"].rename("base_total")
    after = totals[totals["period"] == period].set_index(keys)["total"].rename("total")
    frame = pd.concat([before, after], axis=1, join="inner").dropna().reset_index()
    frame["change"] = frame["total"] - frame["base_total"]
    frame = frame.sort_values(["change", "subject"], ascending=[False, True], kind="stable")
    rises = frame[frame["change"] > 0].head(MOVERS).assign(movement="rise")
    falls = frame[frame["change"] < 0].sort_values(["change", "subject"], kind="stable")
    falls = falls.head(MOVERS).assign(movement="fall")
    return pd.concat([rises, falls], ignore_index=True)


def _nine_box(results: Results, request: Request, period: str) -> list[Section]:
    x, y = request.nine_box
    grid = nine_box(results, x, y, period=period, cuts=request.cuts, department=request.department)
    low, high = grid.cuts
    note = f"x = {x}, y = {y}; low below {low:g}, middle {low:g} to {high:g}, high from {high:g}"
    sections = [Section("nine_box", f"9-box: {y} (y) by {x} (x)", grid.counts, note)]
    people = grid.people
    if request.subject is not None:
        people = people[people["subject"] == request.subject]
    if request.subject is not None or request.department is not None:
        sections.append(Section("nine_box_people", "9-box: people", people))
    return sections
