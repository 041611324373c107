"""Public data models: what callers send in and get back.

These are the stable, documented boundary of the library (and of the CLI's
JSON output and the HTTP service), so they are pydantic v2 models with
explicit fields; everything inside the engine uses plain tuples.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = "1.0"

Role = Literal["agent", "customer"]
Counterpart = Literal["debtor", "third_party", "unknown"]
Channel = Literal["call", "visit", "sms"]


class Category(StrEnum):
    threat = "threat"
    insult = "insult"
    sarcasm = "sarcasm"
    privacy = "privacy"
    conduct = "conduct"
    risk = "risk"
    contact = "contact"

    @property
    def is_violation(self) -> bool:
        return self is not Category.risk


class Severity(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"

    @property
    def rank(self) -> int:
        return {"low": 1, "medium": 2, "high": 3}[self.value]


class Finding(BaseModel):
    """One flagged span. Offsets index the caller's original string."""

    model_config = ConfigDict(frozen=True)

    rule_id: str = Field(description="Stable rule identifier, e.g. THR-VIO-001")
    category: Category
    subtype: str = Field(description="Dotted policy subtype, e.g. threat.legal_false")
    severity: Severity
    confidence: float = Field(ge=0.0, le=1.0)
    start: int = Field(ge=0, description="Start index in the original text (inclusive)")
    end: int = Field(ge=0, description="End index in the original text (exclusive)")
    text: str = Field(description="The original text of the span")
    message: str = Field(description="What is wrong, in Chinese, for a QA reviewer")
    suggestion: str = Field(default="", description="Replacement for the span (may be empty)")
    fix_start: int = Field(ge=0, description="Start of the text the suggestion replaces")
    fix_end: int = Field(ge=0, description="End of the text the suggestion replaces")
    auto_apply: bool = Field(default=False, description="Safe to apply without human review")
    explanation: str = Field(default="", description="Why the rule fired: cue and context")
    source: str = Field(default="", description="Regulation or policy clause the rule enforces")
    construction: str = Field(default="", description="The rule's named construction that matched, e.g. "
                              "harm_verb_target (a merged finding keeps its leading rule's; empty for the "
                              "trained model's findings)")

    @property
    def is_violation(self) -> bool:
        return self.category.is_violation


class CheckResult(BaseModel):
    """Result for one utterance or draft."""

    text: str
    role: Role = "agent"
    counterpart: Counterpart = "unknown"
    channel: Channel = "call"
    findings: list[Finding] = Field(default_factory=list)
    rewrite: str = Field(description="Whole text with every violation fixed; equals text when clean")
    truncated: bool = Field(default=False, description="True when a time or size limit stopped the check early")

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.is_violation]

    @property
    def is_clean(self) -> bool:
        return not self.violations


class Utterance(BaseModel):
    model_config = ConfigDict(extra="allow")

    speaker: Role
    text: str = Field(strict=True)  # bytes are not text: the caller decodes, so no encoding is guessed here
    start: float | None = None
    end: float | None = None

    @field_validator("speaker", mode="before")
    @classmethod
    def _speaker_alias(cls, v: Any) -> Any:
        if isinstance(v, str):
            low = v.strip().lower()
            if low in _AGENT_LABELS:
                return "agent"
            if low in _CUSTOMER_LABELS:
                return "customer"
        return v


_AGENT_LABELS = {"agent", "坐席", "客服", "催收员", "外访员", "催收", "collector"}
_CUSTOMER_LABELS = {"customer", "客户", "用户", "debtor", "债务人"}


class Conversation(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = ""
    counterpart: Counterpart = "unknown"
    channel: Channel = "call"
    utterances: list[Utterance]
    metadata: dict[str, Any] = Field(default_factory=dict)


class ConversationResult(BaseModel):
    id: str = ""
    counterpart: Counterpart = "unknown"
    channel: Channel = "call"
    utterances: list[CheckResult]
    counterparts: list[Counterpart] = Field(
        default_factory=list,
        description="Listener assumed for each utterance (declared, or inferred from the dialogue)",
    )

    @property
    def findings(self) -> list[tuple[int, Finding]]:
        return [(i, f) for i, u in enumerate(self.utterances) for f in u.findings]
