"""The configured checker behind ``tonecheck.check`` and friends."""
from __future__ import annotations

import difflib
import math
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from pydantic import ValidationError

from .context import DialogueState, Signal
from .engine import DEFAULT_DEADLINE_S, Deadline, DeadlineExceeded, Engine, Run
from .lexicon import Lexicon, load_lexicons
from .models import (
    Channel, CheckResult, Conversation, ConversationResult, Counterpart, Role, Severity,
)
from .rules import KNOWN_SUBTYPES, Rule

if TYPE_CHECKING:
    from .model.detector import ModelDetector

MAX_TEXT_CHARS = 20_000
_ROLES = ("agent", "customer")
_COUNTERPARTS = ("debtor", "third_party", "unknown")
_CHANNELS = ("call", "visit", "sms")
_SEVERITIES = tuple(s.value for s in Severity)
_SURROGATE = re.compile("[\ud800-\udfff]")


class InputError(ValueError):
    """The caller's input is unusable (bad value, too long); the message says why."""


class ConfigError(ValueError):
    """A setting is invalid (unknown rule selector, bad severity, bad deadline); the message names it."""


def surrogate_problem(text: str, where: str = "text") -> str | None:
    """Why ``text`` cannot be checked, if it holds an unpaired UTF-16 surrogate (one policy everywhere).

    JSON allows a lone ``"\\ud800"`` escape and some decoders let one through;
    it is no character, cannot be encoded in UTF-8 and would make the result
    unserialisable, so every boundary rejects it, naming where it is.
    """
    m = _SURROGATE.search(text)
    if m is None:
        return None
    return (f"{where} holds an unpaired UTF-16 surrogate (U+{ord(m.group()):04X}) at index {m.start()}; "
            "decode the input properly or replace it with U+FFFD")


def _matches(rule: Rule, selector: str) -> bool:
    """A selector is a rule id, a subtype, a category or a dotted prefix of either."""
    return (rule.id == selector or rule.id.startswith(selector + "-") or rule.subtype == selector
            or rule.subtype.startswith(selector + "."))


def _selectors(rules: Iterable[Rule]) -> set[str]:
    """Every selector that names at least one rule, or a policy subtype (contact.* are batch checks)."""
    out: set[str] = set(KNOWN_SUBTYPES) | {s.split(".")[0] for s in KNOWN_SUBTYPES}
    for r in rules:
        out.add(r.id)
        parts = r.id.split("-")
        out.update("-".join(parts[:i]) for i in range(1, len(parts)))
        sub = r.subtype.split(".")
        out.update(".".join(sub[:i]) for i in range(1, len(sub) + 1))
    return out


def check_selectors(selectors: Iterable[str], rules: Iterable[Rule], where: str) -> None:
    """Raise ConfigError for a selector that names no rule, suggesting the nearest that does.

    A typo in ``enable`` would otherwise silently disable every rule.
    """
    valid = _selectors(rules)
    for sel in selectors:
        if not isinstance(sel, str) or sel not in valid:
            near = difflib.get_close_matches(str(sel), sorted(valid), n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]!r}?)" if near else " (a rule id, subtype, category or dotted prefix)"
            raise ConfigError(f"{where}: {sel!r} names no rule or subtype{hint}")


def _deadline_s(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"deadline_s must be a number of seconds, not {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ConfigError(f"deadline_s must be a positive number of seconds, not {value!r}")
    return v


class Checker:
    """A checker with its own lexicons, rule selection and severity overrides.

    Construction loads lexicons and the tokenizer dictionary (about a second);
    build one and reuse it. ``deadline_s`` bounds each check: past it the
    check returns what it found so far with ``truncated = True``.
    """

    def __init__(self, lexicon_dirs: Iterable[str | Path] = (), *, include_bundled: bool = True,
                 enable: Iterable[str] | None = None, disable: Iterable[str] = (),
                 severity: Mapping[str, str] | None = None, tokenizer: str | None = None,
                 allow: Iterable[str] = (), deadline_s: float = DEFAULT_DEADLINE_S,
                 model: "bool | str | Path | ModelDetector | None" = None,
                 model_thresholds: Mapping[str, float] | None = None) -> None:
        """``model``: the trained detector beside the rules (True: the shipped one; False: rules
        only, as before it existed; or a path to other weights; by default the shipped one
        whenever the bundled lexicons are loaded, since it was trained beside them). ``model_thresholds``: calibrated
        probability a category needs to be reported, per category (``{"sarcasm": 0.7}``)."""
        self.lexicon: Lexicon = load_lexicons(lexicon_dirs, include_bundled=include_bundled)
        self.deadline_s = _deadline_s(deadline_s)
        enable = list(enable) if enable is not None else None
        disable = list(disable)
        severity = dict(severity or {})
        known = [r for r in self.lexicon.rules]
        check_selectors(enable or (), known, "enable")
        check_selectors(disable, known, "disable")
        check_selectors(severity, known, "severity")
        for sel, sev in severity.items():
            if sev not in _SEVERITIES:
                raise ConfigError(f"severity: {sel!r} = {sev!r}; expected one of {', '.join(_SEVERITIES)}")
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
        self.model = _load_model(include_bundled if model is None else model, model_thresholds)
        model_subtypes = frozenset()
        if self.model is not None:
            def keep(st: str) -> bool:
                pseudo = Rule.model_construct(id=f"MDL-{st.split('.')[0].upper()}", subtype=st)
                return ((enable is None or any(_matches(pseudo, x) for x in enable))
                        and not any(_matches(pseudo, x) for x in disable))
            model_subtypes = frozenset(st for st in KNOWN_SUBTYPES if not st.startswith("contact.") and keep(st))

        model_severity: dict[str, Severity] = {}
        for st in KNOWN_SUBTYPES:
            info = self.lexicon.subtypes.get(st)
            sev = info.severity if info else Severity.medium
            pseudo = Rule.model_construct(id=f"MDL-{st.split('.')[0].upper()}", subtype=st)
            for sel, v in severity.items():
                if _matches(pseudo, sel):
                    sev = Severity(v)
            model_severity[st] = sev

        def severity_of(st: str) -> Severity:
            return model_severity.get(st, Severity.medium)

        # Dialogue signals are compiled with the rules: same expansion, same gates, same deadline.
        self.engine = Engine(self.lexicon, rules, tokenizer=tokenizer, deadline_s=self.deadline_s, model=self.model,
                             model_subtypes=model_subtypes, severity_of=severity_of, allow=allow,
                             signals=self.lexicon.signals)

    def warm_up(self) -> "Checker":
        """Compile all rule and signal patterns now; construction leaves them to first use."""
        self.engine.warm_up()
        return self

    @property
    def tokenizer_name(self) -> str:
        return self.engine.tokenizer.name

    def check(self, text: str, *, role: Role = "agent", counterpart: Counterpart = "unknown",
              channel: Channel = "call", context: Iterable[str] = (), deadline_s: float | None = None) -> CheckResult:
        """Check one utterance or message draft.

        ``deadline_s`` shortens this check's time budget below the checker's
        own (a service passes what is left of its request timeout).
        """
        budget = self.deadline_s if deadline_s is None else min(self.deadline_s, _deadline_s(deadline_s))
        return self._check(text, role, counterpart, channel, frozenset(context), Deadline(budget))[0]

    def _check(self, text: str, role: str, counterpart: str, channel: str, context: frozenset[str],
               deadline: Deadline) -> tuple[CheckResult, Any]:
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
        if (why := surrogate_problem(text)) is not None:
            raise InputError(why)
        run = self.engine.run(text, role, counterpart, channel, context, deadline)
        res = CheckResult(text=text, role=role, counterpart=counterpart, channel=channel,  # type: ignore[arg-type]
                          findings=run.findings, rewrite=run.rewrite, truncated=run.truncated)
        return res, run

    def check_conversation(self, conv: Conversation | Mapping[str, Any], *,
                           deadline_s: float | None = None) -> ConversationResult:
        """Check every turn in order, tracking who listens and what was said.

        Each turn has the checker's deadline, shared by its check and the
        dialogue signals read from it. ``deadline_s`` bounds the whole
        conversation too: turns it leaves no time for come back unchecked,
        with ``truncated = True`` (every input turn always has its result).
        """
        if not isinstance(conv, Conversation):
            try:
                conv = Conversation.model_validate(conv)
            except ValidationError as exc:
                raise InputError(f"not a conversation: {validation_summary(exc)}") from None
            except Exception as exc:  # a non-mapping, say
                raise InputError(f"not a conversation: {exc}".splitlines()[0]) from None
        if (why := surrogate_problem(conv.id, "id")) is not None:
            raise InputError(why)
        state = DialogueState(counterpart=conv.counterpart, infer=conv.counterpart == "unknown")
        results: list[CheckResult] = []
        counterparts: list[Counterpart] = []
        whole = Deadline(_deadline_s(deadline_s)) if deadline_s is not None else None
        for i, utt in enumerate(conv.utterances):
            left = self.deadline_s if whole is None else min(self.deadline_s, whole.at - time.monotonic())
            if left <= 0:
                if (why := surrogate_problem(utt.text)) is not None:
                    raise InputError(f"utterances[{i}]: {why}")
                results.append(CheckResult(text=utt.text, role=utt.speaker, counterpart=state.counterpart,
                                           channel=conv.channel, rewrite=utt.text, truncated=True))
                counterparts.append(state.counterpart)
                continue
            deadline = Deadline(left)
            try:
                res, run = self._check(utt.text, utt.speaker, state.counterpart, conv.channel, state.active(), deadline)
            except InputError as exc:
                raise InputError(f"utterances[{i}]: {exc}") from None
            counterparts.append(state.counterpart)
            if utt.speaker == "agent":
                state.after_agent_turn()
            try:
                self._apply_signals(state, utt.speaker, run, res)
            except (DeadlineExceeded, TimeoutError):
                res = res.model_copy(update={"truncated": True})
            results.append(res)
        return ConversationResult(id=conv.id, counterpart=conv.counterpart, channel=conv.channel,
                                  utterances=results, counterparts=counterparts)

    def _apply_signals(self, state: DialogueState, role: str, run: Run, res: CheckResult) -> None:
        for sig in self.engine.signals_hit(run.doc, role, {f.subtype for f in res.findings}):
            state.apply(sig)

    def context_after(self, turns: Iterable[Mapping[str, str]], counterpart: Counterpart = "unknown"
                      ) -> tuple[Counterpart, frozenset[str]]:
        """Listener and dialogue flags in force after ``turns`` (``{"speaker", "text"}``), as
        :meth:`check_conversation` would carry them into the next turn."""
        state = DialogueState(counterpart=counterpart, infer=counterpart == "unknown")
        for t in turns:
            role = t["speaker"]
            deadline = Deadline(self.deadline_s)
            res, run = self._check(t["text"], role, state.counterpart, "call", state.active(), deadline)
            if role == "agent":
                state.after_agent_turn()
            self._apply_signals(state, role, run, res)
        return state.counterpart, state.active()

    def signal_fires(self, signal: Signal, text: str, role: Role = "customer") -> bool:
        """Whether one signal fires on one turn (the lexicon tests use it)."""
        res, run = self._check(text, role, "unknown", "call", frozenset(), Deadline(self.deadline_s))
        return any(s.id == signal.id for s in self.engine.signals_hit(run.doc, role, {f.subtype for f in res.findings}))


def _load_model(model: Any, thresholds: Mapping[str, float] | None) -> "ModelDetector | None":
    """The detector a Checker's ``model`` argument asks for (None: rules only)."""
    from .model.detector import ModelDetector, load_default, weights_path

    if model is False or model is None:
        return None
    try:
        if isinstance(model, ModelDetector):
            if thresholds:
                return ModelDetector(model.path, thresholds)
            return model
        if model is True:
            if not thresholds:
                return load_default()
            return ModelDetector(weights_path(), thresholds) if weights_path().is_file() else None
        return ModelDetector(Path(model), thresholds)
    except FileNotFoundError:
        raise ConfigError(f"model: no weights at {model}") from None
    except ValueError as exc:
        raise ConfigError(f"model_thresholds: {exc}") from None


def validation_summary(exc: ValidationError, limit: int = 5) -> str:
    """Every field a pydantic error names, with its reason, on one line."""
    parts = []
    for e in exc.errors()[:limit]:
        loc = ".".join(str(x) for x in e.get("loc", ())) or "(root)"
        parts.append(f"{loc}: {e.get('msg', 'invalid')}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")

