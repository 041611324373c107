from __future__ import annotations

import pytest

import tonecheck


@pytest.fixture(scope="session")
def checker() -> tonecheck.Checker:
    return tonecheck.default_checker()
