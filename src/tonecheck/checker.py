"""The configured checker behind ``tonecheck.check`` and friends."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

import regex

from .context import DialogueState, Signal
from .engine import Engine
from .lexicon import Lexicon, expand_regex, load_lexicons
from .models import (
    Channel, CheckResult, Conversation, ConversationResult, Counterpart, Role, Severity,
)
from .normalize import normalize
from .rules import Rule

MAX_TEXT_CHARS = 20_000
_ROLES = ("agent", "customer")
_COUNTERPARTS = ("debtor", "third_party", "unknown")
_CHANNELS = ("call", "visit", "sms")


class InputError(ValueError):
    """The caller's input is unusable (bad value, too long); the message says why."""


def _matches(rule: Rule, selector: str) -> bool:
    """A selector is a rule id, a subtype, a category or a dotted prefix of either."""
    return (rule.id == selector or rule.id.startswith(selector + "-") or rule.subtype == selector
            or rule.subtype.startswith(selector + "."))


class Checker:
    """A checker with its own lexicons, rule selection and severity overrides.

    Construction loads lexicons and the tokenizer dictionary (about a second);
    build one and reuse it.
    """

    def __init__(self, lexicon_dirs: Iterable[str | Path] = (), *, include_bundled: bool = True,
                 enable: Iterable[str] | None = None, disable: Iterable[str] = (),
                 severity: Mapping[str, str] | None = None, tokenizer: str | None = None,
                 allow: Iterable[str] = ()) -> None:
        self.lexicon: Lexicon = load_lexicons(lexicon_dirs, include_bundled=include_bundled)
        enable = list(enable) if enable is not None else None
        disable = list(disable)
        severity = dict(severity or {})
        rules: list[Rule] = []
        for r in self.lexicon.rules:
            if not r.enabled:
                continue
            if enable is not None and not any(_matches(r, s) for s in enable):
                continue
            if any(_matches(r, s) for s in disable):
                continue
            for sel, sev in severity.items():
                if _matches(r, sel):
                    r = r.model_copy(update={"severity": Severity(sev)})
            if allow:
                r = r.model_copy(update={"exceptions": list(r.exceptions) + list(allow)})
            rules.append(r)
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.engine = Engine(self.lexicon, rules, tokenizer=tokenizer)
        self._signals = [(s, [regex.compile(expand_regex(p, self.lexicon.classes)) for p in s.patterns],
                          [regex.compile(expand_regex(p, self.lexicon.classes)) for p in s.unless])
                         for s in self.lexicon.signals]

    def warm_up(self) -> "Checker":
        """Compile all rule patterns now; construction leaves them to first use."""
        self.engine.warm_up()
        return self

    @property
    def tokenizer_name(self) -> str:
        return self.engine.tokenizer.name

    def check(self, text: str, *, role: Role = "agent", counterpart: Counterpart = "unknown",
              channel: Channel = "call", context: Iterable[str] = ()) -> CheckResult:
        """Check one utterance or message draft."""
        if not isinstance(text, str):
            raise InputError(f"text must be a string, not {type(text).__name__}")
        if role not in _ROLES:
            raise InputError(f"role must be one of {_ROLES}, not {role!r}")
        if counterpart not in _COUNTERPARTS:
            raise InputError(f"counterpart must be one of {_COUNTERPARTS}, not {counterpart!r}")
        if channel not in _CHANNELS:
            raise InputError(f"channel must be one of {_CHANNELS}, not {channel!r}")
        if len(text) > MAX_TEXT_CHARS:
            raise InputError(f"text is {len(text)} characters; the limit is {MAX_TEXT_CHARS} per utterance")
        findings, rewrite, truncated = self.engine.run(text, role, counterpart, channel, frozenset(context))
        return CheckResult(text=text, role=role, counterpart=counterpart, channel=channel,
                           findings=findings, rewrite=rewrite, truncated=truncated)

    def check_conversation(self, conv: Conversation | Mapping[str, Any]) -> ConversationResult:
        """Check every turn in order, tracking who listens and what was said."""
        if not isinstance(conv, Conversation):
            try:
                conv = Conversation.model_validate(conv)
            except Exception as exc:  # pydantic ValidationError, wrong type
                raise InputError(f"not a conversation: {exc}".splitlines()[0]) from None
        state = DialogueState(counterpart=conv.counterpart, infer=conv.counterpart == "unknown")
        results: list[CheckResult] = []
        counterparts: list[Counterpart] = []
        for utt in conv.utterances:
            res = self.check(utt.text, role=utt.speaker, counterpart=state.counterpart,
                             channel=conv.channel, context=state.active())
            results.append(res)
            counterparts.append(state.counterpart)
            if utt.speaker == "agent":
                state.after_agent_turn()
            self._apply_signals(state, utt.speaker, utt.text, res)
        return ConversationResult(id=conv.id, counterpart=conv.counterpart, channel=conv.channel,
                                  utterances=results, counterparts=counterparts)

    def _apply_signals(self, state: DialogueState, role: str, text: str, res: CheckResult) -> None:
        subtypes = {f.subtype for f in res.findings}
        norm = normalize(text).text
        for sig, pats, unless in self._signals:
            if _signal_hit(sig, pats, unless, role, norm, subtypes):
                state.apply(sig)

    def signal_fires(self, signal: Signal, text: str, role: Role = "customer") -> bool:
        """Whether one signal fires on one turn (the lexicon tests use it)."""
        res = self.check(text, role=role)
        subtypes = {f.subtype for f in res.findings}
        norm = normalize(text).text
        return any(_signal_hit(sig, pats, unless, role, norm, subtypes)
                   for sig, pats, unless in self._signals if sig.id == signal.id)


def _signal_hit(sig: Signal, pats: list, unless: list, role: str, norm: str, subtypes: set[str]) -> bool:
    if role not in sig.roles:
        return False
    if subtypes.intersection(sig.from_subtypes):
        return True
    return any(p.search(norm) for p in pats) and not any(u.search(norm) for u in unless)
