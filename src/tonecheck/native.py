"""The optional C paths (``tonecheck._grams``, ``_gates``, ``_fold``), where they were built.

setup.py builds them when the machine installing tonecheck has a C compiler; without one,
or with ``TONECHECK_PURE_PYTHON=1`` in the environment (to rule them out when chasing a
problem, or to time the Python paths), the same work is done in Python. Both paths give
the same results: the tests compare them.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType


# The interface version the Python side expects of every C module (TONECHECK_C_API in the .c
# files). A module built from other sources (a stale build directory) is not used.
API = 3


def load(name: str) -> ModuleType | None:
    """``tonecheck.<name>``, or None when it was not built, is switched off or is stale."""
    if os.environ.get("TONECHECK_PURE_PYTHON", "").strip() not in ("", "0"):
        return None
    try:
        module = importlib.import_module(f"tonecheck.{name}")
    except ImportError:
        return None
    return module if getattr(module, "API", None) == API else None


def in_use() -> dict[str, bool]:
    """Which C paths this process uses (for ``tonecheck --version`` style reports and tests)."""
    return {name: load(name) is not None for name in ("_grams", "_gates", "_fold")}
