"""Indicator values → scores → weighted totals → limits, vectorised over the grid, from
the plan's scorecard entries."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpirules import rules
from kpirules.plan import nodes


def curve_score(values: pd.Series, curve: nodes.Curve) -> pd.Series:
    """The curve's score of every value (the rule itself: `rules.curve_score`)."""
    scores = rules.curve_score(
        values.to_numpy(dtype="float64"), curve.xs, curve.ys, curve.otherwise, curve.better
    )
    return pd.Series(scores, index=values.index)


def band_masks(values: pd.Series, bands: tuple[nodes.Band, ...]) -> list[np.ndarray]:
    v = values.to_numpy(dtype="float64")
    return [rules.in_band(b.kind, b.low, b.high, v) & ~np.isnan(v) for b in bands]


def bands_score(values: pd.Series, scoring: nodes.Bands) -> tuple[pd.Series, int]:
    """The first matching band's score (the checker guarantees `unique` bands do not
    overlap). Returns the scores and how many present values matched no band."""
    masks = band_masks(values, scoring.bands)
    scores = np.select(masks, [b.constant for b in scoring.bands], default=np.nan)
    unmatched = int((values.notna().to_numpy() & ~np.any(masks, axis=0)).sum()) if masks else 0
    return pd.Series(scores, index=values.index), unmatched


def entry_score(values: pd.Series, entry: nodes.Entry):
    """Score of one scorecard entry; returns (scores, unmatched band count)."""
    unmatched = 0
    if isinstance(entry.scoring, nodes.Curve):
        scores = curve_score(values, entry.scoring)
    elif isinstance(entry.scoring, nodes.Bands):
        scores, unmatched = bands_score(values, entry.scoring)
    else:  # an indicator whose unit is `score`
        scores = values.astype("float64")
    if entry.floor is not None or entry.cap is not None:
        scores = scores.clip(lower=entry.floor, upper=entry.cap)
    return scores, unmatched


def weighted_total(
    scores: pd.DataFrame, card: nodes.Scorecard
) -> tuple[pd.Series, pd.Series, pd.DataFrame, pd.DataFrame]:
    """Weighted total per row of `scores` (one column per indicator).

    Returns the total, a status per row, the effective weights used (after reweighting)
    so each indicator's contribution can be shown, and the scores with `when missing =>
    score N` filled in.
    """
    weights = pd.Series({e.indicator: e.weight for e in card.entries})
    filled = scores.copy()
    for entry in card.entries:
        if entry.missing.action == nodes.WhenMissing.SCORE:
            filled[entry.indicator] = filled[entry.indicator].fillna(entry.missing.score)
    present = filled.notna()
    hard_fail = pd.Series(False, index=scores.index)
    for entry in card.entries:
        if entry.missing.action == nodes.WhenMissing.FAIL:
            hard_fail |= ~present[entry.indicator]
    effective = present.mul(weights, axis=1)
    share = effective.sum(axis=1)
    # Reweighting scales the weights of the indicators present back to 100%.
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = effective.div(share.where(share > 0), axis=0)
    total = (filled.fillna(0.0) * effective).sum(axis=1)
    # Reweighting needs something to weigh: with no indicator at all, an entry's own
    # `score N` fill does not make a total on its own.
    reweights = card.missing.action == nodes.WhenMissing.REWEIGHT
    nothing = scores.isna().all(axis=1) if reweights else False
    total = total.where(~hard_fail & (share > 0) & ~nothing)
    status = pd.Series("complete", index=scores.index, dtype=object)
    status[(present.sum(axis=1) < len(card.entries)) & total.notna()] = "reweighted"
    status[total.isna()] = "incomplete"
    for entry in card.entries:
        if entry.missing.action == nodes.WhenMissing.SCORE:
            status[~scores[entry.indicator].notna() & total.notna() & (status == "complete")] = (
                "filled"
            )
    return total, status, effective.where(total.notna(), axis=0), filled


def apply_limits(total: pd.Series, card: nodes.Scorecard) -> pd.Series:
    if card.floor is not None or card.cap is not None:
        total = total.clip(lower=card.floor, upper=card.cap)
    return total
