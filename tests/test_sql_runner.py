"""The DuckDB runner against the pandas runner: byte-identical results JSON.

The pandas runner is the reference; the DuckDB runner (`kpirules.engine.sql`) runs the
plan's reads as SQL. Whatever the policy and the data, both must give the same
`to_json()` — on every example, on the random valid policies of the property tests, and
on the flagship at 10,000 people (where float sums in another order would differ)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import kpirules
from kpirules.data import load_data
from kpirules.engine import PandasRunner, evaluate
from kpirules.engine.sql import DuckDBRunner
from tests.test_runners_property import (
    AS_OF,
    SETTINGS,
    cases,
    first_difference,
    load_policy,
    shuffled,
)

POLICIES = Path(__file__).resolve().parent.parent / "policies"
EXAMPLES = ["sales", "engineering", "customer_service", "manufacturing", "ecommerce", "zh_retail"]


def both(policy, data, **options) -> tuple[str, str]:
    reference = evaluate(policy, data, runner=PandasRunner(), **options).to_json()
    return reference, evaluate(policy, data, runner=DuckDBRunner(), **options).to_json()


@pytest.mark.parametrize("org", EXAMPLES)
def test_every_example_gives_the_same_json_on_both_runners(org: str) -> None:
    policy = kpirules.load(POLICIES / org)
    loaded = load_data(policy, POLICIES / org / "data.yaml", as_of=AS_OF)
    reference, duck = both(policy, loaded, history=True)
    assert '"payouts": [\n    {' in reference  # the comparison covers real outcomes
    assert duck == reference, first_difference(reference, duck)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated")


@settings(max_examples=30, **SETTINGS)
@given(case=cases(), seed=st.integers(0, 2**16))
def test_random_policies_give_the_same_json_on_both_runners(folder: Path, case, seed) -> None:
    text, _, frames = case
    note(text)
    policy = load_policy(text, folder)
    if policy is None:
        return  # the checker refused it: nothing to run (counted by the property tests)
    data = shuffled(frames, seed)  # and the rows in another order than the reference's
    reference = evaluate(policy, frames, runner=PandasRunner(), as_of=AS_OF).to_json()
    duck = evaluate(policy, data, runner=DuckDBRunner(), as_of=AS_OF).to_json()
    assert duck == reference, first_difference(reference, duck)


def test_the_flagship_at_10000_people_gives_the_same_json_on_both_runners() -> None:
    bench = Path(__file__).resolve().parent.parent / "bench"
    sys.path.insert(0, str(bench))
    try:
        from bench_engine import POLICY_DIR, generate
    finally:
        sys.path.remove(str(bench))
    policy = kpirules.load(POLICY_DIR)
    loaded = load_data(policy, generate(10_000), as_of=AS_OF)
    reference, duck = both(policy, loaded)
    assert len(reference) > 1_000_000
    assert duck == reference, first_difference(reference, duck)


def test_the_engine_option_chooses_the_runner_and_both_print_the_same() -> None:
    from click.testing import CliRunner

    from kpirules import engine
    from kpirules.cli import main

    sales = POLICIES / "sales"
    command = ["eval", str(sales), "--data", str(sales / "data.yaml"), "--format", "json"]
    command += ["--as-of", "2027-01-04"]
    outputs = {}
    try:
        for name in ("pandas", "duckdb"):
            result = CliRunner().invoke(main, ["--engine", name, *command])
            assert result.exit_code == 0, result.output
            assert (
                type(engine.default_runner()).__name__
                == {
                    "pandas": "PandasRunner",
                    "duckdb": "DuckDBRunner",
                }[name]
            )
            outputs[name] = result.output
        wrong = CliRunner().invoke(main, ["--engine", "sqlite", *command])
        assert wrong.exit_code == 2 and "'sqlite' is not one of" in wrong.output
    finally:
        engine.use_runner("pandas")  # the API's default, for the tests after this one
    assert outputs["duckdb"] == outputs["pandas"]
    assert '"payouts": [' in outputs["pandas"]


@pytest.mark.parametrize("org", ["sales", "zh_retail"])
def test_explain_on_duckdb_derives_the_same_numbers(org: str) -> None:
    """Explain evaluates the one person (and their groups' goals, from the groups' full
    rows on DuckDB) with the chosen runner: the derivation must not change."""
    from kpirules import engine
    from kpirules.trace import Explainer

    policy = kpirules.load(POLICIES / org)
    loaded = load_data(policy, POLICIES / org / "data.yaml", as_of=AS_OF)
    scored = evaluate(policy, loaded).totals.dropna(subset=["total"])
    people = list(dict.fromkeys(scored["subject"]))[:5]
    trees = {}
    for name in ("pandas", "duckdb"):
        engine.use_runner(name)
        trees[name] = [Explainer(policy, loaded).explain(person).to_dict() for person in people]
    assert any(child["title"] == "goals" for tree in trees["pandas"] for child in tree["children"])
    assert trees["duckdb"] == trees["pandas"]


def test_spark_without_pyspark_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Spark engine is optional: without PySpark a command says how to get it, exit 2."""
    from click.testing import CliRunner

    from kpirules import engine
    from kpirules.cli import main

    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    sales = POLICIES / "sales"
    command = ["--engine", "spark", "eval", str(sales), "--data", str(sales / "data.yaml")]
    try:
        result = CliRunner().invoke(main, [*command, "--as-of", "2027-01-04"])
    finally:
        engine.use_runner("pandas")
    assert result.exit_code == 2, result.output
    assert "the Spark engine needs PySpark" in result.output
    assert "pip install 'kpirules[spark]'" in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
