"""Results → files: one wide CSV of people, or an Excel workbook for HR."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from kpirules.results import Results, reported_floats

if TYPE_CHECKING:
    from kpirules.xlsx import Column


def people_frame(results: Results) -> pd.DataFrame:
    """One row per person, period and scorecard: total, rating, payout, action count,
    then each indicator's value and score side by side."""
    totals = results.totals.copy()
    keys = ["subject", "period", "scorecard"]
    if totals.empty:
        return totals
    if len(results.payouts):
        # A payout that came out missing (a division by zero in `pay`) leaves the
        # person's payout missing, not 0.
        payouts = results.payouts
        amounts = payouts.groupby(keys, sort=False)["amount"]
        missing = payouts["amount"].isna().groupby([payouts[k] for k in keys], sort=False).any()
        paid = amounts.sum().where(~missing).rename("payout")  # grouped, not per group
        totals = totals.merge(paid, left_on=keys, right_index=True, how="left")
    else:
        totals["payout"] = 0.0
    if len(results.actions):
        counted = results.actions.groupby(keys, sort=False).size().rename("actions")
        totals = totals.merge(counted, left_on=keys, right_index=True, how="left")
        totals["actions"] = totals["actions"].fillna(0).astype("int64")
    else:
        totals["actions"] = 0
    if len(results.scores):
        wide = results.scores.pivot_table(
            index=keys,
            columns="indicator",
            values=["value", "score"],
            aggfunc="first",
            dropna=False,
        )
        wide.columns = [f"{indicator} {what}" for what, indicator in wide.columns]
        ordered = sorted(wide.columns, key=lambda c: (c.rsplit(" ", 1)[0], c.endswith("score")))
        totals = totals.merge(wide[ordered], left_on=keys, right_index=True, how="left")
    return totals.sort_values(keys, kind="stable").reset_index(drop=True)


# A text cell starting with one of these is read by spreadsheets as a formula
# (`=HYPERLINK(…)`, `@SUM(…)`, `-2+3`, a leading tab or CR): OWASP's CSV injection.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def formula_safe(value: object) -> object:
    """A text cell that would start a formula, prefixed with a single quote (OWASP): a
    spreadsheet then shows it as the text it is. Numbers — and text that is just a number,
    like `-3.5` — are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(results: Results, path: Path | None) -> str | None:
    frame = people_frame(results)
    for column in frame.select_dtypes(include=["object", "string"]).columns:
        frame[column] = frame[column].map(formula_safe, na_action="ignore")
    text = frame.to_csv(index=False, lineterminator="\n")
    if path is None:
        return text
    path.write_text(text, encoding="utf-8")
    return None


def write_xlsx(results: Results, path: Path) -> None:
    """A workbook: summary, people, scores, payouts, actions, goals, data quality; each
    sheet one table with a bold, frozen, filterable header and widths from the content."""
    from kpirules.xlsx import Sheet, Table, write_workbook  # XlsxWriter only when needed

    summary = pd.DataFrame([{"measure": k, "value": str(v)} for k, v in results.summary().items()])
    frames = {
        "Summary": summary,
        "Distribution": results.distribution(),
        "People": people_frame(results),
        "Scores": results.scores,
        "Payouts": results.payouts,
        "Actions": results.actions,
        "Goals": results.goals,
        "Objectives": results.objectives,
        "Data quality": results.quality,
        "Row accounting": results.accounting,
        "Notes": results.notes,
    }
    sheets = [
        Sheet(name, Table(_columns(frame if frame is not None else pd.DataFrame())))
        for name, frame in frames.items()
    ]
    write_workbook(path, sheets, title=f"KPI results: {results.policy.name}")


def _columns(frame: pd.DataFrame) -> tuple[Column, ...]:
    """A frame's columns as they are, typed: numbers as numbers, dates as dates."""
    from kpirules.xlsx import Column, Style

    columns = []
    for number, header in enumerate(frame.columns):
        values = _typed(frame.iloc[:, number]).reset_index(drop=True)
        style = Style()
        if pd.api.types.is_datetime64_any_dtype(values):
            times = values.dropna()
            whole_days = bool((times == times.dt.normalize()).all())
            style = Style(number_format="yyyy-mm-dd" if whole_days else "yyyy-mm-dd hh:mm:ss")
        columns.append(Column(str(header), values, style))
    return tuple(columns)


def _typed(values: pd.Series) -> pd.Series:
    """An object column holding only numbers, booleans or dates, as that type (the
    writer writes other object columns as text)."""
    if values.dtype != object:
        return values
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return pd.to_numeric(values, errors="coerce")
    if kind == "boolean":
        return values.astype("boolean")
    if kind in ("date", "datetime", "datetime64"):
        return pd.to_datetime(values, errors="coerce")
    return values


def write_parquet(results: Results, folder: Path) -> list[Path]:
    """One Parquet file per result table, for analysts and warehouses, plus `run.json`
    (policy, periods, summary). Numbers are the JSON's: rounded to 9 decimal places,
    missing as null. Columnar all the way: no Python object per row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kpirules.text import to_json

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in results.tables().items():  # named as the JSON's sections
        frame = frame if frame is not None else pd.DataFrame()
        frame = frame.reset_index(drop=True).copy()
        for column in frame.columns:
            values = frame[column]
            if pd.api.types.is_float_dtype(values):  # as the JSON reports them
                frame[column] = reported_floats(values)
        path = folder / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        written.append(path)
    run = folder / "run.json"
    run.write_text(to_json(results.header(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return [*written, run]
