"""The plan on Apache Spark (PySpark in local mode): the same results JSON as DuckDB's.

Spark runs on the system's Java (17 or later); `make test-integration` installs PySpark
into the project's environment (`pip install '.[spark]'`) and says what to install when
Java is missing. A missing piece fails the test with what to install; it is never
skipped."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import kpirules
from kpirules import engine
from kpirules.cli import main
from kpirules.data import load_data
from kpirules.engine import evaluate
from kpirules.engine.sql import DuckDBRunner
from tests.test_runners_property import AS_OF, first_difference

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
AS_OF_TEXT = "2027-01-04"
EXAMPLES = ["sales", "engineering", "customer_service", "manufacturing", "ecommerce", "zh_retail"]


@pytest.fixture(scope="module")
def spark():
    if shutil.which("java") is None:
        pytest.fail("java not found: install Java 17+ (apt-get install openjdk-17-jre-headless)")
    if importlib.util.find_spec("pyspark") is None:
        pytest.fail("PySpark is not installed: pip install '.[spark]' (make test-integration does)")
    from kpirules.engine.spark import SparkRunner

    return SparkRunner


@pytest.mark.parametrize("org", EXAMPLES)
def test_every_example_gives_the_same_json_on_spark_as_on_duckdb(spark, org: str) -> None:
    policy = kpirules.load(POLICIES / org)
    loaded = load_data(policy, POLICIES / org / "data.yaml", as_of=AS_OF)
    duck = evaluate(policy, loaded, runner=DuckDBRunner(), history=True).to_json()
    on_spark = evaluate(policy, loaded, runner=spark(), history=True).to_json()
    assert '"payouts": [\n    {' in duck  # the comparison covers real outcomes
    assert on_spark == duck, first_difference(duck, on_spark)


def test_the_flagship_at_10000_people_gives_the_same_json_on_spark(spark) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from bench_engine import POLICY_DIR, generate
    finally:
        sys.path.remove(str(ROOT / "bench"))
    policy = kpirules.load(POLICY_DIR)
    loaded = load_data(policy, generate(10_000), as_of=AS_OF)
    duck = evaluate(policy, loaded, runner=DuckDBRunner()).to_json()
    on_spark = evaluate(policy, loaded, runner=spark()).to_json()
    assert len(duck) > 1_000_000
    assert on_spark == duck, first_difference(duck, on_spark)


def test_the_engine_option_runs_eval_on_spark(spark) -> None:
    sales = POLICIES / "sales"
    command = ["eval", str(sales), "--data", str(sales / "data.yaml"), "--format", "json"]
    command += ["--as-of", AS_OF_TEXT]
    try:
        on_spark = CliRunner().invoke(main, ["--engine", "spark", *command])
        assert on_spark.exit_code == 0, on_spark.output
        assert type(engine.default_runner()).__name__ == "SparkRunner"
        duck = CliRunner().invoke(main, ["--engine", "duckdb", *command])
    finally:
        engine.use_runner("pandas")
    assert '"payouts": [' in duck.output
    assert on_spark.output == duck.output
