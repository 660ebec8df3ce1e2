"""What every analysis shares: the period and scope asked for, checked against the
results, and the direction in which an indicator gets better."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpirules.results import Results

DECIMALS = 9  # the engine rounds scores here; changes below it are noise, not movement


class AnalysisError(ValueError):
    """An analysis cannot be done as asked (unknown subject, period, indicator, …)."""


def pick_period(results: Results, period: str | None) -> str:
    """`period`, checked; default: the latest period of the results."""
    if not results.periods:
        raise AnalysisError("the results hold no period (was the run blocked by data errors?)")
    if period is None:
        return results.periods[-1]
    if period not in results.periods:
        # Labels of one cadence sort in time order: only an earlier period can be one
        # the evaluation left out for want of `history=True`.
        hint = "; evaluate with history=True to keep earlier periods"
        raise AnalysisError(
            f"period {period!r} is not in the results ({_span(results.periods)})"
            + (hint if period < results.periods[0] else "")
        )
    return period


def period_before(results: Results, period: str) -> str | None:
    """The reported period before `period`, or None for the first one."""
    position = results.periods.index(period)
    return results.periods[position - 1] if position > 0 else None


def pick_base(results: Results, period: str, base: str | None) -> str:
    """The period a change is measured from: `base`, or the period before `period`."""
    if base is None:
        base = period_before(results, period)
        if base is None:
            raise AnalysisError(
                f"{period} is the first period in the results: there is nothing to compare "
                "it with (evaluate with history=True, or pass a later period)"
            )
        return base
    base = pick_period(results, base)
    if base == period:
        raise AnalysisError(f"the base period and the period are both {period}")
    return base


def check_scope(results: Results, subject: str | None, department: str | None) -> None:
    """Refuse both filters at once, and a subject or department the results do not have."""
    if subject is not None and department is not None:
        raise AnalysisError("choose a subject or a department, not both")
    totals = results.totals
    if subject is not None and not (totals["subject"] == subject).any():
        raise AnalysisError(
            f"{subject!r} is in no scorecard of the results (not in the roster, "
            "or no scorecard applies to them)"
        )
    if department is not None and not (totals["department"] == department).any():
        known = sorted(totals["department"].dropna().astype(str).unique())
        raise AnalysisError(
            f"no one evaluated in department {department!r}; departments: {', '.join(known)}"
        )


def in_scope(frame: pd.DataFrame, subject: str | None, department: str | None) -> pd.DataFrame:
    """The rows of one subject or one department (all rows when neither is given)."""
    if subject is not None:
        return frame[frame["subject"] == subject]
    if department is not None:
        return frame[frame["department"] == department]
    return frame


def roster_columns(results: Results) -> pd.DataFrame:
    """subject → name, department, role, manager (one row per subject)."""
    columns = ["subject", "name", "department", "role", "manager"]
    return results.totals[columns].drop_duplicates("subject").reset_index(drop=True)


def oriented(values: np.ndarray, better: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Values turned so that larger is always better: as is for `higher`, negated for
    `lower`, minus the distance to the target for `closer` (NaN without a target)."""
    values = np.asarray(values, dtype="float64")
    target = np.asarray(target, dtype="float64")
    out = np.where(better == "lower", -values, values)
    return np.where(better == "closer", -np.abs(values - target), out)


def _span(periods: list[str]) -> str:
    return f"{periods[0]} to {periods[-1]}" if len(periods) > 1 else periods[0]
