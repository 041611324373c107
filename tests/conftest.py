from __future__ import annotations

import os

import pytest

import tonecheck


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fuzz-long", action="store_true", default=False,
                     help="run the fuzz properties on 100,000 inputs each (minutes) instead of a few hundred")


def pytest_configure(config: pytest.Config) -> None:
    # Read by tests/test_fuzz.py when it is imported (after this hook).
    if config.getoption("--fuzz-long"):
        os.environ["TONECHECK_FUZZ_LONG"] = "1"


@pytest.fixture(scope="session")
def checker() -> tonecheck.Checker:
    return tonecheck.default_checker()


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole test run (local[2], small shuffles, no UI).

    Skips, with the reason shown, when pyspark or a Java runtime is missing (.ci/run installs both).
    """
    import os
    import shutil
    import sys

    pytest.importorskip("pyspark", reason="pyspark not installed (pip install -e '.[spark]')")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("Spark tests need a Java runtime: none on PATH and JAVA_HOME unset "
                    "(.ci/run installs openjdk-17-jre-headless)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    try:
        session = (SparkSession.builder.master("local[2]").appName("tonecheck-tests")
                   .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", "4").config("spark.default.parallelism", "2")
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.sql.execution.arrow.maxRecordsPerBatch", "256")   # groups cut across batches
                   # tiny data: planning and code generation cost more than they save
                   .config("spark.sql.adaptive.enabled", "false").config("spark.sql.codegen.wholeStage", "false")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")       # createDataFrame(pandas)
                   .config("spark.python.daemon.module", "tonecheck.spark_daemon").getOrCreate())
    except Exception as exc:  # a broken Java install: say so instead of erroring every test
        pytest.skip(f"Spark could not start: {str(exc).splitlines()[0][:200]}")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
