"""Rule schema: a rule is data, validated when a lexicon file is loaded."""
from __future__ import annotations

import difflib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .models import Category, Channel, Counterpart, Role, Severity

KNOWN_SUBTYPES = frozenset({
    "threat.violence", "threat.exposure", "threat.harassment", "threat.family",
    "threat.legal_false", "threat.impersonation",
    "insult.abuse", "insult.profanity", "insult.demeaning",
    "sarcasm.mock_praise", "sarcasm.mock_respect", "sarcasm.ridicule",
    "privacy.pii_exposure", "privacy.third_party_disclosure", "privacy.credential_request",
    "conduct.improper_payment", "conduct.private_channel", "conduct.dismiss_distress",
    "conduct.ignore_dispute",
    "contact.night_call", "contact.too_many_attempts",
    "risk.complaint", "risk.self_harm", "risk.hardship",
})

VALIDATORS = ("cn_id", "bank_card", "cn_mobile", "landline", "email", "address", "plate")


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    role: Role | None = None
    counterpart: Counterpart | None = None
    channel: Channel | None = None
    context: list[str] = Field(default_factory=list)


def _as_examples(v: object) -> object:
    if isinstance(v, list):
        return [{"text": x} if isinstance(x, str) else x for x in v]
    return v


class Examples(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fire: list[Example] = Field(default_factory=list, description="Texts the rule must flag")
    clean: list[Example] = Field(default_factory=list, description="Texts the rule must not flag")

    _norm_fire = field_validator("fire", mode="before")(classmethod(lambda cls, v: _as_examples(v)))
    _norm_clean = field_validator("clean", mode="before")(classmethod(lambda cls, v: _as_examples(v)))


class Rewrite(BaseModel):
    """How to fix a hit.

    ``scope`` says what the text replaces: the matched span, the clause around
    it (between commas) or the whole sentence. Placeholders {amount}, {date},
    {tail4} and {masked} carry facts from the replaced text; a [bracketed]
    part is dropped when a placeholder inside it has no value.
    """

    model_config = ConfigDict(extra="forbid")

    text: str = ""
    scope: Literal["span", "clause", "sentence"] = "span"
    auto_apply: bool = False


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")
    subtype: str
    severity: Severity
    message: str = Field(min_length=1)
    kind: Literal["terms", "regex", "sequence"]
    name: str = ""
    description: str = ""
    source: str = ""
    terms: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    anchors: list[str] = Field(default_factory=list)
    sequence: list[list[str]] = Field(default_factory=list)
    max_gap: int = Field(default=6, ge=0, le=40, description="Tokens allowed between sequence elements")
    roles: list[Role] = Field(default_factory=list)
    counterparts: list[Counterpart] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    context: list[str] = Field(default_factory=list, description="Conversation flags that must be active")
    context_cue: list[str] = Field(
        default_factory=list,
        description="Regexes: when one matches anywhere in the utterance, its `context` counts as active "
                    "(the agent's own words restate the distress or dispute: 你说不想活了？…)")
    exceptions: list[str] = Field(default_factory=list, description="Allow-list terms that win over an overlapping hit")
    unless: list[str] = Field(default_factory=list, description="Regexes: a match in the same sentence suppresses the hit")
    requires: list[str] = Field(default_factory=list, description="Regexes that must all match in the same sentence")
    negation: bool = True
    quotes: bool = True
    boundary: Literal["token", "none"] | None = None
    validator: str | None = None
    confidence: float = Field(default=0.85, ge=0.0, le=1.0)
    rewrite: Rewrite = Field(default_factory=Rewrite)
    examples: Examples = Field(default_factory=Examples)
    enabled: bool = True

    @field_validator("rewrite", mode="before")
    @classmethod
    def _rewrite_str(cls, v: object) -> object:
        return {"text": v} if isinstance(v, str) else v

    @property
    def category(self) -> Category:
        return Category(self.subtype.split(".")[0])

    @model_validator(mode="after")
    def _check(self) -> "Rule":
        cat = self.subtype.split(".")[0]
        if cat not in Category.__members__:
            raise ValueError(f"subtype {self.subtype!r}: unknown category {cat!r}")
        if "." not in self.subtype:
            raise ValueError(f"subtype {self.subtype!r} must be dotted, e.g. threat.violence")
        if self.subtype not in KNOWN_SUBTYPES:
            near = difflib.get_close_matches(self.subtype, sorted(KNOWN_SUBTYPES), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(sorted(KNOWN_SUBTYPES))}"
            raise ValueError(f"subtype {self.subtype!r} is not a policy subtype{hint}")
        if self.kind == "terms" and not self.terms:
            raise ValueError("kind 'terms' needs a non-empty 'terms' list")
        if self.kind == "regex":
            if not self.patterns:
                raise ValueError("kind 'regex' needs a non-empty 'patterns' list")
            if not self.anchors:
                raise ValueError("kind 'regex' needs 'anchors': literal cues that must occur for the regex to run")
        if self.kind == "sequence" and len(self.sequence) < 2:
            raise ValueError("kind 'sequence' needs at least two elements in 'sequence'")
        if self.validator is not None and self.validator not in VALIDATORS:
            raise ValueError(f"unknown validator {self.validator!r} (known: {', '.join(VALIDATORS)})")
        if not self.roles:
            self.roles = ["customer"] if cat == "risk" else ["agent"]
        if self.boundary is None:
            self.boundary = "none" if self.kind == "regex" else "token"
        return self
