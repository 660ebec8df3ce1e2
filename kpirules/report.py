"""Results → an Excel workbook for HR: a summary, one sheet per scorecard, the actions,
goal attainment and data quality, formatted (units, currency, dates, frozen headers,
filters, rating colours) and fast enough for 100,000 people.

The sheets are described here as tables of columns; kpirules.xlsx writes them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from kpirules import __version__, model
from kpirules.export import people_frame
from kpirules.results import Results
from kpirules.xlsx import Column, Sheet, Style, Table, write_workbook

TEXT = Style()
WRAP = Style(wrap=True)
INTEGER = Style(number_format="#,##0")
SCORE = Style(number_format="0.0")
PERCENT = Style(number_format="0.0%")
DATE = Style(number_format="yyyy-mm-dd")
BREACH = "FFC7CE"  # Excel's "bad" red
GOOD = "C6EFCE"  # Excel's "good" green
WARN = "FFEB9C"  # Excel's "neutral" amber
# Rating levels from best to worst; a scale of any length picks evenly from these.
RATING_PALETTE = ("C6EFCE", "E2EFDA", "FFFFFF", "FFEB9C", "FFC7CE")
SEVERITY_FILL = {"error": BREACH, "warning": WARN}


def unit_style(unit: str, currency: str | None) -> Style:
    """The number format of a value in an indicator's unit."""
    if unit == "percent":
        return PERCENT
    if unit == "money":
        return money_style(currency)
    if unit == "days":
        return Style(number_format='0.0 "days"')
    if unit == "hours":
        return Style(number_format='0.0 "h"')
    if unit == "minutes":
        return Style(number_format='0.0 "min"')
    if unit == "count":
        return INTEGER
    if unit == "score":
        return SCORE
    return Style(number_format="#,##0.00")  # number, ratio


def money_style(currency: str | None) -> Style:
    code = (currency or "").replace('"', "")
    return Style(number_format=f'#,##0.00 "{code}"' if code else "#,##0.00")


def write_report(
    results: Results,
    path: str | Path,
    *,
    as_of: date | None = None,
    roster: pd.DataFrame | None = None,
) -> None:
    """Write the HR workbook for `results` to `path` (.xlsx). `roster` (the typed roster
    frame, `LoadedData.frames[policy.roster.name]`) names managers and action owners who
    are not on any scorecard themselves."""
    sheets = build_report(results, as_of=as_of, roster=roster)
    write_workbook(Path(path), sheets, title=_title(results))


def build_report(
    results: Results, *, as_of: date | None = None, roster: pd.DataFrame | None = None
) -> list[Sheet]:
    """The sheets of the workbook, in order."""
    names = _names(results, roster)
    sheets = [summary_sheet(results, as_of)]
    people = people_frame(results)
    for card in results.policy.scorecards.values():
        sheets.append(scorecard_sheet(results, card, people, names))
    sheets += [actions_sheet(results, names), goals_sheet(results), quality_sheet(results)]
    return sheets


# ------------------------------------------------------------------ helpers


def _title(results: Results) -> str:
    return f"KPI report: {results.policy.name}"


def _currency(results: Results) -> str | None:
    header = results.policy.header
    return header.currency if header else None


def _names(results: Results, roster: pd.DataFrame | None) -> pd.Series:
    """Subject id → display name: from the roster when given, else the people evaluated."""
    source = results.policy.roster
    if roster is not None and source is not None and source.roles.get("display") in roster:
        known = roster[[source.key, source.roles["display"]]].set_axis(["subject", "name"], axis=1)
    else:
        known = results.totals[["subject", "name"]]
    known = known.dropna().drop_duplicates("subject")
    return known.set_index("subject")["name"].astype(object)


def _column(header: str, values, style: Style = TEXT, **options) -> Column:
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    return Column(header, series.reset_index(drop=True), style, **options)


def _text(values) -> pd.Series:
    """Text values as object dtype, missing kept missing."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    return series.astype(object).where(series.notna(), None).reset_index(drop=True)


def _fills(flags, colour: str, base: Style = TEXT) -> pd.Series:
    """A style per row: `base` filled with `colour` where `flags` holds, else None."""
    marked = replace(base, fill=colour)
    return pd.Series(np.where(np.asarray(flags, dtype=bool), marked, None), dtype=object)


def rating_styles(ratings: pd.Series, rating: model.Rating | None) -> pd.Series | None:
    """A fill per rating level, green (best) to red (worst), by its place in the scale."""
    if rating is None or not rating.labels:
        return None
    count = len(rating.labels)
    colour = {
        label: RATING_PALETTE[round(i * (len(RATING_PALETTE) - 1) / max(count - 1, 1))]
        for i, label in enumerate(rating.labels)
    }
    styles = {label: Style(fill=c) if c != "FFFFFF" else TEXT for label, c in colour.items()}
    return ratings.map(styles).astype(object).reset_index(drop=True)


def _yes(flags: pd.Series) -> pd.Series:
    return pd.Series(np.where(flags.fillna(False).to_numpy(dtype=bool), "Yes", "No"), dtype=object)


def _periods_text(periods: list[str]) -> str:
    if not periods:
        return "none"
    return periods[0] if len(periods) == 1 else f"{periods[0]} to {periods[-1]}"


# ------------------------------------------------------------------ summary


def summary_sheet(results: Results, as_of: date | None) -> Sheet:
    policy = results.policy
    header = policy.header
    currency = _currency(results)
    money = money_style(currency)
    summary = results.summary()
    status = (
        "stopped: data-quality errors (see the Data quality sheet)"
        if results.blocked
        else "evaluated"
    )
    about = [
        ("Policy", policy.name),
        ("Version", header.version if header and header.version else ""),
        ("Cadence", header.cadence if header else ""),
        ("Periods", ", ".join(results.periods) or "none"),
        ("As of", (as_of or date.today()).isoformat()),
        ("Currency", currency or ""),
        ("Status", status),
        ("Written by", f"kpirules {__version__}"),
    ]
    figures = [
        ("People", summary["subjects"], INTEGER),
        ("Scorecard results (person × period × scorecard)", len(results.totals), INTEGER),
        ("With a total", summary["evaluated"], INTEGER),
        ("Without a total (missing data)", summary["incomplete"], INTEGER),
        ("Payout total", summary["payout_total"], money),
        ("Actions", summary["actions"], INTEGER),
        ("Data-quality findings", summary["data_quality_findings"], INTEGER),
    ]
    context = (
        Table(
            (
                _column("Item", [k for k, _ in about]),
                _column("Value", [v for _, v in about]),
            ),
            "Policy",
        ),
        Table(
            (
                _column("Measure", [k for k, _, _ in figures]),
                _column(
                    "Value",
                    pd.Series([float(v) for _, v, _ in figures]),
                    INTEGER,
                    styles=pd.Series([s for _, _, s in figures], dtype=object),
                ),
            ),
            "Key figures",
        ),
        _distribution_table(results),
        _payouts_by_incentive(results, money),
        _payouts_by_scorecard(results, money),
        _actions_by_kind(results),
        _findings_by_severity(results),
    )
    return Sheet(
        "Summary",
        _accounting_table(results),
        title=(_title(results), f"{_periods_text(results.periods)} · as of {about[4][1]}"),
        context=context,
        frozen=False,
    )


def _card_label(policy: model.Policy, name: str) -> str:
    card = policy.scorecards.get(name)
    return card.label if card and card.label else name


def _distribution_table(results: Results) -> Table:
    frame = results.distribution()
    labels = frame["scorecard"].map(lambda n: _card_label(results.policy, n))
    breach = frame["outside_guidance"].astype(bool)
    return Table(
        (
            _column("Scorecard", _text(labels)),
            _column("Period", _text(frame["period"])),
            _column("Rating", _text(frame["rating"])),
            _column("People", frame["count"].astype("float64"), INTEGER),
            _column("Share", frame["share"].astype("float64"), PERCENT),
            _column("Guidance", _text(frame["guidance"])),
            _column(
                "Outside guidance",
                pd.Series(np.where(breach, "Yes", None), dtype=object),
                styles=_fills(breach, BREACH),
            ),
        ),
        "Rating distribution against the guidance",
    )


def _payouts_by_incentive(results: Results, money: Style) -> Table:
    pays = results.payouts
    keys = ["incentive", "scorecard", "period"]
    if pays.empty:
        grouped = pd.DataFrame(columns=[*keys, "paid", "gate_failed", "capped", "amount"])
    else:
        pays = pays.assign(
            paid=pays["amount"].fillna(0) > 0, gate_failed=~pays["gate_passed"].astype(bool)
        )
        grouped = (
            pays.groupby(keys, sort=True)
            .agg(
                paid=("paid", "sum"),
                gate_failed=("gate_failed", "sum"),
                capped=("capped", "sum"),
                amount=("amount", "sum"),
            )
            .reset_index()
        )
    incentives = results.policy.incentives
    label = grouped["incentive"].map(lambda n: incentives[n].label or n if n in incentives else n)
    return Table(
        (
            _column("Incentive", _text(label)),
            _column("Scorecard", _text(grouped["scorecard"])),
            _column("Period", _text(grouped["period"])),
            _column("People paid", grouped["paid"].astype("float64"), INTEGER),
            _column("Gate not passed", grouped["gate_failed"].astype("float64"), INTEGER),
            _column("Capped", grouped["capped"].astype("float64"), INTEGER),
            _column("Amount", grouped["amount"].astype("float64"), money),
        ),
        "Payouts by incentive",
    )


def _payouts_by_scorecard(results: Results, money: Style) -> Table:
    pays = results.payouts
    if pays.empty:
        grouped = pd.DataFrame(columns=["scorecard", "people", "amount"])
    else:
        grouped = (
            pays.groupby("scorecard", sort=True)
            .agg(people=("subject", "nunique"), amount=("amount", "sum"))
            .reset_index()
        )
    total = pd.DataFrame(
        [{"scorecard": "Total", "people": np.nan, "amount": grouped["amount"].sum()}]
    )
    grouped = pd.concat([grouped, total], ignore_index=True)
    labels = grouped["scorecard"].map(
        lambda n: _card_label(results.policy, n) if n != "Total" else n
    )
    bold_last = pd.Series([None] * (len(grouped) - 1) + [Style(bold=True)], dtype=object)
    money_last = pd.Series(
        [None] * (len(grouped) - 1) + [Style(**{**money.__dict__, "bold": True})]
    )
    return Table(
        (
            _column("Scorecard", _text(labels), styles=bold_last),
            _column("People", grouped["people"].astype("float64"), INTEGER),
            _column("Amount", grouped["amount"].astype("float64"), money, styles=money_last),
        ),
        "Payouts by scorecard (all periods)",
    )


def _actions_by_kind(results: Results) -> Table:
    actions = results.actions
    if actions.empty:
        grouped = pd.DataFrame(columns=["kind", "actions", "people"])
    else:
        grouped = (
            actions.groupby("kind", sort=True)
            .agg(actions=("subject", "size"), people=("subject", "nunique"))
            .reset_index()
        )
    return Table(
        (
            _column("Kind", _text(grouped["kind"])),
            _column("Actions", grouped["actions"].astype("float64"), INTEGER),
            _column("People", grouped["people"].astype("float64"), INTEGER),
        ),
        "Actions by kind",
    )


def _findings_by_severity(results: Results) -> Table:
    quality = results.quality
    counts = quality["severity"].value_counts() if len(quality) else pd.Series(dtype="int64")
    known = ["error", "warning", "info"]
    counts = counts.reindex(known + sorted(set(counts.index) - set(known)), fill_value=0)
    errors = (counts.index == "error") & (counts.to_numpy() > 0)
    return Table(
        (
            _column("Severity", pd.Series(list(counts.index), dtype=object)),
            _column(
                "Findings",
                counts.astype("float64"),
                INTEGER,
                styles=_fills(errors, BREACH, INTEGER),
            ),
        ),
        "Data-quality findings",
    )


ACCOUNTING_HEADERS = {
    "source": "Source",
    "file": "File",
    "rows_read": "Rows read",
    "rows_used": "Rows used",
    "rows_excluded": "Rows excluded",
}


def _accounting_table(results: Results) -> Table:
    frame = results.accounting
    if frame is None or frame.empty:
        frame = pd.DataFrame(columns=list(ACCOUNTING_HEADERS))
    frame = frame.sort_values(["source", "file"], kind="stable").reset_index(drop=True)
    columns = []
    for name in frame.columns:
        header = ACCOUNTING_HEADERS.get(name, "Excluded: " + name.replace("_", " "))
        if name in ("source", "file"):
            columns.append(_column(header, _text(frame[name])))
        else:
            columns.append(_column(header, frame[name].astype("float64"), INTEGER))
    return Table(tuple(columns), "Row accounting: every row read is used or excluded")


# ------------------------------------------------------------------ scorecards


def scorecard_sheet(
    results: Results, card: model.Scorecard, people: pd.DataFrame, names: pd.Series
) -> Sheet:
    policy = results.policy
    currency = _currency(results)
    rows = (
        people[people["scorecard"] == card.name]
        if len(people)
        else pd.DataFrame(columns=[*people.columns, "scorecard"])
    )
    rows = rows.sort_values(["subject", "period"], kind="stable").reset_index(drop=True)
    for missing in ("payout", "actions"):  # no evaluation (data blocked): empty columns
        if missing not in rows:
            rows[missing] = pd.Series(np.nan, index=rows.index, dtype="float64")
    columns = [
        _column("ID", _text(rows["subject"])),
        _column("Name", _text(rows["name"])),
        _column("Department", _text(rows["department"])),
        _column("Role", _text(rows["role"])),
        _column("Manager", _text(rows["manager"])),
        _column("Manager name", _text(rows["manager"].map(names))),
        _column("Period", _text(rows["period"])),
    ]
    for entry in card.entries:
        indicator = policy.indicators[entry.indicator]
        label = indicator.label or indicator.name
        value = rows.get(f"{entry.indicator} value", pd.Series(np.nan, index=rows.index))
        score = rows.get(f"{entry.indicator} score", pd.Series(np.nan, index=rows.index))
        columns.append(
            _column(label, value.astype("float64"), unit_style(indicator.unit, currency))
        )
        weight = f"{float(entry.weight) * 100:g}%"
        columns.append(_column(f"{label}: score ({weight})", score.astype("float64"), SCORE))
    columns.append(_column("Total", rows["total"].astype("float64"), Style(number_format="0.0")))
    rating = policy.ratings.get(card.rating) if card.rating else None
    if rating is not None:
        ratings = _text(rows["rating"])
        columns.append(_column("Rating", ratings, styles=rating_styles(ratings, rating)))
    columns.append(_column("Status", _text(rows["status"])))
    if any(card.name in i.scorecards for i in policy.incentives.values()):
        columns.append(_column("Payout", rows["payout"].astype("float64"), money_style(currency)))
    columns.append(_column("Actions", rows["actions"].astype("float64"), INTEGER))
    people_count = rows["subject"].nunique()
    subtitle = (
        f"Scorecard {card.name} · {people_count} people · {_periods_text(results.periods)}"
        " · scores in points, weights after each score header"
    )
    return Sheet(
        card.label or card.name,
        Table(tuple(columns)),
        title=(card.label or card.name, subtitle),
        freeze_columns=2,
    )


# ------------------------------------------------------------------ actions


def actions_sheet(results: Results, names: pd.Series) -> Sheet:
    actions = results.actions
    if actions.empty:
        actions = pd.DataFrame(columns=list(actions.columns))
    order = ["subject", "period", "scorecard", "origin", "kind", "title", "rule"]
    actions = actions.sort_values(order, kind="stable").reset_index(drop=True)
    roster = results.totals.drop_duplicates("subject").set_index("subject")["manager"]
    due = pd.to_datetime(actions["due"], errors="coerce", format="%Y-%m-%d")
    columns = (
        _column("ID", _text(actions["subject"])),
        _column("Name", _text(actions["subject"].map(names))),
        _column("Manager", _text(actions["subject"].map(roster))),
        _column("Period", _text(actions["period"])),
        _column("Scorecard", _text(actions["scorecard"])),
        _column("Kind", _text(actions["kind"])),
        _column("Title", _text(actions["title"]), max_width=50),
        _column("Owner", _text(actions["owner"])),
        _column("Owner name", _text(actions["owner"].map(names))),
        _column("Due", due, DATE),
        _column("Reason", _text(actions["reason"]), max_width=60),
        _column("From", _text(actions["origin"])),
        _column("Rule", _text(actions["rule"])),
    )
    return Sheet(
        "Actions",
        Table(columns),
        title=("Actions", f"{len(actions)} actions · due dates are real dates"),
        freeze_columns=2,
    )


# ------------------------------------------------------------------ goals


def goals_sheet(results: Results) -> Sheet:
    policy = results.policy
    currency = _currency(results)
    goals = results.goals
    goal_columns = [
        "goal",
        "period",
        "owner_level",
        "owner",
        "indicator",
        "value",
        "op",
        "target",
        "met",
        "attainment",
        "due",
    ]
    if goals is None or goals.empty:
        goals = pd.DataFrame(columns=goal_columns)
    goals = goals.sort_values(["goal", "period"], kind="stable").reset_index(drop=True)
    unit_styles = {
        name: unit_style(indicator.unit, currency) for name, indicator in policy.indicators.items()
    }
    by_unit = goals["indicator"].map(unit_styles).astype(object)
    met = goals["met"].fillna(False).astype(bool)
    labels = goals["goal"].map(lambda g: policy.goals[g].label if g in policy.goals else None)
    main = Table(
        (
            _column("Goal", _text(goals["goal"])),
            _column("Label", _text(labels), max_width=50),
            _column("Owner level", _text(goals["owner_level"])),
            _column("Owner", _text(goals["owner"])),
            _column("Indicator", _text(goals["indicator"])),
            _column("Period", _text(goals["period"])),
            _column("Value", goals["value"].astype("float64"), SCORE, styles=by_unit),
            _column("Operator", _text(goals["op"])),
            _column("Target", goals["target"].astype("float64"), SCORE, styles=by_unit),
            _column("Attainment", goals["attainment"].astype("float64"), PERCENT),
            _column(
                "Met",
                _yes(goals["met"]),
                styles=pd.Series(np.where(met, Style(fill=GOOD), Style(fill=BREACH)), dtype=object),
            ),
            _column(
                "Deadline period",
                pd.Series(np.where(goals["due"].astype(bool), "Yes", None), dtype=object),
            ),
        )
    )
    objectives = results.objectives
    if objectives is None or objectives.empty:
        objectives = pd.DataFrame(columns=["objective", "period", "attainment", "goals"])
    objectives = objectives.sort_values(["objective", "period"], kind="stable")
    labels = objectives["objective"].map(
        lambda o: policy.objectives[o].label if o in policy.objectives else None
    )
    context = Table(
        (
            _column("Objective", _text(objectives["objective"])),
            _column("Label", _text(labels), max_width=50),
            _column("Period", _text(objectives["period"])),
            _column("Attainment", objectives["attainment"].astype("float64"), PERCENT),
            _column("Goals", objectives["goals"].astype("float64"), INTEGER),
        ),
        "Objectives: mean attainment of their goals",
    )
    return Sheet(
        "Goals",
        Table(main.columns, "Goals: attainment at the owner's level"),
        title=("Goal attainment", _periods_text(results.periods)),
        context=(context,),
    )


# ------------------------------------------------------------------ data quality


def quality_sheet(results: Results) -> Sheet:
    quality = results.quality
    columns = ["source", "file", "row", "column", "check", "severity", "message"]
    if quality is None or quality.empty:
        quality = pd.DataFrame(columns=columns)
    # Row numbers follow the input files; sort so the sheet does not depend on the order
    # the checks ran in.
    quality = quality.sort_values(
        ["source", "file", "row", "column", "check", "message"], kind="stable", na_position="first"
    ).reset_index(drop=True)
    severity = _text(quality["severity"])
    fill = severity.map(lambda s: Style(fill=SEVERITY_FILL[s]) if s in SEVERITY_FILL else None)
    main = Table(
        (
            _column("Source", _text(quality["source"])),
            _column("File", _text(quality["file"])),
            _column("Row", pd.to_numeric(quality["row"], errors="coerce"), INTEGER),
            _column("Column", _text(quality["column"])),
            _column("Check", _text(quality["check"])),
            _column("Severity", severity, styles=fill.astype(object)),
            _column("Message", _text(quality["message"]), max_width=80),
        ),
        "Findings (row numbers as in the file, counting the header as row 1)",
    )
    return Sheet(
        "Data quality",
        main,
        title=("Data quality", f"{len(quality)} findings"),
        context=(_accounting_table(results),),
    )
