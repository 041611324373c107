"""Stable hit ids: the same violation in the same turn keeps its id across re-runs and rule upgrades.

The recipe (version 1) is the first 16 hex digits of SHA-256 over the JSON list

    ["tonecheck-hit/1", conversation key, turn position, turn text, subtype, start, end, span text]

* the **conversation key** is the conversation's ``id`` from the input (a repeat of an id within
  one run gets ``#2``, ``#3`` … in input order);
* **turn position** counts the conversation's turns from 0; the **turn text** is the turn as stored,
  i.e. with identifiers masked as in the reports (:func:`tonecheck.pii.mask_result`), so an id
  never encodes an identifier and is the same with or without ``--show-pii``;
* ``start`` / ``end`` are the finding's offsets into that turn, the **span text** its masked text;
* conversation-level findings (contact policy) have turn ``null``, text ``""`` and offsets 0.

Kept: a new rule id, severity, message, suggestion, confidence or explanation for the same span
(a rule upgrade), a different file path or format, other turns of the call changing, a new
tonecheck version. Changed (a new id, and the old one is reported gone): the span's offsets or
text, the subtype, the turn's text or position, the conversation id; and, for turns holding an
identifier, a change to the masking function itself (it decides the stored text).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

RECIPE = "tonecheck-hit/1"


def hit_id(conv_key: str, turn: int | None, turn_text: str, subtype: str, start: int, end: int, span: str) -> str:
    payload = json.dumps([RECIPE, conv_key, turn, turn_text, subtype, start, end, span], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def finding_hit_id(conv_key: str, finding: dict[str, Any], turn_text: str) -> str:
    """The id of one finding of a batch report record (``turn`` is None for conversation-level ones)."""
    turn = finding.get("turn")
    if turn is None:
        return hit_id(conv_key, None, "", finding["subtype"], 0, 0, "")
    return hit_id(conv_key, turn, turn_text, finding["subtype"], finding["start"], finding["end"], finding["text"])


def content_hash(finding: dict[str, Any]) -> str:
    """What a reviewer would see change for the same span: rule, severity, message, fix."""
    keys = ("rule_id", "category", "severity", "message", "suggestion", "fix_start", "fix_end")
    payload = json.dumps([finding.get(k) for k in keys], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
