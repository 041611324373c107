"""Reading conversations from files: JSON and speaker-prefixed plain text."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import regex

from .models import Conversation

AGENT_LABELS = ("坐席", "客服", "催收员", "外访员", "催收", "agent", "A")
CUSTOMER_LABELS = ("客户", "用户", "债务人", "customer", "B")

_PREFIX = regex.compile(
    r"^\s*(?:\[(?P<ts>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)\]\s*)?(?P<label>[^\s:：]{1,8})\s*[:：]\s*(?P<text>.*)$")


class ReadError(ValueError):
    """A file could not be read as a conversation; the message is one line."""


def parse_text(text: str, conv_id: str = "", *, agent_labels=AGENT_LABELS,
               customer_labels=CUSTOMER_LABELS) -> Conversation:
    """Plain text, one turn per line: ``坐席：...`` / ``客户：...``."""
    utts: list[dict[str, Any]] = []
    agent = {a.lower() for a in agent_labels}
    customer = {c.lower() for c in customer_labels}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _PREFIX.match(line)
        if not m:
            raise ReadError(f"line {n}: no speaker prefix (expected e.g. 坐席：… or 客户：…)")
        label = m.group("label").strip().lower()
        if label in agent:
            speaker = "agent"
        elif label in customer:
            speaker = "customer"
        else:
            raise ReadError(f"line {n}: unknown speaker label {m.group('label')!r}")
        u: dict[str, Any] = {"speaker": speaker, "text": m.group("text").strip()}
        if m.group("ts"):
            u["start"] = _seconds(m.group("ts"))
        utts.append(u)
    if not utts:
        raise ReadError("no turns found")
    return Conversation(id=conv_id, utterances=utts)  # type: ignore[arg-type]


def _seconds(ts: str) -> float:
    parts = [float(p.replace(",", ".")) for p in ts.split(":")]
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


def parse_json(text: str, conv_id: str = "") -> list[Conversation]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    items = data if isinstance(data, list) else [data]
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ReadError(f"item {i}: expected a conversation object")
        try:
            conv = Conversation.model_validate(item)
        except Exception as exc:
            first = str(exc).splitlines()
            raise ReadError(f"item {i}: not a conversation: {' '.join(first[:3])}") from None
        if not conv.id:
            conv.id = f"{conv_id}#{i}" if len(items) > 1 else conv_id
        out.append(conv)
    return out


def read_conversations(source: str, text: str) -> list[Conversation]:
    """Parse ``text`` (from ``source``, a path or '-') as JSON or prefixed text."""
    stem = Path(source).stem if source != "-" else "stdin"
    stripped = text.lstrip("\ufeff").lstrip()
    if stripped.startswith("{") or stripped.startswith("["):
        return parse_json(stripped, stem)
    return [parse_text(stripped, stem)]
