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
