"""Data quality before scoring: type every cell, check keys, subjects, ranges and
freshness, and account for every row — used, or excluded for the first check it fails.

Everything is vectorised over columns; the result does not depend on the order of rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from kpirules import model
from kpirules.check.expressions import suggest
from kpirules.data.readers import PREVIEW_ROWS, ROW, RawTable
from kpirules.periods import Calendar
from kpirules.text import escape_char

CHECKS = (
    "missing_column",
    "extra_column",
    "type_mismatch",
    "null_value",
    "not_allowed",
    "null_key",
    "duplicate_key",
    "unknown_subject",
    "out_of_range",
    "stale",
    # Set by the binding (data.yaml), not by the policy's `data_quality`:
    "empty_source",  # a file with no data rows, or none left after the checks
    "sheet",  # which sheet of a workbook was read, when there was a choice
    "merged_cells",  # merged cells in the data: only the first cell holds the value
    "totals_row",  # the last row holds totals (left out when the binding says so)
)
# What quiets each of the binding's own checks (there is no `data_quality` level for them).
BINDING_OPTIONS = {
    "empty_source": "allow_empty: true",
    "sheet": "sheet: NAME",
    "merged_cells": "merged: fill",
    "totals_row": "totals_row: true",
}
# A row failing several checks is counted once, under the first of these.
EXCLUSIONS = (
    "null_key",
    "type_mismatch",
    "null_value",
    "not_allowed",
    "duplicate_key",
    "unknown_subject",
    "out_of_range",
)
DEFAULT_LEVELS = {check: "warning" for check in CHECKS} | {
    "missing_column": "error",
    "empty_source": "error",
    "sheet": "info",
}
EXTRA_SHOWN = 10  # undeclared columns named in the one extra_column finding of a source
DEFAULT_STALE_DAYS = Decimal(7)
FINDING_COLUMNS = ("source", "file", "row", "column", "check", "severity", "message")
ACCOUNTING_COLUMNS = ("source", "file", "rows_read", "rows_used", "rows_excluded", *EXCLUSIONS)

BOOL_WORDS = {
    **dict.fromkeys(("true", "yes", "y", "1", "是"), True),
    **dict.fromkeys(("false", "no", "n", "0", "否"), False),
}
THOUSANDS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # 1,234,567.5 — never a decimal comma
DATE_TIME = r"\d{4}-\d{1,2}-\d{1,2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
DATE_LIMITS = (pd.Timestamp("1677-09-22"), pd.Timestamp("2262-04-11"))  # datetime64[ns] range
SHOWN = 60  # characters of a bad cell quoted in a message
# Characters a person cannot see (zero-width spaces, byte-order marks, direction marks,
# non-breaking and other odd spaces, control characters): shown as escapes in messages.
INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\xa0\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufeff\ufff0-\ufff8]"
)
EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # serial 61 is 1900-03-01 (Excel's 1900 system)
EXCEL_SERIALS = (61, 132_321)  # 1900-03-01 … 2262-04-11, what datetime64[ns] can hold
Message = str | Callable[[np.ndarray], pd.Series]  # a builder runs on the flagged rows only
TYPE_WORDS = {
    "number": "a number",
    "integer": "a whole number",
    "money": "an amount (a plain number such as 1234.50)",
    "percent": "a percentage (30% or 0.3)",
    "bool": "yes or no (true/false, yes/no, y/n, 1/0, 是/否)",
    "date": "a date (YYYY-MM-DD)",
    "days": "a number of days",
    "hours": "a number of hours",
    "minutes": "a number of minutes",
}


@dataclass(frozen=True)
class Finding:
    source: str
    file: str
    row: int | None
    column: str | None
    check: str
    severity: str
    message: str


@dataclass
class LoadedData:
    frames: dict[str, pd.DataFrame]  # typed; excluded rows removed; declared columns + _row
    findings: pd.DataFrame  # FINDING_COLUMNS, sorted by source, row, column, check
    accounting: pd.DataFrame  # ACCOUNTING_COLUMNS, one row per source
    files: dict[str, str]  # source → file as shown to the user
    blocked: bool  # some finding is an error: do not score

    def finding_list(self) -> list[Finding]:
        return [
            Finding(**{**r, "row": None if pd.isna(r["row"]) else int(r["row"])})
            for r in self.findings.to_dict("records")
        ]


# ------------------------------------------------------------------ typing


@dataclass(frozen=True)
class Typed:
    values: pd.Series  # in the column's dtype; missing where empty or bad
    empty: pd.Series  # bool: nothing in the cell
    bad: pd.Series  # bool: something in the cell that is not of the type
    raw: pd.Series = field(repr=False)
    trimmed: pd.Series | None = field(default=None, repr=False)  # text cells, trimmed

    def text(self, pick: np.ndarray) -> pd.Series:
        """The picked cells as trimmed text, for messages. Cells that arrived typed
        (numbers, dates from Parquet) are turned into text only for those rows."""
        if self.trimmed is not None:
            return self.trimmed[pick]
        return as_text(self.raw[pick])


# Declared types whose values a typed column already holds: no text needed to read them.
NATIVE_KINDS = {"bool": "b", "date": "M"}


def coerce(raw: pd.Series, type_name: str, fmt: dict | None = None) -> Typed:
    """A raw column → the declared type. A mismatch is a non-empty cell that became missing.
    `fmt`: the binding's formats for the column (date pattern, decimal mark, …)."""
    fmt = fmt or {}
    if _native(raw, type_name):
        empty = raw.isna().astype(bool)
        text = None
    else:
        text = as_text(raw)
        empty = text.fillna("").eq("").astype(bool)
    if type_name == "text":
        values = text.astype(object).where(~empty, None)
    elif type_name == "bool":
        values = _bools(raw, text, fmt)
    elif type_name == "date":
        values = _dates(raw, text, fmt)
        if fmt.get("no_date") and text is not None:  # `9999-12-31`: no end date
            declared = _flag(text.isin([str(word) for word in fmt["no_date"]]))
            empty = empty | declared
            values = values.where(~declared)
    else:
        values = _numbers(raw, text, type_name, fmt)
    bad = (~empty & values.isna()).astype(bool)
    return Typed(values, empty, bad, raw, text)


def _native(raw: pd.Series, type_name: str) -> bool:
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return type_name == "date"
    kind = NATIVE_KINDS.get(type_name, "iuf" if type_name != "text" else "")
    return bool(kind) and raw.dtype.kind in kind


def as_text(raw: pd.Series) -> pd.Series:
    """Cells as trimmed text; whole floats print as integers (an ID 1001 stored as 1001.0)."""
    if raw.dtype.kind == "f":
        whole = ((raw % 1 == 0) & (raw.abs() < 2**53)).fillna(False).astype(bool)
        ints = raw.where(whole).astype("Int64").astype("string")
        text = ints.where(whole, raw.astype("string"))
    else:
        text = raw.astype("string")
    return text.str.strip()


def _numbers(raw: pd.Series, text: pd.Series, type_name: str, fmt: dict) -> pd.Series:
    points = type_name == "percent" and fmt.get("percent") == "points"
    if raw.dtype.kind in "iuf":  # typed cells (Parquet, DataFrame): already numbers
        values = pd.Series(raw.to_numpy(dtype="float64", na_value=np.nan), index=raw.index)
        if points:
            values = values / 100
    else:
        body = text
        if fmt.get("currency") and type_name != "percent":
            body = _strip_currency(body, fmt["currency"])
        percent = _flag(body.str.endswith("%")) if type_name == "percent" else None
        if percent is not None:
            body = body.str.slice(0, -1).str.strip().where(percent, body)
        if "decimal" in fmt or "thousands" in fmt:
            parsed = _declared_numbers(body, fmt)
        else:  # the default: a decimal point, commas only in groups of three
            commas = _flag(body.str.contains(",", regex=False))
            grouped = _flag(body.str.fullmatch(THOUSANDS))
            cleaned = body.str.replace(",", "", regex=False).where(~commas | grouped)
            parsed = pd.to_numeric(cleaned, errors="coerce")
        values = pd.Series(parsed.to_numpy(dtype="float64", na_value=np.nan), index=raw.index)
        if percent is not None:
            values = values.where(~percent, values / 100)
            if points:
                values = values.where(percent, values / 100)
    values = values.where(np.isfinite(values))
    if type_name == "integer":
        values = values.where(values % 1 == 0)
    return values


def _strip_currency(text: pd.Series, currency: str | list[str]) -> pd.Series:
    """`¥1,234`, `1,234 CNY`, `-$12`: one symbol or code before or after the number."""
    codes = [currency] if isinstance(currency, str) else list(currency)
    either = "|".join(re.escape(c) for c in sorted(codes, key=len, reverse=True))
    before = text.str.replace(rf"^([+-]?)\s*(?:{either})\s*", r"\1", regex=True)
    return before.where(before != text, text.str.replace(rf"\s*(?:{either})$", "", regex=True))


def _declared_numbers(body: pd.Series, fmt: dict) -> pd.Series:
    """Numbers written with the binding's decimal mark and thousands separator. Nothing
    else is taken: with a decimal comma, `1.5` is not a number (it is not how the file
    writes numbers), and groups must be of three digits."""
    decimal = fmt.get("decimal", ".")
    thousands = fmt.get("thousands", "," if decimal == "." else "")
    group = "[ \u00a0\u202f]" if thousands == " " else re.escape(thousands)
    whole = rf"(?:\d{{1,3}}(?:{group}\d{{3}})+|\d+)" if thousands else r"\d+"
    pattern = rf"[+-]?{whole}(?:{re.escape(decimal)}\d+)?"
    ok = _flag(body.str.fullmatch(pattern))
    cleaned = body.where(ok)
    if thousands:
        cleaned = cleaned.str.replace(group, "", regex=True)
    if decimal != ".":
        cleaned = cleaned.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(cleaned, errors="coerce")


def _bools(raw: pd.Series, text: pd.Series, fmt: dict) -> pd.Series:
    if raw.dtype.kind == "b":
        return raw.astype("boolean")
    words = BOOL_WORDS
    if "true_words" in fmt:
        words = {
            **{str(w).strip().lower(): True for w in fmt["true_words"]},
            **{str(w).strip().lower(): False for w in fmt["false_words"]},
        }
    return text.str.lower().map(words).astype("boolean")


def _dates(raw: pd.Series, text: pd.Series, fmt: dict) -> pd.Series:
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        raw = raw.dt.tz_localize(None)  # keep the wall-clock date the file shows
    pattern = fmt.get("date")
    if raw.dtype.kind == "M":
        values = raw
    else:
        values = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        if pattern:  # the file's own spelling first; ISO dates are read as well
            if pattern == "excel":
                declared = _excel_serials(text)
            else:
                declared = pd.to_datetime(text, format=pattern, errors="coerce")
                if "%y" in pattern:
                    declared = _century(declared, int(fmt["two_digit_years_from"]))
            values = declared.where(declared.notna(), values)
        # Excel date cells and datetimes read as `YYYY-MM-DD HH:MM[:SS]`.
        timed = _flag(text.str.fullmatch(DATE_TIME)) & values.isna()
        if timed.any():
            later = pd.to_datetime(text.where(timed), format="ISO8601", errors="coerce")
            values = values.where(~timed, later)
    if values.dtype.kind != "M":  # e.g. nothing parsed at all
        values = pd.to_datetime(values, errors="coerce")
    values = values.dt.normalize()
    inside = (values >= DATE_LIMITS[0]) & (values <= DATE_LIMITS[1])
    return values.where(inside).astype("datetime64[ns]")


def _excel_serials(text: pd.Series) -> pd.Series:
    """Excel's serial day numbers (1900 system): 40729 is 2011-07-05; a fraction is the
    time of day and is dropped. Serials before 61 (1900-03-01) are refused: Excel counts
    a 29 February 1900 that did not exist."""
    serial = pd.to_numeric(text.where(_flag(text.str.fullmatch(r"\d+(?:\.\d+)?"))), errors="coerce")
    serial = serial.where((serial >= EXCEL_SERIALS[0]) & (serial < EXCEL_SERIALS[1]))
    days = pd.to_timedelta(np.floor(serial.to_numpy(dtype="float64")), unit="D")
    return pd.Series(EXCEL_EPOCH + days, index=text.index)


def _century(values: pd.Series, first: int) -> pd.Series:
    """Dates read with %y, moved into the hundred years starting at `first` (Python puts
    00–68 in 2000–2068 and 69–99 in 1969–1999). A day that does not exist in the year
    moved to (29 February) becomes missing: a mismatch."""
    known = values.notna()
    if not known.any():
        return values
    two = values.dt.year % 100
    year = first + (two - first % 100) % 100
    moved = pd.to_datetime(
        pd.DataFrame({"year": year, "month": values.dt.month, "day": values.dt.day})[known],
        errors="coerce",
    )
    return values.where(~known, moved.reindex(values.index))


def _flag(mask: pd.Series) -> pd.Series:
    return mask.fillna(False).astype(bool)


def _quote(text: pd.Series) -> pd.Series:
    return "'" + _visible_all(text.str.slice(0, SHOWN)) + "'"


def visible(text: str) -> str:
    """`text` with the characters a person cannot see written as escapes, in the one
    escape form of `kpirules.text` (`\\x1b`, `\\u200b`). The set is wider than what
    `neutralise` makes safe: in a key, an odd space is a different key."""
    return INVISIBLE.sub(lambda m: escape_char(m.group()), text)


def _visible_all(text: pd.Series) -> pd.Series:
    odd = _flag(text.str.contains(INVISIBLE))
    if not odd.any():
        return text
    return text.where(~odd, text[odd].map(visible))


# ------------------------------------------------------------------ checks


@dataclass
class _Context:
    levels: dict[str, str]
    effective: tuple[pd.Timestamp | None, pd.Timestamp | None]
    roster: model.Source | None
    history: dict[str, pd.Timestamp] = field(default_factory=dict)  # source → earliest row
    roster_all: pd.Series | None = None  # typed keys of every roster row
    roster_used: pd.Series | None = None  # … of the rows kept


@dataclass
class _Outcome:
    frame: pd.DataFrame
    findings: list[dict]
    reasons: pd.Series  # per input row: the exclusion reason, "" when used


class _SourceCheck:
    def __init__(self, spec: model.Source, table: RawTable, ctx: _Context):
        self.spec, self.table, self.ctx = spec, table, ctx
        self.raw = table.frame.reset_index(drop=True)
        self.rows = self.raw[ROW]
        self.findings: list[dict] = []  # column → array, joined into one frame at the end
        self.fails = {reason: pd.Series(False, index=self.raw.index) for reason in EXCLUSIONS}
        self.typed: dict[str, Typed] = {}

    def formats(self, name: str) -> dict:
        """The binding's formats for a column: the source's, then the column's own."""
        options = self.table.options
        return {**options.get("formats", {}), **options.get("columns", {}).get(name, {})}

    def run(self) -> _Outcome:
        self.reader_notes()
        self.check_columns()
        identity = _identity_columns(self.spec)
        for name, column in self.spec.columns.items():
            if name in self.raw.columns:
                self.check_cells(column, identity.get(name))
        self.check_duplicates()
        self.check_subjects()
        self.check_range()
        reasons = pd.Series(
            np.select([m.to_numpy() for m in self.fails.values()], EXCLUSIONS, default=""),
            index=self.raw.index,
        )
        used = (reasons == "").to_numpy()
        self.check_empty(int(used.sum()))
        frame = pd.DataFrame({name: typed.values for name, typed in self.typed.items()})
        frame[ROW] = self.rows.astype("int64")
        return _Outcome(frame[used].reset_index(drop=True), self.findings, reasons)

    def flag(self, check: str, mask: pd.Series, column: str | None, message: Message) -> None:
        """Exclude the rows in `mask`; `message` is text, or builds it for those rows only."""
        self.fails[check] |= mask
        if not mask.any():
            return
        pick = mask.to_numpy(dtype=bool)
        text = message if isinstance(message, str) else message(pick).astype(object).to_numpy()
        rows = self.rows[pick].to_numpy().astype(object)
        self.findings.append(_part(self.table, rows, column, check, text))

    def note(
        self, check: str, column: str | None, message: str, severity: str | None = None
    ) -> None:
        """A finding about the whole source: no row, nothing excluded."""
        self.findings.append(_source_finding(self.table, check, column, message, severity))

    def reader_notes(self) -> None:
        """What the reader saw: the sheet read, merged cells, a totals row."""
        for note in self.table.notes:
            rows = np.array([note.row], dtype=object)
            part = _part(self.table, rows, note.column, note.check, note.message, note.severity)
            self.findings.append(part)

    def check_columns(self) -> None:
        present = [c for c in self.raw.columns if c != ROW]
        extra = [c for c in present if c not in self.spec.columns]
        missing = [name for name in self.spec.columns if name not in present]
        hints = self.layout_hints(missing, present)
        for name in missing:
            column = self.spec.columns[name]
            hint = suggest(name, extra)
            shown = visible(hint) if hint else hint
            self.note(
                "missing_column",
                name,
                f"declared column '{name}' ({column.type}) is not in the data"
                + (f"; {shown} (rename it in the binding)" if hint else "")
                + hints,
            )
        if extra and self.table.options.get("extra_columns") != "ignore":
            listed = ", ".join(f"'{visible(c)}'" for c in extra[:EXTRA_SHOWN])
            more = f" and {len(extra) - EXTRA_SHOWN} more" if len(extra) > EXTRA_SHOWN else ""
            if len(extra) == 1:
                message = f"column {listed} is not declared in source '{self.spec.name}'"
            else:
                message = (
                    f"{len(extra)} columns are not declared in source '{self.spec.name}': "
                    f"{listed}{more}"
                )
            self.note(
                "extra_column",
                extra[0] if len(extra) == 1 else None,
                message + "; they are left out (`extra_columns: ignore` in the binding "
                "stops this message)"
                if len(extra) > 1
                else message + "; it is left out (`extra_columns: ignore` in the binding "
                "stops this message)",
            )

    def layout_hints(self, missing: list[str], present: list[str]) -> str:
        """When declared columns are missing, say why it may be: the header is on a lower
        row, or the file uses another delimiter and was read as one column."""
        if not missing:
            return ""
        back = {new: old for old, new in self.table.options.get("rename", {}).items()}
        wanted = {back.get(name, name) for name in self.spec.columns}
        below = self.raw.head(PREVIEW_ROWS)
        rows = [*self.table.preview]
        rows += [
            (int(r), tuple(as_text(below[c]).fillna("").iloc[i] for c in present))
            for i, r in enumerate(below[ROW])
        ]
        for row, cells in rows:
            if len(wanted & set(cells)) >= max(1, (len(wanted) + 1) // 2):
                return (
                    f"; the declared columns are named on row {row}: "
                    f"set `header_row: {row}` in the binding"
                )
        if len(present) == 1:
            for mark, word in ((";", ";"), ("\t", "\\t"), ("|", "|")):
                if mark in present[0]:
                    return (
                        f"; the file was read as one column named '{visible(present[0][:60])}'"
                        f" — it looks separated by '{word}': set `delimiter: \"{word}\"` "
                        "in the binding"
                    )
        return ""

    def check_empty(self, used: int) -> None:
        """A source with no data rows, or none left, scores everyone as having no data:
        an error unless the binding says `allow_empty: true`."""
        if not self.table.from_file or self.table.options.get("allow_empty"):
            return  # DataFrames: an empty one is how code says "no data" (empty_frame)
        read = len(self.raw)
        if read == 0:
            message = (
                "the file has no data rows (only the header); if that is expected, "
                "set `allow_empty: true` in the binding"
            )
        elif used == 0:
            message = (
                f"none of the {read} rows can be used: each one has a problem listed "
                "here; fix them (a date or number format can be declared in the binding)"
            )
        else:
            return
        self.note("empty_source", None, message)

    def check_cells(self, column: model.Column, role: str | None) -> None:
        name = column.name
        fmt = self.formats(name)
        typed = coerce(self.raw[name], column.type, fmt)
        self.typed[name] = typed
        word = _expected(column.type, fmt)

        def mismatch(pick: np.ndarray) -> pd.Series:
            text = typed.text(pick)
            message = f"{name}: " + _quote(text) + f" is not {word}"
            if column.type != "date":
                return message
            # 9999-12-31 and the like: how HR systems write "no end date"
            far = _flag(text.str.fullmatch(r"(?:22[6-9]\d|2[3-9]\d\d|[3-9]\d{3})-\d\d-\d\d"))
            hint = (
                " (dates after 2262-04-11 cannot be held; if it means no date, declare "
                'it in the binding: `formats: { no_date: ["' + text + '"] }`)'
            )
            return message.where(~far, message + hint)

        self.flag("type_mismatch", typed.bad, name, mismatch)
        if role is not None:
            self.flag("null_key", typed.empty, name, f"the {role} column '{name}' is empty")
        elif column.required:
            self.flag("null_value", typed.empty, name, f"required column '{name}' is empty")
        if column.allowed is not None:
            outside = typed.values.notna() & ~_allowed(typed.values, column)
            listed = ", ".join(_literal(v, column.type) for v in column.allowed)
            self.flag(
                "not_allowed",
                _flag(outside),
                name,
                lambda pick: f"{name}: " + _quote(typed.text(pick)) + f" is not one of {listed}",
            )

    def check_duplicates(self) -> None:
        key = self.spec.key
        if key not in self.typed:
            return
        values = self.typed[key].values
        known = values.notna().to_numpy()
        groups = self.rows[known].groupby(values[known].to_numpy(), sort=False)
        count = groups.transform("size").reindex(self.raw.index, fill_value=0)
        first = groups.transform("min").reindex(self.raw.index, fill_value=0)
        text = self.typed[key].text

        def message(pick: np.ndarray) -> pd.Series:
            return (
                f"{key} "
                + _quote(text(pick))
                + " is on "
                + count[pick].astype("string")
                + " rows (first on row "
                + first[pick].astype("string")
                + "); all of them are left out"
            )

        self.flag("duplicate_key", count > 1, key, message)

    def check_subjects(self) -> None:
        subject, ctx = self.spec.subject, self.ctx
        if self.spec.is_roster or subject not in self.typed or ctx.roster_used is None:
            return
        values = self.typed[subject].values
        same = ctx.roster.columns[ctx.roster.key].type == self.spec.columns[subject].type
        mine = values if same else as_text(values)
        used = ctx.roster_used if same else as_text(ctx.roster_used)
        everyone = ctx.roster_all if same else as_text(ctx.roster_all)
        unknown = _flag(values.notna() & ~mine.isin(used))
        excluded = mine.isin(everyone)
        text, roster = self.typed[subject].text, ctx.roster.name

        def message(pick: np.ndarray) -> pd.Series:
            shown = f"{subject} " + _quote(text(pick))
            left_out = shown + f" is on a row of '{roster}' that was left out"
            return left_out.where(excluded[pick], shown + f" is not in the roster '{roster}'")

        self.flag("unknown_subject", unknown, subject, message)

    def check_range(self) -> None:
        time = self.spec.time
        start, end = self.ctx.effective
        start = self.ctx.history.get(self.spec.name, start)
        if self.spec.is_roster or time not in self.typed or (start is None and end is None):
            return
        values = self.typed[time].values
        outside = pd.Series(False, index=values.index)
        if start is not None:
            outside |= _flag(values < start)
        if end is not None:
            outside |= _flag(values > end)
        span = f"{_day(start) if start else '…'} to {_day(end) if end else '…'}"
        self.flag(
            "out_of_range",
            outside,
            time,
            lambda pick: (
                f"{time} "
                + values[pick].dt.strftime("%Y-%m-%d")
                + f" is outside the range the policy reads ({span})"
            ),
        )


def _history_starts(policy: model.Policy, calendar: Calendar) -> dict[str, pd.Timestamp]:
    """Per source, the earliest date a row may carry when a rolling window reads it: the
    effective start moved back by as many periods as its longest window looks back
    (`over last 4 periods` needs the three periods before the first one evaluated)."""
    from kpirules.plan import build

    header = policy.header
    if header is None or header.effective_start is None:
        return {}
    first = calendar.ordinal_of_date(date.fromisoformat(header.effective_start))
    look_back: dict[str, int] = {}
    for step in build(policy).steps:
        for agg in step.aggregates:
            look_back[agg.source] = max(look_back.get(agg.source, 0), agg.window - 1)
    return {
        source: pd.Timestamp(calendar.start(first - periods))
        for source, periods in look_back.items()
        if periods
    }


def check_data(
    policy: model.Policy,
    tables: dict[str, RawTable],
    calendar: Calendar,
    *,
    as_of: date | None = None,
    periods: list[int] | None = None,
) -> LoadedData:
    """Type and check the raw tables given (the roster first: others check subjects in it)."""
    header = policy.header
    levels = levels_of(policy)
    effective = (
        _timestamp(header.effective_start) if header else None,
        _timestamp(header.effective_end) if header else None,
    )
    ctx = _Context(levels, effective, policy.roster, history=_history_starts(policy, calendar))
    names = sorted(tables, key=lambda n: (not policy.sources[n].is_roster, n))
    frames: dict[str, pd.DataFrame] = {}
    parts: list[dict] = []
    accounts: list[dict] = []
    for name in names:
        spec, table = policy.sources[name], tables[name]
        outcome = _SourceCheck(spec, table, ctx).run()
        if spec.is_roster and spec.key in outcome.frame:
            ctx.roster_used = outcome.frame[spec.key].dropna()
            ctx.roster_all = _all_keys(spec, table)
        frames[name] = outcome.frame
        parts.extend(outcome.findings)
        accounts.append(_account(table, outcome.reasons))
    reference = reference_date(policy, calendar, as_of or date.today(), periods)
    stale_days = Decimal(levels.get("stale_after", DEFAULT_STALE_DAYS))
    for name in names:
        spec = policy.sources[name]
        if not spec.is_roster and spec.time in frames[name]:
            found = _stale(tables[name], frames[name][spec.time], spec.time, reference, stale_days)
            parts.extend(found)
    findings = _findings_frame(parts, levels)
    accounting = pd.DataFrame(accounts, columns=list(ACCOUNTING_COLUMNS))
    return LoadedData(
        frames=frames,
        findings=findings,
        accounting=accounting,
        files={name: tables[name].file for name in names},
        blocked=bool((findings["severity"] == "error").any()),
    )


def levels_of(policy: model.Policy) -> dict[str, str]:
    """Severity per check (and `stale_after`): the defaults, then the policy's settings."""
    settings = policy.header.data_quality if policy.header else {}
    return {**DEFAULT_LEVELS, **settings}


def reference_date(
    policy: model.Policy, calendar: Calendar, as_of: date, periods: list[int] | None
) -> date:
    """Freshness is judged at the end of the latest period evaluated, or at `as_of` if earlier.
    Without periods the latest is the one the policy's effective range ends in."""
    ends = [as_of]
    if periods:
        ends.append(calendar.end(max(periods)))
    elif policy.header and policy.header.effective_end:
        ends.append(date.fromisoformat(policy.header.effective_end))
    return min(ends)


def _stale(
    table: RawTable, times: pd.Series, column: str, reference: date, days: Decimal
) -> list[dict]:
    latest = times.max()
    if pd.isna(latest):
        message = f"no usable rows with a {column}; cannot tell whether the data is current"
        return [_source_finding(table, "stale", column, message)]
    gap = (pd.Timestamp(reference) - latest).days
    if gap <= days:
        return []
    message = (
        f"the latest {column} is {_day(latest)}, {gap} days before {reference.isoformat()}; "
        f"data older than {days.normalize():f} days is stale"
    )
    return [_source_finding(table, "stale", column, message)]


# ------------------------------------------------------------------ helpers


def _identity_columns(spec: model.Source) -> dict[str, str]:
    """Columns that say whose row and when: empty ones make the row unusable (null_key)."""
    roles = ("key",) if spec.is_roster else ("key", "subject", "time")
    found: dict[str, str] = {}
    for role in roles:
        column = spec.roles.get(role)
        if column and column not in found:
            found[column] = role
    return found


def _allowed(values: pd.Series, column: model.Column) -> pd.Series:
    allowed = list(column.allowed or ())
    if column.type == "bool":
        return values.isin([bool(v) for v in allowed if isinstance(v, bool)])
    if column.type == "text":
        return values.isin([str(v) for v in allowed])
    # Numbers compared after rounding, so 15% parsed from "15%" equals the literal 15%.
    wanted = np.round([float(v) for v in allowed if not isinstance(v, (str, bool))], 9)
    return pd.Series(np.round(values.to_numpy(dtype="float64"), 9), index=values.index).isin(wanted)


def _literal(value, type_name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    if type_name == "percent":
        return f"{(Decimal(value) * 100).normalize():f}%"
    return f"{Decimal(value).normalize():f}"


def _all_keys(spec: model.Source, table: RawTable) -> pd.Series:
    key = spec.key
    if key not in table.frame.columns:
        return pd.Series([], dtype=object)
    options = table.options
    fmt = {**options.get("formats", {}), **options.get("columns", {}).get(key, {})}
    return coerce(table.frame[key], spec.columns[key].type, fmt).values.dropna()


def _account(table: RawTable, reasons: pd.Series) -> dict:
    counts = reasons.value_counts()
    row = {
        "source": table.source,
        "file": table.file,
        "rows_read": len(reasons),
        "rows_used": int((reasons == "").sum()),
        "rows_excluded": int((reasons != "").sum()),
    }
    return row | {reason: int(counts.get(reason, 0)) for reason in EXCLUSIONS}


def _expected(type_name: str, fmt: dict) -> str:
    """What a cell of the type should look like, in the words of a mismatch message."""
    pattern = fmt.get("date")
    if type_name == "date" and pattern == "excel":
        return "a date (an Excel serial day number, or YYYY-MM-DD)"
    if type_name == "date" and pattern:
        return f"a date ({pattern}, or YYYY-MM-DD)"
    if type_name in ("number", "integer", "money", "days", "hours", "minutes", "percent") and (
        "decimal" in fmt or "thousands" in fmt
    ):
        decimal = fmt.get("decimal", ".")
        thousands = fmt.get("thousands", "," if decimal == "." else "")
        sample = ("1" + thousands + "234" if thousands else "1234") + decimal + "5"
        return TYPE_WORDS.get(type_name, type_name).split(" (")[0] + f" written as {sample}"
    if type_name == "bool" and "true_words" in fmt:
        words = "/".join(map(str, fmt["true_words"])) + " or "
        words += "/".join(map(str, fmt["false_words"]))
        return f"yes or no ({words})"
    return TYPE_WORDS.get(type_name, type_name)


def _source_finding(
    table: RawTable, check: str, column: str | None, message: str, severity: str | None = None
) -> dict:
    return _part(table, np.array([None], dtype=object), column, check, message, severity)


def _part(
    table: RawTable,
    rows: np.ndarray,
    column: str | None,
    check: str,
    messages,
    severity: str | None = None,
) -> dict:
    """Findings as columns of arrays: one frame is built from all of them, once.
    `severity`: None for the check's level (the policy's or the default)."""
    size = len(rows)
    return {
        "severity": np.full(size, severity, dtype=object),
        "source": np.full(size, table.source, dtype=object),
        "file": np.full(size, table.file, dtype=object),
        "row": rows,
        "column": np.full(size, column, dtype=object),
        "check": np.full(size, check, dtype=object),
        "message": np.full(size, messages, dtype=object)
        if isinstance(messages, str)
        else np.asarray(messages, dtype=object),
    }


def _findings_frame(parts: list[dict], levels: dict[str, str]) -> pd.DataFrame:
    columns = list(FINDING_COLUMNS)
    joined = {
        c: np.concatenate([p[c] for p in parts]) if parts else np.array([], dtype=object)
        for c in columns
    }
    frame = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in joined.items()})
    frame["row"] = pd.array(joined["row"], dtype="Int64")
    fixed = frame["severity"]
    frame["severity"] = fixed.where(fixed.notna(), frame["check"].map(levels)).astype(object)
    frame = frame[frame["severity"] != "ignore"]
    frame = frame.sort_values(
        ["source", "row", "column", "check", "message"], na_position="first", kind="stable"
    )
    return frame[list(FINDING_COLUMNS)].reset_index(drop=True)


def _timestamp(text: str | None) -> pd.Timestamp | None:
    return pd.Timestamp(text) if text else None


def _day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")
