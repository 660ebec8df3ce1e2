"""The data layer: from a checked policy and its data to typed, checked frames.

    binding (data.yaml, a folder, or DataFrames) → readers (raw cells + row numbers)
        → quality (types, keys, subjects, ranges, freshness; every row accounted for)

`load_data` raises `DataError` when data cannot be read at all; problems *in* the data
are findings, and `LoadedData.blocked` says whether any of them stops the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pandas as pd

from kpirules import model
from kpirules.data.binding import DataError, FileSpec, resolve
from kpirules.data.quality import (
    ACCOUNTING_COLUMNS,
    CHECKS,
    DEFAULT_LEVELS,
    EXCLUSIONS,
    FINDING_COLUMNS,
    Finding,
    LoadedData,
    check_data,
)
from kpirules.data.readers import ROW, RawTable, empty_frame, from_frames, read_all
from kpirules.periods import calendar_of

__all__ = [
    "ACCOUNTING_COLUMNS",
    "CHECKS",
    "DEFAULT_LEVELS",
    "EXCLUSIONS",
    "FINDING_COLUMNS",
    "ROW",
    "DataError",
    "FileSpec",
    "Finding",
    "LoadedData",
    "RawTable",
    "calendar_of",
    "check_data",
    "empty_frame",
    "load_data",
    "read_tables",
]


def load_data(
    policy: model.Policy,
    data: str | Path | Mapping[str, pd.DataFrame],
    *,
    as_of: date | None = None,
    periods: list[int] | None = None,
) -> LoadedData:
    """Read and check the data of every source the policy declares.

    `data`: a binding YAML file, a folder (its data.yaml, else `<source>.csv|xlsx|parquet`),
    a mapping of source name → DataFrame, or a mapping of source name → resolved
    `FileSpec` (what a binding resolves to; run records keep it). `as_of` (default today)
    and `periods` (the period ordinals being evaluated) set the date freshness is judged
    at."""
    return check_data(
        policy, read_tables(policy, data), calendar_of(policy), as_of=as_of, periods=periods
    )


def read_tables(
    policy: model.Policy, data: str | Path | Mapping[str, pd.DataFrame]
) -> dict[str, RawTable]:
    """The raw tables, untyped: what `check_data` takes."""
    if isinstance(data, Mapping) and data and all(isinstance(v, FileSpec) for v in data.values()):
        return read_all(data)
    if isinstance(data, Mapping):
        return from_frames(data, policy)
    return read_all(resolve(data, policy))
