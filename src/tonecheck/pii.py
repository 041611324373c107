"""Identifier validation and masking.

Checksums raise confidence (a Luhn-valid card, an ID with a valid MOD 11-2
check digit and a real birth date). Masking is one function, :func:`mask_text`
(and :func:`mask_result` for a whole result), used by rewrites, reports, logs,
the CLI and the service alike, so no surface becomes a leak itself: only the
last four digits of an identifier stay visible.
"""
from __future__ import annotations

import datetime as _dt
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import CheckResult

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
    """``*******5678``: only the last four characters of an identifier stay visible."""
    core = [c for c in value if c.isalnum()]
    n = len(core)
    if n <= 4:
        return "*" * n
    return "*" * (n - 4) + "".join(core[-4:])


def tail4(value: str) -> str:
    core = [c for c in value if c.isalnum()]
    return "".join(core[-4:])


# What report, log and page masking looks for in free text (not detection):
# * runs of 7+ digits, Arabic or spoken Chinese (幺三八…), single spaces or dashes
#   between them, with an optional +86 / 0086 / 86- country prefix and an ID's
#   final X: mobiles, landlines with area codes, cards, 15- and 18-digit IDs;
# * e-mail addresses.
# A run followed by an amount unit (元, 块, 万…) is an amount, not an identifier.
_DIGIT = "0-9０-９零〇○洞幺一二两三四五六七拐八九勾"
_MASK_RE = re.compile(
    rf"(?:(?:\+|＋|00)?86[\s\-]?)?(?<![{_DIGIT}])[{_DIGIT}](?:[ \-]?[{_DIGIT}]){{6,}}[xX]?(?![{_DIGIT}])(?![元块万千亿%％])"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
)
_DIGIT_CHARS = frozenset("0123456789０１２３４５６７８９零〇○洞幺一二两三四五六七拐八九勾xX")


def _mask_run(run: str) -> str:
    """Length-preserving: every digit but the last four becomes '*'; separators stay."""
    if "@" in run:
        name, _, dom = run.partition("@")
        return name[:1] + "*" * (len(name) - 1) + "@" + dom
    positions = [i for i, c in enumerate(run) if c in _DIGIT_CHARS]
    hide = set(positions[:-4])
    return "".join("*" if i in hide else c for i, c in enumerate(run))


def mask_text(text: str) -> str:
    """Mask every identifier-looking run in free text, keeping the last four digits and the length.

    The one masking function behind every surface (reports in every format,
    explanations, logs, the CLI, the service, the page): lengths are kept,
    so finding offsets into a masked text stay valid.
    """
    if not text:
        return text
    return _MASK_RE.sub(lambda m: _mask_run(m.group(0)), text)


def mask_span_preserving(text: str) -> str:
    """Length-preserving mask of one span a rule judged an identifier (an address too).

    Digit runs keep their last four digits; a span without a long digit run
    (a home address) keeps its first three characters.
    """
    digits = [i for i, c in enumerate(text) if c in _DIGIT_CHARS]
    if len(digits) >= 7:
        hide = set(digits[:-4])
        return "".join("*" if i in hide else c for i, c in enumerate(text))
    return "".join(c if i < 3 or not c.strip() else "*" for i, c in enumerate(text))


# The old name: every caller gets the same function.
mask_text_preserving = mask_text


def mask_result(res: "CheckResult") -> "CheckResult":
    """A copy of ``res`` fit to show or store: identifiers masked in the text, every finding's
    quote, suggestion and explanation, and the rewrite. Lengths and offsets are kept."""
    chars = list(mask_text(res.text))
    for f in res.findings:
        if f.subtype == "privacy.pii_exposure":
            chars[f.start:f.end] = mask_span_preserving(res.text[f.start:f.end])
    text = "".join(chars)
    findings = [f.model_copy(update={"text": text[f.start:f.end], "suggestion": mask_text(f.suggestion),
                                     "explanation": mask_text(f.explanation)}) for f in res.findings]
    return res.model_copy(update={"text": text, "findings": findings, "rewrite": mask_text(res.rewrite)})
