"""The Spark runner: the DuckDB runner's queries, run by Apache Spark (PySpark).

The SQL runner builds every read of the plan as an Ibis expression, so the same
expressions compile for Spark: this module only opens a Spark session, hands it the
run's tables and names Spark's half-even rounding (`bround`). The results JSON is
byte-identical to the other runners' (`tests/integration/test_spark.py`).

The master comes from `--spark-master` (or `KPIRULES_SPARK_MASTER`): `local[*]` runs
Spark in this process's machine with every core; `spark://host:7077` (or any master
URL Spark accepts) runs it on a cluster. Spark needs Java 17 or later.
"""

from __future__ import annotations

import os
import warnings

import ibis
import pandas as pd

from kpirules.engine.runner import RunnerUnavailable
from kpirules.engine.sql import Connection, DuckDBRunner, SqlEvaluator

DEFAULT_MASTER = "local[*]"


@ibis.udf.scalar.builtin(name="bround")
def spark_round_even(value: float, digits: int) -> float:  # Spark's banker's rounding
    ...


_chosen: dict[str, str] = {}


def use_master(url: str | None) -> None:
    """The Spark master every Spark session of this process connects to (`--spark-master`)."""
    if url:
        _chosen["master"] = url


def master() -> str:
    return _chosen.get("master") or os.environ.get("KPIRULES_SPARK_MASTER") or DEFAULT_MASTER


class SparkConnection(Connection):
    """A Spark session: each frame becomes a temporary view of a Spark DataFrame."""

    name = "spark"
    round_even = staticmethod(spark_round_even)

    @classmethod
    def open(cls) -> SparkConnection:
        try:
            from pyspark.sql import SparkSession
        except ImportError as missing:
            raise RunnerUnavailable(
                f"the Spark engine needs PySpark ({missing.name} is not installed): "
                "pip install 'kpirules[spark]'"
            ) from None
        # PySpark warns on every conversion that it was not tested with pandas 3; the
        # conversions it does here (numbers, text, timestamps through Arrow) are
        # checked against the other runners by the Spark tests.
        warnings.filterwarnings("ignore", module=r"pyspark\.")
        builder = (
            SparkSession.builder.master(master())
            .appName("kpirules")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.session.timeZone", "UTC")  # dates read as written
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
        )
        try:
            session = builder.getOrCreate()
        except Exception as failed:  # PySpark reports a missing Java as a runtime error
            raise RunnerUnavailable(
                f"Spark did not start ({failed}); it needs Java 17 or later "
                "(for example the openjdk-17-jre-headless package) and JAVA_HOME or java "
                "on the PATH"
            ) from None
        session.sparkContext.setLogLevel("ERROR")
        connection = cls(ibis.pyspark.connect(session))
        connection.session = session
        return connection

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.session.createDataFrame(frame).createOrReplaceTempView(name)


class SparkEvaluator(SqlEvaluator):
    connect = SparkConnection.open


class SparkRunner(DuckDBRunner):
    """The plan's reads in Spark; formulas, scoring and outcomes on the grid."""

    name = "spark"
    evaluator = SparkEvaluator
