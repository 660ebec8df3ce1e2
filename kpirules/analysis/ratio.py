"""Ratio split: how much of a ratio indicator's change came from its numerator and how
much from its denominator.

    ΔI = (N − N_base) / D_base          numerator effect
       + N × (1/D − 1/D_base)           denominator effect

which adds up exactly: N/D_base − N_base/D_base + N/D − N/D_base = N/D − N_base/D_base.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from kpirules import model
from kpirules.analysis.formula import (
    at,
    evaluator_for,
    indicator_or_error,
    periods_of,
    scope_of,
    shape_of,
    unit_factor,
)
from kpirules.analysis.scope import AnalysisError
from kpirules.formatter import format_expr
from kpirules.results import Results

RATIO_COLUMNS = [
    "scope",
    "key",
    "indicator",
    "base",
    "period",
    "numerator",
    "denominator",
    "base_numerator",
    "base_denominator",
    "period_numerator",
    "period_denominator",
    "base_value",
    "value",
    "change",
    "numerator_effect",
    "denominator_effect",
]


def ratio_split(
    policy: model.Policy,
    data,
    results: Results,
    indicator: str,
    *,
    subject: str | None = None,
    department: str | None = None,
    period: str | None = None,
    base: str | None = None,
    as_of: date | None = None,
) -> pd.DataFrame:
    """One row: the indicator's numerator and denominator in `base` (default: the period
    before) and `period` (default: the latest), for a subject, a department (computed like
    a goal owned by the department: the formula over all its people's rows) or everyone,
    and the change split into numerator and denominator effects (in the indicator's unit).

    The indicator's formula must be `N / D` (any N and D) or `mean(x)` (read as
    `sum(x) / count(x)`). `data`: data loaded with `kpirules.data.load_data`, or anything
    it accepts. The results must hold both periods (evaluate with `history=True`).
    """
    ind = indicator_or_error(policy, indicator)
    shape = shape_of(ind, policy)
    if shape is None or shape.denominator is None:
        raise AnalysisError(
            f"indicator {indicator} is not a ratio (= {format_expr(ind.formula)}); "
            "a ratio split needs `N / D` or `mean(…)`"
        )
    frames = loaded_frames(policy, data, as_of)
    scope = scope_of(policy, frames, subject, department)
    periods = periods_of(results, period, base)
    evaluator = evaluator_for(policy, frames, scope, periods)
    factor = unit_factor(ind)
    n_base, n_new = (v / factor for v in at(evaluator, shape.numerator, periods))
    d_base, d_new = at(evaluator, shape.denominator, periods)
    with np.errstate(divide="ignore", invalid="ignore"):
        i_base, i_new = _divide(n_base, d_base), _divide(n_new, d_new)
        numerator_effect = (n_new - n_base) / d_base if d_base else np.nan
        denominator_effect = n_new * (1 / d_new - 1 / d_base) if d_base and d_new else np.nan
    row = {
        "scope": scope.kind,
        "key": scope.key,
        "indicator": indicator,
        "base": periods.base,
        "period": periods.period,
        "numerator": format_expr(shape.numerator),
        "denominator": format_expr(shape.denominator),
        "base_numerator": n_base,
        "base_denominator": d_base,
        "period_numerator": n_new,
        "period_denominator": d_new,
        "base_value": i_base,
        "value": i_new,
        "change": i_new - i_base,
        "numerator_effect": numerator_effect,
        "denominator_effect": denominator_effect,
    }
    return pd.DataFrame([row], columns=RATIO_COLUMNS)


def loaded_frames(policy: model.Policy, data, as_of: date | None) -> dict[str, pd.DataFrame]:
    """The typed frames of `data` (already loaded, or loaded here)."""
    from kpirules.data import LoadedData, load_data

    loaded = data if isinstance(data, LoadedData) else load_data(policy, data, as_of=as_of)
    if loaded.blocked:
        raise AnalysisError("data-quality errors stopped the run; see `kpirules eval`")
    return loaded.frames


def _divide(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else np.nan
