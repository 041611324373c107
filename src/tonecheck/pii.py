"""Identifier validation and masking.

Checksums raise confidence (a Luhn-valid card, an ID with a valid MOD 11-2
check digit and a real birth date); masking is used both by rewrites and by
reports, so a report never becomes a leak itself.
"""
from __future__ import annotations

import datetime as _dt

import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_cn_id(s: str) -> bool:
    """GB 11643 check digit and a plausible birth date."""
    s = s.upper()
    if len(s) != 18 or not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS))
    if _ID_CHECK[total % 11] != s[17]:
        return False
    return plausible_birth_date(s[6:14])


def plausible_birth_date(yyyymmdd: str) -> bool:
    try:
        d = _dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return 1900 <= d.year <= _dt.date.today().year


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def valid_mobile(digits: str) -> bool:
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"


def validate(kind: str, value: str) -> bool | None:
    """True / False for checksummed kinds, None when the kind has no checksum."""
    digits = "".join(c for c in value if c.isdigit() or c in "xX")
    if kind == "cn_id":
        return valid_cn_id(digits)
    if kind == "bank_card":
        return luhn_ok(digits)
    if kind == "cn_mobile":
        return valid_mobile(digits)
    return None


def mask_identifier(value: str) -> str:
    """138****5678 style: keep a short head and the last four characters."""
    core = [c for c in value if c.isalnum()]
    n = len(core)
    if n <= 4:
        return "*" * n
    head = 3 if n <= 11 else 6 if n >= 18 else 4
    head = min(head, n - 4)
    return "".join(core[:head]) + "*" * (n - head - 4) + "".join(core[-4:])


def tail4(value: str) -> str:
    core = [c for c in value if c.isalnum()]
    return "".join(core[-4:])


# Identifier-looking runs for report masking: long digit runs (IDs, cards, phones,
# possibly spaced), e-mail addresses. Used on free text, not for detection.
_MASK_RE = re.compile(
    r"(?<![0-9])(?:\d[ \-]?){10,18}[\dXx](?![0-9])"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
)


def mask_text(text: str) -> str:
    """Mask every identifier-looking run in free text (for reports and logs)."""
    def sub(m: re.Match) -> str:
        s = m.group(0)
        if "@" in s:
            name, _, dom = s.partition("@")
            return name[:1] + "***@" + dom
        return mask_identifier(s)

    return _MASK_RE.sub(sub, text)


def mask_span_preserving(text: str) -> str:
    """Length-preserving mask of one sensitive span: offsets into it stay valid.

    Digit runs keep their last four digits; other characters after the first
    three become '*'.
    """
    digits = sum(c.isdigit() for c in text)
    out = []
    if digits >= 7:
        seen = 0
        for c in text:
            if c.isdigit() or c in "xX":
                seen += 1
                out.append(c if seen > digits - 4 + (1 if text.upper().endswith("X") else 0) else "*")
            else:
                out.append(c)
        return "".join(out)
    return "".join(c if i < 3 or not c.strip() else "*" for i, c in enumerate(text))


def mask_text_preserving(text: str) -> str:
    """Like mask_text, but keeps the length so finding offsets stay valid."""
    return _MASK_RE.sub(lambda m: mask_span_preserving(m.group(0)), text)
