"""Contact policy from call metadata, across the whole batch.

* ``contact.night_call``: a contact attempt whose local start time falls in the
  quiet hours (default 22:00–08:00).
* ``contact.too_many_attempts``: more than N unanswered attempts (default 6)
  to the same contact on the same local day; every attempt beyond the N-th is
  a finding.

Both are conversation-level findings (span 0–0) that count as violations.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections import defaultdict
from typing import Any, Iterable

from ..models import Finding, Severity
from .config import ContactConfig

NIGHT_ID, ATTEMPTS_ID = "CON-NIGHT-001", "CON-FREQ-001"
SOURCE = "中国银行业协会《金融机构个人消费类贷款催收工作指引（试行）》"


def contact_key(v: Any, salt: bytes = b"") -> str | None:
    """A stand-in for a contact number that groups attempts without carrying the number itself
    (keyed with ``salt``, so a run's keys cannot be matched to numbers without it)."""
    if v in (None, ""):
        return None
    return hmac.new(salt, str(v).strip().encode(), hashlib.sha256).hexdigest()[:16]


def parse_offset(v: str) -> dt.timezone:
    s = str(v).strip()
    if s.upper() in ("Z", "UTC"):
        return dt.timezone.utc
    sign = -1 if s.startswith("-") else 1
    h, _, m = s.lstrip("+-").partition(":")
    if not h.isdigit() or (m and not m.isdigit()):
        raise ValueError(v)
    return dt.timezone(sign * dt.timedelta(hours=int(h), minutes=int(m or 0)))


def parse_time(v: Any, tz: dt.timezone) -> dt.datetime | None:
    """Local (naive-in-``tz``) datetime of a call start; None when unparseable."""
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        d = v
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        d = dt.datetime.fromtimestamp(float(v), dt.timezone.utc)
    else:
        s = str(v).strip().replace("/", "-")
        try:
            d = dt.datetime.fromisoformat(s)
        except ValueError:
            for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y%m%d %H:%M:%S", "%Y%m%d%H%M%S"):
                try:
                    d = dt.datetime.strptime(s, fmt)
                    break
                except ValueError:
                    continue
            else:
                return None
    if d.tzinfo is not None:
        d = d.astimezone(tz).replace(tzinfo=None)
    return d


def _hhmm(s: str) -> dt.time:
    h, m = (int(x) for x in s.split(":"))
    return dt.time(23, 59, 59) if h == 24 else dt.time(h, m)


def is_night(t: dt.time, start: str, end: str) -> bool:
    a, b = _hhmm(start), _hhmm(end)
    if a == b:
        return False
    return (t >= a or t < b) if a > b else (a <= t < b)


def _matches(rule_id: str, subtype: str, selector: str) -> bool:
    return (rule_id == selector or rule_id.startswith(selector + "-") or subtype == selector
            or subtype.startswith(selector + "."))


def _finding(rule_id: str, subtype: str, severity: str, message: str, explanation: str) -> Finding:
    return Finding(rule_id=rule_id, category="contact", subtype=subtype, severity=Severity(severity),
                   confidence=1.0, start=0, end=0, text="", message=message, suggestion="", fix_start=0,
                   fix_end=0, auto_apply=False, explanation=explanation, source=SOURCE)


def contact_findings(records: Iterable[tuple[int, dict[str, Any]]], cfg: ContactConfig, *,
                     enable: list[str] | None = None, disable: Iterable[str] = (),
                     severity: dict[str, str] | None = None) -> tuple[dict[int, list[Finding]], dict[int, str]]:
    """``records``: (key, metadata) pairs. Returns findings and metadata warnings per key."""
    out: dict[int, list[Finding]] = defaultdict(list)
    warnings: dict[int, str] = {}
    if not cfg.enabled:
        return out, warnings
    disable = list(disable)
    severity = severity or {}

    def active(rule_id: str, subtype: str) -> bool:
        if enable is not None and not any(_matches(rule_id, subtype, s) for s in enable):
            return False
        return not any(_matches(rule_id, subtype, s) for s in disable)

    def sev(rule_id: str, subtype: str, default: str) -> str:
        for sel, v in severity.items():
            if _matches(rule_id, subtype, sel):
                default = v
        return default

    tz = parse_offset(cfg.utc_offset)
    night_on = active(NIGHT_ID, "contact.night_call")
    freq_on = active(ATTEMPTS_ID, "contact.too_many_attempts")
    attempts: dict[tuple[str, dt.date], list[tuple[dt.datetime, int]]] = defaultdict(list)
    for key, meta in records:
        raw = meta.get("call_start")
        if raw in (None, ""):
            continue
        t = parse_time(raw, tz)
        if t is None:
            warnings[key] = f"call_start {str(raw)[:40]!r} is not a date-time; contact policy not checked"
            continue
        if night_on and is_night(t.time(), cfg.night_start, cfg.night_end):
            out[key].append(_finding(
                NIGHT_ID, "contact.night_call", sev(NIGHT_ID, "contact.night_call", cfg.night_severity),
                f"在{cfg.night_start}至{cfg.night_end}之间联系客户（{t:%H:%M}），属于禁止催收时段。",
                f"通话开始于当地时间 {t:%Y-%m-%d %H:%M}"))
        contact = meta.get("contact_id")
        if contact not in (None, "") and meta.get("outcome") == "unanswered":
            attempts[(str(contact), t.date())].append((t, key))
    if freq_on:
        limit = cfg.max_unanswered_per_day
        for (_, day), items in attempts.items():
            if len(items) <= limit:
                continue
            items.sort()
            for rank, (t, key) in enumerate(items, 1):
                if rank > limit:
                    out[key].append(_finding(
                        ATTEMPTS_ID, "contact.too_many_attempts",
                        sev(ATTEMPTS_ID, "contact.too_many_attempts", cfg.attempts_severity),
                        f"同一联系人当天第{rank}次未接通呼叫，超过每日{limit}次上限。",
                        f"{day:%Y-%m-%d} 共 {len(items)} 次未接通呼叫；本次为第 {rank} 次（{t:%H:%M}）"))
    return out, warnings


def contact_rules(cfg: "Any") -> list[dict[str, str]]:
    """The two contact-policy rules as the config sets them (for ``tonecheck rules``)."""
    c = cfg.contact
    if not c.enabled:
        return []
    out = []
    for rid, sub, sev_default, msg in (
        (NIGHT_ID, "contact.night_call", c.night_severity, f"禁止在{c.night_start}至{c.night_end}之间联系客户（按通话开始时间）。"),
        (ATTEMPTS_ID, "contact.too_many_attempts", c.attempts_severity,
         f"同一联系人每天未接通呼叫不得超过{c.max_unanswered_per_day}次；超出的每次呼叫都是一条违规。"),
    ):
        if cfg.enable is not None and not any(_matches(rid, sub, s) for s in cfg.enable):
            continue
        if any(_matches(rid, sub, s) for s in cfg.disable):
            continue
        sev = sev_default
        for sel, v in cfg.severity.items():
            if _matches(rid, sub, sel):
                sev = v
        out.append({"id": rid, "subtype": sub, "severity": sev, "message": msg, "source": SOURCE})
    return out
