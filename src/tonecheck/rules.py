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
    """A text a rule (or one of its constructions) must flag or must leave alone, in its setting.

    A construction's fire example may say what it expects: ``hit``, the text of
    the finding the construction alone reports (its span), and ``rewrite``, the
    whole text as the rule alone rewrites it.
    """

    model_config = ConfigDict(extra="forbid")

    text: str
    role: Role | None = None
    counterpart: Counterpart | None = None
    channel: Channel | None = None
    context: list[str] = Field(default_factory=list)
    hit: str | None = Field(default=None, description="Expected span text of the construction's finding")
    rewrite: str | None = Field(default=None, description="Expected rewrite of the whole text by the rule alone")


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


NAME = r"^[a-z][a-z0-9_]*$"


class Construction(BaseModel):
    """One way of saying what a rule catches: a name, a pattern (or fixed terms) and its own examples.

    ``name`` is short, stable and unique within the rule; a finding carries it
    (``Finding.construction``). ``fire`` examples must each make this
    construction fire (with the ``hit`` span when given); ``clean`` examples are
    near misses the rule must leave alone.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    note: str = Field(default="", description="What the construction catches, in words a reviewer reads")
    pattern: str = Field(default="", description="Regex (word classes, guards and macros allowed)")
    terms: list[str] = Field(default_factory=list, description="Fixed words or idioms (word classes allowed)")
    fire: list[Example] = Field(default_factory=list)
    clean: list[Example] = Field(default_factory=list)

    _norm_fire = field_validator("fire", mode="before")(classmethod(lambda cls, v: _as_examples(v)))
    _norm_clean = field_validator("clean", mode="before")(classmethod(lambda cls, v: _as_examples(v)))

    @property
    def kind(self) -> Literal["regex", "terms"]:
        return "regex" if self.pattern else "terms"

    @model_validator(mode="after")
    def _one_body(self) -> "Construction":
        if bool(self.pattern) == bool(self.terms):
            raise ValueError(f"construction {self.name!r} needs either a 'pattern' or 'terms', not both or neither")
        for ex in self.clean:
            if ex.hit is not None or ex.rewrite is not None:
                raise ValueError(f"construction {self.name!r}: a clean example has no 'hit' or 'rewrite'")
        return self


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
    """A rule: what it flags (constructions, terms or a sequence), where, and how it is fixed.

    The short form of earlier versions is still read: rule-level ``terms`` and
    ``patterns`` become constructions named ``terms`` and ``pattern_1``,
    ``pattern_2``…; a rule with ``patterns`` still needs hand ``anchors``, while
    constructions get theirs from their patterns (hand anchors optional).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")
    subtype: str
    severity: Severity
    message: str = Field(min_length=1)
    kind: Literal["terms", "regex", "sequence"] | None = None
    name: str = ""
    description: str = ""
    source: str = ""
    terms: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    anchors: list[str] = Field(default_factory=list)
    anchors_required: bool = Field(default=False, description=(
        "The hand anchors are a deliberate requirement of the whole rule (it fires only when one of "
        "them is in the text), not a speed hint: `rules lint` does not report patterns they leave out"))
    constructions: list[Construction] = Field(default_factory=list, alias="construction")
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
    own_examples: Examples = Field(default_factory=Examples, alias="examples",
                                   description="Rule-level examples (constructions carry their own)")
    enabled: bool = True

    @field_validator("rewrite", mode="before")
    @classmethod
    def _rewrite_str(cls, v: object) -> object:
        return {"text": v} if isinstance(v, str) else v

    @property
    def category(self) -> Category:
        return Category(self.subtype.split(".")[0])

    @property
    def examples(self) -> Examples:
        """Every example of the rule: its own, then each construction's, in order."""
        if not self.constructions:
            return self.own_examples
        return Examples.model_construct(
            fire=[*self.own_examples.fire, *(ex for c in self.constructions for ex in c.fire)],
            clean=[*self.own_examples.clean, *(ex for c in self.constructions for ex in c.clean)])

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
        if self.kind == "terms" and not (self.terms or any(c.terms for c in self.constructions)):
            raise ValueError("kind 'terms' needs a non-empty 'terms' list")
        if self.kind == "regex" and not (self.patterns or any(c.pattern for c in self.constructions)):
            raise ValueError("kind 'regex' needs a non-empty 'patterns' list")
        if self.patterns and not self.anchors:
            raise ValueError("'patterns' need 'anchors': literal cues that must occur for the regex to run "
                             "(or write the patterns as constructions, whose anchors are derived)")
        if (self.kind == "sequence" or self.sequence) and len(self.sequence) < 2:
            raise ValueError("kind 'sequence' needs at least two elements in 'sequence'")
        if self.sequence and (self.terms or self.patterns or self.constructions):
            raise ValueError("a 'sequence' rule has no terms, patterns or constructions")
        if self.validator is not None and self.validator not in VALIDATORS:
            raise ValueError(f"unknown validator {self.validator!r} (known: {', '.join(VALIDATORS)})")
        # The short form: rule-level terms and patterns become constructions of their own.
        short = ([Construction(name="terms", terms=self.terms)] if self.terms else []) + [
            Construction(name=f"pattern_{i}", pattern=p) for i, p in enumerate(self.patterns, 1)]
        if short:
            self.constructions = short + self.constructions
            self.terms, self.patterns = [], []
        names = [c.name for c in self.constructions]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ValueError(f"construction name {dup!r} used twice")
        if not self.constructions and not self.sequence:
            raise ValueError("a rule needs constructions, terms, patterns or a sequence")
        derived = ("sequence" if self.sequence else
                   "regex" if any(c.pattern for c in self.constructions) else "terms")
        if self.kind is None:
            self.kind = derived
        elif self.kind != derived:
            raise ValueError(f"kind {self.kind!r}, but the rule's constructions make it {derived!r} "
                             "(kind may be left out: it follows from the constructions)")
        if not self.roles:
            self.roles = ["customer"] if cat == "risk" else ["agent"]
        if self.boundary is None:
            self.boundary = "none" if self.kind == "regex" else "token"
        return self
