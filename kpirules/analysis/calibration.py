"""Calibration: the rating distribution of each group against the rating scale's
guidance, and a 9-box grid of people placed by two scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kpirules.analysis.scope import AnalysisError, check_scope, in_scope, pick_period
from kpirules.results import Results, guidance, outside_guidance

CALIBRATION_COLUMNS = [
    "period",
    "by",
    "group",
    "scorecard",
    "rating",
    "count",
    "group_size",
    "share",
    "guidance",
    "outside_guidance",
]
GROUPINGS = ("department", "manager", "role")
NO_GROUP = "(none)"

# The scoring curves give 50 at threshold, 100 at target and 150 at stretch: the default
# cuts fall halfway between, so "middle" is around target and "high" nearer stretch.
DEFAULT_CUTS = (75.0, 125.0)
BANDS = ("low", "middle", "high")
NINE_BOX_COLUMNS = [
    "subject",
    "name",
    "department",
    "scorecard",
    "period",
    "x",
    "y",
    "x_band",
    "y_band",
    "box",
]
BOX_COUNT_COLUMNS = ["scorecard", "box", "y_band", "x_band", "count", "share"]


def calibration(
    results: Results,
    *,
    by: str = "department",
    period: str | None = None,
    department: str | None = None,
) -> pd.DataFrame:
    """Per group (department, manager or role), scorecard and rating in `period`
    (default: the latest): how many people got the rating, their share of the group, the
    rating scale's guidance and whether the share is outside it. Every level of the scale
    is listed, also with a count of 0. People without a total are not rated and not
    counted."""
    if by not in GROUPINGS:
        raise AnalysisError(f"cannot group by {by!r}; choose one of {', '.join(GROUPINGS)}")
    period = pick_period(results, period)
    check_scope(results, None, department)
    totals = results.totals[results.totals["period"] == period].dropna(subset=["rating"])
    totals = in_scope(totals, None, department)
    totals = totals.assign(group=totals[by].astype("string").fillna(NO_GROUP))
    counts = totals.groupby(["scorecard", "group", "rating"]).size().rename("count")
    sizes = totals.groupby(["scorecard", "group"]).size().rename("group_size")
    frame = _every_level(results, sizes).join(counts, on=["scorecard", "group", "rating"])
    frame["count"] = frame["count"].fillna(0).astype("int64")
    frame = frame.join(sizes, on=["scorecard", "group"])
    frame["share"] = (frame["count"] / frame["group_size"]).round(6)
    frame = frame.merge(guidance(results.policy), on=["scorecard", "rating"], how="left")
    share = frame["count"] / frame["group_size"]
    frame["outside_guidance"] = outside_guidance(share, frame["bound"], frame["limit"])
    frame = frame.assign(period=period, by=by)
    frame = frame.sort_values(["scorecard", "group", "_level"], kind="stable")
    return frame[CALIBRATION_COLUMNS].reset_index(drop=True)


def _every_level(results: Results, sizes: pd.Series) -> pd.DataFrame:
    """(scorecard, group, rating) for every level of each scorecard's rating scale."""
    levels = []
    for card in sizes.index.get_level_values("scorecard").unique():
        rating = results.policy.ratings.get(results.policy.scorecards[card].rating)
        labels = rating.labels if rating else ()
        levels += [
            {"scorecard": card, "rating": label, "_level": i} for i, label in enumerate(labels)
        ]
    levels = pd.DataFrame(levels, columns=["scorecard", "rating", "_level"])
    groups = sizes.reset_index()[["scorecard", "group"]]
    return groups.merge(levels, on="scorecard")


@dataclass(frozen=True)
class NineBox:
    """People placed on a 3×3 grid: `people` one row each, `counts` all nine boxes of
    each scorecard. Box 1 is low on both scores, 9 high on both; box = 3·y + x + 1 with
    low = 0, middle = 1, high = 2."""

    x: str
    y: str
    cuts: tuple[float, float]
    people: pd.DataFrame
    counts: pd.DataFrame


def nine_box(
    results: Results,
    x: str = "total",
    y: str = "total",
    *,
    period: str | None = None,
    cuts: tuple[float, float] = DEFAULT_CUTS,
    department: str | None = None,
) -> NineBox:
    """Place each person (per scorecard) by two scores in `period` (default: the
    latest): `total` or an indicator's score. A score below cuts[0] is low, from cuts[0]
    to below cuts[1] middle, from cuts[1] high. People missing either score are left
    out."""
    low, high = (float(c) for c in cuts)
    if not low < high:
        raise AnalysisError(f"the cuts must rise: {low:g} is not below {high:g}")
    period = pick_period(results, period)
    check_scope(results, None, department)
    totals = results.totals[results.totals["period"] == period]
    totals = in_scope(totals, None, department)
    frame = totals[["subject", "name", "department", "scorecard", "period"]]
    frame = frame.merge(_score(results, x, period), on=["subject", "scorecard"])
    frame = frame.merge(
        _score(results, y, period), on=["subject", "scorecard"], suffixes=("_x", "_y")
    )
    frame = frame.rename(columns={"score_x": "x", "score_y": "y"}).dropna(subset=["x", "y"])
    x_band = np.digitize(frame["x"].to_numpy("float64"), [low, high])
    y_band = np.digitize(frame["y"].to_numpy("float64"), [low, high])
    frame = frame.assign(
        x_band=np.array(BANDS, dtype=object)[x_band],
        y_band=np.array(BANDS, dtype=object)[y_band],
        box=3 * y_band + x_band + 1,
    )
    people = frame.sort_values(["scorecard", "box", "subject"], kind="stable")
    return NineBox(
        x, y, (low, high), people[NINE_BOX_COLUMNS].reset_index(drop=True), _box_counts(people)
    )


def _score(results: Results, name: str, period: str) -> pd.DataFrame:
    if name == "total":
        frame = results.totals[results.totals["period"] == period]
        return frame[["subject", "scorecard", "total"]].rename(columns={"total": "score"})
    scores = results.scores
    if not (scores["indicator"] == name).any():
        carried = sorted(scores["indicator"].unique())
        raise AnalysisError(
            f"{name!r} is not on any scorecard; choose total or one of {', '.join(carried)}"
        )
    frame = scores[(scores["period"] == period) & (scores["indicator"] == name)]
    return frame[["subject", "scorecard", "score"]]


def _box_counts(people: pd.DataFrame) -> pd.DataFrame:
    cards = sorted(people["scorecard"].unique())
    grid = pd.DataFrame(
        [
            {"scorecard": card, "box": 3 * yi + xi + 1, "y_band": BANDS[yi], "x_band": BANDS[xi]}
            for card in cards
            for yi in range(3)
            for xi in range(3)
        ],
        columns=["scorecard", "box", "y_band", "x_band"],
    )
    counts = people.groupby(["scorecard", "box"]).size().rename("count")
    grid = grid.join(counts, on=["scorecard", "box"])
    grid["count"] = grid["count"].fillna(0).astype("int64")
    grid["share"] = (grid["count"] / grid.groupby("scorecard")["count"].transform("sum")).round(6)
    return grid[BOX_COUNT_COLUMNS]
