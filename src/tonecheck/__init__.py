"""tonecheck: compliance checks for Chinese debt-collection conversations.

    >>> import tonecheck
    >>> r = tonecheck.check("你再不还钱，我就去你单位闹")
    >>> [f.subtype for f in r.findings]
    ['threat.exposure']

The module-level functions use one cached default :class:`Checker`; build
your own ``Checker(...)`` for team lexicons, rule selection or severities.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Mapping

from .checker import MAX_TEXT_CHARS, Checker, ConfigError, InputError
from .lexicon import LexiconError
from .models import (
    SCHEMA_VERSION, Category, CheckResult, Conversation, ConversationResult, Finding, Severity, Utterance,
)

__version__ = "0.1.0"

__all__ = [
    "check", "check_conversation", "default_checker", "Checker", "CheckResult", "Conversation",
    "ConversationResult", "Finding", "Utterance", "Category", "Severity", "InputError", "ConfigError", "LexiconError",
    "MAX_TEXT_CHARS", "SCHEMA_VERSION", "__version__",
]


@lru_cache(maxsize=1)
def default_checker() -> Checker:
    """The shared checker with the bundled lexicons and model (built on first use).

    ``TONECHECK_MODEL=0`` in the environment leaves the model out (rules only).
    """
    return Checker(model=os.environ.get("TONECHECK_MODEL", "1").strip().lower() not in ("0", "false", "no", "off"))


def check(text: str, *, role: str = "agent", counterpart: str = "unknown", channel: str = "call") -> CheckResult:
    """Check one utterance or message draft with the default checker."""
    return default_checker().check(text, role=role, counterpart=counterpart, channel=channel)  # type: ignore[arg-type]


def check_conversation(conv: Conversation | Mapping[str, Any]) -> ConversationResult:
    """Check a whole conversation (a Conversation or a plain dict) with the default checker."""
    return default_checker().check_conversation(conv)
