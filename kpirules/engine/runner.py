"""The runner interface: what executes a plan on data.

A runner gets the plan (never the model or the AST), the data, the calendar and the
periods to evaluate, and hands back the run's tables on the grid of subjects × periods;
`kpirules.results.Results` turns them into what people and programs read. The pandas
runner (`kpirules.engine.PandasRunner`, vectorised over every subject at once) is the
reference; explain's scalar runner (`kpirules.trace`) re-does one subject's arithmetic
from the same plan to show it; SQL runners fit behind the same `run`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

from kpirules.engine.expressions import Notes
from kpirules.periods import Calendar
from kpirules.plan.nodes import Plan


@dataclass
class Run:
    """A run's tables, indexed by (key, period) where they are per subject."""

    indicators: dict[str, pd.Series]  # indicator → value per (subject, period)
    notes: Notes
    goals: pd.DataFrame
    objectives: pd.DataFrame
    roster: pd.DataFrame  # the roster rows evaluated
    scores: list[pd.DataFrame] = field(default_factory=list)
    totals: list[pd.DataFrame] = field(default_factory=list)
    payouts: list[pd.DataFrame] = field(default_factory=list)
    actions: list[pd.DataFrame] = field(default_factory=list)


class Runner(Protocol):
    name: str

    def run(
        self,
        plan: Plan,
        frames: Mapping[str, pd.DataFrame],
        calendar: Calendar,
        periods: list[int],
        *,
        subjects: Collection[str] | None = None,
        rows: Mapping[str, pd.DataFrame] | None = None,
        goals: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> Run:
        """Evaluate `plan` over `periods` (ordinals of `calendar`): everyone in `frames`,
        or only `subjects` (from `rows`, their rows, when given) with their groups'
        goals; without `goals`, no goal or objective attainment."""
        ...


class RunnerUnavailable(RuntimeError):
    """A runner cannot start on this machine; the message says what to install."""
