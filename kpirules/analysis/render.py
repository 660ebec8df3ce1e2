"""The analysis report for people (rich tables, Markdown) and for machines (JSON)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from kpirules.analysis.report import Report, Section
from kpirules.results import records
from kpirules.text import plain
from kpirules.text import to_json as json_text

SCHEMA_VERSION = 1

# The columns shown for each section, in order (JSON carries every column).
SHOWN = {
    "comparison": [
        "scorecard", "indicator", "value", "score", "target", "target_gap", "meets_target",
        "previous", "delta", "improved", "percentile", "peer_median", "department_median",
        "department_percentile", "benchmark_value",
    ],
    "comparison_summary": [
        "scorecard", "indicator", "people", "median", "target", "peer_median",
        "meets_target_share", "median_delta", "improved_share", "benchmark_value",
    ],
    "trend": [
        "scorecard", "indicator", "values", "slope", "direction", "streak",
    ],
    "trend_summary": [
        "scorecard", "indicator", "improving", "declining", "flat", "n/a", "median_slope",
    ],
    "score_trend": ["scorecard", "values", "slope", "direction", "streak"],
    "root_cause": [
        "scorecard", "line", "indicator", "people", "base_score", "score", "base_weight",
        "weight", "score_effect", "weight_effect", "change", "note",
    ],
    "movers": ["movement", "subject", "name", "department", "scorecard", "base_total", "total",
               "change"],
    "ratio_split": [
        "indicator", "base_numerator", "period_numerator", "base_denominator",
        "period_denominator", "base_value", "value", "numerator_effect", "denominator_effect",
    ],
    "drilldown": [
        "slice", "base_numerator", "period_numerator", "base_denominator",
        "period_denominator", "base_value", "value", "contribution", "share",
    ],
    "calibration": ["group", "scorecard", "rating", "count", "group_size", "share", "guidance",
                    "outside_guidance"],
    "nine_box": ["scorecard", "box", "y_band", "x_band", "count", "share"],
    "nine_box_people": ["subject", "name", "scorecard", "x", "y", "x_band", "y_band", "box"],
}  # fmt: skip
# Columns in the indicator's unit: shown as percentages for `unit percent`.
_IN_UNIT = {
    "value", "target", "target_gap", "previous", "delta", "peer_median", "department_median",
    "benchmark_value", "median", "median_delta", "base_value", "threshold", "stretch",
    "median_slope", "slope", "contribution",
}  # fmt: skip
_SHARES = {"share", "meets_target_share", "improved_share"}


# ------------------------------------------------------------------ JSON


def to_dict(report: Report) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "policy": report.policy,
        "scope": {"kind": report.scope, "key": report.key},
        "period": report.period,
        "base": report.base,
        "sections": [
            {
                "name": section.name,
                "title": section.title,
                "note": section.note,
                "columns": [str(c) for c in section.frame.columns],
                "rows": records(_json_ready(section.frame)),
            }
            for section in report.sections
        ],
    }


def to_json(report: Report) -> str:
    return json_text(to_dict(report), indent=2, allow_nan=False) + "\n"


def _json_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Sequences (a trend's values) as lists with null for missing; NA flags as None."""
    if "values" in frame.columns:
        frame = frame.assign(
            values=[
                [None if math.isnan(v) else round(v, 9) for v in row] for row in frame["values"]
            ]
        )
    return frame.astype(object).where(frame.notna(), None) if len(frame) else frame


# ------------------------------------------------------------------ tables


def print_report(report: Report, console: Console) -> None:
    console.print(f"[bold]{report.policy}[/] — {_heading(report)}")
    for section in report.sections:
        columns, rows = display(section)
        table = Table(title=section.title, title_justify="left", title_style="bold")
        for column in columns:
            table.add_column(column, justify="left" if column in _TEXT_HEADERS else "right")
        for row in rows:
            table.add_row(*(plain(cell) for cell in row))  # values are text, never markup
        if rows:
            console.print(table)
        else:
            console.print(f"[bold]{section.title}[/]: nothing to show")
        if section.note:
            console.print(f"[dim]{section.note}[/]")


def to_markdown(report: Report) -> str:
    lines = [f"# Analysis: {report.policy}", "", _heading(report), ""]
    for section in report.sections:
        lines += [f"## {section.title}", ""]
        columns, rows = display(section)
        if rows:
            lines.append("| " + " | ".join(columns) + " |")
            aligned = ("---" if c in _TEXT_HEADERS else "---:" for c in columns)
            lines.append("|" + "|".join(aligned) + "|")
            lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows]
        else:
            lines.append("Nothing to show.")
        if section.note:
            lines += ["", f"_{_md_cell(section.note)}_"]
        lines.append("")
    return "\n".join(lines)


def display(section: Section) -> tuple[list[str], list[list[str]]]:
    """The section's shown columns (as headers) and its cells as text."""
    frame = section.frame
    if frame.empty:
        return [], []
    if section.name == "calibration":
        return _calibration_grid(frame)
    if section.name == "nine_box":
        return _nine_box_grid(frame)
    key = section.name
    if key == "comparison" and "subject" not in frame.columns:
        key = "comparison_summary"
    if key == "trend" and "values" not in frame.columns:
        key = "trend_summary"
    columns = [c for c in SHOWN.get(key, list(frame.columns)) if c in frame.columns]
    units = frame["unit"] if "unit" in frame.columns else pd.Series("", index=frame.index)
    rows = []
    for index, row in frame[columns].iterrows():  # a report's rows: a few dozen at most
        rows.append([_cell(column, row[column], units.get(index, "")) for column in columns])
    return [HEADERS.get(c, c) for c in columns], rows


def _calibration_grid(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """One row per scorecard and group: count (share) per rating, and what is outside
    the guidance."""
    labels = list(dict.fromkeys(frame["rating"]))
    rows = []
    for (card, group), part in frame.groupby(["scorecard", "group"], sort=False):
        by_rating = part.set_index("rating")
        cells = []
        for label in labels:
            if label not in by_rating.index:
                cells.append("")
                continue
            entry = by_rating.loc[label]
            cells.append(f"{int(entry['count'])} ({entry['share'] * 100:.0f}%)")
        outside = part[part["outside_guidance"]]
        flags = "; ".join(
            f"{r.rating} {r.share * 100:.0f}% (guidance {r.guidance})"
            for r in outside.itertuples(index=False)
        )
        size = int(part["group_size"].iloc[0])
        rows.append([card, str(group), str(size), *cells, flags or "—"])
    return ["scorecard", frame["by"].iloc[0], "rated", *labels, "outside guidance"], rows


def _nine_box_grid(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The grid itself: y bands from high to low, x bands from low to high."""
    rows = []
    for card, part in frame.groupby("scorecard", sort=False):
        counts = part.set_index(["y_band", "x_band"])["count"]
        for y_band in ("high", "middle", "low"):
            cells = [str(int(counts[(y_band, x_band)])) for x_band in ("low", "middle", "high")]
            rows.append([card, f"y {y_band}", *cells])
    return ["scorecard", "", "x low", "x middle", "x high"], rows


HEADERS = {
    "target_gap": "gap",
    "meets_target": "met",
    "previous": "previous",
    "percentile": "pctl",
    "peer_median": "peer median",
    "department_median": "dept median",
    "department_percentile": "dept pctl",
    "benchmark_value": "benchmark",
    "meets_target_share": "share meeting target",
    "improved_share": "share improved",
    "median_delta": "median Δ",
    "median_slope": "median slope",
    "base_score": "score before",
    "base_weight": "weight before",
    "score_effect": "score effect",
    "weight_effect": "weight effect",
    "base_total": "total before",
    "base_numerator": "N before",
    "period_numerator": "N",
    "base_denominator": "D before",
    "period_denominator": "D",
    "base_value": "before",
    "numerator_effect": "N effect",
    "denominator_effect": "D effect",
    "group_size": "people",
}


_TEXT = {
    "scorecard", "indicator", "line", "note", "subject", "name", "department", "slice",
    "group", "rating", "guidance", "direction", "movement", "x_band", "y_band", "values",
    "meets_target", "improved", "outside_guidance", "manager", "role",
}  # fmt: skip


_TEXT_HEADERS = {HEADERS.get(c, c) for c in _TEXT} | {"", "outside guidance", "by"}


def _cell(column: str, value: Any, unit: str) -> str:
    if isinstance(value, tuple):
        return " ".join(_number(v) for v in value)
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool) or (hasattr(value, "dtype") and value.dtype == bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if column in _SHARES:
        return f"{float(value) * 100:.1f}%"
    if column in _IN_UNIT and unit == "percent":
        return f"{float(value) * 100:.2f}%"
    if column == "percentile":
        return f"{float(value):.0f}"
    return _number(value)


def _number(value: Any) -> str:
    value = float(value)
    if math.isnan(value):
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _heading(report: Report) -> str:
    who = {
        "subject": f"subject {report.key}",
        "department": f"department {report.key}",
        "everyone": "everyone",
    }[report.scope]
    since = f", changes since {report.base}" if report.base else ""
    return f"{who}, {report.period}{since}"
