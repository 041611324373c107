"""Contact policy as a pure function: limits, days, time zones, night window wrapping midnight."""
from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given, settings, strategies as st

from tonecheck.batch.config import ContactConfig
from tonecheck.batch.contact import contact_findings, is_night, parse_offset, parse_time


def test_night_window_wraps_midnight_and_is_configurable():
    assert is_night(dt.time(22, 0), "22:00", "08:00") and is_night(dt.time(3, 0), "22:00", "08:00")
    assert not is_night(dt.time(8, 0), "22:00", "08:00") and not is_night(dt.time(21, 59), "22:00", "08:00")
    assert is_night(dt.time(21, 30), "21:00", "08:00")
    assert is_night(dt.time(13, 0), "12:00", "14:00") and not is_night(dt.time(15, 0), "12:00", "14:00")


def test_aware_times_are_converted_to_the_configured_offset():
    tz = parse_offset("+08:00")
    assert parse_time("2026-11-28T15:30:00Z", tz) == dt.datetime(2026, 11, 28, 23, 30)
    assert parse_time("2026/11/28 9:05", tz) == dt.datetime(2026, 11, 28, 9, 5)
    assert parse_time("yesterday", tz) is None
    recs = [(0, {"call_start": "2026-11-28T15:30:00Z"}), (1, {"call_start": "not a time"})]
    found, warnings = contact_findings(recs, ContactConfig())
    assert [f.subtype for f in found[0]] == ["contact.night_call"] and 1 in warnings


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["c1", "c2", "c3"]), st.integers(0, 2), st.integers(8, 20),
                          st.booleans()), max_size=40),
       st.integers(0, 8))
def test_every_unanswered_attempt_beyond_the_daily_limit_is_one_finding(calls, limit):
    recs = [(i, {"contact_id": c, "call_start": f"2026-11-{10 + day:02d} {hour:02d}:{i % 60:02d}:00",
                 "outcome": "answered" if answered else "unanswered"})
            for i, (c, day, hour, answered) in enumerate(calls)]
    found, _ = contact_findings(recs, ContactConfig(max_unanswered_per_day=limit))
    n = sum(1 for fs in found.values() for f in fs if f.subtype == "contact.too_many_attempts")
    per_day = Counter((c, day) for c, day, _, answered in calls if not answered)
    assert n == sum(max(0, k - limit) for k in per_day.values())
    assert not any(f.subtype == "contact.night_call" for fs in found.values() for f in fs)   # 08:00–20:59
