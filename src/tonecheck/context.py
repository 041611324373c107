"""Conversation context: who is listening, and what the customer just said.

A :class:`Signal` is a dialogue cue from the lexicon (``[[signal]]`` tables):
a customer saying 他不在 / 我是他妈妈 turns the listener into a third party
from the next agent turn on; 我不想活了 raises a ``distress`` flag that
rules with ``context = ["distress"]`` look at in the next agent turns.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .models import Counterpart, Role


class Signal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    description: str = ""
    roles: list[Role] = Field(default_factory=lambda: ["customer"])
    patterns: list[str] = Field(default_factory=list, description="Regexes (word classes allowed)")
    from_subtypes: list[str] = Field(default_factory=list, description="Fire when the turn has a finding of these subtypes")
    unless: list[str] = Field(default_factory=list)
    sets: str = Field(description="'counterpart:debtor', 'counterpart:third_party' or 'flag:NAME'")
    turns: int = Field(default=0, ge=0, description="Agent turns a flag stays active (0 = rest of the conversation)")
    examples: list[str] = Field(default_factory=list, description="Turns that must raise the signal")
    clean: list[str] = Field(default_factory=list, description="Turns that must not raise it")

    @model_validator(mode="after")
    def _check(self) -> "Signal":
        kind, _, value = self.sets.partition(":")
        if kind == "counterpart" and value not in ("debtor", "third_party"):
            raise ValueError(f"sets: counterpart must be debtor or third_party, not {value!r}")
        if kind not in ("counterpart", "flag") or not value:
            raise ValueError("sets must be 'counterpart:debtor|third_party' or 'flag:NAME'")
        if not self.patterns and not self.from_subtypes:
            raise ValueError("a signal needs patterns or from_subtypes")
        return self

    @property
    def target(self) -> tuple[Literal["counterpart", "flag"], str]:
        kind, _, value = self.sets.partition(":")
        return kind, value  # type: ignore[return-value]


@dataclass
class DialogueState:
    """Mutable state threaded through one conversation's turns."""

    counterpart: Counterpart
    infer: bool
    flags: dict[str, int] = field(default_factory=dict)  # flag -> agent turns left (-1 = forever)

    def active(self) -> frozenset[str]:
        return frozenset(self.flags)

    def apply(self, signal: Signal) -> None:
        kind, value = signal.target
        if kind == "counterpart":
            if self.infer:
                self.counterpart = value  # type: ignore[assignment]
        else:
            self.flags[value] = signal.turns if signal.turns else -1

    def after_agent_turn(self) -> None:
        for k in list(self.flags):
            left = self.flags[k]
            if left > 0:
                left -= 1
                if left == 0:
                    del self.flags[k]
                else:
                    self.flags[k] = left
