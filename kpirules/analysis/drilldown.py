"""Drill-down: which slices of a source (the values of one of its columns, e.g. each
market) drove an indicator's change between two periods.

For a single additive aggregate (sum, count) the indicator is the sum of its slices:
    ΔI = Σ_v ΔN_v
For a ratio of additive aggregates N / D (mean = sum / count included):
    ΔI = Σ_v (ΔN_v − I_base × ΔD_v) / D
which adds up exactly, since Σ_v (ΔN_v − I_base ΔD_v) / D = (N − N_base − I_base D +
I_base D_base) / D = N/D − I_base. Any other formula (count_distinct, min, max, nested
indicators, …) is shown slice by slice in both periods, marked as not adding up.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from kpirules import ast, model
from kpirules.analysis.formula import (
    Periods,
    Scope,
    Shape,
    at,
    evaluator_for,
    indicator_or_error,
    periods_of,
    scope_of,
    shape_of,
    unit_factor,
)
from kpirules.analysis.ratio import loaded_frames
from kpirules.analysis.scope import DECIMALS, AnalysisError
from kpirules.plan import aggregates_of
from kpirules.results import Results

DRILLDOWN_COLUMNS = [
    "scope",
    "key",
    "indicator",
    "dimension",
    "base",
    "period",
    "slice",
    "base_numerator",
    "period_numerator",
    "base_denominator",
    "period_denominator",
    "base_value",
    "value",
    "contribution",
    "share",
    "additive",
    "base_indicator",
    "period_indicator",
]
MAX_SLICES = 200  # a drill-down by customer id is a listing, not an analysis
MISSING_SLICE = "(missing)"


def drilldown(
    policy: model.Policy,
    data,
    results: Results,
    indicator: str,
    dimension: str,
    *,
    subject: str | None = None,
    department: str | None = None,
    period: str | None = None,
    base: str | None = None,
    as_of: date | None = None,
) -> pd.DataFrame:
    """One row per value of `dimension` ("source.column", a column the indicator's
    aggregates read) for a subject, a department (the formula over all its people's rows,
    like a goal) or everyone: the slice's numerator and denominator in `base` (default:
    the period before) and `period` (default: the latest), its own value, and — when the
    formula adds up over slices (`additive`) — its `contribution` to the change and its
    `share` of it. The contributions then add up to period_indicator − base_indicator.
    Rows where the column is empty form the slice "(missing)".
    """
    ind = indicator_or_error(policy, indicator)
    source, column = check_dimension(policy, indicator, dimension)
    frames = loaded_frames(policy, data, as_of)
    scope = scope_of(policy, frames, subject, department)
    periods = periods_of(results, period, base)
    shape = _sliceable(policy, shape_of(ind, policy), source)
    rows = frames[source]
    labels = rows[column].astype("string").fillna(MISSING_SLICE)
    slices = sorted(labels.unique())
    if len(slices) > MAX_SLICES:
        raise AnalysisError(
            f"{dimension} has {len(slices)} distinct values; a drill-down shows at most "
            f"{MAX_SLICES} slices (choose a coarser column)"
        )
    whole = _evaluate(policy, frames, scope, periods, ind, shape)
    parts = []
    for label in slices:  # one evaluation per slice, vectorised over the rows inside it
        sliced = {**frames, source: rows[(labels == label).to_numpy()]}
        parts.append({"slice": label, **_evaluate(policy, sliced, scope, periods, ind, shape)})
    # The columns are named even when there is no slice (an empty source): no rows.
    frame = pd.DataFrame(parts, columns=["slice", *whole])
    additive = shape is not None and shape.additive
    i_base, i_new = whole["base_value"], whole["value"]
    if additive:
        frame = _contributions(frame, shape, i_base, i_new)
    else:
        frame["contribution"] = np.nan
        frame["share"] = np.nan
    frame = frame.assign(
        scope=scope.kind,
        key=scope.key,
        indicator=indicator,
        dimension=f"{source}.{column}",
        base=periods.base,
        period=periods.period,
        additive=additive,
        base_indicator=i_base,
        period_indicator=i_new,
    )
    for name in DRILLDOWN_COLUMNS:
        if name not in frame.columns:
            frame[name] = np.nan
    order = frame["contribution"].abs().fillna(-1.0)
    frame = frame.assign(_size=-order).sort_values(["_size", "slice"], kind="stable")
    return frame[DRILLDOWN_COLUMNS].reset_index(drop=True)


def check_dimension(policy: model.Policy, name: str, dimension: str) -> tuple[str, str]:
    """(source, column) of `dimension`, or an AnalysisError saying what is wrong: an
    unknown indicator, source or column, or a source the indicator does not read."""
    indicator = indicator_or_error(policy, name)
    source, _, column = dimension.partition(".")
    if not column:
        raise AnalysisError(f"{dimension!r}: name the column as source.column (e.g. orders.market)")
    if source not in policy.sources:
        known = ", ".join(sorted(policy.sources))
        raise AnalysisError(f"no source called {source!r}; sources: {known}")
    spec = policy.sources[source]
    if column not in spec.columns:
        known = ", ".join(spec.columns)
        raise AnalysisError(f"source {source!r} has no column {column!r}; columns: {known}")
    read = _sources_read(policy, indicator)
    if source not in read:
        raise AnalysisError(
            f"indicator {indicator.name} does not read source {source!r} "
            f"(it reads {', '.join(sorted(read)) or 'no source'})"
        )
    return source, column


def _sliceable(policy: model.Policy, shape: Shape | None, source: str) -> Shape | None:
    """The shape, marked not additive unless every aggregate in it reads the sliced
    source: a denominator over another source is the same in every slice, so the slices
    would not add up to it."""
    if shape is None or not shape.additive:
        return shape
    parts = [shape.numerator] + ([shape.denominator] if shape.denominator is not None else [])
    sources = {agg.source for part in parts for agg in aggregates_of(part, policy)}
    return shape if sources == {source} else Shape(shape.numerator, shape.denominator, False)


def _sources_read(policy: model.Policy, indicator: model.Indicator) -> set[str]:
    read, stack, seen = set(), [indicator.name], set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        read |= set(policy.indicators[name].sources)
        stack.extend(policy.indicators[name].depends_on)
    return read


def _evaluate(
    policy: model.Policy,
    frames: dict[str, pd.DataFrame],
    scope: Scope,
    periods: Periods,
    indicator: model.Indicator,
    shape: Shape | None,
) -> dict[str, float]:
    """Numerator, denominator and value in both periods, on these frames."""
    evaluator = evaluator_for(policy, frames, scope, periods)
    factor = unit_factor(indicator)
    out: dict[str, float] = {}
    if shape is not None and shape.additive:
        n_base, n_new = (v / factor for v in at(evaluator, shape.numerator, periods))
        out |= {"base_numerator": n_base, "period_numerator": n_new}
        if shape.denominator is None:
            return out | {"base_value": n_base, "value": n_new}
        d_base, d_new = at(evaluator, shape.denominator, periods)
        out |= {"base_denominator": d_base, "period_denominator": d_new}
        with np.errstate(divide="ignore", invalid="ignore"):
            return out | {
                "base_value": n_base / d_base if d_base else np.nan,
                "value": n_new / d_new if d_new else np.nan,
            }
    name = evaluator.policy.note_dim(ast.Name(indicator.name), indicator.dim)
    base_value, value = at(evaluator, name, periods)
    return {"base_value": base_value, "value": value}


def _contributions(frame: pd.DataFrame, shape: Shape, i_base: float, i_new: float):
    """Each slice's exact part of the change. A slice with no rows in a period counts 0
    there (its aggregate is missing, but it adds nothing to the whole)."""
    n_base = frame["base_numerator"].fillna(0.0)
    n_new = frame["period_numerator"].fillna(0.0)
    if shape.denominator is None:
        contribution = n_new - n_base
    else:
        d_base = frame["base_denominator"].fillna(0.0)
        d_new = frame["period_denominator"].fillna(0.0)
        whole_d = d_new.sum()
        contribution = ((n_new - n_base) - i_base * (d_new - d_base)) / whole_d
    change = i_new - i_base
    if np.isnan(change):
        contribution = contribution * np.nan
    frame["contribution"] = contribution
    frame["share"] = (contribution / change).round(DECIMALS) if change else np.nan
    return frame
