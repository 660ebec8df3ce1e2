"""Results → an Excel workbook for HR: a summary, one sheet per scorecard, the actions,
goal attainment and data quality, formatted (units, currency, dates, frozen headers,
filters, rating colours) and fast enough for 100,000 people.

The sheets are described here as tables of columns; kpirules.xlsx writes them. Every word
the workbook writes itself comes from kpirules.report_labels, in English or Chinese.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from kpirules import __version__, model
from kpirules.export import people_frame
from kpirules.i18n import check_language, language_for
from kpirules.report_labels import ReportLabels
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


def unit_style(unit: str, currency: str | None, labels: ReportLabels | None = None) -> Style:
    """The number format of a value in an indicator's unit; durations carry their unit's
    word in the workbook's language (English without `labels`)."""
    if unit == "percent":
        return PERCENT
    if unit == "money":
        return money_style(currency)
    if unit in ("days", "hours", "minutes"):
        word = labels[f"unit_{unit}"] if labels is not None else DURATION_WORDS[unit]
        return Style(number_format=f'0.0 "{word}"')
    if unit == "count":
        return INTEGER
    if unit == "score":
        return SCORE
    return Style(number_format="#,##0.00")  # number, ratio


DURATION_WORDS = {"days": "days", "hours": "h", "minutes": "min"}


def money_style(currency: str | None) -> Style:
    code = (currency or "").replace('"', "")
    return Style(number_format=f'#,##0.00 "{code}"' if code else "#,##0.00")


def write_report(
    results: Results,
    path: str | Path,
    *,
    as_of: date | None = None,
    roster: pd.DataFrame | None = None,
    lang: str | None = None,
) -> None:
    """Write the HR workbook for `results` to `path` (.xlsx). `roster` (the typed roster
    frame, `LoadedData.frames[policy.roster.name]`) names managers and action owners who
    are not on any scorecard themselves. `lang` ("en" or "zh") is the language of the
    workbook's own words; default: the policy's locale, as for the feedback sheets."""
    labels = report_labels(results, lang)
    sheets = build_report(results, as_of=as_of, roster=roster, lang=labels.lang)
    write_workbook(Path(path), sheets, title=_title(results, labels))


def report_labels(results: Results, lang: str | None = None) -> ReportLabels:
    """The workbook's words in `lang`, or in the language of the policy's locale."""
    header = results.policy.header
    chosen = check_language(lang) if lang else language_for(header.locale if header else None)
    return ReportLabels(chosen)


def build_report(
    results: Results,
    *,
    as_of: date | None = None,
    roster: pd.DataFrame | None = None,
    lang: str | None = None,
) -> list[Sheet]:
    """The sheets of the workbook, in order."""
    labels = report_labels(results, lang)
    names = _names(results, roster)
    sheets = [summary_sheet(results, as_of, labels)]
    people = people_frame(results)
    for card in results.policy.scorecards.values():
        sheets.append(scorecard_sheet(results, card, people, names, labels))
    sheets += [
        actions_sheet(results, names, labels),
        goals_sheet(results, labels),
        quality_sheet(results, labels),
    ]
    return sheets


# ------------------------------------------------------------------ helpers


def _title(results: Results, labels: ReportLabels) -> str:
    return labels.format("title", policy=results.policy.name)


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


def _yes(flags, labels: ReportLabels, *, no: bool = True) -> pd.Series:
    """Yes where `flags` holds; No elsewhere, or an empty cell when `no` is False."""
    held = pd.Series(flags).fillna(False).to_numpy(dtype=bool)
    return pd.Series(np.where(held, labels["yes"], labels["no"] if no else None), dtype=object)


def _periods_text(periods: list[str], labels: ReportLabels) -> str:
    if not periods:
        return labels["periods_none"]
    if len(periods) == 1:
        return periods[0]
    return labels.format("periods_range", first=periods[0], last=periods[-1])


def _statuses(values: pd.Series, labels: ReportLabels) -> pd.Series:
    """Scorecard statuses in the workbook's language; a status may join several
    ("complete, gate failed"), each translated."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    join = labels["status_join"]
    shown = [
        join.join(labels.word("status", part.strip()) for part in str(v).split(",") if part.strip())
        for v in uniques
    ]
    return pd.Series(pd.Series([*shown, None], dtype=object).to_numpy()[codes], dtype=object)


def _origins(values: pd.Series, labels: ReportLabels) -> pd.Series:
    """Where an action comes from, "incentive NAME" or "improvement NAME", with the kind
    of block in the workbook's language and the name (the policy's) as it is."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    shown = []
    for value in uniques:
        block, _, name = str(value).partition(" ")
        word = labels.word("block", block)
        shown.append(labels.format("origin", block=word, name=name) if name else word)
    return pd.Series(pd.Series([*shown, None], dtype=object).to_numpy()[codes], dtype=object)


def _guidance(policy: model.Policy, frame: pd.DataFrame, labels: ReportLabels) -> pd.Series:
    """Each distribution row's guidance ("at most 15%"), from the policy's rating scale."""
    texts = {}
    for card in policy.scorecards.values():
        rating = policy.ratings.get(card.rating) if card.rating else None
        for rule in rating.distribution if rating else ():
            share = f"{float(rule.share) * 100:g}%"
            texts[(card.name, rule.label)] = labels.format(f"guidance_{rule.bound}", share=share)
    keys = zip(frame["scorecard"], frame["rating"], strict=True)
    return pd.Series([texts.get(key) for key in keys], dtype=object)


# ------------------------------------------------------------------ summary


def summary_sheet(results: Results, as_of: date | None, labels: ReportLabels) -> Sheet:
    L = labels
    policy = results.policy
    header = policy.header
    currency = _currency(results)
    money = money_style(currency)
    summary = results.summary()
    status = (
        L.format("run_blocked", sheet=L["sheet_quality"]) if results.blocked else L["run_evaluated"]
    )
    day = (as_of or date.today()).isoformat()
    about = [
        (L["about_policy"], policy.name),
        (L["about_version"], header.version if header and header.version else ""),
        (L["about_cadence"], L.word("cadence", header.cadence) if header else ""),
        (L["about_periods"], ", ".join(results.periods) or L["periods_none"]),
        (L["about_as_of"], day),
        (L["about_currency"], currency or ""),
        (L["about_status"], status),
        (L["about_written_by"], f"kpirules {__version__}"),
    ]
    figures = [
        (L["figure_people"], summary["subjects"], INTEGER),
        (L["figure_results"], len(results.totals), INTEGER),
        (L["figure_with_total"], summary["evaluated"], INTEGER),
        (L["figure_without_total"], summary["incomplete"], INTEGER),
        (L["figure_payout_total"], summary["payout_total"], money),
        (L["figure_actions"], summary["actions"], INTEGER),
        (L["figure_findings"], summary["data_quality_findings"], INTEGER),
    ]
    context = (
        Table(
            (
                _column(L["about_item"], [k for k, _ in about]),
                _column(L["about_value"], [v for _, v in about]),
            ),
            L["caption_policy"],
        ),
        Table(
            (
                _column(L["figure_measure"], [k for k, _, _ in figures]),
                _column(
                    L["figure_value"],
                    pd.Series([float(v) for _, v, _ in figures]),
                    INTEGER,
                    styles=pd.Series([s for _, _, s in figures], dtype=object),
                ),
            ),
            L["caption_figures"],
        ),
        _distribution_table(results, L),
        _objectives_table(results, L),
        _payouts_by_incentive(results, money, L),
        _payouts_by_scorecard(results, money, L),
        _actions_by_kind(results, L),
        _findings_by_severity(results, L),
    )
    subtitle = L.format("summary_subtitle", periods=_periods_text(results.periods, L), date=day)
    return Sheet(
        L["sheet_summary"],
        _accounting_table(results, L),
        title=(_title(results, L), subtitle),
        context=context,
        frozen=False,
    )


def _card_label(policy: model.Policy, name: str) -> str:
    card = policy.scorecards.get(name)
    return card.label if card and card.label else name


def _card_labels(policy: model.Policy, names: pd.Series) -> pd.Series:
    """Scorecard names → their labels, as one lookup (the actions sheet has a row per
    action of everyone)."""
    labels = {name: _card_label(policy, name) for name in policy.scorecards}
    return names.map(labels).fillna(names)


def _distribution_table(results: Results, L: ReportLabels) -> Table:
    frame = results.distribution().reset_index(drop=True)
    cards = frame["scorecard"].map(lambda n: _card_label(results.policy, n))
    breach = frame["outside_guidance"].astype(bool)
    return Table(
        (
            _column(L["col_scorecard"], _text(cards)),
            _column(L["col_period"], _text(frame["period"])),
            _column(L["col_rating"], _text(frame["rating"])),
            _column(L["col_people"], frame["count"].astype("float64"), INTEGER),
            _column(L["col_share"], frame["share"].astype("float64"), PERCENT),
            _column(L["col_guidance"], _guidance(results.policy, frame, L)),
            _column(
                L["col_outside_guidance"],
                _yes(breach, L, no=False),
                styles=_fills(breach, BREACH),
            ),
        ),
        L["caption_distribution"],
    )


def _payouts_by_incentive(results: Results, money: Style, L: ReportLabels) -> Table:
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
            _column(L["col_incentive"], _text(label)),
            _column(L["col_scorecard"], _text(_card_labels(results.policy, grouped["scorecard"]))),
            _column(L["col_period"], _text(grouped["period"])),
            _column(L["col_people_paid"], grouped["paid"].astype("float64"), INTEGER),
            _column(L["col_gate_failed"], grouped["gate_failed"].astype("float64"), INTEGER),
            _column(L["col_capped"], grouped["capped"].astype("float64"), INTEGER),
            _column(L["col_amount"], grouped["amount"].astype("float64"), money),
        ),
        L["caption_by_incentive"],
    )


def _payouts_by_scorecard(results: Results, money: Style, L: ReportLabels) -> Table:
    pays = results.payouts
    if pays.empty:
        grouped = pd.DataFrame(columns=["scorecard", "people", "amount"])
    else:
        grouped = (
            pays.groupby("scorecard", sort=True)
            .agg(people=("subject", "nunique"), amount=("amount", "sum"))
            .reset_index()
        )
    # The total row is labelled by position, so a scorecard named "Total" stays itself.
    labels = [_card_label(results.policy, n) for n in grouped["scorecard"]] + [L["total_row"]]
    total = pd.DataFrame([{"scorecard": None, "people": np.nan, "amount": grouped["amount"].sum()}])
    grouped = pd.concat([grouped, total], ignore_index=True)
    bold_last = pd.Series([None] * (len(grouped) - 1) + [Style(bold=True)], dtype=object)
    money_last = pd.Series(
        [None] * (len(grouped) - 1) + [Style(**{**money.__dict__, "bold": True})]
    )
    return Table(
        (
            _column(L["col_scorecard"], _text(labels), styles=bold_last),
            _column(L["col_people"], grouped["people"].astype("float64"), INTEGER),
            _column(L["col_amount"], grouped["amount"].astype("float64"), money, styles=money_last),
        ),
        L["caption_by_scorecard"],
    )


def _actions_by_kind(results: Results, L: ReportLabels) -> Table:
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
            _column(L["col_kind"], L.words("kind", grouped["kind"])),
            _column(L["col_actions"], grouped["actions"].astype("float64"), INTEGER),
            _column(L["col_people"], grouped["people"].astype("float64"), INTEGER),
        ),
        L["caption_by_kind"],
    )


def _findings_by_severity(results: Results, L: ReportLabels) -> Table:
    quality = results.quality
    counts = quality["severity"].value_counts() if len(quality) else pd.Series(dtype="int64")
    known = ["error", "warning", "info"]
    counts = counts.reindex(known + sorted(set(counts.index) - set(known)), fill_value=0)
    errors = (counts.index == "error") & (counts.to_numpy() > 0)
    return Table(
        (
            _column(L["col_severity"], L.words("severity", pd.Series(list(counts.index)))),
            _column(
                L["col_findings"],
                counts.astype("float64"),
                INTEGER,
                styles=_fills(errors, BREACH, INTEGER),
            ),
        ),
        L["caption_by_severity"],
    )


ACCOUNTING_COLUMNS = ("source", "file", "rows_read", "rows_used", "rows_excluded")


def _accounting_header(name: str, L: ReportLabels) -> str:
    """The header of a row-accounting column; any other column counts the rows one
    data-quality check excluded."""
    if name in ACCOUNTING_COLUMNS:
        return L[f"col_{name}"]
    known = L.word("excluded", name)
    return known if known != name else L.format("excluded_other", check=name.replace("_", " "))


def _accounting_table(results: Results, L: ReportLabels) -> Table:
    frame = results.accounting
    if frame is None or frame.empty:
        frame = pd.DataFrame(columns=list(ACCOUNTING_COLUMNS))
    frame = frame.sort_values(["source", "file"], kind="stable").reset_index(drop=True)
    columns = []
    for name in frame.columns:
        header = _accounting_header(name, L)
        if name in ("source", "file"):
            columns.append(_column(header, _text(frame[name])))
        else:
            columns.append(_column(header, frame[name].astype("float64"), INTEGER))
    return Table(tuple(columns), L["caption_accounting"])


# ------------------------------------------------------------------ scorecards


def scorecard_sheet(
    results: Results,
    card: model.Scorecard,
    people: pd.DataFrame,
    names: pd.Series,
    labels: ReportLabels,
) -> Sheet:
    L = labels
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
        _column(L["col_id"], _text(rows["subject"])),
        _column(L["col_name"], _text(rows["name"])),
        _column(L["col_department"], _text(rows["department"])),
        _column(L["col_role"], _text(rows["role"])),
        _column(L["col_manager"], _text(rows["manager"])),
        _column(L["col_manager_name"], _text(rows["manager"].map(names))),
        _column(L["col_period"], _text(rows["period"])),
    ]
    for entry in card.entries:
        indicator = policy.indicators[entry.indicator]
        label = indicator.label or indicator.name
        value = rows.get(f"{entry.indicator} value", pd.Series(np.nan, index=rows.index))
        score = rows.get(f"{entry.indicator} score", pd.Series(np.nan, index=rows.index))
        columns.append(
            _column(label, value.astype("float64"), unit_style(indicator.unit, currency, L))
        )
        weight = f"{float(entry.weight) * 100:g}%"
        header = L.format("col_score", indicator=label, weight=weight)
        columns.append(_column(header, score.astype("float64"), SCORE))
    columns.append(_column(L["col_total"], rows["total"].astype("float64"), SCORE))
    rating = policy.ratings.get(card.rating) if card.rating else None
    if rating is not None:
        ratings = _text(rows["rating"])
        columns.append(_column(L["col_rating"], ratings, styles=rating_styles(ratings, rating)))
    columns.append(_column(L["col_status"], _statuses(rows["status"], L)))
    if any(card.name in i.scorecards for i in policy.incentives.values()):
        payout = rows["payout"].astype("float64")
        columns.append(_column(L["col_payout"], payout, money_style(currency)))
    columns.append(_column(L["col_actions"], rows["actions"].astype("float64"), INTEGER))
    subtitle = L.format(
        "scorecard_subtitle",
        card=card.name,
        people=rows["subject"].nunique(),
        periods=_periods_text(results.periods, L),
    )
    return Sheet(
        card.label or card.name,
        Table(tuple(columns)),
        title=(card.label or card.name, subtitle),
        freeze_columns=2,
    )


# ------------------------------------------------------------------ actions


def actions_sheet(results: Results, names: pd.Series, labels: ReportLabels) -> Sheet:
    L = labels
    actions = results.actions
    if actions.empty:
        actions = pd.DataFrame(columns=list(actions.columns))
    order = ["subject", "period", "scorecard", "origin", "kind", "title", "rule"]
    actions = actions.sort_values(order, kind="stable").reset_index(drop=True)
    roster = results.totals.drop_duplicates("subject").set_index("subject")["manager"]
    due = pd.to_datetime(actions["due"], errors="coerce", format="%Y-%m-%d")
    columns = (
        _column(L["col_id"], _text(actions["subject"])),
        _column(L["col_name"], _text(actions["subject"].map(names))),
        _column(L["col_manager"], _text(actions["subject"].map(roster))),
        _column(L["col_period"], _text(actions["period"])),
        _column(L["col_scorecard"], _text(_card_labels(results.policy, actions["scorecard"]))),
        _column(L["col_kind"], L.words("kind", actions["kind"])),
        _column(L["col_title"], _text(actions["title"]), max_width=50),
        _column(L["col_owner"], _text(actions["owner"])),
        # `owner hr` names a function, not a person on the roster.
        _column(
            L["col_owner_name"],
            _text(actions["owner"].map(names)).where(actions["owner"] != "hr", L["owner_hr"]),
        ),
        _column(L["col_due"], due, DATE),
        _column(L["col_reason"], _text(actions["reason"]), max_width=60),
        _column(L["col_origin"], _origins(actions["origin"], L)),
        _column(L["col_rule"], _text(actions["rule"])),
    )
    return Sheet(
        L["sheet_actions"],
        Table(columns),
        title=(L["actions_title"], L.format("actions_subtitle", count=len(actions))),
        freeze_columns=2,
    )


# ------------------------------------------------------------------ goals


def goals_sheet(results: Results, labels: ReportLabels) -> Sheet:
    L = labels
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
        "deadline",
        "deadline_reached",
    ]
    if goals is None or goals.empty:
        goals = pd.DataFrame(columns=goal_columns)
    goals = goals.sort_values(["goal", "period"], kind="stable").reset_index(drop=True)
    unit_styles = {
        name: unit_style(indicator.unit, currency, L)
        for name, indicator in policy.indicators.items()
    }
    by_unit = goals["indicator"].map(unit_styles).astype(object)
    met = goals["met"].fillna(False).astype(bool)
    goal_labels = goals["goal"].map(lambda g: policy.goals[g].label if g in policy.goals else None)
    # The company level is a keyword (its owner is "company" too); other levels are the
    # policy's own roster columns, written as they are.
    company = (goals["owner_level"] == "company").to_numpy(dtype=bool)
    owners = _text(goals["owner"]).where(~company, L["level_company"])
    main = Table(
        (
            _column(L["col_goal"], _text(goals["goal"])),
            _column(L["col_label"], _text(goal_labels), max_width=50),
            _column(L["col_owner_level"], L.words("level", goals["owner_level"])),
            _column(L["col_owner"], owners),
            _column(L["col_indicator"], _text(goals["indicator"])),
            _column(L["col_period"], _text(goals["period"])),
            _column(L["col_value"], goals["value"].astype("float64"), SCORE, styles=by_unit),
            _column(L["col_operator"], _text(goals["op"])),
            _column(L["col_target"], goals["target"].astype("float64"), SCORE, styles=by_unit),
            _column(L["col_attainment"], goals["attainment"].astype("float64"), PERCENT),
            _column(
                L["col_met"],
                _yes(goals["met"], L),
                styles=pd.Series(np.where(met, Style(fill=GOOD), Style(fill=BREACH)), dtype=object),
            ),
            _column(L["col_deadline"], _yes(goals["deadline_reached"].astype(bool), L, no=False)),
        )
    )
    # Only the goals here: a table above them would be frozen with their header. The
    # objectives are on the summary.
    return Sheet(
        L["sheet_goals"],
        Table(main.columns, L["caption_goals"]),
        title=(L["goals_title"], _periods_text(results.periods, L)),
    )


def _objectives_table(results: Results, L: ReportLabels) -> Table:
    policy = results.policy
    objectives = results.objectives
    if objectives is None or objectives.empty:
        objectives = pd.DataFrame(columns=["objective", "period", "attainment", "goals"])
    objectives = objectives.sort_values(["objective", "period"], kind="stable")
    objective_labels = objectives["objective"].map(
        lambda o: policy.objectives[o].label if o in policy.objectives else None
    )
    return Table(
        (
            # The label first: the summary's first column is wide already.
            _column(L["col_label"], _text(objective_labels), max_width=50),
            _column(L["col_objective"], _text(objectives["objective"])),
            _column(L["col_period"], _text(objectives["period"])),
            _column(L["col_attainment"], objectives["attainment"].astype("float64"), PERCENT),
            _column(L["col_goals"], objectives["goals"].astype("float64"), INTEGER),
        ),
        L["caption_objectives"],
    )


# ------------------------------------------------------------------ data quality


def quality_sheet(results: Results, labels: ReportLabels) -> Sheet:
    L = labels
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
            _column(L["col_source"], _text(quality["source"])),
            _column(L["col_file"], _text(quality["file"])),
            _column(L["col_row"], pd.to_numeric(quality["row"], errors="coerce"), INTEGER),
            _column(L["col_column"], _text(quality["column"])),
            _column(L["col_check"], L.words("check", quality["check"])),
            _column(L["col_severity"], L.words("severity", severity), styles=fill.astype(object)),
            # Messages come from the data checks, which write them in English.
            _column(L["col_message"], _text(quality["message"]), max_width=80),
        ),
        L["caption_findings"],
    )
    # The row accounting is the summary's last table: above the findings it would be
    # frozen with their header.
    return Sheet(
        L["sheet_quality"],
        main,
        title=(L["sheet_quality"], L.format("quality_subtitle", count=len(quality))),
    )
