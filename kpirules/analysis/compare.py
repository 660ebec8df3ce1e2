"""Comparison: each indicator against its target, the period before, its peers and the
benchmark the policy compares it with."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpirules.analysis.entries import entry_table
from kpirules.analysis.scope import (
    DECIMALS,
    check_scope,
    in_scope,
    oriented,
    period_before,
    pick_period,
    roster_columns,
)
from kpirules.results import Results

COMPARISON_COLUMNS = [
    "subject",
    "name",
    "department",
    "role",
    "manager",
    "scorecard",
    "period",
    "indicator",
    "label",
    "unit",
    "better",
    "value",
    "score",
    "weight",
    "effective_weight",
    "contribution",
    "threshold",
    "target",
    "stretch",
    "target_gap",
    "meets_target",
    "previous",
    "delta",
    "improved",
    "peer_count",
    "peer_median",
    "percentile",
    "department_median",
    "department_percentile",
    "benchmark",
    "benchmark_value",
]

# `better closer` meets its target within 5% of the target's size (exactly, for a target
# of 0): a value exactly on target is rare in real data, and the curve peaks there.
CLOSER_TOLERANCE = 0.05


def comparison(
    results: Results,
    *,
    subject: str | None = None,
    department: str | None = None,
    period: str | None = None,
) -> pd.DataFrame:
    """One row per (subject, scorecard, indicator) in `period` (default: the latest period
    of the results), for one subject, one department or everyone.

    Peers are the people on the same scorecard in the same period, always taken from the
    whole population before the subject or department filter. `previous` and `delta` need
    the period before in the results: evaluate with `history=True` (or no period) so that
    earlier periods are reported. Columns: `COMPARISON_COLUMNS`; see docs/analysis.md.
    """
    period = pick_period(results, period)
    check_scope(results, subject, department)
    scores = results.scores[results.scores["period"] == period]
    frame = scores.merge(roster_columns(results), on="subject", how="left")
    frame = frame.merge(
        entry_table(results.policy), on=["scorecard", "indicator"], how="left", validate="m:1"
    )
    frame = _with_previous(frame, results, period)
    frame = _with_targets(frame)
    frame = _with_peers(frame)
    frame = in_scope(frame, subject, department)
    frame = frame.sort_values(["subject", "scorecard", "indicator"], kind="stable")
    return frame[COMPARISON_COLUMNS].reset_index(drop=True)


def _with_previous(frame: pd.DataFrame, results: Results, period: str) -> pd.DataFrame:
    """The indicator's value in the period before (NaN in the first period, or when the
    results do not hold it), the change, and whether the change is an improvement."""
    before = period_before(results, period)
    values = results.indicators
    previous = values[values["period"] == before][["subject", "indicator", "value"]]
    frame = frame.merge(
        previous.rename(columns={"value": "previous"}),
        on=["subject", "indicator"],
        how="left",
        validate="m:1",
    )
    frame["previous"] = frame["previous"].astype("float64")
    frame["delta"] = (frame["value"] - frame["previous"]).round(DECIMALS)
    better, target = frame["better"].to_numpy(), frame["target"].to_numpy()
    change = np.round(
        oriented(frame["value"], better, target) - oriented(frame["previous"], better, target),
        DECIMALS,
    )
    frame["improved"] = _flag(change > 0, np.isnan(change), frame.index)
    return frame


def _with_targets(frame: pd.DataFrame) -> pd.DataFrame:
    """Distance to the target and whether it is met, in the indicator's direction."""
    value, target = frame["value"].to_numpy("float64"), frame["target"].to_numpy("float64")
    gap = np.round(value - target, DECIMALS)
    frame["target_gap"] = gap
    better = frame["better"].to_numpy()
    tolerance = np.maximum(CLOSER_TOLERANCE * np.abs(target), 10.0**-DECIMALS)
    met = np.where(
        better == "higher",
        gap >= 0,
        np.where(better == "lower", gap <= 0, np.abs(gap) <= tolerance),
    )
    frame["meets_target"] = _flag(met, np.isnan(gap), frame.index)
    return frame


def _with_peers(frame: pd.DataFrame) -> pd.DataFrame:
    """Peer count, median and percentile rank on the scorecard; the median and percentile
    rank within the department. Everyone gets the peers' count and medians, also those
    without a value."""
    cells = ["scorecard", "indicator"]
    known = frame[frame["value"].notna()]
    peers = known.groupby(cells)["value"].agg(peer_count="count", peer_median="median")
    frame = frame.join(peers, on=cells)
    frame["peer_count"] = frame["peer_count"].fillna(0).astype("int64")
    # Rank by "how good": ties share the best place, so a person does at least as well as
    # every peer ranked at or below them; 100 = no peer does better.
    goodness = np.round(
        oriented(frame["value"], frame["better"].to_numpy(), frame["target"].to_numpy()),
        DECIMALS,
    )
    frame["_good"] = goodness
    frame["percentile"] = _percentile(frame, goodness, cells)
    departments = known.groupby([*cells, "department"])["value"].median()
    frame = frame.join(departments.rename("department_median"), on=[*cells, "department"])
    frame["department_percentile"] = _percentile(frame, goodness, [*cells, "department"])
    return frame.drop(columns="_good")


def _percentile(frame: pd.DataFrame, goodness: np.ndarray, group: list[str]) -> pd.Series:
    """The share of the group (people with a value) each person does at least as well as."""
    ranked = frame[~np.isnan(goodness)].groupby(group, sort=False)["_good"]
    rank = ranked.rank(method="max").reindex(frame.index)
    size = ranked.transform("count").reindex(frame.index)
    return (rank / size * 100).round(6)


def _flag(held: np.ndarray, unknown: np.ndarray, index: pd.Index) -> pd.Series:
    """A nullable boolean column: NA where the comparison cannot be made."""
    flags = pd.Series(held, index=index, dtype="boolean")
    return flags.mask(pd.Series(unknown, index=index), pd.NA)
