"""Results → files: one wide CSV of people, or an Excel workbook for HR."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kpirules.results import Results


def people_frame(results: Results) -> pd.DataFrame:
    """One row per person, period and scorecard: total, rating, payout, action count,
    then each indicator's value and score side by side."""
    totals = results.totals.copy()
    keys = ["subject", "period", "scorecard"]
    if totals.empty:
        return totals
    if len(results.payouts):
        paid = results.payouts.groupby(keys, sort=False)["amount"].sum().rename("payout")
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


def write_csv(results: Results, path: Path | None) -> str | None:
    text = people_frame(results).to_csv(index=False, lineterminator="\n")
    if path is None:
        return text
    path.write_text(text, encoding="utf-8")
    return None


def write_xlsx(results: Results, path: Path) -> None:
    """A workbook: summary, people, scores, payouts, actions, goals, data quality."""
    summary = pd.DataFrame([{"measure": k, "value": str(v)} for k, v in results.summary().items()])
    sheets = {
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
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame = frame if frame is not None else pd.DataFrame()
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.freeze_panes = "A2"
            for column_cells in sheet.columns:
                width = max(
                    (len(str(c.value)) for c in column_cells if c.value is not None), default=8
                )
                sheet.column_dimensions[column_cells[0].column_letter].width = min(
                    max(width + 2, 8), 60
                )
