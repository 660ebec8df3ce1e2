"""The data layer: bindings, readers, typing and every data-quality check.

Each check gets a tiny hand-made input and the exact findings it must produce; the formats
must agree with each other, and nothing may depend on the order of rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from datetime import date
from functools import cache
from pathlib import Path

import jsonschema
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpirules.check import check
from kpirules.data import (
    ACCOUNTING_COLUMNS,
    EXCLUSIONS,
    FINDING_COLUMNS,
    DataError,
    LoadedData,
    empty_frame,
    load_data,
)
from kpirules.data.quality import coerce
from kpirules.parser import parse
from kpirules.periods import Calendar
from kpirules.resources import schema

POLICY = """\
policy "P" {
  cadence quarterly
  effective 2026-01-01 to 2026-12-31
  %s
}
roster employees {
  key employee_id
  columns { employee_id: text required  name: text  active: bool }
}
source orders {
  subject rep_id  time closed_on  key order_id
  columns {
    order_id: text  rep_id: text  closed_on: date  amount: money required
    market: text in ["core", "new"]  qty: integer  rate: percent  days: days
  }
}
"""
AS_OF = date(2026, 1, 10)  # no test data is more than 7 days older: fresh
EMPLOYEES = "employee_id,name,active\ne1,Ann,yes\ne2,Bob,no\n"
HEADER = "order_id,rep_id,closed_on,amount,market,qty,rate,days\n"
ORDERS = HEADER + 'o1,e1,2026-01-05,"1,234.50",core,3,30%,1.5\no2,e2,2026-02-10,99,new,1,0.25,2\n'


@cache
def make_policy(data_quality: str = ""):
    module, problems = parse(POLICY % data_quality, "t.kpi")
    assert not problems
    policy, diagnostics = check([module])
    assert policy is not None, diagnostics
    return policy


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project root with a data folder; paths in messages are relative to it."""
    (tmp_path / ".kpirules.toml").write_text("")
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(project: Path, employees=EMPLOYEES, orders=ORDERS, dq="", **options) -> LoadedData:
    (project / "data" / "employees.csv").write_text(employees, encoding="utf-8")
    (project / "data" / "orders.csv").write_text(orders, encoding="utf-8")
    options.setdefault("as_of", AS_OF)
    return load_data(make_policy(dq), project / "data", **options)


def found(result: LoadedData, *checks: str) -> list[tuple]:
    """(source, row, column, check, severity), optionally only some checks."""
    rows = result.findings
    if checks:
        rows = rows[rows["check"].isin(checks)]
    return [
        (r.source, None if pd.isna(r.row) else int(r.row), r.column, r.check, r.severity)
        for r in rows.itertuples()
    ]


def messages(result: LoadedData, check_name: str) -> list[str]:
    return result.findings.loc[result.findings["check"] == check_name, "message"].tolist()


def excluded(result: LoadedData, source: str, reason: str) -> int:
    return int(result.accounting.set_index("source").loc[source, reason])


# ------------------------------------------------------------------ clean data


def test_clean_csv_gives_typed_frames_and_no_findings(project):
    result = run(project)
    assert result.findings.empty
    assert list(result.findings.columns) == list(FINDING_COLUMNS)
    assert not result.blocked
    assert result.files == {"employees": "data/employees.csv", "orders": "data/orders.csv"}
    orders = result.frames["orders"]
    assert list(orders.columns) == [
        *("order_id", "rep_id", "closed_on", "amount", "market", "qty", "rate", "days"),
        "_row",
    ]
    assert orders.dtypes.astype(str).to_dict() == {
        "order_id": "object",
        "rep_id": "object",
        "closed_on": "datetime64[ns]",
        "amount": "float64",
        "market": "object",
        "qty": "float64",
        "rate": "float64",
        "days": "float64",
        "_row": "int64",
    }
    assert orders["amount"].tolist() == [1234.5, 99.0]
    assert orders["rate"].tolist() == [0.3, 0.25]
    assert orders["closed_on"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-02-10")]
    assert orders["_row"].tolist() == [2, 3]
    assert [type(v) for v in orders["order_id"]] == [str, str]
    employees = result.frames["employees"]
    assert str(employees["active"].dtype) == "boolean"
    assert employees["active"].tolist() == [True, False]


def test_accounting_reconciles_per_source(project):
    orders = (
        HEADER
        + "o1,e1,2026-01-05,1,core,1,1,1\n"  # used
        + ",e1,2026-01-05,x,core,1,1,1\n"  # null_key and type_mismatch: null_key wins
        + "o3,e1,2026-01-05,,core,1,1,1\n"  # null_value
        + "o4,e1,2026-01-05,1,old,1,1,1\n"  # not_allowed
        + "o5,e9,2026-01-05,1,core,1,1,1\n"  # unknown_subject
        + "o6,e1,2025-06-30,1,core,1,1,1\n"  # out_of_range
        + "o7,e1,2026-01-05,1,core,1,1,1\no7,e2,2026-01-06,1,core,1,1,1\n"  # duplicate_key
    )
    result = run(project, orders=orders)
    assert list(result.accounting.columns) == list(ACCOUNTING_COLUMNS)
    row = result.accounting.set_index("source").loc["orders"]
    assert row[["rows_read", "rows_used", "rows_excluded"]].tolist() == [8, 1, 7]
    assert {reason: int(row[reason]) for reason in EXCLUSIONS} == {
        "null_key": 1,
        "type_mismatch": 0,
        "null_value": 1,
        "not_allowed": 1,
        "duplicate_key": 2,
        "unknown_subject": 1,
        "out_of_range": 1,
    }
    for _, account in result.accounting.iterrows():
        assert account["rows_read"] == account["rows_used"] + account["rows_excluded"]
        assert account["rows_excluded"] == sum(account[r] for r in EXCLUSIONS)
        assert account["rows_used"] == len(result.frames[account["source"]])
    # the row with two problems reports both, but is counted once
    assert found(result, "type_mismatch", "null_key") == [
        ("orders", 3, "amount", "type_mismatch", "warning"),
        ("orders", 3, "order_id", "null_key", "warning"),
    ]


# ------------------------------------------------------------------ one test per check


def test_missing_column_is_an_error_and_blocks(project):
    orders = (
        "order_id,rep_id,closed_on,Amount,market,qty,rate,days\no1,e1,2026-01-05,1,core,1,1,1\n"
    )
    result = run(project, orders=orders)
    assert found(result, "missing_column") == [
        ("orders", None, "amount", "missing_column", "error")
    ]
    assert messages(result, "missing_column") == [
        "declared column 'amount' (money) is not in the data; "
        "did you mean 'Amount'? (rename it in the binding)"
    ]
    assert result.blocked
    assert "amount" not in result.frames["orders"].columns
    assert excluded(result, "orders", "rows_used") == 1  # rows are not dropped for it


def test_extra_column_is_reported_and_left_out(project):
    result = run(project, employees="employee_id,name,active,note\ne1,Ann,yes,hi\ne2,Bob,,\n")
    assert found(result) == [("employees", None, "note", "extra_column", "warning")]
    assert messages(result, "extra_column") == [
        "column 'note' is not declared in source 'employees'; it is left out"
        " (`extra_columns: ignore` in the binding stops this message)"
    ]
    assert list(result.frames["employees"].columns) == ["employee_id", "name", "active", "_row"]
    assert not result.blocked


def test_type_mismatch_names_row_column_and_value(project):
    orders = (
        HEADER
        + "o1,e1,2026-01-05,12abc,core,1,1,1\n"
        + "o2,e1,2026/01/05,1,core,1.5,x,1\n"
        + "o3,e1,2026-01-05,1,core,1,1,1\n"
    )
    result = run(project, orders=orders)
    assert found(result) == [
        ("orders", 2, "amount", "type_mismatch", "warning"),
        ("orders", 3, "closed_on", "type_mismatch", "warning"),
        ("orders", 3, "qty", "type_mismatch", "warning"),
        ("orders", 3, "rate", "type_mismatch", "warning"),
    ]
    assert messages(result, "type_mismatch")[:2] == [
        "amount: '12abc' is not an amount (a plain number such as 1234.50)",
        "closed_on: '2026/01/05' is not a date (YYYY-MM-DD)",
    ]
    assert result.frames["orders"]["order_id"].tolist() == ["o3"]
    assert excluded(result, "orders", "type_mismatch") == 2


def test_null_value_in_a_required_column(project):
    result = run(project, employees="employee_id,name,active\ne1,,\ne2,Bob,no\n")
    assert found(result) == []  # name and active are optional
    orders = HEADER + "o1,e1,2026-01-05,  ,core,,,\no2,e1,2026-01-05,1,,,,\n"
    result = run(project, orders=orders)
    assert found(result) == [("orders", 2, "amount", "null_value", "warning")]
    assert messages(result, "null_value") == ["required column 'amount' is empty"]
    assert result.frames["orders"]["order_id"].tolist() == ["o2"]


def test_not_allowed_values(project):
    orders = HEADER + "o1,e1,2026-01-05,1,Core,1,1,1\no2,e1,2026-01-05,1,,1,1,1\n"
    result = run(project, orders=orders)
    assert found(result) == [("orders", 2, "market", "not_allowed", "warning")]
    assert messages(result, "not_allowed") == ['market: \'Core\' is not one of "core", "new"']
    assert result.frames["orders"]["_row"].tolist() == [3]  # empty is allowed: not required


def test_not_allowed_compares_percentages_and_booleans_by_value():
    text = (
        POLICY.replace("rate: percent", "rate: percent in [10%, 12.5%]")
        .replace("active: bool", "active: bool in [true]")
        .replace("%s", "")
    )
    policy, diagnostics = check([parse(text, "t.kpi")[0]])
    assert policy is not None, diagnostics
    employees = pd.DataFrame({"employee_id": ["e1", "e2"], "active": ["yes", "no"]})
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "rep_id": ["e1"] * 3,
            "closed_on": ["2026-01-05"] * 3,
            "amount": ["1"] * 3,
            "rate": ["12.5%", "0.1", "11%"],
        }
    )
    result = load_data(policy, {"employees": employees, "orders": orders}, as_of=AS_OF)
    assert found(result, "not_allowed") == [
        ("employees", 2, "active", "not_allowed", "warning"),
        ("orders", 3, "rate", "not_allowed", "warning"),
    ]
    assert messages(result, "not_allowed")[1] == "rate: '11%' is not one of 10%, 12.5%"


def test_null_key_for_key_subject_and_time_columns(project):
    orders = (
        HEADER
        + ",e1,2026-01-05,1,core,1,1,1\n"
        + "o2,,2026-01-05,1,core,1,1,1\n"
        + "o3,e1,,1,core,1,1,1\n"
        + "o4,e1,2026-01-05,1,core,1,1,1\n"
    )
    result = run(
        project, employees="employee_id,name,active\n ,Nobody,no\ne1,Ann,yes\n", orders=orders
    )
    assert found(result) == [
        ("employees", 2, "employee_id", "null_key", "warning"),
        ("orders", 2, "order_id", "null_key", "warning"),
        ("orders", 3, "rep_id", "null_key", "warning"),
        ("orders", 4, "closed_on", "null_key", "warning"),
    ]
    assert messages(result, "null_key") == [
        "the key column 'employee_id' is empty",
        "the key column 'order_id' is empty",
        "the subject column 'rep_id' is empty",
        "the time column 'closed_on' is empty",
    ]
    assert result.frames["orders"]["order_id"].tolist() == ["o4"]


def test_duplicate_key_excludes_every_row_sharing_the_key(project):
    orders = (
        HEADER
        + "o1,e1,2026-01-05,1,core,1,1,1\n"
        + "o2,e1,2026-01-06,2,core,1,1,1\n"
        + "o1,e2,2026-01-07,3,core,1,1,1\n"
        + "o1,e2,2026-01-08,4,core,1,1,1\n"
    )
    result = run(project, orders=orders)
    assert found(result) == [
        ("orders", 2, "order_id", "duplicate_key", "warning"),
        ("orders", 4, "order_id", "duplicate_key", "warning"),
        ("orders", 5, "order_id", "duplicate_key", "warning"),
    ]
    assert set(messages(result, "duplicate_key")) == {
        "order_id 'o1' is on 3 rows (first on row 2); all of them are left out"
    }
    assert result.frames["orders"]["order_id"].tolist() == ["o2"]
    assert excluded(result, "orders", "duplicate_key") == 3


def test_unknown_subject_and_subjects_of_left_out_roster_rows(project):
    employees = "employee_id,name,active\ne1,Ann,yes\ne2,Bob,no\ne2,Bob again,no\n"
    orders = (
        HEADER
        + "o1,e1,2026-01-05,1,core,1,1,1\n"
        + "o2,e9,2026-01-06,1,core,1,1,1\n"
        + "o3,e2,2026-01-07,1,core,1,1,1\n"
    )
    result = run(project, employees=employees, orders=orders)
    assert found(result, "unknown_subject") == [
        ("orders", 3, "rep_id", "unknown_subject", "warning"),
        ("orders", 4, "rep_id", "unknown_subject", "warning"),
    ]
    assert messages(result, "unknown_subject") == [
        "rep_id 'e9' is not in the roster 'employees'",
        "rep_id 'e2' is on a row of 'employees' that was left out",
    ]
    assert result.frames["orders"]["order_id"].tolist() == ["o1"]


def test_out_of_range_against_the_effective_range(project):
    orders = (
        HEADER
        + "o1,e1,2025-12-31,1,core,1,1,1\n"
        + "o2,e1,2026-01-01,1,core,1,1,1\n"
        + "o3,e1,2026-12-31,1,core,1,1,1\n"
        + "o4,e1,2027-01-01,1,core,1,1,1\n"
    )
    result = run(project, orders=orders, as_of=date(2027, 1, 1))
    assert found(result) == [
        ("orders", 2, "closed_on", "out_of_range", "warning"),
        ("orders", 5, "closed_on", "out_of_range", "warning"),
    ]
    assert messages(result, "out_of_range")[0] == (
        "closed_on 2025-12-31 is outside the range the policy reads (2026-01-01 to 2026-12-31)"
    )
    assert result.frames["orders"]["order_id"].tolist() == ["o2", "o3"]


def test_stale_is_judged_at_the_earlier_of_period_end_and_as_of(project):
    # latest order 2026-02-10; Q1 2026 ends 2026-03-31
    quarter = Calendar("quarterly").parse("2026-Q1")
    fresh = run(project, as_of=date(2026, 2, 17))
    assert found(fresh, "stale") == []  # 7 days: not more than stale_after
    late = run(project, as_of=date(2026, 2, 18))
    assert found(late, "stale") == [("orders", None, "closed_on", "stale", "warning")]
    assert messages(late, "stale") == [
        "the latest closed_on is 2026-02-10, 8 days before 2026-02-18; "
        "data older than 7 days is stale"
    ]
    assert late.frames["orders"]["_row"].tolist() == [2, 3]  # nothing excluded
    by_period = run(project, as_of=date(2026, 12, 1), periods=[quarter])
    assert "49 days before 2026-03-31" in messages(by_period, "stale")[0]
    earlier_period = run(project, as_of=date(2026, 12, 1), periods=[quarter - 1])
    assert found(earlier_period, "stale") == []  # data newer than the period: fine


def test_stale_after_from_the_policy_and_no_dated_rows(project):
    result = run(project, dq="data_quality { stale_after 36 hours }", as_of=date(2026, 2, 12))
    assert messages(result, "stale") == [
        "the latest closed_on is 2026-02-10, 2 days before 2026-02-12; "
        "data older than 1.5 days is stale"
    ]
    empty = run(project, orders=HEADER)
    assert messages(empty, "stale") == [
        "no usable rows with a closed_on; cannot tell whether the data is current"
    ]


def test_policy_levels_override_defaults_and_ignore_still_excludes(project):
    dq = "data_quality { type_mismatch error  extra_column ignore  missing_column warning }"
    orders = (
        "order_id,rep_id,closed_on,amount,market,qty,rate,note\n"
        "o1,e1,2026-01-05,x,core,1,1,hi\no2,e1,2026-01-05,1,core,1,1,\n"
    )
    result = run(project, orders=orders, dq=dq)
    assert found(result) == [
        ("orders", None, "days", "missing_column", "warning"),
        ("orders", 2, "amount", "type_mismatch", "error"),
    ]
    assert result.blocked
    orders = HEADER + "o1,e1,2026-01-05,x,core,1,1,1\no2,e1,2026-01-05,1,core,1,1,1\n"
    ignored = run(project, orders=orders, dq="data_quality { type_mismatch ignore }")
    assert found(ignored) == [] and not ignored.blocked
    assert ignored.frames["orders"]["order_id"].tolist() == ["o2"]
    assert excluded(ignored, "orders", "type_mismatch") == 1


# ------------------------------------------------------------------ typing rules

BAD = object()


@pytest.mark.parametrize(
    ("type_name", "cells", "expected"),
    [
        ("number", ["1,234.5", "-7", "1e3", " 2 ", ""], [1234.5, -7.0, 1000.0, 2.0, None]),
        ("number", ["abc", "1,2", "12,34.5", "inf", "NaN", "1 000"], [BAD] * 6),
        ("integer", ["3", "3.0", "1,000", "1.5", "x"], [3.0, 3.0, 1000.0, BAD, BAD]),
        ("money", ["1234.50", "-0.5", "¥12", "$5", "12 CNY"], [1234.5, -0.5, BAD, BAD, BAD]),
        ("percent", ["30%", "0.3", "12.5 %", "1,000%", "x%", "%"], [0.3, 0.3, 0.125, 10, BAD, BAD]),
        ("days", ["1.5", "2", "3 days"], [1.5, 2.0, BAD]),
        ("hours", ["0.25", "-"], [0.25, BAD]),
        ("minutes", ["90", "1:30"], [90.0, BAD]),
        (
            "bool",
            ["true", "YES", "y", "1", "False", "No", "N", "0", "是", "否", "maybe", "2", ""],
            [True, True, True, True, False, False, False, False, True, False, BAD, BAD, None],
        ),
        (
            "date",
            ["2026-01-05", "2026-01-05 10:30:00", "2026-01-05T10:30", "2026/01/05"],
            [pd.Timestamp("2026-01-05")] * 3 + [BAD],
        ),
        ("date", ["05.01.2026", "2026-02-30", "2026-01", "9999-12-31", ""], [BAD] * 4 + [None]),
        ("text", ["  a  ", "", "   ", "中文"], ["a", None, None, "中文"]),
    ],
)
def test_type_parsing(type_name, cells, expected):
    typed = coerce(pd.Series(cells, dtype=object), type_name)
    for cell, value, want, bad, empty in zip(
        cells, typed.values, expected, typed.bad, typed.empty, strict=True
    ):
        if want is BAD:
            assert bad and pd.isna(value), cell
        elif want is None:
            assert empty and not bad and pd.isna(value), cell
        else:
            assert not bad and not empty, cell
            assert value == (want if type_name in ("date", "text", "bool") else pytest.approx(want))


def test_typed_cells_keep_their_types():
    numbers = coerce(pd.Series([1, 2.5, None, "3"], dtype=object), "number")
    assert numbers.values.tolist()[:2] == [1.0, 2.5] and numbers.values.iloc[3] == 3.0
    ids = coerce(pd.Series([1001.0, np.nan, 1.5]), "text")
    assert ids.values.tolist() == ["1001", None, "1.5"]
    stamps = pd.Series(pd.to_datetime(["2026-01-05 23:59"]).tz_localize("Asia/Shanghai"))
    assert coerce(stamps, "date").values.tolist() == [pd.Timestamp("2026-01-05")]
    flags = coerce(pd.Series([True, None, False], dtype=object), "bool")
    assert flags.values.tolist() == [True, pd.NA, False] and not flags.bad.any()
    assert str(coerce(pd.Series([True, False]), "bool").values.dtype) == "boolean"
    assert coerce(pd.Series([True]), "number").bad.all()  # a yes/no is not a number


def test_typed_columns_name_their_cells_in_messages():
    """Typed cells (numbers from Parquet or a DataFrame) become text only for messages;
    the message must still show the cell as the file holds it."""
    text = POLICY.replace("order_id: text", "order_id: integer").replace("%s", "")
    policy, diagnostics = check([parse(text, "t.kpi")[0]])
    assert policy is not None, diagnostics
    employees = pd.DataFrame({"employee_id": ["e1"]})
    orders = pd.DataFrame(
        {
            "order_id": np.array([7, 8, 7], dtype="int64"),
            "rep_id": ["e1"] * 3,
            "closed_on": pd.to_datetime(["2026-01-05"] * 3),
            "amount": [1.0, np.inf, np.nan],
        }
    )
    result = load_data(policy, {"employees": employees, "orders": orders}, as_of=AS_OF)
    assert messages(result, "type_mismatch") == [
        "amount: 'inf' is not an amount (a plain number such as 1234.50)"
    ]
    assert messages(result, "null_value") == ["required column 'amount' is empty"]
    assert (
        messages(result, "duplicate_key")
        == ["order_id '7' is on 2 rows (first on row 1); all of them are left out"] * 2
    )
    typed = coerce(pd.Series([1.0, 2.5, np.nan]), "money")
    assert typed.empty.tolist() == [False, False, True] and not typed.bad.any()
    assert typed.text(np.array([True, True, False])).tolist() == ["1", "2.5"]


# ------------------------------------------------------------------ formats agree


def expected_frames(first_row: int) -> dict[str, pd.DataFrame]:
    employees = pd.DataFrame(
        {
            "employee_id": ["e1", "e2"],
            "name": ["Ann", "Bob"],
            "active": pd.array([True, False], dtype="boolean"),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2"],
            "rep_id": ["e1", "e2"],
            "closed_on": pd.to_datetime(["2026-01-05", "2026-02-10"]).astype("datetime64[ns]"),
            "amount": [1234.5, 99.0],
            "market": ["core", "new"],
            "qty": [3.0, 1.0],
            "rate": [0.3, 0.25],
            "days": [1.5, 2.0],
        }
    )
    frames = {"employees": employees, "orders": orders}
    for frame in frames.values():
        for column in frame.columns:
            if frame[column].dtype.kind not in "fMb" and str(frame[column].dtype) != "boolean":
                frame[column] = frame[column].astype(object)
        frame["_row"] = np.arange(first_row, first_row + 2, dtype="int64")
    return frames


def write_xlsx(path: Path) -> None:
    book = openpyxl.Workbook()
    staff = book.active
    staff.title = "Staff"
    for row in (["employee_id", "name", "active"], ["e1", "Ann", True], ["e2", "Bob", "no"]):
        staff.append(row)
    orders = book.create_sheet("Orders")
    orders.append(["Order ID", "rep_id", "Closed", "amount", "market", "qty", "rate", "days"])
    orders.append(["o1", "e1", dt.datetime(2026, 1, 5), 1234.5, "core", 3, 0.3, 1.5])
    orders.append(["o2", "e2", dt.datetime(2026, 2, 10, 9, 30), "99", "new", 1.0, "25%", 2])
    book.save(path)


def write_parquet(folder: Path) -> None:
    pq.write_table(
        pa.table(
            {
                "employee_id": ["e1", "e2"],
                "name": ["Ann", "Bob"],
                "active": [True, False],
            }
        ),
        folder / "employees.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "order_id": ["o1", "o2"],
                "rep_id": ["e1", "e2"],
                "closed_on": pa.array([date(2026, 1, 5), date(2026, 2, 10)]),
                "amount": pa.array([1234.5, 99], pa.float64()),
                "market": ["core", "new"],
                "qty": pa.array([3, 1], pa.int64()),
                "rate": [0.3, 0.25],
                "days": [1.5, 2.0],
            }
        ),
        folder / "orders.parquet",
    )


def assert_frames(result: LoadedData, first_row: int) -> None:
    assert result.findings.empty, result.findings
    for name, want in expected_frames(first_row).items():
        pd.testing.assert_frame_equal(result.frames[name], want)


def test_csv_xlsx_parquet_and_dataframes_give_the_same_frames(project):
    policy = make_policy()
    assert_frames(run(project), first_row=2)

    write_xlsx(project / "book.xlsx")
    (project / "data.yaml").write_text(
        "version: 1\n"
        "sources:\n"
        "  employees: { path: book.xlsx, sheet: Staff }\n"
        '  orders: { path: book.xlsx, sheet: Orders, rename: { "Order ID": order_id,'
        " Closed: closed_on } }\n"
    )
    xlsx = load_data(policy, project / "data.yaml", as_of=AS_OF)
    assert_frames(xlsx, first_row=2)
    assert xlsx.files == {"employees": "book.xlsx", "orders": "book.xlsx"}

    parquet_dir = project / "pq"
    parquet_dir.mkdir()
    write_parquet(parquet_dir)
    assert_frames(load_data(policy, parquet_dir, as_of=AS_OF), first_row=1)

    frames = {
        "employees": pd.DataFrame(
            {"employee_id": ["e1", "e2"], "name": ["Ann", "Bob"], "active": [True, False]}
        ),
        "orders": pd.DataFrame(
            {
                "order_id": ["o1", "o2"],
                "rep_id": ["e1", "e2"],
                "closed_on": [date(2026, 1, 5), "2026-02-10"],
                "amount": ["1,234.5", 99],
                "market": ["core", "new"],
                "qty": [3, 1],
                "rate": ["30%", 0.25],
                "days": [1.5, 2],
            }
        ),
    }
    from_frames = load_data(policy, frames, as_of=AS_OF)
    assert_frames(from_frames, first_row=1)
    assert from_frames.files["orders"] == "<DataFrame orders>"
    again = load_data(policy, from_frames.frames, as_of=AS_OF)  # typed frames round-trip
    assert_frames(again, first_row=1)


def test_unnamed_columns_named_index_and_empty_frames(project):
    result = run(project, employees="employee_id,name,active,,\ne1,Ann,yes,x,\ne2,Bob,no,,\n")
    assert found(result) == [("employees", None, "(column D)", "extra_column", "warning")]
    policy = make_policy()
    frames = {
        "employees": pd.DataFrame(
            {"employee_id": ["e1"], "name": ["Ann"], "active": [None]}
        ).set_index("employee_id"),
        "orders": empty_frame(policy.sources["orders"]),
    }
    result = load_data(policy, frames, as_of=AS_OF)
    assert result.frames["employees"]["employee_id"].tolist() == ["e1"]
    assert found(result) == [("orders", None, "closed_on", "stale", "warning")]
    assert result.frames["orders"].dtypes["amount"] == "float64"


def test_csv_row_numbers_count_the_header_and_blank_lines(project):
    orders = HEADER + "o1,e1,2026-01-05,1,core,1,1,1\n\n,,,,,,,\no2,e1,2026-01-06,x,core,1,1,1\n"
    result = run(project, orders=orders)
    assert found(result) == [("orders", 5, "amount", "type_mismatch", "warning")]
    assert int(result.accounting.set_index("source").loc["orders", "rows_read"]) == 2


def test_xlsx_row_numbers_skip_empty_rows(project):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["employee_id", "name", "active", None])
    sheet.append(["e1", "Ann", True])
    sheet.append([])
    sheet.append(["e2", "Bob", "maybe"])
    book.save(project / "data" / "employees.xlsx")
    (project / "data" / "orders.csv").write_text(ORDERS)
    result = load_data(make_policy(), project / "data", as_of=AS_OF)
    assert found(result, "type_mismatch") == [
        ("employees", 4, "active", "type_mismatch", "warning")
    ]


def test_csv_options_encoding_and_delimiter(project):
    (project / "staff.csv").write_bytes("employee_id;name;active\ne1;张三;是\n".encode("gbk"))
    (project / "data" / "orders.csv").write_text(ORDERS)
    (project / "data.yaml").write_text(
        "version: 1\nsources:\n"
        "  employees: { path: staff.csv, encoding: gbk, delimiter: ';' }\n"
        "  orders: { path: data/orders.csv }\n"
    )
    result = load_data(make_policy(), project / "data.yaml", as_of=AS_OF)
    assert result.frames["employees"][["name", "active"]].values.tolist() == [["张三", True]]


# ------------------------------------------------------------------ bindings


def test_default_binding_needs_exactly_one_file_per_source(project):
    (project / "data" / "orders.csv").write_text(ORDERS)
    (project / "data" / "orders.parquet").write_bytes(b"")
    with pytest.raises(DataError) as caught:
        load_data(make_policy(), project / "data")
    assert caught.value.problems == [
        "data: no data for source 'employees' "
        "(looked for employees.csv, employees.xlsx, employees.parquet)",
        "data: several files for source 'orders': orders.csv, orders.parquet; "
        "keep one, or write a data.yaml binding",
    ]


def test_a_folder_with_data_yaml_uses_it(project):
    (project / "data" / "staff.csv").write_text(EMPLOYEES)
    (project / "data" / "sales.csv").write_text(ORDERS)
    (project / "data" / "data.yaml").write_text(
        "version: 1\nsources:\n  employees: {path: staff.csv}\n  orders: {path: sales.csv}\n"
    )
    result = load_data(make_policy(), project / "data", as_of=AS_OF)
    assert result.files == {"employees": "data/staff.csv", "orders": "data/sales.csv"}
    assert len(result.frames["orders"]) == 2


def binding_problems(project: Path, text: str) -> list[str]:
    (project / "data" / "orders.csv").write_text(ORDERS)
    (project / "data" / "employees.csv").write_text(EMPLOYEES)
    (project / "data.yaml").write_text(text)
    with pytest.raises(DataError) as caught:
        load_data(make_policy(), "data.yaml")
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_binding_schema_errors_name_the_yaml_path(project):
    problems = binding_problems(
        project,
        "version: 1\nsources:\n  orders: { sheet: Orders }\n"
        "  employees: { path: data/employees.csv, colour: red, rename: { a: 1 } }\n",
    )
    assert problems == [
        "data.yaml: sources.employees: Additional properties are not allowed "
        "('colour' was unexpected)",
        "data.yaml: sources.employees.rename.a: 1 is not of type 'string'",
        "data.yaml: sources.orders: 'path' is a required property",
    ]
    # A schema error is reported with the other problems, all at once.
    assert binding_problems(project, "version: 2\nsources: {}\n") == [
        "data.yaml: version: 1 was expected",
        "data.yaml: source 'employees' has no entry under 'sources'",
        "data.yaml: source 'orders' has no entry under 'sources'",
    ]
    assert binding_problems(project, "- orders\n") == [
        "data.yaml: ['orders'] is not of type 'object'; a binding is a mapping with "
        "`version: 1` and `sources:`"
    ]
    assert binding_problems(project, "") == [
        "data.yaml: the binding is empty; it needs `version: 1` and `sources:`"
    ]


def test_binding_yaml_syntax_error_gives_line_and_column(project):
    problems = binding_problems(project, "version: 1\nsources:\n  orders: { path: [\n")
    assert len(problems) == 1 and problems[0].startswith("data.yaml: not valid YAML at line 4")


def test_binding_must_match_the_policy_sources(project):
    problems = binding_problems(
        project,
        "version: 1\nsources:\n  order: {path: data/orders.csv}\n"
        "  employees: {path: data/missing.csv}\n",
    )
    assert problems == [
        "data.yaml: sources.employees: file not found: data/missing.csv",
        "data.yaml: sources.order: the policy declares no source 'order' (did you mean 'orders'?)",
        "data.yaml: source 'orders' has no entry under 'sources'",
    ]


def test_binding_options_must_fit_the_format(project):
    problems = binding_problems(
        project,
        "version: 1\nsources:\n  orders: {path: data/orders.csv, sheet: S}\n"
        "  employees: {path: data/employees.csv, format: parquet, encoding: nope}\n",
    )
    assert problems == [
        "data.yaml: sources.employees: 'encoding' applies to csv files only, not parquet",
        "data.yaml: sources.employees: unknown encoding 'nope'",
        "data.yaml: sources.orders: 'sheet' applies to xlsx files only, not csv",
    ]
    (project / "data" / "orders.txt").write_text(ORDERS)
    assert binding_problems(
        project,
        "version: 1\nsources:\n  orders: {path: data/orders.txt}\n"
        "  employees: {path: data/employees.csv}\n",
    ) == [
        "data.yaml: sources.orders: cannot tell the format of 'data/orders.txt' from its "
        "extension; add `format: csv`, `format: xlsx` or `format: parquet`"
    ]


def test_binding_rename_of_an_absent_column(project):
    problems = binding_problems(
        project,
        "version: 1\nsources:\n  orders: {path: data/orders.csv, rename: {Order: order_id}}\n"
        "  employees: {path: data/employees.csv, rename: {name: employee_id}}\n",
    )
    assert problems == [
        "data/employees.csv: rename: two columns would be called 'employee_id'",
        "data/orders.csv: rename: the file has no column 'Order' (did you mean 'order_id'?)",
    ]


def test_paths_outside_the_project_root_are_refused(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "orders.csv"
    outside.write_text(ORDERS)
    problems = binding_problems(
        project,
        f"version: 1\nsources:\n  orders: {{path: {outside}}}\n"
        "  employees: {path: ../employees.csv}\n",
    )
    assert problems == [
        "data.yaml: sources.employees: path '../employees.csv' points outside the project root (.)",
        f"data.yaml: sources.orders: path '{outside}' points outside the project root (.)",
    ]
    (project / "data" / "orders.csv").unlink()
    (project / "data" / "orders.csv").symlink_to(outside)
    (project / "data.yaml").unlink()
    with pytest.raises(DataError) as caught:
        load_data(make_policy(), project / "data")
    assert caught.value.problems == [
        "data/orders.csv: path 'orders.csv' points outside the project root"
    ]


def test_binding_schema_accepts_the_documented_example():
    example = {
        "version": 1,
        "sources": {
            "employees": {"path": "employees.csv"},
            "orders": {
                "path": "orders.xlsx",
                "sheet": "Orders",
                "rename": {"Order ID": "order_id", "Closed": "closed_on"},
            },
            "surveys": {"path": "surveys.parquet"},
            "tickets": {"path": "t.txt", "format": "csv", "encoding": "gbk", "delimiter": "\t"},
        },
    }
    jsonschema.Draft202012Validator(schema("binding.schema.json")).validate(example)


def test_docs_show_the_binding_schema():
    text = (Path(__file__).parent.parent / "docs" / "data.md").read_text(encoding="utf-8")
    block = re.search(r"### 1.5 The schema\s+```json\n(.*?)```", text, re.S)
    assert block and json.loads(block.group(1)) == schema("binding.schema.json")


def test_dataframe_mapping_must_match_the_policy():
    frames = {"employees": pd.DataFrame(), "order": pd.DataFrame(), "x": [1]}
    with pytest.raises(DataError) as caught:
        load_data(make_policy(), frames)
    assert caught.value.problems == [
        "the policy declares no source 'order' (did you mean 'orders'?)",
        "the policy declares no source 'x'",
        "no data for source 'orders'",
    ]


# ------------------------------------------------------------------ unreadable files


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("orders.csv", b"", "data/orders.csv: the file is empty; row 1 must name the columns"),
        (
            "orders.csv",
            b"PK\x03\x04\x00\x00binary",
            "data/orders.csv: binary data, not a CSV text file",
        ),
        (
            "orders.csv",
            "order_id\ncaf\xe9\n".encode("latin-1"),
            "data/orders.csv: not utf-8-sig text (byte 0xE9 at offset 12); "
            "set `encoding:` in the binding",
        ),
        (
            "orders.csv",
            b"a,b\n1,2\n1,2,3\n",
            "data/orders.csv: cannot read as csv: Error tokenizing data. "
            "C error: Expected 2 fields in line 3, saw 3",
        ),
        ("orders.csv", b"a,a\n1,2\n", "data/orders.csv: column 'a' appears more than once"),
        (
            "orders.csv",
            b"\na,b\n1,2\n",
            "data/orders.csv: row 1 is empty; it must name the columns",
        ),
        ("orders.xlsx", b"not a zip", "data/orders.xlsx: cannot read as xlsx: "),
        ("orders.parquet", b"PAR1 garbage", "data/orders.parquet: cannot read as parquet: "),
    ],
)
def test_corrupt_files_give_a_clear_error(project, name, content, problem):
    (project / "data" / "employees.csv").write_text(EMPLOYEES)
    (project / "data" / name).write_bytes(content)
    with pytest.raises(DataError) as caught:
        load_data(make_policy(), project / "data")
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(problem)


def test_every_unreadable_file_is_reported_at_once(project):
    (project / "data" / "employees.xlsx").write_bytes(b"junk")
    (project / "data" / "orders.parquet").write_bytes(b"junk")
    with pytest.raises(DataError) as caught:
        load_data(make_policy(), project / "data")
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "data/employees.xlsx",
        "data/orders.parquet",
    ]


def test_missing_sheet_lists_the_sheets(project):
    write_xlsx(project / "book.xlsx")
    problems = binding_problems(
        project,
        "version: 1\nsources:\n  employees: {path: book.xlsx, sheet: People}\n"
        "  orders: {path: data/orders.csv}\n",
    )
    assert problems == ["book.xlsx: no sheet 'People' (sheets: Staff, Orders)"]


# ------------------------------------------------------------------ row order


CELLS = {
    "order_id": ["o1", "o2", "o3", "o4", ""],
    "rep_id": ["e1", "e2", "e3", "e9", ""],
    "closed_on": ["2026-01-05", "2026-02-01", "2025-12-31", "bad", ""],
    "amount": ["1", "2.5", "1,000", "x", ""],
    "market": ["core", "new", "old", ""],
}
ROWS = st.lists(st.tuples(*(st.sampled_from(v) for v in CELLS.values())), max_size=12)
ROSTER = pd.DataFrame(
    {"employee_id": ["e1", "e2", "e2", "e3"], "name": ["A", "B", "B2", "C"], "_row": [2, 3, 4, 5]}
)


@settings(max_examples=40, deadline=None)
@given(rows=ROWS, data=st.data())
def test_results_do_not_depend_on_row_order(rows, data):
    policy = make_policy()
    orders = pd.DataFrame(rows, columns=list(CELLS), dtype=object)
    orders["_row"] = np.arange(2, len(orders) + 2, dtype="int64")
    order = data.draw(st.permutations(range(len(orders))))
    roster_order = data.draw(st.permutations(range(len(ROSTER))))
    shuffled = orders.iloc[list(order)]
    first = load_data(policy, {"employees": ROSTER, "orders": orders}, as_of=AS_OF)
    second = load_data(
        policy, {"employees": ROSTER.iloc[list(roster_order)], "orders": shuffled}, as_of=AS_OF
    )
    for name in first.frames:
        a = first.frames[name].sort_values("_row", ignore_index=True)
        b = second.frames[name].sort_values("_row", ignore_index=True)
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(first.findings, second.findings)
    pd.testing.assert_frame_equal(first.accounting, second.accounting)
    # every row is used, or excluded with a finding naming it
    used = set(first.frames["orders"]["_row"])
    named = set(first.findings.loc[first.findings["source"] == "orders", "row"].dropna())
    assert named >= set(orders["_row"]) - used
    assert len(used) + excluded(first, "orders", "rows_excluded") == len(orders)


def test_rows_before_the_range_are_history_for_rolling_windows():
    text = """
policy "W" { cadence quarterly  effective 2026-01-01 to 2026-12-31 }
roster people { key id  columns { id: text } }
source sales { subject id  time day  columns { id: text  day: date  amount: number } }
indicator rolling { unit number  better higher  = sum(sales.amount over last 3 periods) }
"""
    module, diagnostics = parse(text, "t.kpi")
    policy, diagnostics = check([module])
    assert policy is not None, diagnostics
    sales = pd.DataFrame(
        {
            "id": ["p1"] * 3,
            # 2025-07-01 starts 2025-Q3, two quarters before 2026-Q1: inside the window.
            "day": ["2025-06-30", "2025-07-01", "2026-02-01"],
            "amount": ["1", "2", "4"],
        }
    )
    loaded = load_data(
        policy, {"people": pd.DataFrame({"id": ["p1"]}), "sales": sales}, as_of=date(2026, 12, 31)
    )
    assert loaded.frames["sales"]["amount"].tolist() == [2.0, 4.0]
    (message,) = messages(loaded, "out_of_range")
    assert (
        message == "day 2025-06-30 is outside the range the policy reads (2025-07-01 to 2026-12-31)"
    )


def test_a_database_entry_names_what_it_lacks(project):
    """Without a server: what is wrong with a database entry is said before connecting."""
    cases = {
        "{ url: 'postgresql://hr@db/hr' }": "needs `table:` or `query:` (one of them)",
        "{ url: 'postgresql://hr@db/hr', table: o, query: 'select 1' }": "(one of them)",
        "{ url: 'postgresql://hr@db/hr', table: o, path: data/orders.csv }": "not both",
        "{ table: orders }": "table need `url:`",
        "{ url: 'postgresql://hr@db/hr', table: o, sheet: S }": "sheet apply to files",
        "{ url: 'mysql://hr@db/hr', table: o }": "does not match '^postgres(ql)?://'",
    }
    for entry, expected in cases.items():
        problems = binding_problems(
            project,
            f"version: 1\nsources:\n  orders: {entry}\n"
            "  employees: { path: data/employees.csv }\n",
        )
        assert any(expected in problem for problem in problems), (entry, problems)
