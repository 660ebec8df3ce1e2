"""The results JSON is written column by column (`Results.to_json`); it must be the same
text, byte for byte, as json.dumps of the row-by-row dict (`to_dict`) — the reference.
(`records_json` leaves control characters to `escape_json`, as `to_json` does last.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kpirules
from kpirules.data import load_data
from kpirules.engine import evaluate
from kpirules.results import records_json
from kpirules.text import escape_json, to_json

POLICIES = Path(__file__).resolve().parent.parent / "policies"
EXAMPLES = ["sales", "engineering", "customer_service", "manufacturing", "ecommerce", "zh_retail"]


def reference(results) -> str:
    return to_json(results.to_dict(), indent=2, allow_nan=False) + "\n"


@pytest.mark.parametrize("org", EXAMPLES)
def test_every_example_writes_the_reference_text(org: str) -> None:
    policy = kpirules.load(POLICIES / org)
    loaded = load_data(policy, POLICIES / org / "data.yaml")
    results = evaluate(policy, loaded, history=True)
    text = results.to_json()
    assert text == reference(results)
    assert json.loads(text)["summary"]["evaluated"] > 0


def dump_of_records(frame: pd.DataFrame, level: int) -> str:
    """What json.dumps(indent=2) prints for the records as the value of a key at `level`."""
    from kpirules.results import records

    document = {"k": records(frame)}
    for _ in range(level // 2 - 1):
        document = {"k": document}
    text = to_json(document, indent=2, allow_nan=False)
    start = text.index("[") if records(frame) else text.index("[]")
    end = text.rindex("]") + 1
    return text[start:end]


def test_odd_values_are_written_as_json_dumps_writes_them() -> None:
    frame = pd.DataFrame(
        {
            "float": [0.1 + 0.2, -0.0, np.nan, np.inf, 2.0**60, 1e-10, 123456789.123456789],
            "int": np.array([0, -1, 2**62, 7, 8, 9, 10], dtype="int64"),
            "text": ["a", "é 中文", 'quote " and \\', "\x1b[31m", "\u202ebidi", None, "\t"],
            "mixed": [True, None, "x", 1.5, pd.NA, False, np.float64(2.5)],
            "bool": pd.array([True, False, None, True, True, False, None], dtype="boolean"),
            "date": pd.to_datetime(["2026-01-02", None, "2026-12-31", None, None, None, None]),
        }
    )
    for level in (2, 4):
        assert escape_json(records_json(frame, level)) == dump_of_records(frame, level)
    assert records_json(frame.iloc[:0], 2) == "[]"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()),
            st.one_of(st.text(max_size=8), st.none()),
            st.integers(-(2**62), 2**62),
        ),
        max_size=30,
    )
)
def test_random_columns_are_written_as_json_dumps_writes_them(rows) -> None:
    frame = pd.DataFrame(rows, columns=["number", "text", "count"])
    frame["number"] = frame["number"].astype("float64")
    frame["count"] = frame["count"].astype("int64")
    assert escape_json(records_json(frame, 2)) == dump_of_records(frame, 2)
