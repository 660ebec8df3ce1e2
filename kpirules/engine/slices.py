"""The rows a run over some subjects reads: theirs, not everyone's."""

from __future__ import annotations

import pandas as pd

from kpirules.plan.nodes import Plan


def rows_of(
    plan: Plan, frames: dict[str, pd.DataFrame], subjects: set[str]
) -> dict[str, pd.DataFrame]:
    """Each source's rows about these subjects (the roster's rows of them): everything
    their own numbers are computed from. Rows keep their `_row` numbers."""
    kept = {}
    for name, frame in frames.items():
        spec = next((source for source in plan.sources if source.name == name), None)
        column = spec.subject if spec else None
        if column is None or column not in frame:
            kept[name] = frame  # rows about no one in particular: every subject reads them
            continue
        kept[name] = frame[frame[column].isin(subjects).to_numpy()]
    return kept
